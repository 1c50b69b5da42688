"""Assessment (绩效评价): a period's figures, the cases behind any figure, manual entries
(deductions and bonus points), reward bands, and publishing (freezing) a period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from xiuhua.domain.access import Principal
from xiuhua.domain.assessment import MAX_BAND_AMOUNT, MAX_BAND_RANK, RewardBand
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import PermissionDenied
from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.http.problems import problem_responses
from xiuhua.reports import MEDIA_TYPES, district_circular, render_report, report_filename
from xiuhua.services import assessment as service
from xiuhua.services import districts

router = APIRouter(prefix="/assessment", tags=["考核"])

ENTRY_ROLES = frozenset({Role.SHIFT_LEADER, Role.LEADER, Role.ADMIN})
PUBLISH_ROLES = frozenset({Role.LEADER, Role.ADMIN})
PeriodPath = Annotated[str, Path(pattern=r"^\d{4}(-\d{2}|[Qq][1-4])?$", description="考核周期：月、季度或年",
                                 examples=["2026-10", "2026Q4", "2026"])]
Subject = Literal["units", "regions", "inspectors", "staff"]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权执行", 422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


def _require(user: Principal, roles: frozenset[Role], what: str) -> None:
    if user.role not in roles:
        raise PermissionDenied(f"{user.role.label}无权{what}", code="permission_denied")


@router.get("/{period}", responses=_problems(401, 403, 422))
def get_assessment(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
                   user: CurrentUser, period: PeriodPath) -> dict[str, Any]:
    """The period's figures (月度通报的数据): handling units with counts, rates, points, score,
    grade and rank; regions; top categories; inspectors and command-center staff. Rates are
    unrounded fractions 0–1; a published period returns its frozen figures, a running one its
    figures so far (``complete`` false). ``corrections`` lists the changed counts of earlier
    published periods booked into this one (published, previous and live value, reason).
    People's figures (``inspectors``, ``staff``) are listed for the center roles, leaders and
    admins; an inspector gets their own row, unit staff none (as on the page and in the files).
    Staff only: a public account is refused (403)."""
    service.may_view(user)
    return service.period_figures(session, city, period, service.load_config(settings.data_dir), now, user)


AreaPath = Annotated[str, Path(pattern=r"^\d{4,6}$", description="市或区（县）的编码", examples=["370100"])]


@router.get("/{period}/areas/{code}", responses=_problems(401, 403, 422))
def get_area_assessment(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
                        user: CurrentUser, period: PeriodPath, code: AreaPath) -> dict[str, Any]:
    """Two-level assessment (两级考核): the city's code ranks its districts (a county-level city:
    its streets) and the units of the city; a district's code ranks its streets and the units it
    dispatched to. Areas are scored from the units' case figures of their cases with the units'
    terms and weights. Staff only (as ``GET /assessment/{period}``)."""
    service.may_view(user)
    return districts.area_assessment(session, city, period, service.load_config(settings.data_dir), code, now)


def _file(fmt: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description,
                  "content": {MEDIA_TYPES[fmt]: {"schema": {"type": "string", "format": "binary"}}}},
            **_problems(401, 403, 422)}


def _download(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep, period: str,
              fmt: str, user: Principal) -> Response:
    service.may_view(user)
    found = service.report_input(session, city, period, fmt, service.load_config(settings.data_dir), now, user)
    label, content = found.label, render_report(found, settings.data_dir)
    return Response(content, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{report_filename(label, fmt)}"'})


@router.get("/{period}/areas/{code}/circular.docx", response_class=Response,
            responses=_file("docx", "两级考核通报（Word）：区（县）或街道排名与单位排名"))
def download_area_circular(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
                           user: CurrentUser, period: PeriodPath, code: AreaPath) -> Response:
    """The circular of ``GET /assessment/{period}/areas/{code}`` (a Word document)."""
    service.may_view(user)
    found = districts.area_assessment(session, city, period, service.load_config(settings.data_dir), code, now)
    return Response(district_circular.render(found), media_type=MEDIA_TYPES["docx"],
                    headers={"Content-Disposition":
                             f'attachment; filename="assessment-{found["period"]}-{code}.docx"'})


@router.get("/{period}/workbook.xlsx", response_class=Response,
            responses=_file("xlsx", "考核报表（Excel）：概况、处置单位、区域、监督员、指挥中心人员、高发问题、"
                                    "扣分加分、更正各一个工作表（列同 JSON），及近 12 个月趋势图"))
def download_workbook(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
                      user: CurrentUser, period: PeriodPath) -> Response:
    """The period's workbook (考核报表, .xlsx) — the same figures as ``GET /assessment/{period}``,
    one sheet per subject, rates as unrounded fractions in percentage format, and a chart of the
    last 12 months. Every signed-in user, with the people's figures as in the JSON."""
    return _download(session, city, settings, now, period, "xlsx", user)


