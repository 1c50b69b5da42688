"""Key projects (重点项目): the list (with each project's colour and schedule lag), entering a
project (the office), progress reports by the lead unit and the office's decision on each."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from xiuhua.domain.choices import ProjectColour, ProjectKind, ProjectPhase
from xiuhua.domain.photos import MAX_PHOTOS
from xiuhua.domain.projects import ProgressReport
from xiuhua.http.deps import CurrentUser, NowDep, SessionDep, client_address
from xiuhua.http.problems import problem_responses
from xiuhua.services import projects as service

router = APIRouter(prefix="/projects", tags=["重点项目"])
YUAN_PER_WAN = 10_000
ProjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ReportId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权执行", 404: "项目不存在或不在权限范围内",
            409: "该进度报告已审核", 422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


def _wan(yuan: int | None) -> float | None:
    return None if yuan is None else yuan / YUAN_PER_WAN


def _yuan(wan: float | None) -> int | None:
    return None if wan is None else round(wan * YUAN_PER_WAN)


class Polygon(BaseModel):
    type: str = Field("Polygon", pattern="^Polygon$")
    coordinates: list[list[list[float]]] = Field(max_length=10, description="GeoJSON 多边形（WGS-84）")


class TaskRef(BaseModel):
    plan_id: int = Field(ge=1)
    code: str = Field(max_length=32)


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: ProjectKind
    lead_unit: str = Field(max_length=32, description="牵头单位代码")
    planned_start: date
    planned_finish: date
    planned_investment: float = Field(0, ge=0, le=10_000_000, allow_inf_nan=False,
                                      description="计划投资（万元）")
    phase: ProjectPhase = ProjectPhase.PREPARATION
    address: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=4000)
    lon: float | None = Field(None, description="位置经度（WGS-84）")
    lat: float | None = Field(None, description="位置纬度（WGS-84）")
    area: Polygon | None = Field(None, description="项目范围（可选）")
    linked_tasks: list[TaskRef] = Field(default_factory=list, max_length=50,
                                        description="关联的专项行动任务")


def project_json(view: service.ProjectView) -> dict[str, Any]:
    p, s = view.project, view.schedule
    return {
        "id": p.id, "name": p.name, "kind": p.kind.value, "kind_label": p.kind.label,
        "lead_unit": {"code": p.lead_unit, "name": view.lead_unit_name},
        "phase": p.phase.value, "phase_label": p.phase.label,
        "planned_start": p.planned_start.isoformat(), "planned_finish": p.planned_finish.isoformat(),
        "actual_start": p.actual_start.isoformat() if p.actual_start else None,
        "actual_finish": p.actual_finish.isoformat() if p.actual_finish else None,
        "planned_investment": _wan(p.planned_investment),
        "completed_investment": _wan(p.completed_investment),
        "progress": p.progress, "time_progress": float(s.time_progress), "lag": float(s.lag),
        "colour": s.colour.value, "colour_label": s.colour.label, "colour_reason": s.reason,
        "started_late": s.started_late, "address": view.address,
        "description": view.description, "lon": view.lon, "lat": view.lat, "area": view.area,
        "linked_tasks": list(view.linked_tasks),
    }


def report_json(r: service.ReportView) -> dict[str, Any]:
    return {"id": r.id, "percent": r.percent, "phase": r.phase.value if r.phase else None,
            "completed_investment": _wan(r.completed_investment),
            "on": r.on_day.isoformat() if r.on_day else None, "note": r.note,
            "state": r.state.value, "state_label": r.state.label, "reported_by": r.reported_by,
            "reported_at": r.reported_at.isoformat(), "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "reason": r.reason, "photos": r.photos}


@router.get("", responses=_problems(401, 403))
def list_projects(session: SessionDep, now: NowDep, user: CurrentUser,
                  due_year: Annotated[int | None, Query(ge=2000, le=2100,
                                                        description="计划竣工年份，如本年")] = None,
                  colour: ProjectColour | None = None,
                  unit: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """重点项目列表：每个项目的阶段、已采纳进度、时间进度、滞后（百分点，未取整）和颜色
    （``yellow`` 未按计划开工或滞后超过 10 个百分点，``red`` 计划开工三个月后仍未开工、滞后超过
    30 个百分点或已过计划竣工日期）。``due_year`` 给出该年计划竣工的项目。城管委办公室、领导、
    管理员看全部，单位看本单位牵头的项目。"""
    views = service.list_projects(session, user, now, due_year=due_year, colour=colour, unit=unit)
    return {"as_of": now.isoformat(), "items": [project_json(v) for v in views]}


@router.post("", status_code=201, responses=_problems(401, 403, 422))
def create_project(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                   body: ProjectCreate) -> dict[str, Any]:
    """登记重点项目（城管委办公室、管理员）。"""
    project_id = service.create_project(session, user, service.ProjectInput(
        body.name, body.kind, body.lead_unit, body.planned_start, body.planned_finish,
        _yuan(body.planned_investment) or 0, body.phase, body.address, body.description,
        body.lon, body.lat, body.area.model_dump() if body.area else None,
        [t.model_dump() for t in body.linked_tasks]), now, client_address(request))
    return project_json(service.project_detail(session, user, project_id, now).view)


@router.get("/{project_id}", responses=_problems(401, 404))
def get_project(session: SessionDep, now: NowDep, user: CurrentUser,
                project_id: ProjectId) -> dict[str, Any]:
    """一个重点项目及其进度报告（最新的在前，含待审核和已退回的）。"""
    detail = service.project_detail(session, user, project_id, now)
    return {**project_json(detail.view), "reports": [report_json(r) for r in detail.reports]}


class ProgressCreate(BaseModel):
    percent: int = Field(ge=0, le=100, description="形象进度（%）")
    phase: ProjectPhase | None = Field(None, description="达到的阶段（如开工为 construction）")
    completed_investment: float | None = Field(None, ge=0, le=10_000_000, allow_inf_nan=False,
                                               description="累计完成投资（万元）")
    on: date | None = Field(None, description="达到该阶段的日期（默认报送当天）")
    note: str = Field("", max_length=2000)
    photos: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS,
                              description="现场照片（先上传；须为本人上传或可查看的照片）")


@router.post("/{project_id}/progress", status_code=201, responses=_problems(401, 403, 404, 422))
def report_progress(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                    project_id: ProjectId, body: ProgressCreate) -> dict[str, Any]:
    """牵头单位报送进度，待城管委办公室审核（只有采纳的报告计入进度）；办公室自己登记的
    进度直接采纳。"""
    report_id = service.report_progress(
        session, user, project_id, ProgressReport(body.percent, body.phase,
                                                  _yuan(body.completed_investment), body.on),
        body.note, body.photos, now, client_address(request))
    return {"id": report_id, "project_id": project_id}


class ReturnBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="退回原因")


@router.post("/{project_id}/progress/{report_id}/accept", responses=_problems(401, 403, 404, 422))
def accept_progress(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                    project_id: ProjectId, report_id: ReportId) -> dict[str, Any]:
    """采纳一份待审核的进度报告（城管委办公室、管理员）：进度、阶段、投资随之更新。"""
    service.decide_progress(session, user, project_id, report_id, True, "", now,
                            client_address(request))
    return project_json(service.project_detail(session, user, project_id, now).view)


@router.post("/{project_id}/progress/{report_id}/return", responses=_problems(401, 403, 404, 422))
def return_progress(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                    project_id: ProjectId, report_id: ReportId, body: ReturnBody) -> dict[str, Any]:
    """退回一份待审核的进度报告并写明原因（城管委办公室、管理员）。"""
    service.decide_progress(session, user, project_id, report_id, False, body.reason, now,
                            client_address(request))
    return project_json(service.project_detail(session, user, project_id, now).view)
