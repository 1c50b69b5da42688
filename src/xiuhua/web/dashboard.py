"""领导驾驶舱: the page draws the figures of ``GET /api/v1/dashboard`` with ECharts
(static/js/dashboard.js) and polls it, so counters and charts refresh without reloading."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from xiuhua.domain.access import Principal
from xiuhua.http.deps import CityDep, NowDep, SessionDep
from xiuhua.http.presenters import dashboard_figures
from xiuhua.http.urls import API
from xiuhua.services.dashboard import CACHE_SECONDS
from xiuhua.web.pages import PageRoute, page_for, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

COUNTERS = (("reported", "上报"), ("filed", "立案"), ("dispatched", "派遣"), ("closed", "结案"),
            ("overdue", "超期"))


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                   user: Annotated[Principal, page_for("/dashboard")]) -> Response:
    """The page with today's figures drawn in; the script keeps them current."""
    data = dashboard_figures(request, session, city, now)
    return render(request, "dashboard/index.html", {
        "title": "领导驾驶舱", "data": data, "counters": COUNTERS,
        "config": {"dataUrl": f"{API}/dashboard", "refreshSeconds": int(CACHE_SECONDS),
                   "data": data}})
