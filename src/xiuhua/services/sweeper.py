"""The deadline sweeper: warns a handling unit and the command center when an open assignment
enters its last working hour, tells both when it is overdue, and passes supervision (督办) on
to the unit. Given the data directory, it also removes orphaned photos every
:data:`PHOTO_SWEEP_EVERY` (``services.photos.sweep_orphans``: never linked within a day, or
files without a row).

:func:`sweep` is a pure function of the database and ``now``; every notification is raised
once (the unique constraint makes a repeated sweep a no-op). :func:`run_sweeper` repeats it in
one process of the whole deployment: the leader holds the ``sweeper`` row of the ``leases``
table, renews it every interval, and a standby takes over only after the lease expired.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Engine, and_, delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xiuhua.domain.calendar import WorkCalendar, local_zone
from xiuhua.domain.choices import Action, AssignmentEnd, Audience, CaseStatus, NoticeKind
from xiuhua.domain.city import UnitInfo
from xiuhua.domain.lifecycle import Assignment, Case, overdue_at
from xiuhua.domain.notices import TargetKind
from xiuhua.domain.taxonomy import ClassKind
from xiuhua.services.metrics import NOTICES, SWEEPS
from xiuhua.services.notifications import Notice, raise_once, raise_or_renew
from xiuhua.services.photos import sweep_orphans
from xiuhua.store import city as city_store
from xiuhua.store.cases import dialect_name, iter_cases
from xiuhua.store.db import transaction
from xiuhua.store.tables import assignments, case_events, cases, leases, notifications

log = logging.getLogger(__name__)

WARN_SECONDS = 3600  # warn within the last working hour before the deadline
SUPERVISE_LOOKBACK = timedelta(days=7)  # supervise events older than this are not passed on
LEASE = "sweeper"
DEFAULT_INTERVAL = 60.0  # seconds between sweeps
PHOTO_SWEEP_EVERY = timedelta(hours=1)  # orphaned photos: a walk over the photo files


@dataclass(frozen=True)
class SweepResult:
    """How many notifications one sweep raised, by kind."""

    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        parts = [f"{NoticeKind(k).label} {v} 条" for k, v in sorted(self.counts.items()) if v]
        return "，".join(parts) if parts else "无新通知"


@dataclass(frozen=True)
class _Names:
    """What messages need: category names, unit names and the calendars."""

    categories: Mapping[str, str]
    units: Mapping[str, UnitInfo]
    calendars: Mapping[str, WorkCalendar]

    def category(self, code: str) -> str:
        return self.categories.get(code, code)

    def unit(self, code: str) -> str:
        info = self.units.get(code)
        return info.name if info else code


def _names(session: Session) -> _Names:
    classes = city_store.load_classes(session)
    return _Names({c.code: c.name for c in classes if c.kind is ClassKind.MATTER},
                  city_store.load_units(session), city_store.load_calendars(session))


def sweep(engine: Engine, now: datetime) -> SweepResult:
    """Raise the warnings, overdue notices and supervision notices due at ``now``."""
    counts: Counter[str] = Counter()
    with transaction(engine) as session:
        names = _names(session)
        for notice in _deadline_notices(session, names, now):
            counts[notice.kind.value] += raise_once(session, notice)
        for notice in _supervise_notices(session, names, now):
            counts[notice.kind.value] += raise_or_renew(session, notice)
    return SweepResult(dict(counts))


# --- warnings and overdue notices -----------------------------------------------------------


def _horizon(calendars: Iterable[WorkCalendar], now: datetime) -> datetime:
    """No deadline at or after this instant is within one working hour of ``now`` on any
    calendar (the hour may span a night, a weekend or a holiday)."""
    ends = [c.add(now, WARN_SECONDS + 1, working=True) for c in calendars]
    return max(ends, default=now + timedelta(days=1))


def _noticed(kind: NoticeKind, audience: Audience) -> Any:
    n, a = notifications.c, assignments.c
    return exists().where(n.target_kind == TargetKind.CASE.value, n.target_id == a.case_no,
                          n.assignment_seq == a.seq,
                          n.kind == kind.value, n.audience == audience.value)


def _candidates(horizon: datetime) -> list[ColumnElement[bool]]:
    """Dispatched cases due before the horizon whose open assignment still lacks an overdue
    notice (``cases.due_at`` is the open, not suspended deadline; it is set only while
    dispatched, which lets the status index narrow the scan)."""
    a = assignments.c
    pending = select(a.case_no).where(
        a.case_no == cases.c.case_no, a.ended == AssignmentEnd.OPEN.value,
        ~and_(_noticed(NoticeKind.OVERDUE, Audience.UNIT),
              _noticed(NoticeKind.OVERDUE, Audience.CENTER)))
    return [cases.c.status == CaseStatus.DISPATCHED.value, cases.c.due_at.is_not(None),
            cases.c.due_at < horizon, exists(pending)]


def _deadline_notices(session: Session, names: _Names, now: datetime) -> list[Notice]:
    horizon = _horizon(names.calendars.values(), now)
    found: list[Notice] = []
    for case in iter_cases(session, *_candidates(horizon)):
        assignment = case.open_assignment
        kind = _deadline_kind(assignment, names.calendars, now) if assignment else None
        if assignment is not None and kind is not None:
            found += [_deadline_notice(case, assignment, kind, audience, names, now)
                      for audience in (Audience.UNIT, Audience.CENTER)]
    return found


def _deadline_kind(assignment: Assignment, calendars: Mapping[str, WorkCalendar],
                   now: datetime) -> NoticeKind | None:
    if overdue_at(assignment, now):
        return NoticeKind.OVERDUE
    calendar = calendars.get(assignment.calendar)
    if calendar is None or assignment.suspended_at is not None or assignment.deadline <= now:
        return None
    left = calendar.counted_seconds(now, assignment.deadline, working=True)
    return NoticeKind.WARNING if left <= WARN_SECONDS else None


def _local(moment: datetime) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def _deadline_notice(case: Case, assignment: Assignment, kind: NoticeKind, audience: Audience,
                     names: _Names, now: datetime) -> Notice:
    what = f"案件 {case.case_no}（{names.category(case.category_code)}）"
    due = _local(assignment.deadline)
    if audience is Audience.CENTER:
        what = f"{names.unit(assignment.unit_code)}承办的{what}"
    if kind is NoticeKind.WARNING:
        message = f"{what}距处置时限不足 1 个工作小时，须于 {due} 前处置完毕"
    else:
        message = f"{what}已超过处置时限（{due}），请尽快处置"
    return Notice.on_case(now, kind, case.case_no, assignment.seq, assignment.unit_code,
                          audience, message)


# --- supervision ----------------------------------------------------------------------------


def _supervise_notices(session: Session, names: _Names, now: datetime) -> list[Notice]:
    """One unit notice per supervise event of the last week (a later supervision of the same
    assignment renews the notice)."""
    e = case_events.c
    events = session.execute(
        select(e.case_no, e.at, e.note, e.data, cases.c.category_code)
        .join(cases, cases.c.case_no == e.case_no)
        .where(e.action == Action.SUPERVISE.value, e.at > now - SUPERVISE_LOOKBACK, e.at <= now)
        .order_by(e.at, e.id)).all()
    seqs = _assignment_seqs(session, {ev.case_no for ev in events})
    found = []
    for ev in events:
        unit = (ev.data or {}).get("unit")
        seq = _seq_at(seqs.get(ev.case_no, []), ev.at)
        if unit and seq is not None:
            note = (ev.note or "").strip() or "请加快处置"
            message = (f"案件 {ev.case_no}（{names.category(ev.category_code)}）被督办："
                       f"{note}")
            found.append(Notice.on_case(ev.at, NoticeKind.SUPERVISE, ev.case_no, seq, unit,
                                        Audience.UNIT, message))
    return found


def _assignment_seqs(session: Session, case_nos: set[str]) -> dict[str, list[tuple[int, datetime]]]:
    a = assignments.c
    found: dict[str, list[tuple[int, datetime]]] = {}
    if case_nos:
        for row in session.execute(select(a.case_no, a.seq, a.started_at)
                                   .where(a.case_no.in_(case_nos)).order_by(a.case_no, a.seq)):
            found.setdefault(row.case_no, []).append((row.seq, row.started_at))
    return found


def _seq_at(seqs: list[tuple[int, datetime]], at: datetime) -> int | None:
    """The assignment the case was under at ``at`` (the last one started by then)."""
    started = [seq for seq, start in seqs if start <= at]
    return started[-1] if started else None


# --- one runner: the lease ------------------------------------------------------------------


def new_holder() -> str:
    """host:pid:random — unique for each running sweeper."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[-100:]


