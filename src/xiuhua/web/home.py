"""Each role's home (工作台): counters and work queues that refresh themselves (htmx polling),
with one-click actions where the next step is plain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from xiuhua.domain.access import UNIT_STAFF, Principal, notice_audience
from xiuhua.domain.calendar import day_start, local_day
from xiuhua.domain.choices import Action, CaseStatus, NoticeKind, Role
from xiuhua.domain.city import City
from xiuhua.domain.notices import TargetKind, link, notice_title
from xiuhua.http.deps import CityDep, NowDep, SessionDep
from xiuhua.http.presenters import suggestion_message, task_views
from xiuhua.http.schemas import UnitRef
from xiuhua.services import notifications as notices
from xiuhua.store import case_queries
from xiuhua.store import city as city_store
from xiuhua.store.case_queries import CaseFilter, list_cases
from xiuhua.web.calendar_banner import calendar_banner
from xiuhua.web.pages import PageRoute, PageUser, limit_label, local_time, not_found_page, render
from xiuhua.web.views import WARNING_SECONDS, CaseRow, Countdown, case_rows, countdown, unit_name

router = APIRouter(route_class=PageRoute, include_in_schema=False)
S = CaseStatus
PAGE_SIZE = 20
FOLLOW_UP_DAYS = 7
MAX_CANDIDATES = 1000  # due-soon candidates and an inspector's tasks, read whole


@dataclass(frozen=True)
class Ctx:
    session: Session
    city: City
    user: Principal
    now: datetime
    page: int = 1  # of the queue being read

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE


@dataclass
class Queue:
    """One page of a queue and its true total (the badge), in the order work needs doing."""

    rows: list[Any]
    total: int
    page: int = 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.rows)


def _cases(ctx: Ctx, filters: CaseFilter, sort: str) -> tuple[list[CaseRow], list[Any], int]:
    """This page's queue lines, their raw rows, and how many cases match in all."""
    total = case_queries.count_cases(ctx.session, ctx.user, filters, ctx.now)
    page = list_cases(ctx.session, ctx.user, filters, ctx.now, sort=sort, limit=PAGE_SIZE,
                      offset=ctx.offset)
    return case_rows(ctx.session, ctx.city, page.rows, ctx.now), page.rows, total


def _queue(ctx: Ctx, filters: CaseFilter, sort: str) -> Queue:
    rows, _, total = _cases(ctx, filters, sort)
    return Queue(rows, total, ctx.page)


def _sliced(ctx: Ctx, rows: list[Any]) -> Queue:
    return Queue(rows[ctx.offset:ctx.offset + PAGE_SIZE], len(rows), ctx.page)


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


def _reports(ctx: Ctx, sort: str) -> Queue:
    found = _queue(ctx, CaseFilter(statuses=(S.REPORTED,)), sort)
    _verify_notes(ctx, found.rows)
    return found


def to_accept(ctx: Ctx) -> Queue:
    """New reports, the newest first (a citizen's report of a minute ago on top); those located
    and not yet with an inspector can be sent for 核实 at once."""
    found = _reports(ctx, "-reported_at")
    for row in found.rows:
        if not row.note and row.grid:
            row.quick = (Action.REQUEST_VERIFY.value, "派发核实", {})
    return found


def closed_follow_up(ctx: Ctx) -> Queue:
    since = ctx.now - timedelta(days=FOLLOW_UP_DAYS)
    return _queue(ctx, CaseFilter(statuses=(S.CLOSED,), closed_from=since), "-reported_at")


def to_file(ctx: Ctx) -> Queue:
    """Reports to file, the longest waiting first (the filing time limit runs from the report)."""
    found = _reports(ctx, "reported_at")
    for row in found.rows:
        row.quick = (Action.FILE.value, "立案", {})
    return found


