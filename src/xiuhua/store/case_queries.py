"""Case reads: the caller's scope as SQL, filters, sorting and keyset (cursor) pagination, and
the smaller reads of the pages' queues, counters and map (open assignments and tasks, pending
extension requests, counts, map points).

The scope here is the SQL twin of :func:`xiuhua.domain.access.can_see`, and "overdue" the SQL
twin of :func:`xiuhua.domain.lifecycle.overdue_at` over the denormalised ``cases.due_at``
(the deadline of the open, not suspended assignment); tests hold each pair in agreement.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from xiuhua.domain.access import UNIT_STAFF, Principal
from xiuhua.domain.choices import AssignmentEnd, CaseStatus, Role, Source, TaskKind
from xiuhua.domain.errors import InvalidInput
from xiuhua.store.tables import assignments, cases, components, inspector_tasks

# sort name -> (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "reported_at": (cases.c.reported_at, False),
    "-reported_at": (cases.c.reported_at, True),
    "due_at": (cases.c.due_at, False),
    "-due_at": (cases.c.due_at, True),
    "case_no": (cases.c.case_no, False),
    "-case_no": (cases.c.case_no, True),
}
DEFAULT_SORT = "-reported_at"
MAX_MAP_POINTS = 5000
_CASE_NO = re.compile(r"[0-9A-Za-z_-]{1,20}")

SUMMARY_COLUMNS = (
    cases.c.case_no, cases.c.version, cases.c.status, cases.c.source, cases.c.category_code,
    cases.c.urgency, cases.c.address, cases.c.description, cases.c.grid_code,
    cases.c.community_code, cases.c.street_code, cases.c.reported_at, cases.c.closed_at,
    cases.c.holder_unit, cases.c.due_at,
)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Cases the principal may see (see :mod:`xiuhua.domain.access`)."""
    if principal.sees_all:
        return true()
    if principal.district_scope is not None:
        return cases.c.grid_code.startswith(principal.district_scope, autoescape=True)
    if principal.role in UNIT_STAFF:
        return exists().where(assignments.c.case_no == cases.c.case_no,
                              assignments.c.unit_code == principal.unit_code)
    if principal.role is Role.INSPECTOR:
        tasked = exists().where(inspector_tasks.c.case_no == cases.c.case_no,
                                inspector_tasks.c.inspector == principal.login)
        return or_(cases.c.grid_code.in_(sorted(principal.grids)), tasked)
    return false()


def overdue(now: datetime) -> ColumnElement[bool]:
    """The case has an open, running assignment whose deadline has passed at ``now``."""
    return and_(cases.c.due_at.is_not(None), cases.c.due_at < now)


@dataclass(frozen=True)
class CaseFilter:
    """List filters; time bounds are aware datetimes, ``*_from`` included, ``*_before`` not."""

    statuses: tuple[CaseStatus, ...] = ()
    category: str | None = None  # matter code (5 digits) or major code (2 digits)
    unit: str | None = None  # holds or has held the case
    holder: str | None = None  # holds the case now
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    source: Source | None = None
    overdue: bool | None = None
    due_from: datetime | None = None
    due_before: datetime | None = None
    text: str | None = None
    reported_from: datetime | None = None
    reported_before: datetime | None = None
    closed_from: datetime | None = None
    closed_before: datetime | None = None

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        c = cases.c
        found = [column == value for column, value in (
            (c.street_code, self.street), (c.community_code, self.community),
            (c.grid_code, self.grid), (c.source, self.source.value if self.source else None),
            (c.holder_unit, self.holder),
        ) if value is not None]
        if self.statuses:
            found.append(c.status.in_([s.value for s in self.statuses]))
        if self.category is not None:
            found.append(c.category_code.startswith(self.category, autoescape=True)
                         if len(self.category) < 5 else c.category_code == self.category)
        if self.unit is not None:
            found.append(exists().where(assignments.c.case_no == c.case_no,
                                        assignments.c.unit_code == self.unit))
        if self.overdue is not None:
            found.append(overdue(now) if self.overdue else ~overdue(now))
        if self.text is not None:
            found.append(or_(c.description.icontains(self.text, autoescape=True),
                             c.address.icontains(self.text, autoescape=True),
                             c.case_no.contains(self.text, autoescape=True)))
        return found + self._bounds()

    def _bounds(self) -> list[ColumnElement[bool]]:
        c = cases.c
        found: list[ColumnElement[bool]] = []
        for column, low, high in ((c.reported_at, self.reported_from, self.reported_before),
                                  (c.closed_at, self.closed_from, self.closed_before),
                                  (c.due_at, self.due_from, self.due_before)):
            if low is not None:
                found.append(column >= low)
            if high is not None:
                found.append(column < high)
        return found


