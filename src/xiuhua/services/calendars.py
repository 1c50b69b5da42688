"""Use cases on the working-time calendar: city overrides, official schedules (import with
the changes it makes), recomputing open deadlines, the years' status, deadlines."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiuhua.domain.calendar import (
    STATUTORY_HOLIDAYS,
    TimeLimit,
    WorkCalendar,
    YearSchedule,
    YearSummary,
    check_year,
    checked_instant,
    local_zone,
    parse_schedule,
    year_days,
)
from xiuhua.domain.choices import Action, CaseStatus
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.lifecycle import Actor, Command, apply, recomputed_deadline
from xiuhua.services.accounts import audit
from xiuhua.store import city as store
from xiuhua.store.cases import iter_cases, load_case, save_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import cases

BANNER_FROM = (11, 1)  # from 1 November, a provisional next year is announced on the pages
MAX_FILE_NAME = 255


def set_day(engine: Engine, day: date, workday: bool) -> None:
    with transaction(engine) as session:
        set_calendar_day(session, day, workday)


def set_calendar_day(session: Session, day: date, workday: bool, actor: str | None = None) -> None:
    """Make ``day`` a working day or a day off for every calendar (a city override; audited)."""
    check_year(day.year)
    store.set_calendar_days(session, {day: workday}, note="city override")
    audit(session, datetime.now(UTC), actor, "calendar_change", day.isoformat(),
          {"workday": workday})


# --- the days in force ---------------------------------------------------------------------


def day_calendar(session: Session) -> WorkCalendar:
    """The working days in force (a five-day calendar with the city's days and imports)."""
    return WorkCalendar("days", overrides=store.load_calendar_overrides(session),
                        schedules=store.load_schedules(session))


@dataclass(frozen=True)
class DayChange:
    day: date
    workday: bool  # what the day becomes

    @property
    def label(self) -> str:
        return "上班" if self.workday else "休息"


def day_changes(before: WorkCalendar, after: WorkCalendar, days: Iterable[date]) -> list[DayChange]:
    """The days whose working status differs between two calendars."""
    return [DayChange(d, after.is_workday(d)) for d in sorted(set(days))
            if after.is_workday(d) != before.is_workday(d)]


# --- recomputing deadlines ----------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineMove:
    """An open assignment whose deadline today's calendar puts elsewhere."""

    case_no: str
    unit_code: str
    limit: str
    started_at: datetime
    old: datetime
    new: datetime
    provisional_years: tuple[int, ...] = ()  # years counted whose notice is not known yet


def deadline_moves(session: Session, calendars: Mapping[str, WorkCalendar]) -> list[DeadlineMove]:
    """The running assignments whose counted time crosses a day that changed since their
    deadline was set (suspended ones count their time again when they resume)."""
    moves = []
    for case in iter_cases(session, cases.c.status == CaseStatus.DISPATCHED.value):
        assignment = case.open_assignment
        new = recomputed_deadline(case, calendars)
        if assignment is not None and new is not None and new != assignment.deadline:
            counted = calendars[assignment.calendar].provisional_years(assignment.started_at, new)
            moves.append(DeadlineMove(case.case_no, assignment.unit_code, assignment.limit,
                                      assignment.started_at, assignment.deadline, new,
                                      tuple(counted)))
    return moves


def recompute_deadlines(session: Session, city: City, *, apply_moves: bool, now: datetime,
                        actor: str | None = None) -> list[DeadlineMove]:
    """List (and with ``apply_moves`` move, with a case event and an audit entry each) the
    deadlines that today's calendar puts elsewhere."""
    moves = deadline_moves(session, city.calendars)
    if not apply_moves:
        return moves
    note = "工作日历已变更（导入放假安排或本市调整），按新日历重算处置时限"
    for move in moves:
        case = load_case(session, move.case_no)
        loaded_version, loaded_events = case.version, len(case.events)
        apply(case, Command(Action.RECOMPUTE_DEADLINE, now, Actor(actor), note=note), city.rules)
        save_case(session, case, loaded_version, loaded_events)
        audit(session, now, actor, "deadline_recompute", move.case_no,
              {"from": move.old.isoformat(), "to": move.new.isoformat()})
    return moves


# --- importing a notice ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleImport:
    """What importing a notice does (or, when not ``applied``, would do)."""

    year: int
    official: bool
    days: int  # days the file gives (ranges expanded)
    other_year_days: list[date]  # rows outside the notice year: overrides
    changes: list[DayChange]  # against what was in force
    moves: list[DeadlineMove]  # open deadlines that ``calendar recompute`` would move
    applied: bool


def read_schedule_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"文件不是 UTF-8 编码：{exc}", code="invalid_encoding") from exc


def import_schedule_text(session: Session, text: str, *, year: int | None = None,
                         partial: bool = False, file_name: str | None = None,
                         actor: str | None = None, apply_import: bool = True,
                         now: datetime | None = None) -> ScheduleImport:
    """Import a year's State Council notice, all or nothing, in place of the year's previous
    import; without ``apply_import`` only show what it would change. Deadlines already set
    do not move here (``calendar recompute`` moves them)."""
    at = now or datetime.now(UTC)
    parsed = parse_schedule(text, year)
    schedule = parsed.schedule(partial=partial, source=(file_name or "")[:MAX_FILE_NAME] or None,
                               imported_at=at)
    before = day_calendar(session)
    previous = before.schedules.get(schedule.year)
    touched = [*year_days(schedule.year), *schedule.days, *(previous.days if previous else ())]
    savepoint = session.begin_nested()
    try:
        store.save_schedule(session, schedule, actor)
        changes = day_changes(before, day_calendar(session), touched)
        moves = deadline_moves(session, store.load_calendars(session))
    except BaseException:
        savepoint.rollback()
        raise
    if not apply_import:
        savepoint.rollback()
    else:
        savepoint.commit()
        audit(session, at, actor, "calendar_import", str(schedule.year), {
            "official": schedule.official, "file": schedule.source, "days": len(schedule.days),
            "changed": len(changes), "deadlines_to_move": len(moves)})
    return ScheduleImport(schedule.year, schedule.official, len(schedule.days),
                          parsed.other_year_days, changes, moves, apply_import)


