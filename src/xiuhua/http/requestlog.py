"""One log record per request, with its request id, and the server's log format.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sensible one (1–128 of
``A-Z a-z 0-9 . _ : -``, as nginx's ``$request_id`` or a load balancer sends), otherwise a new
one. The response carries it back in ``X-Request-ID``, and every log record written while the
request runs carries it too (``request_id``), so a user's complaint ("请求编号 …") finds its
lines. The middleware also counts the request for ``GET /metrics`` (``http/metrics.observe``).

XIUHUA_LOG_FORMAT chooses the records' form: ``text`` (one line each) or ``json`` (one JSON
object per line: time, level, logger, message, request_id, pid, and for the request records method,
path, route, status, duration_ms, client)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xiuhua.http.metrics import UNMATCHED, observe

HEADER = "X-Request-ID"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID: ContextVar[str | None] = ContextVar("xiuhua_request_id", default=None)
log = logging.getLogger("xiuhua.request")
# The fields of a request's record (the ``extra`` of its log call).
REQUEST_FIELDS = ("method", "path", "route", "status", "duration_ms", "client")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is a sensible one, else a new id."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _VALID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/cases/{case_no}``)."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else UNMATCHED


class RequestLog:
    """Pure ASGI middleware: the request id in and out, one record and one count per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope.get("headers", []))
        token = REQUEST_ID.set(rid)
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, status[0], time.perf_counter() - started)
            REQUEST_ID.reset(token)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        route, method = route_template(scope), scope["method"]
        observe(method, route, status, seconds)
        client = scope.get("client")
        fields = {"method": method, "path": scope["path"], "route": route, "status": status,
                  "duration_ms": round(seconds * 1000, 1), "client": client[0] if client else None}
        log.info("%s %s %d %.1fms", method, scope["path"], status, seconds * 1000, extra=fields)


# --- the log format -------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None), "pid": record.process}
        data.update({k: getattr(record, k) for k in REQUEST_FIELDS if hasattr(record, k)})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(fmt: str, level: int = logging.INFO) -> None:
    """Send every record (uvicorn's too, but its access log: :class:`RequestLog` writes one
    record per request instead) to standard error in ``fmt`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")  # the request records replace its lines
    access.handlers.clear()
    access.propagate = False
