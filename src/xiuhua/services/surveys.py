"""Use cases of surveys (问卷调查): create and edit a street's questionnaire, answer it (the
public page, one answer per device; an evaluator's street interview), its results, and the
answer scores of a period by evaluated unit for the ``survey`` score source
(:func:`period_scores`, loaded by :mod:`xiuhua.services.assessment`).

The public answers carry no personal data: the device is the SHA-256 of a random cookie."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal, enters_interviews, manages_surveys, sees_surveys
from xiuhua.domain.assessment import Period
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import AnswerChannel, QuestionKind, RegionLevel, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.errors import ActionRefused, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.surveys import (
    Question,
    answer_score,
    check_answer,
    mean,
    questions,
)
from xiuhua.services.accounts import audit
from xiuhua.store import surveys as store


@dataclass(frozen=True)
class SurveyInput:
    title: str
    region_code: str
    questions: list[Any]  # JSON form: [{"kind", "text", "options"}]
    active: bool = True


@dataclass(frozen=True)
class SurveyView:
    id: int
    title: str
    region_code: str
    region_name: str
    unit_code: str | None  # the evaluated unit: the street's office
    questions: tuple[Question, ...]
    active: bool
    answers: int

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "region_code": self.region_code,
                "region_name": self.region_name, "unit_code": self.unit_code, "active": self.active,
                "answers": self.answers, "questions": [q.as_json() for q in self.questions]}


def device_hash(token: str) -> str:
    """What is stored of a device cookie: its SHA-256 (the cookie itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def street_unit(city: City, region_code: str) -> str | None:
    """The evaluated unit of a street: its active street office."""
    return next((u.code for u in sorted(city.units.values(), key=lambda u: u.code)
                 if u.active and u.kind == UnitKind.STREET_OFFICE and u.region_code == region_code), None)


def _view(city: City, row: Any, answers: int) -> SurveyView:
    region = city.regions.get(row.region_code)
    return SurveyView(row.id, row.title, row.region_code, region.name if region else row.region_code,
                      street_unit(city, row.region_code), questions(row.questions), bool(row.active), answers)


def may_see(user: Principal) -> None:
    if not sees_surveys(user):
        raise PermissionDenied(f"问卷调查不对{user.role.label}开放", code="permission_denied")


def may_manage(user: Principal) -> None:
    if not manages_surveys(user):
        raise PermissionDenied(f"{user.role.label}无权编辑问卷", code="permission_denied")


def list_surveys(session: Session, city: City) -> list[SurveyView]:
    counts = store.answer_counts(session)
    return [_view(city, row, counts.get(row.id, 0)) for row in store.all_surveys(session)]


def get_survey(session: Session, city: City, survey_id: int) -> SurveyView:
    row = store.survey(session, survey_id)
    if row is None:
        raise NotFound(f"问卷 {survey_id} 不存在", code="survey_not_found")
    return _view(city, row, store.answer_counts(session, [survey_id]).get(survey_id, 0))


def open_survey(session: Session, city: City, survey_id: int) -> SurveyView:
    """A survey open for answers (a closed one is answered as if it did not exist)."""
    found = get_survey(session, city, survey_id)
    if not found.active:
        raise NotFound(f"问卷 {survey_id} 不存在或已结束", code="survey_not_found")
    return found


def _checked(city: City, data: SurveyInput) -> dict[str, Any]:
    title = data.title.strip() if isinstance(data.title, str) else ""
    if not title or len(title) > 200:
        raise InvalidInput("问卷须有标题（不超过 200 字）", code="invalid_survey")
    region = city.regions.get(data.region_code)
    if region is None or region.level is not RegionLevel.STREET:
        raise InvalidInput(f"“{data.region_code}”不是街道（开发区）", code="invalid_survey")
    return {"title": title, "region_code": region.code,
            "questions": [q.as_json() for q in questions(data.questions)], "active": bool(data.active)}


def create_survey(session: Session, city: City, user: Principal, data: SurveyInput, at: datetime,
                  client: str | None = None) -> SurveyView:
    may_manage(user)
    row = {**_checked(city, data), "created_by": user.login, "created_at": at, "updated_at": at}
    survey_id = store.insert_survey(session, row)
    audit(session, at, user.login, "survey_create", str(survey_id),
          {k: row[k] for k in ("title", "region_code", "active")}, client)
    return get_survey(session, city, survey_id)


def update_survey(session: Session, city: City, user: Principal, survey_id: int, data: SurveyInput,
                  at: datetime, client: str | None = None) -> SurveyView:
    """Edit a survey; its questions and street are fixed once it has answers (they would mean
    something else), its title and whether it is open are not."""
    may_manage(user)
    before = get_survey(session, city, survey_id)
    values = _checked(city, data)
    changed = (values["questions"] != [q.as_json() for q in before.questions]
               or values["region_code"] != before.region_code)
    if before.answers and changed:
        raise ActionRefused(f"问卷已有 {before.answers} 份答卷，题目和街道不能再改（可结束本问卷，另建新问卷）",
                            code="survey_answered")
    store.update_survey(session, survey_id, {**values, "updated_at": at})
    audit(session, at, user.login, "survey_update", str(survey_id),
          {k: values[k] for k in ("title", "region_code", "active")}, client)
    return get_survey(session, city, survey_id)


# --- answers --------------------------------------------------------------------------------


def answer_public(session: Session, city: City, survey_id: int, values: Mapping[str, Any], device: str,
                  at: datetime) -> int:
    """A citizen's answer from the public page: once per device (``device``: the cookie)."""
    found = open_survey(session, city, survey_id)
    checked = check_answer(found.questions, values)
    answer_id = store.insert_answer(session, {
        "survey_id": survey_id, "at": at, "channel": AnswerChannel.PUBLIC.value,
        "device": device_hash(device), "entered_by": None, "answer_values": checked})
    if answer_id is None:
        raise ActionRefused("本设备已填写过这份问卷，感谢参与", code="already_answered")
    return answer_id


def already_answered(session: Session, survey_id: int, device: str | None) -> bool:
    return bool(device) and store.has_device_answer(session, survey_id, device_hash(device or ""))


def answer_interview(session: Session, city: City, user: Principal, survey_id: int,
                     values: Mapping[str, Any], at: datetime, client: str | None = None) -> int:
    """An answer an evaluator (考评员) took down in a street interview; audited."""
    if not enters_interviews(user):
        raise PermissionDenied(f"{user.role.label}无权录入访问问卷", code="permission_denied")
    found = open_survey(session, city, survey_id)
    checked = check_answer(found.questions, values)
    answer_id = store.insert_answer(session, {
        "survey_id": survey_id, "at": at, "channel": AnswerChannel.INTERVIEW.value, "device": None,
        "entered_by": user.login, "answer_values": checked})
    assert answer_id is not None  # no device: the unique constraint does not apply
    audit(session, at, user.login, "survey_interview", str(survey_id), {"answer": answer_id}, client)
    return answer_id


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    id: int
    at: datetime
    channel: AnswerChannel
    score: Fraction
    values: Mapping[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.astimezone(local_zone()).isoformat(),
                "channel": self.channel.value, "score": float(self.score), "values": dict(self.values)}


@dataclass(frozen=True)
class QuestionResult:
    number: int
    question: Question
    counts: tuple[tuple[str, int], ...]  # choice: by option; scale: by value 1–5
    mean: Fraction | None  # scaled 0–100 (text: None)
    texts: tuple[str, ...]  # text: the latest answers

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, **self.question.as_json(), "counts": dict(self.counts),
                "mean": float(self.mean) if self.mean is not None else None, "texts": list(self.texts)}