def import_schedule(engine: Engine, path: Path, *, year: int | None = None,
                    partial: bool = False, actor: str | None = None,
                    dry_run: bool = False) -> ScheduleImport:
    """``xiuhua calendar import``: the file at ``path``."""
    text = read_schedule_file(path)
    with transaction(engine) as session:
        return import_schedule_text(session, text, year=year, partial=partial,
                                    file_name=path.name, actor=actor, apply_import=not dry_run)


# --- the years' status ----------------------------------------------------------------------


def status_years(today: date, schedules: Iterable[YearSchedule] = ()) -> list[int]:
    """Last year to next year, and any other year the city imported."""
    years = {today.year - 1, today.year, today.year + 1}
    return sorted(years | {s.year for s in schedules})


def year_summaries(calendar: WorkCalendar, today: date) -> list[YearSummary]:
    return [calendar.summary(y) for y in status_years(today, calendar.schedules.values())]


def calendar_status(engine: Engine, now: datetime | None = None) -> list[YearSummary]:
    """``xiuhua calendar status``."""
    with transaction(engine) as session:
        calendar = day_calendar(session)
    return year_summaries(calendar, (now or datetime.now(UTC)).astimezone(local_zone()).date())


def provisional_next_year(calendar: WorkCalendar, now: datetime) -> int | None:
    """Next year, from 1 November while its notice is not imported (the pages' banner)."""
    today = now.astimezone(local_zone()).date()
    if (today.month, today.day) < BANNER_FROM or calendar.is_official_year(today.year + 1):
        return None
    return today.year + 1


# --- deadlines ------------------------------------------------------------------------------


def parse_local(text: str, name: str | None = None) -> datetime:
    """An ISO date-time in the supported years (:func:`checked_instant`); without an offset it
    is read as Asia/Shanghai local time. ``name``: the parameter, for the error message."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        what = f"{name} 不是有效的 ISO 8601 时间" if name else f"时间“{text}”无效，应为 ISO 8601 格式"
        raise InvalidInput(f"{what}（如 2026-10-01T00:00:00+08:00）", code="invalid_datetime") from None
    return checked_instant(value.replace(tzinfo=local_zone()) if value.tzinfo is None else value, name or "时间")


@dataclass(frozen=True)
class Deadline:
    deadline: datetime
    provisional_years: list[int]  # years counted whose notice is not known yet


def deadline_for(engine: Engine, start: str, limit: str, calendar: str = "default") -> Deadline:
    with transaction(engine) as session:
        calendars = store.load_calendars(session)
    if calendar not in calendars:
        raise InvalidInput(f"未知的工作日历“{calendar}”", code="unknown_calendar")
    cal, begin = calendars[calendar], parse_local(start, "start")
    due = cal.deadline(begin, TimeLimit.parse(limit))
    return Deadline(due, cal.provisional_years(begin, due))


def provisional_open_deadlines(engine: Engine) -> list[int]:
    """Provisional years that the open assignments' deadlines count (after a command that
    computed deadlines: the CLI says so in one line)."""
    from sqlalchemy import func, select

    from xiuhua.domain.choices import AssignmentEnd
    from xiuhua.store.tables import assignments as a

    with transaction(engine) as session:
        calendars = store.load_calendars(session)
        spans = session.execute(
            select(a.c.calendar, func.min(a.c.started_at), func.max(a.c.deadline))
            .where(a.c.ended == AssignmentEnd.OPEN.value).group_by(a.c.calendar)).all()
    years = {y for name, first, last in spans if name in calendars
             for y in calendars[name].provisional_years(first, last)}
    return sorted(years)


def recompute(engine: Engine, *, apply_moves: bool, actor: str | None = None) -> list[DeadlineMove]:
    """``xiuhua calendar recompute [--apply]``."""
    from xiuhua.services.city import load_city

    with transaction(engine) as session:
        return recompute_deadlines(session, load_city(session), apply_moves=apply_moves,
                                   now=datetime.now(UTC), actor=actor)



def schedule_template(year: int) -> str:
    """A commented template of ``year``'s notice: the format, with no dates filled in (the
    city copies them from the State Council notice when it is published)."""
    check_year(year)
    lines = [
        f"# {year} 年放假和调休安排（按国务院办公厅通知填写，删去行首的 # 即生效）",
        "# 每行：日期,类型,名称。日期 YYYY-MM-DD，或连续几天 YYYY-MM-DD..YYYY-MM-DD；",
        "# 类型：休（放假，含周末）或 班（调休上班）；名称写节日名（元旦、春节、清明节、劳动节、",
        "# 端午节、中秋节、国庆节），七个法定节假日缺一项即不予导入（除非选择“部分导入”）。",
        "# 上一年年底的调休上班日也可写在这里（作为调整，不改变那一年的其他日子）。",
        "# 导入：xiuhua calendar import 本文件，或 系统管理 › 工作日历 › 导入放假安排。",
        "date,type,name",
    ]
    for name, _ in STATUTORY_HOLIDAYS:
        lines.append(f"# {year}-MM-DD..{year}-MM-DD,休,{name}")
    lines.append(f"# {year}-MM-DD,班,（某节）调休上班")
    return "\n".join(lines) + "\n"

