"""Inspectors' open 核实 (verify) and 核查 (check) tasks, as the caller may see them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, whose_tasks
from xiuhua.store import case_queries


def open_tasks(session: Session, user: Principal, inspector: str | None = None,
               limit: int = 500) -> Sequence[Any]:
    """The open tasks ``user`` may see (of ``inspector``, for the center), the earliest
    deadline first (rows of :func:`xiuhua.store.case_queries.open_tasks`)."""
    return case_queries.open_tasks(session, whose_tasks(user, inspector), limit,
                                   district=user.district_scope)
