"""Notifications about any target (``domain.notices``: a case, an account …) for a unit, the
command center, one user or a role: deadline warnings, overdue notices and supervision of cases
(the sweeper, :mod:`xiuhua.services.sweeper`, raises them), login alerts for administrators
(:func:`alert_admins_of_login_failures`). Each is raised once per (target, assignment, kind,
recipient); people read their own here, and only those whose target they may see."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import LeadUnitScope, OrderScope, Principal, TaskScope, notice_audience
from xiuhua.domain.choices import Audience, NoticeKind, Role
from xiuhua.domain.errors import NotFound, PermissionDenied
from xiuhua.domain.notices import TargetKind, may_read
from xiuhua.store import legacy as legacy_store
from xiuhua.store import notifications as store
from xiuhua.store import plans as plans_store
from xiuhua.store import projects as projects_store
from xiuhua.store import supervision as supervision_store
from xiuhua.store.cases import Bind, iter_cases
from xiuhua.store.tables import cases

MAX_PAGE = 200
NO_ASSIGNMENT = 0  # assignment_seq of a notification whose target has no assignments


@dataclass(frozen=True)
class Notice:
    """One notification to raise: about ``target_id`` of ``target_kind``, for ``audience``
    (``recipient``: the unit code, login or role; '' for the center; a unit notice defaults
    to ``unit_code``)."""

    at: datetime
    kind: NoticeKind
    target_kind: TargetKind
    target_id: str
    audience: Audience
    message: str
    assignment_seq: int = NO_ASSIGNMENT
    unit_code: str | None = None
    recipient: str = ""

    @classmethod
    def on_case(cls, at: datetime, kind: NoticeKind, case_no: str, assignment_seq: int,
                unit_code: str | None, audience: Audience, message: str) -> Notice:
        """A notice about an assignment of a case, for its unit or the center."""
        recipient = (unit_code or "") if audience is Audience.UNIT else ""
        return cls(at, kind, TargetKind.CASE, case_no, audience, message, assignment_seq,
                   unit_code, recipient)

    def row(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind.value, "target_kind": self.target_kind.value,
                "target_id": self.target_id, "assignment_seq": self.assignment_seq,
                "unit_code": self.unit_code, "audience": self.audience.value,
                "recipient": self.recipient, "message": self.message}


def raise_once(bind: Bind, notice: Notice) -> bool:
    """Insert unless this (target, assignment, kind, recipient) was raised before; True if
    new."""
    return store.insert_once(bind, notice.row())


def raise_or_renew(bind: Bind, notice: Notice) -> bool:
    """Insert, or — when the one stored is older than this notice — replace it as unread
    (a second supervision of the same assignment, a new login alert); True if anything
    changed."""
    return store.insert_or_renew(bind, notice.row())


def alert_admins_of_login_failures(bind: Bind, login: str, failures: int, minutes: int,
                                   at: datetime) -> bool:
    """Tell the administrators that account ``login`` had ``failures`` failed sign-ins within
    ``minutes`` (issue #11): one notification per account, renewed as unread on each alert."""
    message = (f"账号 {login} 在 {minutes} 分钟内登录失败 {failures} 次，可能正被猜测密码；"
               "该账号的登录已放缓，请核查来源地址")
    return raise_or_renew(bind, Notice(at, NoticeKind.LOGIN_ALERT, TargetKind.ACCOUNT, login,
                                       Audience.ROLE, message, recipient=Role.ADMIN.value))


# --- reading ------------------------------------------------------------------------------


def _cases(bind: Bind, case_nos: list[str]) -> dict[str, Any]:
    return {c.case_no: c for c in iter_cases(bind, cases.c.case_no.in_(case_nos))}


def _accounts(bind: Bind, logins: list[str]) -> dict[str, Any]:
    return {login: login for login in logins}


def _ids(ids: list[str]) -> list[int]:
    return [int(i) for i in ids if i.isdigit()]


def _projects(bind: Bind, ids: list[str]) -> dict[str, Any]:
    return {str(k): LeadUnitScope(u) for k, u in projects_store.lead_units(bind, _ids(ids)).items()}


def _legacy_issues(bind: Bind, ids: list[str]) -> dict[str, Any]:
    return {str(k): LeadUnitScope(u) for k, u in legacy_store.lead_units(bind, _ids(ids)).items()}


def _plan_tasks(bind: Bind, keys: list[str]) -> dict[str, Any]:
    found = {}
    rows = {(str(t.plan_id), t.code): t for t in plans_store.tasks(bind)}
    coop = plans_store.cooperating(bind)
    for key in keys:
        row = rows.get(tuple(key.split(":", 1)))  # type: ignore[arg-type]
        if row is not None:
            found[key] = TaskScope(row.lead_unit, coop.get(row.id, frozenset()))
    return found


def _orders(bind: Bind, ids: list[str]) -> dict[str, Any]:
    return {str(o.id): OrderScope(o.unit_code) for o in supervision_store.orders(bind) if str(o.id) in ids}


# The targets of each kind, by id, as the kind's rule (``domain.notices.VISIBILITY``) takes them.
LOADERS: dict[TargetKind, Callable[[Bind, list[str]], dict[str, Any]]] = {
    TargetKind.CASE: _cases,
    TargetKind.ACCOUNT: _accounts,
    TargetKind.PROJECT: _projects,
    TargetKind.LEGACY_ISSUE: _legacy_issues,
    TargetKind.PLAN_TASK: _plan_tasks,
    TargetKind.SUPERVISION_ORDER: _orders,
}


def _readable(bind: Bind, principal: Principal, rows: Iterable[Any]) -> list[Any]:
    """The rows ``principal`` may read: addressed to them and about a target they may see."""
    rows = list(rows)
    targets: dict[tuple[str, str], Any] = {}
    for kind in TargetKind:
        ids = sorted({r.target_id for r in rows if r.target_kind == kind.value})
        if ids:
            targets.update({(kind.value, i): t for i, t in LOADERS[kind](bind, ids).items()})
    return [r for r in rows
            if may_read(principal, Audience(r.audience), r.recipient, TargetKind(r.target_kind),
                        targets.get((r.target_kind, r.target_id)))]


def _mine(principal: Principal) -> Any:
    own = notice_audience(principal)
    if not own:
        raise PermissionDenied(f"{principal.role.label}没有通知", code="no_notifications")
    return store.addressed_to(own, principal.district_scope)


@dataclass(frozen=True)
class NoticePage:
    items: list[Any]  # notification rows, newest first
    next_before: int | None  # cursor for the next (older) page
    unread: int  # unread notifications addressed to the caller in all


def list_notices(session: Session, principal: Principal, *, unread_only: bool = False,
                 before: int | None = None, limit: int = 50) -> NoticePage:
    """The caller's notifications, newest first, ``limit`` at a time (cursor: ``before`` id).
    A page leaves out those whose target the caller may no longer see, so it may be short."""
    mine = _mine(principal)
    size = max(1, min(limit, MAX_PAGE))
    rows = store.page(session, mine, unread_only=unread_only, before=before, size=size)
    more = len(rows) > size
    return NoticePage(_readable(session, principal, rows[:size]),
                      rows[size - 1].id if more else None, store.count_unread(session, mine))


def mark_read(session: Session, principal: Principal, notice_id: int, at: datetime) -> Any:
    """Mark one of the caller's notifications read (once: the first reading time stays)."""
    row = store.get(session, notice_id, _mine(principal))
    if row is None or not _readable(session, principal, [row]):
        raise NotFound(f"通知 {notice_id} 不存在", code="notification_not_found")
    return store.mark_read(session, notice_id, at)
