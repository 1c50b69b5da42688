"""Region levels and codes (domain.regions): a prefecture city with districts beside today's
county-level city."""

from __future__ import annotations

import pytest

from xiuhua.domain.choices import RegionLevel as L
from xiuhua.domain.regions import code_problem, default_parent, in_district, infer_level, parse_level

PREFECTURE = {"420100": L.CITY}
COUNTY = {"370181": L.CITY}


def test_a_six_digit_code_is_a_district_of_a_known_prefecture_and_a_city_otherwise() -> None:
    assert infer_level("420102", PREFECTURE) is L.DISTRICT
    assert infer_level("420102", {"4201": L.CITY}) is L.DISTRICT
    assert infer_level("370181", {}) is L.CITY  # today's county-level city
    assert infer_level("420100", PREFECTURE) is L.CITY
    assert infer_level("4201", {}) is L.CITY
    assert [infer_level(c, COUNTY) for c in ("370181001", "370181001001", "370181001001001")] == [
        L.STREET, L.COMMUNITY, L.GRID]


def test_a_code_of_a_length_no_level_has_is_refused() -> None:
    with pytest.raises(ValueError, match="4、6、9、12 或 15 位"):
        infer_level("42010", {})


def test_parents_follow_the_codes_and_a_district_under_a_six_digit_city_shares_its_prefix() -> None:
    assert default_parent("420102", L.DISTRICT, PREFECTURE) == "420100"
    assert default_parent("420102", L.DISTRICT, {"4201": L.CITY}) == "4201"
    assert default_parent("420102001", L.STREET, {}) == "420102"
    assert default_parent("370181001", L.STREET, COUNTY) == "370181"
    assert default_parent("420100", L.CITY, {}) is None


@pytest.mark.parametrize(("code", "level", "parent", "parent_level"), [
    ("420102", L.DISTRICT, "420100", L.CITY),
    ("420102", L.DISTRICT, "4201", L.CITY),
    ("420102001", L.STREET, "420102", L.DISTRICT),
    ("370181001", L.STREET, "370181", L.CITY),  # no district level
    ("420102001002", L.COMMUNITY, "420102001", L.STREET),
    ("420102001002003", L.GRID, "420102001002", L.COMMUNITY),
    ("4201", L.CITY, None, None),
])
def test_codes_that_fit_their_level_and_parent(code: str, level: L, parent: str | None,
                                               parent_level: L | None) -> None:
    assert code_problem(code, level, parent, parent_level) is None


@pytest.mark.parametrize(("code", "level", "parent", "parent_level", "reason"), [
    ("42010", L.DISTRICT, "4201", L.CITY, "6 位"),
    ("420102001", L.DISTRICT, "420102", L.CITY, "6 位"),
    ("430102", L.DISTRICT, "420100", L.CITY, "不是上级区域"),
    ("420102", L.DISTRICT, None, None, "须有上级区域"),
    ("420102001", L.STREET, "420103", L.DISTRICT, "不是上级区域"),
    ("420102001", L.STREET, "420102", None, "不存在"),
    ("420102001001", L.COMMUNITY, "420102", L.DISTRICT, "上级不能是"),
    ("420102001002003", L.GRID, "420102001002", L.STREET, "上级不能是"),
])
def test_codes_that_do_not_fit_are_refused_with_the_reason(code: str, level: L, parent: str | None,
                                                           parent_level: L | None, reason: str) -> None:
    problem = code_problem(code, level, parent, parent_level)
    assert problem is not None and reason in problem


def test_levels_are_read_from_values_labels_and_usual_names() -> None:
    assert [parse_level(v) for v in ("district", "区", "县", "县级市", "街道", "镇", "社区", "网格", "City")] == [
        L.DISTRICT, L.DISTRICT, L.DISTRICT, L.DISTRICT, L.STREET, L.STREET, L.COMMUNITY, L.GRID, L.CITY]
    with pytest.raises(ValueError, match="层级"):
        parse_level("省")


def test_a_district_holds_the_grids_whose_codes_start_with_its_code() -> None:
    assert in_district("420102001002003", "420102")
    assert not in_district("420103001002003", "420102")
    assert not in_district(None, "420102")
