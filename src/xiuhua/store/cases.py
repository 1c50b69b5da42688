"""Cases, their events, assignments and inspector tasks: the one mapping between the
:class:`~xiuhua.domain.lifecycle.Case` aggregate and its rows, for single saves and bulk loads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Connection,
    Dialect,
    Table,
    and_,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xiuhua.domain.choices import (
    Action,
    AssignmentEnd,
    AssignmentKind,
    CancelReason,
    CaseStatus,
    Rating,
    Source,
    TaskKind,
)
from xiuhua.domain.errors import NotFound, StaleVersion
from xiuhua.domain.lifecycle import Assignment, Case, Event, InspectorTask, Location
from xiuhua.store.db import dumps_json
from xiuhua.store.tables import (
    assignments,
    case_events,
    case_serials,
    cases,
    inspector_tasks,
)

if TYPE_CHECKING:
    import psycopg

Row = dict[str, Any]
Bind = Session | Connection


def dialect_name(bind: Bind) -> str:
    return bind.dialect.name if isinstance(bind, Connection) else bind.get_bind().dialect.name


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _same(value: Any) -> Any:
    return value


# The columns of each table a case writes, in the order of the ``*_values`` functions below.
CASE_COLUMNS = ("case_no", "status", "version", "source", "category_code", "urgency", "lon", "lat",
                "grid_code", "community_code", "street_code", "address", "description",
                "component_code", "reporter_name", "reporter_phone", "photos", "reported_at",
                "filed_at", "closed_at", "cancelled_at", "cancel_reason", "duplicate_of",
                "rating", "updated_at", "holder_unit", "due_at")
EVENT_COLUMNS = ("case_no", "seq", "action", "at", "actor", "note", "photos", "data")
ASSIGNMENT_COLUMNS = ("case_no", "seq", "unit_code", "kind", "started_at", "limit_text",
                      "calendar", "deadline", "ended", "ended_at", "suspended_at",
                      "remaining_seconds", "extension_requested", "suspension_requested",
                      "deadline_log")
TASK_COLUMNS = ("case_no", "seq", "kind", "inspector", "opened_at", "deadline", "done_at",
                "result")
Convert = Callable[[Any], Any]


def case_values(case: Case, dt: Convert = _same, js: Convert = _same) -> tuple[Any, ...]:
    """The ``cases`` row of ``case`` (:data:`CASE_COLUMNS`), its datetimes passed through
    ``dt`` and its JSON values through ``js`` (identity: the values SQLAlchemy binds)."""
    loc = case.location
    open_a = case.open_assignment
    return (
        case.case_no, case.status.value, case.version, case.source.value, case.category_code,
        case.urgency, loc.lon if loc else None, loc.lat if loc else None,
        loc.grid_code if loc else None, loc.community_code if loc else None,
        loc.street_code if loc else None, case.address, case.description,
        case.component_code, case.reporter_name, case.reporter_phone, js(list(case.photos)),
        dt(case.reported_at), dt(case.filed_at), dt(case.closed_at), dt(case.cancelled_at),
        case.cancel_reason.value if case.cancel_reason else None, case.duplicate_of,
        case.rating.value if case.rating else None, dt(case.updated_at), case.holder,
        dt(open_a.deadline) if open_a and open_a.suspended_at is None else None,
    )


def event_values(case_no: str, e: Event, dt: Convert = _same, js: Convert = _same) -> tuple[Any, ...]:
    return (case_no, e.seq, e.action.value, dt(e.at), e.actor, e.note, js(list(e.photos)),
            js(dict(e.data)))


def assignment_values(case_no: str, a: Assignment, dt: Convert = _same,
                      js: Convert = _same) -> tuple[Any, ...]:
    return (case_no, a.seq, a.unit_code, a.kind.value, dt(a.started_at), a.limit, a.calendar,
            dt(a.deadline), a.ended.value, dt(a.ended_at), dt(a.suspended_at),
            a.remaining_seconds, a.extension_requested, a.suspension_requested,
            js([[_iso(s), _iso(d)] for s, d in a.deadline_log]))


def task_values(case_no: str, t: InspectorTask, dt: Convert = _same,
                js: Convert = _same) -> tuple[Any, ...]:
    return (case_no, t.seq, t.kind.value, t.inspector, dt(t.opened_at), dt(t.deadline),
            dt(t.done_at), t.result)


def case_row(case: Case) -> Row:
    return dict(zip(CASE_COLUMNS, case_values(case), strict=True))


def event_row(case_no: str, e: Event) -> Row:
    return dict(zip(EVENT_COLUMNS, event_values(case_no, e), strict=True))


def assignment_row(case_no: str, a: Assignment) -> Row:
    return dict(zip(ASSIGNMENT_COLUMNS, assignment_values(case_no, a), strict=True))


def task_row(case_no: str, t: InspectorTask) -> Row:
    return dict(zip(TASK_COLUMNS, task_values(case_no, t), strict=True))


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def case_from_rows(row: Any, event_rows: Sequence[Any], assignment_rows: Sequence[Any],
                   task_rows: Sequence[Any]) -> Case:
    m = row._mapping if hasattr(row, "_mapping") else row
    location = None
    if m["grid_code"] is not None:
        location = Location(lon=m["lon"], lat=m["lat"], grid_code=m["grid_code"],
                            community_code=m["community_code"] or "",
                            street_code=m["street_code"] or "")
    return Case(
        case_no=m["case_no"], source=Source(m["source"]), category_code=m["category_code"],
        urgency=m["urgency"], reported_at=m["reported_at"], status=CaseStatus(m["status"]),
        version=m["version"], location=location, address=m["address"],
        description=m["description"], component_code=m["component_code"],
        reporter_name=m["reporter_name"], reporter_phone=m["reporter_phone"],
        photos=tuple(m["photos"] or ()), filed_at=m["filed_at"], closed_at=m["closed_at"],
        cancelled_at=m["cancelled_at"],
        cancel_reason=CancelReason(m["cancel_reason"]) if m["cancel_reason"] else None,
        duplicate_of=m["duplicate_of"],
        rating=Rating(m["rating"]) if m["rating"] else None, updated_at=m["updated_at"],
        assignments=[assignment_from_row(r._mapping) for r in assignment_rows],
        tasks=[_task(r._mapping) for r in task_rows],
        events=[_event(r._mapping) for r in event_rows],
    )


def _event(m: Any) -> Event:
    return Event(seq=m["seq"], action=Action(m["action"]), at=m["at"], actor=m["actor"],
                 note=m["note"], photos=tuple(m["photos"] or ()), data=dict(m["data"] or {}))


def assignment_from_row(m: Any) -> Assignment:
    """An :class:`Assignment` from the mapping of an ``assignments`` row."""
    log: list[tuple[datetime, datetime | None]] = []
    for since, deadline in m["deadline_log"] or []:
        start = _dt(since)
        if start is not None:
            log.append((start, _dt(deadline)))
    return Assignment(
        seq=m["seq"], unit_code=m["unit_code"], kind=AssignmentKind(m["kind"]),
        started_at=m["started_at"], limit=m["limit_text"], calendar=m["calendar"],
        deadline=m["deadline"], ended=AssignmentEnd(m["ended"]), ended_at=m["ended_at"],
        suspended_at=m["suspended_at"], remaining_seconds=m["remaining_seconds"],
        extension_requested=m["extension_requested"],
        suspension_requested=m["suspension_requested"], deadline_log=log,
    )


def _task(m: Any) -> InspectorTask:
    return InspectorTask(seq=m["seq"], kind=TaskKind(m["kind"]), inspector=m["inspector"],
                         opened_at=m["opened_at"], deadline=m["deadline"],
                         done_at=m["done_at"], result=m["result"])


# --- reading ------------------------------------------------------------------------------


def load_case(bind: Bind, case_no: str) -> Case:
    row = bind.execute(select(cases).where(cases.c.case_no == case_no)).first()
    if row is None:
        raise NotFound(f"案件“{case_no}”不存在", code="case_not_found")
    return case_from_rows(
        row,
        bind.execute(select(case_events).where(case_events.c.case_no == case_no)
                     .order_by(case_events.c.seq)).all(),
        bind.execute(select(assignments).where(assignments.c.case_no == case_no)
                     .order_by(assignments.c.seq)).all(),
        bind.execute(select(inspector_tasks).where(inspector_tasks.c.case_no == case_no)
                     .order_by(inspector_tasks.c.seq)).all(),
    )


def _children(bind: Bind, table: Any, case_nos: list[str]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    rows = bind.execute(select(table).where(table.c.case_no.in_(case_nos))
                        .order_by(table.c.case_no, table.c.seq))
    for r in rows:
        grouped[r.case_no].append(r)
    return grouped


def iter_cases(bind: Bind, *conditions: Any, batch: int = 2000) -> Iterator[Case]:
    """All cases matching ``conditions``, in case-number order, loaded in batches."""
    after = ""
    while True:
        rows = bind.execute(select(cases).where(cases.c.case_no > after, *conditions)
                            .order_by(cases.c.case_no).limit(batch)).all()
        if not rows:
            return
        nos = [r.case_no for r in rows]
        evs = _children(bind, case_events, nos)
        asg = _children(bind, assignments, nos)
        tsk = _children(bind, inspector_tasks, nos)
        for r in rows:
            yield case_from_rows(r, evs[r.case_no], asg[r.case_no], tsk[r.case_no])
        after = nos[-1]


def existing_case_nos(bind: Bind, case_nos: Iterable[str]) -> set[str]:
    found: set[str] = set()
    chunk: list[str] = []
    for no in case_nos:
        chunk.append(no)
        if len(chunk) == 500:
            found |= set(bind.execute(select(cases.c.case_no).where(cases.c.case_no.in_(chunk)))
                         .scalars())
            chunk = []
    if chunk:
        found |= set(bind.execute(select(cases.c.case_no).where(cases.c.case_no.in_(chunk)))
                     .scalars())
    return found


# --- writing ------------------------------------------------------------------------------


# The rows of one case, its values as their columns bind them: cases, events, assignments, tasks.
CaseRows = tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def case_rows(case: Case, dialect: str) -> CaseRows:
    """The rows :func:`insert_case_rows` stores for ``case`` on ``dialect`` ("sqlite" or
    "postgresql"): plain tuples (an import builds them in worker processes)."""
    dt, js, no = (_sqlite_datetimes() if dialect == "sqlite" else _utc), dumps_json, case.case_no
    return (case_values(case, dt, js), [event_values(no, e, dt, js) for e in case.events],
            [assignment_values(no, a, dt, js) for a in case.assignments],
            [task_values(no, t, dt, js) for t in case.tasks])


def insert_cases(bind: Bind, batch: Sequence[Case], chunk: int = 5000) -> None:
    """Bulk insert complete new cases (import, demo, a new report): a few driver-level
    statements per table and chunk (executemany, or COPY for large batches on PostgreSQL)."""
    dialect = dialect_name(bind)
    for i in range(0, len(batch), chunk):
        insert_case_rows(bind, [case_rows(c, dialect) for c in batch[i:i + chunk]])


def insert_case_rows(bind: Bind, batch: Sequence[CaseRows]) -> None:
    """Insert the rows of new cases (:func:`case_rows`), one statement per table: the rows are
    tuples with each value already as its column type binds it (aware datetimes to UTC, JSON
    to text), so the stored values are those of ``insert(table)`` without SQLAlchemy's per-row
    work."""
    conn = bind if isinstance(bind, Connection) else bind.connection()
    _insert_values(conn, cases, CASE_COLUMNS, [rows[0] for rows in batch])
    _insert_values(conn, case_events, EVENT_COLUMNS, [r for rows in batch for r in rows[1]])
    _insert_values(conn, assignments, ASSIGNMENT_COLUMNS, [r for rows in batch for r in rows[2]])
    _insert_values(conn, inspector_tasks, TASK_COLUMNS, [r for rows in batch for r in rows[3]])


BULK_CACHE_KIB = 512 * 1024  # SQLite page cache of a bulk load


@contextmanager
def bulk_load(bind: Bind) -> Iterator[None]:
    """Settings of the connection for a bulk load, restored after it. SQLite: a page cache
    large enough to hold the indexes being filled, so that their pages are not spilt to the
    journal and read back again in the middle of the transaction."""
    conn = bind if isinstance(bind, Connection) else bind.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -2000)}")


COPY_FROM = 100  # rows: PostgreSQL takes a batch at least this large through COPY


def _insert_values(conn: Connection, table: Table, keys: Sequence[str],
                   values: list[tuple[Any, ...]]) -> None:
    """The rows to the driver's executemany or, for a large batch on PostgreSQL, to COPY."""
    if not values:
        return
    if conn.dialect.name == "postgresql" and len(values) >= COPY_FROM:
        _copy(conn, table, keys, values)
    else:
        conn.exec_driver_sql(_insert_sql(conn.dialect, table, keys), values)


