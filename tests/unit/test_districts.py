"""Two-level assessment rules (domain.districts): areas scored from the units' case figures of
their cases with the units' terms and weights, ranked like units."""

from __future__ import annotations

from datetime import UTC, datetime

from xiuhua.domain.assessment import AssessmentConfig, Item, Measure, Subject
from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.districts import area_counts, area_rows

AT = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
M = Measure


def _items(*case_nos: str) -> list[Item]:
    return [Item(no, 1, AT) for no in case_nos]


def test_unit_items_are_booked_to_the_area_of_their_case() -> None:
    tally = {Subject.UNITS: {"U-HW": {M.DUE: _items("a1", "b1"), M.HANDLED_ON_TIME: _items("a1")},
                             "U-ZF": {M.DUE: _items("a2", "x9")}}}
    found = area_counts(tally, {"a1": "A", "a2": "A", "b1": "B"})  # x9 lies in no area
    assert {area: dict(counts) for area, counts in found.items()} == {
        "A": {M.DUE: 2, M.HANDLED_ON_TIME: 1}, "B": {M.DUE: 1}}


def test_areas_are_scored_with_the_units_terms_and_ranked_the_scant_ones_unranked() -> None:
    config = AssessmentConfig(minimum_due=2)
    counts = {"A": {M.DUE: 4, M.HANDLED_ON_TIME: 4, M.SHOULD_CLOSE: 4, M.CLOSED: 4, M.CHECKED_OK: 4},
              "B": {M.DUE: 4, M.HANDLED_ON_TIME: 2, M.SHOULD_CLOSE: 4, M.CLOSED: 4, M.CHECKED_OK: 4},
              "C": {M.DUE: 1, M.HANDLED_ON_TIME: 1}}
    rows = area_rows(counts, {"C": "丙区", "B": "乙区", "A": "甲区"}, RegionLevel.DISTRICT, config)
    assert [(r.code, r.rank, r.insufficient) for r in rows] == [("A", 1, False), ("B", 2, False), ("C", None, True)]
    assert str(rows[0].score) == "100.00" and str(rows[1].score) == "80.00"  # 0.4 × 0.5 lost
    assert rows[0].as_json()["level"] == "district" and rows[1].grade == "B"
