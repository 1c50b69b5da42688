"""Field evaluation rules: deductions and caps, point / region / unit scores, sampling,
publication order, the evaluation score source and who sees a round."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xiuhua.domain.access import Principal, evaluates, sees_round_results, sees_round_sample
from xiuhua.domain.assessment import parse_config
from xiuhua.domain.choices import DeductionRule, Role, RoundState
from xiuhua.domain.errors import ActionRefused, InvalidInput
from xiuhua.domain.evaluation import (
    EVALUATION,
    Item,
    Place,
    PointResult,
    UnitEvidence,
    booked_period,
    check_state,
    distance_m,
    draw_sample,
    is_far,
    parse_rule,
    point_score,
    region_scores,
    unit_scores,
)
from xiuhua.domain.sources import UnitFacts


def item(points: str, each: str | None = None, *, id: int = 1, kinds: str = "",
         rule: DeductionRule = DeductionRule.PER_OCCURRENCE) -> Item:
    value = Fraction(points)
    return Item(("干净", "道路保洁"), "路面有垃圾", value, rule, Fraction(each) if each else value,
                frozenset(k for k in kinds.split(";") if k), "06010", id)


def test_a_per_occurrence_item_deducts_each_occurrence_up_to_its_points() -> None:
    litter = item("4", "0.5")
    assert litter.deduction(0) == 0
    assert litter.deduction(3) == Fraction(3, 2)
    assert litter.deduction(8) == 4
    assert litter.deduction(20) == 4  # capped at the item's points


def test_a_pass_fail_item_costs_all_its_points_on_any_occurrence() -> None:
    sign = item("1", rule=DeductionRule.PASS_FAIL)
    assert sign.deduction(1) == 1 and sign.deduction(5) == 1 and sign.deduction(0) == 0


def test_an_item_with_a_deduction_above_its_points_or_five_levels_is_refused() -> None:
    with pytest.raises(InvalidInput):
        item("2", "3")
    with pytest.raises(InvalidInput):
        Item(("a", "b", "c", "d"), "e", Fraction(1), DeductionRule.PASS_FAIL, Fraction(1), frozenset(), "06010")


def test_the_deduction_rule_is_read_from_the_sheet_text() -> None:
    assert parse_rule("每处扣0.5分，扣完为止", Fraction(4)) == (DeductionRule.PER_OCCURRENCE, Fraction(1, 2))
    assert parse_rule("不合格扣全分", Fraction(3)) == (DeductionRule.PASS_FAIL, Fraction(3))
    assert parse_rule("per_occurrence:1.5", Fraction(3)) == (DeductionRule.PER_OCCURRENCE, Fraction(3, 2))
    with pytest.raises(InvalidInput, match="看不懂扣分标准"):
        parse_rule("酌情扣分", Fraction(3))


def test_a_point_scores_its_applicable_items_and_never_below_zero() -> None:
    items = [item("12", "1", id=1), item("8", "8", id=2)]  # 20 points
    assert point_score(items, {1: 5}) == 75  # 5 of 20 lost
    assert point_score(items, {1: 50, 2: 3}) == 0
    assert point_score(items, {}) == 100
    assert point_score([], {}) is None


def test_worked_example_a_street_of_a_road_and_a_park() -> None:
    """Road (weight 2, items worth 20, deductions 5 → 75) + park (weight 1, 100) → 83.33."""
    road_items = [item("12", "1", id=1, kinds="主次干道"), item("8", "2", id=2, kinds="主次干道")]
    park_items = [item("10", "1", id=3, kinds="公园")]
    road = point_score(road_items, {1: 3, 2: 1})
    park = point_score(park_items, {})
    assert (road, park) == (75, 100)
    results = [PointResult(1, "主次干道", "S1", "C1", "U-JD1", road),
               PointResult(2, "公园", "S1", "C2", "U-YL", park)]
    weights = {"主次干道": Fraction(2), "公园": Fraction(1)}
    street = region_scores(results, weights)["S1"]
    assert street == Fraction(250, 3) and round(float(street), 2) == 83.33
    assert region_scores(results, weights)["C1"] == 75
    assert unit_scores(results, weights) == {"U-JD1": 75, "U-YL": 100}


def test_the_evaluation_source_scores_a_unit_by_its_points_and_has_no_data_without() -> None:
    config = parse_config('[[sources]]\nname = "evaluation"\nweight = 1\n'
                          'kind_weights = { "主次干道" = 2 }\n')
    source = config.score_sources()[0].source
    results = (PointResult(1, "主次干道", "S1", None, "U", Fraction(75)),
               PointResult(2, "公园", "S1", None, "U", Fraction(100)))
    scored = source.result(UnitFacts("U", None, {}, {EVALUATION: UnitEvidence(results, (7,))}))
    assert scored.score == Fraction(250, 3)
    assert scored.figures.as_json() == {
        "points": 2, "by_kind": {"主次干道": 1, "公园": 1}, "rounds": [7]}
    assert source.result(UnitFacts("U", None, {})).score is None


def test_the_source_falls_back_to_the_evaluation_table_and_refuses_unknown_settings() -> None:
    config = parse_config('[evaluation]\nkind_weights = { "公园" = 3 }\n'
                          '[[sources]]\nname = "evaluation"\nweight = 1\n')
    source = config.score_sources()[0].source
    results = (PointResult(1, "主次干道", "S", None, "U", Fraction(40)),
               PointResult(2, "公园", "S", None, "U", Fraction(80)))
    assert source.result(UnitFacts("U", None, {}, {EVALUATION: UnitEvidence(results, ())})).score == 70
    with pytest.raises(InvalidInput, match="不认识的设置"):
        parse_config('[[sources]]\nname = "evaluation"\nweight = 1\nweights = 2\n')


PLACES = st.lists(st.tuples(st.sampled_from(["主次干道", "公园", "公厕"]),
                            st.sampled_from(["S1", "S2", None])), min_size=0, max_size=40)


@given(PLACES, st.integers(0, 2**32), st.integers(1, 4), st.randoms())
def test_the_same_seed_and_points_give_the_same_sample_in_any_order(
        raw: list[tuple[str, str | None]], seed: int, per_kind: int, shuffle: object) -> None:
    places = [Place(i + 1, kind, street) for i, (kind, street) in enumerate(raw)]
    first = draw_sample(places, seed, per_kind)
    reordered = list(places)
    shuffle.shuffle(reordered)  # type: ignore[attr-defined]
    assert draw_sample(reordered, seed, per_kind) == first
    for kind in ("主次干道", "公园", "公厕"):  # at most N per kind and street, all when fewer
        for street in ("S1", "S2", None):
            stratum = {p.id for p in places if (p.kind, p.street_code) == (kind, street)}
            assert len(stratum & set(first)) == min(per_kind, len(stratum))


def test_another_seed_gives_another_sample() -> None:
    places = [Place(i, "主次干道", "S1") for i in range(100)]
    assert draw_sample(places, 1, 5) != draw_sample(places, 2, 5)


def test_a_round_counts_in_its_month_unless_that_month_was_published_first() -> None:
    assert booked_period("2026-11", set()) == "2026-11"
    assert booked_period("2026-11", {"2026-10"}) == "2026-11"
    assert booked_period("2026-11", {"2026-11"}) == "2026-12"
    assert booked_period("2026-11", {"2026-11", "2026-12"}) == "2027-01"
    with pytest.raises(InvalidInput):
        booked_period("2026Q4", set())


def test_a_closed_round_refuses_more_records() -> None:
    check_state(RoundState.OPEN, {RoundState.OPEN}, "记录扣分")
    with pytest.raises(ActionRefused, match="已结束") as refused:
        check_state(RoundState.CLOSED, {RoundState.OPEN}, "记录扣分")
    assert refused.value.code == "round_closed"


def test_a_photo_farther_than_200_m_is_flagged() -> None:
    near = distance_m(117.0, 36.65, 117.001, 36.65)  # ≈ 89 m east
    far = distance_m(117.0, 36.65, 117.003, 36.65)  # ≈ 268 m
    assert 80 < near < 100 and not is_far(near)
    assert 250 < far < 290 and is_far(far)
    assert not is_far(None)


def test_only_evaluators_see_a_running_rounds_sample() -> None:
    evaluator = Principal("e1", Role.EVALUATOR)
    inspector_evaluator = Principal("i1", Role.INSPECTOR, extra_roles=frozenset({Role.EVALUATOR}))
    leader, admin = Principal("l1", Role.LEADER), Principal("a1", Role.ADMIN)
    handler = Principal("h1", Role.HANDLER, unit_code="U-HW")
    for who in (evaluator, inspector_evaluator, admin):
        assert evaluates(who) and sees_round_sample(who, RoundState.OPEN)
    assert not sees_round_sample(leader, RoundState.OPEN)
    assert sees_round_sample(leader, RoundState.CLOSED)
    assert not evaluates(Principal("i2", Role.INSPECTOR))
    assert not sees_round_results(handler, RoundState.CLOSED, "U-HW")
    assert sees_round_results(handler, RoundState.PUBLISHED, "U-HW")
    assert not sees_round_results(handler, RoundState.PUBLISHED, "U-ZF")


def test_a_second_role_is_evaluator_only() -> None:
    with pytest.raises(ValueError):
        Principal("x", Role.INSPECTOR, extra_roles=frozenset({Role.ADMIN}))
    with pytest.raises(ValueError):
        Principal("x", Role.PUBLIC, extra_roles=frozenset({Role.EVALUATOR}))
    both = Principal("i1", Role.INSPECTOR, extra_roles=frozenset({Role.EVALUATOR}))
    assert both.has_role(Role.INSPECTOR) and both.has_role(Role.EVALUATOR) and not both.sees_all
