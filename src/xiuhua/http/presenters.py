"""What the API and the pages both show: names of categories, the reporter as the user may see
them, the dispatch suggestion's message, inspectors' open tasks and the dashboard's figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, mask_name, mask_phone
from xiuhua.domain.choices import TaskKind
from xiuhua.domain.city import City
from xiuhua.domain.lifecycle import Case
from xiuhua.domain.responsibility import Answer
from xiuhua.domain.taxonomy import ClassKind
from xiuhua.http.schemas import ReporterPublic, SuggestionCode, UnitRef
from xiuhua.services import dashboard, tasks


def category_name(city: City, code: str) -> str:
    found = city.taxonomy.classes.get((ClassKind.MATTER, code))
    return found.name if found is not None else code


def reporter_view(case: Case, user: Principal) -> ReporterPublic | None:
    """Reporter name and phone: in full for the center roles, masked for everyone else."""
    if not case.reporter_name and not case.reporter_phone:
        return None
    if user.sees_personal_info:
        return ReporterPublic(name=case.reporter_name, phone=case.reporter_phone, masked=False)
    return ReporterPublic(name=mask_name(case.reporter_name),
                          phone=mask_phone(case.reporter_phone), masked=True)


def suggestion_message(answer: Answer, units: list[UnitRef]) -> tuple[SuggestionCode, str]:
    names = "、".join(u.name or u.code for u in units)
    if answer.is_gap:
        return "no_responsible_unit", "责任矩阵中没有适用于该事项和区域的责任单位，请补充责任规则"
    if answer.is_overlap:
        return ("ambiguous_responsibility",
                f"责任重叠：{names} 均对该事项负责（{answer.reason}），请修正责任矩阵")
    return "ok", f"建议派遣至{names}（{answer.reason}）"


# --- inspectors' tasks ------------------------------------------------------------------


class TaskOut(BaseModel):
    case_no: str
    seq: int
    kind: str
    kind_label: str
    inspector: str | None
    opened_at: datetime
    deadline: datetime
    overdue: bool
    case_status: str
    category_code: str
    category_name: str
    description: str | None
    address: str | None
    lon: float | None
    lat: float | None
    grid_code: str | None
    grid_name: str | None


def _task(city: City, row: Any, now: datetime) -> TaskOut:
    grid = city.regions.get(row.grid_code) if row.grid_code else None
    kind = TaskKind(row.kind)
    return TaskOut(
        case_no=row.case_no, seq=row.seq, kind=kind.value, kind_label=kind.label,
        inspector=row.inspector, opened_at=row.opened_at, deadline=row.deadline,
        overdue=row.deadline < now, case_status=row.status, category_code=row.category_code,
        category_name=category_name(city, row.category_code),
        description=row.description, address=row.address, lon=row.lon, lat=row.lat,
        grid_code=row.grid_code, grid_name=grid.name if grid else None)


def task_views(session: Session, city: City, now: datetime, user: Principal,
               inspector: str | None = None, limit: int = 500) -> list[TaskOut]:
    """Open 核实 (verify) and 核查 (check) tasks, the earliest deadline first: an inspector's
    own; for the center (``inspector`` filters by login) all of them."""
    rows = tasks.open_tasks(session, user, inspector, limit)
    return [_task(city, r, now) for r in rows]


# --- the dashboard ------------------------------------------------------------------------


def dashboard_figures(request: Request, session: Session, city: City, now: datetime) -> dict[str, Any]:
    """The figures at ``now``, shared for a few seconds by every viewer (one cache per app)."""
    cache = getattr(request.app.state, "dashboard_cache", None)
    if cache is None:
        cache = request.app.state.dashboard_cache = dashboard.Cache()
    return cache.get(now, lambda: dashboard.dashboard(session, city, now))

