"""Each role's home (工作台): counters and work queues that refresh themselves (htmx polling),
with one-click actions where the next step is plain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from xiuhua.api import cases as cases_api
from xiuhua.api import tasks as tasks_api
from xiuhua.api.deps import CityDep, NowDep, SessionDep
from xiuhua.api.schemas import UnitRef
from xiuhua.domain.access import UNIT_STAFF, Principal
from xiuhua.domain.calendar import day_start, local_day
from xiuhua.domain.choices import Action, CaseStatus, Role
from xiuhua.domain.city import City
from xiuhua.store import case_queries
from xiuhua.store import city as city_store
from xiuhua.store.case_queries import CaseFilter, list_cases
from xiuhua.web.calendar_banner import calendar_banner
from xiuhua.web.pages import PageRoute, PageUser, limit_label, local_time, not_found_page, render
from xiuhua.web.views import WARNING_SECONDS, CaseRow, Countdown, case_rows, countdown, unit_name

router = APIRouter(route_class=PageRoute, include_in_schema=False)
S = CaseStatus
QUEUE_SIZE = 50
FOLLOW_UP_DAYS = 7


@dataclass(frozen=True)
class Ctx:
    session: Session
    city: City
    user: Principal
    now: datetime


def _cases(ctx: Ctx, filters: CaseFilter, sort: str, limit: int = QUEUE_SIZE) -> list[CaseRow]:
    page = list_cases(ctx.session, ctx.user, filters, ctx.now, sort=sort, limit=limit)
    return case_rows(ctx.session, ctx.city, page.rows, ctx.now)


# --- queues ---------------------------------------------------------------------------------


def _verify_notes(ctx: Ctx, rows: list[CaseRow]) -> list[CaseRow]:
    """Say where each report's 核实 stands."""
    tasks = case_queries.open_verify_tasks(ctx.session, [r.case_no for r in rows])
    names = city_store.user_names(ctx.session, [t.inspector for t in tasks.values()])
    for row in rows:
        task = tasks.get(row.case_no)
        if task is None:
            continue
        who = names.get(task.inspector, task.inspector) if task.inspector else "未指派监督员"
        row.note = f"核实中：{who}，时限 {local_time(task.deadline, '%m-%d %H:%M')}"
    return rows


def new_reports(ctx: Ctx) -> list[CaseRow]:
    return _verify_notes(ctx, _cases(ctx, CaseFilter(statuses=(S.REPORTED,)), "reported_at"))


def to_accept(ctx: Ctx) -> list[CaseRow]:
    """New reports; those located and not yet with an inspector can be sent for 核实 at once."""
    rows = new_reports(ctx)
    for row in rows:
        if not row.note and row.grid:
            row.quick = (Action.REQUEST_VERIFY.value, "派发核实", {})
    return rows


def closed_follow_up(ctx: Ctx) -> list[CaseRow]:
    since = ctx.now - timedelta(days=FOLLOW_UP_DAYS)
    return _cases(ctx, CaseFilter(statuses=(S.CLOSED,), closed_from=since), "-reported_at")


def to_file(ctx: Ctx) -> list[CaseRow]:
    rows = new_reports(ctx)
    for row in rows:
        row.quick = (Action.FILE.value, "立案", {})
    return rows


def _requests(ctx: Ctx, column: str, note: Callable[[str], str], action: Action,
              label: str) -> list[CaseRow]:
    """The open assignments waiting for a decision on the unit's request; one click grants
    it as asked (a suspension with the unit's reason)."""
    found = case_queries.pending_requests(ctx.session, ctx.user, ctx.now, column)
    rows = case_rows(ctx.session, ctx.city, found, ctx.now)
    for row, raw in zip(rows, found, strict=True):
        row.note = note(raw.request)
        fields = {"reason": raw.request} if action is Action.SUSPEND else {}
        row.quick = (action.value, label, fields)
    return rows


def extensions(ctx: Ctx) -> list[CaseRow]:
    return _requests(ctx, "extension_requested", lambda asked: f"申请延期 {limit_label(asked)}",
                     Action.EXTEND, "批准延期")


def suspension_requests(ctx: Ctx) -> list[CaseRow]:
    return _requests(ctx, "suspension_requested", lambda reason: f"申请挂账：{reason}",
                     Action.SUSPEND, "批准挂账")


def suspended(ctx: Ctx) -> list[CaseRow]:
    return _cases(ctx, CaseFilter(statuses=(S.SUSPENDED,)), "reported_at")


