"""The leaders' dashboard (领导驾驶舱): today's and this month's counts, where this month's cases
stand (a funnel), the last 30 days' trend, top categories, the units' on-time rates, hotspots
and blind spots — every figure from :mod:`xiuhua.store.dashboard`, whose queries are bounded by
time or open state on indexed columns.

Definitions (all times in Asia/Shanghai; "today" and "this month" run up to ``now``):

- ``reported`` / ``closed``: cases reported / closed in the range; ``filed`` / ``dispatched``:
  ``file`` / ``dispatch`` events in it; ``overdue``: cases overdue at ``now`` whose deadline
  passed in the range (``overdue_now``: all cases overdue at ``now``);
- funnel: the cases reported this month, by the furthest stage they have reached now;
- units' on-time rate: the assessment's ``on_time_rate`` of this month as it stands at ``now``
  (:func:`xiuhua.domain.assessment.unit_rates` over ``handled_on_time`` and
  ``due = handled + overdue_unhandled``), counted in SQL by the store's twins of
  ``Assignment.on_time`` and ``overdue_at`` — the figures the month's assessment shows (a test
  holds them equal);
- hotspots: the grids with most cases reported this month;
- blind spots: grids where, in the last 30 days, no case was reported and no inspector verified
  (核实) or checked (核查) a case — the events that put an inspector in a grid (patrols are not
  recorded otherwise).

Cost: each whole past day, and each of today's whole past hours, is counted once
(:class:`Days`, kept in memory per database), so a build reads the rows of the hour under way
(and of a window's first, partial hour), the open and cancelled cases of the month and the
writes since the last build, whatever the size of the history. Figures are kept for
:data:`CACHE_SECONDS` (the page polls at that pace), so a busy city's leaders share one
computation.
"""

from __future__ import annotations

import threading
import time as monotonic
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiuhua.domain.assessment import (
    UNIT_MEASURES,
    Measure,
    Period,
    month_label,
    unit_rates,
)
from xiuhua.domain.calendar import day_start, local_day, local_zone
from xiuhua.domain.choices import Action, CaseStatus, RegionLevel
from xiuhua.domain.city import City
from xiuhua.services.assessment import listed_units
from xiuhua.store import dashboard as store
from xiuhua.store.cases import dialect_name
from xiuhua.store.city import user_names

TREND_DAYS = 30
BLIND_DAYS = 30
TOP_CATEGORIES = 10
HOTSPOTS = 10
BLIND_LISTED = 100
CACHE_SECONDS = 30.0
COUNTS = ("reported", "filed", "dispatched", "closed", "overdue")

S = CaseStatus
# funnel stage -> (label, statuses that have reached it; None: counted by filed_at)
FUNNEL: tuple[tuple[str, str, frozenset[CaseStatus] | None], ...] = (
    ("reported", "上报", frozenset(S)),
    ("filed", "立案", None),
    ("dispatched", "派遣", frozenset({S.DISPATCHED, S.SUSPENDED, S.HANDLED, S.CHECKED, S.CLOSED})),
    ("handled", "处置反馈", frozenset({S.HANDLED, S.CHECKED, S.CLOSED})),
    ("checked", "核查通过", frozenset({S.CHECKED, S.CLOSED})),
    ("closed", "结案", frozenset({S.CLOSED})),
)


@dataclass(frozen=True)
class Tally:
    """What happened in a time range: the counts, and the groups the dashboard ranks."""

    reported: int = 0
    filed: int = 0
    dispatched: int = 0
    closed: int = 0
    categories: Mapping[str, int] = field(default_factory=dict)  # filed, by category
    grids: Mapping[str, int] = field(default_factory=dict)  # reported, by grid
    patrolled: frozenset[str] = frozenset()  # grids an inspector verified or checked in
    units: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # handled, on time

    @staticmethod
    def total(tallies: Iterable[Tally]) -> Tally:
        counts = [0, 0, 0, 0]
        categories: Counter[str] = Counter()
        grids: Counter[str] = Counter()
        patrolled: set[str] = set()
        units: dict[str, list[int]] = {}
        for t in tallies:
            for i, n in enumerate((t.reported, t.filed, t.dispatched, t.closed)):
                counts[i] += n
            categories.update(t.categories)
            grids.update(t.grids)
            patrolled |= t.patrolled
            for code, (n, on_time) in t.units.items():
                had = units.setdefault(code, [0, 0])
                had[0] += n
                had[1] += on_time
        reported, filed, dispatched, closed = counts
        return Tally(reported, filed, dispatched, closed, dict(categories), dict(grids),
                     frozenset(patrolled), {code: (n, on_time) for code, (n, on_time) in units.items()})


