"""Inspectors' open 核实/核查 tasks, and the notifications of units and of the command center
(deadline warnings, overdue notices, supervision)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from xiuhua.domain.choices import Audience, NoticeKind
from xiuhua.domain.city import City
from xiuhua.domain.notices import TargetKind, link, notice_title
from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep
from xiuhua.http.presenters import TaskOut, task_views
from xiuhua.services import notifications as notices

router = APIRouter(tags=["任务与通知"])
MAX_TASKS = 1000
MAX_ID = 2**63 - 1  # a row id the databases can compare with (BIGINT)


@router.get("/tasks", response_model=list[TaskOut])
def tasks(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
          inspector: Annotated[str | None, Query(max_length=64)] = None,
          limit: Annotated[int, Query(ge=1, le=MAX_TASKS)] = 500) -> list[TaskOut]:
    """Open 核实 (verify) and 核查 (check) tasks, the earliest deadline first: an inspector's
    own; for the center (``inspector`` filters by login) all of them."""
    return task_views(session, city, now, user, inspector, limit)


class NotificationOut(BaseModel):
    id: int
    at: datetime
    kind: str
    kind_label: str
    case_no: str | None  # the target's number when it is a case
    assignment_seq: int  # 0 when the target has no assignments
    unit_code: str | None
    unit_name: str | None
    audience: str
    audience_label: str
    message: str
    read: bool
    read_at: datetime | None
    target_kind: str  # case / account (domain.notices.TargetKind)
    target_id: str
    title: str
    text: str
    url: str


class NotificationPageOut(BaseModel):
    items: list[NotificationOut]
    next_before: int | None
    unread: int


def _notification(city: City, row: Any) -> NotificationOut:
    unit = city.units.get(row.unit_code) if row.unit_code else None
    kind, audience = NoticeKind(row.kind), Audience(row.audience)
    target = TargetKind(row.target_kind)
    return NotificationOut(
        id=row.id, at=row.at, kind=kind.value, kind_label=kind.label,
        case_no=row.target_id if target is TargetKind.CASE else None,
        assignment_seq=row.assignment_seq, unit_code=row.unit_code,
        unit_name=unit.name if unit else None, audience=audience.value,
        audience_label=audience.label, message=row.message, read=row.read_at is not None,
        read_at=row.read_at, target_kind=target.value, target_id=row.target_id,
        title=notice_title(kind, target, row.target_id), text=row.message,
        url=link(target, row.target_id))


@router.get("/notifications", response_model=NotificationPageOut)
def notification_list(session: SessionDep, city: CityDep, user: CurrentUser,
                      unread: bool = False,
                      before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                      limit: Annotated[int, Query(ge=1, le=notices.MAX_PAGE)] = 50,
                      ) -> NotificationPageOut:
    """The caller's notifications, newest first: unit staff get their unit's, the center and
    leaders the center's, everyone those addressed to them or their role (administrators:
    login alerts), about targets they may see. Page on with ``before=next_before``."""
    page = notices.list_notices(session, user, unread_only=unread, before=before, limit=limit)
    return NotificationPageOut(items=[_notification(city, r) for r in page.items],
                               next_before=page.next_before, unread=page.unread)


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
def notification_read(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                      notification_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> NotificationOut:
    """Mark a notification read (for everyone of its audience)."""
    return _notification(city, notices.mark_read(session, user, notification_id, now))
