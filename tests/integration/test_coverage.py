"""The coverage check (无缝隙，消灭管理盲区): one responsible unit for every matter in every grid,
and grids that tile the city without gaps or overlaps."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from shapely import affinity
from sqlalchemy import Engine, delete, update
from typer.testing import CliRunner

from tests.factories import CITY, DLON, build_tiny_city, cell, grid_code
from xiuhua.cli import app
from xiuhua.config import get_settings
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services.city import load_city
from xiuhua.services.coverage import CoverageReport, check_coverage
from xiuhua.store import city as store
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import regions, user_grids

GRIDS = [grid_code(r, c) for r in range(3) for c in range(3)]


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def _active_matters(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        return [m.code for m in load_city(session).taxonomy.matters() if m.active]


def _problem_lines(report: CoverageReport, prefix: str) -> list[str]:
    return [line for line in report.lines() if line.startswith(prefix)]


def _remove_grid(engine: Engine, code: str) -> None:
    with transaction(engine) as session:
        session.execute(delete(user_grids).where(user_grids.c.grid_code == code))
        session.execute(delete(regions).where(regions.c.code == code))


def test_the_tiny_city_is_covered(city_engine: Engine) -> None:
    report = check_coverage(city_engine)
    assert report.ok
    matters = len(_active_matters(city_engine))
    assert report.lines() == [f"责任覆盖完整：{matters} 个事项 × 9 个单元网格均有且只有一个责任单位；"
                              "网格无缝隙、无重叠"]


def test_without_the_locality_rule_every_other_matter_is_a_gap_everywhere(city_engine: Engine) -> None:
    with transaction(city_engine) as session:
        assert store.remove_rule(session, Rule(RuleScope.ANY, None, CITY, "U-JD1")) == 1
    report = check_coverage(city_engine)
    assert not report.ok
    uncovered = [m for m in _active_matters(city_engine) if not m.startswith("06")]
    gaps = _problem_lines(report, "责任缺失：")
    assert len(gaps) == len(uncovered) * 9
    assert {line.split("，")[0].split()[1] for line in gaps} == set(uncovered)
    assert {line.split("网格 ")[1].split()[0] for line in gaps} == set(GRIDS)
    assert "责任缺失：事项 09005 " in "\n".join(gaps)
    assert any(line.endswith(f"网格 {grid_code(1, 1)} 网格005：没有责任单位") for line in gaps)
    assert not _problem_lines(report, "责任重叠")
    assert "按事项汇总：" in report.lines()
    assert report.lines()[-1].startswith(f"覆盖检查未通过：责任缺失 {len(gaps)} 处、责任重叠 0 处"
                                         f"（涉及 {len(uncovered)} 个事项）")


def test_two_units_for_the_same_matter_at_the_same_level_is_an_overlap(city_engine: Engine) -> None:
    with transaction(city_engine) as session:
        store.add_rules(session, [Rule(RuleScope.MATTER, "06010", CITY, "U-ZF")])
    report = check_coverage(city_engine)
    overlaps = _problem_lines(report, "责任重叠：")
    assert len(overlaps) == 9
    assert all(line.startswith("责任重叠：事项 06010 ") for line in overlaps)
    assert all("U-HW 环卫中心、U-ZF 城市管理综合执法局 同时负责" in line for line in overlaps)
    assert "全市事项规则" in overlaps[0]
    assert not _problem_lines(report, "责任缺失") and not report.ok


def test_a_missing_grid_leaves_a_gap_with_its_area_and_place(city_engine: Engine) -> None:
    _remove_grid(city_engine, grid_code(1, 1))
    report = check_coverage(city_engine)
    assert not report.ok and report.grid_count == 8
    (gap,) = report.tiling
    assert gap.kind == "gap" and gap.area_m2 == pytest.approx(10_000, rel=0.01)
    assert cell(1, 1).contains(shapely.Point(gap.lon, gap.lat))
    (line,) = _problem_lines(report, "网格缝隙：")
    where = f"位置（{gap.lon:.6f}, {gap.lat:.6f}）"
    assert line.startswith(f"网格缝隙：{gap.area_m2:.1f} 平方米未被任何单元网格覆盖，{where}")
    assert f"{grid_code(0, 1)} 网格002" in line  # the neighbours are named
    assert not report.responsibility


def test_a_shifted_grid_overlaps_its_neighbour(city_engine: Engine) -> None:
    moved = affinity.translate(cell(0, 0), xoff=DLON / 2)
    with transaction(city_engine) as session:
        session.execute(update(regions).where(regions.c.code == grid_code(0, 0))
                        .values(geometry=shapely.to_wkb(moved)))
    report = check_coverage(city_engine)
    overlap = next(p for p in report.tiling if p.kind == "overlap")
    assert overlap.codes == (grid_code(0, 0), grid_code(0, 1))
    assert overlap.area_m2 == pytest.approx(5_000, rel=0.02)
    assert cell(0, 1).contains(shapely.Point(overlap.lon, overlap.lat))
    (line,) = _problem_lines(report, "网格重叠：")
    assert f"{grid_code(0, 0)} 网格001、{grid_code(0, 1)} 网格002 重叠" in line
    assert any(p.kind == "gap" for p in report.tiling)  # where the grid used to be


def test_cli_exits_non_zero_and_names_the_spot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("XIUHUA_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(app, ["init"]).exit_code == 0
        engine = make_engine(url)
        build_tiny_city(engine)
        ok = CliRunner().invoke(app, ["check", "coverage"])
        assert ok.exit_code == 0 and "责任覆盖完整" in ok.output
        _remove_grid(engine, grid_code(2, 2))
        engine.dispose()
        summary = CliRunner().invoke(app, ["check", "coverage"])
        assert summary.exit_code == 1
        assert "网格缝隙：" not in summary.output and "--details" in summary.output
        assert "按街道汇总：" in summary.output and "370181001 测试街道：" in summary.output
        assert "网格缝隙 1 处" in summary.output and "覆盖检查未通过" in summary.output
        failed = CliRunner().invoke(app, ["check", "coverage", "--details"])
        assert failed.exit_code == 1
        assert "网格缝隙：" in failed.output and f"{grid_code(1, 2)} 网格006" in failed.output
        assert "覆盖检查未通过" in failed.output
    finally:
        get_settings.cache_clear()
