"""Surveys on SQLite and PostgreSQL: a street's questionnaire answered once per device and in
street interviews, its results, and the ``survey`` source in the composite ranking (months,
the year by the mean of its months, the minimum number of answers), and the special-action bonus."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tests.factories import STREET, build_tiny_city, cli_database, local, xiuhua
from xiuhua.domain.access import Principal
from xiuhua.domain.assessment import AssessmentConfig, Period, parse_config
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import ActionRefused, InvalidInput, NotFound, PermissionDenied
from xiuhua.services import assessment
from xiuhua.services import surveys as service
from xiuhua.services.city import load_city
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, survey_answers

LEADER = Principal("leader01", Role.LEADER)
EVALUATOR = Principal("evaluator01", Role.EVALUATOR)
HANDLER = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
QUESTIONS = [{"kind": "choice", "text": "街面是否整洁", "options": ["整洁", "一般", "不整洁"]},
             {"kind": "scale", "text": "总体满意度"}, {"kind": "text", "text": "建议"}]
CONFIG = parse_config('[[sources]]\nname = "cases"\nweight = { street = 0.5, department = 1 }\n'
                      '[[sources]]\nname = "survey"\nweight = { street = 0.5 }\nminimum_answers = 3\n')


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def new_survey(engine: Engine, active: bool = True) -> int:
    with transaction(engine) as session:
        data = service.SurveyInput("测试街道满意度", STREET, QUESTIONS, active)
        return service.create_survey(session, load_city(session), LEADER, data, local("2026-10-01 09:00")).id


def answer(engine: Engine, survey_id: int, device: str, choice: str, scale: int, at: str) -> int:
    with transaction(engine) as session:
        return service.answer_public(session, load_city(session), survey_id, {"1": choice, "2": str(scale)},
                                     device, local(at))


def test_one_answer_per_device_and_interviews_make_the_results(city_engine: Engine) -> None:
    survey_id = new_survey(city_engine)
    answer(city_engine, survey_id, "device-a", "整洁", 5, "2026-10-05 10:00")  # 100
    with pytest.raises(ActionRefused) as twice:
        answer(city_engine, survey_id, "device-a", "不整洁", 1, "2026-10-05 10:01")
    assert twice.value.code == "already_answered"
    answer(city_engine, survey_id, "device-b", "一般", 3, "2026-10-06 10:00")  # 50
    with transaction(city_engine) as session:
        city = load_city(session)
        service.answer_interview(session, city, EVALUATOR, survey_id, {"1": "不整洁", "2": "2", "3": "多扫"},
                                 local("2026-11-02 15:00"))  # (0 + 25) ÷ 2
        with pytest.raises(PermissionDenied):
            service.answer_interview(session, city, HANDLER, survey_id, {"1": "整洁", "2": "5"},
                                     local("2026-11-02 15:00"))
    with transaction(city_engine) as session:
        city = load_city(session)
        found = service.results(session, city, HANDLER, survey_id)
        october = service.results(session, city, HANDLER, survey_id, "2026-10")
        devices = session.execute(select(survey_answers.c.device)).scalars().all()
        audited = session.execute(select(func.count()).select_from(audit_log)
                                  .where(audit_log.c.kind == "survey_interview")).scalar_one()
    assert [float(a.score) for a in found.answers] == [100, 50, 12.5]
    assert found.score is not None and float(found.score) == pytest.approx(162.5 / 3)
    assert dict(found.questions[0].counts) == {"整洁": 1, "一般": 1, "不整洁": 1}
    assert dict(found.questions[1].counts) == {"1": 0, "2": 1, "3": 1, "4": 0, "5": 1}
    assert found.questions[2].texts == ("多扫",)
    assert (len(october.answers), october.score) == (2, 75)
    assert sorted(len(d or "") for d in devices) == [0, 64, 64]  # only hashes of the cookies; none for interviews
    assert audited == 1


def test_a_survey_with_answers_keeps_its_questions_and_a_closed_one_takes_none(city_engine: Engine) -> None:
    survey_id = new_survey(city_engine)
    answer(city_engine, survey_id, "device-a", "整洁", 5, "2026-10-05 10:00")
    with transaction(city_engine) as session:
        city = load_city(session)
        changed = service.SurveyInput("测试街道满意度", STREET, QUESTIONS[:2], True)
        with pytest.raises(ActionRefused) as refused:
            service.update_survey(session, city, LEADER, survey_id, changed, local("2026-10-06 09:00"))
        assert refused.value.code == "survey_answered"
        closed = service.SurveyInput("测试街道满意度（已结束）", STREET, QUESTIONS, False)
        saved = service.update_survey(session, city, LEADER, survey_id, closed, local("2026-10-06 09:00"))
        assert saved.active is False
        with pytest.raises(PermissionDenied):
            service.create_survey(session, city, HANDLER, changed, local("2026-10-06 09:00"))
        with pytest.raises(InvalidInput):
            service.create_survey(session, city, LEADER, service.SurveyInput("x", "370181", QUESTIONS),
                                  local("2026-10-06 09:00"))  # the city, not a street
    with pytest.raises(NotFound):
        answer(city_engine, survey_id, "device-b", "整洁", 5, "2026-10-07 10:00")


def units(engine: Engine, period: str, config: AssessmentConfig = CONFIG) -> dict[str, dict[str, Any]]:
    with transaction(engine) as session:
        figures = assessment.assess_period(session, load_city(session), period, config,
                                           local("2027-01-05 09:00"))
    return {u["unit_code"]: u for u in figures["units"]}


def test_the_survey_source_scores_the_street_office_from_its_minimum(city_engine: Engine) -> None:
    survey_id = new_survey(city_engine)
    for i, (choice, scale) in enumerate((("整洁", 5), ("一般", 3), ("整洁", 3))):
        answer(city_engine, survey_id, f"oct-{i}", choice, scale, f"2026-10-0{i + 1} 10:00")  # 100, 50, 75
    for i in range(2):
        answer(city_engine, survey_id, f"nov-{i}", "一般", 3, f"2026-11-0{i + 1} 10:00")  # 50 each
    october, november = units(city_engine, "2026-10")["U-JD1"], units(city_engine, "2026-11")["U-JD1"]
    assert [(s["name"], s["score"]) for s in october["sources"]] == [("cases", None), ("survey", 75.0)]
    assert october["score"] == 75.0 and october["rank"] == 1
    survey = november["sources"][1]
    assert survey["score"] is None and survey["figures"] == {
        "answers": 2, "minimum_answers": 3, "insufficient": True, "mean": 50.0}
    assert (november["score"], november["rank"], november["insufficient"]) == (None, None, True)
    assert [s["name"] for s in units(city_engine, "2026-10")["U-HW"]["sources"]] == ["cases"]
    # the year: the mean of the months the street was scored in (October only), or the year as one period
    year = units(city_engine, "2026")["U-JD1"]
    assert year["score"] == 75.0 and year["monthly_scores"]["2026-10"] == 75.0
    assert year["monthly_scores"]["2026-11"] is None
    whole = units(city_engine, "2026", parse_config(
        '[[sources]]\nname = "survey"\nweight = 1\nminimum_answers = 3\n[composite]\nlonger_periods = "period"\n'))
    assert whole["U-JD1"]["score"] == 65.0 and "monthly_scores" not in whole["U-JD1"]  # (225 + 100) ÷ 5


def test_a_special_action_ranking_books_bonus_points_by_place(city_engine: Engine) -> None:
    config = parse_config("[composite]\naction_bonus = [1, 0.5]\n")
    with transaction(city_engine) as session:
        entries = assessment.add_action_bonus(session, load_city(session), "夏季市容整治", date(2026, 10, 20),
                                              ["U-ZF", "U-HW", "U-JD1"], config, local("2026-10-21 09:00"), "leader01")
    assert [(e["unit_code"], e["points"], e["item"], e["booked_period"]) for e in entries] == [
        ("U-ZF", 1.0, "专项行动“夏季市容整治”第 1 名", "2026-10"),
        ("U-HW", 0.5, "专项行动“夏季市容整治”第 2 名", "2026-10")]
    found = units(city_engine, "2026-10", parse_config(""))
    assert (found["U-ZF"]["bonus"], found["U-HW"]["bonus"], found["U-JD1"]["bonus"]) == (1.0, 0.5, 0.0)


def test_the_demo_survey_answers_every_month_and_leaves_the_last_street_short(city_engine: Engine) -> None:
    months = [Period.parse("2026-09"), Period.parse("2026-10")]
    with transaction(city_engine) as session:
        count = service.demo_surveys(session, load_city(session), 7, months, local("2026-10-16 09:00"), "leader01")
    assert count == 2 * service.DEMO_SHORT  # the tiny city's one street is the last street
    default = parse_config('[[sources]]\nname = "survey"\nweight = 1\n')  # a minimum of 30 answers
    september = units(city_engine, "2026-09", default)["U-JD1"]["sources"][0]
    assert september["figures"]["answers"] == service.DEMO_SHORT and september["score"] is None
    with transaction(city_engine) as session:
        found = service.results(session, load_city(session), LEADER, 1)
    assert 0 <= float(found.score or 0) <= 100 and {a.channel.value for a in found.answers} <= {"public", "interview"}


CLI_CONFIG = """
[[sources]]
name = "cases"
weight = { street = 0.5, department = 1 }

