"""重点项目: the list with a Gantt-style schedule (ECharts) and a map (Leaflet), the office's form
for a new project; a project's page with its progress reports, the lead unit's phone-sized
progress form with photos and the office's accept / return buttons."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import shapely.geometry
from fastapi import APIRouter, Path, Request, Response

from xiuhua.config import Settings
from xiuhua.domain.access import Principal, manages_programme
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import ProjectColour, ProjectKind, ProjectPhase, ReviewState, UnitKind
from xiuhua.domain.errors import DomainError, NotFound, PermissionDenied
from xiuhua.domain.photos import MAX_PHOTOS
from xiuhua.domain.projects import ProgressReport, window
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.services import photos
from xiuhua.services import projects as service
from xiuhua.web.auth import FormData
from xiuhua.web.cases import PhotoFiles
from xiuhua.web.maps import display_sys, geometry_json, shifted_point, tile_config
from xiuhua.web.pages import PageRoute, flash, invalid, page_for, render, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an id of a table row (INTEGER)
ProjectsUser = Annotated[Principal, page_for("/projects")]
COLOURS = {"green": "#2e8b57", "yellow": "#d4a017", "red": "#c0392b"}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def gantt_rows(views: list[service.ProjectView]) -> list[dict[str, Any]]:
    """One row per project: the planned bar (00:00 of the start to 24:00 of the finish) and
    the accepted progress drawn over it, in the project's colour."""
    rows = []
    for v in views:
        start, end = window(v.project)
        done = start + (end - start) * v.project.progress / 100
        rows.append({"id": v.project.id, "name": v.project.name, "start": _ms(start),
                     "end": _ms(end), "done": _ms(done), "progress": v.project.progress,
                     "colour": v.schedule.colour.value, "label": v.schedule.colour.label,
                     "lag": float(round(v.schedule.lag, 1)), "unit": v.lead_unit_name})
    return rows


def map_features(views: list[service.ProjectView], settings: Settings) -> list[dict[str, Any]]:
    coord_sys = display_sys(settings)
    found = []
    for v in views:
        point = list(shifted_point(v.lon, v.lat, coord_sys))[::-1] \
            if v.lon is not None and v.lat is not None else None
        area = geometry_json(shapely.geometry.shape(v.area), coord_sys) if v.area else None
        if point or area:
            found.append({"id": v.project.id, "name": v.project.name, "point": point,
                          "area": area, "colour": COLOURS[v.schedule.colour.value],
                          "label": v.schedule.colour.label, "unit": v.lead_unit_name})
    return found


def _units(city: Any) -> list[tuple[str, str]]:
    return [(u.code, u.name) for u in city.units.values()
            if u.active and u.kind != UnitKind.CENTER.value]


@router.get("/projects")
def projects_page(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                  settings: SettingsDep, user: ProjectsUser, due: str = "",
                  colour: str = "") -> Response:
    """The projects in the user's scope (``due=this``: those due this year)."""
    year = now.astimezone(local_zone()).year
    chosen = ProjectColour(colour) if colour in ProjectColour.values() else None
    views = service.list_projects(session, user, now, due_year=year if due == "this" else None,
                                  colour=chosen)
    return render(request, "projects/index.html", {
        "title": "重点项目", "views": views, "year": year, "due": due, "colour": colour,
        "colours": list(ProjectColour), "manager": manages_programme(user),
        "kinds": list(ProjectKind), "phases": list(ProjectPhase), "units": _units(city),
        "config": {"gantt": gantt_rows(views), "now": _ms(now), "colours": COLOURS,
                   "map": map_features(views, settings), "tiles": tile_config(settings)}})


