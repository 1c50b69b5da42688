"""Queries of the leaders' dashboard (领导驾驶舱): every one bounded by time or by open state on an
indexed column, never a scan of the whole history.

- case counts by ``reported_at`` / ``closed_at`` ranges (``ix_cases_reported_at``,
  ``ix_cases_closed_at``), filings and dispatches by ``(action, at)`` ranges of events
  (``ix_case_events_action_at``), overdue cases by ``due_at`` (``ix_cases_due_at``: only open,
  running assignments have one);
- per-day counts of a range as ``count(*) FILTER (WHERE …)`` columns of one index range scan
  (SQLite ≥ 3.30 and PostgreSQL alike);
- the assignments the month's on-time rate needs: those ended in the month
  (``ix_assignments_ended_at``) and the open ones of overdue cases (``ix_cases_due_at``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from xiuhua.domain.choices import Action, AssignmentEnd, Role
from xiuhua.domain.lifecycle import Assignment
from xiuhua.store.case_queries import overdue
from xiuhua.store.cases import Bind, assignment_from_row
from xiuhua.store.tables import assignments, case_events, cases, users

c_, e_, a_ = cases.c, case_events.c, assignments.c
Bounds = Sequence[tuple[datetime, datetime]]  # [start, end) ranges, one count each


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _counts(bind: Bind, column: Any, bounds: Bounds, *where: ColumnElement[bool]) -> list[int]:
    """How many rows have ``column`` in each of ``bounds``, in one scan of the widest range."""
    low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
    columns = [func.count().filter(_in(column, start, end)) for start, end in bounds]
    row = bind.execute(select(*columns).where(_in(column, low, high), *where)).one()
    return [int(n or 0) for n in row]


def reported(bind: Bind, bounds: Bounds) -> list[int]:
    """Cases reported in each range."""
    return _counts(bind, c_.reported_at, bounds)


def closed(bind: Bind, bounds: Bounds) -> list[int]:
    """Cases closed in each range."""
    return _counts(bind, c_.closed_at, bounds)


def actions(bind: Bind, action: Action, bounds: Bounds) -> list[int]:
    """``action`` events in each range (e.g. ``file``, ``dispatch``)."""
    return _counts(bind, e_.at, bounds, e_.action == action.value)


def overdue_since(bind: Bind, now: datetime, bounds: Bounds) -> list[int]:
    """Cases overdue at ``now`` whose deadline passed in each range (ranges end at ``now``)."""
    return _counts(bind, c_.due_at, bounds, overdue(now))


def overdue_count(bind: Bind, now: datetime) -> int:
    """Cases overdue at ``now`` (their open, running assignment's deadline has passed)."""
    return int(bind.execute(select(func.count()).select_from(cases).where(overdue(now))).scalar_one())


def status_counts(bind: Bind, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Status → (cases reported in [start, end), of which filed) — where the period's cases stand."""
    query = (select(c_.status, func.count(), func.count(c_.filed_at))
             .where(_in(c_.reported_at, start, end)).group_by(c_.status))
    return {status: (int(n), int(filed)) for status, n, filed in bind.execute(query)}


def filed_categories(bind: Bind, start: datetime, end: datetime, limit: int) -> list[tuple[str, int]]:
    """(category, cases filed) of the most filed categories in [start, end), most first."""
    n = func.count().label("n")
    query = (select(c_.category_code, n).select_from(case_events)
             .join(cases, c_.case_no == e_.case_no)
             .where(e_.action == Action.FILE.value, _in(e_.at, start, end))
             .group_by(c_.category_code).order_by(n.desc(), c_.category_code).limit(limit))
    return [(code, int(count)) for code, count in bind.execute(query)]


def grid_reports(bind: Bind, start: datetime, end: datetime) -> dict[str, int]:
    """Grid → cases reported there in [start, end)."""
    query = (select(c_.grid_code, func.count()).where(_in(c_.reported_at, start, end),
                                                      c_.grid_code.is_not(None))
             .group_by(c_.grid_code))
    return {grid: int(n) for grid, n in bind.execute(query)}


PATROL_ACTIONS = (Action.VERIFY, Action.CHECK_PASS, Action.CHECK_FAIL)


def patrolled_grids(bind: Bind, start: datetime, end: datetime) -> set[str]:
    """Grids of the cases an inspector verified (核实) or checked (核查) in [start, end)."""
    inspectors = select(users.c.login).where(users.c.role == Role.INSPECTOR.value)
    query = (select(c_.grid_code).distinct().select_from(case_events)
             .join(cases, c_.case_no == e_.case_no)
             .where(e_.action.in_([a.value for a in PATROL_ACTIONS]), _in(e_.at, start, end),
                    e_.actor.in_(inspectors), c_.grid_code.is_not(None)))
    return {grid for (grid,) in bind.execute(query)}


def month_assignments(bind: Bind, start: datetime, now: datetime) -> dict[str, list[Assignment]]:
    """Case → the assignments the on-time rate of [start, now) reads: those ended in it
    (handled or returned) and the open ones of cases overdue at ``now``."""
    ended = select(assignments).where(_in(a_.ended_at, start, now))
    late = (select(assignments).join(cases, c_.case_no == a_.case_no)
            .where(overdue(now), a_.ended == AssignmentEnd.OPEN.value))
    found: dict[str, list[Assignment]] = defaultdict(list)
    for query in (ended, late):
        for r in bind.execute(query):
            found[r.case_no].append(assignment_from_row(r._mapping))
    return {no: sorted(found_, key=lambda a: a.seq) for no, found_ in found.items()}

