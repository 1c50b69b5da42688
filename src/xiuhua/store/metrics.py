"""The figures GET /metrics reads from the database."""

from __future__ import annotations

from sqlalchemy import func, select

from xiuhua.store.cases import Bind
from xiuhua.store.tables import cases


def cases_by_status(bind: Bind) -> dict[str, int]:
    """Status -> number of cases (all of them: one index scan of ``ix_cases_status_reported_at``)."""
    query = select(cases.c.status, func.count()).group_by(cases.c.status)
    return {str(status): int(n) for status, n in bind.execute(query)}