def _requests(ctx: Ctx, column: str, note: Callable[[str], str], action: Action,
              label: str) -> Queue:
    """The open assignments waiting for a decision on the unit's request, the earliest deadline
    first; one click grants it as asked (a suspension with the unit's reason)."""
    total = case_queries.count_pending_requests(ctx.session, ctx.user, column)
    found = case_queries.pending_requests(ctx.session, ctx.user, ctx.now, column,
                                          limit=PAGE_SIZE, offset=ctx.offset)
    rows = case_rows(ctx.session, ctx.city, found, ctx.now)
    for row, raw in zip(rows, found, strict=True):
        row.note = note(raw.request)
        fields = {"reason": raw.request} if action is Action.SUSPEND else {}
        row.quick = (action.value, label, fields)
    return Queue(rows, total, ctx.page)


def extensions(ctx: Ctx) -> Queue:
    return _requests(ctx, "extension_requested", lambda asked: f"申请延期 {limit_label(asked)}",
                     Action.EXTEND, "批准延期")


def suspension_requests(ctx: Ctx) -> Queue:
    return _requests(ctx, "suspension_requested", lambda reason: f"申请挂账：{reason}",
                     Action.SUSPEND, "批准挂账")


def suspended(ctx: Ctx) -> Queue:
    return _queue(ctx, CaseFilter(statuses=(S.SUSPENDED,)), "reported_at")


def to_close(ctx: Ctx) -> Queue:
    found = _queue(ctx, CaseFilter(statuses=(S.CHECKED,)), "reported_at")
    for row in found.rows:
        row.quick = (Action.CLOSE.value, "结案", {})
    return found


def _suggest(ctx: Ctx, row: CaseRow, grid: str | None, category: str, owner: str | None) -> None:
    """The unit the responsibility matrix names for the case, and why (``city.responsible``)."""
    if grid is None:
        row.note = "案件尚未定位到单元网格，无法确定责任单位"
        return
    answer = ctx.city.responsible(category, grid, owner)
    refs = [UnitRef(code=u, name=unit_name(ctx.city, u)) for u in answer.units]
    _, row.note = suggestion_message(answer, refs)
    if answer.unit is not None:
        row.quick = (Action.DISPATCH.value, f"派遣至{unit_name(ctx.city, answer.unit)}",
                     {"unit": answer.unit})


def to_dispatch(ctx: Ctx) -> Queue:
    rows, raw_rows, total = _cases(ctx, CaseFilter(statuses=(S.FILED,)), "reported_at")
    owners = case_queries.component_owners(ctx.session, [r.case_no for r in rows])
    for row, raw in zip(rows, raw_rows, strict=True):
        _suggest(ctx, row, raw.grid_code, raw.category_code, owners.get(row.case_no))
    return Queue(rows, total, ctx.page)


def _tomorrow(ctx: Ctx) -> datetime:
    return day_start(local_day(ctx.now) + timedelta(days=1))


def _unit_filters(ctx: Ctx) -> dict[str, CaseFilter]:
    """The unit's open assignments in groups: overdue, due today, due later, suspended."""
    unit, handling, tomorrow = ctx.user.unit_code, (S.DISPATCHED,), _tomorrow(ctx)
    return {
        "my_overdue": CaseFilter(statuses=handling, holder=unit, overdue=True),
        "my_due_today": CaseFilter(statuses=handling, holder=unit, overdue=False,
                                   due_before=tomorrow),
        "my_due_later": CaseFilter(statuses=handling, holder=unit, due_from=tomorrow),
        "my_suspended": CaseFilter(statuses=(S.SUSPENDED,), holder=unit),
    }


def _unit_queue(key: str) -> Callable[[Ctx], Queue]:
    def load(ctx: Ctx) -> Queue:
        return _queue(ctx, _unit_filters(ctx)[key], "due_at")  # the most overdue first
    return load


def overdue_cases(ctx: Ctx) -> Queue:
    return _queue(ctx, CaseFilter(overdue=True), "due_at")


def due_soon(ctx: Ctx) -> Queue:
    """Cases being handled whose deadline comes within one working hour (预警), each on its
    assignment's own calendar; the query's bound (one working hour on the default calendar,
    never shorter than one natural hour) only narrows the candidates."""
    soon = ctx.city.calendar().add(ctx.now, WARNING_SECONDS, True)
    filters = CaseFilter(statuses=(S.DISPATCHED,), overdue=False, due_before=soon)
    page = list_cases(ctx.session, ctx.user, filters, ctx.now, sort="due_at",
                      limit=MAX_CANDIDATES)
    rows = case_rows(ctx.session, ctx.city, page.rows, ctx.now)
    return _sliced(ctx, [r for r in rows if r.tone == "warning"])


