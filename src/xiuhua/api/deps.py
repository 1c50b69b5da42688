"""FastAPI dependencies: database sessions, the city snapshot, the clock and the current user."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.city import City
from xiuhua.domain.errors import AuthenticationFailed, NotFound, PermissionDenied
from xiuhua.services import accounts
from xiuhua.store.db import read_transaction, transaction

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: reads begin deferred; writes commit when the request ends."""
    engine = request.app.state.engine
    if request.method in SAFE_METHODS:
        with read_transaction(engine) as session:
            yield session
    else:
        with transaction(engine) as session:
            yield session


# "function" scope: the transaction commits before the response is sent, so a 201 means stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_now(request: Request) -> datetime:
    return request.app.state.clock()


NowDep = Annotated[datetime, Depends(get_now)]


def get_city(request: Request, session: SessionDep) -> City:
    return request.app.state.city.get(session)


CityDep = Annotated[City, Depends(get_city)]


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use); pages put it in every form."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_principal(request: Request, session: SessionDep, now: NowDep) -> Principal | None:
    token = _bearer(request)
    if token is not None:
        return accounts.principal_for_token(session, token, now)
    login = request.session.get("login") if "session" in request.scope else None
    if not login:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not secrets.compare_digest(sent, str(request.session.get("csrf", ""))):
            raise PermissionDenied("缺少或错误的 CSRF 令牌，请刷新页面后重试", code="csrf_failed")
    try:
        return accounts.principal(session, str(login))
    except (NotFound, AuthenticationFailed):
        request.session.clear()
        raise AuthenticationFailed("登录已失效，请重新登录", code="session_expired") from None


def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise AuthenticationFailed("需要登录或提供访问令牌", code="not_authenticated")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
