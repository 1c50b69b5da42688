"""Supervision orders (督查督办单): issued by the office to one unit (from a plan task, a case, a
project, a legacy issue, or free-standing), replied to by the unit, accepted or returned, signed
off; the level (blue / yellow / red) as it stands now; the 督办通知单 (Word)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from xiuhua.domain.supervision import OrderLevel, OrderOrigin
from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep
from xiuhua.http.problems import problem_responses
from xiuhua.services import supervision as service

router = APIRouter(prefix="/supervision-orders", tags=["督查督办"])
MAX_ID = 2**63 - 1
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="督办单编号")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权执行", 404: "督办单不存在或不在权限范围内",
            422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


class ReplyPublic(BaseModel):
    id: int
    text: str
    sent_by: str | None
    sent_at: datetime
    state: str
    reviewed_at: datetime | None
    review_reason: str | None


class OrderPublic(BaseModel):
    id: int
    number: str  # 督办〔2026〕17号
    title: str
    content: str
    unit_code: str
    unit_name: str | None
    origin: str
    plan_id: int | None
    task_code: str | None
    case_no: str | None
    origin_ref: str | None
    time_limit: str
    issued_at: datetime
    due_at: datetime
    state: str
    state_label: str
    level: str
    level_label: str
    on_time: bool  # an accepted reply sent before the deadline
    signed_off_at: datetime | None
    replies: list[ReplyPublic]


def order_public(v: service.OrderView, names: dict[str, str]) -> OrderPublic:
    return OrderPublic(
        id=v.id, number=v.number, title=v.title, content=v.content, unit_code=v.unit_code,
        unit_name=names.get(v.unit_code), origin=v.origin.value, plan_id=v.plan_id, task_code=v.task_code,
        case_no=v.case_no, origin_ref=v.origin_ref, time_limit=v.time_limit, issued_at=v.issued_at,
        due_at=v.due_at, state=v.state.value, state_label=v.state.label, level=v.level.value,
        level_label=v.level.label, on_time=v.on_time, signed_off_at=v.signed_off_at,
        replies=[ReplyPublic(id=r.id, text=r.text, sent_by=r.sent_by, sent_at=r.sent_at, state=r.state.value,
                             reviewed_at=r.reviewed_at, review_reason=r.review_reason) for r in v.replies])


def _names(city: Any) -> dict[str, str]:
    return {u.code: u.name for u in city.units.values()}


@router.get("", response_model=list[OrderPublic], responses=_problems(401))
def list_orders(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser) -> list[OrderPublic]:
    """The orders the caller may see (a unit: those addressed to it), newest first."""
    names = _names(city)
    return [order_public(v, names) for v in service.list_orders(session, user, city, now)]


class OrderCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=4000)
    unit_code: str | None = Field(None, max_length=32, description="督办单位（由任务、案件发起时可省略）")
    time_limit: str = Field("10wd", max_length=32, description="办理时限，如 10wd（工作日）")
    plan_id: int | None = Field(None, ge=1, le=MAX_ID)
    task_code: str | None = Field(None, max_length=32)
    case_no: str | None = Field(None, max_length=20)
    origin: OrderOrigin | None = Field(None, description="project / legacy（与 origin_ref 一起）")
    origin_ref: str | None = Field(None, max_length=64)
    level: OrderLevel = OrderLevel.BLUE


@router.post("", status_code=201, response_model=OrderPublic, responses=_problems(401, 403, 404, 422))
def issue_order(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, body: OrderCreate
                ) -> OrderPublic:
    """The office issues an order to one unit: from a plan task (``plan_id`` + ``task_code``:
    its lead unit), a case (``case_no``: its handling unit; the case's ``supervise`` action is
    taken too), a project or legacy issue (``origin`` + ``origin_ref``), or free-standing."""
    order_id = service.issue_order(session, user, city, service.OrderInput(**body.model_dump()), now)
    return order_public(service.order_view(session, user, city, order_id, now), _names(city))


@router.get("/{order_id}", response_model=OrderPublic, responses=_problems(401, 404))
def get_order(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, order_id: OrderId
              ) -> OrderPublic:
    return order_public(service.order_view(session, user, city, order_id, now), _names(city))


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ReasonIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


def _after(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, order_id: int) -> OrderPublic:
    return order_public(service.order_view(session, user, city, order_id, now), _names(city))


@router.post("/{order_id}/reply", response_model=OrderPublic, responses=_problems(401, 403, 404, 422))
def reply(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, order_id: OrderId,
          body: TextIn) -> OrderPublic:
    """The addressed unit replies (again after a return)."""
    service.reply(session, user, city, order_id, body.text, now)
    return _after(session, city, now, user, order_id)


@router.post("/{order_id}/accept", response_model=OrderPublic, responses=_problems(401, 403, 404, 422))
def accept(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, order_id: OrderId
           ) -> OrderPublic:
    """The office accepts the reply: only an accepted reply counts as replied."""
    service.review(session, user, city, order_id, True, now)
    return _after(session, city, now, user, order_id)


@router.post("/{order_id}/return", response_model=OrderPublic, responses=_problems(401, 403, 404, 422))
def return_reply(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, order_id: OrderId,
                 body: ReasonIn) -> OrderPublic:
    """The office returns the reply with a ``reason``; the unit replies again."""
    service.review(session, user, city, order_id, False, now, body.reason)
    return _after(session, city, now, user, order_id)


@router.post("/{order_id}/signoff", response_model=OrderPublic, responses=_problems(401, 403, 404, 422))
def signoff(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, order_id: OrderId
            ) -> OrderPublic:
    """销号: the office closes an order whose reply it accepted."""
    service.sign_off(session, user, city, order_id, now)
    return _after(session, city, now, user, order_id)