@dataclass
class TaskRow:
    case_no: str
    kind: str
    category: str
    place: str
    grid: str
    deadline: datetime
    countdown: Countdown


def all_tasks(ctx: Ctx) -> list[TaskRow]:
    """The inspector's open 核实 and 核查 tasks, the earliest deadline first."""
    config = ctx.city.rules.config
    rows = []
    for t in task_views(ctx.session, ctx.city, ctx.now, ctx.user, limit=MAX_CANDIDATES):
        limit = config.verify_limit if t.kind == "verify" else config.check_limit
        rows.append(TaskRow(
            case_no=t.case_no, kind=t.kind_label, category=t.category_name,
            place=t.address or t.description or "", grid=t.grid_name or "",
            deadline=t.deadline,
            countdown=countdown(ctx.city, config.task_calendar, limit, t.deadline, ctx.now,
                                t.overdue)))
    return rows


def my_tasks(ctx: Ctx) -> Queue:
    return _sliced(ctx, all_tasks(ctx))


@dataclass(frozen=True)
class NoticeRow:
    id: int
    kind: str
    title: str
    text: str
    url: str
    at: datetime


def my_notices(ctx: Ctx) -> Queue:
    """The user's unread notifications (their unit's or the center's, personal, their role's),
    the newest first: one page, read in full through the API."""
    if not notice_audience(ctx.user):
        return Queue([], 0)
    page = notices.list_notices(ctx.session, ctx.user, unread_only=True, limit=PAGE_SIZE)
    rows = [NoticeRow(r.id, r.kind, notice_title(NoticeKind(r.kind), TargetKind(r.target_kind),
                                                 r.target_id),
                      r.message, link(TargetKind(r.target_kind), r.target_id), r.at)
            for r in page.items]
    return Queue(rows, len(rows))


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    empty: str
    load: Callable[[Ctx], Queue]
    template: str = "home/_cases.html"


UNIT_SECTIONS = ("my_overdue", "my_due_today", "my_due_later", "my_suspended")
SECTIONS = {s.key: s for s in (
    Section("notices", f"未读通知（最新 {PAGE_SIZE} 条）", "没有未读通知", my_notices,
            "home/_notices.html"),
    Section("new_reports", "新上报待受理（最新在前；补充信息、派发核实）", "没有待受理的上报", to_accept),
    Section("closed_follow_up", f"近 {FOLLOW_UP_DAYS} 日结案（待回访评价）", "近期没有结案", closed_follow_up),
    Section("to_file", "待立案 / 作废", "没有待立案的案件", to_file),
    Section("extensions", "延期申请待审批", "没有延期申请", extensions),
    Section("suspension_requests", "挂账申请待审批", "没有挂账申请", suspension_requests),
    Section("suspended", "挂账中（待恢复处置）", "没有挂账案件", suspended),
    Section("to_close", "核查通过待结案", "没有待结案的案件", to_close),
    Section("to_dispatch", "待派遣（含建议处置单位及依据）", "没有待派遣的案件", to_dispatch),
    Section("my_overdue", "已超时（请尽快处置）", "没有超时案件", _unit_queue("my_overdue")),
    Section("my_due_today", "今日到期", "今天没有到期的案件", _unit_queue("my_due_today")),
    Section("my_due_later", "以后到期", "没有以后到期的案件", _unit_queue("my_due_later")),
    Section("my_suspended", "挂账中（时限暂停）", "没有挂账案件", _unit_queue("my_suspended")),
    Section("my_tasks", "我的核实、核查任务", "没有待办任务", my_tasks, "home/_tasks.html"),
    Section("overdue", "超时未办结案件", "没有超时案件", overdue_cases),
    Section("due_soon", "1 个工作小时内到期（预警）", "没有即将到期的案件", due_soon),
)}

