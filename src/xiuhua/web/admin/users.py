"""用户与角色: the account list (by role and unit, a page at a time), a new account, an
account's role, unit and grids, disabling and enabling it and setting its password — through
:mod:`xiuhua.services.accounts`, the functions ``xiuhua user …`` calls (and audits)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, InvalidInput
from xiuhua.http.deps import CityDep, NowDep, SessionDep
from xiuhua.services import accounts
from xiuhua.web.admin.common import AdminUser, PostedForm, in_savepoint, page, router, text
from xiuhua.web.pages import flash, not_found_page, see_other

PAGE_SIZE = 50
STAFF_ROLES = [r for r in Role if r is not Role.PUBLIC]
# which field of the form a refusal of accounts.add_user / set_password concerns
FIELD_OF_CODE = {"invalid_login": "login", "missing_unit": "unit", "unknown_unit": "unit",
                 "grids_for_inspectors_only": "grids", "unknown_grid": "grids",
                 "weak_password": "password", "unknown_role": "role",
                 "district_for_center_only": "district", "unknown_district": "district"}
_SPLIT = re.compile(r"[\s,，、;；]+")


def _options(city: City) -> dict[str, list[tuple[str, str]]]:
    return {"role": [(r.value, r.label) for r in STAFF_ROLES],
            "unit": sorted((u.code, f"{u.code} {u.name}{'' if u.active else '（停用）'}")
                           for u in city.units.values()),
            "district": sorted((code, f"{code} {r.name}") for code, r in city.regions.items()
                               if r.level is RegionLevel.DISTRICT)}


def _role(value: str) -> Role:
    found = next((r for r in STAFF_ROLES if r.value == value), None)
    if found is None:
        raise InvalidInput("请选择角色", code="unknown_role")
    return found


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _list_context(request: Request, session: Session, city: City) -> dict[str, Any]:
    params = request.query_params
    role_text, unit = params.get("role", ""), params.get("unit", "")
    role = next((r for r in STAFF_ROLES if r.value == role_text), None)
    number = _page_number(request)
    found = accounts.list_users(session, role, unit or None, (number - 1) * PAGE_SIZE, PAGE_SIZE)
    keep = [(k, v) for k, v in (("role", role.value if role else ""), ("unit", unit)) if v]
    pages = max(1, -(-found.total // PAGE_SIZE))
    return {"title": "用户与角色", "rows": found.rows, "total": found.total, "page": number,
            "pages": pages, "filter": {"role": role.value if role else "", "unit": unit},
            "options": _options(city), "roles": {r.value: r.label for r in Role},
            "units": {code: u.name for code, u in city.units.items()},
            "prev_url": f"/admin/users?{urlencode([*keep, ('page', number - 1)])}"
            if number > 1 else None,
            "next_url": f"/admin/users?{urlencode([*keep, ('page', number + 1)])}"
            if number < pages else None,
            "values": {}, "errors": {}}


@router.get("/admin/users")
def user_list(request: Request, session: SessionDep, city: CityDep, user: AdminUser) -> Response:
    return page(request, "admin/users.html", _list_context(request, session, city))


def _grids(form: PostedForm) -> tuple[str, ...]:
    return tuple(g for g in _SPLIT.split(text(form, "grids")) if g)


def _refusal(exc: DomainError, default: str) -> dict[str, str]:
    return {FIELD_OF_CODE.get(exc.code, default): exc.message}


@router.post("/admin/users")
def add_user(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: AdminUser,
             form: PostedForm) -> Response:
    """A new account (an existing login is refused: its own page changes it)."""
    values = {k: text(form, k) for k in ("login", "name", "role", "unit", "grids", "district")}
    errors: dict[str, str] = {}
    login = values["login"]
    if not login:
        errors["login"] = "请填写登录名"
    elif accounts.list_users(session, login=login).total:
        errors["login"] = f"登录名“{login}”已存在，请在其账号页修改"
    password = form.get("password")
    if not isinstance(password, str) or not password:
        errors["password"] = "请为新账号设置初始密码"
    if not errors:
        try:
            in_savepoint(session, accounts.add_user, login, _role(values["role"]), now,
                         name=values["name"] or None, unit_code=values["unit"] or None,
                         grids=_grids(form), password=str(password), actor=user.login,
                         district=values["district"] or None)
        except DomainError as exc:
            errors = _refusal(exc, "login")
    if errors:
        context = _list_context(request, session, city)
        context.update(values=values, errors=errors, open_add=True)
        return page(request, "admin/users.html", context)
    flash(request, f"用户 {login}（{_role(values['role']).label}）已创建，可以登录")
    return see_other(f"/admin/users/{login}")


def _account(session: Session, login: str) -> dict[str, Any]:
    found = next((r for r in accounts.list_users(session, login=login, limit=1).rows),
                 None)
    if found is None:
        raise not_found_page(f"用户“{login}”")
    return found


def _user_context(session: Session, city: City, login: str, values: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None) -> dict[str, Any]:
    account = _account(session, login)
    shown = values or {"name": account["name"], "role": account["role"],
                       "unit": account["unit_code"] or "", "grids": " ".join(account["grids"]),
                       "district": account["district_code"] or ""}
    return {"title": f"用户 {login}", "account": account, "values": shown, "errors": errors or {},
            "options": _options(city), "roles": {r.value: r.label for r in Role},
            "units": {code: u.name for code, u in city.units.items()}}


@router.get("/admin/users/{login}")
def user_page(request: Request, session: SessionDep, city: CityDep, user: AdminUser,
              login: str) -> Response:
    return page(request, "admin/user.html", _user_context(session, city, login))


@router.post("/admin/users/{login}")
def change_user(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                user: AdminUser, form: PostedForm, login: str) -> Response:
    """Name, role, unit and grids (the password stays as it is)."""
    _account(session, login)
    values = {k: text(form, k) for k in ("name", "role", "unit", "grids", "district")}
    try:
        in_savepoint(session, accounts.add_user, login, _role(values["role"]), now,
                     name=values["name"] or None, unit_code=values["unit"] or None,
                     grids=_grids(form), actor=user.login, keep_disabled=True,
                     district=values["district"] or None)
    except DomainError as exc:
        return page(request, "admin/user.html",
                      _user_context(session, city, login, values, _refusal(exc, "role")))
    flash(request, f"用户 {login} 已保存（{_role(values['role']).label}）")
    return see_other(f"/admin/users/{login}")


@router.post("/admin/users/{login}/password")
def reset_password(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                   user: AdminUser, form: PostedForm, login: str) -> Response:
    _account(session, login)
    password = form.get("password")
    try:
        if not isinstance(password, str) or not password:
            raise InvalidInput("请输入新密码", code="weak_password")
        in_savepoint(session, accounts.set_password, login, password, now, actor=user.login)
    except DomainError as exc:
        return page(request, "admin/user.html",
                      _user_context(session, city, login, None, {"password": exc.message}))
    flash(request, f"用户 {login} 的密码已重置，登录锁定已解除，其已登录的会话与访问令牌均已失效")
    return see_other(f"/admin/users/{login}")


@router.post("/admin/users/{login}/disable")
def disable(request: Request, session: SessionDep, now: NowDep, user: AdminUser,
            login: str) -> Response:
    _account(session, login)
    if login == user.login:
        flash(request, "不能停用自己正在使用的账号", "error")
        return see_other(f"/admin/users/{login}")
    in_savepoint(session, accounts.disable_user, login, now, actor=user.login)
    flash(request, f"用户 {login} 已停用，其访问令牌均已撤销")
    return see_other(f"/admin/users/{login}")


@router.post("/admin/users/{login}/enable")
def enable(request: Request, session: SessionDep, now: NowDep, user: AdminUser,
           login: str) -> Response:
    _account(session, login)
    in_savepoint(session, accounts.enable_user, login, now, actor=user.login)
    flash(request, f"用户 {login} 已启用")
    return see_other(f"/admin/users/{login}")
