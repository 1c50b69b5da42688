"""The web pages: server-rendered Jinja2 with htmx, Leaflet and ECharts vendored under static/."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles


def mount_web(app: FastAPI) -> None:
    """Serve the pages at / and their static files (ours and vendored) under /static."""
    from xiuhua.web import (
        admin,
        api_docs,
        assessment,
        auth,
        case_list,
        cases,
        dashboard,
        evaluation,
        home,
        legacy,
        maps,
        plans,
        portal,
        projects,
        report,
        supervision,
        surveys,
    )
    from xiuhua.web.pages import STATIC_DIR

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (auth, home, case_list, cases, maps, dashboard, assessment, evaluation, admin, report,
                   portal, surveys, api_docs, projects, legacy, plans, supervision):
        app.include_router(module.router)
