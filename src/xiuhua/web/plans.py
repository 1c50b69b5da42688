"""专项行动 pages: the plans, a plan as a tree with progress bars and status colours (filterable
by unit), a task's page (reports with photos, milestones, orders; the office's review, pause and
order forms), a unit's 我的任务 (due soon first) with a phone-sized progress form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile

from xiuhua.domain.access import Principal, check_manages_programme, leads_task, manages_programme
from xiuhua.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.plans import TaskStatus
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep
from xiuhua.http.schemas import MAX_PHOTOS
from xiuhua.reports.plans import plan_workbook
from xiuhua.services import photos, plans, supervision
from xiuhua.web.auth import FormData
from xiuhua.web.cases import PhotoFiles
from xiuhua.web.pages import PageRoute, flash, page_for, render, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PlansUser = Annotated[Principal, page_for("/plans")]
MAX_PLAN_FILE = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _names(city: Any) -> dict[str, str]:
    return {u.code: u.name for u in city.units.values()}


@router.get("/plans")
def plans_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: PlansUser,
               unit: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The plans; ``unit``: those with the unit's tasks (the assessment's drill-down of ``tasks``)."""
    return render(request, "plans/index.html", {
        "title": "专项行动", "plans": plans.list_plans(session, user, now, unit=unit or None),
        "unit": unit or "", "unit_name": _names(city).get(unit or "", unit or ""),
        "manages": manages_programme(user), "statuses": list(TaskStatus)})


async def _plan_upload(request: Request) -> tuple[bytes | None, str | None]:
    form = await request.form()
    upload = form.get("file")
    data = await upload.read(MAX_PLAN_FILE + 1) if isinstance(upload, UploadFile) and upload.filename else None
    name = form.get("name")
    return data, name.strip() if isinstance(name, str) and name.strip() else None


PlanUpload = Annotated[tuple[bytes | None, str | None], Depends(_plan_upload)]


@router.post("/plans/import")
def import_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: PlansUser,
                upload: PlanUpload) -> Response:
    """The office uploads a plan's table: imported all or nothing; the problems are listed."""
    check_manages_programme(user, "导入计划")
    data, name = upload
    try:
        if not data:
            raise InvalidInput("请选择计划表文件（.xlsx）", code="missing_file")
        if len(data) > MAX_PLAN_FILE:
            raise InvalidInput("计划表过大（最大 10 MB）", code="too_large")
        with session.begin_nested():
            plan_id = plans.import_plan(session, user, city, data, now, name=name)
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        flash(request, f"导入失败：{exc}", "error")
        return see_other("/plans")
    flash(request, "计划已导入")
    return see_other(f"/plans/{plan_id}")


@router.get("/plans/{plan_id}")
def plan_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: PlansUser,
              plan_id: int, unit: str | None = None) -> Response:
    view = plans.plan_view(session, user, plan_id, now, unit=unit or None)
    names = _names(city)
    units = sorted({c for t in view.tasks for c in ([t.lead_unit] if t.lead_unit else []) + sorted(t.cooperating)})
    return render(request, "plans/plan.html", {
        "title": view.name, "plan": view, "names": names, "unit": unit or "",
        "units": [(u, names.get(u, u)) for u in units], "statuses": list(TaskStatus)})


@router.get("/plans/{plan_id}/progress.xlsx")
def plan_export_page(session: SessionDep, city: CityDep, now: NowDep, user: PlansUser, plan_id: int) -> Response:
    data = plan_workbook(plans.workbook_input(session, user, plan_id, now, _names(city)))
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.xlsx"'})


@router.get("/plans/{plan_id}/tasks/{code}")
def task_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: PlansUser,
              plan_id: int, code: str) -> Response:
    task = plans.task_view(session, user, plan_id, code, now)
    return render(request, "plans/task.html", {
        "title": f"{task.code} {task.title}", "task": task, "plan_id": plan_id, "names": _names(city),
        "reports": plans.task_reports(session, task),
        "orders": supervision.list_orders(session, user, city, now, task_id=task.id),
        "manages": manages_programme(user), "leads": leads_task(user, task.scope),
        "cooperates": user.unit_code in task.cooperating, "max_photos": MAX_PHOTOS})


@router.post("/plans/{plan_id}/tasks/{code}/progress")
def progress_page(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, user: PlansUser,
                  form: FormData, files: PhotoFiles, plan_id: int, code: str) -> Response:
    """A progress report (lead unit) or a note (cooperating unit) with photos from the phone."""
    back = f"/plans/{plan_id}/tasks/{code}"
    try:
        with session.begin_nested():
            ids = photos.store_uploads(session, settings, files, user.login, now)
            milestones = [v for k, v in form.items() if k.startswith("milestone-")]
            plans.report_progress(session, user, plan_id, code, now, text=form.get("text", ""),
                                  percent=form.get("percent") or None, value=form.get("value") or None,
                                  milestones=milestones, photo_ids=ids)
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        flash(request, f"报送未完成：{exc.message}", "error")
        return see_other(back)
    flash(request, "进度已报送，待城管委办公室审核")
    return see_other(back)


def _office_act(request: Request, back: str, done: str, fn: Any, *args: Any) -> Response:
    try:
        fn(*args)
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        flash(request, f"未完成：{exc.message}", "error")
        return see_other(back)
    flash(request, done)
    return see_other(back)


@router.post("/plans/{plan_id}/progress/{report_id}/{verdict}")
def review_page(request: Request, session: SessionDep, now: NowDep, user: PlansUser, form: FormData,
                plan_id: int, report_id: int, verdict: str) -> Response:
    if verdict not in ("accept", "return"):
        raise InvalidInput("未知操作", code="invalid_action")
    back = f"/plans/{plan_id}/tasks/{form.get('code', '')}" if form.get("code") else f"/plans/{plan_id}"
    accept = verdict == "accept"
    return _office_act(request, back, "已采纳" if accept else "已退回", plans.review_report, session, user,
                       plan_id, report_id, accept, now, form.get("reason"))


@router.post("/plans/{plan_id}/tasks/{code}/pause")
def pause_page(request: Request, session: SessionDep, now: NowDep, user: PlansUser, form: FormData,
               plan_id: int, code: str) -> Response:
    return _office_act(request, f"/plans/{plan_id}/tasks/{code}", "任务已暂停", plans.pause_task, session, user,
                       plan_id, code, form.get("reason", ""), now)


@router.post("/plans/{plan_id}/tasks/{code}/resume")
def resume_page(request: Request, session: SessionDep, now: NowDep, user: PlansUser, plan_id: int,
                code: str) -> Response:
    return _office_act(request, f"/plans/{plan_id}/tasks/{code}", "任务已恢复", plans.resume_task, session, user,
                       plan_id, code, now)


@router.get("/my-tasks")
def my_tasks_page(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: PlansUser) -> Response:
    """我的任务: the unit's running tasks, due soon first, each with its phone-sized form."""
    return render(request, "plans/mine.html", {
        "title": "我的任务", "tasks": plans.my_tasks(session, user, now), "names": _names(city),
        "orders": [o for o in supervision.list_orders(session, user, city, now)
                   if o.state.value in ("issued", "returned")] if not user.sees_all else [],
        "max_photos": MAX_PHOTOS})
