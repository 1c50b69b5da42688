"""Sign-in and sign-out pages: the browser session the API shares (``request.session["login"]``)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from xiuhua.api.deps import NowDep, client_address
from xiuhua.domain.errors import AuthenticationFailed, DomainError
from xiuhua.services import accounts
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
def login(request: Request, now: NowDep, form: FormData) -> Response:
    """Check the password; success starts a fresh session, failure shows why by the field."""
    values = {"username": form.get("username", "").strip()[:64], "next": form.get("next", "")}
    errors = _form_errors(request, form)
    if errors:
        return _login_page(request, values, errors)
    try:
        user = accounts.authenticate(request.app.state.engine, values["username"],
                                     form["password"][:256], now, client_address(request))
    except AuthenticationFailed as exc:
        return _login_page(request, values, {"password": exc.message})
    request.session.clear()
    request.session["login"] = user.login
    return see_other(safe_next(values["next"]))


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await check_csrf(request)
    except DomainError:
        return see_other("/")
    request.session.clear()
    flash(request, "您已退出登录")
    return see_other("/login")
