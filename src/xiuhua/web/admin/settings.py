"""The working calendar (a year's working days, holidays and 调休, and setting one day as
``xiuhua calendar set`` does), the permission table (``xiuhua permissions show|set``) and the
assessment's scoring weights (a data file, shown read-only)."""

from __future__ import annotations

import calendar as monthly
import warnings
from datetime import date, datetime
from typing import Any

from fastapi import Request, Response

from xiuhua.domain.calendar import SHANGHAI, UnofficialYearWarning, WorkCalendar
from xiuhua.domain.choices import Action, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError
from xiuhua.domain.values import whole_number
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep
from xiuhua.services import accounts
from xiuhua.services.assessment import CONFIG_FILE, load_config, shipped_config_text
from xiuhua.services.calendars import set_calendar_day
from xiuhua.store import city as store
from xiuhua.web.admin.common import AdminUser, PostedForm, in_savepoint, page, router, text
from xiuhua.web.pages import flash, see_other

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
DAY_KINDS = {"workday": "工作日", "holiday": "休息日"}
ROLES = list(Role)  # the public too: it reports and rates cases


# --- calendar -------------------------------------------------------------------------------


def day_kind(cal: WorkCalendar, day: date) -> tuple[str, str]:
    """(css class, Chinese label) of a day: 工作日, 周末, 节假日 (a weekday off) or 调休上班."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnofficialYearWarning)
        working = cal.is_workday(day)
    weekend = day.weekday() >= 5
    if working:
        return ("swap", "调休上班") if weekend else ("work", "工作日")
    return ("weekend", "周末") if weekend else ("holiday", "节假日")


def year_view(cal: WorkCalendar, year: int) -> list[dict[str, Any]]:
    """Twelve months of weeks (Monday first), each day with its kind and whether the city set it."""
    months = []
    for month in range(1, 13):
        weeks = []
        for week in monthly.Calendar().monthdatescalendar(year, month):
            weeks.append([None if d.month != month else
                          {"day": d, "kind": day_kind(cal, d), "set": d in cal.overrides}
                          for d in week])
        months.append({"month": month, "weeks": weeks})
    return months


def _year(request: Request, now: datetime) -> int:
    found = whole_number(request.query_params.get("year"))
    return found if found is not None and 2000 <= found <= 2100 else now.astimezone(SHANGHAI).year


def _calendar_context(city: City, year: int, values: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None) -> dict[str, Any]:
    cal = city.calendar()
    return {"title": "工作日历", "year": year, "months": year_view(cal, year),
            "weekdays": WEEKDAYS, "official": cal.is_official_year(year),
            "values": values or {}, "errors": errors or {},
            "kinds": list(DAY_KINDS.items())}


@router.get("/admin/calendar")
def calendar_page(request: Request, city: CityDep, now: NowDep, user: AdminUser) -> Response:
    return page(request, "admin/calendar.html", _calendar_context(city, _year(request, now)))


@router.post("/admin/calendar")
def calendar_set(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                 user: AdminUser, form: PostedForm) -> Response:
    values = {"day": text(form, "day"), "kind": text(form, "kind")}
    errors: dict[str, str] = {}
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        errors["day"] = f"日期“{values['day']}”无效，应为 YYYY-MM-DD" if values["day"] else "请选择日期"
    if values["kind"] not in DAY_KINDS:
        errors["kind"] = "类型须为工作日或休息日"
    if errors:
        return page(request, "admin/calendar.html",
                    _calendar_context(city, _year(request, now), values, errors))
    in_savepoint(session, set_calendar_day, day, values["kind"] == "workday", actor=user.login)
    flash(request, f"{day.isoformat()} 已设为{DAY_KINDS[values['kind']]}")
    return see_other(f"/admin/calendar?year={day.year}#m{day.month}")


# --- permission table -----------------------------------------------------------------------


def _permissions_context(session: Any, errors: dict[str, str] | None = None) -> dict[str, Any]:
    table = store.load_permissions(session).table
    return {"title": "权限表", "roles": ROLES, "errors": errors or {},
            "rows": [{"action": a, "roles": table.get(a, frozenset())} for a in Action]}


@router.get("/admin/permissions")
def permissions_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return page(request, "admin/permissions.html", _permissions_context(session))


@router.post("/admin/permissions")
def permissions_set(request: Request, session: SessionDep, now: NowDep, user: AdminUser,
                    form: PostedForm) -> Response:
    """Each action whose ticked roles differ from the table is set (and audited) on its own."""
    ticked: dict[Action, set[Role]] = {a: set() for a in Action}
    for value in form.getlist("allow"):
        action, _, role = str(value).partition(":")
        try:
            ticked[Action(action)].add(Role(role))
        except ValueError:
            continue  # not a box this page offers
    current = store.load_permissions(session).table
    changed = []
    try:
        for action, roles in ticked.items():
            if roles != set(current.get(action, frozenset())):
                in_savepoint(session, accounts.set_permission, action, sorted(roles), now,
                             actor=user.login)
                changed.append(action.label)
    except DomainError as exc:
        return page(request, "admin/permissions.html",
                    _permissions_context(session, {"form": exc.message}))
    flash(request, f"权限表已更新：{'、'.join(changed)}" if changed else "权限表没有变化")
    return see_other("/admin/permissions")


# --- scoring weights ------------------------------------------------------------------------


@router.get("/admin/weights")
def weights_page(request: Request, settings: SettingsDep, user: AdminUser) -> Response:
    """The assessment configuration in force: the data directory's file, else the shipped one."""
    path = settings.data_dir / CONFIG_FILE
    local = path.is_file()
    source = str(path) if local else "随软件提供的默认配置（xiuhua/data/assessment.toml）"
    content = path.read_text(encoding="utf-8") if local else shipped_config_text()
    error = ""
    try:
        load_config(settings.data_dir)
    except DomainError as exc:
        error = exc.message
    return page(request, "admin/weights.html", {
        "title": "考核权重", "source": source, "content": content, "error": error,
        "override": str(path)})
