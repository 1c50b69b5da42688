"""The leaders' dashboard (领导驾驶舱) figures: counts, funnel, trend, top categories, units'
on-time rates, hotspots and blind spots (see :mod:`xiuhua.services.dashboard`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from xiuhua.domain.access import Principal, sees_dashboard
from xiuhua.domain.errors import PermissionDenied
from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep
from xiuhua.http.presenters import dashboard_figures
from xiuhua.http.schemas import Problem

router = APIRouter(prefix="/dashboard", tags=["领导驾驶舱"])


class Counts(BaseModel):
    reported: int = Field(description="上报案件数")
    filed: int = Field(description="立案数（立案事件）")
    dispatched: int = Field(description="派遣数（派遣事件）")
    closed: int = Field(description="结案数")
    overdue: int = Field(description="当前超期且期限在此范围内到期的案件数")


class FunnelStage(BaseModel):
    stage: str = Field(description="reported / filed / dispatched / handled / checked / closed")
    label: str
    count: int = Field(description="本月上报的案件中已到达此环节的件数")


class Trend(BaseModel):
    days: list[str] = Field(description="近 30 天的日期（YYYY-MM-DD，北京时间），最早的在前")
    reported: list[int] = Field(description="每天上报的案件数")
    closed: list[int] = Field(description="每天结案的案件数")


class CategoryCount(BaseModel):
    category_code: str
    name: str
    filed: int = Field(description="本月立案数")


class UnitOnTime(BaseModel):
    unit_code: str
    unit_name: str
    handled: int
    handled_on_time: int
    overdue_unhandled: int
    due: int = Field(description="应处置数 = handled + overdue_unhandled")
    on_time_rate: float = Field(description="按期处置率 handled_on_time / due（0–1，考核口径，截至当前）")


class GridCount(BaseModel):
    grid_code: str
    name: str
    community: str
    reported: int = Field(description="本月上报数")


class BlindGrid(BaseModel):
    grid_code: str
    name: str
    community: str
    inspector: str = Field(description="责任监督员（姓名，未设置为空）")


class BlindSpots(BaseModel):
    days: int
    total: int = Field(description="盲区网格总数")
    grids: list[BlindGrid] = Field(description="盲区网格（按代码排序，最多 100 个）")


class DashboardPublic(BaseModel):
    as_of: str = Field(description="统计时刻（北京时间 ISO 8601）")
    month: str = Field(description="本月，如 2026-10")
    today: Counts
    this_month: Counts
    overdue_now: int = Field(description="当前超期案件总数")
    funnel: list[FunnelStage]
    trend: Trend
    top_categories: list[CategoryCount]
    units: list[UnitOnTime]
    hotspots: list[GridCount]
    blind_spots: BlindSpots


def may_open(user: Principal) -> None:
    """The dashboard is for the center, leaders and admins (who see every case)."""
    if not sees_dashboard(user):
        raise PermissionDenied(f"领导驾驶舱不对{user.role.label}开放", code="permission_denied")


@router.get("", response_model=DashboardPublic,
            responses={401: {"model": Problem, "description": "未登录或令牌无效"},
                       403: {"model": Problem, "description": "无权查看"}})
def get_dashboard(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                  user: CurrentUser) -> dict[str, Any]:
    """领导驾驶舱的数据：今日和本月的上报、立案、派遣、结案、超期数，本月案件的环节漏斗，
    近 30 天趋势，本月高发问题，各单位本月按期处置率（考核口径），热点网格，以及近 30 天
    无上报、无监督员核实核查的盲区网格。指挥中心、领导和管理员可看；数据每 30 秒更新。"""
    may_open(user)
    return dashboard_figures(request, session, city, now)
