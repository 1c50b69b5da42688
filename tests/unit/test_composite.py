"""The composite monthly ranking (综合考评): issue 16's worked example, quarters and years by the
mean of their months' composites, and the special-action ranking bonus."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from xiuhua.domain.assessment import (
    AssessmentConfig,
    RewardBand,
    UnitRow,
    action_placings,
    by_months,
    parse_config,
)
from xiuhua.domain.choices import AssessedKind
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.sources import Scored, SourceResult, UnitFacts, composite, score_unit
from xiuhua.domain.surveys import SurveyFigures, SurveySource

EXAMPLE = """
[[sources]]
name = "cases"
weight = { street = 0.5, department = 1 }
minimum_due = 1

[[sources.terms]]
rate = "close_rate"
weight = 1

[[sources]]
name = "survey"
weight = { street = 0.2 }
minimum_answers = 30

[composite]
action_bonus = [1, 0.5, 0.3]
"""


def test_the_worked_example_86_25_and_84_25_with_a_survey_below_its_minimum() -> None:
    """cases 90 (w 0.5), evaluation 80 (w 0.3), survey with too few answers (w 0.2)."""
    survey = SurveySource(30).result(UnitFacts("JD", AssessedKind.STREET, {}, {"survey": (Fraction(100),) * 29}))
    assert survey.score is None
    figures = SurveyFigures(0, 30, None)
    scored = [Scored("cases", Fraction("0.5"), SourceResult(Fraction(90), figures)),
              Scored("evaluation", Fraction("0.3"), SourceResult(Fraction(80), figures)),
              Scored("survey", Fraction("0.2"), survey)]
    assert composite(scored) == Fraction("86.25")
    assert composite(scored, deductions=Fraction(2)) == Fraction("84.25")


def test_the_composite_is_off_until_the_file_enables_more_than_cases() -> None:
    shipped = AssessmentConfig()
    assert shipped.sources is None and not shipped.by_months
    config = parse_config(EXAMPLE)
    assert config.by_months and config.action_bonus == (1, Fraction(1, 2), Fraction(3, 10))
    assert [s.name for s in config.score_sources()] == ["cases", "survey"]
    assert not parse_config(EXAMPLE + 'longer_periods = "period"\n').by_months
    unit = UnitFacts("JD", AssessedKind.STREET, {}, {"survey": (Fraction(40),) * 30})
    assert [s.result.score for s in score_unit(config.score_sources(), unit)] == [None, 40]


def row(code: str) -> UnitRow:
    return UnitRow(code, code, {}, {}, Fraction(0), Fraction(0), None, None, True)


def test_a_year_ranks_by_the_mean_of_the_months_it_was_scored_in_with_the_reward_bands() -> None:
    config = parse_config(EXAMPLE)
    monthly = {"2026-10": {"A": Decimal("90"), "B": Decimal("80"), "C": None},
               "2026-11": {"A": Decimal("70"), "B": Decimal("85"), "C": None},
               "2026-12": {"A": Decimal("80.01"), "B": None, "C": None}}
    rows = by_months([row("A"), row("B"), row("C")], monthly, config, [RewardBand(1, 1, 5000.0)])
    found = {r.unit_code: r for r in rows}
    assert found["A"].score == Decimal("80.00")  # (90 + 70 + 80.01) ÷ 3 = 80.003…
    assert found["B"].score == Decimal("82.50")  # December not scored: (80 + 85) ÷ 2
    assert [r.unit_code for r in rows] == ["B", "A", "C"]
    assert (found["B"].rank, found["B"].reward, found["B"].grade) == (1, 5000.0, "B")
    assert (found["C"].rank, found["C"].score, found["C"].insufficient) == (None, None, True)
    assert found["A"].as_json()["monthly_scores"] == {"2026-10": 90.0, "2026-11": 70.0, "2026-12": 80.01}


def test_a_special_action_ranking_earns_the_configured_points_by_place() -> None:
    placings = action_placings(["JD2", "JD1", "JD3", "JD4"], parse_config(EXAMPLE))
    assert [(p.unit_code, p.place, p.points) for p in placings] == [
        ("JD2", 1, 1), ("JD1", 2, Fraction(1, 2)), ("JD3", 3, Fraction(3, 10))]  # the 4th earns nothing


@pytest.mark.parametrize(("config", "ranking", "code"), [
    (AssessmentConfig(), ["JD1"], "no_action_bonus"),
    (parse_config(EXAMPLE), [], "empty_ranking"),
    (parse_config(EXAMPLE), ["JD1", "JD2", "JD1"], "duplicate_unit"),
])
def test_a_special_action_ranking_is_refused_without_points_or_with_a_unit_twice(
        config: AssessmentConfig, ranking: list[str], code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        action_placings(ranking, config)
    assert refused.value.code == code


@pytest.mark.parametrize(("text", "fragment"), [
    ('[composite]\nlonger_periods = "sum"\n', "longer_periods"),
    ('[composite]\naction_bonus = 1\n', "action_bonus"),
    ('[composite]\naction_bonus = [1, 0]\n', "大于 0"),
    ('[composite]\nbonus = [1]\n', "bonus"),
])
def test_bad_composite_settings_are_refused(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_config(text)
    assert refused.value.code == "invalid_assessment_config" and fragment in refused.value.message
