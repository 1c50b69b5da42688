"""Use cases of supervision orders (督查督办单): issue (from a plan task, a case, a project, a
legacy issue or free-standing), reply, accept or return the reply, sign off, raise the level;
the lists and the order's view. Each takes a ``Session`` and never commits."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import UNIT_STAFF, OrderScope, Principal, can_see_order, check_manages_programme
from xiuhua.domain.calendar import TimeLimit, WorkCalendar, local_day
from xiuhua.domain.choices import Action, RegionLevel, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.plans import ReportState, check_reason
from xiuhua.domain.reports import OrderNoticeInput
from xiuhua.domain.supervision import (
    Escalation,
    OrderAction,
    OrderFacts,
    OrderLevel,
    OrderOrigin,
    OrderState,
    check_raise,
    check_text,
    document_number,
    next_state,
    order_due,
    order_level,
    replied_on_time,
)
from xiuhua.services.cases import ActionInput, perform_action, visible_case
from xiuhua.store import plans as plans_store
from xiuhua.store import supervision as store

ESCALATION = Escalation()
DEFAULT_LIMIT = "10wd"


@dataclass(frozen=True)
class ReplyView:
    id: int
    text: str
    sent_by: str | None
    sent_at: datetime
    state: ReportState
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None


@dataclass(frozen=True)
class OrderView:
    id: int
    number: str
    title: str
    content: str
    unit_code: str
    origin: OrderOrigin
    task_id: int | None
    plan_id: int | None
    task_code: str | None
    case_no: str | None
    origin_ref: str | None
    time_limit: str
    issued_at: datetime
    issued_by: str | None
    due_at: datetime
    state: OrderState
    level: OrderLevel
    signed_off_at: datetime | None
    replies: tuple[ReplyView, ...]
    facts: OrderFacts

    @property
    def scope(self) -> OrderScope:
        return OrderScope(self.unit_code)

    @property
    def on_time(self) -> bool:
        return replied_on_time(self.facts)


def _facts(row: Any, replies: list[Any]) -> OrderFacts:
    accepted = next((r for r in replies if r.state == ReportState.ACCEPTED), None)
    return OrderFacts(row.issued_at, TimeLimit.parse(row.time_limit), row.due_at,
                      accepted.sent_at if accepted else None, accepted.reviewed_at if accepted else None,
                      OrderLevel(row.raised_level))


def _views(session: Session, rows: list[Any], at: datetime, calendar: WorkCalendar) -> list[OrderView]:
    replies = store.replies(session, [r.id for r in rows]) if rows else {}
    task_ids = [r.task_id for r in rows if r.task_id is not None]
    tasks = {t.id: t for t in plans_store.tasks(session, ids=task_ids)} if task_ids else {}
    found = []
    for r in rows:
        reps = replies.get(r.id, [])
        facts = _facts(r, reps)
        task = tasks.get(r.task_id) if r.task_id is not None else None
        found.append(OrderView(
            r.id, document_number(r.year, r.serial), r.title, r.content, r.unit_code, OrderOrigin(r.origin),
            r.task_id, task.plan_id if task else None, task.code if task else None, r.case_no, r.origin_ref,
            r.time_limit, r.issued_at, r.issued_by, r.due_at, OrderState(r.state),
            order_level(facts, at, calendar, ESCALATION), r.signed_off_at,
            tuple(ReplyView(x.id, x.text, x.sent_by, x.sent_at, ReportState(x.state), x.reviewed_by,
                            x.reviewed_at, x.review_reason) for x in reversed(reps)), facts))
    return found


def all_orders(session: Session, calendar: WorkCalendar, at: datetime) -> list[OrderView]:
    return _views(session, store.orders(session), at, calendar)


def list_orders(session: Session, principal: Principal, city: City, at: datetime,
                unit: str | None = None, task_id: int | None = None) -> list[OrderView]:
    """The orders ``principal`` may see (a unit: those addressed to it), newest first."""
    rows = store.orders(session, unit, [task_id] if task_id is not None else None)
    return [v for v in _views(session, rows, at, city.calendar()) if can_see_order(principal, v.scope)]


def order_view(session: Session, principal: Principal, city: City, order_id: int, at: datetime) -> OrderView:
    row = store.order(session, order_id)
    if row is None:
        raise NotFound("督办单不存在", code="order_not_found")
    view = _views(session, [row], at, city.calendar())[0]
    if not can_see_order(principal, view.scope):
        raise NotFound("督办单不存在", code="order_not_found")
    return view


@dataclass(frozen=True)
class OrderInput:
    title: str
    content: str
    unit_code: str | None = None  # required unless raised from a task (its lead unit) or case
    time_limit: str = DEFAULT_LIMIT
    plan_id: int | None = None  # with task_code: raised from a plan task
    task_code: str | None = None
    case_no: str | None = None  # raised from a case
    origin: OrderOrigin | None = None  # project / legacy with origin_ref
    origin_ref: str | None = None
    level: OrderLevel = OrderLevel.BLUE


def issue_order(session: Session, principal: Principal, city: City, data: OrderInput, at: datetime) -> int:
    """The office issues an order to one unit. From a case, the case's ``supervise`` action is
    taken too (the order and the action are one supervision)."""
    check_manages_programme(principal, "签发督办单")
    title, content = check_text(data.title, "督办事项")[:200], check_text(data.content, "督办内容")
    limit = city.calendar().parse_limit(data.time_limit or DEFAULT_LIMIT)
    origin, unit, task_id = _origin(session, city, principal, data, at)
    if unit is None or unit not in city.units:
        raise InvalidInput("请指定督办单位", code="unknown_unit")
    year = local_day(at).year
    return store.insert_order(session, {
        "year": year, "serial": store.next_serial(session, year), "title": title, "content": content,
        "unit_code": unit, "origin": origin.value, "task_id": task_id, "case_no": data.case_no,
        "origin_ref": data.origin_ref, "time_limit": str(limit), "issued_at": at,
        "issued_by": principal.login, "due_at": order_due(at, limit, city.calendar()),
        "state": OrderState.ISSUED.value, "raised_level": data.level.value})


def _origin(session: Session, city: City, principal: Principal, data: OrderInput, at: datetime
            ) -> tuple[OrderOrigin, str | None, int | None]:
    if data.task_code is not None and data.plan_id is not None:
        task = plans_store.task_by_code(session, data.plan_id, data.task_code)
        if task is None or task.lead_unit is None:
            raise NotFound("任务不存在", code="task_not_found")
        return OrderOrigin.TASK, data.unit_code or task.lead_unit, task.id
    if data.case_no is not None:
        case = visible_case(session, principal, data.case_no)
        perform_action(session, city, principal, data.case_no, Action.SUPERVISE,
                       ActionInput(version=case.version, note=f"督办单：{data.title}"), at)
        return OrderOrigin.CASE, data.unit_code or case.holder, None
    if data.origin in (OrderOrigin.PROJECT, OrderOrigin.LEGACY):
        if not data.origin_ref:
            raise InvalidInput("请指定项目或遗留问题编号", code="invalid_origin")
        return data.origin, data.unit_code, None
    return OrderOrigin.FREE, data.unit_code, None


def _act(view: OrderView, action: OrderAction) -> OrderState:
    return next_state(view.state, action)


def reply(session: Session, principal: Principal, city: City, order_id: int, text: str, at: datetime) -> None:
    """The addressed unit replies (again, after a return)."""
    view = order_view(session, principal, city, order_id, at)
    if principal.role not in UNIT_STAFF or principal.unit_code != view.unit_code:
        raise PermissionDenied("只有被督办单位可以回复", code="permission_denied")
    state = _act(view, OrderAction.REPLY)
    store.insert_reply(session, order_id, check_text(text, "回复内容")[:4000], principal.login, at)
    store.set_order(session, order_id, state=state.value)


def review(session: Session, principal: Principal, city: City, order_id: int, accept: bool, at: datetime,
           reason: str | None = None) -> None:
    """The office accepts the latest reply (only then it counts as replied) or returns it."""
    check_manages_programme(principal, "审核督办回复")
    view = order_view(session, principal, city, order_id, at)
    state = _act(view, OrderAction.ACCEPT if accept else OrderAction.RETURN)
    text = None if accept else check_reason(reason, "退回")
    latest = view.replies[0]
    store.review_reply(session, latest.id, (ReportState.ACCEPTED if accept else ReportState.RETURNED).value,
                       principal.login, at, text)
    store.set_order(session, order_id, state=state.value)


def sign_off(session: Session, principal: Principal, city: City, order_id: int, at: datetime) -> None:
    """销号: the office closes an order whose reply it accepted."""
    check_manages_programme(principal, "督办销号")
    view = order_view(session, principal, city, order_id, at)
    state = _act(view, OrderAction.SIGNOFF)
    store.set_order(session, order_id, state=state.value, signed_off_at=at, signed_off_by=principal.login)


def raise_level(session: Session, principal: Principal, city: City, order_id: int, level: OrderLevel,
                at: datetime) -> None:
    check_manages_programme(principal, "提高督办等级")
    view = order_view(session, principal, city, order_id, at)
    _act(view, OrderAction.RAISE)
    check_raise(view.level, level)
    store.set_order(session, order_id, raised_level=level.value)


def notice_input(session: Session, principal: Principal, city: City, order_id: int, at: datetime,
                 issuer: str | None = None) -> OrderNoticeInput:
    """What the order's 督办通知单 shows (issued by the city's 城市管理委员会办公室 unless named)."""
    if issuer is None:
        city_name = next((r.name for r in city.regions.values() if r.level is RegionLevel.CITY), "")
        issuer = f"{city_name}城市管理委员会办公室"
    view = order_view(session, principal, city, order_id, at)
    unit = city.units.get(view.unit_code)
    origin = view.origin.label
    if view.task_code:
        origin += f" {view.task_code}"
    elif view.case_no:
        origin += f" {view.case_no}"
    limit = city.calendar().parse_limit(view.time_limit)
    return OrderNoticeInput(issuer, view.number, unit.name if unit else view.unit_code, view.title, view.content,
                            origin, view.issued_at, view.due_at, limit_text(limit), view.level.label)


def limit_text(limit: TimeLimit) -> str:
    number = limit.text[:-len(limit.unit.value)]
    return f"{number} 个{limit.unit.label}" if limit.unit.value.endswith("d") else f"{number} {limit.unit.label}"


# --- the demo city's orders ---------------------------------------------------------------------

# (task code or None, unit, title, days since issue, what happened: replies / review / sign-off)
_DEMO_ORDERS: tuple[tuple[str | None, str, str, int, str], ...] = (
    ("1.3", "PSC", "雨污分流管网改造严重滞后", 30, "none"),
    ("2.2", "CGZF", "违法建设治理进度滞后", 25, "returned"),
    ("1.10", "GSGS", "供水管网更新逾期未完成", 20, "none"),
    ("2.11", "PSC", "积水点排查整治逾期", 16, "replied"),
    ("1.2", "ZJJ", "老旧小区改造进度滞后", 10, "none"),
    ("1.7", "HWZX", "垃圾转运站升级滞后", 9, "accepted"),
    ("2.3", "CGZF", "渣土车辆抛洒滴漏反弹", 8, "none"),
    ("2.6", "SJJ", "门前三包落实不到位", 6, "replied"),
    (None, "HWZX", "主次干道保洁不到位", 3, "none"),
    (None, "YLZX", "行道树缺株补植", 2, "none"),
    (None, "JJDD", "重点路口乱停车整治", 1, "none"),
    ("1.4", "YLZX", "口袋公园建设督导", 40, "signed_off"),
    ("2.4", "CGZF", "户外广告整治督导", 35, "signed_off_late"),
    ("1.12", "SJJ", "农贸市场改造督导", 28, "signed_off"),
    (None, "CGZF", "占道经营投诉集中", 4, "raised"),
)


def build_demo_orders(session: Session, city: City, office: Principal, plan_id: int, now: datetime) -> None:
    """About fifteen orders in every level (blue, yellow, red, one raised by hand) and state
    (waiting, replied, returned, accepted, signed off on time and late)."""
    for code, unit, title, days, story in _DEMO_ORDERS:
        if unit not in city.units:
            continue
        issued = now - timedelta(days=days)
        data = OrderInput(title, f"{title}，请立即组织整改，按时限书面回复办理情况。", unit_code=unit,
                          plan_id=plan_id if code else None, task_code=code,
                          level=OrderLevel.RED if story == "raised" else OrderLevel.BLUE)
        if code is not None and plans_store.task_by_code(session, plan_id, code) is None:
            data = replace(data, plan_id=None, task_code=None)
        order_id = issue_order(session, office, city, data, issued)
        _demo_story(session, city, office, order_id, unit, story, issued)


def _demo_story(session: Session, city: City, office: Principal, order_id: int, unit: str, story: str,
                issued: datetime) -> None:
    if story in ("none", "raised"):
        return
    staff = Principal(f"handler_{unit.lower()}", Role.HANDLER, unit_code=unit)
    late = story == "signed_off_late"
    first = issued + timedelta(days=18 if late else 3)
    reply(session, staff, city, order_id, "已组织专班整改，详见附件。", first)
    if story == "replied":
        return
    if story == "returned":
        review(session, office, city, order_id, False, first + timedelta(hours=4), "整改措施不具体，请补充完成时限")
        return
    review(session, office, city, order_id, True, first + timedelta(hours=4))
    if story.startswith("signed_off"):
        sign_off(session, office, city, order_id, first + timedelta(days=1))