def to_close(ctx: Ctx) -> list[CaseRow]:
    rows = _cases(ctx, CaseFilter(statuses=(S.CHECKED,)), "reported_at")
    for row in rows:
        row.quick = (Action.CLOSE.value, "结案", {})
    return rows


def _suggest(ctx: Ctx, row: CaseRow, grid: str | None, category: str, owner: str | None) -> None:
    """The unit the responsibility matrix names for the case, and why (``city.responsible``)."""
    if grid is None:
        row.note = "案件尚未定位到单元网格，无法确定责任单位"
        return
    answer = ctx.city.responsible(category, grid, owner)
    refs = [UnitRef(code=u, name=unit_name(ctx.city, u)) for u in answer.units]
    _, row.note = cases_api.suggestion_message(answer, refs)
    if answer.unit is not None:
        row.quick = (Action.DISPATCH.value, f"派遣至{unit_name(ctx.city, answer.unit)}",
                     {"unit": answer.unit})


def to_dispatch(ctx: Ctx) -> list[CaseRow]:
    page = list_cases(ctx.session, ctx.user, CaseFilter(statuses=(S.FILED,)), ctx.now,
                      sort="reported_at", limit=QUEUE_SIZE)
    rows = case_rows(ctx.session, ctx.city, page.rows, ctx.now)
    owners = case_queries.component_owners(ctx.session, [r.case_no for r in rows])
    for row, raw in zip(rows, page.rows, strict=True):
        _suggest(ctx, row, raw.grid_code, raw.category_code, owners.get(row.case_no))
    return rows


def my_assignments(ctx: Ctx) -> list[CaseRow]:
    """The open assignments of the user's unit, the earliest deadline first."""
    filters = CaseFilter(statuses=(S.DISPATCHED, S.SUSPENDED), holder=ctx.user.unit_code)
    return _cases(ctx, filters, "due_at", limit=500)


def overdue_cases(ctx: Ctx) -> list[CaseRow]:
    return _cases(ctx, CaseFilter(overdue=True), "due_at", limit=100)


def due_soon(ctx: Ctx) -> list[CaseRow]:
    """Cases being handled whose deadline comes within one working hour (预警), each on its
    assignment's own calendar; the query's bound (one working hour on the default calendar,
    never shorter than one natural hour) only narrows the candidates."""
    soon = ctx.city.calendar().add(ctx.now, WARNING_SECONDS, True)
    filters = CaseFilter(statuses=(S.DISPATCHED,), overdue=False, due_before=soon)
    return [r for r in _cases(ctx, filters, "due_at", limit=100) if r.tone == "warning"]


@dataclass
class TaskRow:
    case_no: str
    kind: str
    category: str
    place: str
    grid: str
    deadline: datetime
    countdown: Countdown


def my_tasks(ctx: Ctx) -> list[TaskRow]:
    """The inspector's open 核实 and 核查 tasks, the earliest deadline first."""
    config = ctx.city.rules.config
    rows = []
    for t in tasks_api.tasks(ctx.session, ctx.city, ctx.now, ctx.user):
        limit = config.verify_limit if t.kind == "verify" else config.check_limit
        rows.append(TaskRow(
            case_no=t.case_no, kind=t.kind_label, category=t.category_name,
            place=t.address or t.description or "", grid=t.grid_name or "",
            deadline=t.deadline,
            countdown=countdown(ctx.city, config.task_calendar, limit, t.deadline, ctx.now,
                                t.overdue)))
    return rows


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    empty: str
    load: Callable[[Ctx], list[Any]]
    template: str = "home/_cases.html"


SECTIONS = {s.key: s for s in (
    Section("new_reports", "新上报待受理（补充信息、派发核实）", "没有待受理的上报", to_accept),
    Section("closed_follow_up", f"近 {FOLLOW_UP_DAYS} 日结案（待回访评价）", "近期没有结案", closed_follow_up),
    Section("to_file", "待立案 / 作废", "没有待立案的案件", to_file),
    Section("extensions", "延期申请待审批", "没有延期申请", extensions),
    Section("suspension_requests", "挂账申请待审批", "没有挂账申请", suspension_requests),
    Section("suspended", "挂账中（待恢复处置）", "没有挂账案件", suspended),
    Section("to_close", "核查通过待结案", "没有待结案的案件", to_close),
    Section("to_dispatch", "待派遣（含建议处置单位及依据）", "没有待派遣的案件", to_dispatch),
    Section("my_assignments", "本单位在办案件（按处置时限排序）", "本单位没有在办案件", my_assignments),
    Section("my_tasks", "我的核实、核查任务", "没有待办任务", my_tasks, "home/_tasks.html"),
    Section("overdue", "超时未办结案件", "没有超时案件", overdue_cases),
    Section("due_soon", "1 个工作小时内到期（预警）", "没有即将到期的案件", due_soon),
)}

