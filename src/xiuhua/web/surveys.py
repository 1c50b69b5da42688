"""问卷调查: the list of surveys, the editor (center, leaders, office, admins), the results of a
survey (the tally per question and every answer with its score: what the ``survey`` source
counts), an evaluator's interview entry, and the public answer page under ``/public/surveys``
(no sign-in; one answer per device, a random cookie; rate-limited per client address).

Everything goes through :mod:`xiuhua.services.surveys`, under the rules of ``domain.access``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from xiuhua.domain.access import Principal, enters_interviews, manages_surveys
from xiuhua.domain.choices import QuestionKind, RegionLevel
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, TooManyRequests
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.services import ratelimit
from xiuhua.services import surveys as service
from xiuhua.web.pages import PageRoute, check_csrf, flash, page_for, render, see_other
from xiuhua.web.report import text_fields

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SurveysUser = Annotated[Principal, page_for("/surveys")]
SurveyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DEVICE_COOKIE = "xh_device"
DEVICE_MAX_AGE = 2 * 365 * 86_400
SURVEY_BUCKET = "survey:"
EDITOR_ROWS = 12  # question rows the editor offers
OPTION_SEPARATOR = "/"
NO_COOKIE = "请允许浏览器保存 Cookie 后重新提交（用于防止重复填写，不含个人信息）"


# --- list, editor ---------------------------------------------------------------------------


def streets(city: City) -> list[tuple[str, str]]:
    return sorted((r.code, r.name) for r in city.regions.values() if r.level is RegionLevel.STREET)


@router.get("/surveys")
def survey_list(request: Request, session: SessionDep, city: CityDep, user: SurveysUser) -> Response:
    service.may_see(user)
    return render(request, "surveys/list.html", {
        "title": "问卷调查", "surveys": service.list_surveys(session, city), "manages": manages_surveys(user)})


def editor_rows(view: service.SurveyView | None) -> list[dict[str, str]]:
    found = [{"kind": q.kind.value, "text": q.text, "options": OPTION_SEPARATOR.join(q.options)}
             for q in (view.questions if view else ())]
    return found + [{"kind": "", "text": "", "options": ""}] * max(0, EDITOR_ROWS - len(found))


def editor(request: Request, city: City, view: service.SurveyView | None, values: Mapping[str, Any] | None = None,
           error: str | None = None, status_code: int = 200) -> Response:
    rows = editor_rows(view) if values is None else _rows(values)
    return render(request, "surveys/edit.html", {
        "title": "编辑问卷" if view else "新建问卷", "survey": view, "streets": streets(city), "rows": rows,
        "kinds": [(k.value, k.label) for k in QuestionKind], "error": error,
        "form": values or ({"title": view.title, "region_code": view.region_code, "active": view.active}
                           if view else {"active": True}),
        "separator": OPTION_SEPARATOR}, status_code=status_code)


def _rows(values: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"kind": values.get(f"q{i}.kind", ""), "text": values.get(f"q{i}.text", ""),
             "options": values.get(f"q{i}.options", "")} for i in range(1, EDITOR_ROWS + 1)]


def survey_input(values: Mapping[str, str]) -> service.SurveyInput:
    """The editor's form as the service's input: the rows with a question text, in order."""
    questions = [{"kind": r["kind"] or QuestionKind.SCALE.value, "text": r["text"],
                  "options": [o.strip() for o in r["options"].split(OPTION_SEPARATOR) if o.strip()]}
                 for r in _rows(values) if r["text"].strip()]
    return service.SurveyInput(values.get("title", ""), values.get("region_code", ""), questions,
                               values.get("active") == "on")


@router.get("/surveys/answers")
def answers_behind(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: SurveysUser,
                   unit: Annotated[str, Query(max_length=32)],
                   period: Annotated[str, Query(max_length=20)]) -> Response:
    """The answers behind a unit's 问卷调查 figure of the assessment (its drill-down)."""
    found = service.answers_behind(session, city, user, unit, period, now)
    return render(request, "surveys/answers.html", {
        "title": "问卷调查明细", "found": found, "unit_name": city.units[unit].name if unit in city.units else unit})


@router.get("/surveys/new")
def new_survey(request: Request, city: CityDep, user: SurveysUser) -> Response:
    service.may_manage(user)
    return editor(request, city, None)


@router.post("/surveys/new")
async def create_survey(request: Request, session: SessionDep, city: CityDep, now: NowDep,
                        user: SurveysUser) -> Response:
    service.may_manage(user)
    values = text_fields(await request.form())
    try:
        view = await run_in_threadpool(service.create_survey, session, city, user, survey_input(values), now,
                                       client_address(request))
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        return editor(request, city, None, values, exc.message, 422)
    flash(request, f"已新建问卷“{view.title}”")
    return see_other(f"/surveys/{view.id}")


@router.get("/surveys/{survey_id}/edit")
def edit_survey(request: Request, session: SessionDep, city: CityDep, user: SurveysUser,
                survey_id: SurveyId) -> Response:
    service.may_manage(user)
    return editor(request, city, service.get_survey(session, city, survey_id))


