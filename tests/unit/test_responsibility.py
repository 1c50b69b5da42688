"""Who answers for a case: 权属 → 专业归口 → 属地兜底."""

from __future__ import annotations

import pytest

from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.responsibility import (
    Answer,
    CoverageProblem,
    Matrix,
    Rule,
    RuleScope,
    check_matrix,
)

CITY, STREET = "370181", "370181001"
COMM_A, COMM_B = "370181001001", "370181001002"
GRID_A1, GRID_A2, GRID_B1 = f"{COMM_A}001", f"{COMM_A}002", f"{COMM_B}003"
AREAS = {  # most specific first, as City.areas gives them
    GRID_A1: [GRID_A1, COMM_A, STREET, CITY],
    GRID_A2: [GRID_A2, COMM_A, STREET, CITY],
    GRID_B1: [GRID_B1, COMM_B, STREET, CITY],
}
GARBAGE, ROAD_DIRT, MAJOR = "06010", "06012", "06"  # 暴露垃圾, 道路不洁, 市容环境类
BEGGING, STREET_ORDER = "09003", "09"  # 流浪乞讨, 街面秩序类

M, J, ANY = RuleScope.MATTER, RuleScope.MAJOR, RuleScope.ANY


def resolve(rules: list[Rule], grid: str = GRID_A1, matter: str = GARBAGE, major: str = MAJOR,
            owner: str | None = None) -> Answer:
    return Matrix(rules).resolve(matter, major, AREAS[grid], owner)


def test_the_owner_of_the_named_component_answers_first() -> None:
    rules = [Rule(M, GARBAGE, GRID_A1, "U-HW"), Rule(ANY, None, CITY, "U-JD1")]
    answer = resolve(rules, owner="U-GAS")
    assert (answer.unit, answer.units, answer.rule) == ("U-GAS", ("U-GAS",), None)
    assert "权属" in answer.reason


@pytest.mark.parametrize(("levels", "expected"), [
    ([GRID_A1, COMM_A, STREET, CITY], "U-GRID"),
    ([COMM_A, STREET, CITY], "U-COMM"),
    ([STREET, CITY], "U-STREET"),
    ([CITY], "U-CITY"),
])
def test_the_most_specific_area_wins(levels: list[str], expected: str) -> None:
    unit_of = {GRID_A1: "U-GRID", COMM_A: "U-COMM", STREET: "U-STREET", CITY: "U-CITY"}
    rules = [Rule(J, MAJOR, region, unit_of[region]) for region in levels]
    assert resolve(rules).unit == expected


def test_a_rule_for_another_grid_or_community_does_not_apply() -> None:
    rules = [Rule(M, GARBAGE, GRID_A2, "U-A2"), Rule(M, GARBAGE, COMM_B, "U-B"),
             Rule(J, MAJOR, CITY, "U-ZF")]
    assert resolve(rules).unit == "U-ZF"
    assert resolve(rules, grid=GRID_A2).unit == "U-A2"
    assert resolve(rules, grid=GRID_B1).unit == "U-B"


def test_a_matter_rule_beats_a_major_rule_at_the_same_area() -> None:
    rules = [Rule(J, MAJOR, CITY, "U-ZF"), Rule(M, GARBAGE, CITY, "U-HW")]
    answer = resolve(rules)
    assert answer.unit == "U-HW"
    assert answer.rule == Rule(M, GARBAGE, CITY, "U-HW")
    assert answer.reason == "全市事项规则（专业归口）"
    assert resolve(rules, matter=ROAD_DIRT).unit == "U-ZF"  # the rest of the major class


def test_a_major_rule_of_a_more_specific_area_beats_a_matter_rule_of_a_wider_one() -> None:
    rules = [Rule(M, GARBAGE, CITY, "U-HW"), Rule(J, MAJOR, COMM_A, "U-COMM-A")]
    answer = resolve(rules)
    assert answer.unit == "U-COMM-A"
    assert answer.reason == "社区大类规则（专业归口）"
    assert resolve(rules, grid=GRID_B1).unit == "U-HW"


