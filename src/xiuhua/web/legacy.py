"""遗留问题: the ledger (遗留问题化解台账) with the office's form for a new issue and its plan,
an issue's page with its plan (一案一策), progress log, the progress form (with photos) of the
lead unit and the office's sign-off (销号). The parties show masked for a unit."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from xiuhua.domain.access import Principal, manages_programme, sees_legacy_parties
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import LegacyCategory, LegacyStatus, LegacyTarget, UnitKind
from xiuhua.domain.errors import DomainError, NotFound, PermissionDenied
from xiuhua.domain.legacy import REPORTABLE, Party, ProgressEntry, Step, step_overdue
from xiuhua.domain.photos import MAX_PHOTOS
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.services import legacy as service
from xiuhua.services import photos
from xiuhua.web.auth import FormData
from xiuhua.web.cases import PhotoFiles
from xiuhua.web.pages import PageRoute, flash, invalid, page_for, render, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an id of a table row (INTEGER)
LegacyUser = Annotated[Principal, page_for("/legacy-issues")]


def _access_refusal(exc: DomainError) -> bool:
    return isinstance(exc, NotFound | PermissionDenied)


@router.get("/legacy-issues")
def ledger_page(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                user: LegacyUser, status: str = "") -> Response:
    chosen = LegacyStatus(status) if status in LegacyStatus.values() else None
    views = service.list_issues(session, user, now, status=chosen)
    units = [(u.code, u.name) for u in city.units.values()
             if u.active and u.kind != UnitKind.CENTER.value]
    return render(request, "legacy/index.html", {
        "title": "遗留问题化解台账", "views": views, "status": status,
        "statuses": list(LegacyStatus), "categories": list(LegacyCategory),
        "targets": list(LegacyTarget), "units": units, "manager": manages_programme(user),
        "full_parties": sees_legacy_parties(user),
        "counts": service.status_counts(session, user, now)})


def _parties(text: str) -> list[Party]:
    """One party a line: 姓名 电话 身份 (separated by spaces or commas)."""
    found = []
    for line in text.splitlines():
        parts = line.replace("，", " ").replace(",", " ").split()
        if parts:
            found.append(Party(parts[0][:100], parts[1][:32] if len(parts) > 1 else None,
                               " ".join(parts[2:])[:100] or None))
    return found


def _steps(text: str) -> list[Step]:
    """One step a line: 内容 | 日期 (e.g. 召开协调会 | 2026-05-31)."""
    found = []
    for n, line in enumerate((x for x in text.splitlines() if x.strip()), start=1):
        content, _, due = line.rpartition("|")
        try:
            day = date.fromisoformat(due.strip())
        except ValueError:
            raise invalid(f"方案第 {n} 行须写成“内容 | 日期”，如“召开协调会 | 2026-05-31”") from None
        found.append(Step(n, content.strip()[:500], day))
    return found


def _input(form: dict[str, str]) -> service.IssueInput:
    category, target = form.get("category", ""), form.get("target", "resolved")
    if category not in LegacyCategory.values() or target not in LegacyTarget.values():
        raise invalid("请选择问题类别和化解目标")
    due = form.get("target_date", "").strip()
    try:
        target_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise invalid("目标日期须为日期（如 2026-12-31）") from None
    return service.IssueInput(
        form.get("title", "").strip()[:200], LegacyCategory(category), form.get("lead_unit", ""),
        form.get("description", "").strip()[:4000] or None,
        form.get("address", "").strip()[:200] or None, None, None,
        _parties(form.get("parties", "")), form.get("lead_official", "").strip()[:100] or None,
        LegacyTarget(target), target_date, _steps(form.get("steps", "")))


@router.post("/legacy-issues")
def create_issue(request: Request, session: SessionDep, now: NowDep, user: LegacyUser,
                 form: FormData) -> Response:
    if not manages_programme(user):
        raise PermissionDenied(f"{user.role.label}无权登记遗留问题", code="permission_denied")
    try:
        with session.begin_nested():
            issue_id = service.create_issue(session, user, _input(form), now,
                                            client_address(request))
    except DomainError as exc:
        if _access_refusal(exc):
            raise
        flash(request, f"未能登记：{exc.message}", "error")
        return see_other("/legacy-issues")
    flash(request, "遗留问题已登记")
    return see_other(f"/legacy-issues/{issue_id}")


@router.get("/legacy-issues/{issue_id}")
def issue_page(request: Request, session: SessionDep, now: NowDep, user: LegacyUser,
               issue_id: RowId) -> Response:
    view = service.issue_detail(session, user, issue_id, now)
    today = now.astimezone(local_zone()).date()
    return render(request, "legacy/detail.html", {
        "title": view.issue.title, "view": view, "manager": manages_programme(user),
        "may_log": service.may_log(user, view.issue) and view.issue.status is not
        LegacyStatus.CLOSED, "statuses": [s for s in LegacyStatus if s in REPORTABLE],
        "late_steps": {s.seq for s in view.issue.steps if step_overdue(s, today)},
        "max_photos": MAX_PHOTOS})


@router.post("/legacy-issues/{issue_id}/progress")
def log_progress(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep,
                 user: LegacyUser, form: FormData, files: PhotoFiles, issue_id: RowId) -> Response:
    page = f"/legacy-issues/{issue_id}"
    service.issue_detail(session, user, issue_id, now)  # out of sight: a 404 page
    status, step = form.get("status", ""), form.get("step_done", "").strip()
    try:
        with session.begin_nested():
            entry = ProgressEntry(form.get("note", "")[:2000],
                                  LegacyStatus(status) if status in LegacyStatus.values() else None,
                                  int(step) if step.isdigit() else None)
            ids = photos.store_uploads(session, settings, files, user.login, now)
            service.log_progress(session, user, issue_id, entry, ids, now, client_address(request))
    except DomainError as exc:
        if _access_refusal(exc):
            raise
        flash(request, f"进展未登记：{exc.message}", "error")
        return see_other(page)
    flash(request, "进展已登记")
    return see_other(page)


@router.post("/legacy-issues/{issue_id}/signoff")
def sign_off(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep,
             user: LegacyUser, form: FormData, files: PhotoFiles, issue_id: RowId) -> Response:
    page = f"/legacy-issues/{issue_id}"
    service.issue_detail(session, user, issue_id, now)
    if not manages_programme(user):
        raise PermissionDenied(f"{user.role.label}无权销号", code="permission_denied")
    try:
        with session.begin_nested():
            ids = photos.store_uploads(session, settings, files, user.login, now)
            service.sign_off_issue(session, user, issue_id, form.get("evidence", "")[:2000], ids,
                                   now, client_address(request))
    except DomainError as exc:
        if _access_refusal(exc):
            raise
        flash(request, f"未能销号：{exc.message}", "error")
        return see_other(page)
    flash(request, "已销号")
    return see_other(page)
