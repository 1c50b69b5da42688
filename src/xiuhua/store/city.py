"""Queries that read and write the city model: regions, units, users' grid posts, taxonomy,
calendars, responsibility rules and settings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, time
from typing import Any

import shapely
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from xiuhua.domain.calendar import SeasonalSchedule, WorkCalendar, WorkPeriod, YearSchedule
from xiuhua.domain.choices import RegionLevel, Role
from xiuhua.domain.city import RegionInfo, UnitInfo
from xiuhua.domain.lifecycle import LifecycleConfig, Permissions
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.domain.taxonomy import CaseClass, ClassKind
from xiuhua.store.cases import Bind, dialect_name
from xiuhua.store.tables import (
    calendar_days,
    calendar_schedule_days,
    calendar_years,
    calendars,
    categories,
    regions,
    responsibility_rules,
    settings,
    units,
    user_grids,
    users,
)


def upsert(bind: Bind, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Insert or replace rows by their key columns (SQLite and PostgreSQL)."""
    if not rows:
        return
    dialect_insert = pg_insert if dialect_name(bind) == "postgresql" else sqlite_insert
    stmt = dialect_insert(table)
    updates = {c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys}
    stmt = (stmt.on_conflict_do_update(index_elements=keys, set_=updates) if updates
            else stmt.on_conflict_do_nothing(index_elements=keys))
    bind.execute(stmt, rows)


# --- taxonomy -----------------------------------------------------------------------------


def class_row(c: CaseClass) -> dict[str, Any]:
    return {"kind": c.kind.value, "code": c.code, "name": c.name, "major_code": c.major_code,
            "major_name": c.major_name, "source": c.source,
            "public_reportable": c.public_reportable, "active": c.active,
            "filing_condition": c.filing_condition, "closing_condition": c.closing_condition,
            "limits": dict(c.limits), "calendar": c.calendar}


def save_classes(bind: Bind, classes: Iterable[CaseClass]) -> None:
    upsert(bind, categories, [class_row(c) for c in classes], ["kind", "code"])
    bump_model_version(bind)


def load_classes(bind: Bind) -> list[CaseClass]:
    return [
        CaseClass(kind=ClassKind(r.kind), code=r.code, name=r.name, major_code=r.major_code,
                  major_name=r.major_name, source=r.source,
                  public_reportable=r.public_reportable, active=r.active,
                  filing_condition=r.filing_condition, closing_condition=r.closing_condition,
                  limits=dict(r.limits), calendar=r.calendar)
        for r in bind.execute(select(categories).order_by(categories.c.kind, categories.c.code))
    ]


# --- calendars ----------------------------------------------------------------------------


def _periods(raw: Iterable[Iterable[str]]) -> tuple[WorkPeriod, ...]:
    return tuple(WorkPeriod(_time(a), _time(b)) for a, b in raw)


def _time(text: str) -> time:
    return time(0, 0) if text == "24:00" else time.fromisoformat(text)


