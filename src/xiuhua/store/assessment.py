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

from sqlalchemy import (
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect
from sqlalchemy.sql.visitors import InternalTraversal

from xiuhua.domain.assessment import CaseRecord, EventRecord, PeriodGroups, Person, RewardBand
from xiuhua.domain.choices import Action, AssignmentEnd, AssignmentKind, CancelReason, Role, Source
from xiuhua.domain.lifecycle import Assignment
from xiuhua.store.cases import Bind, assignment_from_row
from xiuhua.store.tables import (
    UTCDateTime,
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


def subject_cases(touched: CompoundSelect, subject: str, code: str, start: datetime, end: datetime,
                  whole_city: bool) -> Select[Any] | CompoundSelect:
    """The touched cases that can count for one subject's figures (what a drill-down needs):
    a unit's — an assignment of it, or an event of the period naming it; a region's — filed in
    it (``whole_city``: every case); a person's — an event of the period by them."""
    if subject == "units":
        return union(
            select(a_.case_no).where(a_.case_no.in_(touched.scalar_subquery()), a_.unit_code == code),
            select(e_.case_no).where(e_.action.in_([a.value for a in Action]), e_.at >= start, e_.at < end,
                                     e_.data["unit"].as_string() == code))
    if subject == "regions":
        within = c_.case_no.in_(touched.scalar_subquery())
        if whole_city:
            return select(c_.case_no).where(within)
        return select(c_.case_no).where(within, or_(c_.grid_code == code, c_.street_code == code,
                                                    c_.community_code == code,
                                                    func.substr(c_.grid_code, 1, 6) == code))
    return select(e_.case_no).where(e_.at >= start, e_.at < end, e_.actor == code)


def _event(r: Any) -> EventRecord:
    return EventRecord(case_no=r.case_no, seq=r.seq, action=Action(r.action), at=r.at, actor=r.actor,
                       unit=r.unit, value=r.value)


def period_events(bind: Bind, actions: Iterable[Action], start: datetime, end: datetime,
                  only: Select[Any] | CompoundSelect | None = None) -> list[EventRecord]:
    query = events_in(actions, start, end)
    if only is not None:
        query = query.where(e_.case_no.in_(only.scalar_subquery()))
    return [_event(r) for r in bind.execute(query)]


def history_events(bind: Bind, actions: Iterable[Action], of_cases_with: Iterable[Action],
                   start: datetime, end: datetime,
                   only: Select[Any] | CompoundSelect | None = None) -> dict[str, list[EventRecord]]:
    """All events of ``actions`` (at any time) of the cases with an ``of_cases_with`` event in P."""
    wanted = select(e_.case_no).where(e_.action.in_([a.value for a in of_cases_with]),
                                      e_.at >= start, e_.at < end)
    if only is not None:
        wanted = wanted.where(e_.case_no.in_(only.scalar_subquery()))
    query = (select(*EVENT_COLUMNS).where(e_.case_no.in_(wanted),
                                       e_.action.in_([a.value for a in actions]))
             .order_by(e_.case_no, e_.seq))
    found: dict[str, list[EventRecord]] = defaultdict(list)
    for r in bind.execute(query):
        found[r.case_no].append(_event(r))
    return found


def case_assignments(bind: Bind, case_nos: CompoundSelect | Select[Any]) -> dict[str, list[Assignment]]:
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


def case_records(bind: Bind, case_nos: CompoundSelect | Select[Any]) -> dict[str, CaseRecord]:
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



# --- the period's counts, aggregated by the database -----------------------------------------
#
# Each query reads one action's events of the period through ``ix_case_events_action_at`` (or
# the assignments ended in it through ``ix_assignments_ended_at``, the open ones through the
# same index) and groups them; per event, the rows a rule needs (the case, its assignments,
# earlier events) are found by case number through the (case_no, seq) keys. The rules are
# those of :mod:`xiuhua.domain.assessment`, which decides what the groups count; a test holds
# the grouped counts equal to the item-by-item ones on every figure.


class _Instants(ColumnElement[Any]):
    """An expression of two instants ``a`` and ``b``, written per dialect by ``sql`` (the
    default) and ``sqlite``."""

    inherit_cache = True
    _traverse_internals = [("a", InternalTraversal.dp_clauseelement),  # noqa: RUF012 (in the cache key)
                           ("b", InternalTraversal.dp_clauseelement)]
    sql = sqlite = ""

    def __init__(self, a: ColumnElement[Any], b: ColumnElement[Any]) -> None:
        self.a, self.b = a, b


@compiles(_Instants)
def _instants(element: _Instants, compiler: Any, **kw: Any) -> str:
    text = element.sqlite if compiler.dialect.name == "sqlite" else element.sql
    return text.format(a=compiler.process(element.a, **kw), b=compiler.process(element.b, **kw))


class _Greatest(_Instants):
    """The later of two non-null instants."""

    inherit_cache = True
    type = UTCDateTime()
    sql, sqlite = "GREATEST({a}, {b})", "max({a}, {b})"


class _Seconds(_Instants):
    """Seconds elapsed from instant ``a`` to instant ``b`` (to about a millisecond)."""

    inherit_cache = True
    type = Float()
    sql, sqlite = "EXTRACT(EPOCH FROM ({b} - {a}))", "((julianday({b}) - julianday({a})) * 86400.0)"


def _surely_within(start: ColumnElement[Any], done: ColumnElement[Any], seconds: int) -> ColumnElement[bool]:
    """Elapsed time certainly within ``seconds`` (a second of margin for the arithmetic); the
    other rows are judged one by one on the working calendar."""
    return _Seconds(start, done) <= seconds - 1


_E = case_events.alias("e")
_e = _E.c


def _events(action: Action, start: datetime, cutoff: datetime, with_case: bool = False) -> Select[Any]:
    """The period's ``action`` events (joined to their cases if asked), no columns yet."""
    source = _E.join(cases, c_.case_no == _e.case_no) if with_case else _E
    return select().select_from(source).where(_e.action == action.value, _e.at >= start, _e.at < cutoff)


def _grouped(bind: Bind, query: Select[Any], *columns: Any) -> list[Any]:
    return list(bind.execute(query.add_columns(*columns, func.count().label("n")).group_by(*columns)))


TIMING = "timing"  # in a grouping set: sure, timed_from, done


def _grouped_events(bind: Bind, query: Select[Any], *columns: Any, sets: Sequence[Sequence[str]] = (),
                    timed: tuple[Any, int] | None = None) -> list[list[Any]]:
    """``query`` with ``columns`` per event, each computed once (a materialized CTE), then
    grouped by each of ``sets`` (column keys; default: all of them) in one statement: the rows
    of each set, every row with all the keys (NULL outside its set) and its count ``n``.
    ``timed`` (the instant an event is timed from, the limit in seconds) adds the keys ``sure``
    (on time by elapsed time alone) and, where not sure, ``timed_from`` and ``done`` (the
    instants the working calendar judges; NULL for the sure rows, which then group together)."""
    extra = [timed[0].label("timed_from"), _e.at.label("done")] if timed else []
    ev = query.add_columns(*columns, *extra).cte("ev").prefix_with("MATERIALIZED")
    keys: dict[str, Any] = {c.key: ev.c[c.key] for c in columns}
    if timed is not None:
        sure = _surely_within(ev.c.timed_from, ev.c.done, timed[1])
        keys.update(sure=sure, timed_from=type_coerce(case((sure, None), else_=ev.c.timed_from), UTCDateTime()),
                    done=type_coerce(case((sure, None), else_=ev.c.done), UTCDateTime()))
    timing = {"sure", "timed_from", "done"}
    chosen = [{k for k in found if k != TIMING} | (timing if TIMING in found else set()) for found in sets] \
        or [set(keys)]
    selects = []
    for i, found in enumerate(chosen):
        grouped = [keys[k].label(k) for k in keys if k in found]
        selects.append(select(literal(i).label("grouping_set"),
                              *[keys[k].label(k) if k in found else cast(null(), keys[k].type).label(k)
                                for k in keys], func.count().label("n")).group_by(*grouped))
    result: list[list[Any]] = [[] for _ in chosen]
    for row in bind.execute(union_all(*selects) if len(selects) > 1 else selects[0]):
        result[row.grouping_set].append(row)
    return result


def _event_unit() -> ColumnElement[Any]:
    return _e.data["unit"].as_string()


def _last(column: str) -> Any:
    """The case's last assignment's ``column``."""
    last = assignments.alias("last")
    return (select(last.c[column]).where(last.c.case_no == _e.case_no)
            .order_by(last.c.seq.desc()).limit(1).correlate(_E).scalar_subquery())


def _ordinal(action: Action) -> Any:
    """How many ``action`` events the case had up to and including this one (the SQL twin of
    :func:`xiuhua.domain.assessment._ordinal`; the two are held equal by the counting tests)."""
    h = case_events.alias("h")
    return (select(func.count()).where(h.c.case_no == _e.case_no, h.c.action == action.value,
                                       h.c.seq <= _e.seq).correlate(_E).scalar_subquery())


def _nth(action: Action, kind: AssignmentKind) -> Any:
    """The seq of the case's ``kind`` assignment ranked as this event among its ``action`` ones
    (the SQL twin of :func:`xiuhua.domain.assessment._nth`)."""
    a, b = assignments.alias("nth"), assignments.alias("nth_before")
    rank = (select(func.count()).where(b.c.case_no == a.c.case_no, b.c.kind == kind.value,
                                       b.c.seq <= a.c.seq).scalar_subquery())
    return (select(a.c.seq).where(a.c.case_no == _e.case_no, a.c.kind == kind.value,
                                  rank == _ordinal(action)).correlate(_E).scalar_subquery())


def _late_handled(unit_code: Any = None) -> Any:
    """The case has an assignment (of ``unit_code`` if given) handled after its deadline."""
    h = assignments.alias("late")
    where = [h.c.case_no == _e.case_no, h.c.ended == AssignmentEnd.HANDLED.value, h.c.ended_at > h.c.deadline]
    if unit_code is not None:
        where.append(h.c.unit_code == unit_code)
    return exists(select(h.c.id).where(*where).correlate(_E))


_PLACES = (c_.grid_code, c_.street_code, c_.community_code)
_PLACE_KEYS = ("grid_code", "street_code", "community_code")
_HANDLED_OR_RETURNED = [AssignmentEnd.HANDLED.value, AssignmentEnd.RETURNED.value]


def _ended(bind: Bind, start: datetime, cutoff: datetime) -> list[Any]:
    query = select().where(a_.ended_at >= start, a_.ended_at < cutoff, a_.ended.in_(_HANDLED_OR_RETURNED))
    return _grouped(bind, query, a_.unit_code, a_.ended, (a_.ended_at <= a_.deadline).label("on_time"))


def _open_at(bind: Bind, start: datetime, t: datetime) -> list[tuple[Assignment, Any]]:
    """The candidates for "overdue at t": assignments of the period not ended before ``t``,
    through two ranges of the ended_at index (ended since, still open); whether they started
    before ``t`` is for :func:`~xiuhua.domain.lifecycle.overdue_at` to say."""
    found = []
    for ended in _not_ended_before(start, t):
        query = select(assignments, *_PLACES).join(cases, c_.case_no == a_.case_no).where(ended)
        found += [(assignment_from_row(r._mapping), r) for r in bind.execute(query)]
    return found


def _not_ended_before(start: datetime, t: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Assignments of a period starting at ``start`` not ended before ``t``: two index ranges."""
    return a_.ended_at >= max(start, t), a_.ended_at.is_(None)


def open_cases(start: datetime, t: datetime) -> CompoundSelect:
    """The cases with an assignment of the period not ended before ``t`` (the only ones that
    can be overdue at ``t``)."""
    return union(*(select(a_.case_no).where(ended) for ended in _not_ended_before(start, t)))


def _dispatch(bind: Bind, start: datetime, cutoff: datetime, limit_seconds: int) -> list[Any]:
    """Timed from filing, or from the last return before the dispatch."""
    r, o = assignments.alias("ret").c, assignments.alias("opened").c
    last_return = (select(func.max(r.ended_at)).where(r.case_no == _e.case_no, r.ended == AssignmentEnd.RETURNED.value,
                                                      r.ended_at <= _e.at).correlate(_E).scalar_subquery())
    filed = func.coalesce(c_.filed_at, c_.reported_at)
    was_returned = (o.case_no == _e.case_no, o.kind == AssignmentKind.DISPATCH.value,
                    o.ended == AssignmentEnd.RETURNED.value, o.ended_at < cutoff)
    returned = and_(exists(select(o.id).where(*was_returned).correlate(_E)),  # rare: ranks only then
                    exists(select(o.id).where(*was_returned, o.seq == _nth(Action.DISPATCH, AssignmentKind.DISPATCH))
                           .correlate(_E)))
    return _grouped_events(bind, _events(Action.DISPATCH, start, cutoff, with_case=True),
                           _event_unit().label("unit"), _e.actor.label("actor"), (~returned).label("not_returned"),
                           timed=(_Greatest(filed, func.coalesce(last_return, filed)), limit_seconds))[0]


def _file(bind: Bind, start: datetime, cutoff: datetime, limit_seconds: int) -> list[list[Any]]:
    """Timed from the report, or from the last on-site verification before filing."""
    v = case_events.alias("verified").c
    last_verify = (select(func.max(v.at)).where(v.case_no == _e.case_no, v.action == Action.VERIFY.value,
                                                v.seq < _e.seq).correlate(_E).scalar_subquery())
    city = func.substr(c_.grid_code, 1, 6, type_=String()).label("city")
    return _grouped_events(bind, _events(Action.FILE, start, cutoff, with_case=True), *_PLACES, city,
                           c_.category_code, _e.actor.label("actor"),
                           sets=(_PLACE_KEYS, ("city", "street_code", "category_code"), ("actor", TIMING)),
                           timed=(_Greatest(c_.reported_at, func.coalesce(last_verify, c_.reported_at)),
                                  limit_seconds))


def _report(bind: Bind, start: datetime, cutoff: datetime) -> list[list[Any]]:
    filed_before = (c_.filed_at < cutoff).label("filed_before")
    invalid_before = and_(c_.cancel_reason == CancelReason.INVALID.value,
                          c_.cancelled_at < cutoff).label("invalid_before")
    return _grouped_events(bind, _events(Action.REPORT, start, cutoff, with_case=True), *_PLACES,
                           _e.actor.label("actor"), c_.source, filed_before, invalid_before,
                           sets=(_PLACE_KEYS, ("actor", "source", "filed_before", "invalid_before")))


def _checks(bind: Bind, start: datetime, cutoff: datetime, limit_seconds: int) -> list[list[Any]]:
    """check_pass judges the case's last assignment; check_fail the one before the rework it
    opened; timed from when that assignment was handled (NULL if there is none)."""
    units: list[Any] = []
    inspectors: list[Any] = []
    for action in (Action.CHECK_PASS, Action.CHECK_FAIL):
        if action is Action.CHECK_PASS:
            unit, fed = _last("unit_code"), _last("ended_at")
        else:
            k = assignments.alias("checked").c
            same = (k.case_no == _e.case_no, k.seq == _nth(Action.CHECK_FAIL, AssignmentKind.REWORK) - 1)
            unit = select(k.unit_code).where(*same).correlate(_E).scalar_subquery()
            fed = select(k.ended_at).where(*same).correlate(_E).scalar_subquery()
        by_unit, by_actor = _grouped_events(bind, _events(action, start, cutoff), _e.action.label("action"),
                                            func.coalesce(unit, _event_unit()).label("unit"), _e.actor.label("actor"),
                                            sets=(("action", "unit"), ("actor", TIMING)),
                                            timed=(type_coerce(fed, UTCDateTime()), limit_seconds))
        units += by_unit
        inspectors += by_actor
    return [units, inspectors]


def _close(bind: Bind, start: datetime, cutoff: datetime) -> list[list[Any]]:
    return _grouped_events(bind, _events(Action.CLOSE, start, cutoff, with_case=True), *_PLACES,
                           (~_late_handled()).label("all_on_time"), _last("unit_code").label("unit"),
                           (~_late_handled(_last("unit_code"))).label("unit_on_time"),
                           sets=((*_PLACE_KEYS, "all_on_time"), ("unit", "unit_on_time")))


def period_counts(bind: Bind, start: datetime, cutoff: datetime, *, dispatch_seconds: int, filing_seconds: int,
                  check_seconds: int) -> PeriodGroups:
    """Everything one period counts, grouped by the database; events in [start, cutoff)."""
    return PeriodGroups(
        ended=_ended(bind, start, cutoff), open_at_end=_open_at(bind, start, cutoff),
        dispatch=_dispatch(bind, start, cutoff, dispatch_seconds),
        filed=_file(bind, start, cutoff, filing_seconds),
        reported=_report(bind, start, cutoff),
        verified=_grouped(bind, _events(Action.VERIFY, start, cutoff), _e.actor),
        checks=_checks(bind, start, cutoff, check_seconds),
        supervised=_grouped(bind, _events(Action.SUPERVISE, start, cutoff), _event_unit().label("unit")),
        rated=_grouped(bind, _events(Action.RATE, start, cutoff), _last("unit_code").label("unit"),
                       _e.data["value"].as_string().label("value")),
        closed=_close(bind, start, cutoff),
    )


def cases_in_district(touched: CompoundSelect, district_code: str) -> Select[Any]:
    """The touched cases located in a district (their grid codes start with its code)."""
    return select(c_.case_no).where(c_.case_no.in_(touched),
                                    c_.grid_code.startswith(district_code, autoescape=True))