ROLE_HOMES: dict[Role, tuple[str, tuple[str, ...]]] = {
    Role.ACCEPTOR: ("受理员工作台（监督中心）", ("new_reports", "closed_follow_up")),
    Role.SHIFT_LEADER: ("值班长工作台（监督中心）", ("to_file", "extensions", "suspension_requests",
                                                 "suspended", "to_close", "overdue", "due_soon")),
    Role.DISPATCHER: ("派遣员工作台（指挥中心）", ("to_dispatch",)),
    Role.HANDLER: ("处置单位工作台", ("my_assignments",)),
    Role.UNIT_LEADER: ("处置单位工作台", ("my_assignments",)),
    Role.INSPECTOR: ("监督员工作台", ("my_tasks",)),
    Role.LEADER: ("领导首页", ("overdue", "due_soon")),
    Role.ADMIN: ("系统管理员首页", ("overdue",)),
}


# --- counters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counter:
    label: str
    value: int
    tone: str = ""


CENTER_COUNTS = ((S.REPORTED, "待受理/立案"), (S.FILED, "待派遣"), (S.DISPATCHED, "处置中"),
                 (S.SUSPENDED, "挂账"), (S.HANDLED, "待核查"), (S.CHECKED, "待结案"))


def _center_counters(ctx: Ctx) -> list[Counter]:
    counts = case_queries.status_counts(ctx.session, ctx.user, [s for s, _ in CENTER_COUNTS])
    found = [Counter(label, counts.get(status.value, 0)) for status, label in CENTER_COUNTS]
    late = case_queries.count_cases(ctx.session, ctx.user, CaseFilter(overdue=True), ctx.now)
    today = day_start(local_day(ctx.now))
    reported = case_queries.count_cases(ctx.session, ctx.user, CaseFilter(reported_from=today), ctx.now)
    closed = case_queries.count_cases(ctx.session, ctx.user, CaseFilter(closed_from=today), ctx.now)
    return [*found, Counter("超时", late, "overdue" if late else ""),
            Counter("今日上报", reported), Counter("今日结案", closed)]


def _tone_counters(rows: list[Any], label: str) -> list[Counter]:
    late = sum(1 for r in rows if r.countdown is not None and r.countdown.tone == "overdue")
    soon = sum(1 for r in rows if r.countdown is not None and r.countdown.tone == "warning")
    return [Counter(label, len(rows)), Counter("已超时", late, "overdue" if late else ""),
            Counter("1 小时内到期", soon, "warning" if soon else "")]


def counters(ctx: Ctx) -> list[Counter]:
    if ctx.user.role in UNIT_STAFF:
        return _tone_counters(my_assignments(ctx), "在办案件")
    if ctx.user.role is Role.INSPECTOR:
        return _tone_counters(my_tasks(ctx), "待办任务")
    return _center_counters(ctx)


# --- routes ---------------------------------------------------------------------------------


def _sections(user: Principal) -> tuple[str, tuple[str, ...]]:
    return ROLE_HOMES.get(user.role, ("工作台", ()))


def _section_context(ctx: Ctx, key: str) -> dict[str, Any]:
    section = SECTIONS[key]
    return {"section": section, "rows": section.load(ctx), "now": ctx.now}


@router.get("/")
def home(request: Request, session: SessionDep, city: CityDep, now: NowDep,
         user: PageUser) -> Response:
    """The signed-in user's home: their role's counters and queues."""
    ctx = Ctx(session, city, user, now)
    title, keys = _sections(user)
    return render(request, "home/index.html", {
        "title": title, "counters": counters(ctx), "now": now,
        "sections": [_section_context(ctx, k) for k in keys],
        "calendar_banner": calendar_banner(city, user, now)})


@router.get("/parts/counters")
def counters_part(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                  user: PageUser) -> Response:
    ctx = Ctx(session, city, user, now)
    return render(request, "home/_counters.html", {"counters": counters(ctx), "now": now})


@router.get("/parts/{key}")
def section_part(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                 user: PageUser, key: str) -> Response:
    """One queue of the user's home, for htmx polling."""
    if key not in _sections(user)[1]:
        raise not_found_page("列表")
    ctx = Ctx(session, city, user, now)
    return render(request, "home/_section.html", _section_context(ctx, key))

