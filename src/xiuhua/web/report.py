"""上报问题: the report form of inspectors and acceptors, usable on a phone.

A camera photo, the position from the phone's GPS (WGS-84) or tapped on the map (in the map's
coordinate system: the server converts it back with ``domain.geo``), a category picked by its
Chinese name or its pinyin initials, urgency, address and description; acceptors also name the
source and may give only an address. The report goes through the intake use case the API uses
(``services.intake``), once per form: a second submission of the same form (a double tap, a
retry) opens the case the first one made.

The form component (``report/_form.html``, ``static/js/report.js``, ``static/js/category-picker.js``)
is shared with the public portal (:mod:`xiuhua.web.portal`)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Role, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError
from xiuhua.domain.geo import CoordSys, from_wgs84
from xiuhua.domain.lifecycle import Case
from xiuhua.domain.taxonomy import URGENCY_LABELS, Taxonomy
from xiuhua.http.cases import case_report
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.http.schemas import MAX_PHOTOS, CaseCreate
from xiuhua.services.idempotency import StoredResponse
from xiuhua.services.intake import Claim, Reporter, take_report
from xiuhua.services.photos import Upload
from xiuhua.web.maps import display_sys, tile_config
from xiuhua.web.pages import PageRoute, flash, page_for, render, see_other
from xiuhua.web.views import region_name

router = APIRouter(route_class=PageRoute, include_in_schema=False)
ReportUser = Annotated[Principal, page_for("/report")]

FORM_KEY = "form_key"  # the hidden field naming one filled-in form (idempotency)
KEY_SCOPE = "web-report:"
STAFF_SOURCES = tuple(s for s in Source if s is not Source.PUBLIC)
# the fields of the form, and the domain error codes each one explains
FIELD_CODES: dict[str, frozenset[str]] = {
    "category_code": frozenset({"unknown_category", "inactive_category", "not_public_category",
                                "invalid_category"}),
    "position": frozenset({"outside_city", "missing_coordinates", "invalid_coordinates",
                           "missing_location", "grid_mismatch"}),
    "urgency": frozenset({"invalid_urgency"}),
    "photos": frozenset({"unsupported_photo", "photo_too_large", "too_many_photos",
                         "invalid_photo", "unknown_photo"}),
    "source": frozenset({"invalid_source"}),
}
FIELD_LABELS = {"category_code": "类别", "lon": "位置", "lat": "位置", "coord_sys": "位置",
                "position": "位置", "address": "地址", "description": "问题描述",
                "urgency": "紧急程度", "source": "来源", "reporter": "反映人", "name": "姓名",
                "phone": "联系电话", "reporter.name": "姓名", "reporter.phone": "联系电话",
                "photos": "照片"}
# where a schema error of a field is shown
SHOWN_AT = {"lon": "position", "lat": "position", "coord_sys": "position", "grid_code": "position",
            "reporter": "reporter.phone", "name": "reporter.name", "phone": "reporter.phone"}


# --- the category picker ------------------------------------------------------------------------


def pinyin_keys(text: str) -> tuple[str, str]:
    """The pinyin initials and the full pinyin (no tones) of a Chinese name, lower case, e.g.
    "暴露垃圾" → ("bllj", "baolulaji"); characters that are not Chinese are kept."""
    from pypinyin import Style, lazy_pinyin  # ≈ 56 MB of phrase tables: loaded by the first form

    letters = [w for w in lazy_pinyin(text, style=Style.NORMAL, errors="default") if w.strip()]
    initials = "".join(w[0] for w in letters if w[0].isalnum())
    return initials.lower(), "".join(w for w in letters if w.isalnum()).lower()


@dataclass(frozen=True)
class CategoryOption:
    code: str
    name: str
    major_name: str
    public: bool
    initials: str
    pinyin: str

    def json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "major": self.major_name,
                "py": self.initials, "full": self.pinyin}


_options_cache: tuple[Taxonomy, list[CategoryOption]] | None = None


def category_options(city: City) -> list[CategoryOption]:
    """The active matter classes with their pinyin, computed once per taxonomy: the city
    snapshot is reloaded when the model changes, and with it comes a new taxonomy."""
    global _options_cache
    cached = _options_cache
    if cached is not None and cached[0] is city.taxonomy:
        return cached[1]
    found = []
    for c in city.taxonomy.matters():
        if c.active:
            initials, full = pinyin_keys(c.name)
            found.append(CategoryOption(c.code, c.name, c.major_name, c.public_reportable,
                                        initials, full))
    _options_cache = (city.taxonomy, found)
    return found


# --- the form ----------------------------------------------------------------------------------


@dataclass
class ReportForm:
    """The form as shown: what was typed (or the defaults) and the errors by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.values.get(FORM_KEY, "")


