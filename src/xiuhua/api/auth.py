"""Sign-in: OAuth2 password form for API clients (bearer tokens), and a browser session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from xiuhua.api.deps import CurrentUser, NowDep, SessionDep, client_address, csrf_token
from xiuhua.services import accounts

router = APIRouter(tags=["认证"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class MeOut(BaseModel):
    login: str
    name: str
    role: str
    role_label: str
    unit_code: str | None
    grids: list[str]
    csrf_token: str | None = None


@router.post("/auth/token", response_model=TokenOut)
def token(request: Request, session: SessionDep, now: NowDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)]) -> TokenOut:
    """OAuth2 password flow: ``username`` and ``password`` → a new bearer token."""
    user = accounts.authenticate(request.app.state.engine, username, password, now,
                                 client_address(request))
    return TokenOut(access_token=accounts.issue_token(session, user.login, now, name="oauth2"))


@router.post("/auth/login", response_model=MeOut)
def login(request: Request, session: SessionDep, now: NowDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)]) -> MeOut:
    """Browser sign-in: sets the signed, HttpOnly session cookie and returns the CSRF token."""
    user = accounts.authenticate(request.app.state.engine, username, password, now,
                                 client_address(request))
    request.session.clear()
    request.session["login"] = user.login
    return _me(user, csrf_token(request))


@router.post("/auth/logout", status_code=204)
def logout(request: Request) -> None:
    request.session.clear()


@router.get("/auth/me", response_model=MeOut)
def me(request: Request, user: CurrentUser) -> MeOut:
    return _me(user, csrf_token(request) if request.session.get("login") else None)


def _me(user: accounts.Principal, csrf: str | None) -> MeOut:
    return MeOut(login=user.login, name=user.name, role=user.role.value,
                 role_label=user.role.label, unit_code=user.unit_code,
                 grids=sorted(user.grids), csrf_token=csrf)
