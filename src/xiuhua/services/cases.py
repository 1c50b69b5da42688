"""Use cases on cases: report one, act on one. The rules live in domain.lifecycle; this module
locates points, numbers cases, and loads and saves the aggregate in one transaction.
:func:`perform_action` is the one way a signed-in user acts on a case (the API and the pages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, can_see
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action, Rating, Role, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput, NotFound
from xiuhua.domain.geo import CoordSys
from xiuhua.domain.lifecycle import (
    SYSTEM,
    Actor,
    Case,
    Command,
    Location,
    ReportData,
    apply,
    report,
)
from xiuhua.domain.taxonomy import DEFAULT_URGENCY
from xiuhua.services.accounts import audit
from xiuhua.services.photos import attach_to_case, check_may_link
from xiuhua.store import city as city_store
from xiuhua.store.cases import load_case, next_case_no, save_case
from xiuhua.store.tables import cases, components


@dataclass(frozen=True)
class CaseInput:
    """A report as clients send it (the interchange format's case fields)."""

    category_code: str
    source: Source = Source.INSPECTOR
    lon: float | None = None
    lat: float | None = None
    coord_sys: CoordSys = CoordSys.WGS84
    grid_code: str | None = None
    address: str | None = None
    description: str | None = None
    urgency: str = DEFAULT_URGENCY
    component_code: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: tuple[str, ...] = ()
    note: str | None = None


def locate_input(city: City, lon: float | None, lat: float | None, coord_sys: CoordSys,
                 grid_code: str | None = None) -> Location | None:
    """The location of a reported point; a given grid code must agree with the point."""
    if lon is None and lat is None:
        return check_grid_code(None, grid_code)
    if lon is None or lat is None:
        raise InvalidInput("经度和纬度须同时提供", code="missing_coordinates")
    return check_grid_code(city.locate(lon, lat, coord_sys), grid_code)


def check_grid_code(location: Location | None, grid_code: str | None) -> Location | None:
    """``location`` (of the reported point, if any), refused when a given grid code has no
    point or is not the grid the point lies in."""
    if grid_code is None:
        return location
    if location is None:
        raise InvalidInput("提供网格编码时须同时提供坐标", code="missing_coordinates")
    if grid_code != location.grid_code:
        raise InvalidInput(f"网格编码“{grid_code}”与坐标所在网格“{location.grid_code}”不一致",
                           code="grid_mismatch")
    return location


def check_component(session: Session, code: str | None) -> None:
    if code is None:
        return
    if not session.execute(select(components.c.code).where(components.c.code == code)).first():
        raise InvalidInput(f"部件“{code}”不存在", code="unknown_component")


def report_data(city: City, data: CaseInput, case_no: str, at: datetime) -> ReportData:
    return ReportData(
        case_no=case_no, source=data.source, category_code=data.category_code, at=at,
        urgency=data.urgency,
        location=locate_input(city, data.lon, data.lat, data.coord_sys, data.grid_code),
        address=data.address, description=data.description,
        component_code=data.component_code, reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone, photos=data.photos, note=data.note,
    )


def report_case(session: Session, city: City, data: CaseInput, at: datetime,
                actor: Actor = SYSTEM) -> Case:
    """上报: a new case with the next number of the report's local day."""
    return store_report(session, prepare_report(session, city, data, at, actor))


def prepare_report(session: Session, city: City, data: CaseInput, at: datetime,
                   actor: Actor = SYSTEM) -> Case:
    """A report checked by the rules and located, not yet numbered: it only reads, so it can
    run before the write transaction (on SQLite, before taking the one write lock)."""
    check_component(session, data.component_code)
    return report(report_data(city, data, "", at), city.rules, actor)


def store_report(bind: Session | Connection, prepared: Case) -> Case:
    """Number a prepared report (the next number of its local day) and store it: the short
    write at the end of 上报."""
    day = prepared.reported_at.astimezone(local_zone()).strftime("%Y%m%d")
    case = replace(prepared, case_no=next_case_no(bind, day))
    save_case(bind, case, 0, 0)
    return case


def store_user_report(session: Session, prepared: Case, user: Principal, at: datetime,
                      client: str | None, **audited: str) -> Case:
    """A user's prepared report stored, its photos (which the user must see: uploaded, or of
    something they see) linked to it, and audited (from ``client``; ``audited`` adds facts to
    the audit row, e.g. the channel). A district's center staff report in their district only
    (a case elsewhere is the city center's or another district's)."""
    if user.district_scope is not None and not can_see(user, prepared):
        raise InvalidInput("该位置不在本区（县）范围内：请转市级监督中心受理", code="outside_district")
    photos = check_may_link(session, user, prepared.photos)
    conn = session.connection()  # its statements on the session's transaction, minus ORM work
    case = store_report(conn, prepared)
    attach_to_case(session, case.case_no, photos)
    audit(conn, at, user.login, "case_action", case.case_no,
          {"action": Action.REPORT.value, "event_seq": case.events[-1].seq, **audited}, client)
    return case


def act_on_case(session: Session, city: City, case_no: str, cmd: Command) -> Case:
    """Apply one action and save it; a concurrent save makes this one fail as stale."""
    case = load_case(session, case_no)
    loaded_version, loaded_events = case.version, len(case.events)
    check_component(session, cmd.component_code)
    if cmd.duplicate_of is not None and not session.execute(
            select(cases.c.case_no).where(cases.c.case_no == cmd.duplicate_of)).first():
        raise NotFound(f"重复的原案件“{cmd.duplicate_of}”不存在", code="case_not_found")
    apply(case, cmd, city.rules)
    save_case(session, case, loaded_version, loaded_events)
    return case


def clean_text(text: str | None) -> str | None:
    """Blank text is no text."""
    if text is None:
        return None
    return text.strip() or None


def not_found(case_no: str) -> NotFound:
    return NotFound(f"案件“{case_no}”不存在", code="case_not_found")


def visible_case(session: Session, principal: Principal, case_no: str) -> Case:
    """The case, if the user may see it; otherwise it does not exist for them."""
    case = load_case(session, case_no)
    if not can_see(principal, case):
        raise not_found(case_no)
    return case


@dataclass(frozen=True)
class ActionInput:
    """One lifecycle action as clients send it: the version they saw and the fields the action
    uses (``amend``: the changed case fields, the point as lon/lat)."""

    version: int
    note: str | None = None
    photos: Sequence[str] = ()
    unit: str | None = None
    limit: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None
    value: Rating | None = None
    inspector: str | None = None
    category_code: str | None = None
    urgency: str | None = None
    lon: float | None = None
    lat: float | None = None
    coord_sys: CoordSys = CoordSys.WGS84
    component_code: str | None = None
    address: str | None = None
    description: str | None = None


def action_command(city: City, principal: Principal, action: Action, data: ActionInput,
                   at: datetime) -> Command:
    location = (locate_input(city, data.lon, data.lat, data.coord_sys)
                if action is Action.AMEND else None)
    return Command(
        action=action, at=at, actor=principal.actor, expected_version=data.version,
        note=clean_text(data.note), photos=tuple(dict.fromkeys(data.photos)), unit=data.unit,
        limit=data.limit, reason=clean_text(data.reason), duplicate_of=data.duplicate_of,
        value=data.value.value if data.value else None, inspector=data.inspector,
        category_code=data.category_code, urgency=data.urgency, location=location,
        component_code=data.component_code, address=clean_text(data.address),
        description=clean_text(data.description),
    )


def perform_action(session: Session, city: City, principal: Principal, case_no: str,
                   action: Action, data: ActionInput, at: datetime,
                   client: str | None = None) -> Case:
    """A user's action on a case they may see: applied by the lifecycle rules, its photos
    (which the user must see: uploaded, or of something they see) linked to the case, audited
    (from ``client``). Returns the case as acted on."""
    visible_case(session, principal, case_no)
    if data.inspector is not None and data.inspector not in city_store.active_users(
            session, Role.INSPECTOR):
        raise InvalidInput(f"“{data.inspector}”不是在岗的监督员", code="unknown_inspector")
    cmd = action_command(city, principal, action, data, at)
    photos = check_may_link(session, principal, cmd.photos)
    case = act_on_case(session, city, case_no, cmd)
    attach_to_case(session, case_no, photos)
    audit(session, at, principal.login, "case_action", case_no,
          {"action": action.value, "event_seq": case.events[-1].seq}, client)
    return case


def report_source(role: Role | None, requested: Source | None) -> Source:
    """The source of a report by ``role``: the public reports only as the public; staff may
    name the channel (hotline, video …) and default to their own (inspectors) or the hotline."""
    if role is Role.PUBLIC:
        if requested not in (None, Source.PUBLIC):
            raise InvalidInput("公众上报的来源只能是 public（公众举报）", code="invalid_source")
        return Source.PUBLIC
    if requested is not None:
        return requested
    return Source.INSPECTOR if role is Role.INSPECTOR else Source.HOTLINE


def component_owner(session: Session, code: str | None) -> str | None:
    """The owner unit of a census component (None when unknown or unowned)."""
    if code is None:
        return None
    return session.execute(select(components.c.owner_unit)
                           .where(components.c.code == code)).scalar()
