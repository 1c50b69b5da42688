"""Engines and sessions: SQLite (WAL) by default, PostgreSQL through psycopg in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see "Serializable isolation / Savepoints" in its docs).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


READONLY = "xiuhua_readonly"


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE: writers queue at the start instead of failing at commit; readers of a
    # WAL database need no lock and begin deferred.
    readonly = conn.get_execution_options().get(READONLY, False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def dumps_json(value: Any) -> str:
    """JSON text of a JSON column (orjson: compact, UTF-8; keys that are not strings become
    strings, as with the standard library)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def loads_json(text: object) -> Any:
    """The value of JSON text (orjson). Like ``json.loads``, anything but text raises TypeError:
    SQLite hands back a JSON column holding a bare number as a number, and SQLAlchemy's SQLite
    JSON type keeps such a number as it is when the deserializer raises TypeError."""
    if not isinstance(text, str | bytes | bytearray | memoryview):
        raise TypeError(f"JSON text expected, not {type(text).__name__}")
    return orjson.loads(text)


def make_engine(url: str, echo: bool = False) -> Engine:
    parsed = make_url(url)
    json_codec: dict[str, Any] = {"json_serializer": dumps_json, "json_deserializer": loads_json}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, **json_codec)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, **json_codec)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work (no write lock on SQLite); rolled back at the end."""
    readonly = engine.execution_options(**{READONLY: True})
    with Session(readonly, expire_on_commit=False) as session:
        yield session  # closing the session rolls the transaction back


def analyze(bind: Engine | Connection | Session) -> None:
    """Refresh the query planner's statistics (``ANALYZE``, SQLite and PostgreSQL) after a bulk
    load: a fresh PostgreSQL database has none and may pick very slow plans without them."""
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    conn = bind if isinstance(bind, Connection) else bind.connection()
    conn.exec_driver_sql("ANALYZE")