# --- cursors ------------------------------------------------------------------------------


def _bad_cursor() -> InvalidInput:
    return InvalidInput("分页游标无效，请从第一页重新查询", code="invalid_cursor")


def encode_cursor(sort: str, key: Any, case_no: str) -> str:
    """An opaque token for "after (key, case_no) in this sort order"."""
    value = key.astimezone(UTC).isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([sort, value, case_no], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[Any, str]:
    """The (key, case_no) a cursor points after; refused unless made for the same sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        name, value, case_no = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise _bad_cursor() from None
    if name != sort or not isinstance(case_no, str) or not _CASE_NO.fullmatch(case_no):
        raise _bad_cursor()
    column, _ = SORTS[sort]
    if column is cases.c.case_no:
        return case_no, case_no
    return _cursor_time(value, column.nullable), case_no


def _cursor_time(value: Any, nullable: bool) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        raise _bad_cursor() from None


def after(sort: str, key: Any, case_no: str) -> ColumnElement[bool]:
    """Rows after (key, case_no) in ``sort`` order; NULL keys sort as the largest value."""
    column, desc = SORTS[sort]
    no = cases.c.case_no
    next_no = no < case_no if desc else no > case_no
    if column is no:
        return next_no
    if key is None:  # inside the NULL block: first when descending, last when ascending
        in_nulls = and_(column.is_(None), next_no)
        return or_(in_nulls, column.is_not(None)) if desc else in_nulls
    beyond = column < key if desc else column > key
    found = or_(beyond, and_(column == key, next_no))
    return or_(found, column.is_(None)) if column.nullable and not desc else found


def order_by(sort: str) -> list[Any]:
    column, desc = SORTS[sort]
    no = cases.c.case_no
    if column is no:
        return [no.desc() if desc else no.asc()]
    if column.nullable:
        return [column.desc().nulls_first() if desc else column.asc().nulls_last(),
                no.desc() if desc else no.asc()]
    return [column.desc() if desc else column.asc(), no.desc() if desc else no.asc()]


# --- the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CasePage:
    rows: list[Any]  # SUMMARY_COLUMNS and ``overdue``
    next_cursor: str | None


def list_cases(session: Session, principal: Principal, filters: CaseFilter, now: datetime,
               sort: str = DEFAULT_SORT, limit: int = 50, cursor: str | None = None,
               offset: int = 0) -> CasePage:
    """One page of the cases the principal may see, matching the filters, in ``sort`` order
    (after ``cursor``, or skipping ``offset`` rows: the short queues of the home pages)."""
    if sort not in SORTS:
        raise InvalidInput(f"不支持的排序：{sort}", code="invalid_sort")
    query = (select(*SUMMARY_COLUMNS, overdue(now).label("overdue"))
             .where(visible_to(principal), *filters.conditions(now)))
    if cursor is not None:
        query = query.where(after(sort, *decode_cursor(cursor, sort)))
    query = query.order_by(*order_by(sort)).limit(limit + 1)
    rows = session.execute(query.offset(offset) if offset else query).all()
    if len(rows) <= limit:
        return CasePage(list(rows), None)
    last = rows[limit - 1]
    column, _ = SORTS[sort]
    return CasePage(list(rows[:limit]), encode_cursor(sort, last._mapping[column.name],
                                                      last.case_no))


# --- queues, counters and the map ---------------------------------------------------------


def open_assignments(session: Session, case_nos: Iterable[str]) -> dict[str, Any]:
    """Case number → its open assignment row (calendar, limit_text, deadline, suspended_at)."""
    a = assignments.c
    rows = session.execute(
        select(a.case_no, a.calendar, a.limit_text, a.deadline, a.suspended_at,
               a.remaining_seconds, a.extension_requested)
        .where(a.case_no.in_(list(case_nos)), a.ended == AssignmentEnd.OPEN.value))
    return {r.case_no: r for r in rows}


def open_tasks(session: Session, inspector: str | None, limit: int,
               district: str | None = None) -> list[Any]:
    """Open 核实/核查 tasks (of ``inspector``, or everyone's; in ``district`` only when given)
    with their case's facts, the earliest deadline first."""
    t, c = inspector_tasks.c, cases.c
    query = (select(t.case_no, t.seq, t.kind, t.inspector, t.opened_at, t.deadline, c.status,
                    c.category_code, c.description, c.address, c.lon, c.lat, c.grid_code)
             .join(cases, c.case_no == t.case_no).where(t.done_at.is_(None)))
    if inspector is not None:
        query = query.where(t.inspector == inspector)
    if district is not None:
        query = query.where(c.grid_code.startswith(district, autoescape=True))
    return list(session.execute(query.order_by(t.deadline, t.case_no, t.seq).limit(limit)))


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


PENDING_REQUESTS = ("extension_requested", "suspension_requested")


def _pending(principal: Principal, column: str) -> tuple[Any, ColumnElement[bool]]:
    """The request column and the condition of the cases waiting for a decision on it."""
    if column not in PENDING_REQUESTS:
        raise ValueError(column)
    a = assignments.c
    asked = a[column]
    return asked, and_(visible_to(principal), asked.is_not(None))


def _open_assignment() -> ColumnElement[bool]:
    return and_(assignments.c.case_no == cases.c.case_no,
                assignments.c.ended == AssignmentEnd.OPEN.value)


def pending_requests(session: Session, principal: Principal, now: datetime, column: str,
                     limit: int = 100, offset: int = 0) -> list[Any]:
    """Cases whose open assignment waits for a decision on the unit's request (``column``:
    ``extension_requested`` or ``suspension_requested``, returned as ``request``), the
    earliest deadline first (the overdue ones first)."""
    asked, waiting = _pending(principal, column)
    query = (select(*SUMMARY_COLUMNS, overdue(now).label("overdue"), asked.label("request"))
             .join(assignments, _open_assignment()).where(waiting)
             .order_by(assignments.c.deadline, cases.c.case_no).limit(limit).offset(offset))
    return list(session.execute(query))


def count_pending_requests(session: Session, principal: Principal, column: str) -> int:
    """How many cases :func:`pending_requests` lists in all."""
    _, waiting = _pending(principal, column)
    query = select(func.count()).select_from(cases).join(assignments, _open_assignment())
    return int(session.execute(query.where(waiting)).scalar_one())


def status_counts(session: Session, principal: Principal,
                  statuses: Iterable[CaseStatus]) -> dict[str, int]:
    """Status → cases the principal may see in it, for ``statuses`` only: the open statuses are
    a small range of ``ix_cases_status_reported_at`` whatever the size of the (closed) history."""
    query = (select(cases.c.status, func.count())
             .where(visible_to(principal), cases.c.status.in_([s.value for s in statuses]))
             .group_by(cases.c.status))
    return {status: int(n) for status, n in session.execute(query)}


def count_cases(session: Session, principal: Principal, filters: CaseFilter,
                now: datetime, cap: int | None = None) -> int:
    """How many cases match; with ``cap``, counting stops after ``cap + 1`` (a result above
    ``cap`` means "more than ``cap``": a search over a whole decade reads a bounded range)."""
    conditions = (visible_to(principal), *filters.conditions(now))
    if cap is None:
        query = select(func.count()).select_from(cases).where(*conditions)
        return int(session.execute(query).scalar_one())
    first = select(cases.c.case_no).where(*conditions).limit(cap + 1).subquery()
    return int(session.execute(select(func.count()).select_from(first)).scalar_one())


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
