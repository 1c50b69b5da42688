"""Baseline servers for the intake and page benchmarks, served exactly like ``xiuhua serve``
(uvicorn, uvloop, httptools, log level info):

- ``bare``: a bare ASGI endpoint answering every request with a small JSON body;
- ``fastapi_validate``: a minimal FastAPI endpoint validating the report body
  (Xiuhua's own ``CaseCreate``), in the thread pool like Xiuhua's endpoints;
- ``fastapi_sqlite``: the same, and inserting one row into SQLite (WAL, synchronous=NORMAL like
  Xiuhua's engine) and committing, with one connection per worker thread;
- ``fastapi_light``: the lighter baseline: an ``async`` FastAPI endpoint validating a five-field
  model and inserting one row with autocommit (one connection, on the event loop: no thread
  hand-off, no explicit transaction).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from xiuhua.http.schemas import CaseCreate

BODY = b'{"ok":true}'


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


def fastapi_validate() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/cases", status_code=201)
    def report(body: CaseCreate) -> dict[str, Any]:
        return {"ok": True, "category_code": body.category_code}

    return app


class _Connections(threading.local):
    conn: sqlite3.Connection | None = None


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def fastapi_sqlite() -> FastAPI:
    path = os.environ["BENCH_SQLITE"]
    with _connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, category_code TEXT NOT NULL, "
                     "lon REAL, lat REAL, address TEXT, description TEXT, created_at TEXT NOT NULL)")
    local = _Connections()
    app = FastAPI()

    @app.post("/api/v1/cases", status_code=201)
    def report(body: CaseCreate) -> dict[str, Any]:
        if local.conn is None:
            local.conn = _connect(path)
        conn = local.conn
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute("INSERT INTO reports (category_code, lon, lat, address, description, created_at) "
                           "VALUES (?, ?, ?, ?, ?, datetime('now'))",
                           (body.category_code, body.lon, body.lat, body.address, body.description))
        conn.execute("COMMIT")
        return {"ok": True, "id": cur.lastrowid}

    return app


class LightReport(BaseModel):
    """Five fields of a report, validated (the other fields of the body are ignored)."""

    category_code: str = Field(pattern=r"^[0-9]{5}$")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    address: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=2000)


def fastapi_light() -> FastAPI:
    path = os.environ["BENCH_SQLITE"]
    conn = _connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS reports (id INTEGER PRIMARY KEY, category_code TEXT NOT NULL, "
                 "lon REAL, lat REAL, address TEXT, description TEXT, created_at TEXT NOT NULL)")
    app = FastAPI()

    @app.post("/api/v1/cases", status_code=201)
    async def report(body: LightReport) -> dict[str, Any]:
        cur = conn.execute("INSERT INTO reports (category_code, lon, lat, address, description, created_at) "
                           "VALUES (?, ?, ?, ?, ?, datetime('now'))",
                           (body.category_code, body.lon, body.lat, body.address, body.description))
        return {"ok": True, "id": cur.lastrowid}

    return app
