"""The notifications table: raising a notification once, reading a recipient's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from xiuhua.domain.choices import Audience
from xiuhua.store.cases import Bind, dialect_name
from xiuhua.store.tables import cases, notifications

# uq_notifications_once: one notification per target, assignment, kind and recipient
ONCE = ["target_kind", "target_id", "assignment_seq", "kind", "audience", "recipient"]


def _insert(bind: Bind) -> Any:
    return (pg_insert if dialect_name(bind) == "postgresql" else sqlite_insert)(notifications)


def insert_once(bind: Bind, row: dict[str, Any]) -> bool:
    """Insert unless raised before (:data:`ONCE`); True if new."""
    return _changed(bind, _insert(bind).values(row).on_conflict_do_nothing(index_elements=ONCE))


def insert_or_renew(bind: Bind, row: dict[str, Any]) -> bool:
    """Insert, or — when the one stored is older — replace its time and message and make it
    unread again; True if anything changed."""
    stmt = _insert(bind).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=ONCE,
        set_={"at": stmt.excluded.at, "message": stmt.excluded.message, "read_at": None},
        where=notifications.c.at < stmt.excluded.at)
    return _changed(bind, stmt)


def _changed(bind: Bind, stmt: Any) -> bool:
    # RETURNING, not rowcount: drivers disagree on the rowcount of an upsert.
    return bind.execute(stmt.returning(notifications.c.id)).first() is not None


def addressed_to(own: Iterable[tuple[Audience, str]], district: str | None = None) -> ColumnElement[bool]:
    """Notifications addressed to any of the (audience, recipient) pairs; with ``district``, the
    center's only about that district's cases (:func:`center_notices_in_district`)."""
    n = notifications.c
    pairs = [and_(n.audience == a.value, n.recipient == r) for a, r in sorted(own)]
    found = or_(*pairs) if pairs else false()
    return and_(found, center_notices_in_district(district)) if district is not None else found


def center_notices_in_district(district: str) -> ColumnElement[bool]:
    """Leave out the center's notifications about cases outside ``district`` (a district
    command center's staff read the center's notifications about their district's cases only)."""
    n = notifications.c
    inside = select(cases.c.case_no).where(cases.c.grid_code.startswith(district, autoescape=True))
    return or_(n.audience != Audience.CENTER.value, n.target_kind != "case", n.target_id.in_(inside))


def page(bind: Bind, mine: ColumnElement[bool], *, unread_only: bool, before: int | None,
         size: int) -> list[Any]:
    """Up to ``size`` + 1 rows of ``mine``, newest first, older than id ``before``."""
    n = notifications.c
    query = select(notifications).where(mine)
    if unread_only:
        query = query.where(n.read_at.is_(None))
    if before is not None:
        query = query.where(n.id < before)
    return list(bind.execute(query.order_by(n.id.desc()).limit(size + 1)).all())


def count_unread(bind: Bind, mine: ColumnElement[bool]) -> int:
    n = notifications.c
    return int(bind.execute(select(func.count()).select_from(notifications)
                            .where(mine, n.read_at.is_(None))).scalar_one())


def get(bind: Bind, notice_id: int, mine: ColumnElement[bool]) -> Any:
    """The notification ``notice_id`` if it is among ``mine``, else None."""
    n = notifications.c
    return bind.execute(select(notifications).where(n.id == notice_id, mine)).first()


def mark_read(bind: Bind, notice_id: int, at: datetime) -> Any:
    """Mark read once (the first reading time stays); the row as it is then."""
    n = notifications.c
    bind.execute(update(notifications).where(n.id == notice_id, n.read_at.is_(None))
                 .values(read_at=at))
    return bind.execute(select(notifications).where(n.id == notice_id)).one()
