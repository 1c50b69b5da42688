"""Engines and sessions: SQLite (WAL) by default, PostgreSQL through psycopg in production."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
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
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cur.close()


READONLY = "xiuhua_readonly"
SINGLE_READS = "xiuhua_single_reads"
WRITABLE = "xiuhua_writable"
BUSY_TIMEOUT_S = 30
# Connections a process may hold: one per worker thread of the server (anyio's 40); QueuePool's
# default 5 + 10 made requests wait for a connection under load.
POOL_SIZE, POOL_OVERFLOW = 10, 30


class WriteGate:
    """The queue of one SQLite database's writers within this process.

    SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps
    1, 2, 5 … 100 ms between tries, so under load the lock stands free while waiters sleep and
    a late one may starve for seconds. Writers of this process queue here instead, between
    ``BEGIN IMMEDIATE`` and the connection's return to the pool, and go in the moment it is
    free. Only an optimisation: SQLite's own lock still decides (other processes, and a thread
    that already holds the gate through another connection, go straight to it), and a writer
    that waited ``BUSY_TIMEOUT_S`` here goes on to it too."""

    HELD = "xiuhua_write_gate"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def enter(self, info: dict[str, Any]) -> None:
        if info.get(self.HELD) or self._owner == threading.get_ident() or _in_event_loop():
            return
        if self._lock.acquire(timeout=BUSY_TIMEOUT_S):
            self._owner = threading.get_ident()
            info[self.HELD] = True

    def leave(self, info: dict[str, Any]) -> None:
        if info.pop(self.HELD, False):
            self._owner = None
            self._lock.release()


def _in_event_loop() -> bool:
    """Whether this thread runs an event loop (which must never wait at the gate: the writer
    it would wait for may need the loop to finish)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(database: str) -> WriteGate:
    """The gate of one database file (shared by every engine of this process on it)."""
    key = str(Path(database).resolve()) if database and database != ":memory:" else ":memory:"
    with _gates_lock:
        return _gates.setdefault(key, WriteGate())


def _sqlite_begin(gate: WriteGate, conn: Any) -> None:
    # BEGIN IMMEDIATE: writers queue at the start instead of failing at commit (first at the
    # gate, then on SQLite's lock); readers of a WAL database need no lock and begin deferred.
    options = conn.get_execution_options()
    if options.get(READONLY, False):
        if not options.get(SINGLE_READS, False):
            conn.exec_driver_sql("BEGIN")
        return
    gate.enter(conn.info)
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _leave_gate(gate: WriteGate, _dbapi_conn: Any, record: Any, *_: Any) -> None:
    if record is not None:
        gate.leave(record.info)


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


# --- what a process may cache -------------------------------------------------------------

# Tables whose rows servers keep for a moment (the city model's version in settings, sign-ins):
# a committed write to one through any engine of this process is counted at once.
CACHED_TABLES = frozenset({"settings", "users", "user_grids", "api_tokens"})
_CHANGED = "xiuhua_cached_tables_changed"
_WRITE = re.compile(r'\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)


class _Changes:
    count = 0


def cached_tables_changes() -> int:
    """How many transactions of this process have committed writes to :data:`CACHED_TABLES`
    (a cache of those rows is stale in this process once this moved on; other processes'
    writes are not counted: their caches expire after a short time)."""
    return _Changes.count


def _note_write(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    found = _WRITE.match(statement)
    if found is not None and found.group(1).lower() in CACHED_TABLES:
        conn.info[_CHANGED] = True


def _count_commit(conn: Connection) -> None:
    # before the COMMIT itself: a read in between may cache the old rows, but only until they
    # expire (see xiuhua.http.deps.RECHECK_S)
    if conn.info.pop(_CHANGED, False):
        _Changes.count += 1


def _forget_writes(conn: Connection) -> None:
    conn.info.pop(_CHANGED, None)


def _track_changes(engine: Engine) -> None:
    event.listen(engine, "after_cursor_execute", _note_write)
    event.listen(engine, "commit", _count_commit)
    event.listen(engine, "rollback", _forget_writes)


def make_engine(url: str, echo: bool = False) -> Engine:
    parsed = make_url(url)
    json_codec: dict[str, Any] = {"json_serializer": dumps_json, "json_deserializer": loads_json}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {}
        if parsed.database and parsed.database != ":memory:":
            pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
        engine = create_engine(url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_S},
                               **pool, **json_codec)
        gate = write_gate(parsed.database or "")
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", partial(_sqlite_begin, gate))
        for name in ("checkin", "invalidate"):  # the write transaction is over
            event.listen(engine.pool, name, partial(_leave_gate, gate))
    else:
        # no JIT compiling: it is for long analytic queries; for ours (an assessment or a
        # dashboard reads a few index ranges) compiling took longer than running
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=POOL_SIZE,
                               max_overflow=POOL_OVERFLOW, connect_args={"options": "-c jit=off"}, **json_codec)
    _track_changes(engine)
    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def read_only(engine: Engine) -> Engine:
    """``engine`` for read-only units of work (SQLite begins them deferred: no write lock)."""
    found: Engine | None = engine.__dict__.get(READONLY)
    if found is None:
        found = engine.__dict__[READONLY] = engine.execution_options(**{READONLY: True})
        found.__dict__[WRITABLE] = engine
    return found


def single_reads(engine: Engine) -> Engine:
    """``engine`` for sessions of independent reads: on SQLite each statement is a transaction
    of its own (no ``BEGIN``), so no snapshot is held between them and nothing needs ending."""
    found: Engine | None = engine.__dict__.get(SINGLE_READS)
    if found is None:
        found = engine.__dict__[SINGLE_READS] = engine.execution_options(
            **{READONLY: True, SINGLE_READS: True})
        found.__dict__[WRITABLE] = engine
    return found


def writable(engine: Engine) -> Engine:
    """The engine of ``engine`` (which may be the :func:`read_only` one) for writing."""
    return engine.__dict__.get(WRITABLE, engine)


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work (no write lock on SQLite); rolled back at the end."""
    with Session(read_only(engine), expire_on_commit=False) as session:
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
