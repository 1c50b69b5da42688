"""考评: standards (the indicator tree), evaluation points (map and list), rounds (planning with
a sample preview, the evaluator's phone page, results with a map of deductions and tables by
street, kind and item). Who sees what follows ``domain.access`` (the API's rules): the pages read
through the same services."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from xiuhua.domain.access import Principal, evaluates, sees_round_results, sees_round_sample, sees_self_evaluation
from xiuhua.domain.assessment import Period
from xiuhua.domain.choices import RoundState
from xiuhua.domain.errors import PermissionDenied
from xiuhua.domain.evaluation import DEFAULT_PER_KIND, Standard
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep
from xiuhua.http.urls import API
from xiuhua.reports import MEDIA_TYPES
from xiuhua.services import evaluation as service
from xiuhua.web.maps import tile_config
from xiuhua.web.pages import PageRoute, flash, page_for, render, see_other

router = APIRouter(route_class=PageRoute, include_in_schema=False)
EvaluationUser = Annotated[Principal, page_for("/evaluation")]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _evaluator(user: Principal) -> None:
    if not evaluates(user):
        raise PermissionDenied("只有考评员和系统管理员可以进行考评检查", code="page_forbidden")


def tree(standard: Standard) -> list[dict[str, Any]]:
    """The items grouped under their headings (nested dicts of name → children / items)."""
    root: dict[str, Any] = {"children": {}, "leaves": []}
    for item in standard.items:
        node = root
        for heading in item.headings:
            node = node["children"].setdefault(heading, {"children": {}, "leaves": []})
        node["leaves"].append(item)

    def flat(node: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        kids = [flat(child, n, depth + 1) for n, child in node["children"].items()]
        points = sum(float(i.points) for i in node["leaves"]) + sum(k["points"] for k in kids)
        return {"name": name, "depth": depth, "children": kids, "leaves": node["leaves"], "points": points}

    return flat(root, standard.name, 0)["children"]


@router.get("/evaluation", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, user: EvaluationUser,
          period: Annotated[str | None, Query(max_length=20)] = None,
          unit: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The rounds; ``period``: those booked into it, ``unit``: results shown for that unit (the
    assessment's drill-down of ``evaluation``)."""
    rounds = service.list_rounds(session, user)
    if period:
        months = set(Period.parse(period).months())
        rounds = [r for r in rounds if r.booked_period in months]
    return render(request, "evaluation/index.html", {
        "period": period or "", "unit": unit or "",
        "title": "考评", "standards": service.list_standards(session), "rounds": rounds,
        "points": len(service.list_points(session)), "evaluator": evaluates(user),
        "states": {s.value: s.label for s in RoundState}, "self_report": sees_self_evaluation(user),
        "sample": {r.id for r in rounds if sees_round_sample(user, RoundState(r.state))},
        "results": {r.id for r in rounds if sees_round_results(user, RoundState(r.state), user.unit_code)}})


@router.get("/evaluation/standards/{standard_id}", response_class=HTMLResponse)
def standard_page(request: Request, session: SessionDep, user: EvaluationUser, standard_id: IdPath) -> Response:
    found = service.get_standard(session, standard_id)
    return render(request, "evaluation/standard.html", {
        "title": found.name, "standard": found, "standard_id": standard_id, "tree": tree(found)})


@router.get("/evaluation/points", response_class=HTMLResponse)
def points_page(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
                user: EvaluationUser) -> Response:
    rows = service.list_points(session)
    kinds: dict[str, int] = defaultdict(int)
    for r in rows:
        kinds[r.kind] += 1
    return render(request, "evaluation/points.html", {
        "title": "测评点位", "rows": rows, "kinds": sorted(kinds.items()), "city": city,
        "config": {"tiles": tile_config(settings), "pointsUrl": f"{API}/evaluation-points"}})


@router.get("/evaluation/rounds/new", response_class=HTMLResponse)
def plan_page(request: Request, session: SessionDep, city: CityDep, user: EvaluationUser,
              standard: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
              period: Annotated[str, Query(max_length=7)] = "",
              seed: Annotated[int | None, Query(ge=0, le=2**62)] = None,
              per_kind: Annotated[int, Query(ge=1, le=1000)] = DEFAULT_PER_KIND) -> Response:
    """Round planning with the sample a seed would draw (evaluators only: it is the secret)."""
    _evaluator(user)
    preview = service.preview_sample(session, seed, per_kind) if seed is not None else None
    return render(request, "evaluation/plan.html", {
        "title": "新建考评检查", "standards": service.list_standards(session), "preview": preview,
        "form": {"standard": standard, "period": period, "seed": seed, "per_kind": per_kind}, "city": city})