def acquire_lease(engine: Engine, holder: str, now: datetime, ttl: timedelta,
                  name: str = LEASE) -> bool:
    """Take or renew the lease: it is granted when free, expired or already ours — in one
    statement (insert, or update only under that condition), atomic on both backends."""
    with transaction(engine) as session:
        insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
        stmt = insert(leases).values(name=name, holder=holder, expires_at=now + ttl)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(leases.c.expires_at < now) | (leases.c.holder == stmt.excluded.holder))
        session.execute(stmt)
        current = session.execute(select(leases.c.holder).where(leases.c.name == name)).scalar()
    return bool(current == holder)


def release_lease(engine: Engine, holder: str, name: str = LEASE) -> None:
    """Give the lease up (on shutdown) so that a standby takes over at once."""
    with transaction(engine) as session:
        session.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


class StopEvent(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def run_sweeper(engine: Engine, clock: Callable[[], datetime], interval: float,
                stop_event: StopEvent, *, ttl: timedelta | None = None,
                holder: str | None = None,
                on_sweep: Callable[[str, SweepResult], None] | None = None,
                data_dir: Path | None = None) -> None:
    """Sweep every ``interval`` seconds while this process holds the lease, until stopped;
    with ``data_dir``, orphaned photos too, every :data:`PHOTO_SWEEP_EVERY`.

    The lease lasts ``ttl`` (default: three intervals, at least 30 s), so a standby takes over
    that long after the leader died. Errors are logged and the loop goes on."""
    holder = holder or new_holder()
    ttl = ttl or timedelta(seconds=max(3 * interval, 30.0))
    photos = _PhotoSweep(engine, data_dir) if data_dir is not None else None
    try:
        while not stop_event.is_set():
            if _sweep_if_leader(engine, clock, holder, ttl, on_sweep) and photos is not None:
                photos.maybe(clock())
            stop_event.wait(interval)
    finally:
        try:
            release_lease(engine, holder)
        except Exception:  # pragma: no cover - the database went away at shutdown
            log.exception("sweeper: could not release the lease")


def _sweep_if_leader(engine: Engine, clock: Callable[[], datetime], holder: str,
                     ttl: timedelta, on_sweep: Callable[[str, SweepResult], None] | None) -> bool:
    """One sweep if this process holds the lease; whether it does."""
    try:
        now = clock()
        if not acquire_lease(engine, holder, now, ttl):
            SWEEPS.labels("standby").inc()
            return False
        result = sweep(engine, now)
        SWEEPS.labels("swept").inc()
        for kind, count in result.counts.items():
            NOTICES.labels(kind).inc(count)
        if result.total:
            log.info("sweeper %s: %s", holder, result)
        if on_sweep is not None:
            on_sweep(holder, result)
    except Exception:
        SWEEPS.labels("failed").inc()
        log.exception("sweeper %s: sweep failed", holder)
        return False
    return True


@dataclass
class _PhotoSweep:
    """The orphaned photos' sweep, at most every :data:`PHOTO_SWEEP_EVERY`."""

    engine: Engine
    data_dir: Path
    last: datetime | None = None

    def maybe(self, now: datetime) -> None:
        if self.last is not None and now - self.last < PHOTO_SWEEP_EVERY:
            return
        self.last = now
        try:
            removed = sweep_orphans(self.engine, self.data_dir, now)
        except Exception:
            log.exception("sweeper: photo sweep failed")
            return
        if removed.photos or removed.files:
            log.info("sweeper: removed %d orphaned photos, %d files", removed.photos,
                     removed.files)
