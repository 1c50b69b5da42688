"""Inspectors' open 核实 (verify) and 核查 (check) tasks, as the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import PermissionDenied
from xiuhua.store import case_queries


def whose_tasks(user: Principal, inspector: str | None) -> str | None:
    """Inspectors see their own tasks; the center, leaders and admins anyone's (or all)."""
    if user.role is Role.INSPECTOR:
        return user.login
    if user.sees_all:
        return inspector
    raise PermissionDenied(f"{user.role.label}没有核实、核查任务", code="permission_denied")


def open_tasks(session: Session, user: Principal, inspector: str | None = None,
               limit: int = 500) -> Sequence[Any]:
    """The open tasks ``user`` may see (of ``inspector``, for the center), the earliest
    deadline first (rows of :func:`xiuhua.store.case_queries.open_tasks`)."""
    return case_queries.open_tasks(session, whose_tasks(user, inspector), limit)
