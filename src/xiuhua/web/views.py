"""What lists and pages show of a case: names instead of codes, and the countdown of a deadline
in the assignment's own calendar (working time for working-time limits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.calendar import TimeLimit
from xiuhua.domain.choices import CaseStatus
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError
from xiuhua.domain.taxonomy import URGENCY_LABELS
from xiuhua.http.presenters import category_name
from xiuhua.store.case_queries import open_assignments
from xiuhua.web.pages import span

WARNING_SECONDS = 3600  # amber within one (working) hour of the deadline


@dataclass(frozen=True)
class Countdown:
    """Time left to a deadline (negative: overdue by), and how to colour it."""

    seconds: int
    working: bool
    tone: str  # overdue / warning / paused / ""
    text: str


def _is_working(limit_text: str | None) -> bool:
    try:
        return TimeLimit.parse(limit_text or "").working
    except DomainError:
        return True


def countdown(city: City, calendar: str, limit_text: str | None, deadline: datetime,
              now: datetime, overdue: bool) -> Countdown:
    """Working (or natural) seconds from ``now`` to ``deadline`` on the named calendar;
    ``overdue`` is the caller's answer from the one overdue rule."""
    working = _is_working(limit_text)
    cal = city.calendar(calendar) if calendar in city.calendars else city.calendar()
    seconds = (cal.counted_seconds(deadline, now, working) if overdue
               else cal.counted_seconds(now, deadline, working))
    text = (f"{span(seconds, cal.standard_day_seconds, '个工作日')}（工作时间）" if working
            else span(seconds))
    if overdue:
        return Countdown(-seconds, working, "overdue", f"已超时 {text}")
    tone = "warning" if seconds <= WARNING_SECONDS else ""
    return Countdown(seconds, working, tone, f"剩余 {text}")


def paused(city: City, calendar: str, limit_text: str | None, remaining: int | None) -> Countdown:
    """A suspended deadline: the counted time it will have left when handling resumes."""
    working = _is_working(limit_text)
    cal = city.calendar(calendar) if calendar in city.calendars else city.calendar()
    left = remaining or 0
    text = span(left, cal.standard_day_seconds, "个工作日") if working else span(left)
    return Countdown(left, working, "paused", f"挂账中，恢复后剩余 {text}")


def region_name(city: City, code: str | None) -> str:
    info = city.regions.get(code) if code else None
    return info.name if info is not None else (code or "")


def unit_name(city: City, code: str | None) -> str:
    return city.unit_name(code) or code or ""


@dataclass
class CaseRow:
    """One line of a queue."""

    case_no: str
    version: int
    status: CaseStatus
    category: str
    urgency: str
    urgent: bool
    place: str
    description: str
    grid: str
    reported_at: datetime
    holder: str
    due_at: datetime | None
    overdue: bool
    countdown: Countdown | None = None
    note: str = ""
    quick: tuple[str, str, dict[str, str]] | None = None  # (action, button label, fields)

    @property
    def tone(self) -> str:
        return self.countdown.tone if self.countdown is not None else ""


def _row(city: City, m: Mapping[str, Any]) -> CaseRow:
    return CaseRow(
        case_no=m["case_no"], version=m["version"], status=CaseStatus(m["status"]),
        category=category_name(city, m["category_code"]),
        urgency=URGENCY_LABELS.get(m["urgency"], m["urgency"]), urgent=m["urgency"] == "urgent",
        place=m["address"] or "", description=m["description"] or "",
        grid=region_name(city, m["grid_code"]), reported_at=m["reported_at"],
        holder=unit_name(city, m["holder_unit"]), due_at=m["due_at"],
        overdue=bool(m["overdue"]))


def case_rows(session: Session, city: City, rows: Sequence[Any], now: datetime) -> list[CaseRow]:
    """Queue lines with the countdown of each running (or paused) deadline."""
    found = [_row(city, r._mapping) for r in rows]
    timed = [r.case_no for r in found if r.due_at is not None or r.status is CaseStatus.SUSPENDED]
    opened = open_assignments(session, timed) if timed else {}
    for line in found:
        a = opened.get(line.case_no)
        if a is None:
            continue
        if a.suspended_at is not None:
            line.countdown = paused(city, a.calendar, a.limit_text, a.remaining_seconds)
        else:
            line.countdown = countdown(city, a.calendar, a.limit_text, a.deadline, now,
                                       line.overdue)
    return found
