"""An empty database beside the test's own, on the same backend (a restore's or an upgrade's
target)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from xiuhua.store.db import make_engine


@contextmanager
def empty_database(like: Engine, folder: Path) -> Iterator[Engine]:
    """A new database of ``like``'s backend with nothing in it (not even migrated): SQLite under
    ``folder``, PostgreSQL on the test cluster (dropped afterwards)."""
    if like.dialect.name == "sqlite":
        other = make_engine(f"sqlite:///{folder / 'empty' / 'xiuhua.db'}")
        yield other
        other.dispose()
        return
    url = make_url(os.environ["XIUHUA_TEST_PG_URL"])
    name = f"xh_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    other = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        yield other
    finally:
        other.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
