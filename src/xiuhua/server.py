"""Running the platform: the ASGI application under uvicorn, with the deadline sweeper in a
daemon thread of every server process (the lease lets only one of them sweep at a time)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from xiuhua.app import create_app
from xiuhua.config import get_settings
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
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = get_settings()
    app = create_app(settings, migrate=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread, stop = start_sweeper(app.state.engine, data_dir=settings.data_dir)
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)

    app.router.lifespan_context = lifespan
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None) -> None:
    """Migrate once, then serve HTTP until interrupted; ``workers`` server processes share
    the port. Client addresses come from X-Forwarded-For only when the peer is listed in
    FORWARDED_ALLOW_IPS (default 127.0.0.1, i.e. nginx on the same host). With a certificate
    and its key the server speaks HTTPS itself (phones give GPS positions only to HTTPS pages)."""
    settings = get_settings()
    engine = make_engine(settings.effective_database_url, echo=settings.sql_echo)
    init_database(engine)
    engine.dispose()
    uvicorn.run(FACTORY, factory=True, host=host, port=port, workers=workers, log_level="info",
                ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
                ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None)