def _day(value: str, label: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise invalid(f"{label}须为日期（如 2026-03-01）") from None


def _number(value: str, label: str) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise invalid(f"{label}须为数字") from None
    if number != number or number in (float("inf"), float("-inf")) or abs(number) > 1e7:
        raise invalid(f"{label}超出范围")
    return number


def _input(form: dict[str, str]) -> service.ProjectInput:
    kind, phase = form.get("kind", ""), form.get("phase", "preparation")
    if kind not in ProjectKind.values() or phase not in ProjectPhase.values():
        raise invalid("请选择项目类型和阶段")
    lon, lat = _number(form.get("lon", ""), "经度"), _number(form.get("lat", ""), "纬度")
    return service.ProjectInput(
        form.get("name", "").strip()[:200], ProjectKind(kind), form.get("lead_unit", ""),
        _day(form.get("planned_start", ""), "计划开工日期"),
        _day(form.get("planned_finish", ""), "计划竣工日期"),
        round((_number(form.get("planned_investment", ""), "计划投资") or 0) * 10_000),
        ProjectPhase(phase), form.get("address", "").strip()[:200] or None,
        form.get("description", "").strip()[:4000] or None, lon, lat)


def _refused(exc: DomainError) -> bool:
    """Access refusals stay 403/404 pages; other refusals are shown on the form's page."""
    return not isinstance(exc, NotFound | PermissionDenied)


@router.post("/projects")
def create_project(request: Request, session: SessionDep, now: NowDep, user: ProjectsUser,
                   form: FormData) -> Response:
    """The office's form: a new project, then its page."""
    service.require_manager(user, "新建重点项目")
    try:
        with session.begin_nested():
            project_id = service.create_project(session, user, _input(form), now,
                                                client_address(request))
    except DomainError as exc:
        if not _refused(exc):
            raise
        flash(request, f"未能新建项目：{exc.message}", "error")
        return see_other("/projects")
    flash(request, "重点项目已登记")
    return see_other(f"/projects/{project_id}")


@router.get("/projects/{project_id}")
def project_page(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep,
                 user: ProjectsUser, project_id: RowId) -> Response:
    detail = service.project_detail(session, user, project_id, now)
    view = detail.view
    return render(request, "projects/detail.html", {
        "title": view.project.name, "view": view, "reports": detail.reports,
        "manager": manages_programme(user), "may_report": service.may_report(user, view.project),
        "phases": list(ProjectPhase), "pending": ReviewState.PENDING,
        "max_photos": MAX_PHOTOS, "today": now.astimezone(local_zone()).date(),
        "config": {"gantt": gantt_rows([view]), "now": _ms(now), "colours": COLOURS,
                   "map": map_features([view], settings), "tiles": tile_config(settings)}})


def _report(form: dict[str, str]) -> ProgressReport:
    try:
        percent = int(form.get("percent", "").strip())
    except ValueError:
        raise invalid("请填写完成进度（0–100 的整数）") from None
    phase = form.get("phase", "")
    invested = _number(form.get("completed_investment", ""), "累计完成投资")
    return ProgressReport(percent, ProjectPhase(phase) if phase in ProjectPhase.values() else None,
                          None if invested is None else round(invested * 10_000),
                          _day(form["on"], "日期") if form.get("on", "").strip() else None)


@router.post("/projects/{project_id}/progress")
def report_progress(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep,
                    user: ProjectsUser, form: FormData, files: PhotoFiles,
                    project_id: RowId) -> Response:
    """The lead unit's progress form (photos taken with the phone's camera)."""
    page = f"/projects/{project_id}"
    service.project_detail(session, user, project_id, now)  # out of sight: a 404 page
    try:
        with session.begin_nested():
            ids = photos.store_uploads(session, settings, files, user.login, now)
            service.report_progress(session, user, project_id, _report(form),
                                    form.get("note", "")[:2000], ids, now,
                                    client_address(request))
    except DomainError as exc:
        if not _refused(exc):
            raise
        flash(request, f"进度未报送：{exc.message}", "error")
        return see_other(page)
    flash(request, "进度已报送" + ("" if manages_programme(user) else "，等待城管委办公室审核"))
    return see_other(page)


@router.post("/projects/{project_id}/progress/{report_id}/{decision}")
def decide_progress(request: Request, session: SessionDep, now: NowDep, user: ProjectsUser,
                    form: FormData, project_id: RowId, report_id: RowId, decision: str) -> Response:
    """The office accepts (``accept``) or returns (``return``, with a reason) a report."""
    if decision not in ("accept", "return"):
        raise NotFound("页面不存在", code="not_found")
    page = f"/projects/{project_id}"
    try:
        with session.begin_nested():
            service.decide_progress(session, user, project_id, report_id, decision == "accept",
                                    form.get("reason", "")[:1000], now, client_address(request))
    except DomainError as exc:
        if not _refused(exc):
            raise
        flash(request, f"未能审核：{exc.message}", "error")
        return see_other(page)
    flash(request, "进度报告已采纳" if decision == "accept" else "进度报告已退回")
    return see_other(page)