def _md(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def save_calendar(bind: Bind, name: str, label: str, periods: list[list[str]],
                  seasonal: list[dict[str, Any]] | None = None, seven_day: bool = False,
                  standard_day_seconds: int = 27000) -> None:
    row = {"name": name, "label": label, "periods": periods, "seasonal": seasonal or [],
           "seven_day": seven_day, "standard_day_seconds": standard_day_seconds}
    _build_calendar(row, {}, ())  # validates before anything is written
    upsert(bind, calendars, [row], ["name"])
    bump_model_version(bind)


def _build_calendar(row: Mapping[str, Any], overrides: Mapping[date, bool],
                    schedules: Iterable[YearSchedule]) -> WorkCalendar:
    seasonal = [SeasonalSchedule(_md(s["start"]), _md(s["end"]), _periods(s["periods"]))
                for s in row["seasonal"]]
    return WorkCalendar(row["name"], periods=_periods(row["periods"]), seasonal=seasonal,
                        seven_day=row["seven_day"], overrides=overrides, schedules=schedules,
                        standard_day_seconds=row["standard_day_seconds"])


def load_calendars(bind: Bind) -> dict[str, WorkCalendar]:
    overrides = load_calendar_overrides(bind)
    schedules = load_schedules(bind)
    return {r.name: _build_calendar(dict(r._mapping), overrides, schedules)
            for r in bind.execute(select(calendars))}


def load_calendar_overrides(bind: Bind) -> dict[date, bool]:
    """The city's own days (``calendar set``)."""
    return {r.day: r.workday for r in bind.execute(select(calendar_days))}


def load_schedules(bind: Bind) -> list[YearSchedule]:
    """Every imported notice with its days."""
    days: dict[int, dict[date, bool]] = {}
    names: dict[int, dict[date, str]] = {}
    for r in bind.execute(select(calendar_schedule_days)):
        days.setdefault(r.year, {})[r.day] = r.workday
        if r.name:
            names.setdefault(r.year, {})[r.day] = r.name
    return [YearSchedule(r.year, days.get(r.year, {}), names.get(r.year, {}),
                         official=r.official, source=r.file_name, imported_at=r.imported_at)
            for r in bind.execute(select(calendar_years).order_by(calendar_years.c.year))]


def set_calendar_days(bind: Bind, days: Mapping[date, bool], note: str | None = None) -> None:
    upsert(bind, calendar_days,
           [{"day": d, "workday": w, "note": note} for d, w in sorted(days.items())], ["day"])
    bump_model_version(bind)


def save_schedule(bind: Bind, schedule: YearSchedule, actor: str | None) -> None:
    """Keep an imported notice in place of the year's previous one."""
    bind.execute(delete(calendar_schedule_days)
                 .where(calendar_schedule_days.c.year == schedule.year))
    upsert(bind, calendar_years, [{
        "year": schedule.year, "imported_at": schedule.imported_at,
        "official": schedule.official, "file_name": schedule.source, "imported_by": actor}],
        ["year"])
    bind.execute(insert(calendar_schedule_days), [
        {"year": schedule.year, "day": d, "workday": w, "name": schedule.names.get(d)}
        for d, w in sorted(schedule.days.items())])
    bump_model_version(bind)


# --- regions, units, posts ----------------------------------------------------------------


def load_regions(bind: Bind) -> tuple[dict[str, RegionInfo], list[tuple[str, Any]]]:
    """Region infos, and (code, geometry) of every unit grid for the grid index."""
    infos: dict[str, RegionInfo] = {}
    grids: list[tuple[str, Any]] = []
    for r in bind.execute(select(regions).order_by(regions.c.code)):
        level = RegionLevel(r.level)
        infos[r.code] = RegionInfo(r.code, level, r.name, r.parent_code, r.area_m2, r.kind,
                                   r.region_class)
        if level is RegionLevel.GRID:
            grids.append((r.code, shapely.from_wkb(r.geometry)))
    return infos, grids


def region_geometry(bind: Bind, code: str) -> Any:
    wkb = bind.execute(select(regions.c.geometry).where(regions.c.code == code)).scalar()
    return shapely.from_wkb(wkb) if wkb is not None else None


def region_rows(bind: Bind, level: str | None = None, parent: str | None = None,
                code: str | None = None) -> list[Any]:
    """The rows of the regions of ``level`` under ``parent`` (or the one of ``code``), by code."""
    query = select(regions).order_by(regions.c.code)
    for column, value in ((regions.c.level, level), (regions.c.parent_code, parent),
                          (regions.c.code, code)):
        if value is not None:
            query = query.where(column == value)
    return list(bind.execute(query).all())


def region_shapes(bind: Bind, levels: Iterable[str]) -> list[Any]:
    """(code, level, name, parent_code, geometry WKB) of the regions of these levels."""
    r = regions.c
    query = (select(r.code, r.level, r.name, r.parent_code, r.geometry)
             .where(r.level.in_(list(levels))).order_by(r.code))
    return list(bind.execute(query))


def load_units(bind: Bind) -> dict[str, UnitInfo]:
    return {r.code: UnitInfo(r.code, r.name, r.kind, r.parent_code, r.region_code, r.active)
            for r in bind.execute(select(units).order_by(units.c.code))}


def load_inspector_posts(bind: Bind) -> dict[str, str]:
    """Grid code -> the (first, by login) active inspector posted there."""
    rows = bind.execute(
        select(user_grids.c.grid_code, user_grids.c.login)
        .join(users, users.c.login == user_grids.c.login)
        .where(users.c.role == Role.INSPECTOR.value, users.c.active.is_(True))
        .order_by(user_grids.c.grid_code, user_grids.c.login))
    posts: dict[str, str] = {}
    for grid, login in rows:
        posts.setdefault(grid, login)
    return posts


# --- responsibility -----------------------------------------------------------------------


def load_rules(bind: Bind) -> list[Rule]:
    return [Rule(RuleScope(r.scope), r.category, r.region_code, r.unit_code)
            for r in bind.execute(select(responsibility_rules).order_by(responsibility_rules.c.id))]


def add_rules(bind: Bind, rules: Iterable[Rule]) -> None:
    rows = [{"scope": r.scope.value, "category": r.category, "region_code": r.region_code,
             "unit_code": r.unit_code} for r in rules]
    if rows:
        bind.execute(insert(responsibility_rules), rows)
    bump_model_version(bind)


def remove_rule(bind: Bind, rule: Rule) -> int:
    t = responsibility_rules
    cond = t.c.category.is_(None) if rule.category is None else t.c.category == rule.category
    result = bind.execute(delete(t).where(t.c.scope == rule.scope.value, cond,
                                          t.c.region_code == rule.region_code,
                                          t.c.unit_code == rule.unit_code))
    bump_model_version(bind)
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- settings -----------------------------------------------------------------------------


# Built once: the city cache reads the model version on every request.
_SETTING = select(settings.c.value).where(settings.c.key == bindparam("key"))


def get_setting(bind: Bind, key: str) -> Any:
    return bind.execute(_SETTING, {"key": key}).scalar()


def put_setting(bind: Bind, key: str, value: Any) -> None:
    upsert(bind, settings, [{"key": key, "value": value}], ["key"])


def load_lifecycle_config(bind: Bind) -> LifecycleConfig:
    raw = get_setting(bind, "lifecycle") or {}
    return LifecycleConfig(**raw)


def load_permissions(bind: Bind) -> Permissions:
    raw = get_setting(bind, "permissions")
    return Permissions.from_mapping(raw) if raw else Permissions()


def save_units(bind: Bind, items: Iterable[UnitInfo]) -> None:
    rows = [{"code": u.code, "name": u.name, "kind": u.kind, "parent_code": u.parent_code,
             "region_code": u.region_code, "active": u.active} for u in items]
    rows.sort(key=lambda r: r["parent_code"] is not None)  # parents first
    upsert(bind, units, rows, ["code"])
    bump_model_version(bind)


def save_user(bind: Bind, login: str, name: str, role: Role, unit_code: str | None = None,
              grids: Iterable[str] = (), phone: str | None = None, active: bool = True,
              district_code: str | None = None) -> None:
    upsert(bind, users, [{"login": login, "name": name, "role": role.value,
                          "unit_code": unit_code, "phone": phone, "active": active,
                          "district_code": district_code}], ["login"])
    bind.execute(delete(user_grids).where(user_grids.c.login == login))
    posts = [{"login": login, "grid_code": g} for g in grids]
    if posts:
        bind.execute(insert(user_grids), posts)
    bump_model_version(bind)


def user_names(bind: Bind, logins: Iterable[str | None]) -> dict[str, str]:
    """Login → name of the users among ``logins`` (blanks and unknown logins left out)."""
    wanted = sorted({login for login in logins if login})
    if not wanted:
        return {}
    rows = bind.execute(select(users.c.login, users.c.name).where(users.c.login.in_(wanted)))
    return {r.login: r.name for r in rows}


def active_users(bind: Bind, role: Role) -> dict[str, str]:
    """Login → name of the active users of ``role``, by login."""
    rows = bind.execute(select(users.c.login, users.c.name)
                        .where(users.c.role == role.value, users.c.active.is_(True))
                        .order_by(users.c.login))
    return {r.login: r.name for r in rows}


MODEL_VERSION = "model_version"


def model_version(bind: Bind) -> int:
    return int(get_setting(bind, MODEL_VERSION) or 0)


def bump_model_version(bind: Bind) -> None:
    """Tell every process that the city model changed (cached City snapshots reload)."""
    put_setting(bind, MODEL_VERSION, model_version(bind) + 1)
