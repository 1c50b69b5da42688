"""Alembic environment: the schema is xiuhua.store.tables.metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from xiuhua.config import get_settings
from xiuhua.store.db import make_engine
from xiuhua.store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().effective_database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
