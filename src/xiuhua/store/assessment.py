"""Queries of the assessment: only what one period needs, never the whole history.

A period [start, end) touches the cases with an assessed event in it (``ix_case_events_action_at``)
and those with an assignment running in it (started before ``end`` and ended at or after
``start`` — ``ix_assignments_ended_at`` — or still open). Case rows, complete assignment lists
and the few earlier events the rules read are fetched for those cases only, through subqueries
(no parameter lists), on SQLite and PostgreSQL alike. Also the manual entries, reward bands and
published periods, and the corrections booked against them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, union
from sqlalchemy.sql.selectable import CompoundSelect

from xiuhua.domain.assessment import CaseRecord, EventRecord, Person, RewardBand
from xiuhua.domain.choices import Action, CancelReason, Role, Source
from xiuhua.domain.lifecycle import Assignment
from xiuhua.store.cases import Bind, assignment_from_row
from xiuhua.store.tables import (
    assessment_corrections,
    assessment_entries,
    assessment_publications,
    assessment_reward_bands,
    assignments,
    case_events,
    cases,
    users,
)

e_, a_, c_ = case_events.c, assignments.c, cases.c


EVENT_COLUMNS = (e_.case_no, e_.seq, e_.action, e_.at, e_.actor,
                 e_.data["unit"].as_string().label("unit"), e_.data["value"].as_string().label("value"))


def events_in(actions: Iterable[Action], start: datetime, end: datetime) -> Select[Any]:
    """Events of ``actions`` with ``at`` in [start, end) — one index range per action."""
    return select(*EVENT_COLUMNS).where(e_.action.in_([a.value for a in actions]),
                                        e_.at >= start, e_.at < end)


def touched_cases(actions: Iterable[Action], start: datetime, end: datetime) -> CompoundSelect:
    """Case numbers the period touches: an assessed event in it, or an assignment running in it."""
    return union(
        select(e_.case_no).where(e_.action.in_([a.value for a in actions]), e_.at >= start, e_.at < end),
        select(a_.case_no).where(a_.ended_at >= start, a_.started_at < end),
        select(a_.case_no).where(a_.ended_at.is_(None), a_.started_at < end),
    )


def _event(r: Any) -> EventRecord:
    return EventRecord(case_no=r.case_no, seq=r.seq, action=Action(r.action), at=r.at, actor=r.actor,
                       unit=r.unit, value=r.value)


def period_events(bind: Bind, actions: Iterable[Action], start: datetime, end: datetime) -> list[EventRecord]:
    return [_event(r) for r in bind.execute(events_in(actions, start, end))]


def history_events(bind: Bind, actions: Iterable[Action], of_cases_with: Iterable[Action],
                   start: datetime, end: datetime) -> dict[str, list[EventRecord]]:
    """All events of ``actions`` (at any time) of the cases with an ``of_cases_with`` event in P."""
    wanted = select(e_.case_no).where(e_.action.in_([a.value for a in of_cases_with]),
                                      e_.at >= start, e_.at < end)
    query = (select(*EVENT_COLUMNS).where(e_.case_no.in_(wanted),
                                       e_.action.in_([a.value for a in actions]))
             .order_by(e_.case_no, e_.seq))
    found: dict[str, list[EventRecord]] = defaultdict(list)
    for r in bind.execute(query):
        found[r.case_no].append(_event(r))
    return found


def case_assignments(bind: Bind, case_nos: CompoundSelect) -> dict[str, list[Assignment]]:
    """The complete assignment list, by seq, of each case in ``case_nos`` (a subquery)."""
    query = (select(assignments).where(a_.case_no.in_(case_nos.scalar_subquery()))
             .order_by(a_.case_no, a_.seq))
    found: dict[str, list[Assignment]] = defaultdict(list)
    for r in bind.execute(query):
        found[r.case_no].append(assignment_from_row(r._mapping))
    return found


CASE_COLUMNS = (c_.case_no, c_.source, c_.category_code, c_.grid_code, c_.community_code,
                c_.street_code, c_.reported_at, c_.filed_at, c_.closed_at, c_.cancelled_at,
                c_.cancel_reason)


def case_records(bind: Bind, case_nos: CompoundSelect) -> dict[str, CaseRecord]:
    query = select(*CASE_COLUMNS).where(c_.case_no.in_(case_nos.scalar_subquery()))
    return {r.case_no: CaseRecord(
        case_no=r.case_no, source=Source(r.source), category_code=r.category_code,
        grid_code=r.grid_code, community_code=r.community_code, street_code=r.street_code,
        reported_at=r.reported_at, filed_at=r.filed_at, closed_at=r.closed_at,
        cancelled_at=r.cancelled_at,
        cancel_reason=CancelReason(r.cancel_reason) if r.cancel_reason else None,
    ) for r in bind.execute(query)}


def _role(text: str) -> Role | None:
    try:
        return Role(text)
    except ValueError:
        return None


def people(bind: Bind) -> dict[str, Person]:
    rows = bind.execute(select(users.c.login, users.c.name, users.c.role))
    return {r.login: Person(r.login, r.name, _role(r.role)) for r in rows}


# --- manual entries, reward bands, publications --------------------------------------------


def insert_entry(bind: Bind, row: dict[str, Any]) -> int:
    result = bind.execute(insert(assessment_entries).values(row).returning(assessment_entries.c.id))
    return int(result.scalar_one())


def entry_row(bind: Bind, entry_id: int) -> Any:
    return bind.execute(select(assessment_entries).where(assessment_entries.c.id == entry_id)).one()


def entries_booked(bind: Bind, months: Sequence[str]) -> list[Any]:
    """Manual entries whose assessment month is one of ``months``, in the order entered."""
    t = assessment_entries.c
    return list(bind.execute(select(assessment_entries).where(t.booked_period.in_(list(months)))
                             .order_by(t.id)))


def reward_bands(bind: Bind, period: str) -> list[RewardBand]:
    t = assessment_reward_bands.c
    rows = bind.execute(select(assessment_reward_bands).where(t.period == period).order_by(t.rank_from))
    return [RewardBand(r.rank_from, r.rank_to, r.amount) for r in rows]


def replace_reward_bands(bind: Bind, period: str, rows: Sequence[dict[str, Any]]) -> None:
    bind.execute(delete(assessment_reward_bands).where(assessment_reward_bands.c.period == period))
    if rows:
        bind.execute(insert(assessment_reward_bands), [{**r, "period": period} for r in rows])


def publication(bind: Bind, period: str) -> Any:
    t = assessment_publications.c
    return bind.execute(select(assessment_publications).where(t.period == period)).first()


def publications_covering(bind: Bind, day_start: datetime) -> list[Any]:
    """Published periods containing the instant ``day_start`` (the shortest first)."""
    t = assessment_publications.c
    rows = bind.execute(select(t.period, t.starts_at, t.ends_at)
                        .where(t.starts_at <= day_start, t.ends_at > day_start))
    return sorted(rows, key=lambda r: r.ends_at - r.starts_at)


def published_periods(bind: Bind) -> list[str]:
    """The labels of the published periods, the latest first."""
    t = assessment_publications.c
    return list(bind.execute(select(t.period).order_by(t.starts_at.desc(), t.ends_at)).scalars())


def insert_publication(bind: Bind, row: dict[str, Any]) -> None:
    bind.execute(insert(assessment_publications).values(row))


def publications_ending_after(bind: Bind, t: datetime) -> list[Any]:
    """Published periods (with their frozen figures) that end after ``t``, earliest first."""
    p = assessment_publications.c
    return list(bind.execute(select(assessment_publications).where(p.ends_at > t)
                             .order_by(p.starts_at, p.ends_at)))


IN_CHUNK = 500  # values per SQL IN list


def earliest_report(bind: Bind, case_nos: Iterable[str]) -> datetime | None:
    """The earliest ``reported_at`` of the cases ``case_nos`` (None when there are none)."""
    wanted, found = sorted(set(case_nos)), []
    for start in range(0, len(wanted), IN_CHUNK):
        part = wanted[start:start + IN_CHUNK]
        value = bind.execute(select(func.min(c_.reported_at)).where(c_.case_no.in_(part))).scalar()
        if value is not None:
            found.append(value)
    return min(found, default=None)


# --- corrections of published periods -------------------------------------------------------


def corrections_of(bind: Bind, period: str) -> list[Any]:
    """The corrections of the published ``period``, in the order booked."""
    t = assessment_corrections.c
    return list(bind.execute(select(assessment_corrections).where(t.period == period).order_by(t.id)))


def corrections_booked(bind: Bind, months: Sequence[str]) -> list[Any]:
    """The corrections listed in the months ``months``, in the order booked."""
    t = assessment_corrections.c
    return list(bind.execute(select(assessment_corrections).where(t.booked_period.in_(list(months)))
                             .order_by(t.id)))


def insert_correction(bind: Bind, row: dict[str, Any]) -> Any:
    """Store a correction; returns the stored row."""
    t = assessment_corrections
    new_id = bind.execute(insert(t).values(row).returning(t.c.id)).scalar_one()
    return bind.execute(select(t).where(t.c.id == new_id)).one()
