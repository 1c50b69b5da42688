"""The Alembic migrations and the table definitions never drift apart."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from xiuhua.store.tables import metadata


def test_upgrade_head_leaves_no_autogenerate_diff(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": engine.dialect.name == "sqlite"})
        diff = compare_metadata(context, metadata)
    assert diff == []