@router.post("/surveys/{survey_id}/edit")
async def save_survey(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: SurveysUser,
                      survey_id: SurveyId) -> Response:
    service.may_manage(user)
    values = text_fields(await request.form())
    try:
        view = await run_in_threadpool(service.update_survey, session, city, user, survey_id,
                                       survey_input(values), now, client_address(request))
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        before = await run_in_threadpool(service.get_survey, session, city, survey_id)
        return editor(request, city, before, values, exc.message, 422)
    flash(request, f"已保存问卷“{view.title}”")
    return see_other(f"/surveys/{view.id}")


# --- results and interviews ----------------------------------------------------------------


def results_page(request: Request, session: Session, city: City, user: Principal, survey_id: int,
                 period: str | None, error: str | None = None, status_code: int = 200) -> Response:
    found = service.results(session, city, user, survey_id, period or None)
    return render(request, "surveys/results.html", {
        "title": found.survey.title, "found": found, "period": period or "", "error": error,
        "manages": manages_surveys(user), "interviews": enters_interviews(user) and found.survey.active,
        "public_url": f"/public/surveys/{survey_id}", "kinds": QuestionKind}, status_code=status_code)


@router.get("/surveys/{survey_id}")
def survey_results(request: Request, session: SessionDep, city: CityDep, user: SurveysUser, survey_id: SurveyId,
                   period: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """The results (in a period, or all): the tally per question and every answer with its score."""
    return results_page(request, session, city, user, survey_id, period)


@router.post("/surveys/{survey_id}/answers")
async def interview(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: SurveysUser,
                    survey_id: SurveyId) -> Response:
    """An evaluator's street interview, entered as one answer."""
    values = answer_values(text_fields(await request.form()))
    try:
        await run_in_threadpool(service.answer_interview, session, city, user, survey_id, values, now,
                                client_address(request))
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        if exc.code == "permission_denied":
            raise
        return results_page(request, session, city, user, survey_id, None, exc.message, 422)
    flash(request, "已录入一份访问问卷")
    return see_other(f"/surveys/{survey_id}")


def answer_values(form: Mapping[str, str]) -> dict[str, str]:
    """The form's answers (fields ``a1``, ``a2`` …) by question number."""
    return {key[1:]: value for key, value in form.items() if key.startswith("a") and key[1:].isdigit() and value}


# --- the public answer page -----------------------------------------------------------------


def public_page(request: Request, view: service.SurveyView | None, done: bool, values: Mapping[str, str],
                error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "surveys/public.html", {
        "title": view.title if view else "问卷调查", "survey": view, "done": done, "values": values,
        "error": error, "kinds": QuestionKind}, status_code=status_code)


def with_device(request: Request, response: Response) -> Response:
    """A device cookie (random, no personal data) for a browser that has none."""
    if not request.cookies.get(DEVICE_COOKIE):
        response.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(24), max_age=DEVICE_MAX_AGE, httponly=True,
                            samesite="lax", secure=request.url.scheme == "https", path="/public/surveys")
    return response


@router.get("/public/surveys")
def public_list(request: Request, session: SessionDep, city: CityDep) -> Response:
    found = [v for v in service.list_surveys(session, city) if v.active]
    return render(request, "surveys/public_list.html", {"title": "问卷调查", "surveys": found})


@router.get("/public/surveys/{survey_id}")
def public_form(request: Request, session: SessionDep, city: CityDep, survey_id: SurveyId) -> Response:
    view = service.open_survey(session, city, survey_id)
    done = service.already_answered(session, survey_id, request.cookies.get(DEVICE_COOKIE))
    return with_device(request, public_page(request, view, done, {}))


@router.post("/public/surveys/{survey_id}")
async def public_answer(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
                        now: NowDep, survey_id: SurveyId) -> Response:
    """A citizen's answer: once per device, counted against the public rate limit."""
    await check_csrf(request)
    form = text_fields(await request.form())
    device = request.cookies.get(DEVICE_COOKIE)
    limited = None
    if device:  # counted in its own transaction, before this request's write transaction begins
        try:
            await run_in_threadpool(ratelimit.check, request.app.state.engine,
                                    SURVEY_BUCKET + client_address(request), now, settings.public_rate_limit,
                                    settings.public_rate_window_seconds)
        except TooManyRequests as exc:
            limited = exc.message
    view = await run_in_threadpool(service.open_survey, session, city, survey_id)
    if not device:
        return with_device(request, public_page(request, view, False, form, NO_COOKIE, 422))
    if limited:
        return public_page(request, view, False, form, limited, 429)
    try:
        await run_in_threadpool(_answer, session, city, survey_id, answer_values(form), device, now)
    except DomainError as exc:
        await run_in_threadpool(session.rollback)
        done = exc.code == "already_answered"
        return public_page(request, view, done, form, exc.message, 409 if done else 422)
    flash(request, "提交成功，感谢您的参与！")
    return see_other(f"/public/surveys/{survey_id}")


def _answer(session: Session, city: City, survey_id: int, values: dict[str, str], device: str,
            now: datetime) -> None:
    service.answer_public(session, city, survey_id, values, device, now)
    session.commit()
