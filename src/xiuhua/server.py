"""Running the platform: the ASGI application under uvicorn, with the deadline sweeper in a
daemon thread of every server process (the lease lets only one of them sweep at a time)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from prometheus_client import multiprocess
from sqlalchemy import Engine

from xiuhua.app import create_app
from xiuhua.config import get_settings
from xiuhua.http.metrics import MULTIPROC_ENV
from xiuhua.http.requestlog import configure_logging
from xiuhua.services.city import init_database
from xiuhua.services.sweeper import DEFAULT_INTERVAL, run_sweeper
from xiuhua.store.db import make_engine

FACTORY = "xiuhua.server:build_app"


def _now() -> datetime:
    return datetime.now(UTC)


def start_sweeper(engine: Engine, interval: float = DEFAULT_INTERVAL,
                  clock: Callable[[], datetime] = _now,
                  data_dir: Path | None = None) -> tuple[threading.Thread, threading.Event]:
    """Start the sweeper loop in a daemon thread (with ``data_dir``: orphaned photos too);
    set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_sweeper, args=(engine, clock, interval, stop),
                              kwargs={"data_dir": data_dir}, name="xiuhua-sweeper", daemon=True)
    thread.start()
    return thread, stop


def build_app() -> FastAPI:
    """The application of one server process (settings from XIUHUA_* variables); the sweeper
    runs from startup to shutdown of the process."""
    settings = get_settings()
    configure_logging(settings.log_format)
    app = create_app(settings, migrate=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread, stop = start_sweeper(app.state.engine, data_dir=settings.data_dir)
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)
            if os.environ.get(MULTIPROC_ENV):
                multiprocess.mark_process_dead(os.getpid())

    app.router.lifespan_context = lifespan
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None) -> None:
    """Migrate once, then serve HTTP until interrupted; ``workers`` server processes share
    the port (their metrics counted together: :func:`metrics_directory`). Client addresses come
    from X-Forwarded-For only when the peer is listed in FORWARDED_ALLOW_IPS (default 127.0.0.1,
    i.e. nginx on the same host). With a certificate and its key the server speaks HTTPS itself
    (phones give GPS positions only to HTTPS pages). Each request is logged once, with its
    request id, in XIUHUA_LOG_FORMAT (uvicorn's own access log is off)."""
    settings = get_settings()
    configure_logging(settings.log_format)
    engine = make_engine(settings.effective_database_url, echo=settings.sql_echo)
    init_database(engine)
    engine.dispose()
    with metrics_directory(workers):
        uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, log_level="info",
                    log_config=None, access_log=False,
                    ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
                    ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None)


@contextmanager
def metrics_directory(workers: int) -> Iterator[Path | None]:
    """With more than one worker, PROMETHEUS_MULTIPROC_DIR for prometheus-client's
    multiprocess mode: the operator's directory (emptied of the last run's files) or a
    temporary one, removed afterwards. Set before the workers start (each imports
    prometheus-client afresh, in multiprocess mode)."""
    if workers <= 1:
        yield None
        return
    given = os.environ.get(MULTIPROC_ENV)
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="xiuhua-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        if not given:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(folder, ignore_errors=True)