@dataclass(frozen=True)
class SurveyResults:
    survey: SurveyView
    period: str | None
    answers: tuple[AnswerRow, ...]
    questions: tuple[QuestionResult, ...]

    @property
    def score(self) -> Fraction | None:
        return mean(a.score for a in self.answers)

    def as_json(self) -> dict[str, Any]:
        score = self.score
        return {"survey": self.survey.as_json(), "period": self.period, "count": len(self.answers),
                "score": float(score) if score is not None else None,
                "questions": [q.as_json() for q in self.questions],
                "answers": [a.as_json() for a in self.answers]}


MAX_TEXTS = 50


def _question_result(number: int, q: Question, answers: Sequence[AnswerRow]) -> QuestionResult:
    given = [a.values[str(number)] for a in answers if str(number) in a.values]
    if q.kind is QuestionKind.TEXT:
        return QuestionResult(number, q, (), None, tuple(reversed(given))[:MAX_TEXTS])
    keys = list(q.options) if q.kind is QuestionKind.CHOICE else [str(v) for v in range(1, 6)]
    tally = Counter(str(v) for v in given)
    return QuestionResult(number, q, tuple((k, tally[k]) for k in keys),
                          mean(s for v in given if (s := q.scaled(v)) is not None), ())


def _answer_rows(found: SurveyView, rows: Sequence[Any]) -> tuple[AnswerRow, ...]:
    return tuple(AnswerRow(r.id, r.at, AnswerChannel(r.channel), answer_score(found.questions, r.answer_values),
                           r.answer_values) for r in rows)


def results(session: Session, city: City, user: Principal, survey_id: int,
            period_text: str | None = None) -> SurveyResults:
    """A survey's answers (in a period, or all), each with its score, and the tally per question."""
    may_see(user)
    found = get_survey(session, city, survey_id)
    period = Period.parse(period_text) if period_text else None
    rows = store.answers(session, [survey_id], period.start if period else None, period.end if period else None)
    answered = _answer_rows(found, rows)
    return SurveyResults(found, period.label if period else None, answered,
                         tuple(_question_result(i, q, answered) for i, q in enumerate(found.questions, 1)))


# --- the survey score source ----------------------------------------------------------------


