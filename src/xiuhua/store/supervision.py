"""Supervision orders (督查督办单) and their replies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from xiuhua.store.cases import Bind
from xiuhua.store.tables import supervision_orders, supervision_replies


def next_serial(bind: Bind, year: int) -> int:
    """The next document number of ``year`` (督办〔year〕N号)."""
    last = bind.execute(select(func.max(supervision_orders.c.serial))
                        .where(supervision_orders.c.year == year)).scalar()
    return int(last or 0) + 1


def insert_order(bind: Bind, row: dict[str, Any]) -> int:
    return int(bind.execute(insert(supervision_orders).values(row)
                            .returning(supervision_orders.c.id)).scalar_one())


def order(bind: Bind, order_id: int) -> Any:
    return bind.execute(select(supervision_orders).where(supervision_orders.c.id == order_id)).first()


def orders(bind: Bind, unit_code: str | None = None, task_ids: Sequence[int] | None = None) -> list[Any]:
    query = select(supervision_orders).order_by(supervision_orders.c.id.desc())
    if unit_code is not None:
        query = query.where(supervision_orders.c.unit_code == unit_code)
    if task_ids is not None:
        query = query.where(supervision_orders.c.task_id.in_(list(task_ids)))
    return list(bind.execute(query).all())


def set_order(bind: Bind, order_id: int, **values: Any) -> None:
    bind.execute(update(supervision_orders).where(supervision_orders.c.id == order_id).values(**values))


def insert_reply(bind: Bind, order_id: int, text: str, by: str, at: datetime) -> int:
    return int(bind.execute(insert(supervision_replies).values(
        order_id=order_id, text=text, sent_by=by, sent_at=at, state="sent")
        .returning(supervision_replies.c.id)).scalar_one())


def replies(bind: Bind, order_ids: Sequence[int] | None = None) -> dict[int, list[Any]]:
    """Replies by order, oldest first."""
    query = select(supervision_replies).order_by(supervision_replies.c.sent_at, supervision_replies.c.id)
    if order_ids is not None:
        query = query.where(supervision_replies.c.order_id.in_(list(order_ids)))
    found: dict[int, list[Any]] = defaultdict(list)
    for r in bind.execute(query):
        found[r.order_id].append(r)
    return found


def review_reply(bind: Bind, reply_id: int, state: str, by: str, at: datetime, reason: str | None) -> None:
    bind.execute(update(supervision_replies).where(supervision_replies.c.id == reply_id)
                 .values(state=state, reviewed_by=by, reviewed_at=at, review_reason=reason))
