"""The case page: facts, a map pin on its grid, photos before and after, the timeline of every
event, assignments with a working-time countdown, and forms for the actions the viewer may
take, which post to a route applying them with the same rules as the API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Action, CancelReason, Rating, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError
from xiuhua.domain.lifecycle import Case, Event, allowed_actions, overdue_at
from xiuhua.domain.taxonomy import URGENCY_LABELS
from xiuhua.http.cases import action_input, parse_action
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.http.presenters import category_name, reporter_view
from xiuhua.http.schemas import MAX_PHOTOS, CaseActionCreate
from xiuhua.services import city as city_service
from xiuhua.services import photos
from xiuhua.services.cases import perform_action, visible_case
from xiuhua.services.photos import Upload
from xiuhua.services.public import anonymous_actors
from xiuhua.web.auth import FormData
from xiuhua.web.forms import ACTION_FORMS, FIELD_LABELS, action_form
from xiuhua.web.maps import display_sys, geometry_json, shifted_point, tile_config
from xiuhua.web.pages import (
    PageRoute,
    PageUser,
    flash,
    invalid,
    limit_label,
    local_time,
    not_found_page,
    render,
    safe_next,
    see_other,
)
from xiuhua.web.report import uploaded
from xiuhua.web.views import Countdown, countdown, paused, region_name, unit_name

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CASE_NO = re.compile(r"\d{14}")
BEFORE = frozenset({Action.REPORT, Action.VERIFY, Action.AMEND})
# actions whose form takes photos: 核实 and the checks (inspector), 处置反馈 (unit)
PHOTO_ACTIONS = frozenset({Action.VERIFY, Action.FEEDBACK, Action.CHECK_PASS, Action.CHECK_FAIL})
Uploads = list[Upload]


def load_visible(session: Session, user: Principal, case_no: str) -> Case:
    """The case if the user may see it; otherwise, as for a missing one, a 404 page."""
    if not CASE_NO.fullmatch(case_no):
        raise not_found_page(f"案件“{case_no[:20]}”")
    try:
        return visible_case(session, user, case_no)
    except DomainError:
        raise not_found_page(f"案件“{case_no}”") from None


# --- what the page shows ----------------------------------------------------------------------


def facts(city: City, case: Case, user: Principal) -> list[tuple[str, str]]:
    loc = case.location
    reporter = reporter_view(case, user)
    rows = [
        ("类别", f"{case.category_code} {category_name(city, case.category_code)}"),
        ("紧急程度", URGENCY_LABELS.get(case.urgency, case.urgency)),
        ("来源", case.source.label), ("地址", case.address or ""), ("描述", case.description or ""),
        ("位置", " / ".join(region_name(city, c) for c in (
            loc.street_code, loc.community_code, loc.grid_code) if c) if loc else "尚未定位"),
        ("承办单位", unit_name(city, case.holder)), ("部件", case.component_code or ""),
        ("上报人", " ".join(x for x in (reporter.name, reporter.phone) if x) if reporter else ""),
        ("评价", case.rating.label if case.rating else ""),
        ("作废原因", case.cancel_reason.label if case.cancel_reason else ""),
        ("重复于", case.duplicate_of or ""),
    ]
    return [(label, value) for label, value in rows if value]


def photo_groups(case: Case) -> tuple[list[str], list[str]]:
    """Photos before handling (report, verification, amendments) and after (every later step)."""
    before = dict.fromkeys(case.photos)
    after: dict[str, None] = {}
    for event in case.events:
        (before if event.action in BEFORE else after).update(dict.fromkeys(event.photos))
    return list(before), [p for p in after if p not in before]


def _amended(city: City, field: str, value: Any) -> str:
    if value is None or value == "":
        return "（空）"
    if field == "category_code":
        return f"{value} {category_name(city, value)}"
    if field == "urgency":
        return URGENCY_LABELS.get(value, value)
    if field == "location" and isinstance(value, Mapping):
        return region_name(city, value.get("grid_code"))
    return str(value)


def event_details(city: City, event: Event) -> list[str]:
    """The event's data in Chinese, one line per fact."""
    data, lines = event.data, []
    if "source" in data:
        lines.append(f"来源：{Source(data['source']).label}")
    if data.get("unit"):
        lines.append(f"处置单位：{unit_name(city, data['unit'])}")
    if "limit" in data:
        lines.append(f"时限：{limit_label(data['limit'])}")
    if data.get("reason"):
        reason = data["reason"]
        is_cancel = event.action is Action.CANCEL and reason in CancelReason.values()
        lines.append(f"原因：{CancelReason(reason).label if is_cancel else reason}")
    if data.get("duplicate_of"):
        lines.append(f"重复于：{data['duplicate_of']}")
    if "value" in data:
        lines.append(f"评价：{Rating(data['value']).label}")
    if event.action is Action.RECOMPUTE_DEADLINE:
        lines.append(f"截止时间：{local_time(datetime.fromisoformat(data['from']))} → "
                     f"{local_time(datetime.fromisoformat(data['to']))}")
    old, new = data.get("old", {}), data.get("new", {})
    for field in new:
        label = FIELD_LABELS.get(field, field)
        lines.append(f"{label}：{_amended(city, field, old.get(field))} → "
                     f"{_amended(city, field, new[field])}")
    return lines


@dataclass(frozen=True)
class AssignmentView:
    seq: int
    unit: str
    kind: str
    started_at: datetime
    limit: str
    deadline: datetime
    state: str
    countdown: Countdown | None


