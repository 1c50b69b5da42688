"""Small reads the pages need beside :mod:`xiuhua.store.case_queries` (whose scope and filters
they reuse): deadlines' calendars, open 核实 tasks, pending extension requests, counters, map
points and per-grid counts, region shapes and users' names."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal
from xiuhua.domain.choices import AssignmentEnd, TaskKind
from xiuhua.store.case_queries import SUMMARY_COLUMNS, CaseFilter, overdue, visible_to
from xiuhua.store.tables import assignments, cases, components, inspector_tasks, regions, users

MAX_MAP_POINTS = 5000


def open_assignments(session: Session, case_nos: Iterable[str]) -> dict[str, Any]:
    """Case number → its open assignment row (calendar, limit_text, deadline, suspended_at)."""
    a = assignments.c
    rows = session.execute(
        select(a.case_no, a.calendar, a.limit_text, a.deadline, a.suspended_at,
               a.remaining_seconds, a.extension_requested)
        .where(a.case_no.in_(list(case_nos)), a.ended == AssignmentEnd.OPEN.value))
    return {r.case_no: r for r in rows}


def open_verify_tasks(session: Session, case_nos: Iterable[str]) -> dict[str, Any]:
    """Case number → its open 核实 task row (inspector, deadline)."""
    t = inspector_tasks.c
    rows = session.execute(
        select(t.case_no, t.inspector, t.deadline)
        .where(t.case_no.in_(list(case_nos)), t.kind == TaskKind.VERIFY.value,
               t.done_at.is_(None)))
    return {r.case_no: r for r in rows}


def component_owners(session: Session, case_nos: Iterable[str]) -> dict[str, str]:
    """Case number → the owner unit of the component it names (only where there is one)."""
    rows = session.execute(
        select(cases.c.case_no, components.c.owner_unit)
        .join(components, components.c.code == cases.c.component_code)
        .where(cases.c.case_no.in_(list(case_nos)), components.c.owner_unit.is_not(None)))
    return {r.case_no: r.owner_unit for r in rows}


def extension_requests(session: Session, principal: Principal, now: datetime,
                       limit: int = 100) -> list[Any]:
    """Cases whose open assignment waits for an extension decision, the earliest deadline first."""
    a = assignments.c
    query = (select(*SUMMARY_COLUMNS, overdue(now).label("overdue"), a.extension_requested)
             .join(assignments, and_(a.case_no == cases.c.case_no,
                                     a.ended == AssignmentEnd.OPEN.value))
             .where(visible_to(principal), a.extension_requested.is_not(None))
             .order_by(a.deadline, cases.c.case_no).limit(limit))
    return list(session.execute(query))


def status_counts(session: Session, principal: Principal) -> dict[str, int]:
    query = (select(cases.c.status, func.count()).where(visible_to(principal))
             .group_by(cases.c.status))
    return {status: int(n) for status, n in session.execute(query)}


def count_cases(session: Session, principal: Principal, filters: CaseFilter,
                now: datetime) -> int:
    query = select(func.count()).select_from(cases).where(visible_to(principal),
                                                          *filters.conditions(now))
    return int(session.execute(query).scalar_one())


def map_points(session: Session, principal: Principal, filters: CaseFilter,
               now: datetime) -> list[Any]:
    """Located cases matching the filters (newest first, at most :data:`MAX_MAP_POINTS`)."""
    c = cases.c
    query = (select(c.case_no, c.lon, c.lat, c.status, c.category_code, c.grid_code,
                    overdue(now).label("overdue"))
             .where(visible_to(principal), c.lon.is_not(None), *filters.conditions(now))
             .order_by(c.reported_at.desc()).limit(MAX_MAP_POINTS))
    return list(session.execute(query))


def grid_counts(session: Session, principal: Principal, filters: CaseFilter,
                now: datetime) -> dict[str, int]:
    c = cases.c
    query = (select(c.grid_code, func.count())
             .where(visible_to(principal), c.grid_code.is_not(None), *filters.conditions(now))
             .group_by(c.grid_code))
    return {grid: int(n) for grid, n in session.execute(query)}


def region_shapes(session: Session, levels: Iterable[str]) -> list[Any]:
    """(code, level, name, parent_code, geometry WKB) of the regions of these levels."""
    r = regions.c
    query = (select(r.code, r.level, r.name, r.parent_code, r.geometry)
             .where(r.level.in_(list(levels))).order_by(r.code))
    return list(session.execute(query))


def user_names(session: Session, logins: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({login for login in logins if login})
    if not wanted:
        return {}
    rows = session.execute(select(users.c.login, users.c.name).where(users.c.login.in_(wanted)))
    return {r.login: r.name for r in rows}
