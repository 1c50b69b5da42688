"""Fixed-window rate limits whose counters live in the database, so that every server process
shares them. A hit is counted in a transaction of its own: a refused request still counts, and
the work that follows (which may fail and roll back) cannot undo the count."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.errors import TooManyRequests
from xiuhua.store.cases import dialect_name
from xiuhua.store.db import transaction
from xiuhua.store.tables import rate_limits

INTAKE = "intake:"


def window_start(at: datetime, window_seconds: int) -> datetime:
    """The start of the fixed window containing ``at`` (windows are aligned on the epoch)."""
    stamp = int(at.timestamp())
    return datetime.fromtimestamp(stamp - stamp % window_seconds, UTC)


def hit(session: Session, bucket: str, at: datetime, window_seconds: int) -> int:
    """Count one hit in ``bucket``'s current window and return the window's count so far;
    windows that have ended are pruned."""
    start = window_start(at, window_seconds)
    dialect_insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    stmt = dialect_insert(rate_limits).values(bucket=bucket, window_start=start, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=["bucket", "window_start"],
                                      set_={"count": rate_limits.c.count + 1})
    count = session.execute(stmt.returning(rate_limits.c.count)).scalar_one()
    session.execute(delete(rate_limits).where(rate_limits.c.window_start < start))
    return int(count)


def retry_after(at: datetime, window_seconds: int) -> int:
    """Whole seconds until the current window ends (at least one)."""
    ends = window_start(at, window_seconds) + timedelta(seconds=window_seconds)
    return max(1, math.ceil((ends - at).total_seconds()))


def check(engine: Engine, bucket: str, at: datetime, limit: int, window_seconds: int) -> None:
    """Count one hit in its own transaction; over ``limit`` in the window → TooManyRequests."""
    with transaction(engine) as session:
        count = hit(session, bucket, at, window_seconds)
    if count > limit:
        wait = retry_after(at, window_seconds)
        minutes = math.ceil(wait / 60)
        raise TooManyRequests(f"提交过于频繁：{_span(window_seconds)}最多提交 {limit} 次，"
                              f"请 {minutes} 分钟后再试", retry_after=wait)


def check_intake(engine: Engine, address: str, at: datetime, settings: Settings) -> None:
    """The limit on public intake (portal reports and Open311 requests) per client address."""
    check(engine, INTAKE + address, at, settings.public_rate_limit,
          settings.public_rate_window_seconds)


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "每小时" if hours == 1 else f"每 {hours} 小时"
    if seconds % 60 == 0:
        return f"每 {seconds // 60} 分钟"
    return f"每 {seconds} 秒"
