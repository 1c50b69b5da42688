"""A working day in the tiny city, Friday 2026-10-16 at 10:00: one user per role (password
``PASSWORD``) and cases waiting in every queue, made through the real services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from tests.api.conftest import PASSWORD, PASSWORD_HASH, USERS
from tests.factories import act, center, local, report
from xiuhua.domain.choices import Action, Source
from xiuhua.domain.lifecycle import Actor
from xiuhua.services import accounts
from xiuhua.store.db import transaction

__all__ = ["NOW", "PASSWORD", "build_cases", "build_scenario", "report_one"]

NOW = local("2026-10-16 10:00")
# The actor of each step: the first user of USERS with the role that takes it.
ACTORS = {login: Actor(login, role, unit) for login, (role, unit, _) in USERS.items()}
STEP_ACTOR = {Action.FILE: "shift01", Action.DISPATCH: "dispatcher01", Action.CLOSE: "shift01",
              Action.SUSPEND: "shift01",
              Action.CHECK_PASS: "inspector01", Action.CHECK_FAIL: "inspector01"}

# name -> (category, grid (row, col), source, reported at, [(action, at, fields)])
Step = tuple[Action, str, dict[str, str]]
PLAN: dict[str, tuple[str, tuple[int, int], Source, str, list[Step]]] = {
    "reported": ("06010", (0, 0), Source.INSPECTOR, "2026-10-16 08:45", []),
    "public": ("06010", (1, 0), Source.PUBLIC, "2026-10-16 09:30", []),
    "filed": ("01001", (1, 1), Source.HOTLINE, "2026-10-15 14:00",
              [(Action.FILE, "2026-10-15 14:10", {})]),
    "overdue": ("06010", (0, 2), Source.INSPECTOR, "2026-10-14 09:00", [
        (Action.FILE, "2026-10-14 09:05", {}),
        (Action.DISPATCH, "2026-10-14 09:10", {"unit": "U-HW", "limit": "2wh"})]),
    "soon": ("06012", (2, 0), Source.INSPECTOR, "2026-10-16 08:35", [
        (Action.FILE, "2026-10-16 08:40", {}),
        (Action.DISPATCH, "2026-10-16 08:45", {"unit": "U-HW", "limit": "2wh"})]),
    "handled": ("06010", (1, 2), Source.INSPECTOR, "2026-10-15 09:00", [
        (Action.FILE, "2026-10-15 09:05", {}),
        (Action.DISPATCH, "2026-10-15 09:10", {"unit": "U-HW"}),
        (Action.FEEDBACK, "2026-10-15 10:00", {"note": "已清运"})]),
    "checked": ("06010", (2, 1), Source.INSPECTOR, "2026-10-15 09:00", [
        (Action.FILE, "2026-10-15 09:05", {}),
        (Action.DISPATCH, "2026-10-15 09:10", {"unit": "U-HW"}),
        (Action.FEEDBACK, "2026-10-15 10:00", {"note": "已清运"}),
        (Action.CHECK_PASS, "2026-10-15 11:00", {})]),
    "closed": ("06010", (2, 2), Source.INSPECTOR, "2026-10-14 09:00", [
        (Action.FILE, "2026-10-14 09:05", {}),
        (Action.DISPATCH, "2026-10-14 09:10", {"unit": "U-HW"}),
        (Action.FEEDBACK, "2026-10-14 10:00", {}),
        (Action.CHECK_PASS, "2026-10-14 11:00", {}),
        (Action.CLOSE, "2026-10-15 16:00", {})]),
    "extension": ("06001", (0, 1), Source.INSPECTOR, "2026-10-15 09:00", [
        (Action.FILE, "2026-10-15 09:05", {}),
        (Action.DISPATCH, "2026-10-15 09:10", {"unit": "U-ZF"}),
        (Action.REQUEST_EXTENSION, "2026-10-15 10:00", {"limit": "2wd", "reason": "需协调产权单位"})]),
    "suspended": ("06001", (2, 2), Source.INSPECTOR, "2026-10-15 13:40", [
        (Action.FILE, "2026-10-15 13:45", {}),
        (Action.DISPATCH, "2026-10-15 13:50", {"unit": "U-ZF", "limit": "1wd"}),
        (Action.SUSPEND, "2026-10-15 15:50", {"reason": "等待产权单位确认"})]),
}
NAMES = {"admin01": "系统管理员", "acceptor01": "王受理", "shift01": "赵值班", "dispatcher01": "钱派遣",
         "handler_hw": "李环卫", "leader_hw": "周主任", "handler_zf": "孙执法", "inspector01": "张监督",
         "inspector02": "吴监督", "leader01": "郑领导", "office01": "冯办公"}
REPORTER = {Source.INSPECTOR: "inspector01", Source.PUBLIC: "acceptor01", Source.HOTLINE: "acceptor01"}
UNIT_LOGIN = {"U-HW": "handler_hw", "U-ZF": "handler_zf"}


def add_users(engine: Engine) -> None:
    with transaction(engine) as session:
        for login, (role, unit, grids) in USERS.items():
            accounts.add_user(session, login, role, NOW, name=NAMES[login], unit_code=unit,
                              grids=grids, password_hash=PASSWORD_HASH)


def report_one(engine: Engine, category: str, cell: tuple[int, int], source: Source,
               at: datetime, description: str = "人行道上有暴露垃圾") -> str:
    lon, lat = center(*cell)
    return report(engine, at, ACTORS[REPORTER[source]], category_code=category, source=source,
                  lon=lon, lat=lat, address=f"测试路 {cell[0] * 3 + cell[1] + 1} 号",
                  description=description)


def _actor(action: Action, case_unit: str | None) -> Actor:
    login = STEP_ACTOR.get(action) or UNIT_LOGIN[case_unit or "U-HW"]
    return ACTORS[login]


def _steps(engine: Engine, case_no: str, steps: list[Step]) -> None:
    unit: str | None = None
    for action, at, fields in steps:
        unit = fields.get("unit", unit)
        act(engine, case_no, action, at, _actor(action, unit), **fields)


def build_cases(engine: Engine) -> dict[str, str]:
    """The planned cases (their actors must exist); case numbers by name."""
    found = {}
    for name, (category, cell, source, at, steps) in PLAN.items():
        case_no = report_one(engine, category, cell, source, local(at))
        _steps(engine, case_no, steps)
        found[name] = case_no
    return found


def build_scenario(engine: Engine) -> dict[str, str]:
    """Users with passwords and the planned cases; case numbers by name."""
    add_users(engine)
    return build_cases(engine)