def _utc(value: datetime | None) -> datetime | None:
    """An aware datetime in UTC, as :class:`UTCDateTime` binds it on PostgreSQL."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ValueError("naive datetime cannot be stored")
    return value.astimezone(UTC)


def _sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores for a :class:`UTCDateTime`: naive UTC with
    microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime cannot be stored")
    utc = _NAIVE_EPOCH + (value - _EPOCH)  # naive UTC: formatted 3x faster than an aware one
    text = utc.isoformat(" ")
    return text if utc.microsecond else f"{text}.000000"


_EPOCH, _NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1)


def _sqlite_datetimes() -> Convert:
    """:func:`_sqlite_datetime` remembering its texts: a case's instants recur in its rows (an
    event's time starts an assignment, ends a task, updates the case)."""
    texts: dict[datetime, str | None] = {}

    def convert(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = texts.get(value)
        if text is None:
            text = texts[value] = _sqlite_datetime(value)
        return text

    return convert


def _columns_sql(dialect: Dialect, table: Table, keys: Sequence[str]) -> str:
    quote = dialect.identifier_preparer.quote
    return f"{quote(table.name)} ({', '.join(quote(k) for k in keys)})"


def _insert_sql(dialect: Dialect, table: Table, keys: Sequence[str]) -> str:
    mark = "?" if dialect.name == "sqlite" else "%s"
    return (f"INSERT INTO {_columns_sql(dialect, table, keys)} "
            f"VALUES ({', '.join([mark] * len(keys))})")


def _copy(conn: Connection, table: Table, keys: Sequence[str],
          values: Iterable[tuple[Any, ...]]) -> None:
    """COPY ... FROM STDIN through psycopg, in the transaction of ``conn``."""
    raw = cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)
    with raw.cursor() as cursor, \
            cursor.copy(f"COPY {_columns_sql(conn.dialect, table, keys)} FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def save_case(bind: Bind, case: Case, loaded_version: int, loaded_events: int) -> None:
    """Persist what an action changed, refusing if someone else saved the case meanwhile."""
    if loaded_version == 0:
        insert_cases(bind, [case])
        return
    result = bind.execute(update(cases).where(and_(cases.c.case_no == case.case_no,
                                                   cases.c.version == loaded_version))
                          .values(case_row(case)))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleVersion("案件已被他人更新，请刷新后重试")
    new_events = [event_row(case.case_no, e) for e in case.events[loaded_events:]]
    if new_events:
        bind.execute(insert(case_events), new_events)
    _upsert_children(bind, assignments, [assignment_row(case.case_no, a) for a in case.assignments])
    _upsert_children(bind, inspector_tasks, [task_row(case.case_no, t) for t in case.tasks])


def _upsert_children(bind: Bind, table: Any, rows: list[Row]) -> None:
    if not rows:
        return
    case_no = rows[0]["case_no"]
    have = set(bind.execute(select(table.c.seq).where(table.c.case_no == case_no)).scalars())
    fresh = [r for r in rows if r["seq"] not in have]
    for r in rows:
        if r["seq"] in have:
            bind.execute(update(table).where(and_(table.c.case_no == case_no,
                                                  table.c.seq == r["seq"])).values(r))
    if fresh:
        bind.execute(insert(table), fresh)


# --- case numbers -------------------------------------------------------------------------


def _ensure_counter(bind: Bind, day: str) -> None:
    if bind.execute(select(case_serials.c.day).where(case_serials.c.day == day)).first():
        return
    used = bind.execute(select(func.max(cases.c.case_no))
                        .where(cases.c.case_no.like(f"{day}%"))).scalar()
    start = int(used[8:]) if used else 0
    dialect_insert = pg_insert if dialect_name(bind) == "postgresql" else sqlite_insert
    bind.execute(dialect_insert(case_serials).values(day=day, last=start)
                 .on_conflict_do_nothing(index_elements=["day"]))


# Built once: numbering runs on every report, and building these costs more than running them.
_NEXT_SERIAL = (update(case_serials).where(case_serials.c.day == bindparam("serial_day"))
                .values(last=case_serials.c.last + 1).returning(case_serials.c.last))
_SET_SERIAL = (update(case_serials).where(case_serials.c.day == bindparam("serial_day"))
               .values(last=bindparam("serial_last")))
_CASE_NO_USED = select(cases.c.case_no).where(cases.c.case_no == bindparam("case_no_used"))


def next_case_no(bind: Bind, day: str) -> str:
    """``YYYYMMDD`` + 6-digit daily serial; unique under concurrency, skipping used numbers.

    The counter row is updated in the caller's transaction, so concurrent reporters serialise
    on it (row lock on PostgreSQL, the write lock on SQLite) until they commit."""
    current = bind.execute(_NEXT_SERIAL, {"serial_day": day}).scalar()
    if current is None:  # the day's first number
        _ensure_counter(bind, day)
        current = bind.execute(_NEXT_SERIAL, {"serial_day": day}).scalar_one()
    while bind.execute(_CASE_NO_USED, {"case_no_used": f"{day}{current:06d}"}).first():
        current += 1
        bind.execute(_SET_SERIAL, {"serial_day": day, "serial_last": current})
    if current > 999999:
        raise StaleVersion(f"{day} 的案件编号已用尽", code="case_numbers_exhausted")
    return f"{day}{current:06d}"
