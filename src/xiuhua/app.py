"""The one ASGI application factory: the REST API under /api/v1, Open311 under /open311/v2,
the pages at / (their static files under /static), the health check and the metrics.

The only module that imports both ``api/`` and ``web/`` (an import-linter contract says so)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from xiuhua import __version__
from xiuhua.api import (
    assessment,
    auth,
    cases,
    catalog,
    dashboard,
    evaluation,
    legacy,
    open311,
    photos,
    plans,
    projects,
    public,
    supervision,
    surveys,
    tasks,
)
from xiuhua.config import Settings, get_settings
from xiuhua.http import metrics, problems
from xiuhua.http.headers import SecurityHeaders, TrustedHosts
from xiuhua.http.requestlog import RequestLog
from xiuhua.http.urls import API
from xiuhua.services.city import CityCache, init_database
from xiuhua.store.db import make_engine
from xiuhua.web import mount_web

SESSION_COOKIE = "xiuhua_session"


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = _now,
               engine: Engine | None = None, migrate: bool = True) -> FastAPI:
    """Build the application; ``clock`` and ``engine`` are injectable for tests."""
    settings = settings or get_settings()
    app = FastAPI(title="绣花 Xiuhua API", version=__version__,
                  description="城市精细化管理（数字化城管）平台接口",
                  openapi_url=f"{API}/openapi.json", docs_url=None, redoc_url=None)  # docs: web/api_docs.py
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.effective_database_url,
                                             echo=settings.sql_echo)
    if migrate:
        init_database(app.state.engine)
    app.state.city = CityCache()
    app.state.clock = clock
    app.add_middleware(SessionMiddleware, secret_key=settings.session_secret(),
                       session_cookie=SESSION_COOKIE, same_site="lax",
                       https_only=settings.cookie_secure, max_age=12 * 3600)
    _hardening(app, settings)
    app.add_middleware(RequestLog)  # outermost: the request id and the count of every answer
    problems.install(app)
    _routes(app)
    return app


def _hardening(app: FastAPI, settings: Settings) -> None:
    """The trusted-host check (XIUHUA_TRUSTED_HOSTS) and, outermost, the security headers on
    every response, the trusted-host check's 400 included."""
    hosts = settings.trusted_host_list
    if "*" not in hosts:
        app.add_middleware(TrustedHosts, allowed_hosts=hosts, exempt=("/healthz",))
    app.add_middleware(SecurityHeaders, settings=settings)


def _routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (auth, cases, catalog, photos, tasks, public, assessment, dashboard, projects,
                   legacy, surveys, plans, supervision, evaluation):
        app.include_router(module.router, prefix=API)
    app.include_router(open311.router, prefix="/open311/v2")
    app.include_router(metrics.router)  # GET /metrics (Prometheus; networks or token)
    mount_web(app)  # the pages at /, their static files under /static
