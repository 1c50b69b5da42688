"""Errors as RFC 9457 ``application/problem+json`` with a Chinese ``detail`` and a stable ``code``."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from xiuhua.domain.errors import (
    ActionRefused,
    AuthenticationFailed,
    BatchInvalid,
    DomainError,
    NotFound,
    PermissionDenied,
    StaleVersion,
    TooLarge,
    TooManyRequests,
)
from xiuhua.http.schemas import Problem

PROBLEM = "application/problem+json"

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (PermissionDenied, 403),
    (StaleVersion, 409),
    (AuthenticationFailed, 401),
    (TooManyRequests, 429),
    (TooLarge, 413),
    (ActionRefused, 422),
    (DomainError, 422),
]


def problem(status: int, detail: str, code: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": detail, "code": code, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_of(exc: DomainError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra: dict[str, Any] = {}
    if isinstance(exc, BatchInvalid):
        extra["problems"] = exc.problems
    response = problem(status_of(exc), exc.message, exc.code, **extra)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header", "form"))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in exc.errors()]
    fields = "、".join(sorted({e["field"] for e in errors if e["field"]})) or "请求"
    return problem(422, f"请求参数有误：{fields}", "invalid_request", errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    messages = {404: "资源不存在", 405: "不支持该请求方法", 401: "需要登录", 403: "无权访问",
                413: "上传内容过大", 415: "不支持的内容类型"}
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in messages \
        else messages.get(exc.status_code, str(exc.detail))
    response = problem(exc.status_code, detail, f"http_{exc.status_code}")
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def problem_responses(texts: Mapping[int, str], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error ``statuses`` of a route: each a problem+json body
    (:class:`Problem`), described by ``texts``."""
    content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {s: {"model": Problem, "description": texts[s], "content": content} for s in statuses}