@router.get("/{period}/circular.docx", response_class=Response,
            responses=_file("docx", "月度通报（Word，GB/T 9704 公文格式）"))
def download_circular(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
                      user: CurrentUser, period: PeriodPath) -> Response:
    """The period's circular (月度通报, .docx) laid out as an official document (GB/T 9704-2012):
    summary with month-on-month changes, top categories, the ranking, the best and worst units,
    manual entries and adjustments, and the overdue cases with their units. Rendered from the
    shipped template, or from ``circular.docx`` in the data directory. Every signed-in user, as
    the JSON."""
    return _download(session, city, settings, now, period, "docx", user)


@router.get("/{period}/{subject}/{code}/cases", responses=_problems(401, 403, 422))
def drill_down(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep, user: CurrentUser,
               period: PeriodPath, subject: Subject, code: Annotated[str, Path(max_length=64)],
               measure: Annotated[str, Query(max_length=32, description="指标，如 overdue_unhandled")]
               ) -> dict[str, Any]:
    """The (case, assignment) pairs behind one figure: exactly as many rows as the count."""
    service.may_drill(user, subject, code)
    return service.drill_down(session, city, period, subject, code, measure,
                              service.load_config(settings.data_dir), now)


class EntryCreate(BaseModel):
    kind: Literal["deduction", "bonus"] = Field(description="deduction（考核检查扣分）或 bonus（加分）")
    unit_code: str = Field(max_length=32)
    date: date
    item: str = Field(min_length=1, max_length=500, description="考核事项")
    points: float = Field(gt=0, le=100, description="分值，最多两位小数")
    photo_id: str | None = Field(None, max_length=64,
                                 description="证据照片（先上传；须为本人上传或可查看的照片）")


@router.post("/entries", status_code=201, responses=_problems(401, 403, 422))
def create_entry(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                 body: EntryCreate) -> dict[str, Any]:
    """Enter a spot-check deduction or bonus points (值班长、领导、管理员). An entry dated in a
    published period is booked into the next open month as an adjustment."""
    _require(user, ENTRY_ROLES, "登记考核扣分、加分")
    return service.add_entry(session, city, body.kind, body.unit_code, body.date, body.item, body.points,
                             now, user.login, photo_id=body.photo_id, client=client_address(request),
                             principal=user)


class ActionBonusCreate(BaseModel):
    action: str = Field(min_length=1, max_length=100, description="专项行动名称")
    date: date
    ranking: list[str] = Field(min_length=1, max_length=200, description="按名次排列的单位代码，第一名在前")


@router.post("/action-bonus", status_code=201, responses=_problems(401, 403, 422))
def create_action_bonus(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
                        user: CurrentUser, body: ActionBonusCreate) -> list[dict[str, Any]]:
    """A special action's ranking (专项行动) booked as bonus points by place, as ``[composite]
    action_bonus`` of assessment.toml says ("第一名加 1 分 …"; 值班长、领导、管理员)."""
    _require(user, ENTRY_ROLES, "登记考核扣分、加分")
    return service.add_action_bonus(session, city, body.action, body.date, body.ranking,
                                    service.load_config(settings.data_dir), now, user.login,
                                    client=client_address(request), principal=user)


@router.post("/{period}/publish", responses=_problems(401, 403, 422))
def publish(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep,
            user: CurrentUser, period: PeriodPath) -> dict[str, Any]:
    """Publish (freeze) an ended period (领导、管理员): its figures never change afterwards."""
    _require(user, PUBLISH_ROLES, "发布考核结果")
    return service.publish(session, city, period, service.load_config(settings.data_dir), now,
                           user.login, client=client_address(request))


class BandIn(BaseModel):
    rank_from: int = Field(ge=1, le=MAX_BAND_RANK)
    rank_to: int = Field(ge=1, le=MAX_BAND_RANK)
    amount: float = Field(ge=-MAX_BAND_AMOUNT, le=MAX_BAND_AMOUNT, allow_inf_nan=False,
                          description="金额（元），负数为扣减")
    note: str | None = Field(None, max_length=200)


@router.put("/{period}/reward-bands", responses=_problems(401, 403, 422))
def put_reward_bands(request: Request, session: SessionDep, now: NowDep, user: CurrentUser,
                     period: PeriodPath, bands: list[BandIn]) -> dict[str, Any]:
    """Replace the period's reward/penalty bands (以奖代补, 领导、管理员)."""
    _require(user, PUBLISH_ROLES, "设置奖补标准")
    count = service.set_reward_bands(session, period, [RewardBand(b.rank_from, b.rank_to, b.amount) for b in bands],
                                     now, user.login, notes=[b.note for b in bands],
                                     client=client_address(request))
    return {"period": period, "bands": count}