def unit_answers(session: Session, city: City, start: datetime,
                 end: datetime) -> dict[str, list[tuple[int, AnswerRow]]]:
    """(survey id, answer) in [start, end) by evaluated unit (the street office of the survey's street)."""
    views = {v.id: v for v in list_surveys(session, city)}
    found: dict[str, list[tuple[int, AnswerRow]]] = defaultdict(list)
    for view in views.values():
        if view.unit_code is None:
            continue
        rows = store.answers(session, [view.id], start, end)
        found[view.unit_code] += [(view.id, a) for a in _answer_rows(view, rows)]
    return found


@dataclass(frozen=True)
class UnitAnswers:
    """The answers behind a unit's ``survey`` figure in a period: exactly those the source counted."""

    unit_code: str
    period: str
    surveys: Mapping[int, str]  # survey id -> title
    answers: tuple[tuple[int, AnswerRow], ...]  # (survey id, answer), oldest first

    @property
    def score(self) -> Fraction | None:
        return mean(a.score for _, a in self.answers)


def answers_behind(session: Session, city: City, user: Principal, unit_code: str, period_text: str,
                   at: datetime | None = None) -> UnitAnswers:
    """The drill-down of a unit's survey figure: the answers of the period (up to ``at`` while it runs)."""
    may_see(user)
    period = Period.parse(period_text)
    found = unit_answers(session, city, period.start, period.cutoff(at)).get(unit_code, [])
    titles = {v.id: v.title for v in list_surveys(session, city) if v.unit_code == unit_code}
    ordered = tuple(sorted(found, key=lambda p: (p[1].at, p[1].id)))
    return UnitAnswers(unit_code, period.label, titles, ordered)


def period_scores(session: Session, city: City, period: Period,
                  at: datetime | None = None) -> dict[str, tuple[Fraction, ...]]:
    """The answer scores of the period (up to ``at`` while it runs) by evaluated unit: what the
    ``survey`` source reads as ``unit.loaded["survey"]``."""
    found = unit_answers(session, city, period.start, period.cutoff(at))
    return {unit: tuple(a.score for _, a in rows) for unit, rows in found.items()}


# --- demo data ------------------------------------------------------------------------------

DEMO_QUESTIONS: list[dict[str, Any]] = [
    {"kind": "choice", "text": "您觉得街道路面和公共场所是否干净整洁？",
     "options": ["很干净", "比较干净", "一般", "不太干净", "很脏乱"]},
    {"kind": "scale", "text": "您对沿街商铺经营秩序（占道经营、店外经营）的满意程度"},
    {"kind": "scale", "text": "您对反映问题后处理速度的满意程度"},
    {"kind": "choice", "text": "近一个月您是否见过暴露垃圾、积存垃圾？", "options": ["没有", "偶尔", "经常"]},
    {"kind": "text", "text": "您对本街道城市管理的意见和建议"},
]
DEMO_SUGGESTIONS = ("希望增加垃圾桶", "夜市油烟较大", "共享单车乱停放", "人行道有破损", "绿化养护很好", "")
DEMO_SHORT = 12  # answers a month of the one street left below the minimum


def _demo_values(rng: Any, quality: float) -> dict[str, Any]:
    def pick(n: int) -> int:  # 0 (best) … n − 1, better with quality
        return min(n - 1, max(0, round(rng.gauss((1 - quality) * (n - 1), 0.9))))

    return {"1": DEMO_QUESTIONS[0]["options"][pick(5)], "2": 5 - pick(5), "3": 5 - pick(5),
            "4": DEMO_QUESTIONS[3]["options"][pick(3)],
            **({"5": s} if (s := rng.choice(DEMO_SUGGESTIONS)) else {})}


def demo_surveys(session: Session, city: City, seed: int, months: Sequence[Period], until: datetime,
                 evaluator: str) -> int:
    """A survey per street with answers in every month (30–45 a month; the last street only
    ``DEMO_SHORT``, below the default minimum), a tenth of them street interviews. Returns the
    number of answers."""
    import random

    rng = random.Random(f"surveys-{seed}")
    streets = sorted(r.code for r in city.regions.values() if r.level is RegionLevel.STREET)
    rows: list[dict[str, Any]] = []
    created = months[0].start if months else until
    for n, code in enumerate(streets):
        name = city.regions[code].name
        survey_id = store.insert_survey(session, {
            "title": f"{name}城市管理满意度调查", "region_code": code, "questions": DEMO_QUESTIONS, "active": True,
            "created_by": evaluator, "created_at": created, "updated_at": created})
        quality = rng.uniform(0.45, 0.9)
        for month in months:
            span = (min(month.end, until) - month.start).total_seconds()
            count = DEMO_SHORT if n == len(streets) - 1 else rng.randint(30, 45)
            for i in range(count if span > 0 else 0):
                interview = rng.random() < 0.1
                rows.append({"survey_id": survey_id, "at": month.start + timedelta(seconds=rng.uniform(0, span)),
                             "channel": (AnswerChannel.INTERVIEW if interview else AnswerChannel.PUBLIC).value,
                             "device": None if interview else device_hash(f"demo-{seed}-{code}-{month.label}-{i}"),
                             "entered_by": evaluator if interview else None,
                             "answer_values": _demo_values(rng, quality)})
    store.insert_answers(session, rows)
    return len(rows)