def tally(session: Session, start: datetime, end: datetime) -> Tally:
    """Count [start, end) live (index ranges of that time range)."""
    if start >= end:
        return Tally()
    bounds = [(start, end)]
    return Tally(
        reported=store.reported(session, bounds)[0],
        filed=store.actions(session, Action.FILE, bounds)[0],
        dispatched=store.actions(session, Action.DISPATCH, bounds)[0],
        closed=store.closed(session, bounds)[0],
        categories=store.filed_categories(session, start, end),
        grids=store.grid_reports(session, start, end),
        patrolled=frozenset(store.patrolled_grids(session, start, end)),
        units=store.unit_handled(session, start, end))


Block = tuple[datetime, datetime]  # [start, end): a whole local day, or a whole hour


def hour_start(moment: datetime) -> datetime:
    return moment.astimezone(local_zone()).replace(minute=0, second=0, microsecond=0)


class Days:
    """The tallies of whole past days, and of today's whole past hours (Asia/Shanghai), each
    counted once from its index ranges and kept, so a build counts live only the hour under
    way (and the first, partial hour of a window), whatever the size of the history and of a
    busy day; read through :meth:`view`.

    A kept block is counted again when a write changes it. Writes are seen in the case events
    stored since the last look (a range of the primary key): an event dated in the block (a
    late write, an import), or a report, amendment or verification (which may change the
    case's grid or category) of a case reported before the event: then every block from its
    report to the event is forgotten. On PostgreSQL an event id can become visible after a
    larger one (transactions commit out of order), so the ids of the last
    :data:`RESCAN_SECONDS` are looked at again; SQLite's writers are serialised and its ids
    appear in order. One view at a time, so a block is never kept from a snapshot older than
    the last look.
    """

    RESCAN_SECONDS = 3600.0
    KEEP_DAYS = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blocks: dict[Block, Tally] = {}
        self._sums: dict[tuple[Block, ...], Tally] = {}  # of runs of kept blocks
        self._marks: deque[tuple[float, int]] = deque()  # (monotonic time, last event id seen)
        self._done: set[int] = set()  # ids of past changes already applied (PostgreSQL)

    @contextmanager
    def view(self, session: Session, now: datetime) -> Iterator[DayView]:
        """The kept blocks brought up to date with the session's snapshot (and kept from it)."""
        with self._lock:
            keep = self._refresh(session)
            oldest = day_start(local_day(now) - timedelta(days=self.KEEP_DAYS))
            self._drop([b for b in self._blocks if b[0] < oldest])
            if keep:
                yield DayView(self._blocks, self._sums, session, hour_start(now))
            else:
                yield DayView(dict(self._blocks), {}, session, hour_start(now))

    def _refresh(self, session: Session) -> bool:
        """Forget the kept blocks that writes since the last look have changed; False when the
        session's snapshot is older than the last look (its blocks are then not kept)."""
        last = store.last_event_id(session)
        clock = monotonic.monotonic()
        if self._marks and last < self._marks[-1][1]:
            return False
        if self._marks and self._blocks:
            lag = 0.0 if dialect_name(session) == "sqlite" else self.RESCAN_SECONDS
            while len(self._marks) > 1 and self._marks[1][0] <= clock - lag:
                self._marks.popleft()
            before = max(end for _, end in self._blocks)
            for row in store.past_changes(session, self._marks[0][1], last, before):
                if row.id not in self._done:
                    self._forget(row)
                    self._done.add(row.id)
        self._marks.append((clock, last))
        self._done = {i for i in self._done if i > self._marks[0][1]}
        return True

    def _forget(self, row: Any) -> None:
        first = row.at
        if row.action in (Action.AMEND.value, Action.VERIFY.value, Action.REPORT.value):
            first = min(row.reported_at, row.at)
        self._drop([b for b in self._blocks if b[0] <= row.at and first < b[1]])

    def _drop(self, blocks: list[Block]) -> None:
        for block in blocks:
            del self._blocks[block]
        if blocks:
            self._sums.clear()