@router.post("/evaluation/rounds")
def plan(request: Request, session: SessionDep, now: NowDep, user: EvaluationUser,
         standard: Annotated[int, Form(ge=1, le=2**31 - 1)], period: Annotated[str, Form(max_length=7)],
         seed: Annotated[int, Form(ge=0, le=2**62)],
         per_kind: Annotated[int, Form(ge=1, le=1000)] = DEFAULT_PER_KIND) -> Response:
    round_id = service.plan_round(session, standard, period, seed, per_kind, (), now, user)
    flash(request, f"考评检查已创建，抽取 {service.round_size(session, round_id)} 个点位")
    return see_other(f"/evaluation/rounds/{round_id}")


@router.get("/evaluation/rounds/{round_id}", response_class=HTMLResponse)
def round_page(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
               user: EvaluationUser, round_id: IdPath,
               unit: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """The round's results: a map of deductions, tables by street, unit, kind and item;
    ``unit``: only that unit's points listed."""
    view = service.round_view(session, user, round_id, service.evaluation_settings(settings.data_dir).kind_weights)
    if unit:
        view = replace(view, points=tuple(p for p in view.points if p.unit_code == unit))
    return render(request, "evaluation/round.html", {
        "title": f"考评检查 {view.period}", "view": view, "unit": unit or "", "city": city,
        "evaluator": evaluates(user),
        "config": {"tiles": tile_config(settings), "resultsUrl": f"{API}/rounds/{round_id}/results"}})


@router.get("/evaluation/rounds/{round_id}/walk", response_class=HTMLResponse)
def walk_page(request: Request, session: SessionDep, user: EvaluationUser, round_id: IdPath) -> Response:
    """The evaluator's phone page: point by point, offline-capable (web/static/js/evaluation.js)."""
    _evaluator(user)
    row = service.visible_round(session, user, round_id)
    return render(request, "evaluation/walk.html", {
        "title": f"现场考评 {row.period}", "round": row,
        "config": {"workUrl": f"{API}/rounds/{round_id}/work", "roundUrl": f"{API}/rounds/{round_id}",
                   "photosUrl": f"{API}/photos", "roundId": round_id}})


@router.post("/evaluation/rounds/{round_id}/points")
def add_points(request: Request, session: SessionDep, user: EvaluationUser, round_id: IdPath,
               codes: Annotated[str, Form(max_length=2000)]) -> Response:
    """固定点位: points added to an open round by their codes (separated by spaces or commas)."""
    service.visible_round(session, user, round_id)
    size = service.add_fixed_codes(session, round_id, codes.replace("，", " ").replace(",", " ").split(), user)
    flash(request, f"已添加固定点位，本次检查共 {size} 个点位")
    return see_other(f"/evaluation/rounds/{round_id}")


@router.post("/evaluation/rounds/{round_id}/close")
def close(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: EvaluationUser,
          round_id: IdPath) -> Response:
    service.visible_round(session, user, round_id)
    cases = service.close_round(session, city, round_id, now, user)
    flash(request, f"考评检查已结束，生成整改案件 {len(cases)} 件")
    return see_other(f"/evaluation/rounds/{round_id}")


@router.post("/evaluation/rounds/{round_id}/publish")
def publish(request: Request, session: SessionDep, now: NowDep, user: EvaluationUser, round_id: IdPath) -> Response:
    service.visible_round(session, user, round_id)
    booked = service.publish_round(session, round_id, now, user)
    flash(request, f"考评检查已发布，计入 {booked} 考核")
    return see_other(f"/evaluation/rounds/{round_id}")


@router.get("/evaluation/self-report.docx")
def self_report(session: SessionDep, city: CityDep, settings: SettingsDep, now: NowDep, user: EvaluationUser,
                period: Annotated[str, Query(max_length=20)],
                standard: Annotated[int, Query(ge=1, le=2**31 - 1)]) -> Response:
    """自评价报告 (Word): the period's field evaluation against a standard (city-wide roles)."""
    from xiuhua.reports.self_evaluation import self_evaluation

    found = service.self_evaluation_input(session, settings, city, period, standard, now, user)
    return Response(self_evaluation(found), media_type=MEDIA_TYPES["docx"], headers={
        "Content-Disposition": f'attachment; filename="self-evaluation-{found.period.label}-{standard}.docx"'})
