"""What a notification is about and who reads it.

A notification has a *target* — an object of some kind, by id (a case by its number, an
account by its login; plan tasks, supervision orders, projects and evaluation rounds join
later) — and *recipients*: a unit's staff, the center, one user or everyone of a role
(``Audience``). A person reads a notification when

- it is addressed to them (:func:`xiuhua.domain.access.notice_audience`: their unit's or the
  center's, their own by login, their role's), and
- they may see its target, by the rule of the target's kind (:data:`VISIBILITY`, in the style
  of ``domain.photos.VISIBILITY``: a case by ``access.can_see``).

A new kind of target adds a :class:`TargetKind` member, a rule here, a title and a link
(:data:`TITLES`, :data:`LINKS`) and a loader in ``services.notifications.LOADERS``."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from xiuhua.domain.access import (
    Principal,
    can_see,
    can_see_legacy_issue,
    can_see_order,
    can_see_project,
    can_see_task,
    notice_audience,
)
from xiuhua.domain.choices import Audience, NoticeKind, Role


class TargetKind(StrEnum):
    """What a notification can be about."""

    CASE = "case"  # deadline warnings, overdue notices, supervision (target id: case number)
    ACCOUNT = "account"  # login alerts (target id: the login)
    PROJECT = "project"  # a key project turned red (target id: the project's id)
    LEGACY_ISSUE = "legacy_issue"  # a legacy issue past its target date (target id: its id)
    PLAN_TASK = "plan_task"  # milestones and deadlines near (target id: "<plan id>:<code>")
    SUPERVISION_ORDER = "supervision_order"  # an order's level raised (target id: the order's id)


def can_see_account(principal: Principal, login: str) -> bool:
    """An account's alerts are for administrators and for the account's owner."""
    return principal.role is Role.ADMIN or principal.login == login


# One rule per kind: may this person see this target (as its kind's loader yields it)?
VISIBILITY: dict[TargetKind, Callable[[Principal, Any], bool]] = {
    TargetKind.CASE: can_see,
    TargetKind.ACCOUNT: can_see_account,
    TargetKind.PROJECT: can_see_project,
    TargetKind.LEGACY_ISSUE: can_see_legacy_issue,
    TargetKind.PLAN_TASK: can_see_task,  # access.TaskScope
    TargetKind.SUPERVISION_ORDER: can_see_order,  # access.OrderScope
}

# The Chinese title and the page a notification on a target links to, per kind.
TITLES: dict[TargetKind, Callable[[str], str]] = {
    TargetKind.CASE: lambda case_no: f"案件 {case_no}",
    TargetKind.ACCOUNT: lambda login: f"账号 {login}",
    TargetKind.PROJECT: lambda project_id: f"重点项目 {project_id} 号",
    TargetKind.LEGACY_ISSUE: lambda issue_id: f"遗留问题 {issue_id} 号",
    TargetKind.PLAN_TASK: lambda key: f"专项任务 {key.split(':', 1)[-1]}",
    TargetKind.SUPERVISION_ORDER: lambda order_id: f"督办单 {order_id}",
}
LINKS: dict[TargetKind, Callable[[str], str]] = {
    TargetKind.CASE: lambda case_no: f"/cases/{case_no}",
    TargetKind.ACCOUNT: lambda login: "/admin/users",
    TargetKind.PROJECT: lambda project_id: f"/projects/{project_id}",
    TargetKind.LEGACY_ISSUE: lambda issue_id: f"/legacy-issues/{issue_id}",
    TargetKind.PLAN_TASK: lambda key: "/plans/{}/tasks/{}".format(*key.split(":", 1)),
    TargetKind.SUPERVISION_ORDER: lambda order_id: f"/supervision/{order_id}",
}


def is_recipient(principal: Principal, audience: Audience, recipient: str) -> bool:
    """Is a notification addressed to (audience, recipient) ``principal``'s own?"""
    return (audience, recipient) in notice_audience(principal)


def may_read(principal: Principal, audience: Audience, recipient: str, kind: TargetKind,
             subject: Any) -> bool:
    """May ``principal`` read a notification addressed to (audience, recipient) about
    ``subject``, a target of ``kind`` (None: the target no longer exists)?"""
    if not is_recipient(principal, audience, recipient):
        return False
    return subject is not None and VISIBILITY[kind](principal, subject)


def notice_title(kind: NoticeKind, target: TargetKind, target_id: str) -> str:
    """A notification's Chinese title, e.g. 临期预警：案件 2026…"""
    return f"{kind.label}：{TITLES[target](target_id)}"


def link(kind: TargetKind, target_id: str) -> str:
    return LINKS[kind](target_id)
