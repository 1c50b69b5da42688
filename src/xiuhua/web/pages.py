"""What every page shares: the Jinja2 environment and its filters, rendering with the signed-in
user and CSRF token, the signed-in user of a page (or a redirect to /login), CSRF checks of
form posts, flash messages, and Chinese error pages for domain errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from xiuhua.domain.access import PROGRAMME_ROLES, SEE_ALL_ROLES, UNIT_STAFF, Principal, sees_dashboard
from xiuhua.domain.calendar import TimeLimit, local_zone
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import (
    AuthenticationFailed,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from xiuhua.http.deps import CSRF_HEADER, SAFE_METHODS, ReaderDep, csrf_matches, csrf_token, session_id
from xiuhua.services import accounts

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
CSRF_FIELD = "csrf_token"


# --- templates ------------------------------------------------------------------------------


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant as Shanghai wall-clock time ("" for none)."""
    return moment.astimezone(local_zone()).strftime(fmt) if moment is not None else ""


def span(seconds: int, day_seconds: int = 86_400, day: str = "天") -> str:
    """A duration in days, hours and minutes, e.g. "1 天 2 小时 5 分"; working time passes
    the calendar's working day (e.g. 7.5 h) and "个工作日"."""
    minutes = max(0, int(seconds)) // 60
    days, rest = divmod(minutes, max(1, day_seconds // 60))
    hours, mins = divmod(rest, 60)
    parts = [f"{days} {day}"] if days else []
    if hours:
        parts.append(f"{hours} 小时")
    if mins or not parts:
        parts.append(f"{mins} 分")
    return " ".join(parts)


def limit_label(text: str | None) -> str:
    """A time limit in Chinese, e.g. "4wh" → "4 工作小时"."""
    if not text:
        return ""
    try:
        limit = TimeLimit.parse(text)
    except DomainError:
        return text
    return f"{limit.text.removesuffix(limit.unit.value)} {limit.unit.label}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(local_time=local_time, span=span, limit_label=limit_label)
    return env


templates = Jinja2Templates(env=_environment())


@dataclass(frozen=True)
class NavItem:
    """A page in the main navigation, and the roles that may open it (None: every signed-in
    user). Page routes take their user from ``page_for(href)``, so the menu a role sees and
    the pages it may open are the same list."""

    href: str
    label: str
    roles: frozenset[Role] | None = None
    rule: Callable[[Principal], bool] | None = None  # besides the role (a district's staff)

    def allows(self, user: Principal) -> bool:
        """Whether ``user``'s role (or second role, ``Principal.has_role``) may open the page."""
        return ((self.roles is None or any(user.has_role(r) for r in self.roles))
                and (self.rule is None or self.rule(user)))


_CENTER_AND_LEADERS = SEE_ALL_ROLES  # the dashboard's (domain.access.sees_dashboard)
NAV: tuple[NavItem, ...] = (
    NavItem("/", "工作台"),
    NavItem("/cases", "案件查询"),
    NavItem("/report", "上报问题", frozenset({Role.INSPECTOR, Role.ACCEPTOR})),
    NavItem("/map", "一张图"),
    NavItem("/dashboard", "领导驾驶舱", _CENTER_AND_LEADERS, sees_dashboard),
    NavItem("/assessment", "考核评价", _CENTER_AND_LEADERS | {Role.UNIT_LEADER, Role.HANDLER}),
    NavItem("/projects", "重点项目", PROGRAMME_ROLES | UNIT_STAFF),
    NavItem("/legacy-issues", "遗留问题", PROGRAMME_ROLES | UNIT_STAFF),
    NavItem("/surveys", "问卷调查", frozenset(Role) - {Role.PUBLIC}),  # domain.access.sees_surveys
    NavItem("/plans", "专项行动", SEE_ALL_ROLES | UNIT_STAFF),
    NavItem("/supervision", "督查督办", SEE_ALL_ROLES | UNIT_STAFF),
    NavItem("/evaluation", "考评", _CENTER_AND_LEADERS | {Role.EVALUATOR, Role.UNIT_LEADER, Role.HANDLER}),
    NavItem("/admin", "系统管理", frozenset({Role.ADMIN})),
)
_NAV_BY_HREF = {item.href: item for item in NAV}


def nav_for(user: Principal | None) -> list[tuple[str, str]]:
    """The (href, label) pairs of the pages this user may open."""
    if user is None:
        return []
    return [(i.href, i.label) for i in NAV if i.allows(user)]


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """A page (or fragment) with the signed-in user, the CSRF token and any flash message."""
    user = getattr(request.state, "user", None)
    base: dict[str, Any] = {
        "user": user, "nav": nav_for(user),
        "csrf": csrf_token(request),
        "flash": None if request.headers.get("HX-Request") else request.session.pop("flash", None),
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})},
                                      status_code=status_code)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A message for the next page this browser renders (Post/Redirect/Get)."""
    request.session["flash"] = {"kind": kind, "text": text}


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- who is signed in -----------------------------------------------------------------------


class LoginRequired(Exception):
    """No valid browser session: the page sends the browser to /login."""


async def check_csrf(request: Request) -> None:
    """A form (or htmx) write must carry the session's CSRF token, in the header or a field."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not csrf_matches(request, sent):
        raise PermissionDenied("页面已过期或缺少安全令牌，请刷新页面后重试", code="csrf_failed")


async def page_user(request: Request, session: ReaderDep) -> Principal:
    """The signed-in staff member of the browser session (a public account is refused: the
    public portal is theirs); form posts must carry the CSRF token."""
    login = request.session.get("login")
    if not login:
        raise LoginRequired
    if request.method not in SAFE_METHODS:
        await check_csrf(request)
    try:
        user = accounts.session_principal(session, str(login), session_id(request),
                                          request.app.state.clock())
    except (NotFound, AuthenticationFailed):
        request.session.clear()
        raise LoginRequired from None
    if not user.is_staff:
        raise PermissionDenied("公众账号请使用公众服务页面（/public）", code="page_forbidden")
    request.state.user = user
    return user


PageUser = Annotated[Principal, Depends(page_user)]


def page_for(href: str) -> Any:
    """``Depends`` giving the signed-in user of the navigation page ``href``; users whose role
    may not open it get a Chinese 403 page."""
    item = _NAV_BY_HREF[href]

    async def allowed_user(user: PageUser) -> Principal:
        if not item.allows(user):
            raise PermissionDenied(f"“{item.label}”不对{user.role.label}开放", code="page_forbidden")
        return user

    return Depends(allowed_user)


# --- errors as pages ----------------------------------------------------------------------

ERROR_TITLES = {403: "无权访问", 404: "页面不存在", 422: "无法完成操作"}


def error_page(request: Request, status: int, message: str) -> Response:
    if request.headers.get("HX-Request"):
        return HTMLResponse(f'<p class="alert alert-error">{_escape(message)}</p>',
                            status_code=status)
    return render(request, "error.html", {"title": ERROR_TITLES.get(status, "出错了"),
                                          "message": message}, status_code=status)


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def to_login(request: Request) -> Response:
    target = "/login?next=" + quote(request.url.path, safe="/")
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return see_other(target)


def _status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    return 422


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PageRoute(APIRoute):
    """A page route: domain errors become Chinese HTML pages, a missing login a redirect."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return to_login(request)
            except AuthenticationFailed:
                request.session.clear()
                return to_login(request)
            except DomainError as exc:
                return error_page(request, _status(exc), exc.message)

        return page_handler


def not_found_page(what: str) -> NotFound:
    return NotFound(f"{what}不存在或不在您的权限范围内", code="not_found")


def invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_form")