@dataclass(frozen=True)
class DayView:
    """Tallies of whole past days and hours as kept (counted and kept when missing), the rest
    live; blocks end by ``hour`` (the start of the hour under way)."""

    kept: dict[Block, Tally]
    sums: dict[tuple[Block, ...], Tally]
    session: Session
    hour: datetime

    def block(self, start: datetime, end: datetime) -> Tally:
        """The tally of a whole past day or hour."""
        found = self.kept.get((start, end))
        if found is None:
            found = self.kept[start, end] = tally(self.session, start, end)
            self.sums.clear()
        return found

    def day(self, day: date) -> Tally:
        """The tally of a whole day before today."""
        return self.block(day_start(day), day_start(day + timedelta(days=1)))

    def blocks(self, start: datetime, end: datetime) -> tuple[list[Block], Block, Block]:
        """[start, end) as a live head (to the first whole hour), whole days or hours ending by
        :attr:`hour`, and a live tail."""
        first = hour_start(start)
        first += timedelta(hours=0 if first == start else 1)
        last = min(max(hour_start(end), first), self.hour)
        found: list[Block] = []
        at = first
        while at < last:
            day_end = day_start(local_day(at) + timedelta(days=1))
            step = day_end if at == day_start(local_day(at)) and day_end <= last else at + timedelta(hours=1)
            found.append((at, step))
            at = step
        if first >= end or not found:
            return [], (start, end), (end, end)
        return found, (start, first), (last, end)

    def between(self, start: datetime, end: datetime) -> Tally:
        """The tally of [start, end): whole days and hours as kept, the rest live."""
        whole, head, tail = self.blocks(start, end)
        key = tuple(whole)
        if whole and key not in self.sums:
            self.sums[key] = Tally.total(self.block(*b) for b in whole)
        return Tally.total([tally(self.session, *head), self.sums.get(key, Tally()),
                            tally(self.session, *tail)])


_DAYS: weakref.WeakKeyDictionary[Engine, Days] = weakref.WeakKeyDictionary()
_DAYS_LOCK = threading.Lock()


