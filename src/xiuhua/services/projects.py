"""Key projects (重点项目): the office enters them, the lead unit reports progress (with photos),
the office accepts or returns each report (only accepted ones count), and everyone in scope
sees each project's colour and schedule lag (``domain.projects``). The sweeper tells a project's
lead unit and the office when it turns red; :func:`late_projects` gives the circular its rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import (
    UNIT_STAFF,
    Principal,
    can_see_project,
    manages_programme,
    sees_programme,
)
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import (
    Audience,
    NoticeKind,
    ProjectColour,
    ProjectKind,
    ProjectPhase,
    ReviewState,
    Role,
    UnitKind,
)
from xiuhua.domain.city import UnitInfo
from xiuhua.domain.errors import ActionRefused, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.geo import validate_lonlat
from xiuhua.domain.notices import TargetKind
from xiuhua.domain.photos import check_photo_count
from xiuhua.domain.projects import (
    LateProject,
    ProgressReport,
    Project,
    Schedule,
    accept,
    add_months,
    check_dates,
    check_report,
    schedule,
)
from xiuhua.services.accounts import audit
from xiuhua.services.notifications import Notice
from xiuhua.services.photos import check_may_link
from xiuhua.store import city as city_store
from xiuhua.store import projects as store
from xiuhua.store.tables import projects as projects_table


@dataclass(frozen=True)
class ProjectInput:
    """A new project as the office enters it (investment in yuan; location WGS-84)."""

    name: str
    kind: ProjectKind
    lead_unit: str
    planned_start: date
    planned_finish: date
    planned_investment: int = 0
    phase: ProjectPhase = ProjectPhase.PREPARATION
    address: str | None = None
    description: str | None = None
    lon: float | None = None
    lat: float | None = None
    area: Mapping[str, Any] | None = None  # a GeoJSON Polygon
    linked_tasks: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class ProjectView:
    """A project as a list or page shows it: the rules' standing and where it is."""

    project: Project
    schedule: Schedule
    lead_unit_name: str
    address: str | None
    description: str | None
    lon: float | None
    lat: float | None
    area: Mapping[str, Any] | None
    linked_tasks: Sequence[Mapping[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class ReportView:
    id: int
    percent: int
    phase: ProjectPhase | None
    completed_investment: int | None
    on_day: date | None
    note: str
    state: ReviewState
    reported_by: str | None
    reported_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    photos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectDetail:
    view: ProjectView
    reports: list[ReportView]


def _today(at: datetime) -> date:
    return at.astimezone(local_zone()).date()


def _unit_names(session: Session) -> Mapping[str, UnitInfo]:
    return city_store.load_units(session)


def _view(row: Any, units: Mapping[str, UnitInfo], at: datetime) -> ProjectView:
    project = store.to_project(row)
    unit = units.get(row.lead_unit)
    return ProjectView(project, schedule(project, at), unit.name if unit else row.lead_unit,
                       row.address, row.description, row.lon, row.lat, row.area,
                       row.linked_tasks or [], row.created_at)


# --- entering a project -----------------------------------------------------------------------


def require_manager(principal: Principal, what: str) -> None:
    if not manages_programme(principal):
        raise PermissionDenied(f"{principal.role.label}无权{what}", code="permission_denied")


def _check_input(session: Session, data: ProjectInput) -> None:
    if not data.name.strip():
        raise InvalidInput("请填写项目名称", code="project_name")
    check_dates(data.planned_start, data.planned_finish)
    unit = _unit_names(session).get(data.lead_unit)
    if unit is None or not unit.active or unit.kind == UnitKind.CENTER.value:
        raise InvalidInput(f"牵头单位“{data.lead_unit}”不存在", code="unknown_unit")
    if data.planned_investment < 0:
        raise InvalidInput("计划投资不能为负数", code="project_investment")
    if (data.lon is None) != (data.lat is None):
        raise InvalidInput("位置须同时给出经度和纬度", code="invalid_location")
    if data.lon is not None and data.lat is not None:
        validate_lonlat(data.lon, data.lat)
    if data.area is not None:
        _check_area(data.area)


def _check_area(area: Mapping[str, Any]) -> None:
    rings = area.get("coordinates") if area.get("type") == "Polygon" else None
    if not isinstance(rings, list) or not rings or not all(
            isinstance(r, list) and len(r) >= 4 for r in rings):
        raise InvalidInput("项目范围须为 GeoJSON 多边形（Polygon）", code="invalid_area")
    for ring in rings:
        for point in ring:
            if not (isinstance(point, list) and len(point) == 2):
                raise InvalidInput("项目范围的坐标有误", code="invalid_area")
            validate_lonlat(float(point[0]), float(point[1]))


def create_project(session: Session, principal: Principal, data: ProjectInput, now: datetime,
                   client: str | None = None) -> int:
    """The office (or an admin) enters a key project; its id."""
    require_manager(principal, "新建重点项目")
    _check_input(session, data)
    project_id = store.insert_project(session, {
        "name": data.name.strip(), "kind": data.kind.value, "phase": data.phase.value,
        "lead_unit": data.lead_unit, "planned_start": data.planned_start,
        "planned_finish": data.planned_finish, "planned_investment": data.planned_investment,
        "completed_investment": 0, "progress": 0, "address": data.address,
        "description": data.description, "lon": data.lon, "lat": data.lat,
        "area": dict(data.area) if data.area else None,
        "linked_tasks": [dict(t) for t in data.linked_tasks],
        "actual_start": None, "actual_finish": None,
        "created_by": principal.login, "created_at": now})
    audit(session, now, principal.login, "project_create", str(project_id),
          {"name": data.name, "lead_unit": data.lead_unit}, client)
    return project_id


# --- reading ----------------------------------------------------------------------------------


def _scope(principal: Principal) -> list[Any]:
    if sees_programme(principal):
        return []
    if principal.role in UNIT_STAFF and principal.unit_code:
        return [projects_table.c.lead_unit == principal.unit_code]
    raise PermissionDenied(f"重点项目不对{principal.role.label}开放", code="permission_denied")


def list_projects(session: Session, principal: Principal, at: datetime, *,
                  due_year: int | None = None, colour: ProjectColour | None = None,
                  unit: str | None = None) -> list[ProjectView]:
    """The projects ``principal`` may see (the office, leaders, admins all; a unit's staff
    those their unit leads), by planned finish; ``due_year``: those planned to finish that
    year (the list of projects due this year with their colour)."""
    where = _scope(principal)
    if unit:
        where.append(projects_table.c.lead_unit == unit)
    units = _unit_names(session)
    views = [_view(r, units, at) for r in store.project_rows(session, *where)]
    if due_year is not None:
        views = [v for v in views if v.project.planned_finish.year == due_year]
    if colour is not None:
        views = [v for v in views if v.schedule.colour is colour]
    return views


def _visible_row(session: Session, principal: Principal, project_id: int) -> Any:
    row = store.project_row(session, project_id)
    if row is None or not can_see_project(principal, store.to_project(row)):
        raise NotFound(f"重点项目 {project_id} 不存在", code="project_not_found")
    return row


def project_detail(session: Session, principal: Principal, project_id: int,
                   at: datetime) -> ProjectDetail:
    """One project with its progress reports (newest first), if ``principal`` may see it;
    otherwise it does not exist for them."""
    row = _visible_row(session, principal, project_id)
    rows = store.progress_rows(session, project_id)
    photos = store.photos_of(session, [r.id for r in rows])
    reports = [ReportView(r.id, r.percent, ProjectPhase(r.phase) if r.phase else None,
                          r.completed_investment, r.on_day, r.note or "", ReviewState(r.state),
                          r.reported_by, r.reported_at, r.decided_by, r.decided_at, r.reason,
                          photos.get(r.id, [])) for r in rows]
    return ProjectDetail(_view(row, _unit_names(session), at), reports)


# --- progress ---------------------------------------------------------------------------------


def may_report(principal: Principal, project: Project) -> bool:
    """The lead unit's staff report progress; the office's own reports count at once."""
    if manages_programme(principal):
        return True
    return principal.role in UNIT_STAFF and principal.unit_code == project.lead_unit


def report_progress(session: Session, principal: Principal, project_id: int,
                    report: ProgressReport, note: str, photo_ids: Sequence[str], now: datetime,
                    client: str | None = None) -> int:
    """A progress report (percent, phase reached, investment, photos) by the lead unit,
    waiting for the office; one entered by the office itself is accepted at once. Its id."""
    row = _visible_row(session, principal, project_id)
    project = store.to_project(row)
    if not may_report(principal, project):
        raise PermissionDenied("只有牵头单位可以报送项目进度", code="permission_denied")
    check_report(project, report)
    check_photo_count(len(photo_ids))
    ids = check_may_link(session, principal, photo_ids)
    at_once = manages_programme(principal)
    report_id = store.insert_progress(session, {
        "project_id": project_id, "percent": report.percent,
        "phase": report.phase.value if report.phase else None,
        "completed_investment": report.completed_investment, "on_day": report.on,
        "note": note.strip() or None,
        "state": (ReviewState.ACCEPTED if at_once else ReviewState.PENDING).value,
        "reported_by": principal.login, "reported_at": now,
        "decided_by": principal.login if at_once else None, "decided_at": now if at_once else None,
        "reason": None}, ids)
    if at_once:
        store.save_standing(session, accept(project, report, _today(now)))
    audit(session, now, principal.login, "project_progress", str(project_id),
          {"report": report_id, "percent": report.percent}, client)
    return report_id


def decide_progress(session: Session, principal: Principal, project_id: int, report_id: int,
                    accepted: bool, reason: str, now: datetime, client: str | None = None) -> None:
    """The office accepts a pending report (it then counts: progress, phase, investment,
    actual start and finish) or returns it with a reason."""
    require_manager(principal, "审核项目进度")
    row = _visible_row(session, principal, project_id)
    found = store.progress_row(session, project_id, report_id)
    if found is None:
        raise NotFound(f"进度报告 {report_id} 不存在", code="progress_not_found")
    if found.state != ReviewState.PENDING.value:
        raise ActionRefused(f"该进度报告{ReviewState(found.state).label}，不能再审核",
                            code="progress_decided")
    if not accepted and not reason.strip():
        raise InvalidInput("退回须写明原因", code="progress_reason")
    if accepted:
        report = ProgressReport(found.percent, ProjectPhase(found.phase) if found.phase else None,
                                found.completed_investment, found.on_day)
        store.save_standing(session, accept(store.to_project(row), report,
                                            _today(found.reported_at)))
    state = ReviewState.ACCEPTED if accepted else ReviewState.RETURNED
    store.decide(session, report_id, {"state": state.value, "decided_by": principal.login,
                                      "decided_at": now, "reason": reason.strip() or None})
    audit(session, now, principal.login, f"project_progress_{state.value}", str(project_id),
          {"report": report_id}, client)


# --- figures, the circular and the sweeper ----------------------------------------------------


def colour_counts(session: Session, principal: Principal, at: datetime) -> dict[str, int]:
    """Projects by colour at ``at`` (the dashboard tile), every colour present."""
    counts = Counter(v.schedule.colour.value for v in list_projects(session, principal, at))
    return {c.value: counts.get(c.value, 0) for c in ProjectColour}


def late_projects(session: Session, at: datetime, unit_code: str | None = None
                  ) -> list[LateProject]:
    """The projects yellow or red at ``at`` (e.g. the month's end), red first, for the
    circular's 重点任务推进情况; ``unit_code``: one lead unit's."""
    where = [projects_table.c.lead_unit == unit_code] if unit_code else []
    units = _unit_names(session)
    rows = []
    for view in (_view(r, units, at) for r in store.project_rows(session, *where)):
        p, s = view.project, view.schedule
        if s.colour is not ProjectColour.GREEN:
            rows.append(LateProject(p.id, p.name, p.kind.label, p.lead_unit, view.lead_unit_name,
                                    p.planned_start, p.actual_start, p.planned_finish,
                                    p.phase.label, p.progress, s.time_progress, s.lag, s.colour,
                                    s.started_late, s.reason))
    return sorted(rows, key=lambda r: (r.colour is not ProjectColour.RED, r.lead_unit_name,
                                       r.project_id))


def red_notices(session: Session, now: datetime) -> list[Notice]:
    """For the sweeper: each red project's lead unit and the office are told (once)."""
    found = []
    for late in late_projects(session, now):
        if late.colour is not ProjectColour.RED:
            continue
        message = f"重点项目“{late.name}”亮红灯：{late.reason}"
        target = str(late.project_id)
        found.append(Notice(now, NoticeKind.PROJECT_RED, TargetKind.PROJECT, target,
                            Audience.UNIT, message, unit_code=late.lead_unit,
                            recipient=late.lead_unit))
        found.append(Notice(now, NoticeKind.PROJECT_RED, TargetKind.PROJECT, target,
                            Audience.ROLE, f"{late.lead_unit_name}牵头的{message}",
                            unit_code=late.lead_unit, recipient=Role.OFFICE.value))
    return found


# --- the demo city ------------------------------------------------------------------------------

# name, kind, lead unit, months from now to the planned start, duration in months, phase,
# accepted progress, days late the start was (None: as planned), investment (10k yuan)
DEMO_PROJECTS: tuple[tuple[str, ProjectKind, str, int, int, ProjectPhase, int, int | None, int],
                     ...] = (
    ("北环路快速化改造", ProjectKind.ROAD, "ZJJ", -8, 12, ProjectPhase.CONSTRUCTION, 55, None, 18000),
    ("泉城路综合整治", ProjectKind.ROAD, "ZJJ", -5, 8, ProjectPhase.CONSTRUCTION, 30, 40, 6500),
    ("历山街雨污分流", ProjectKind.ROAD, "PSC", -6, 9, ProjectPhase.CONSTRUCTION, 72, None, 4200),
    ("滨河公园提升", ProjectKind.GREENING, "YLZX", -7, 10, ProjectPhase.CONSTRUCTION, 60, 25, 3100),
    ("口袋公园建设（10 处）", ProjectKind.GREENING, "YLZX", -4, 6, ProjectPhase.CONSTRUCTION, 45,
     None, 1200),
    ("垃圾转运站升级", ProjectKind.SANITATION, "HWZX", -9, 8, ProjectPhase.COMPLETED, 100, None, 2600),
    ("公厕新建改建（20 座）", ProjectKind.SANITATION, "HWZX", -3, 7, ProjectPhase.TENDERING, 0,
     None, 900),
    ("幸福里等老旧小区改造", ProjectKind.OLD_COMMUNITY, "ZJJ", -2, 8, ProjectPhase.TENDERING, 0,
     None, 5400),
    ("农村户厕改造（1200 户）", ProjectKind.RURAL_TOILET, "HWZX", -6, 9, ProjectPhase.CONSTRUCTION,
     50, None, 720),
    ("东环街绿道", ProjectKind.GREENING, "YLZX", 1, 6, ProjectPhase.PREPARATION, 0, None, 1500),
)
DEMO_WEST, DEMO_NORTH = 116.97, 36.615  # inside X市 (data/demo_city.json)


def _months_from(day: date, months: int) -> date:
    return add_months(day.replace(day=1), months)


def build_demo_projects(session: Session, now: datetime) -> int:
    """Ten key projects of X市 (two started late, one not started months after its planned
    start, one finished), each with monthly progress reports: accepted, one pending, one
    returned. The number entered."""
    office = Principal("demo", Role.ADMIN, "演示数据")
    today = _today(now)
    for n, (name, kind, unit, start_in, months, phase, percent, late, invest) in \
            enumerate(DEMO_PROJECTS):
        start = _months_from(today, start_in)
        finish = _months_from(start, months) - timedelta(days=1)
        lon, lat = DEMO_WEST + 0.004 * (n % 5), DEMO_NORTH - 0.008 * (n // 5) - 0.002 * (n % 3)
        created = datetime.combine(start - timedelta(days=30), datetime.min.time(), local_zone())
        project_id = create_project(session, office, ProjectInput(
            name, kind, unit, start, finish, invest * 10_000, ProjectPhase.PREPARATION,
            address=f"X市{name[:3]}", description=f"2026年城市建设“双十”专项行动：{name}",
            lon=lon, lat=lat, area=_square(lon, lat) if n % 2 else None), created)
        _demo_history(session, project_id, start, late, phase, percent, invest, now)
    return len(DEMO_PROJECTS)


def _square(lon: float, lat: float) -> dict[str, Any]:
    d = 0.0012
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
            [lon - d, lat - d]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def _demo_history(session: Session, project_id: int, start: date, late: int | None,
                  phase: ProjectPhase, percent: int, invest: int, now: datetime) -> None:
    """Monthly accepted reports from the (actual) start up to ``percent``; the latest one
    pending for one project, a returned one for another."""
    if phase not in (ProjectPhase.CONSTRUCTION, ProjectPhase.COMPLETED):
        if phase is ProjectPhase.TENDERING and start <= _today(now):
            _demo_report(session, project_id, ProgressReport(0, ProjectPhase.TENDERING),
                         "招标文件已挂网", _at(start + timedelta(days=10)), True, now)
        return
    began = start + timedelta(days=late or 0)
    months = max(1, (_today(now) - began).days // 30)
    for step in range(months + 1):
        day = began + timedelta(days=30 * step)
        if _at(day) > now:
            break
        value = min(percent, round(percent * step / months)) if months else percent
        report = ProgressReport(value, ProjectPhase.CONSTRUCTION if step == 0 else None,
                                invest * 100 * value, began if step == 0 else None)
        note = "开工" if step == 0 else f"完成形象进度 {value}%"
        accepted = not (step == months and step > 0 and project_id in (3, 4))
        _demo_report(session, project_id, report, note, _at(day), accepted, now)
    if phase is ProjectPhase.COMPLETED:
        _demo_report(session, project_id, ProgressReport(100, ProjectPhase.COMPLETED),
                     "主体完工", _at(began + timedelta(days=30 * months + 5)), True, now)


def _at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), local_zone()) + timedelta(hours=10)


def _demo_report(session: Session, project_id: int, report: ProgressReport, note: str,
                 at: datetime, accepted: bool, now: datetime) -> None:
    at = min(at, now)
    decided = min(at + timedelta(hours=4), now)
    unit = store.project_row(session, project_id).lead_unit
    staff = Principal(f"handler_{unit.lower()}", Role.HANDLER, unit_code=unit)
    report_id = report_progress(session, staff, project_id, report, note, [], at)
    office = Principal("demo", Role.ADMIN, "演示数据")
    if accepted:
        decide_progress(session, office, project_id, report_id, True, "", decided)
    elif project_id == 3:
        decide_progress(session, office, project_id, report_id, False,
                        "照片不能反映现场进度，请补充", decided)
