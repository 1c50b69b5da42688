"""The work programme (专项行动): plans as trees of tasks, progress reports and their review by
the office, pauses, and the progress workbook. (``/api/v1/tasks`` stays the inspectors' 核实/核查
tasks.)"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.plans import STATUS_COLOURS
from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep
from xiuhua.http.problems import problem_responses
from xiuhua.reports.plans import plan_workbook
from xiuhua.services import plans as service

router = APIRouter(prefix="/plans", tags=["专项行动"])
MAX_ID = 2**63 - 1
MAX_PLAN_FILE = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PlanId = Annotated[int, Path(ge=1, le=MAX_ID, description="计划编号")]
TaskCode = Annotated[str, Path(pattern=r"^[1-9][0-9]*(\.[1-9][0-9]*){0,3}$", description="任务序号，如 1.2.1")]
ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="进度报告编号")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权执行", 404: "计划、任务或报告不存在或不在权限范围内",
            413: "文件过大", 422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


class PlanCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    start_date: date


class MilestonePublic(BaseModel):
    name: str
    due: date
    reached: bool


class TaskPublic(BaseModel):
    code: str
    title: str
    content: str
    lead_unit: str | None
    lead_unit_name: str | None
    cooperating_units: list[str]
    responsible: str | None
    responsible_post: str | None
    target: str | None
    start_date: date | None
    deadline: str | None  # a date (ISO) or a working-time limit such as 60wd
    due_at: datetime | None
    status: str | None  # None for a section or grouping node
    status_label: str | None
    colour: str | None
    progress: float  # accepted progress, percent
    lag: float | None  # percentage points
    parent: str | None
    milestones: list[MilestonePublic]


class PlanPublic(BaseModel):
    id: int
    name: str
    start_date: date
    counts: dict[str, int]
    tasks: list[TaskPublic]


class PlanSummary(BaseModel):
    id: int
    name: str
    start_date: date
    counts: dict[str, int]


def task_public(v: service.TaskView, names: dict[str, str]) -> TaskPublic:
    lag = v.state.lag_decimal if v.state else None
    return TaskPublic(
        code=v.code, title=v.title, content=v.content, lead_unit=v.lead_unit,
        lead_unit_name=names.get(v.lead_unit) if v.lead_unit else None,
        cooperating_units=sorted(v.cooperating), responsible=v.responsible,
        responsible_post=v.responsible_post, target=v.target_text, start_date=v.start,
        deadline=v.deadline, due_at=v.due_at, status=v.status.value if v.status else None,
        status_label=v.status.label if v.status else None,
        colour=STATUS_COLOURS[v.status] if v.status else None, progress=v.progress,
        lag=float(lag) if lag is not None else None, parent=v.parent,
        milestones=[MilestonePublic(name=n, due=d, reached=r) for n, d, r in v.milestones])


def _names(city: Any) -> dict[str, str]:
    return {u.code: u.name for u in city.units.values()}


def _counts(plan: service.PlanView) -> dict[str, int]:
    return {s.value: n for s, n in plan.counts.items()}


@router.get("", response_model=list[PlanSummary], responses=_problems(401))
def list_plans(session: SessionDep, now: NowDep, user: CurrentUser) -> list[PlanSummary]:
    """The plans with tasks the caller may see (the office, leaders, the center: all), with the
    count of tasks by status."""
    return [PlanSummary(id=p.id, name=p.name, start_date=p.start, counts=_counts(p))
            for p in service.list_plans(session, user, now)]


@router.post("", status_code=201, responses=_problems(401, 403, 413, 422))
async def create_plan(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                      user: CurrentUser) -> dict[str, Any]:
    """Create a plan (城管委办公室): JSON ``{name, start_date}`` for an empty plan, or a
    multipart form with ``file`` (the plan's table, .xlsx: 序号 | 任务 | 工作内容 | 牵头单位 | 配合单位 |
    责任人 | 完成时限, optional 开始时间) and optional ``name`` and ``start_date``: imported all or
    nothing, each problem naming its row and column."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("请上传计划表（.xlsx）", code="missing_file")
        data = await upload.read(MAX_PLAN_FILE + 1)
        if len(data) > MAX_PLAN_FILE:
            raise InvalidInput("计划表过大（最大 10 MB）", code="too_large")
        name = str(form.get("name") or "").strip() or None
        start = _day(form.get("start_date"))
        plan_id = service.import_plan(session, user, city, data, now, name=name, start=start)
    else:
        try:
            body = PlanCreate.model_validate(await _json(request))
        except ValidationError:
            raise InvalidInput("请求体须含 name（计划名称）和 start_date（开始日期）", code="invalid_plan") from None
        plan_id = service.create_plan(session, user, body.name, body.start_date, now)
    return {"id": plan_id}


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise InvalidInput("请求体须为 JSON", code="invalid_json") from None