def new_form(defaults: Mapping[str, str] | None = None) -> ReportForm:
    return ReportForm({"urgency": "normal", **(defaults or {}),
                       FORM_KEY: secrets.token_urlsafe(18)})


def text_fields(form: Any) -> dict[str, str]:
    """The posted text fields, stripped (files aside)."""
    return {k: v.strip() for k, v in form.multi_items() if isinstance(v, str)}


async def uploaded(form: Any, settings: Settings) -> list[Upload]:
    """The photo files of the form (an empty file input sends one nameless empty part)."""
    files = []
    for item in form.getlist("photos"):
        if isinstance(item, UploadFile) and (item.filename or item.size):
            files.append(Upload(await item.read(settings.photo_max_bytes + 1), item.filename))
    return files


def schema_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's complaints as Chinese messages by the field that shows them."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ()) if not isinstance(x, int)]
        name = ".".join(loc[:2]) if loc[:1] == ["reporter"] and len(loc) > 1 else (loc[0] if loc else "")
        shown = SHOWN_AT.get(name, name) or "form"
        label = FIELD_LABELS.get(name, name)
        errors.setdefault(shown, "请选择类别" if name == "category_code" and e["type"] == "missing"
                          else f"{label}填写有误，请检查")
    return errors


def field_of(exc: DomainError) -> str:
    return next((name for name, codes in FIELD_CODES.items() if exc.code in codes), "form")


def position_values(values: Mapping[str, str]) -> dict[str, str]:
    """The point, if one was chosen: lon and lat together, in the system named."""
    lon, lat = values.get("lon", ""), values.get("lat", "")
    if not lon and not lat:
        return {}
    return {"lon": lon, "lat": lat, "coord_sys": values.get("coord_sys") or "wgs84"}


def check_form(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    """The values checked by the API's schema; a refusal names the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormInvalid(schema_errors(exc)) from None


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def form_context(city: City, settings: Settings, form: ReportForm, *, public: bool,
                 action: str) -> dict[str, Any]:
    """What ``report/_form.html`` needs."""
    options = [o for o in category_options(city) if o.public or not public]
    return {
        "form": form, "public": public, "action": action, "form_key_field": FORM_KEY,
        "categories": options, "urgencies": URGENCY_LABELS,
        "picker": [o.json() for o in options],
        "map_config": {"tiles": tile_config(settings), "coordSys": display_sys(settings).value,
                       "layersUrl": "/public/layers.json" if public else "/map/layers.json",
                       "pointUrl": "/public/point.json" if public else "/report/point.json"},
        "max_photos": MAX_PHOTOS,
    }


# --- a point on the map -----------------------------------------------------------------------


def describe_point(city: City, settings: Settings, lon: float, lat: float,
                   coord_sys: str) -> dict[str, Any]:
    """Where a point lies (grid, community, street), and where to draw it on the map (in the
    map's coordinate system); outside the city → ``error``."""
    try:
        found = city.locate(lon, lat, CoordSys.parse(coord_sys))
    except DomainError as exc:
        return {"ok": False, "error": exc.message}
    shown = display_sys(settings)
    x, y = from_wgs84(found.lon, found.lat, shown)
    names = [region_name(city, c) for c in (found.street_code, found.community_code,
                                             found.grid_code) if c]
    return {"ok": True, "grid": found.grid_code, "place": " / ".join(names),
            "lat": round(float(y), 7), "lon": round(float(x), 7)}


Coord = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)]
CoordSysText = Annotated[str, Query(max_length=10)]


