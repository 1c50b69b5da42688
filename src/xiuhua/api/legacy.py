"""Legacy issues (遗留问题化解台账): the ledger, entering an issue with its plan (一案一策), the
progress log and the sign-off (销号). Parties are personal data: in full for the office,
leaders and admins only, masked (张**, 138****1234) for a unit."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from xiuhua.domain.choices import LegacyCategory, LegacyStatus, LegacyTarget
from xiuhua.domain.legacy import MAX_PARTIES, MAX_STEPS, Party, ProgressEntry, Step
from xiuhua.domain.photos import MAX_PHOTOS
from xiuhua.http.deps import CurrentUser, NowDep, SessionDep, client_address
from xiuhua.http.problems import problem_responses
from xiuhua.services import legacy as service

router = APIRouter(prefix="/legacy-issues", tags=["遗留问题"])
IssueId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权执行", 404: "遗留问题不存在或不在权限范围内",
            409: "当前状态不允许", 422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


class PartyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=32)
    note: str | None = Field(None, max_length=100, description="身份，如业主代表、开发企业")


class StepIn(BaseModel):
    content: str = Field(min_length=1, max_length=500)
    due: date


class IssueCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    category: LegacyCategory
    lead_unit: str = Field(max_length=32, description="责任单位代码")
    description: str | None = Field(None, max_length=4000)
    address: str | None = Field(None, max_length=200)
    lon: float | None = None
    lat: float | None = None
    parties: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES,
                                   description="当事人（个人信息，仅办公室、领导、管理员可见全文）")
    lead_official: str | None = Field(None, max_length=100, description="包案领导（姓名、职务）")
    target: LegacyTarget = LegacyTarget.RESOLVED
    target_date: date | None = Field(None, description="目标日期，默认当年 12 月 31 日")
    steps: list[StepIn] = Field(default_factory=list, max_length=MAX_STEPS,
                                description="化解方案（一案一策）的步骤")


def issue_json(view: service.IssueView) -> dict[str, Any]:
    i = view.issue
    return {
        "id": i.id, "title": i.title, "category": view.category.value,
        "category_label": view.category.label, "description": view.description,
        "address": view.address, "lon": view.lon, "lat": view.lat,
        "parties": [{"name": p.name, "phone": p.phone, "note": p.note} for p in view.parties],
        "lead_official": view.lead_official,
        "lead_unit": {"code": i.lead_unit, "name": view.lead_unit_name},
        "target": i.target.value, "target_date": i.target_date.isoformat(),
        "status": i.status.value, "status_label": i.status.label, "overdue": view.overdue,
        "steps": [{"seq": s.seq, "content": s.content, "due": s.due.isoformat(),
                   "done_on": s.done_on.isoformat() if s.done_on else None} for s in i.steps],
        "created_at": view.created_at.isoformat(),
        "closed_at": view.closed_at.isoformat() if view.closed_at else None,
    }


def entry_json(e: service.EntryView) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "note": e.note, "status": e.status.value,
            "step_done": e.step_done, "author": e.author, "at": e.at.isoformat(),
            "photos": e.photos}


@router.get("", responses=_problems(401, 403))
def list_issues(session: SessionDep, now: NowDep, user: CurrentUser,
                status: LegacyStatus | None = None,
                unit: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """遗留问题化解台账（按目标日期）：状态、目标、是否逾期、化解方案。城管委办公室、领导、
    管理员看全部和当事人全文；单位看本单位负责的问题，当事人姓名和电话脱敏。"""
    views = service.list_issues(session, user, now, status=status, unit=unit)
    return {"as_of": now.isoformat(), "items": [issue_json(v) for v in views]}


@router.post("", status_code=201, responses=_problems(401, 403, 422))
def create_issue(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                 body: IssueCreate) -> dict[str, Any]:
    """登记遗留问题及其化解方案（城管委办公室、管理员）。"""
    issue_id = service.create_issue(session, user, service.IssueInput(
        body.title, body.category, body.lead_unit, body.description, body.address, body.lon,
        body.lat, [Party(p.name, p.phone, p.note) for p in body.parties], body.lead_official,
        body.target, body.target_date,
        [Step(i, s.content, s.due) for i, s in enumerate(body.steps, start=1)]),
        now, client_address(request))
    return issue_json(service.issue_detail(session, user, issue_id, now))


@router.get("/{issue_id}", responses=_problems(401, 404))
def get_issue(session: SessionDep, now: NowDep, user: CurrentUser,
              issue_id: IssueId) -> dict[str, Any]:
    """一个遗留问题及其进展记录（最新的在前，含销号）。"""
    view = service.issue_detail(session, user, issue_id, now)
    return {**issue_json(view), "entries": [entry_json(e) for e in view.entries]}


class ProgressCreate(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="进展情况")
    status: LegacyStatus | None = Field(None, description="新的状态（in_progress、clear_progress、resolved）")
    step_done: int | None = Field(None, ge=1, le=MAX_STEPS, description="完成的方案步骤序号")
    photos: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS)


@router.post("/{issue_id}/progress", status_code=201, responses=_problems(401, 403, 404, 422))
def log_progress(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                 issue_id: IssueId, body: ProgressCreate) -> dict[str, Any]:
    """责任单位或城管委办公室登记进展（状态只进不退）。"""
    entry_id = service.log_progress(session, user, issue_id, ProgressEntry(
        body.note, body.status, body.step_done), body.photos, now, client_address(request))
    return {"id": entry_id, "issue_id": issue_id}


class SignOff(BaseModel):
    evidence: str = Field(min_length=1, max_length=2000, description="佐证材料说明")
    photos: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS)


@router.post("/{issue_id}/signoff", responses=_problems(401, 403, 404, 422))
def sign_off(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
             issue_id: IssueId, body: SignOff) -> dict[str, Any]:
    """销号（城管委办公室、管理员）：问题须已达到化解目标，并附佐证材料。"""
    service.sign_off_issue(session, user, issue_id, body.evidence, body.photos, now,
                           client_address(request))
    return issue_json(service.issue_detail(session, user, issue_id, now))
