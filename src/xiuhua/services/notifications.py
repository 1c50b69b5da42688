"""Notifications: deadline warnings, overdue notices and supervision notices for a handling
unit and for the command center. Each is raised once per (case, assignment, kind, audience);
the sweeper (:mod:`xiuhua.services.sweeper`) raises them, people read them here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, notice_audience
from xiuhua.domain.choices import Audience, NoticeKind
from xiuhua.domain.errors import NotFound, PermissionDenied
from xiuhua.store.cases import Bind, dialect_name
from xiuhua.store.tables import notifications

ONCE = ["case_no", "assignment_seq", "kind", "audience"]  # uq_notifications_once
MAX_PAGE = 200


@dataclass(frozen=True)
class Notice:
    """One notification to raise."""

    at: datetime
    kind: NoticeKind
    case_no: str
    assignment_seq: int
    unit_code: str | None
    audience: Audience
    message: str

    def row(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind.value, "case_no": self.case_no,
                "assignment_seq": self.assignment_seq, "unit_code": self.unit_code,
                "audience": self.audience.value, "message": self.message}


def _insert(bind: Bind) -> Any:
    return (pg_insert if dialect_name(bind) == "postgresql" else sqlite_insert)(notifications)


def raise_once(bind: Bind, notice: Notice) -> bool:
    """Insert unless this (case, assignment, kind, audience) was raised before; True if new."""
    stmt = _insert(bind).values(notice.row()).on_conflict_do_nothing(index_elements=ONCE)
    return _changed(bind, stmt)


def raise_or_renew(bind: Bind, notice: Notice) -> bool:
    """Insert, or — when the one stored is older than this notice — replace it as unread
    (a second supervision of the same assignment); True if anything changed."""
    stmt = _insert(bind).values(notice.row())
    stmt = stmt.on_conflict_do_update(
        index_elements=ONCE,
        set_={"at": stmt.excluded.at, "message": stmt.excluded.message, "read_at": None},
        where=notifications.c.at < stmt.excluded.at)
    return _changed(bind, stmt)


def _changed(bind: Bind, stmt: Any) -> bool:
    # RETURNING, not rowcount: drivers disagree on the rowcount of an upsert.
    return bind.execute(stmt.returning(notifications.c.id)).first() is not None


# --- reading ------------------------------------------------------------------------------


def audience_of(principal: Principal) -> ColumnElement[bool]:
    """The notifications a user reads (:func:`notice_audience`), as a condition on the table."""
    n = notifications.c
    own = notice_audience(principal)
    if own is None:
        raise PermissionDenied(f"{principal.role.label}没有通知", code="no_notifications")
    audience, unit = own
    if audience is Audience.UNIT:
        return and_(n.audience == audience.value, n.unit_code == unit)
    return n.audience == audience.value


@dataclass(frozen=True)
class NoticePage:
    items: list[Any]  # notification rows, newest first
    next_before: int | None  # cursor for the next (older) page
    unread: int  # unread notifications of the caller in all


def list_notices(session: Session, principal: Principal, *, unread_only: bool = False,
                 before: int | None = None, limit: int = 50) -> NoticePage:
    """The caller's notifications, newest first, ``limit`` at a time (cursor: ``before`` id)."""
    mine = audience_of(principal)
    n = notifications.c
    query = select(notifications).where(mine)
    if unread_only:
        query = query.where(n.read_at.is_(None))
    if before is not None:
        query = query.where(n.id < before)
    size = max(1, min(limit, MAX_PAGE))
    rows = session.execute(query.order_by(n.id.desc()).limit(size + 1)).all()
    unread = session.execute(select(func.count()).select_from(notifications)
                             .where(mine, n.read_at.is_(None))).scalar_one()
    more = len(rows) > size
    return NoticePage(list(rows[:size]), rows[size - 1].id if more else None, int(unread))


def mark_read(session: Session, principal: Principal, notice_id: int, at: datetime) -> Any:
    """Mark one of the caller's notifications read (once: the first reading time stays)."""
    n = notifications.c
    row = session.execute(select(notifications).where(
        n.id == notice_id, audience_of(principal))).first()
    if row is None:
        raise NotFound(f"通知 {notice_id} 不存在", code="notification_not_found")
    if row.read_at is None:
        session.execute(update(notifications).where(n.id == notice_id, n.read_at.is_(None))
                        .values(read_at=at))
    return session.execute(select(notifications).where(n.id == notice_id)).one()
