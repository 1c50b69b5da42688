"""Use cases on cases: act on one (reporting is :mod:`xiuhua.services.intake`'s). The rules live
in domain.lifecycle; this module locates points, and loads and saves the aggregate in one
transaction. :func:`perform_action` is the one way a signed-in user acts on a case (the API and
the pages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, can_see
from xiuhua.domain.choices import Action, Rating, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput, NotFound
from xiuhua.domain.geo import CoordSys
from xiuhua.domain.lifecycle import (
    Case,
    Command,
    Location,
    apply,
)
from xiuhua.services.accounts import audit
from xiuhua.services.photos import attach_to_case, check_may_link
from xiuhua.store import city as city_store
from xiuhua.store.cases import load_case, save_case
from xiuhua.store.tables import cases, components


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


def component_owner(session: Session, code: str | None) -> str | None:
    """The owner unit of a census component (None when unknown or unowned)."""
    if code is None:
        return None
    return session.execute(select(components.c.owner_unit)
                           .where(components.c.code == code)).scalar()
