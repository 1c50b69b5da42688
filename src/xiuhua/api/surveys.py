"""Surveys (问卷调查): a street's questionnaires, their results, and answers entered by an
evaluator from a street interview. Citizens answer on the public page (``/public/surveys/{id}``),
once per device."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep, client_address
from xiuhua.http.problems import problem_responses
from xiuhua.services import surveys as service

router = APIRouter(prefix="/surveys", tags=["问卷调查"])
SurveyId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PeriodQuery = Annotated[str | None, Query(max_length=20, description="考核周期，如 2026-11；不填为全部")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权执行", 404: "问卷不存在",
            422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


class QuestionIn(BaseModel):
    kind: Literal["choice", "scale", "text"] = Field(
        description="choice（单选，选项最好的在前）、scale（1–5 分）、text（文字）")
    text: str = Field(min_length=1, max_length=500)
    options: list[str] = Field(default_factory=list, max_length=10, description="单选题的选项，最好的在前")


class SurveyCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    region_code: str = Field(max_length=15, description="街道（开发区）代码")
    questions: list[QuestionIn] = Field(min_length=1, max_length=50)
    active: bool = Field(True, description="是否开放填写")

    def as_input(self) -> service.SurveyInput:
        return service.SurveyInput(self.title, self.region_code, [q.model_dump() for q in self.questions],
                                   self.active)


SurveyUpdate = SurveyCreate


class AnswerCreate(BaseModel):
    values: dict[str, str | int] = Field(description="按题号（\"1\"、\"2\" …）的回答：单选题为选项文字，"
                                                     "1–5 分题为 1–5，文字题为文字（可不填）")


@router.get("", responses=_problems(401, 403))
def list_surveys(session: SessionDep, city: CityDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Every survey with its street, evaluated unit, questions and number of answers (staff)."""
    service.may_see(user)
    return [v.as_json() for v in service.list_surveys(session, city)]


@router.post("", status_code=201, responses=_problems(401, 403, 422))
def create_survey(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                  body: SurveyCreate) -> dict[str, Any]:
    """A new survey of a street (指挥中心、领导、城管委办公室、管理员)."""
    return service.create_survey(session, city, user, body.as_input(), now, client_address(request)).as_json()


@router.get("/{survey_id}", responses=_problems(401, 403, 404))
def get_survey(session: SessionDep, city: CityDep, user: CurrentUser, survey_id: SurveyId) -> dict[str, Any]:
    service.may_see(user)
    return service.get_survey(session, city, survey_id).as_json()


@router.put("/{survey_id}", responses=_problems(401, 403, 404, 422))
def update_survey(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                  survey_id: SurveyId, body: SurveyUpdate) -> dict[str, Any]:
    """Edit a survey; once it has answers only its title and whether it is open may change."""
    return service.update_survey(session, city, user, survey_id, body.as_input(), now,
                                 client_address(request)).as_json()


@router.get("/{survey_id}/answers", responses=_problems(401, 403, 404, 422))
def list_answers(session: SessionDep, city: CityDep, user: CurrentUser, survey_id: SurveyId,
                 period: PeriodQuery = None) -> dict[str, Any]:
    """The survey's answers (no personal data) with each answer's score (0–100: the mean of its
    scaled answers), the tally per question and the mean score (staff)."""
    return service.results(session, city, user, survey_id, period).as_json()


@router.post("/{survey_id}/answers", status_code=201, responses=_problems(401, 403, 404, 422))
def create_answer(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                  survey_id: SurveyId, body: AnswerCreate) -> dict[str, Any]:
    """An answer taken down in a street interview (考评员; and those who manage surveys)."""
    answer_id = service.answer_interview(session, city, user, survey_id, body.values, now,
                                         client_address(request))
    return {"id": answer_id, "survey_id": survey_id}
