"""What lists and pages show of a case: names instead of codes, and the countdown of a deadline
in the assignment's own calendar (working time for working-time limits)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.calendar import TimeLimit, WorkCalendar
from xiuhua.domain.choices import CaseStatus
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError
from xiuhua.domain.taxonomy import URGENCY_LABELS
from xiuhua.http.presenters import category_name
from xiuhua.store.case_queries import open_assignments
from xiuhua.web.pages import local_time, span

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


def working_span(seconds: int, day_seconds: int) -> str:
    """Working time as a person says it: "45 工作分钟", "3.5 工作小时", "2 个工作日 1.5 工作小时"
    (a working day is the calendar's standard day, e.g. 7.5 hours)."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, max(1, day_seconds))
    parts = [f"{days} 个工作日"] if days else []
    if rest >= 3600 or (days and rest >= 360):
        parts.append(f"{round(rest / 3600, 1):g} 工作小时")
    elif not days:
        parts.append(f"{rest // 60} 工作分钟")
    return " ".join(parts)


def duration(cal: WorkCalendar, seconds: int, working: bool) -> str:
    """A remaining or overdue time: working time for working-time limits, else natural time."""
    return working_span(seconds, cal.standard_day_seconds) if working else span(seconds)


def _calendar(city: City, name: str) -> WorkCalendar:
    return city.calendar(name) if name in city.calendars else city.calendar()


def countdown(city: City, calendar: str, limit_text: str | None, deadline: datetime,
              now: datetime, overdue: bool) -> Countdown:
    """The one wording of a running deadline on every page: "剩余 2.5 工作小时", or
    "已超时，截止于 12-05 17:30，超出 3.5 工作小时" (in natural time while less than a working
    minute has passed, e.g. overdue since 17:30 and now the evening). ``overdue`` is the
    caller's answer from the one overdue rule."""
    working = _is_working(limit_text)
    cal = _calendar(city, calendar)
    if overdue:
        late = cal.counted_seconds(deadline, now, working)
        over = duration(cal, late, working) if late >= 60 else _natural(deadline, now)
        text = f"已超时，截止于 {local_time(deadline, '%m-%d %H:%M')}，超出 {over}"
        return Countdown(-late, working, "overdue", text)
    seconds = cal.counted_seconds(now, deadline, working)
    tone = "warning" if seconds <= WARNING_SECONDS else ""
    return Countdown(seconds, working, tone, f"剩余 {duration(cal, seconds, working)}")


def _natural(deadline: datetime, now: datetime) -> str:
    seconds = int((now - deadline).total_seconds())
    return span(seconds) if seconds >= 60 else "不到 1 分钟"


def paused(city: City, calendar: str, limit_text: str | None, remaining: int | None) -> Countdown:
    """A suspended deadline: the counted time it will have left when handling resumes."""
    working = _is_working(limit_text)
    cal = _calendar(city, calendar)
    text = duration(cal, remaining or 0, working)
    return Countdown(remaining or 0, working, "paused", f"挂账中，恢复后剩余 {text}")


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
