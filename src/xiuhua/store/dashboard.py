"""Queries of the leaders' dashboard (领导驾驶舱): every one bounded by time or by open state on an
indexed column, never a scan of the whole history.

- counts and groups of one time range (the service asks for one day, or part of one):
  cases by ``reported_at`` / ``closed_at`` (``ix_cases_reported_at``, ``ix_cases_closed_at``),
  filings, dispatches and inspectors' checks by ``(action, at)`` ranges of events
  (``ix_case_events_action_at``), assignments handled by ``ended_at``
  (``ix_assignments_ended_at``);
- where the month's cases stand: ranges of ``ix_cases_status_reported_at`` for the open and
  cancelled statuses only (the closed are the rest);
- overdue cases by ``due_at`` (``ix_cases_due_at``: only open, running assignments have one);
- the case events stored since a given id (a range of the primary key), to see which past
  days a write has changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select

from xiuhua.domain.choices import Action, AssignmentEnd, CaseStatus, Role
from xiuhua.store.case_queries import overdue
from xiuhua.store.cases import Bind
from xiuhua.store.tables import assignments, case_events, cases, users

c_, e_, a_ = cases.c, case_events.c, assignments.c
Bounds = Sequence[tuple[datetime, datetime]]  # [start, end) ranges, one count each


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _counts(bind: Bind, column: Any, bounds: Bounds, *where: ColumnElement[bool]) -> list[int]:
    """How many rows have ``column`` in each of ``bounds``: one count of an index range each
    (cheaper than filtered columns over the widest range once there are many ranges)."""
    found = []
    for start, end in bounds:
        if start >= end:
            found.append(0)
            continue
        query = select(func.count()).where(_in(column, start, end), *where)
        found.append(int(bind.execute(query).scalar_one()))
    return found


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


def status_counts(bind: Bind, statuses: Sequence[CaseStatus], start: datetime,
                  end: datetime) -> dict[str, int]:
    """Status → cases reported in [start, end) that are in it now, for ``statuses``: a range of
    the covering ``ix_cases_status_reported_at`` per status (no row is read). For the open
    statuses those ranges are bounded by the open cases, for ``cancelled`` by the cancellations."""
    query = (select(c_.status, func.count())
             .where(c_.status.in_([s.value for s in statuses]), _in(c_.reported_at, start, end))
             .group_by(c_.status))
    found = dict.fromkeys((s.value for s in statuses), 0)
    found.update({status: int(n) for status, n in bind.execute(query)})
    return found


def cancelled_filed(bind: Bind, start: datetime, end: datetime) -> int:
    """Cases reported in [start, end), cancelled after they were filed (作废 of a filed case)."""
    query = select(func.count(c_.filed_at)).where(c_.status == CaseStatus.CANCELLED.value,
                                                  _in(c_.reported_at, start, end))
    return int(bind.execute(query).scalar_one())


def filed_categories(bind: Bind, start: datetime, end: datetime) -> dict[str, int]:
    """Category → cases filed in [start, end) (``file`` events, by the case's category now)."""
    query = (select(c_.category_code, func.count()).select_from(case_events)
             .join(cases, c_.case_no == e_.case_no)
             .where(e_.action == Action.FILE.value, _in(e_.at, start, end))
             .group_by(c_.category_code))
    return {code: int(n) for code, n in bind.execute(query)}


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


def unit_handled(bind: Bind, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Unit → (assignments handled in [start, end), of which on time): ``ended_at <= deadline``
    is the SQL twin of :attr:`xiuhua.domain.lifecycle.Assignment.on_time`."""
    query = (select(a_.unit_code, func.count(), func.count().filter(a_.ended_at <= a_.deadline))
             .where(_in(a_.ended_at, start, end), a_.ended == AssignmentEnd.HANDLED.value)
             .group_by(a_.unit_code))
    return {unit: (int(n), int(on_time)) for unit, n, on_time in bind.execute(query)}


def unit_overdue(bind: Bind, now: datetime) -> dict[str, int]:
    """Unit → its open assignments overdue at ``now`` (the unit holding an overdue case)."""
    query = (select(c_.holder_unit, func.count()).where(overdue(now), c_.holder_unit.is_not(None))
             .group_by(c_.holder_unit))
    return {unit: int(n) for unit, n in bind.execute(query)}


def past_changes(bind: Bind, after_id: int, upto_id: int, before: datetime) -> list[Any]:
    """Case events with ``after_id < id <= upto_id`` that may change a day before ``before``
    (id, at, action, the case's reported_at): dated before it (a late or imported write), or a
    report, amendment or verification of a case reported before it (its place or category).
    A range of the primary key, as long as what was written since ``after_id``."""
    edits = [Action.REPORT.value, Action.AMEND.value, Action.VERIFY.value]
    query = (select(e_.id, e_.at, e_.action, c_.reported_at).select_from(case_events)
             .join(cases, c_.case_no == e_.case_no)
             .where(e_.id > after_id, e_.id <= upto_id,
                    (e_.at < before) | (e_.action.in_(edits) & (c_.reported_at < before)))
             .order_by(e_.id))
    return list(bind.execute(query))


def last_event_id(bind: Bind) -> int:
    """The newest case event's id (0 with none): the end of the primary key."""
    return int(bind.execute(select(func.coalesce(func.max(e_.id), 0))).scalar_one())