ROLE_HOMES: dict[Role, tuple[str, tuple[str, ...]]] = {
    Role.ACCEPTOR: ("受理员工作台（监督中心）", ("notices", "new_reports", "closed_follow_up")),
    Role.SHIFT_LEADER: ("值班长工作台（监督中心）", ("notices", "to_file", "extensions", "suspension_requests",
                                                 "suspended", "to_close", "overdue", "due_soon")),
    Role.DISPATCHER: ("派遣员工作台（指挥中心）", ("notices", "to_dispatch")),
    Role.HANDLER: ("处置单位工作台", ("notices", *UNIT_SECTIONS)),
    Role.UNIT_LEADER: ("处置单位工作台", ("notices", *UNIT_SECTIONS)),
    Role.INSPECTOR: ("监督员工作台", ("notices", "my_tasks")),
    Role.LEADER: ("领导首页", ("notices", "overdue", "due_soon")),
    Role.OFFICE: ("城管委办公室首页", ("notices", "overdue", "due_soon")),  # cases read like a leader
    Role.ADMIN: ("系统管理员首页", ("notices", "overdue")),
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


def _unit_counters(ctx: Ctx) -> list[Counter]:
    """The unit's open assignments and their groups: the same counts as the queues' badges."""
    counts = {key: case_queries.count_cases(ctx.session, ctx.user, f, ctx.now)
              for key, f in _unit_filters(ctx).items()}
    late, today = counts["my_overdue"], counts["my_due_today"]
    return [Counter("在办案件", sum(counts.values())),
            Counter("已超时", late, "overdue" if late else ""),
            Counter("今日到期", today, "warning" if today else ""),
            Counter("以后到期", counts["my_due_later"]), Counter("挂账中", counts["my_suspended"])]


def _task_counters(rows: list[TaskRow]) -> list[Counter]:
    late = sum(1 for r in rows if r.countdown.tone == "overdue")
    soon = sum(1 for r in rows if r.countdown.tone == "warning")
    return [Counter("待办任务", len(rows)), Counter("已超时", late, "overdue" if late else ""),
            Counter("1 小时内到期", soon, "warning" if soon else "")]


def counters(ctx: Ctx) -> list[Counter]:
    if ctx.user.role in UNIT_STAFF:
        return _unit_counters(ctx)
    if ctx.user.role is Role.INSPECTOR:
        return _task_counters(all_tasks(ctx))
    return _center_counters(ctx)


# --- routes ---------------------------------------------------------------------------------


def _sections(user: Principal) -> tuple[str, tuple[str, ...]]:
    return ROLE_HOMES.get(user.role, ("工作台", ()))


def _page_number(request: Request, key: str) -> int:
    """The page of queue ``key`` the browser asks for (``?<key>=3``), 1 when absent or bad."""
    text = request.query_params.get(key, "")
    return int(text) if text.isdigit() and 0 < int(text) < 100_000 else 1


def _section_context(ctx: Ctx, key: str) -> dict[str, Any]:
    section = SECTIONS[key]
    queue = section.load(ctx)
    if queue.page > queue.pages:  # the queue shrank under the reader: its last page
        queue = section.load(replace(ctx, page=queue.pages))
    return {"section": section, "queue": queue, "rows": queue.rows, "now": ctx.now}


@router.get("/")
def home(request: Request, session: SessionDep, city: CityDep, now: NowDep,
         user: PageUser) -> Response:
    """The signed-in user's home: their role's counters and queues."""
    ctx = Ctx(session, city, user, now)
    title, keys = _sections(user)
    return render(request, "home/index.html", {
        "title": title, "counters": counters(ctx), "now": now,
        "sections": [_section_context(replace(ctx, page=_page_number(request, k)), k)
                     for k in keys],
        "calendar_banner": calendar_banner(city, user, now)})


@router.get("/parts/counters")
def counters_part(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                  user: PageUser) -> Response:
    ctx = Ctx(session, city, user, now)
    return render(request, "home/_counters.html", {"counters": counters(ctx), "now": now})


@router.get("/parts/{key}")
def section_part(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                 user: PageUser, key: str) -> Response:
    """One queue of the user's home (``?page=N``), for htmx polling and paging."""
    if key not in _sections(user)[1]:
        raise not_found_page("列表")
    ctx = Ctx(session, city, user, now, _page_number(request, "page"))
    return render(request, "home/_section.html", _section_context(ctx, key))
