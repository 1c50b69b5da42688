"""Use cases on the working-time calendar: city overrides, official schedules, deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiuhua.domain.calendar import SHANGHAI, TimeLimit, checked_instant, parse_schedule_file
from xiuhua.domain.errors import InvalidInput
from xiuhua.services.accounts import audit
from xiuhua.store import city as store
from xiuhua.store.db import transaction


def set_day(engine: Engine, day: date, workday: bool) -> None:
    with transaction(engine) as session:
        set_calendar_day(session, day, workday)


def set_calendar_day(session: Session, day: date, workday: bool, actor: str | None = None) -> None:
    """Make ``day`` a working day or a day off for every calendar (a city override; audited)."""
    store.set_calendar_days(session, {day: workday}, note="city override")
    audit(session, datetime.now(UTC), actor, "calendar_change", day.isoformat(),
          {"workday": workday})


def import_schedule(engine: Engine, path: Path) -> tuple[int, set[int]]:
    """Import a year's official schedule (all lines or none); its years count as official."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"文件不是 UTF-8 编码：{exc}", code="invalid_encoding") from exc
    days, years = parse_schedule_file(text)
    with transaction(engine) as session:
        store.set_calendar_days(session, days, note="official schedule")
        store.add_official_years(session, years, datetime.now(UTC))
    return len(days), years


def parse_local(text: str, name: str | None = None) -> datetime:
    """An ISO date-time in the supported years (:func:`checked_instant`); without an offset it
    is read as Asia/Shanghai local time. ``name``: the parameter, for the error message."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        what = f"{name} 不是有效的 ISO 8601 时间" if name else f"时间“{text}”无效，应为 ISO 8601 格式"
        raise InvalidInput(f"{what}（如 2026-10-01T00:00:00+08:00）", code="invalid_datetime") from None
    return checked_instant(value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value, name or "时间")


def deadline_for(engine: Engine, start: str, limit: str, calendar: str = "default") -> datetime:
    with transaction(engine) as session:
        calendars = store.load_calendars(session)
    if calendar not in calendars:
        raise InvalidInput(f"未知的工作日历“{calendar}”", code="unknown_calendar")
    return calendars[calendar].deadline(parse_local(start), TimeLimit.parse(limit))
