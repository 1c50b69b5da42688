"""Sign-in and sign-out pages: the browser session the API shares (``request.session["login"]``)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from xiuhua.domain.errors import AuthenticationFailed, DomainError
from xiuhua.http.deps import NowDep, end_session, sign_in, start_session
from xiuhua.web.pages import CSRF_FIELD, PageRoute, check_csrf, flash, render, safe_next, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def form_data(request: Request) -> dict[str, str]:
    """The posted form's text fields (files are ignored)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormData = Annotated[dict[str, str], Depends(form_data)]


def _login_page(request: Request, values: dict[str, str], errors: dict[str, str]) -> Response:
    return render(request, "login.html", {
        "values": values, "errors": errors, "next": safe_next(values.get("next"), "")})


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    if request.session.get("login"):
        return see_other(safe_next(next))
    return _login_page(request, {"next": next}, {})


def _form_errors(request: Request, form: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    expected = str(request.session.get("csrf", ""))
    if not expected or not secrets.compare_digest(form.get(CSRF_FIELD, ""), expected):
        errors["form"] = "页面已过期，请重新输入后登录"
    if not form.get("username", "").strip():
        errors["username"] = "请输入用户名"
    if not form.get("password"):
        errors["password"] = "请输入密码"
    return errors


@router.post("/login")
async def login(request: Request, now: NowDep, form: FormData) -> Response:
    """Check the password; success starts a fresh session, failure shows why by the field
    (one message for every refused login: it tells nothing of which accounts exist)."""
    values = {"username": form.get("username", "").strip()[:64], "next": form.get("next", "")}
    errors = _form_errors(request, form)
    if errors:
        return _login_page(request, values, errors)
    try:
        user = await sign_in(request, values["username"], form["password"][:256], now)
    except AuthenticationFailed as exc:
        return _login_page(request, values, {"password": exc.message})
    await start_session(request, user, now)
    return see_other(safe_next(values["next"]))


@router.post("/logout")
async def logout(request: Request, now: NowDep) -> Response:
    """Sign out (the form's CSRF token required): the session ends server-side."""
    try:
        await check_csrf(request)
    except DomainError:
        return see_other("/")
    await end_session(request, now)
    flash(request, "您已退出登录")
    return see_other("/login")