def test_an_any_category_rule_applies_only_when_no_category_rule_does() -> None:
    rules = [Rule(ANY, None, GRID_A1, "U-JD1"), Rule(M, GARBAGE, CITY, "U-HW")]
    assert resolve(rules).unit == "U-HW"  # even a city-wide category rule beats the locality
    answer = resolve(rules, matter=BEGGING, major=STREET_ORDER)
    assert answer.unit == "U-JD1"
    assert answer.reason == "单元网格属地规则（属地兜底）"


def test_the_locality_rule_is_also_most_specific_first() -> None:
    rules = [Rule(ANY, None, CITY, "U-CITY"), Rule(ANY, None, STREET, "U-JD1")]
    assert resolve(rules).unit == "U-JD1"


def test_two_units_at_the_same_step_are_an_overlap() -> None:
    rules = [Rule(M, GARBAGE, STREET, "U-HW"), Rule(M, GARBAGE, STREET, "U-ZF"),
             Rule(J, MAJOR, GRID_A2, "U-OTHER")]
    answer = resolve(rules)
    assert answer.is_overlap and not answer.is_gap
    assert answer.units == ("U-HW", "U-ZF")
    assert (answer.unit, answer.rule) == (None, None)


def test_the_same_unit_named_twice_is_no_overlap() -> None:
    rules = [Rule(M, GARBAGE, STREET, "U-HW"), Rule(M, GARBAGE, STREET, "U-HW")]
    assert resolve(rules).unit == "U-HW"


def test_an_overlap_at_a_less_specific_step_is_hidden_by_a_clear_rule() -> None:
    rules = [Rule(J, MAJOR, CITY, "U-HW"), Rule(J, MAJOR, CITY, "U-ZF"),
             Rule(M, GARBAGE, STREET, "U-HW")]
    assert resolve(rules).unit == "U-HW"
    assert resolve(rules, matter=ROAD_DIRT).is_overlap


def test_no_rule_at_all_is_a_gap() -> None:
    answer = resolve([Rule(M, ROAD_DIRT, CITY, "U-HW")])
    assert answer.is_gap and not answer.is_overlap
    assert (answer.units, answer.unit) == ((), None)
    assert answer.reason == "没有适用的责任规则"


def test_a_rule_must_name_a_category_unless_it_covers_every_category() -> None:
    for scope, category in ((ANY, GARBAGE), (M, None), (J, None)):
        with pytest.raises(InvalidInput) as info:
            Rule(scope, category, CITY, "U-HW")
        assert info.value.code == "invalid_rule"


def test_check_matrix_finds_gaps_and_overlaps() -> None:
    rules = [
        Rule(M, GARBAGE, CITY, "U-HW"),
        Rule(M, ROAD_DIRT, COMM_A, "U-HW"), Rule(M, ROAD_DIRT, COMM_A, "U-ZF"),
        Rule(ANY, None, COMM_B, "U-JD1"),
    ]
    matters = [(GARBAGE, MAJOR), (ROAD_DIRT, MAJOR), (BEGGING, STREET_ORDER)]
    problems = check_matrix(Matrix(rules), matters, AREAS)
    found = {(p.category_code, p.grid_code): (p.kind, p.units) for p in problems}
    assert found == {
        (ROAD_DIRT, GRID_A1): ("overlap", ("U-HW", "U-ZF")),
        (ROAD_DIRT, GRID_A2): ("overlap", ("U-HW", "U-ZF")),
        (BEGGING, GRID_A1): ("gap", ()),
        (BEGGING, GRID_A2): ("gap", ()),
    }
    # 道路不洁 in community B falls to the street office there; garbage is clear everywhere
    assert Matrix(rules).resolve(ROAD_DIRT, MAJOR, AREAS[GRID_B1]).unit == "U-JD1"


def test_a_complete_matrix_has_no_problems() -> None:
    rules = [Rule(ANY, None, CITY, "U-JD1"), Rule(J, MAJOR, CITY, "U-ZF"),
             Rule(M, GARBAGE, CITY, "U-HW")]
    matters = [(GARBAGE, MAJOR), (ROAD_DIRT, MAJOR), (BEGGING, STREET_ORDER)]
    assert check_matrix(Matrix(rules), matters, AREAS) == []
    assert CoverageProblem(GARBAGE, GRID_A1, ()).kind == "gap"
