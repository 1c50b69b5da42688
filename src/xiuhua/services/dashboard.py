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

Figures are kept for :data:`CACHE_SECONDS` (the page polls at that pace), so a busy city's
leaders share one computation.
"""

from __future__ import annotations

import threading
import time as monotonic
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.assessment import (
    UNIT_MEASURES,
    Period,
    month_label,
    unit_rates,
)
from xiuhua.domain.calendar import SHANGHAI
from xiuhua.domain.choices import Action, CaseStatus, RegionLevel
from xiuhua.domain.city import City
from xiuhua.services.assessment import listed_units
from xiuhua.store import dashboard as store
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


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def counts(session: Session, now: datetime, bounds: list[tuple[datetime, datetime]]) -> dict[str, list[int]]:
    """Each count of :data:`COUNTS` for each range."""
    return {
        "reported": store.reported(session, bounds),
        "filed": store.actions(session, Action.FILE, bounds),
        "dispatched": store.actions(session, Action.DISPATCH, bounds),
        "closed": store.closed(session, bounds),
        "overdue": store.overdue_since(session, now, bounds),
    }


def funnel(session: Session, start: datetime, now: datetime) -> list[dict[str, Any]]:
    found = store.status_counts(session, start, now)
    stages = []
    for key, label, statuses in FUNNEL:
        if statuses is None:
            n = sum(filed for _, filed in found.values())
        else:
            n = sum(total for status, (total, _) in found.items() if status in statuses)
        stages.append({"stage": key, "label": label, "count": n})
    return stages


def trend(session: Session, today: date, now: datetime) -> dict[str, Any]:
    days = [today - timedelta(days=i) for i in range(TREND_DAYS - 1, -1, -1)]
    bounds = [(day_start(d), min(day_start(d + timedelta(days=1)), now)) for d in days]
    return {"days": [d.isoformat() for d in days], "reported": store.reported(session, bounds),
            "closed": store.closed(session, bounds)}


def top_categories(session: Session, city: City, start: datetime, now: datetime) -> list[dict[str, Any]]:
    names = {c.code: c.name for c in city.taxonomy.matters()}
    return [{"category_code": code, "name": names.get(code, code), "filed": n}
            for code, n in store.filed_categories(session, start, now, TOP_CATEGORIES)]


def unit_on_time(session: Session, city: City, month: Period, now: datetime) -> list[dict[str, Any]]:
    """Each unit with something due this month: the assessment's counts and on-time rate as
    they stand at ``now`` (handled in the month, on time; overdue now), the best rate first."""
    names = listed_units(city)
    handled = store.unit_handled(session, month.start, now)
    late = store.unit_overdue(session, now)
    rows = []
    for code in sorted(set(handled) | set(late)):
        n, on_time = handled.get(code, (0, 0))
        measured = {**dict.fromkeys(UNIT_MEASURES, 0), "handled": n, "handled_on_time": on_time,
                    "overdue_unhandled": late.get(code, 0)}
        measured["due"] = measured["handled"] + measured["overdue_unhandled"]
        rows.append({"unit_code": code, "unit_name": names.get(code) or unit_label(city, code),
                     **{m: measured[m] for m in ("handled", "handled_on_time", "overdue_unhandled", "due")},
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


def hotspots(session: Session, city: City, start: datetime, now: datetime) -> list[dict[str, Any]]:
    found = store.grid_reports(session, start, now)
    top = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:HOTSPOTS]
    return [{**_grid(city, code), "reported": n} for code, n in top]


def blind_spots(session: Session, city: City, now: datetime) -> dict[str, Any]:
    """Grids with no report and no inspector verification or check in the last 30 days."""
    since = now - timedelta(days=BLIND_DAYS)
    active = set(store.grid_reports(session, since, now)) | store.patrolled_grids(session, since, now)
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
    """Every figure of the dashboard at ``now``."""
    today = now.astimezone(SHANGHAI).date()
    month = Period.parse(month_label(today))
    found = counts(session, now, [(day_start(today), now), (month.start, now)])
    return {
        "as_of": now.astimezone(SHANGHAI).isoformat(), "month": month.label,
        "today": {k: v[0] for k, v in found.items()},
        "this_month": {k: v[1] for k, v in found.items()},
        "overdue_now": store.overdue_count(session, now),
        "funnel": funnel(session, month.start, now),
        "trend": trend(session, today, now),
        "top_categories": top_categories(session, city, month.start, now),
        "units": unit_on_time(session, city, month, now),
        "hotspots": hotspots(session, city, month.start, now),
        "blind_spots": blind_spots(session, city, now),
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