@router.get("/report/point.json")
def point(city: CityDep, settings: SettingsDep, user: ReportUser, lon: Coord, lat: Coord,
          coord_sys: CoordSysText = "wgs84") -> JSONResponse:
    return JSONResponse(describe_point(city, settings, lon, lat, coord_sys))


# --- the staff report --------------------------------------------------------------------------


def staff_defaults(user: Principal) -> dict[str, str]:
    return {"source": Source.INSPECTOR.value if user.role is Role.INSPECTOR else Source.HOTLINE.value}


def staff_data(user: Principal, values: Mapping[str, str]) -> CaseCreate:
    """The form as the API's report body; inspectors report a point, acceptors at least an
    address."""
    data: dict[str, Any] = {k: values[k] for k in ("category_code", "address", "description",
                                                   "urgency") if values.get(k)}
    data.update(position_values(values))
    if user.role is Role.ACCEPTOR:
        data["source"] = values.get("source") or Source.HOTLINE.value
        reporter = {k: values[f"reporter.{k}"] for k in ("name", "phone") if values.get(f"reporter.{k}")}
        if reporter:
            data["reporter"] = reporter
    errors: dict[str, str] = {}
    if not data.get("category_code"):
        errors["category_code"] = "请选择问题类别"
    if user.role is Role.INSPECTOR and "lon" not in data:
        errors["position"] = "请使用定位或在地图上点选问题位置"
    elif "lon" not in data and not data.get("address"):
        errors["position"] = "请在地图上点选位置，或填写地址"
    if errors:
        raise FormInvalid(errors)
    return check_form(CaseCreate, data)


def store_staff_report(session: Session, settings: Settings, city: City, user: Principal,
                       data: CaseCreate, files: Sequence[Upload], key: str,
                       now: datetime, client: str) -> str:
    """上报 through the intake, as ``POST /api/v1/cases`` does, once per form key: the number of
    the new case, or of the case an earlier submission of the same form made."""
    claim = Claim(user.login, KEY_SCOPE + key[:150], KEY_SCOPE, case_number) if key else None
    taken = take_report(session, city, case_report(data, files), now,
                        Reporter.user(user, client, channel="web"), settings=settings, claim=claim)
    if isinstance(taken, StoredResponse):
        return str(taken.body["case_no"])
    session.commit()
    return taken.case.case_no


def case_number(case: Case, _tracking_code: str | None) -> dict[str, Any]:
    """What a second submission of the form gets back."""
    return {"case_no": case.case_no}


def report_page(request: Request, city: City, settings: Settings, user: Principal, form: ReportForm,
                status_code: int = 200) -> Response:
    context = form_context(city, settings, form, public=False, action="/report")
    return render(request, "report/index.html", {
        "title": "上报问题", **context, "acceptor": user.role is Role.ACCEPTOR,
        "sources": [(s.value, s.label) for s in STAFF_SOURCES]}, status_code=status_code)


@router.get("/report")
def report_form(request: Request, city: CityDep, settings: SettingsDep, user: ReportUser) -> Response:
    return report_page(request, city, settings, user, new_form(staff_defaults(user)))


@router.post("/report")
async def report_submit(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
                        now: NowDep, user: ReportUser) -> Response:
    """Report; errors are shown next to their field with what was typed, and nothing is kept."""
    form = await request.form(max_files=MAX_PHOTOS + 1)
    values = text_fields(form)
    shown = ReportForm(values)
    try:
        files = await uploaded(form, settings)
        data = staff_data(user, values)
        case_no = await run_in_threadpool(store_staff_report, session, settings, city, user, data,
                                          files, values.get(FORM_KEY, ""), now, client_address(request))
    except FormInvalid as exc:
        shown.errors = exc.errors
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        shown.errors = {field_of(exc): exc.message}
    else:
        flash(request, f"已上报，案件号 {case_no}")
        return see_other(f"/cases/{case_no}")
    return report_page(request, city, settings, user, shown, status_code=422)
