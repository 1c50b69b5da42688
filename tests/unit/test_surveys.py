"""Survey rules (问卷调查): how answers are scaled and checked, and the ``survey`` score source
with its minimum number of answers (样本不足)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from xiuhua.domain.assessment import parse_config
from xiuhua.domain.choices import AssessedKind, QuestionKind
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.sources import UnitFacts, composite, score_unit
from xiuhua.domain.surveys import (
    Question,
    SurveySource,
    answer_score,
    check_answer,
    questions,
)

QUESTIONS = questions([
    {"kind": "choice", "text": "街面是否整洁", "options": ["很整洁", "比较整洁", "一般", "不整洁"]},
    {"kind": "scale", "text": "对城市管理的总体评价"},
    {"kind": "text", "text": "您的建议"},
])


def test_choices_scale_best_first_from_100_to_0_evenly() -> None:
    choice = QUESTIONS[0]
    assert [choice.scaled(o) for o in choice.options] == [100, Fraction(200, 3), Fraction(100, 3), 0]
    assert Question(QuestionKind.CHOICE, "是否满意", ("满意", "不满意")).scaled("不满意") == 0


def test_a_1_to_5_scale_runs_from_0_to_100_and_text_is_not_scored() -> None:
    assert [QUESTIONS[1].scaled(v) for v in range(1, 6)] == [0, 25, 50, 75, 100]
    assert QUESTIONS[2].scaled("多设垃圾桶") is None


def test_an_answer_scores_the_mean_of_its_scaled_answers() -> None:
    values = check_answer(QUESTIONS, {"1": "比较整洁", "2": "4", "3": " 多设垃圾桶 "})
    assert values == {"1": "比较整洁", "2": 4, "3": "多设垃圾桶"}
    assert answer_score(QUESTIONS, values) == (Fraction(200, 3) + 75) / 2  # 70.83…
    assert answer_score(QUESTIONS, check_answer(QUESTIONS, {"1": "很整洁", "2": 5})) == 100


@pytest.mark.parametrize(("values", "fragment"), [
    ({"2": "4"}, "第 1 题"),  # a choice left out
    ({"1": "还行", "2": "4"}, "第 1 题"),  # not an option
    ({"1": "一般"}, "第 2 题"),  # no scale value
    ({"1": "一般", "2": "6"}, "1–5"),
    ({"1": "一般", "2": "3.5"}, "1–5"),
    ({"1": "一般", "2": True}, "1–5"),
    ({"1": "一般", "2": "3", "9": "x"}, "第 9 题"),
    ({"1": "一般", "2": "3", "3": "长" * 501}, "500"),
])
def test_an_incomplete_or_invalid_answer_is_refused_naming_the_question(values: dict[str, object],
                                                                       fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_answer(QUESTIONS, values)
    assert refused.value.code == "invalid_answer" and fragment in refused.value.message


@pytest.mark.parametrize(("raw", "fragment"), [
    ([], "1–50"),
    ([{"kind": "text", "text": "建议"}], "至少有一道"),
    ([{"kind": "choice", "text": "满意吗", "options": ["是"]}], "2–10"),
    ([{"kind": "choice", "text": "满意吗", "options": ["是", "是"]}], "重复"),
    ([{"kind": "stars", "text": "满意吗"}], "类型"),
    ([{"kind": "scale", "text": " "}], "题目"),
])
def test_a_survey_needs_valid_questions_and_one_scored(raw: list[object], fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        questions(raw)
    assert refused.value.code == "invalid_survey" and fragment in refused.value.message


def facts(*scores: int) -> UnitFacts:
    return UnitFacts("U-JD1", AssessedKind.STREET, {}, {"survey": tuple(Fraction(s) for s in scores)})


def test_a_street_with_fewer_answers_than_the_minimum_has_no_survey_data() -> None:
    source = SurveySource(minimum_answers=3)
    short = source.result(facts(80, 90))
    assert short.score is None
    assert short.figures.as_json() == {"answers": 2, "minimum_answers": 3, "insufficient": True, "mean": 85.0}
    enough = source.result(facts(80, 90, 100))
    assert enough.score == 90 and enough.figures.as_json()["insufficient"] is False
    assert SurveySource().result(facts(*[70] * 29)).score is None  # default minimum: 30
    assert SurveySource().result(facts(*[70] * 30)).score == 70
    assert SurveySource().result(UnitFacts("U-HW", AssessedKind.DEPARTMENT, {})).score is None


def test_the_survey_source_is_configured_by_name_with_its_minimum() -> None:
    config = parse_config('[[sources]]\nname = "cases"\nweight = { street = 0.8 }\n'
                          '[[sources]]\nname = "survey"\nweight = { street = 0.2 }\nminimum_answers = 2\n')
    assert config.sources is not None
    survey = config.sources[1]
    assert survey.source == SurveySource(2) and survey.weight_for(AssessedKind.DEPARTMENT) is None
    # a street without enough cases, scored by its answers alone
    unit = UnitFacts("U-JD1", AssessedKind.STREET, {}, {"survey": (Fraction(60), Fraction(80))})
    assert composite(score_unit(config.sources, unit)) == 70


@pytest.mark.parametrize(("table", "fragment"), [
    ("minimum_answers = 0", "正整数"), ("minimum_answers = 2.5", "正整数"), ("minimum = 3", "minimum"),
])
def test_a_bad_survey_setting_is_refused(table: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_config(f'[[sources]]\nname = "survey"\nweight = 1\n{table}\n')
    assert refused.value.code == "invalid_assessment_config" and fragment in refused.value.message