def assignment_views(city: City, case: Case, now: datetime) -> list[AssignmentView]:
    views = []
    for a in case.assignments:
        clock: Countdown | None = None
        if a.is_open and a.suspended_at is not None:
            clock = paused(city, a.calendar, a.limit, a.remaining_seconds)
        elif a.is_open:
            clock = countdown(city, a.calendar, a.limit, a.deadline, now, overdue_at(a, now))
        state = a.ended.label
        if a.extension_requested:
            state += f"（申请延期 {limit_label(a.extension_requested)}）"
        if a.suspension_requested:
            state += f"（申请挂账：{a.suspension_requested}）"
        if a.on_time is not None:
            state += "，按时" if a.on_time else "，超时"
        views.append(AssignmentView(a.seq, unit_name(city, a.unit_code), a.kind.label,
                                    a.started_at, limit_label(a.limit), a.deadline, state, clock))
    return views


def map_data(session: Session, case: Case, settings: Any) -> dict[str, Any]:
    coord_sys = display_sys(settings)
    grid = None
    point = None
    if case.location is not None:
        geom = city_service.region_geometry(session, case.location.grid_code)
        grid = geometry_json(geom, coord_sys) if geom is not None else None
        point = list(shifted_point(case.location.lon, case.location.lat, coord_sys))[::-1]
    return {"grid": grid, "point": point, "tiles": tile_config(settings)}


def page_context(session: Session, city: City, user: Principal, case: Case, now: datetime,
                 settings: Any, failed: Mapping[str, Any] | None) -> dict[str, Any]:
    names = city_service.user_names(session, [e.actor for e in case.events]
                                 + [t.inspector for t in case.tasks])
    before, after = photo_groups(case)
    actions = allowed_actions(case, user.actor, city.rules)
    return {
        "title": f"案件 {case.case_no}", "case": case, "facts": facts(city, case, user),
        "before": before, "after": after, "names": names,
        "anonymous": anonymous_actors(session, case),
        "events": [(e, event_details(city, e)) for e in case.events],
        "assignments": assignment_views(city, case, now), "tasks": case.tasks,
        "forms": [action_form(session, city, case, a, failed) for a in actions
                  if a in ACTION_FORMS],
        "photo_actions": PHOTO_ACTIONS, "max_photos": MAX_PHOTOS,
        "map": map_data(session, case, settings), "now": now,
    }


@router.get("/cases/{case_no}")
def case_page(request: Request, session: SessionDep, city: CityDep, now: NowDep,
              settings: SettingsDep, user: PageUser, case_no: str) -> Response:
    case = load_visible(session, user, case_no)
    return render(request, "cases/detail.html",
                  page_context(session, city, user, case, now, settings, None))


# --- acting -----------------------------------------------------------------------------------

BODY_FIELDS = frozenset(CaseActionCreate.model_fields) - {"photos", "lon", "lat", "coord_sys"}


def action_body(form: Mapping[str, str]) -> CaseActionCreate:
    """The action's fields from the form (blank fields are absent), checked like the API's."""
    values = {k: v.strip() for k, v in form.items() if k in BODY_FIELDS and v.strip()}
    try:
        return CaseActionCreate.model_validate(values)
    except ValidationError as exc:
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        labels = "、".join(FIELD_LABELS.get(b, b) for b in bad) or "表单"
        raise invalid(f"{labels}填写有误，请检查后重新提交") from None


def perform(request: Request, session: Session, city: City, settings: Settings, user: Principal,
            case_no: str, action: Action, body: CaseActionCreate, files: Uploads,
            now: datetime) -> Case:
    """Apply the action as the API does, with the form's photo files stored as
    ``POST /api/v1/photos`` stores them and attached to the action; a case out of the user's
    sight is a 404 page, a refused action writes nothing."""
    load_visible(session, user, case_no)
    if files and action not in PHOTO_ACTIONS:
        raise invalid(f"“{action.label}”不接受照片")
    with session.begin_nested():
        ids = photos.store_uploads(session, settings, files, user.login, now)
        if ids:
            body = body.model_copy(update={"photos": list(dict.fromkeys(ids))})
        return perform_action(session, city, user, case_no, action, action_input(body),
                              now, client_address(request))


async def photo_files(request: Request, settings: SettingsDep) -> Uploads:
    """The photo files of a posted action form (none for a form without a file input)."""
    return await uploaded(await request.form(), settings)


PhotoFiles = Annotated[Uploads, Depends(photo_files)]


@router.post("/cases/{case_no}/actions/{action}")
def act(request: Request, session: SessionDep, city: CityDep, now: NowDep,
        settings: SettingsDep, user: PageUser, form: FormData, files: PhotoFiles, case_no: str,
        action: str) -> Response:
    """Take one action from a form. Success goes on to the page named by ``next`` (the case
    page by default); a refusal shows its Chinese reason in the action's form on the case page
    (or, from another page, at the top of that page)."""
    chosen = parse_action(action)
    page = f"/cases/{case_no}"
    back = safe_next(form.get("next"), page)
    try:
        case = perform(request, session, city, settings, user, case_no, chosen, action_body(form),
                       files, now)
    except DomainError as exc:
        reason = f"{chosen.label}未完成：{exc.message}"
        if back != page:
            flash(request, f"案件 {case_no}：{reason}", "error")
            return see_other(back)
        failed = {"action": chosen.value, "text": reason,
                  "values": {k: v for k, v in form.items() if k in BODY_FIELDS}}
        current = load_visible(session, user, case_no)
        # 200 like any re-shown form: browsers log a console error for a 4xx page
        return render(request, "cases/detail.html",
                      page_context(session, city, user, current, now, settings, failed))
    flash(request, f"案件 {case_no} 已{chosen.label}（当前状态：{case.status.label}）")
    return see_other(back)
