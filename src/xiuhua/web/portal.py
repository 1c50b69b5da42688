"""The public portal (no sign-in): what it is, report a problem on a map with photos (the staff
report form's component with the public fields), follow a case by its tracking code and rate it
once closed, and the published monthly rankings.

Everything goes through the services the public API uses (``services.intake``,
``services.public``, ``services.ratelimit``), so the portal shows exactly what
``GET /api/v1/public/cases/{tracking_code}`` shows: public steps and notes, unit names, photos'
public copies — never who reported or who acted. Rankings are the frozen figures of published
months (``services.assessment``), units and regions only: the people's tables stay inside."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from xiuhua.config import Settings
from xiuhua.domain.assessment import Period
from xiuhua.domain.choices import Rating, RegionLevel
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, InvalidInput, NotFound, TooManyRequests
from xiuhua.domain.lifecycle import Case
from xiuhua.http.cases import public_report
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.http.schemas import MAX_PHOTOS
from xiuhua.http.schemas import ReportForm as PublicReportForm
from xiuhua.reports.common import period_name
from xiuhua.services import assessment, public, ratelimit
from xiuhua.services.cases import clean_text
from xiuhua.services.idempotency import StoredResponse
from xiuhua.services.intake import Claim, Reporter, take_report
from xiuhua.services.photos import Upload
from xiuhua.web.maps import cached_layers, display_sys
from xiuhua.web.pages import PageRoute, check_csrf, flash, render, see_other
from xiuhua.web.report import (
    FORM_KEY,
    KEY_SCOPE,
    Coord,
    CoordSysText,
    FormInvalid,
    ReportForm,
    check_form,
    describe_point,
    field_of,
    form_context,
    new_form,
    position_values,
    text_fields,
    uploaded,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PUBLIC_SCOPE = "public-portal"  # the idempotency scope of portal forms (no login)


@router.get("/public")
def portal_home(request: Request) -> Response:
    return render(request, "public/index.html", {"title": "市民服务"})


# --- map data -------------------------------------------------------------------------------


@router.get("/public/layers.json")
def layers(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Grids and street boundaries for the report map (no case data)."""
    found = cached_layers(request, session, display_sys(settings))
    return JSONResponse({"grids": found["grids"], "streets": found["streets"]},
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/public/point.json")
def point(city: CityDep, settings: SettingsDep, lon: Coord, lat: Coord,
          coord_sys: CoordSysText = "wgs84") -> JSONResponse:
    return JSONResponse(describe_point(city, settings, lon, lat, coord_sys))


# --- reporting --------------------------------------------------------------------------------


def public_data(values: Mapping[str, str]) -> PublicReportForm:
    """The form as the public API's report form; a point or an address is needed."""
    data: dict[str, Any] = {k: values[k] for k in ("category_code", "address", "description")
                            if values.get(k)}
    data.update(position_values(values))
    if values.get("reporter.phone"):
        data["phone"] = values["reporter.phone"]
    errors: dict[str, str] = {}
    if not data.get("category_code"):
        errors["category_code"] = "请选择问题类别"
    if "lon" not in data and not data.get("address"):
        errors["position"] = "请在地图上点选位置，或填写地址"
    if errors:
        raise FormInvalid(errors)
    return check_form(PublicReportForm, data)


def store_public_report(session: Session, settings: Settings, city: City, data: PublicReportForm,
                        files: Sequence[Upload], key: str, now: datetime, client: str) -> str:
    """上报 by a citizen through the intake, as ``POST /api/v1/public/reports`` does, once per
    form: the tracking code of the new case, or of the case an earlier submission of the same
    form made."""
    claim = Claim(PUBLIC_SCOPE, KEY_SCOPE + key[:150], KEY_SCOPE, tracking) if key else None
    taken = take_report(session, city, public_report(data, files), now, Reporter.public(client),
                        settings=settings, claim=claim)
    if isinstance(taken, StoredResponse):
        return str(taken.body["tracking_code"])
    session.commit()
    return str(taken.tracking_code)


def tracking(case: Case, code: str | None) -> dict[str, Any]:
    """What a second submission of the form gets back."""
    return {"tracking_code": code, "case_no": case.case_no}


def report_page(request: Request, city: City, settings: Settings, form: ReportForm,
                status_code: int = 200) -> Response:
    context = form_context(city, settings, form, public=True, action="/public/report")
    return render(request, "public/report.html", {"title": "我要反映", **context, "acceptor": False},
                  status_code=status_code)


@router.get("/public/report")
def report_form(request: Request, city: CityDep, settings: SettingsDep) -> Response:
    return report_page(request, city, settings, new_form())


@router.post("/public/report")
async def report_submit(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
                        now: NowDep) -> Response:
    """A citizen's report, counted against the public rate limit of the client's address; on
    success the tracking code is shown."""
    form = await request.form(max_files=MAX_PHOTOS + 1)
    values = text_fields(form)
    shown, status = ReportForm(values), 422
    try:
        await check_csrf(request)
        await run_in_threadpool(ratelimit.check_intake, request.app.state.engine,
                                client_address(request), now, settings)
        files = await uploaded(form, settings)
        data = public_data(values)
        code = await run_in_threadpool(store_public_report, session, settings, city, data, files,
                                       values.get(FORM_KEY, ""), now, client_address(request))
    except FormInvalid as exc:
        shown.errors = exc.errors
    except TooManyRequests as exc:
        shown.errors, status = {"form": exc.message}, 429
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        shown.errors = {field_of(exc): exc.message}
    else:
        flash(request, f"已受理，您的查询码是 {code}。请记下查询码，凭它查看办理进度。")
        return see_other(f"/public/track?code={code}")
    return report_page(request, city, settings, shown, status_code=status)


# --- tracking and rating ---------------------------------------------------------------------


def photo_url(public_id: str) -> str:
    """The public copy of a photo the public sees, by its public id (never the content hash)."""
    return f"/api/v1/public/photos/{public_id}"


def track_page(request: Request, city: City, code: str, view: public.PublicCase | None,
               errors: Mapping[str, str], status_code: int = 200) -> Response:
    return render(request, "public/track.html", {
        "title": "进度查询", "code": code, "view": view, "errors": errors,
        "notice": public.service_notice(city, view.case) if view else None,
        "ratings": [(r.value, r.label) for r in Rating], "photo_url": photo_url,
    }, status_code=status_code)


Code = Annotated[str, Query(max_length=40)]


@router.get("/public/track")
def track(request: Request, session: SessionDep, city: CityDep, code: Code = "") -> Response:
    """The public history of the case with this tracking code."""
    if not code.strip():
        return track_page(request, city, "", None, {})
    try:
        view = public.public_view(session, city, code)
    except NotFound as exc:
        return track_page(request, city, code, None, {"code": exc.message}, 404)
    return track_page(request, city, view.tracking_code, view, {})


@router.post("/public/track/{code}/rating")
async def rate(request: Request, session: SessionDep, city: CityDep, now: NowDep,
               code: str) -> Response:
    """评价 a closed case, once."""
    await check_csrf(request)
    values = text_fields(await request.form())
    try:
        value = Rating(values.get("value", ""))
    except ValueError:
        value = None
    try:
        if value is None:
            raise InvalidInput("请选择评价", code="invalid_rating")
        await run_in_threadpool(_rate, session, city, code, value, values.get("comment"), now,
                                client_address(request))
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        view = public.public_view(session, city, code)
        return track_page(request, city, view.tracking_code, view, {"value": exc.message}, 422)
    flash(request, "感谢您的评价！")
    return see_other(f"/public/track?code={public.normalize_tracking_code(code)}")


def _rate(session: Session, city: City, code: str, value: Rating, comment: str | None,
          now: datetime, client: str) -> None:
    public.rate_case(session, city, code, value, now, comment=clean_text((comment or "")[:2000]),
                     client=client)
    session.commit()


# --- rankings ---------------------------------------------------------------------------------


def public_rankings(figures: Mapping[str, Any]) -> dict[str, Any]:
    """What the public sees of a published month: units (score, grade, rank, rates) and the
    streets' on-time closing rates — no people."""
    units = [{k: u.get(k) for k in ("rank", "unit_name", "score", "grade", "on_time_rate",
                                     "close_rate", "satisfaction_rate")} for u in figures["units"]]
    streets = sorted(({"name": r["name"], "rate": r["on_time_close_rate"], "filed": r["filed"]}
                      for r in figures["regions"] if r["level"] == RegionLevel.STREET.value),
                     key=lambda r: (r["rate"] is None, -(r["rate"] or 0), r["name"] or ""))
    return {"units": units, "streets": streets}


@router.get("/public/rankings")
def rankings(request: Request, session: SessionDep,
             period: Annotated[str, Query(max_length=20)] = "") -> Response:
    """The rankings of a published month (the latest unless chosen)."""
    try:
        found = assessment.published_rankings(session, period or None)
    except InvalidInput as exc:
        raise NotFound(exc.message, code="period_not_published") from None
    context: dict[str, Any] = {"title": "考核排名", "found": None}
    if found is not None:
        month = Period.parse(found["period"])
        context.update(found=public_rankings(found), period=month.label, period_name=period_name(month),
                       months=[(m, period_name(Period.parse(m))) for m in found["published_months"]],
                       published_at=found["published_at"][:10])
    return render(request, "public/rankings.html", context)