def _day(raw: Any) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput("start_date 须为日期（YYYY-MM-DD）", code="invalid_date") from None


@router.get("/{plan_id}", response_model=PlanPublic, responses=_problems(401, 404))
def get_plan(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, plan_id: PlanId,
             unit: Annotated[str | None, Query(max_length=32, description="只看该单位牵头或配合的任务")] = None,
             ) -> PlanPublic:
    """The plan as a tree (each task names its ``parent``): the tasks the caller may see (a unit:
    those it leads or cooperates on) with the sections above them, each with its status now."""
    plan = service.plan_view(session, user, plan_id, now, unit=unit)
    names = _names(city)
    return PlanPublic(id=plan.id, name=plan.name, start_date=plan.start, counts=_counts(plan),
                      tasks=[task_public(t, names) for t in plan.tasks])


@router.get("/{plan_id}/progress.xlsx", response_class=Response, responses=_problems(401, 404))
def export_plan(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, plan_id: PlanId
                ) -> Response:
    """The progress workbook (推进情况表): a summary sheet and a sheet per section, each task's
    row in its status's colour (the tasks the caller may see)."""
    data = plan_workbook(service.workbook_input(session, user, plan_id, now, _names(city)))
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.xlsx"'})


class ProgressCreate(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    percent: str | None = Field(None, max_length=16, description="完成百分比 0–100")
    value: str | None = Field(None, max_length=16, description="完成量（有数值目标时）")
    milestones: list[str] = Field(default_factory=list, max_length=50)
    photos: list[str] = Field(default_factory=list, max_length=20)


@router.post("/{plan_id}/tasks/{code}/progress", status_code=201, responses=_problems(401, 403, 404, 422))
def report_progress(session: SessionDep, now: NowDep, user: CurrentUser, plan_id: PlanId, code: TaskCode,
                    body: ProgressCreate) -> dict[str, Any]:
    """A progress report by the lead unit (percent or value, text, milestones reached, photos
    uploaded first with ``POST /api/v1/photos``), or a note by a cooperating unit (text and
    photos). It counts once the office accepts it."""
    report_id = service.report_progress(session, user, plan_id, code, now, text=body.text,
                                        percent=body.percent, value=body.value,
                                        milestones=body.milestones, photo_ids=body.photos)
    return {"id": report_id}


class ReviewIn(BaseModel):
    reason: str | None = Field(None, max_length=2000)


@router.post("/{plan_id}/progress/{report_id}/accept", responses=_problems(401, 403, 404, 422))
def accept_report(session: SessionDep, now: NowDep, user: CurrentUser, plan_id: PlanId,
                  report_id: ReportId, body: ReviewIn | None = None) -> dict[str, Any]:
    """The office accepts a progress report: from now on it counts."""
    service.review_report(session, user, plan_id, report_id, True, now, body.reason if body else None)
    return {"id": report_id, "state": "accepted"}


@router.post("/{plan_id}/progress/{report_id}/return", responses=_problems(401, 403, 404, 422))
def return_report(session: SessionDep, now: NowDep, user: CurrentUser, plan_id: PlanId,
                  report_id: ReportId, body: ReviewIn) -> dict[str, Any]:
    """The office returns a progress report with a ``reason``; it never counts."""
    service.review_report(session, user, plan_id, report_id, False, now, body.reason)
    return {"id": report_id, "state": "returned"}


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{plan_id}/tasks/{code}/pause", responses=_problems(401, 403, 404, 422))
def pause_task(session: SessionDep, now: NowDep, user: CurrentUser, plan_id: PlanId, code: TaskCode,
               body: PauseIn) -> dict[str, Any]:
    """The office pauses a task with a reason (the month's figures keep its status at the pause)."""
    service.pause_task(session, user, plan_id, code, body.reason, now)
    return {"code": code, "paused": True}


@router.post("/{plan_id}/tasks/{code}/resume", responses=_problems(401, 403, 404, 422))
def resume_task(session: SessionDep, now: NowDep, user: CurrentUser, plan_id: PlanId, code: TaskCode
                ) -> dict[str, Any]:
    """The office resumes a paused task."""
    service.resume_task(session, user, plan_id, code, now)
    return {"code": code, "paused": False}
