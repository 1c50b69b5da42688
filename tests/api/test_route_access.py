"""Every route of the application declares who may use it, and keeps to it.

The walk reads the application's route table (the REST API under /api/v1 and the pages). Each
(method, path) must have an entry in :data:`ACCESS`: a principal in scope, principals out of
scope, and what the request needs (path values, query, body). For each route, on a city with
cases, notifications and a photo:

- the principal in scope is let through: a read (GET) answers 200; a write answers one of
  :data:`WRITE_THROUGH` — success (200, 201, 204, 303 not to the sign-in page) or a refusal of
  the request itself (409 conflict, 422 invalid body), which comes only after access was granted
  (access refusals are 401, 403 and 404, see ``api/problems.py`` and ``web/pages.py``);
- each principal out of scope is refused: anonymous with 401 (API) or a redirect to the sign-in
  page (pages); a signed-in one with 403 or 404, and not because of a missing CSRF token (the
  walk sends the session's token with every page write).

A route missing from :data:`ACCESS` fails, so a new route cannot ship without its access rule:
add one line, e.g. ``"GET /api/v1/foo/{foo_id}": Access("handler_hw", (ANON, "handler_zf"),
params={"foo_id": "7"}),`` (path parameters the walk knows, such as ``case_no``, need no value:
see :func:`world`). Exempt are the public and Open311 entrances, the health check and static
files (:data:`EXEMPT_PREFIXES`), and the routes listed with their reason in :data:`EXEMPT`.

The principals: ``handler_hw``/``leader_hw`` (unit U-HW, which holds the case), ``handler_zf``
(another unit), ``inspector01`` (all grids) and ``inspector02`` (grid 001 only; the case is in
003), the center roles, ``leader01``, ``admin01`` (tests/api/conftest.py), a public account
(:data:`CITIZEN`), nobody (:data:`ANON`) and, for ``GET /metrics``, a scraper with the metrics
token (:data:`SCRAPER`: the test client's address is in no allowed network).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from io import BytesIO
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from openpyxl import Workbook
from PIL import Image
from pwdlib.hashers.argon2 import Argon2Hasher
from shapely.geometry import Point
from sqlalchemy import create_engine, func, select, update

from tests.api.conftest import PASSWORD, Api
from tests.e2e.scenario import ACTORS, NOW, PLAN, STEP_ACTOR, report_one
from tests.factories import act, center, grid_code, local
from xiuhua.app import create_app  # the one place this test names the app factory
from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Audience, DeductionRule, NoticeKind, Role
from xiuhua.domain.evaluation import EvaluationSettings, Item, Standard
from xiuhua.services import accounts, evaluation, plans, supervision
from xiuhua.services.city import load_city
from xiuhua.services.notifications import Notice, raise_once
from xiuhua.store import evaluation as evaluation_store
from xiuhua.store import plans as plans_store
from xiuhua.store.db import transaction
from xiuhua.store.tables import notifications, users

ANON = "anonymous"  # no token, no session
CITIZEN = "citizen01"  # a public account (a citizens' app signs in as one)
SCRAPER = "metrics-scraper"  # no user: a Prometheus server with XIUHUA_METRICS_TOKEN
SCRAPER_TOKEN = "walk-metrics-token"
# Paths whose callers present bearer tokens (anonymous: 401), not browser sessions.
BEARER_PATHS = ("/api/", "/metrics")

# Writes let through access: success, or a refusal of the request itself (never 401/403/404).
WRITE_THROUGH = frozenset({200, 201, 204, 303, 409, 422})
REFUSED = frozenset({403, 404})
# The walk signs in some 200 times: with a password hash as cheap as Argon2 allows (a hash
# carries its own cost), not the production one of conftest.PASSWORD_HASH.
CHEAP_HASH = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
CSRF_REFUSALS = ("csrf_failed", "安全令牌")  # a refusal for a missing CSRF token proves nothing

EXEMPT_PREFIXES = ("/public", "/api/v1/public", "/open311", "/healthz", "/static")
EXEMPT: dict[str, str] = {
    "GET /api/v1/openapi.json": "the API description, public by design",
    "GET /api/v1/docs": "the API documentation page, public by design",
    "GET /login": "the sign-in page",
    "POST /login": "signing in (checked by password and the login throttle)",
    "POST /logout": "signing out (ends whatever session the browser has)",
    "POST /api/v1/auth/token": "signing in for a token (checked by password and the throttle)",
    "POST /api/v1/auth/login": "browser sign-in (checked by password, origin and throttle)",
    "POST /api/v1/auth/logout": "signing out (ends whatever session the browser has)",
}

Body = Callable[["World"], dict[str, Any]]  # keyword arguments of httpx's request()


@dataclass(frozen=True)
class Access:
    """One route's rule: ``ok`` may use it; each of ``refused`` may not. ``params`` override
    the path values of :func:`path_values`; ``body`` builds the request body."""

    ok: str
    refused: tuple[str, ...]
    params: dict[str, str] = field(default_factory=dict)
    query: str = ""
    body: Body | None = None


# --- request bodies -------------------------------------------------------------------------


def _case_report(w: World) -> dict[str, Any]:
    lon, lat = center(0, 2)
    return {"json": {"category_code": "06010", "lon": lon, "lat": lat, "description": "路边垃圾"}}


def _feedback(w: World) -> dict[str, Any]:
    return {"json": {"version": w.version, "note": "已清运"}}


def _feedback_form(w: World) -> dict[str, Any]:
    return {"data": {"version": str(w.version), "note": "已清运"}}


def _photo(w: World) -> dict[str, Any]:
    return {"files": {"file": ("scene.jpg", jpeg(), "image/jpeg")}}


def _entry(w: World) -> dict[str, Any]:
    return {"json": {"kind": "deduction", "unit_code": "U-HW", "date": "2026-10-12",
                     "item": "抽查发现垃圾未清", "points": 1}}


def _bands(w: World) -> dict[str, Any]:
    return {"json": [{"rank_from": 1, "rank_to": 1, "amount": 1000}]}


def _staff_report(w: World) -> dict[str, Any]:
    lon, lat = center(0, 2)
    return {"data": {"category_code": "06010", "lon": str(lon), "lat": str(lat),
                     "description": "路边垃圾"}}


PROJECT = {"name": "北环路改造", "kind": "road", "lead_unit": "U-HW",
           "planned_start": "2026-03-01", "planned_finish": "2026-12-31"}
LEGACY_ISSUE = {"title": "幸福里小区办证", "category": "certificate", "lead_unit": "U-HW"}


def _project(w: World) -> dict[str, Any]:
    return {"json": PROJECT}


def _project_progress(w: World) -> dict[str, Any]:
    return {"json": {"percent": 30, "note": "路基完成"}}


def _legacy_issue(w: World) -> dict[str, Any]:
    return {"json": LEGACY_ISSUE}


def _legacy_progress(w: World) -> dict[str, Any]:
    return {"json": {"note": "已召开协调会"}}


def _survey_body(w: World) -> dict[str, Any]:
    return {"json": {"title": "街道满意度调查", "region_code": "370181001",
                     "questions": [{"kind": "scale", "text": "街面整洁"}]}}


def _survey_answer(w: World) -> dict[str, Any]:
    return {"json": {"values": {"1": 4}}}


def _progress(w: World) -> dict[str, Any]:
    return {"json": {"text": "已完成一半", "percent": "50"}}


def _plan_new(w: World) -> dict[str, Any]:
    return {"json": {"name": "新计划", "start_date": "2026-01-01"}}


def _order_new(w: World) -> dict[str, Any]:
    return {"json": {"title": "督办事项", "content": "请加快", "unit_code": "U-HW"}}


TASK = {"code": "{task_code}"}  # a plan task's code (the walk's ``code`` is a unit's)
PLAN_REPORT = {"report_id": "{plan_report_id}"}  # a plan progress report (``report_id``: a project's)


def _standard_sheet(w: World) -> dict[str, Any]:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["一级指标", "二级指标", "分值", "扣分标准", "事项代码"])
    sheet.append(["干净", "路面有垃圾", 4, "每处扣1分", "06010"])
    out = BytesIO()
    book.save(out)
    return {"files": {"file": ("standard.xlsx", out.getvalue(), "application/octet-stream")},
            "data": {"name": "新标准", "year": "2026"}}


def _json(**values: Any) -> Body:
    return lambda w: {"json": {k: v.format_map(w.values) if isinstance(v, str) else v
                               for k, v in values.items()}}


def _ids(**values: Any) -> Body:
    """A JSON body whose ``{name}`` values are filled in, numbers as numbers (lists too)."""
    def value(v: Any, w: World) -> Any:
        if isinstance(v, list):
            return [value(x, w) for x in v]
        text = v.format_map(w.values)
        return int(text) if text.isdigit() else text

    return lambda w: {"json": {k: value(v, w) for k, v in values.items()}}


def _form(**values: str) -> Body:
    return lambda w: {"data": {k: v.format_map(w.values) for k, v in values.items()}}


def _form_json(**values: str) -> Body:
    return lambda w: {"json": values}


# --- the table ------------------------------------------------------------------------------

CASE_OUTSIDERS = (ANON, "handler_zf", "inspector02", CITIZEN)  # of the U-HW case in grid 003
PROGRAMME_OUTSIDERS = (ANON, "handler_zf", "inspector01", "dispatcher01", CITIZEN)  # U-HW's
STAFF_ONLY = (ANON,)  # reference data for every signed-in user
ADMIN_ONLY = (ANON, "leader01", "handler_hw", CITIZEN)
ANY_SIGNED_IN = (ANON,)
STAFF_PAGE = (ANON, CITIZEN)  # every staff member; a public account uses the public portal
EVALUATOR_ONLY = (ANON, "inspector01", "leader01", "handler_hw", CITIZEN)  # field evaluation rounds

ACCESS: dict[str, Access] = {
    # account
    "GET /api/v1/auth/me": Access("handler_hw", ANY_SIGNED_IN),
    "GET /api/v1/auth/tokens": Access("handler_hw", ANY_SIGNED_IN),
    "DELETE /api/v1/auth/tokens/{token_id}": Access("handler_hw", (ANON, "handler_zf", "admin01")),
    # cases
    "GET /api/v1/cases": Access("handler_hw", ANY_SIGNED_IN),  # a list filtered to one's scope
    "POST /api/v1/cases": Access("inspector01", (ANON, "handler_hw", "leader01"),
                                 body=_case_report),
    "GET /api/v1/cases/{case_no}": Access("handler_hw", CASE_OUTSIDERS),
    "POST /api/v1/cases/{case_no}/actions/{action}": Access(
        "handler_hw", CASE_OUTSIDERS, params={"action": "feedback"}, body=_feedback),
    "GET /api/v1/dispatch/suggest": Access("dispatcher01", (ANON, "handler_hw", "inspector02",
                                                            CITIZEN), query="case_no={case_no}"),
    # reference data
    "GET /api/v1/units": Access("handler_hw", STAFF_ONLY),
    "GET /api/v1/regions": Access("handler_hw", STAFF_ONLY),
    "GET /api/v1/regions/{code}": Access("handler_hw", STAFF_ONLY, params={"code": "{grid}"}),
    "GET /api/v1/grids/locate": Access("handler_hw", STAFF_ONLY, query="lon={lon}&lat={lat}"),
    "GET /api/v1/categories": Access("handler_hw", STAFF_ONLY),
    "GET /api/v1/categories/{code}": Access("handler_hw", STAFF_ONLY, params={"code": "06010"}),
    "GET /api/v1/calendar": Access("handler_hw", STAFF_ONLY),
    "GET /api/v1/calendar/years": Access("handler_hw", STAFF_ONLY),
    "GET /api/v1/calendar/deadline": Access("handler_hw", STAFF_ONLY,
                                            query="start=2026-10-16T10:00&limit=2wh"),
    # photos (the photo of a case in grid 003, not yet dispatched)
    "POST /api/v1/photos": Access("inspector01", (ANON, CITIZEN), body=_photo),
    "GET /api/v1/photos/{photo_id}": Access("inspector01", (ANON, "handler_zf", "inspector02",
                                                           CITIZEN)),
    "GET /api/v1/photos/{photo_id}/thumb": Access("inspector01", (ANON, "handler_zf",
                                                                 "inspector02", CITIZEN)),
    # the public copy of a photo on a public step of a public case is anyone's (by design), so
    # the walk asks for one not yet attached to a case: its uploader's only
    "GET /api/v1/photos/{photo_id}/public": Access(
        "inspector01", (ANON, "handler_zf", "inspector02", CITIZEN),
        params={"photo_id": "{loose_photo_id}"}),
    # tasks and notifications (own only)
    "GET /api/v1/tasks": Access("inspector01", (ANON, "handler_hw", CITIZEN)),
    "GET /api/v1/notifications": Access("handler_hw", (ANON, CITIZEN)),
    "POST /api/v1/notifications/{notification_id}/read": Access(
        "handler_hw", (ANON, "handler_zf", "inspector01", "admin01", CITIZEN)),
    # assessment: units see units and regions; people's figures are scoped inside
    "GET /api/v1/assessment/{period}": Access("leader_hw", (ANON, CITIZEN)),
    "GET /api/v1/assessment/{period}/workbook.xlsx": Access("leader_hw", (ANON, CITIZEN)),
    "GET /api/v1/assessment/{period}/circular.docx": Access("leader_hw", (ANON, CITIZEN)),
    "GET /api/v1/assessment/{period}/areas/{code}": Access("leader_hw", (ANON, CITIZEN),
                                                           params={"code": "370181"}),
    "GET /api/v1/assessment/{period}/areas/{code}/circular.docx": Access(
        "leader_hw", (ANON, CITIZEN), params={"code": "370181"}),
    "GET /api/v1/assessment/{period}/{subject}/{code}/cases": Access(
        "leader_hw", (ANON, "handler_zf", "inspector01", CITIZEN), query="measure=due"),
    "POST /api/v1/assessment/entries": Access("shift01", (ANON, "handler_hw", "inspector01",
                                                          CITIZEN), body=_entry),
    "POST /api/v1/assessment/action-bonus": Access(  # 422 without [composite] action_bonus
        "shift01", (ANON, "handler_hw", "inspector01", CITIZEN),
        body=lambda w: {"json": {"action": "夏季整治", "date": "2026-10-12", "ranking": ["U-HW"]}}),
    "POST /api/v1/assessment/{period}/publish": Access(
        "leader01", (ANON, "shift01", "leader_hw", CITIZEN), params={"period": "2026-09"}),
    "PUT /api/v1/assessment/{period}/reward-bands": Access(
        "leader01", (ANON, "shift01", "leader_hw", CITIZEN), body=_bands),
    # surveys: results for staff, the editor for the center, leaders, office and admins,
    # interviews for evaluators (and the editors); citizens answer on /public/surveys
    "GET /api/v1/surveys": Access("handler_hw", (ANON, CITIZEN)),
    "POST /api/v1/surveys": Access("leader01", (ANON, "handler_hw", "evaluator01", CITIZEN),
                                   body=_survey_body),
    "GET /api/v1/surveys/{survey_id}": Access("handler_hw", (ANON, CITIZEN)),
    "PUT /api/v1/surveys/{survey_id}": Access("leader01", (ANON, "handler_hw", "evaluator01", CITIZEN),
                                              body=_survey_body),
    "GET /api/v1/surveys/{survey_id}/answers": Access("handler_hw", (ANON, CITIZEN)),
    "POST /api/v1/surveys/{survey_id}/answers": Access(
        "evaluator01", (ANON, "handler_hw", "inspector01", CITIZEN), body=_survey_answer),
    "GET /surveys": Access("handler_hw", STAFF_PAGE),
    "GET /surveys/answers": Access("handler_hw", STAFF_PAGE, query="unit=U-JD1&period=2026-10"),
    "GET /surveys/new": Access("leader01", (ANON, "handler_hw", "evaluator01", CITIZEN)),
    "POST /surveys/new": Access("leader01", (ANON, "handler_hw", "evaluator01", CITIZEN),
                                body=_form(title="问卷", region_code="370181001", **{"q1.kind": "scale",
                                                                                    "q1.text": "整洁"})),
    "GET /surveys/{survey_id}": Access("handler_hw", STAFF_PAGE),
    "GET /surveys/{survey_id}/edit": Access("leader01", (ANON, "handler_hw", "evaluator01", CITIZEN)),
    "POST /surveys/{survey_id}/edit": Access("leader01", (ANON, "handler_hw", "evaluator01", CITIZEN),
                                             body=_form(title="问卷", region_code="370181001", active="on",
                                                        **{"q1.kind": "scale", "q1.text": "街面整洁"})),
    "POST /surveys/{survey_id}/answers": Access("evaluator01", (ANON, "handler_hw", "inspector01", CITIZEN),
                                                body=_form(a1="4")),
    "GET /api/v1/dashboard": Access("leader01", (ANON, "handler_hw", "inspector01", CITIZEN)),
    # field evaluation: standards and points for staff; rounds for evaluators (the sample is
    # theirs until the round closes)
    "GET /api/v1/standards": Access("handler_hw", (ANON, CITIZEN)),
    "POST /api/v1/standards": Access("evaluator01", EVALUATOR_ONLY, body=_standard_sheet),
    "GET /api/v1/standards/{standard_id}": Access("handler_hw", (ANON, CITIZEN)),
    "GET /api/v1/standards/{standard_id}/export.xlsx": Access("handler_hw", (ANON, CITIZEN)),
    "GET /api/v1/evaluation-points": Access("handler_hw", (ANON, CITIZEN)),
    "POST /api/v1/evaluation-points": Access("evaluator01", EVALUATOR_ONLY, body=_json(
        code="P9", name="新点位", kind="公园", lon=117.0015, lat=36.6495)),
    "GET /api/v1/rounds": Access("handler_hw", (ANON, CITIZEN)),
    "GET /api/v1/rounds/preview": Access("evaluator01", EVALUATOR_ONLY, query="seed=3"),
    "POST /api/v1/rounds": Access("evaluator01", EVALUATOR_ONLY, body=_ids(
        standard_id="{standard_id}", seed="3", period="2026-11")),
    "GET /api/v1/rounds/{round_id}/results": Access("evaluator01", (ANON, "leader01", "handler_hw",
                                                                    "inspector01", CITIZEN)),
    "GET /api/v1/rounds/{round_id}/work": Access("evaluator01", EVALUATOR_ONLY),
    "POST /api/v1/rounds/{round_id}/points": Access("evaluator01", EVALUATOR_ONLY,
                                                    body=_ids(point_ids=["{point_id}"])),
    "POST /api/v1/rounds/{round_id}/points/{point_id}/deductions": Access(
        "evaluator01", EVALUATOR_ONLY, body=_ids(item_id="{item_id}", count="1")),
    "POST /api/v1/rounds/{round_id}/points/{point_id}/done": Access("evaluator01", EVALUATOR_ONLY),
    "POST /api/v1/rounds/{round_id}/close": Access("evaluator01", EVALUATOR_ONLY),
    "POST /api/v1/rounds/{round_id}/publish": Access("evaluator01", EVALUATOR_ONLY),
    # the server's metrics: a scraper's token (or an allowed network), never a user's
    "GET /metrics": Access(SCRAPER, (ANON, "admin01", "leader01", CITIZEN)),
    # key projects and legacy issues (U-HW leads them): a unit its own, the office manages
    "GET /api/v1/projects": Access("handler_hw", (ANON, "inspector01", "dispatcher01", CITIZEN)),
    "POST /api/v1/projects": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN),
                                    body=_project),
    "GET /api/v1/projects/{project_id}": Access("handler_hw", PROGRAMME_OUTSIDERS),
    "POST /api/v1/projects/{project_id}/progress": Access(
        "handler_hw", (*PROGRAMME_OUTSIDERS, "leader01"), body=_project_progress),
    "POST /api/v1/projects/{project_id}/progress/{report_id}/accept": Access(
        "office01", (*PROGRAMME_OUTSIDERS, "handler_hw", "leader01")),
    "POST /api/v1/projects/{project_id}/progress/{report_id}/return": Access(
        "office01", (*PROGRAMME_OUTSIDERS, "handler_hw", "leader01"),
        body=_form_json(reason="照片不清楚")),
    "GET /api/v1/legacy-issues": Access("handler_hw", (ANON, "inspector01", "dispatcher01",
                                                       CITIZEN)),
    "POST /api/v1/legacy-issues": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN),
                                         body=_legacy_issue),
    "GET /api/v1/legacy-issues/{issue_id}": Access("handler_hw", PROGRAMME_OUTSIDERS),
    "POST /api/v1/legacy-issues/{issue_id}/progress": Access(
        "handler_hw", (*PROGRAMME_OUTSIDERS, "leader01"), body=_legacy_progress),
    "POST /api/v1/legacy-issues/{issue_id}/signoff": Access(
        "office01", (*PROGRAMME_OUTSIDERS, "handler_hw", "leader01"),
        body=_form_json(evidence="证书已发放")),
    # the work programme: a unit sees the tasks it leads or cooperates on; the office manages
    "GET /api/v1/plans": Access("handler_hw", (ANON,)),  # a list filtered to one's scope
    "POST /api/v1/plans": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN), body=_plan_new),
    "GET /api/v1/plans/{plan_id}": Access("handler_hw", (ANON, "handler_zf", CITIZEN)),  # filtered tree
    "GET /api/v1/plans/{plan_id}/progress.xlsx": Access("handler_hw", (ANON, "handler_zf", CITIZEN)),
    "POST /api/v1/plans/{plan_id}/tasks/{code}/progress": Access(
        "handler_hw", (ANON, "handler_zf", "office01", CITIZEN), body=_progress, params=TASK),
    "POST /api/v1/plans/{plan_id}/progress/{report_id}/accept": Access(
        "office01", (ANON, "handler_hw", "leader01", CITIZEN), params=PLAN_REPORT),
    "POST /api/v1/plans/{plan_id}/progress/{report_id}/return": Access(
        "office01", (ANON, "handler_hw", "leader01", CITIZEN), body=_json(reason="数据不实"),
        params=PLAN_REPORT),
    "POST /api/v1/plans/{plan_id}/tasks/{code}/pause": Access(
        "office01", (ANON, "handler_hw", "leader01", CITIZEN), body=_json(reason="雨季停工"), params=TASK),
    "POST /api/v1/plans/{plan_id}/tasks/{code}/resume": Access(
        "office01", (ANON, "handler_hw", "leader01", CITIZEN), params=TASK),
    "GET /api/v1/supervision-orders": Access("handler_hw", (ANON,)),  # filtered to one's scope
    "POST /api/v1/supervision-orders": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN),
                                              body=_order_new),
    "GET /api/v1/supervision-orders/{order_id}": Access("handler_hw", (ANON, "handler_zf", CITIZEN)),
    "POST /api/v1/supervision-orders/{order_id}/reply": Access(
        "handler_hw", (ANON, "handler_zf", "office01", CITIZEN), body=_json(text="已整改")),
    "POST /api/v1/supervision-orders/{order_id}/accept": Access(
        "office01", (ANON, "handler_hw", "handler_zf", CITIZEN)),
    "POST /api/v1/supervision-orders/{order_id}/return": Access(
        "office01", (ANON, "handler_hw", "handler_zf", CITIZEN), body=_json(reason="未附照片")),
    "POST /api/v1/supervision-orders/{order_id}/signoff": Access(
        "office01", (ANON, "handler_hw", "handler_zf", CITIZEN)),
    # pages
    "GET /": Access("handler_hw", STAFF_PAGE),
    "GET /parts/counters": Access("handler_hw", STAFF_PAGE),
    "GET /parts/{key}": Access("handler_hw", (ANON, "inspector01", CITIZEN),
                               params={"key": "my_overdue"}),
    "GET /cases": Access("handler_hw", STAFF_PAGE),  # a list filtered to one's scope
    "GET /cases/{case_no}": Access("handler_hw", CASE_OUTSIDERS),
    "POST /cases/{case_no}/actions/{action}": Access(
        "handler_hw", CASE_OUTSIDERS, params={"action": "feedback"}, body=_feedback_form),
    "GET /map": Access("handler_hw", STAFF_PAGE),
    "GET /map/layers.json": Access("handler_hw", STAFF_PAGE),
    "GET /map/cases.json": Access("handler_hw", STAFF_PAGE),  # filtered to one's scope
    "GET /map/grids/{code}": Access("handler_hw", STAFF_PAGE, params={"code": "{grid}"}),
    "GET /dashboard": Access("leader01", (ANON, "handler_hw", "inspector01", CITIZEN)),
    "GET /assessment": Access("leader_hw", (ANON, "inspector01", CITIZEN)),
    "GET /assessment/{period}/{subject}/{code}/cases": Access(
        "leader_hw", (ANON, "handler_zf", "inspector01", CITIZEN), query="measure=due"),
    "GET /evaluation": Access("handler_hw", (ANON, "inspector01", CITIZEN)),
    "GET /evaluation/standards/{standard_id}": Access("handler_hw", (ANON, "inspector01", CITIZEN)),
    "GET /evaluation/points": Access("handler_hw", (ANON, "inspector01", CITIZEN)),
    "GET /evaluation/rounds/new": Access("evaluator01", EVALUATOR_ONLY, query="seed=3"),
    "POST /evaluation/rounds": Access("evaluator01", EVALUATOR_ONLY, body=_form(
        standard="{standard_id}", period="2026-11", seed="4")),
    "GET /evaluation/rounds/{round_id}": Access("evaluator01", EVALUATOR_ONLY),
    "GET /evaluation/rounds/{round_id}/walk": Access("evaluator01", EVALUATOR_ONLY),
    "POST /evaluation/rounds/{round_id}/points": Access("evaluator01", EVALUATOR_ONLY,
                                                        body=_form(codes="P1")),
    "POST /evaluation/rounds/{round_id}/close": Access("evaluator01", EVALUATOR_ONLY),
    "POST /evaluation/rounds/{round_id}/publish": Access("evaluator01", EVALUATOR_ONLY),
    "GET /evaluation/self-report.docx": Access("leader01", (ANON, "evaluator01", "inspector01", "handler_hw", CITIZEN),
                                               query="period=2026-11&standard={standard_id}"),
    "GET /report": Access("inspector01", (ANON, "handler_hw", "leader01", CITIZEN)),
    "POST /report": Access("inspector01", (ANON, "handler_hw", "leader01", CITIZEN),
                           body=_staff_report),
    "GET /report/point.json": Access("inspector01", (ANON, "handler_hw", CITIZEN),
                                     query="lon={lon}&lat={lat}"),
    # key projects and legacy issues (U-HW leads them)
    "GET /projects": Access("handler_hw", (ANON, "inspector01", "dispatcher01", CITIZEN)),
    "POST /projects": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN), body=_form(
        name="北环路改造", kind="road", lead_unit="U-HW", planned_start="2026-03-01",
        planned_finish="2026-12-31")),
    "GET /projects/{project_id}": Access("handler_hw", PROGRAMME_OUTSIDERS),
    "POST /projects/{project_id}/progress": Access(
        "handler_hw", (*PROGRAMME_OUTSIDERS, "leader01"), body=_form(percent="20")),
    "POST /projects/{project_id}/progress/{report_id}/{decision}": Access(
        "office01", (*PROGRAMME_OUTSIDERS, "handler_hw", "leader01"),
        params={"decision": "accept"}),
    "GET /legacy-issues": Access("handler_hw", (ANON, "inspector01", "dispatcher01", CITIZEN)),
    "POST /legacy-issues": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN),
                                  body=_form(title="幸福里小区办证", category="certificate",
                                             lead_unit="U-HW")),
    "GET /legacy-issues/{issue_id}": Access("handler_hw", PROGRAMME_OUTSIDERS),
    "POST /legacy-issues/{issue_id}/progress": Access(
        "handler_hw", (*PROGRAMME_OUTSIDERS, "leader01"), body=_form(note="已召开协调会")),
    "POST /legacy-issues/{issue_id}/signoff": Access(
        "office01", (*PROGRAMME_OUTSIDERS, "handler_hw", "leader01"),
        body=_form(evidence="证书已发放")),
    # the work programme's pages
    "GET /plans": Access("handler_hw", (ANON, "inspector01", CITIZEN)),
    "POST /plans/import": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN)),
    "GET /plans/{plan_id}": Access("handler_hw", (ANON, "handler_zf", "inspector01", CITIZEN)),
    "GET /plans/{plan_id}/progress.xlsx": Access("handler_hw", (ANON, "handler_zf", "inspector01", CITIZEN)),
    "GET /plans/{plan_id}/tasks/{code}": Access("handler_hw", (ANON, "handler_zf", "inspector01", CITIZEN),
                                                params=TASK),
    "POST /plans/{plan_id}/tasks/{code}/progress": Access(
        "handler_hw", (ANON, "handler_zf", "office01", "inspector01", CITIZEN),
        body=_form(text="进展", percent="20"), params=TASK),
    "POST /plans/{plan_id}/progress/{report_id}/{verdict}": Access(
        "office01", (ANON, "handler_hw", "leader01", CITIZEN), params={"verdict": "accept", **PLAN_REPORT},
        body=_form(code="1")),
    "POST /plans/{plan_id}/tasks/{code}/pause": Access(
        "office01", (ANON, "handler_hw", "leader01", CITIZEN), body=_form(reason="雨季停工"), params=TASK),
    "POST /plans/{plan_id}/tasks/{code}/resume": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN),
                                                        params=TASK),
    "GET /my-tasks": Access("handler_hw", (ANON, "inspector01", CITIZEN)),
    "GET /supervision": Access("handler_hw", (ANON, "inspector01", CITIZEN)),
    "POST /supervision": Access("office01", (ANON, "handler_hw", "leader01", CITIZEN),
                                body=_form(title="督办", content="请加快", unit_code="U-HW")),
    "GET /supervision/{order_id}": Access("handler_hw", (ANON, "handler_zf", "inspector01", CITIZEN)),
    "GET /supervision/{order_id}/notice.docx": Access("handler_hw", (ANON, "handler_zf", "inspector01", CITIZEN)),
    "POST /supervision/{order_id}/{step}": Access(
        "office01", (ANON, "handler_hw", "handler_zf", CITIZEN), params={"step": "accept"}),
    # administration: administrators only
    "GET /admin": Access("admin01", ADMIN_ONLY),
    "GET /admin/users": Access("admin01", ADMIN_ONLY),
    "POST /admin/users": Access("admin01", ADMIN_ONLY, body=_form(
        login="handler_new", name="新处置员", role="handler", unit="U-HW",
        password="another-horse-7")),
    "GET /admin/users/{login}": Access("admin01", ADMIN_ONLY),
    "POST /admin/users/{login}": Access("admin01", ADMIN_ONLY, body=_form(
        name="孙执法", role="handler", unit="U-ZF")),
    "POST /admin/users/{login}/password": Access("admin01", ADMIN_ONLY,
                                                 body=_form(password="another-horse-7")),
    "POST /admin/users/{login}/disable": Access("admin01", ADMIN_ONLY),
    "POST /admin/users/{login}/enable": Access("admin01", ADMIN_ONLY),
    "GET /admin/rules": Access("admin01", ADMIN_ONLY),
    "GET /admin/rules/coverage": Access("admin01", ADMIN_ONLY),
    "POST /admin/rules/import": Access("admin01", ADMIN_ONLY),
    "POST /admin/rules/delete": Access("admin01", ADMIN_ONLY, body=_form(
        scope="matter", category="06012", region_code="370181", unit_code="U-HW")),
    "GET /admin/units": Access("admin01", ADMIN_ONLY),
    "POST /admin/units/import": Access("admin01", ADMIN_ONLY),
    "GET /admin/categories": Access("admin01", ADMIN_ONLY),
    "POST /admin/categories/import": Access("admin01", ADMIN_ONLY),
    "GET /admin/geodata": Access("admin01", ADMIN_ONLY),
    "POST /admin/geodata/regions": Access("admin01", ADMIN_ONLY),
    "POST /admin/geodata/components": Access("admin01", ADMIN_ONLY),
    "GET /admin/calendar": Access("admin01", ADMIN_ONLY),
    "POST /admin/calendar": Access("admin01", ADMIN_ONLY, body=_form(day="2026-10-24",
                                                                     kind="holiday")),
    "GET /admin/calendar/import": Access("admin01", ADMIN_ONLY),
    "GET /admin/calendar/template.csv": Access("admin01", ADMIN_ONLY),
    "POST /admin/calendar/import": Access("admin01", ADMIN_ONLY),
    "GET /admin/permissions": Access("admin01", ADMIN_ONLY),
    "POST /admin/permissions": Access("admin01", ADMIN_ONLY),
    "GET /admin/weights": Access("admin01", ADMIN_ONLY),
}


# --- the route table ------------------------------------------------------------------------


def app_routes() -> list[str]:
    """"METHOD /path" of every route of the application (HEAD is GET's twin)."""
    app = create_app(Settings(secret_key="route-walk"), engine=create_engine("sqlite://"),
                     migrate=False)
    found: list[str] = []
    for route in iter_route_contexts(app.routes):
        found += [f"{m} {route.path}" for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def _exempt(key: str) -> bool:
    path = key.split(" ", 1)[1]
    return key in EXEMPT or any(path == p or path.startswith(p + "/") or path.startswith(p + ".")
                                for p in EXEMPT_PREFIXES)


ROUTES = app_routes()
WALKED = [k for k in ROUTES if not _exempt(k)]


def undeclared(routes: list[str]) -> list[str]:
    """The routes (not exempt) that have no access rule."""
    return [k for k in routes if not _exempt(k) and k not in ACCESS]


def test_every_route_declares_its_access_rule() -> None:
    missing = undeclared(ROUTES)
    assert not missing, f"routes without an access rule (add them to ACCESS): {missing}"


def test_a_new_route_without_a_rule_is_caught() -> None:
    new = ["GET /api/v1/orders/{order_id}", "POST /orders/{order_id}/photos"]
    assert undeclared([*ROUTES, *new, "GET /public/orders", "GET /open311/v2/x.json"]) == new


def test_every_entry_of_the_table_is_a_route() -> None:
    stale = sorted(set(ACCESS) - set(WALKED))
    assert not stale, f"entries of ACCESS (or EXEMPT) for routes the app no longer has: {stale}"
    assert not sorted(set(EXEMPT) - set(ROUTES)), "EXEMPT names routes the app does not have"


# --- the city the walk runs in --------------------------------------------------------------


def jpeg(colour: tuple[int, int, int] = (120, 160, 90)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@dataclass
class World:
    api: Api
    values: dict[str, str]
    version: int

    @property
    def client(self) -> Any:
        return self.api.client


def _token_id(api: Api, login: str) -> str:
    """A second token of ``login`` (the one the walk uses stays valid)."""
    with transaction(api.engine) as session:
        accounts.issue_token(session, login, NOW)
        return str(max(t.id for t in accounts.list_tokens(session, login)))


def _unit_notice(api: Api, case_no: str) -> str:
    with transaction(api.engine) as session:
        raise_once(session, Notice.on_case(NOW, NoticeKind.WARNING, case_no, 1, "U-HW",
                                           Audience.UNIT, "即将超期"))
        return str(session.execute(select(func.max(notifications.c.id))).scalar_one())


def _held_case(api: Api) -> str:
    """The scenario's overdue case: held by U-HW, in grid 003 (inspector02 posts in 001 only)."""
    category, cell, source, at, steps = PLAN["overdue"]
    case_no = report_one(api.engine, category, cell, source, local(at))
    for action, when, fields in steps:
        act(api.engine, case_no, action, when, ACTORS[STEP_ACTOR[action]], **fields)
    return case_no


def _upload(api: Api, colour: tuple[int, int, int]) -> str:
    photo = api.client.post("/api/v1/photos", headers=api.auth("inspector01"),
                            files={"file": ("scene.jpg", jpeg(colour), "image/jpeg")})
    assert photo.status_code == 201, photo.text
    return str(photo.json()["photo_id"])


def _evaluation(api: Api) -> dict[str, str]:
    """A standard of one item, a point in grid 003 and an open round sampling it."""
    with transaction(api.engine) as session:
        item = Item(("干净",), "路面有垃圾", Fraction(4), DeductionRule.PER_OCCURRENCE, Fraction(1),
                    frozenset(), "06010")
        standard_id = evaluation_store.save_standard(session, Standard("测试标准", 2026, (item,)), NOW, None)
        lon, lat = center(0, 2)
        evaluation.save_point(session, load_city(session), evaluation.PointInput(
            "P1", "测试路", "主次干道", Point(lon, lat)), EvaluationSettings())
        round_id = evaluation.plan_round(session, standard_id, "2026-10", 1, 1, (), NOW, None)
        return {"standard_id": str(standard_id), "round_id": str(round_id),
                "point_id": str(evaluation.list_points(session)[0].id),
                "item_id": str(evaluation.get_standard(session, standard_id).items[0].id)}


def _case_photo(api: Api) -> str:
    """A photo reported with a case in grid 003 (seen by the center and inspector01 only)."""
    headers = api.auth("inspector01")
    photo_id = _upload(api, (120, 160, 90))
    lon, lat = center(0, 2)
    case = api.client.post("/api/v1/cases", headers=headers, json={
        "category_code": "06010", "lon": lon, "lat": lat, "photos": [photo_id]})
    assert case.status_code == 201, case.text
    return photo_id


def _programme(api: Api) -> dict[str, str]:
    """A key project led by U-HW with a pending progress report, and a legacy issue of U-HW."""
    office, unit = api.auth("office01"), api.auth("handler_hw")
    project = api.client.post("/api/v1/projects", headers=office, json=PROJECT)
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    report = api.client.post(f"/api/v1/projects/{project_id}/progress", headers=unit,
                             json={"percent": 10})
    assert report.status_code == 201, report.text
    issue = api.client.post("/api/v1/legacy-issues", headers=office, json=LEGACY_ISSUE)
    assert issue.status_code == 201, issue.text
    return {"project_id": str(project_id), "report_id": str(report.json()["id"]),
            "issue_id": str(issue.json()["id"])}


def _survey(api: Api) -> str:
    """An open survey of the street, without answers."""
    created = api.client.post("/api/v1/surveys", headers=api.auth("leader01"), json={
        "title": "街道满意度调查", "region_code": "370181001",
        "questions": [{"kind": "scale", "text": "街面整洁"}]})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _plan_world(api: Api) -> dict[str, str]:
    """A plan with task 1 led by U-HW (a progress report waiting for the office) and an order
    to U-HW with a reply waiting for the office."""
    office = Principal("office01", Role.OFFICE)
    hw = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
    with transaction(api.engine) as session:
        city = load_city(session)
        plan_id = plans_store.insert_plan(session, "双十专项行动", NOW.date(), "office01", NOW)
        plans_store.insert_task(session, {
            "plan_id": plan_id, "code": "1", "title": "背街小巷整治", "content": "", "lead_unit": "U-HW",
            "start_date": NOW.date(), "deadline_date": NOW.date() + timedelta(days=60),
            "due_at": NOW + timedelta(days=61)}, [])
        report_id = plans.report_progress(session, hw, plan_id, "1", NOW, text="进展", percent="10")
        order_id = supervision.issue_order(session, office, city, supervision.OrderInput(
            "加快推进", "请加快", unit_code="U-HW"), NOW)
        supervision.reply(session, hw, city, order_id, "已加快", NOW)
    return {"plan_id": str(plan_id), "task_code": "1", "plan_report_id": str(report_id), "order_id": str(order_id)}


@pytest.fixture
def world(api: Api) -> World:
    """The tiny city with its users (and a public account), a case held by U-HW, a unit
    notification, a photo of a case and one not yet attached; the values of path parameters."""
    api.clock.now = NOW
    with transaction(api.engine) as session:
        accounts.add_user(session, CITIZEN, Role.PUBLIC, NOW)
        api.tokens[CITIZEN] = accounts.issue_token(session, CITIZEN, NOW)
        accounts.add_user(session, "evaluator01", Role.EVALUATOR, NOW)
        api.tokens["evaluator01"] = accounts.issue_token(session, "evaluator01", NOW)
        session.execute(update(users).values(password_hash=CHEAP_HASH))
    case_no = _held_case(api)
    lon, lat = center(0, 2)
    values = {"case_no": case_no, "grid": grid_code(0, 2), "period": "2026-10",
              "subject": "units", "code": "U-HW", "login": "handler_zf", "lon": str(lon),
              "lat": str(lat), "token_id": _token_id(api, "handler_hw"),
              "notification_id": _unit_notice(api, case_no), "photo_id": _case_photo(api),
              "loose_photo_id": _upload(api, (30, 60, 200)), **_programme(api),
              **_plan_world(api), "survey_id": _survey(api), **_evaluation(api)}
    version = api.client.get(f"/api/v1/cases/{case_no}", headers=api.auth("admin01")).json()
    app = api.client.app
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": SCRAPER_TOKEN})
    return World(api, values, int(version["version"]))


# --- walking --------------------------------------------------------------------------------


def path_values(w: World, rule: Access) -> dict[str, str]:
    """The values of path parameters (and of ``{name}`` in ``params`` and ``query``)."""
    values = dict(w.values)
    values.update({k: v.format_map(values) for k, v in rule.params.items()})
    return values


def _sign_in(w: World, login: str) -> dict[str, str]:
    """A browser session of ``login`` (cookies in the client); its CSRF header."""
    client = w.client
    client.cookies.clear()
    if login == ANON:
        return {}
    signed = client.post("/api/v1/auth/login", data={"username": login, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return {"X-CSRF-Token": signed.json()["csrf_token"]}


def call(w: World, key: str, rule: Access, login: str) -> httpx.Response:
    method, template = key.split(" ", 1)
    values = path_values(w, rule)
    try:
        url = template.format_map(values)
        if rule.query:
            url += "?" + rule.query.format_map(values)
    except KeyError as exc:
        pytest.fail(f"{key}: no value for {exc}: give it in the entry's params (or in world())")
    if login == SCRAPER:
        w.client.cookies.clear()
        headers = {"Authorization": f"Bearer {SCRAPER_TOKEN}"}
    elif template.startswith(BEARER_PATHS):
        w.client.cookies.clear()
        headers = {} if login == ANON else w.api.auth(login)
    else:
        headers = _sign_in(w, login)
    extra = rule.body(w) if rule.body else {}
    return w.client.request(method, url, headers=headers, follow_redirects=False, **extra)


def _what(key: str, login: str, response: httpx.Response) -> str:
    return f"{key} as {login}: {response.status_code} {response.text[:300]}"


def assert_let_through(key: str, login: str, response: httpx.Response) -> None:
    status = response.status_code
    if key.startswith("GET "):
        assert status == 200, _what(key, login, response)
        return
    assert status in WRITE_THROUGH, _what(key, login, response)
    if status == 303:
        assert not response.headers["location"].startswith("/login"), _what(key, login, response)


def assert_refused(key: str, login: str, response: httpx.Response) -> None:
    status, api = response.status_code, key.split(" ", 1)[1].startswith(BEARER_PATHS)
    if login == ANON and api:
        assert status == 401, _what(key, login, response)
    elif login == ANON:
        assert status == 303 and response.headers["location"].startswith("/login"), \
            _what(key, login, response)
    else:
        assert status in REFUSED, _what(key, login, response)
        assert not any(m in response.text for m in CSRF_REFUSALS), _what(key, login, response)


@pytest.mark.parametrize("key", WALKED)
def test_route_is_open_in_scope_and_refused_out_of_scope(world: World, key: str) -> None:
    rule = ACCESS.get(key)
    assert rule is not None, (
        f"route {key} has no access rule: add it to ACCESS in {__name__} "
        "(a principal in scope, principals out of scope), or to EXEMPT with a reason")
    assert_let_through(key, rule.ok, call(world, key, rule, rule.ok))
    for login in rule.refused:
        assert_refused(key, login, call(world, key, rule, login))


def test_the_walk_catches_a_route_that_does_not_check_access(world: World) -> None:
    """A route that answers whoever asks (here: a case's number to any signed-in user) fails
    the walk for the principal out of scope."""
    key, rule = "GET /api/v1/unchecked/{case_no}", Access("handler_hw", ("handler_zf",))

    def unchecked(case_no: str) -> dict[str, str]:
        return {"case_no": case_no}

    world.client.app.add_api_route("/api/v1/unchecked/{case_no}", unchecked)
    assert_let_through(key, rule.ok, call(world, key, rule, rule.ok))
    with pytest.raises(AssertionError, match="as handler_zf: 200"):
        assert_refused(key, "handler_zf", call(world, key, rule, "handler_zf"))
