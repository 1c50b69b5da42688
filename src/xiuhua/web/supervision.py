"""督查督办 pages: the orders (the office issues them here or from a task), an order's page with
the unit's reply form, the office's accept / return / sign-off, and its 督办通知单 (Word)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from xiuhua.domain.access import UNIT_STAFF, Principal, manages_programme
from xiuhua.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.supervision import OrderLevel, OrderState
from xiuhua.http.deps import CityDep, NowDep, SessionDep
from xiuhua.reports.supervision import order_notice
from xiuhua.services import supervision
from xiuhua.web.auth import FormData
from xiuhua.web.pages import PageRoute, flash, page_for, render, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)
OrdersUser = Annotated[Principal, page_for("/supervision")]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/supervision")
def orders_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: OrdersUser,
                unit: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The orders; ``unit``: those addressed to that unit (the assessment's drill-down of ``tasks``)."""
    orders = supervision.list_orders(session, user, city, now, unit=unit or None)
    units = sorted(((u.code, u.name) for u in city.units.values() if u.active), key=lambda x: x[1])
    return render(request, "supervision/index.html", {
        "title": "督查督办", "orders": orders, "unit": unit or "", "manages": manages_programme(user), "units": units,
        "names": {u.code: u.name for u in city.units.values()}, "levels": list(OrderLevel)})


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        raise InvalidInput("编号须为数字", code="invalid_form") from None


@router.post("/supervision")
def issue_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: OrdersUser,
               form: FormData) -> Response:
    """Issue an order (from the list, a task's page or a case's number)."""
    back = f"/plans/{form['plan_id']}/tasks/{form['task_code']}" if form.get("plan_id") and form.get(
        "task_code") else "/supervision"
    try:
        data = supervision.OrderInput(
            title=form.get("title", ""), content=form.get("content", ""), unit_code=form.get("unit_code") or None,
            time_limit=form.get("time_limit") or supervision.DEFAULT_LIMIT, plan_id=_int(form.get("plan_id")),
            task_code=form.get("task_code") or None, case_no=form.get("case_no") or None,
            level=OrderLevel(form.get("level") or "blue"))
        with session.begin_nested():
            order_id = supervision.issue_order(session, user, city, data, now)
    except (DomainError, ValueError) as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        flash(request, f"签发未完成：{getattr(exc, 'message', '等级无效')}", "error")
        return see_other(back)
    flash(request, "督办单已签发")
    return see_other(f"/supervision/{order_id}")


@router.get("/supervision/{order_id}")
def order_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: OrdersUser,
               order_id: int) -> Response:
    order = supervision.order_view(session, user, city, order_id, now)
    unit = city.units.get(order.unit_code)
    return render(request, "supervision/order.html", {
        "title": order.number, "order": order, "unit_name": unit.name if unit else order.unit_code,
        "manages": manages_programme(user),
        "replies_here": user.role in UNIT_STAFF and user.unit_code == order.unit_code
        and order.state in (OrderState.ISSUED, OrderState.RETURNED)})


@router.get("/supervision/{order_id}/notice.docx")
def notice_page(session: SessionDep, city: CityDep, now: NowDep, user: OrdersUser, order_id: int) -> Response:
    """The order's 督办通知单 (Word)."""
    data = order_notice(supervision.notice_input(session, user, city, order_id, now))
    return Response(data, media_type=DOCX,
                    headers={"Content-Disposition": f'attachment; filename="order-{order_id}.docx"'})


@router.post("/supervision/{order_id}/{step}")
def step_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: OrdersUser,
              form: FormData, order_id: int, step: str) -> Response:
    """reply (the unit), accept / return / signoff (the office)."""
    back = f"/supervision/{order_id}"
    done = {"reply": "已回复", "accept": "回复已采纳", "return": "回复已退回", "signoff": "已销号"}
    try:
        with session.begin_nested():
            if step == "reply":
                supervision.reply(session, user, city, order_id, form.get("text", ""), now)
            elif step in ("accept", "return"):
                supervision.review(session, user, city, order_id, step == "accept", now, form.get("reason"))
            elif step == "signoff":
                supervision.sign_off(session, user, city, order_id, now)
            else:
                raise InvalidInput("未知操作", code="invalid_action")
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied) or exc.code == "invalid_action":
            raise
        flash(request, f"未完成：{exc.message}", "error")
        return see_other(back)
    flash(request, done[step])
    return see_other(back)