def days_of(session: Session) -> Days:
    """The kept days of the session's database (one set per engine)."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _DAYS_LOCK:
        found = _DAYS.get(engine)
        if found is None:
            found = _DAYS[engine] = Days()
        return found


def counts(session: Session, now: datetime, found: Tally, start: datetime) -> dict[str, int]:
    """Each count of :data:`COUNTS` in [start, now) from its tally."""
    return {"reported": found.reported, "filed": found.filed, "dispatched": found.dispatched,
            "closed": found.closed, "overdue": store.overdue_since(session, now, [(start, now)])[0]}


def funnel(session: Session, start: datetime, now: datetime, reported: int) -> list[dict[str, Any]]:
    """The stages reached by the ``reported`` cases reported in [start, now): counted for the
    open and cancelled ones (bounded by the open cases and the cancellations), the closed are
    the rest; every status but ``reported`` and ``cancelled`` has been filed."""
    found = store.status_counts(session, [s for s in S if s is not S.CLOSED], start, now)
    found[S.CLOSED.value] = reported - sum(found.values())
    filed = (sum(n for status, n in found.items() if status not in (S.REPORTED, S.CANCELLED))
             + store.cancelled_filed(session, start, now))
    stages = []
    for key, label, statuses in FUNNEL:
        n = filed if statuses is None else sum(found[status.value] for status in statuses)
        stages.append({"stage": key, "label": label, "count": n})
    return stages


def trend(days: DayView, today: date, so_far: Tally) -> dict[str, Any]:
    dates = [today - timedelta(days=i) for i in range(TREND_DAYS - 1, -1, -1)]
    tallies = [days.day(d) for d in dates[:-1]] + [so_far]
    return {"days": [d.isoformat() for d in dates], "reported": [t.reported for t in tallies],
            "closed": [t.closed for t in tallies]}


def top_categories(city: City, found: Tally) -> list[dict[str, Any]]:
    names = {c.code: c.name for c in city.taxonomy.matters()}
    top = sorted(found.categories.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]
    return [{"category_code": code, "name": names.get(code, code), "filed": n} for code, n in top]


def unit_on_time(session: Session, city: City, handled: Mapping[str, tuple[int, int]],
                 now: datetime) -> list[dict[str, Any]]:
    """Each unit with something due this month: the assessment's counts and on-time rate as
    they stand at ``now`` (``handled``: in the month, on time; overdue now), the best rate first."""
    names = listed_units(city)
    late = store.unit_overdue(session, now)
    rows = []
    for code in sorted(set(handled) | set(late)):
        n, on_time = handled.get(code, (0, 0))
        measured = {**dict.fromkeys(UNIT_MEASURES, 0), Measure.HANDLED: n, Measure.HANDLED_ON_TIME: on_time,
                    Measure.OVERDUE_UNHANDLED: late.get(code, 0)}
        measured[Measure.DUE] = measured[Measure.HANDLED] + measured[Measure.OVERDUE_UNHANDLED]
        rows.append({"unit_code": code, "unit_name": names.get(code) or unit_label(city, code),
                     **{m.value: measured[m] for m in (Measure.HANDLED, Measure.HANDLED_ON_TIME,
                                                       Measure.OVERDUE_UNHANDLED, Measure.DUE)},
                     "on_time_rate": float(unit_rates(measured)["on_time_rate"] or 0)})
    return sorted(rows, key=lambda r: (-r["on_time_rate"], -r["due"], r["unit_code"]))


def unit_label(city: City, code: str) -> str:
    unit = city.units.get(code)
    return unit.name if unit is not None else code


def _grid(city: City, code: str) -> dict[str, Any]:
    info = city.regions.get(code)
    parent = city.regions.get(info.parent_code) if info and info.parent_code else None
    return {"grid_code": code, "name": info.name if info else code,
            "community": parent.name if parent else ""}


def hotspots(city: City, found: Tally) -> list[dict[str, Any]]:
    top = sorted(found.grids.items(), key=lambda kv: (-kv[1], kv[0]))[:HOTSPOTS]
    return [{**_grid(city, code), "reported": n} for code, n in top]


def blind_spots(session: Session, city: City, window: Tally) -> dict[str, Any]:
    """Grids with no report and no inspector verification or check in the last 30 days
    (``window``)."""
    active = set(window.grids) | window.patrolled
    blind = sorted(code for code, r in city.regions.items()
                   if r.level is RegionLevel.GRID and code not in active)
    listed = blind[:BLIND_LISTED]
    logins = {code: city.inspectors_by_grid.get(code) for code in listed}
    names = user_names(session, logins.values())
    return {"days": BLIND_DAYS, "total": len(blind),
            "grids": [{**_grid(city, code),
                       "inspector": names.get(logins[code] or "", logins[code] or "")}
                      for code in listed]}


def dashboard(session: Session, city: City, now: datetime) -> dict[str, Any]:
    """Every figure of the dashboard at ``now``: today counted live, the month and the last
    30 days from the kept tallies of their whole past days (:class:`Days`) and today's."""
    today = local_day(now)
    month = Period.parse(month_label(today))
    with days_of(session).view(session, now) as days:
        start = day_start(today)
        so_far = days.between(start, now)
        this_month = Tally.total([days.between(month.start, start), so_far])
        window = Tally.total([days.between(now - timedelta(days=BLIND_DAYS), start), so_far])
        return {
            "as_of": now.astimezone(local_zone()).isoformat(), "month": month.label,
            "today": counts(session, now, so_far, start),
            "this_month": counts(session, now, this_month, month.start),
            "overdue_now": store.overdue_count(session, now),
            "funnel": funnel(session, month.start, now, this_month.reported),
            "trend": trend(days, today, so_far),
            "top_categories": top_categories(city, this_month),
            "units": unit_on_time(session, city, this_month.units, now),
            "hotspots": hotspots(city, this_month),
            "blind_spots": blind_spots(session, city, window),
        }


class Cache:
    """The last figures, kept for ``seconds`` of wall time while the (application) clock stays
    in the same ``seconds``-long window."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._entry: tuple[Any, float, dict[str, Any]] | None = None

    def get(self, now: datetime, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = int(now.timestamp() // self.seconds) if self.seconds > 0 else now
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] == key and monotonic.monotonic() < entry[1]:
            return entry[2]
        value = build()
        with self._lock:
            self._entry = (key, monotonic.monotonic() + self.seconds, value)
        return value
