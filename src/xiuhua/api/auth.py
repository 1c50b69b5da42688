"""Sign-in: OAuth2 password form for API clients (bearer tokens), and a browser session."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from xiuhua.http.deps import (
    CurrentUser,
    NowDep,
    SessionDep,
    check_csrf_header,
    check_origin,
    csrf_token,
    end_session,
    sign_in,
    start_session,
)
from xiuhua.services import accounts

router = APIRouter(tags=["认证"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class TokenPublic(BaseModel):
    """An access token without its secret."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class MeOut(BaseModel):
    login: str
    name: str
    role: str
    role_label: str
    unit_code: str | None
    grids: list[str]
    csrf_token: str | None = None


@router.post("/auth/token", response_model=TokenOut)
async def token(request: Request, session: SessionDep, now: NowDep,
                username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)]) -> TokenOut:
    """OAuth2 password flow: ``username`` and ``password`` → a new bearer token. No cookie is
    read or set: a cross-site form posting here gets a token it cannot read."""
    user = await sign_in(request, username, password, now)
    issued = await run_in_threadpool(accounts.issue_token, session, user.login, now, "oauth2")
    return TokenOut(access_token=issued)


@router.post("/auth/login", response_model=MeOut)
async def login(request: Request, now: NowDep,
                username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)]) -> MeOut:
    """Browser sign-in: sets the signed, HttpOnly session cookie and returns the CSRF token.
    Refused from another site's page (its ``Origin``), so no one is signed in unawares."""
    check_origin(request)
    user = await sign_in(request, username, password, now)
    await start_session(request, user, now)
    return _me(user, csrf_token(request))


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, now: NowDep) -> None:
    """End the browser session, for every server process; needs the session's CSRF header."""
    if request.session.get("login"):
        check_csrf_header(request)
    await end_session(request, now)


@router.get("/auth/tokens", response_model=list[TokenPublic])
def my_tokens(session: SessionDep, user: CurrentUser) -> list[TokenPublic]:
    """The signed-in user's access tokens that are not revoked (never their secrets)."""
    return [TokenPublic(**vars(t)) for t in accounts.list_tokens(session, user.login)]


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke_my_token(session: SessionDep, now: NowDep, user: CurrentUser,
                    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> None:
    """Revoke one of the signed-in user's access tokens (404 for anyone else's)."""
    accounts.revoke_token_id(session, user.login, token_id, now, actor=user.login)


@router.get("/auth/me", response_model=MeOut)
def me(request: Request, user: CurrentUser) -> MeOut:
    return _me(user, csrf_token(request) if request.session.get("login") else None)


def _me(user: accounts.Principal, csrf: str | None) -> MeOut:
    return MeOut(login=user.login, name=user.name, role=user.role.value,
                 role_label=user.role.label, unit_code=user.unit_code,
                 grids=sorted(user.grids), csrf_token=csrf)
