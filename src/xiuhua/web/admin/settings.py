"""The working calendar (a year's working days, holidays and 调休, setting one day as
``xiuhua calendar set`` does, importing a year's notice as ``xiuhua calendar import`` does:
upload, see the changes, confirm), the permission table (``xiuhua permissions show|set``) and the
assessment's scoring weights (a data file, shown read-only)."""

from __future__ import annotations

import calendar as monthly
from datetime import date, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

from xiuhua.domain.calendar import WorkCalendar, in_supported_years, local_zone
from xiuhua.domain.choices import Action, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, InvalidInput
from xiuhua.domain.lifecycle import SYSTEM_ACTIONS
from xiuhua.domain.values import whole_number
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep
from xiuhua.services import accounts
from xiuhua.services import city as city_service
from xiuhua.services.assessment import CONFIG_FILE, load_config, shipped_config_text
from xiuhua.services.calendars import (
    import_schedule_text,
    provisional_next_year,
    schedule_template,
    set_calendar_day,
)
from xiuhua.web.admin.common import (
    AdminUser,
    PostedForm,
    error_lines,
    in_savepoint,
    page,
    router,
    text,
    uploads,
)
from xiuhua.web.pages import flash, see_other

WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
DAY_KINDS = {"workday": "工作日", "holiday": "休息日"}
ROLES = list(Role)  # the public too: it reports and rates cases


# --- calendar -------------------------------------------------------------------------------


def day_kind(cal: WorkCalendar, day: date) -> tuple[str, str]:
    """(css class, Chinese label) of a day: 工作日, 周末, 节假日 (a weekday off) or 调休上班."""
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
    return found if found is not None and in_supported_years(found) else now.astimezone(local_zone()).year


def _calendar_context(city: City, year: int, now: datetime, values: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None) -> dict[str, Any]:
    cal = city.calendar()
    return {"title": "工作日历", "year": year, "months": year_view(cal, year),
            "weekdays": WEEKDAYS, "official": cal.is_official_year(year),
            "summary": cal.summary(year), "calendar_banner": provisional_next_year(cal, now),
            "values": values or {}, "errors": errors or {},
            "kinds": list(DAY_KINDS.items())}


@router.get("/admin/calendar")
def calendar_page(request: Request, city: CityDep, now: NowDep, user: AdminUser) -> Response:
    return page(request, "admin/calendar.html", _calendar_context(city, _year(request, now), now))


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
                    _calendar_context(city, _year(request, now), now, values, errors))
    in_savepoint(session, set_calendar_day, day, values["kind"] == "workday", actor=user.login)
    flash(request, f"{day.isoformat()} 已设为{DAY_KINDS[values['kind']]}")
    return see_other(f"/admin/calendar?year={day.year}#m{day.month}")


MAX_SCHEDULE_BYTES = 256 * 1024  # a year's notice is a few hundred bytes


def _import_context(now: datetime, values: dict[str, str] | None = None,
                    problems: list[str] | None = None, preview: Any = None,
                    text_value: str = "") -> dict[str, Any]:
    next_year = now.astimezone(local_zone()).year + 1
    return {"title": "导入放假安排", "values": values or {"year": ""}, "problems": problems or [],
            "preview": preview, "schedule_text": text_value, "next_year": next_year,
            "weekdays": WEEKDAYS}


@router.get("/admin/calendar/import")
def calendar_import_page(request: Request, now: NowDep, user: AdminUser) -> Response:
    return page(request, "admin/calendar_import.html", _import_context(now))


@router.get("/admin/calendar/template.csv")
def calendar_template(now: NowDep, user: AdminUser) -> Response:
    """A commented template for next year's notice (the format; the city fills in the days)."""
    year = now.astimezone(local_zone()).year + 1
    return PlainTextResponse(schedule_template(year), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition":
                                      f'attachment; filename="calendar-{year}.csv"'})


def _posted_schedule(form: Any) -> tuple[str, str | None]:
    """The schedule's text and file name: the uploaded file, or the text a preview carried."""
    files = uploads(form)
    if not files:
        return text(form, "schedule_text"), text(form, "file_name") or None
    raw = files[0].file.read(MAX_SCHEDULE_BYTES + 1)
    if len(raw) > MAX_SCHEDULE_BYTES:
        raise InvalidInput("文件过大：放假安排文件不超过 256 KB", code="file_too_large")
    try:
        return raw.decode("utf-8-sig"), files[0].filename
    except UnicodeDecodeError:
        raise InvalidInput("文件不是 UTF-8 编码", code="invalid_encoding") from None


def _posted_year(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"年份“{raw[:10]}”无效", code="invalid_year")
    return int(raw)


@router.post("/admin/calendar/import")
def calendar_import(request: Request, session: SessionDep, now: NowDep, user: AdminUser,
                    form: PostedForm) -> Response:
    """Preview (the changes and the deadlines that would move), then confirm."""
    values = {"year": text(form, "year"), "partial": text(form, "partial")}
    confirm = text(form, "step") == "confirm"
    schedule_text = ""
    try:
        schedule_text, file_name = _posted_schedule(form)
        result = in_savepoint(session, import_schedule_text, schedule_text,
                              year=_posted_year(values["year"]), partial=bool(values["partial"]),
                              file_name=file_name, actor=user.login, apply_import=confirm,
                              now=now)
    except DomainError as exc:
        return page(request, "admin/calendar_import.html",
                    _import_context(now, values, error_lines(exc)))
    if not confirm:
        values["file_name"] = file_name or ""
        return page(request, "admin/calendar_import.html",
                    _import_context(now, values, preview=result, text_value=schedule_text))
    moved = f"；{len(result.moves)} 件在办案件的截止时间需调整（xiuhua calendar recompute --apply）" \
        if result.moves else ""
    flash(request, f"已导入 {result.year} 年放假安排（{'正式' if result.official else '暂定'}），"
                   f"变化 {len(result.changes)} 天{moved}")
    return see_other(f"/admin/calendar?year={result.year}")


# --- permission table -----------------------------------------------------------------------


def _permissions_context(session: Any, errors: dict[str, str] | None = None) -> dict[str, Any]:
    table = city_service.permissions(session).table
    return {"title": "权限表", "roles": ROLES, "errors": errors or {},
            "rows": [{"action": a, "roles": table.get(a, frozenset())} for a in Action
                     if a not in SYSTEM_ACTIONS]}


@router.get("/admin/permissions")
def permissions_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return page(request, "admin/permissions.html", _permissions_context(session))


@router.post("/admin/permissions")
def permissions_set(request: Request, session: SessionDep, now: NowDep, user: AdminUser,
                    form: PostedForm) -> Response:
    """Each action whose ticked roles differ from the table is set (and audited) on its own."""
    ticked: dict[Action, set[Role]] = {a: set() for a in Action if a not in SYSTEM_ACTIONS}
    for value in form.getlist("allow"):
        action, _, role = str(value).partition(":")
        try:
            ticked[Action(action)].add(Role(role))
        except (ValueError, KeyError):
            continue  # not a box this page offers
    current = city_service.permissions(session).table
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