[[sources]]
name = "survey"
weight = { street = 0.5 }
minimum_answers = 2

[composite]
action_bonus = [1, 0.5]
"""


def test_the_command_line_books_an_action_ranking_and_prints_the_survey_source(
        city_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    survey_id = new_survey(city_engine)
    for i, scale in enumerate((5, 3)):
        answer(city_engine, survey_id, f"cli-{i}", "整洁", scale, f"2026-10-0{i + 1} 10:00")  # 100, 75
    (tmp_path / "assessment.toml").write_text(CLI_CONFIG, encoding="utf-8")
    for _ in cli_database(city_engine, tmp_path, monkeypatch):
        booked = xiuhua("assess", "action-bonus", "--action", "夏季市容整治", "--date", "2026-10-20", "U-JD1", "U-HW")
        assert booked.exit_code == 0, booked.output
        assert "专项行动“夏季市容整治”第 1 名：测试街道办事处 加 1 分" in booked.output
        refused = xiuhua("assess", "action-bonus", "--action", "x", "--date", "2026-10-20", "U-HW", "U-HW")
        assert refused.exit_code != 0 and "duplicate_unit" in refused.output
        printed = xiuhua("assess", "--period", "2026-10", "--format", "json")
        assert printed.exit_code == 0, printed.output
    street = {u["unit_code"]: u for u in json.loads(printed.stdout)["units"]}["U-JD1"]
    assert [(s["name"], s["score"]) for s in street["sources"]] == [("cases", None), ("survey", 87.5)]
    assert (street["bonus"], street["score"]) == (1.0, 88.5)  # the survey alone, + the action bonus
