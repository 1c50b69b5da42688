"""A prefecture city: districts between the city and its streets, explicit levels and parents,
district rules in the matrix, and the coverage check per district."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from docx import Document
from shapely.geometry import box
from sqlalchemy import Engine, select

from tests.factories import (
    ACCEPTOR,
    DISPATCHER,
    SHIFT,
    act,
    build_tiny_city,
    cli_database,
    dispatched_case,
    local,
    report,
    xiuhua,
)
from tests.factories import CITY as TINY_CITY
from tests.factories import STREET as TINY_STREET
from tests.prefecture import EAST, PREFECTURE, WEST, build_prefecture, center, features, grid_code
from xiuhua.domain.choices import Action, RegionLevel, Role
from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.domain.lifecycle import Actor
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services.assessment import assess_period, load_config
from xiuhua.services.city import load_city
from xiuhua.services.coverage import coverage_report
from xiuhua.services.districts import area_assessment
from xiuhua.services.regions import RegionFeature, save_regions
from xiuhua.services.units import import_rules
from xiuhua.store.db import transaction
from xiuhua.store.tables import regions


def test_districts_sit_between_the_city_and_its_streets(engine: Engine) -> None:
    build_prefecture(engine, local("2026-10-16 09:00"))
    with transaction(engine) as session:
        rows = {r.code: (r.level, r.parent_code, r.kind) for r in session.execute(select(regions))}
        city = load_city(session)
    assert rows[WEST] == ("district", PREFECTURE, None)
    assert rows[EAST] == ("district", PREFECTURE, "zone")
    assert rows[f"{WEST}001"] == ("street", WEST, None)
    assert city.areas(grid_code(0, 0)) == [grid_code(0, 0), f"{WEST}001001", f"{WEST}001", WEST, PREFECTURE]
    east = city.responsible("06010", grid_code(0, 2))
    assert east.unit == "U-HW103" and east.reason.startswith("区（县）事项规则")
    assert city.responsible("06010", grid_code(0, 0)).unit == "U-HW"  # the city-wide rule


def test_an_explicit_level_is_taken_and_checked_against_the_code(engine: Engine) -> None:
    whole = box(114.3, 30.59, 114.31, 30.6)
    with transaction(engine) as session:
        save_regions(session, [RegionFeature("4201", "某市", whole, level="市"),
                               RegionFeature("420102", "某区", whole, level="区"),
                               RegionFeature("420102001", "某街道", whole, level="street")])
        assert session.execute(select(regions.c.parent_code).where(regions.c.code == "420102")
                               ).scalar() == "4201"
    with pytest.raises(BatchInvalid) as refused, transaction(engine) as session:
        save_regions(session, [RegionFeature("430102", "外区", whole, level="district", parent_code="4201"),
                               RegionFeature("420103001", "无区街道", whole),
                               RegionFeature("420104", "某区", whole, level="社区")])
    problems = "\n".join(refused.value.problems)
    assert "要素 0（编码 430102）：编码“430102”不是上级区域“4201”编码的下级编码" in problems
    assert "要素 1（编码 420103001）：上级区域“420103”不存在" in problems
    assert "要素 2（编码 420104）：社区级区域的编码须为 12 位数字" in problems


def test_coverage_is_proved_per_district(engine: Engine) -> None:
    build_prefecture(engine, local("2026-10-16 09:00"))
    with transaction(engine) as session:
        report = coverage_report(session)
    lines = list(report.district_lines())
    assert any(line.startswith(f"区（县） {WEST} 甲区：") and "责任覆盖完整" in line for line in lines)
    assert any(line.startswith(f"区（县） {EAST} 乙开发区：") for line in lines)
    assert report.ok


def test_a_gap_is_counted_in_its_district(engine: Engine) -> None:
    build_prefecture(engine, local("2026-10-16 09:00"))
    with transaction(engine) as session:
        from xiuhua.store import city as store
        store.remove_rule(session, Rule(RuleScope.ANY, None, f"{EAST}001", "U-JD103"))
        report = coverage_report(session)
    lines = {line.split("：")[0]: line for line in report.district_lines()}
    assert "责任覆盖完整" in lines[f"区（县） {WEST} 甲区"]
    assert "责任缺失" in lines[f"区（县） {EAST} 乙开发区"]


def test_a_rule_whose_area_holds_no_grid_is_refused(engine: Engine, tmp_path: Path) -> None:
    build_prefecture(engine, local("2026-10-16 09:00"))
    with transaction(engine) as session:
        save_regions(session, [RegionFeature("420104", "丙区", features()[0].geometry)])
    path = tmp_path / "rules.csv"
    path.write_text("scope,category,region_code,unit_code\nany,,420104,U-HW\nmajor,06,420102,U-ZF\n",
                    encoding="utf-8")
    with pytest.raises(BatchInvalid) as refused, transaction(engine) as session:
        import_rules(session, path)
    assert refused.value.problems == ["第 2 行：区域“420104”内没有单元网格，该规则不会适用于任何网格"]
    with transaction(engine) as session:
        assert load_city(session).regions["420104"].level is RegionLevel.DISTRICT


def _dispatched(engine: Engine, cell: tuple[int, int], unit: str, category: str = "06010") -> str:
    lon, lat = center(*cell)
    case_no = report(engine, "2026-10-12 09:00", ACCEPTOR, category_code=category, lon=lon, lat=lat)
    act(engine, case_no, Action.FILE, "2026-10-12 09:05", SHIFT)
    act(engine, case_no, Action.DISPATCH, "2026-10-12 09:10", DISPATCHER, unit=unit)
    return case_no


def test_the_city_ranks_its_districts_and_departments_a_district_its_streets_and_units(engine: Engine) -> None:
    build_prefecture(engine, local("2026-10-01 09:00"))
    for cell in ((0, 0), (1, 1), (0, 1)):
        _dispatched(engine, cell, "U-HW")
    _dispatched(engine, (0, 0), "U-ZF", "06001")
    east = _dispatched(engine, (1, 3), "U-HW103")
    act(engine, east, Action.FEEDBACK, "2026-10-12 10:00",
        Actor("handler_hw103", Role.HANDLER, unit_code="U-HW103"), note="已清理")
    config = replace(load_config(), minimum_due=1)
    with transaction(engine) as session:
        city = load_city(session)
        whole = area_assessment(session, city, "2026-10", config, PREFECTURE)
        district = area_assessment(session, city, "2026-10", config, EAST)
        regions = {r["region_code"]: r for r in assess_period(session, city, "2026-10", config)["regions"]}
    assert (regions[WEST]["level"], regions[WEST]["filed"], regions[EAST]["filed"]) == ("district", 4, 1)
    assert (whole["level"], whole["name"]) == ("city", "测试地级市")
    assert {a["region_code"]: a["dispatched"] for a in whole["areas"]} == {WEST: 4, EAST: 1}
    assert [a["rank"] for a in whole["areas"]] == [1, 2] and all(a["score"] is not None for a in whole["areas"])
    assert {u["unit_code"] for u in whole["units"]} == {"U-HW", "U-ZF"}  # the city's departments
    assert district["level"] == "district"
    assert [(a["region_code"], a["dispatched"], a["rank"]) for a in district["areas"]] == [(f"{EAST}001", 1, 1)]
    assert [(u["unit_code"], u["dispatched"], u["rank"]) for u in district["units"]] == [("U-HW103", 1, 1)]


def test_a_street_has_no_assessment_of_its_own_and_a_county_level_city_ranks_its_streets(
        engine: Engine) -> None:
    build_prefecture(engine, local("2026-10-01 09:00"))
    with transaction(engine) as session:
        city = load_city(session)
        with pytest.raises(InvalidInput) as refused:
            area_assessment(session, city, "2026-10", load_config(), f"{WEST}001")
    assert refused.value.code == "unknown_district"


def test_a_county_level_city_ranks_its_streets_and_the_units_it_dispatched_to(engine: Engine) -> None:
    build_tiny_city(engine)
    dispatched_case(engine, "2026-10-12 09:00")
    with transaction(engine) as session:
        found = area_assessment(session, load_city(session), "2026-10", load_config(), TINY_CITY)
    assert found["level"] == "city" and [a["region_code"] for a in found["areas"]] == [TINY_STREET]
    assert [(u["unit_code"], u["dispatched"]) for u in found["units"]] == [("U-HW", 1)]


@pytest.fixture
def cli(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    build_prefecture(engine, local("2026-10-01 09:00"))
    yield from cli_database(engine, tmp_path / "data", monkeypatch)


def test_the_command_line_prints_and_writes_both_levels(cli: Engine, tmp_path: Path) -> None:
    _dispatched(cli, (0, 0), "U-HW")
    result = xiuhua("assess", "--period", "2026-10", "--district", PREFECTURE)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert {a["name"] for a in figures["areas"]} == {"甲区", "乙开发区"}
    out = tmp_path / "east.docx"
    result = xiuhua("assess", "--period", "2026-10", "--district", EAST, "--format", "docx", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = "".join(p.text for p in Document(str(out)).paragraphs)
    assert "乙开发区城市管理考核通报" in text and "街道排名" in text and "派遣单位排名" in text
    refused = xiuhua("assess", "--period", "2026-10", "--district", "999999")
    assert refused.exit_code != 0 and "unknown_district" in refused.output
    added = xiuhua("user", "add", "acceptor_x", "--role", "acceptor", "--district", WEST, "--password",
                   "long-enough-9")
    assert added.exit_code == 0, added.output
    refused = xiuhua("user", "add", "handler_x", "--role", "handler", "--unit", "U-HW", "--district", WEST,
                     "--password", "long-enough-9")
    assert refused.exit_code != 0 and "district_for_center_only" in refused.output
    coverage = xiuhua("check", "coverage")
    assert f"区（县） {WEST} 甲区：4 个单元网格，责任覆盖完整" in coverage.output
