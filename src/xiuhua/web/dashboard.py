"""领导驾驶舱: the page draws the figures of ``GET /api/v1/dashboard`` with ECharts
(static/js/dashboard.js) and polls it, so counters and charts refresh without reloading."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, sees_programme
from xiuhua.domain.choices import LegacyStatus, ProjectColour
from xiuhua.http.deps import CityDep, NowDep, SessionDep
from xiuhua.http.presenters import dashboard_figures
from xiuhua.http.urls import API
from xiuhua.services import legacy, projects
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
        "programme": programme_tiles(session, user, now),
        "config": {"dataUrl": f"{API}/dashboard", "refreshSeconds": int(CACHE_SECONDS),
                   "data": data}})


def programme_tiles(session: Session, user: Principal, now: datetime) -> dict[str, Any] | None:
    """The tiles of key projects by colour and legacy issues by status (for those who see
    the whole programme: the office, leaders, admins)."""
    if not sees_programme(user):
        return None
    colours = projects.colour_counts(session, user, now)
    statuses = legacy.status_counts(session, user, now)
    return {"projects": [(c.value, c.label, colours[c.value]) for c in ProjectColour],
            "legacy": [(s.value, s.label, statuses[s.value]) for s in LegacyStatus],
            "legacy_overdue": statuses["overdue"]}
