"""`xiuhua demo --districts 3`: X市 as a prefecture city of three districts (the last a
development zone), each with its command center, beside the default county-level city."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.factories import cli_database, xiuhua
from xiuhua.domain.choices import RegionLevel, Role
from xiuhua.domain.errors import InvalidInput
from xiuhua.services import accounts
from xiuhua.services.coverage import coverage_report
from xiuhua.services.demo import DemoSummary, build_demo_city_on, plan_layout, plan_prefecture
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import regions


@pytest.fixture(scope="module")
def prefecture(tmp_path_factory: pytest.TempPathFactory,
               sqlite_template: Path) -> Iterator[tuple[Engine, DemoSummary]]:
    path = tmp_path_factory.mktemp("prefecture") / "xiuhua.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    summary = build_demo_city_on(engine, history=False, districts=3)
    yield engine, summary
    engine.dispose()


def test_three_districts_one_a_development_zone(prefecture: tuple[Engine, DemoSummary]) -> None:
    engine, summary = prefecture
    with transaction(engine) as session:
        found = {r.code: (r.name, r.kind, r.parent_code) for r in session.execute(
            select(regions).where(regions.c.level == RegionLevel.DISTRICT.value))}
        streets = session.execute(select(regions.c.code, regions.c.parent_code)
                                  .where(regions.c.level == RegionLevel.STREET.value)).all()
    assert found == {"370102": ("城中区", None, "370100"), "370103": ("城东区", None, "370100"),
                     "370171": ("X市高新技术产业开发区", "zone", "370100")}
    assert {parent for _, parent in streets} == set(found)
    assert all(code.startswith(parent) for code, parent in streets)
    text = str(summary)
    assert "区（县） 3 个（其一为开发区）" in text and "城中区指挥中心：acceptor_02、dispatcher_02、shift_02" in text


def test_each_district_is_covered_and_has_its_own_center(prefecture: tuple[Engine, DemoSummary]) -> None:
    engine, _ = prefecture
    with transaction(engine) as session:
        report = coverage_report(session)
        who = accounts.principal(session, "dispatcher_71")
    assert report.ok
    lines = list(report.district_lines())
    assert len(lines) == 3 and all("责任覆盖完整" in line for line in lines)
    assert who.role is Role.DISPATCHER and who.district_scope == "370171" and not who.sees_all


def test_the_districts_group_the_default_city_s_streets_and_grids() -> None:
    base, prefecture = plan_layout(), plan_prefecture(3)
    assert [len(s.cells) for s in base.streets] != [] and len(prefecture.districts) == 3
    assert sorted(len(s.cells) for s in base.streets) == sorted(len(s.cells) for s in prefecture.streets)
    assert len(base.grid_cells()) == len(prefecture.grid_cells())
    assert base.code == "370199"  # the default demo is unchanged


def test_a_district_count_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidInput, match="区（县）数须在 2 到") as refused:
        plan_prefecture(1)
    assert refused.value.code == "invalid_districts"


def test_the_command_builds_the_prefecture_and_refuses_a_bad_count_before_wiping(
        sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in cli_database(sqlite_engine, tmp_path / "data", monkeypatch):
        refused = xiuhua("demo", "--districts", "1", "--no-history")
        assert refused.exit_code != 0 and "invalid_districts" in refused.output
        built = xiuhua("demo", "--districts", "3", "--no-history")
        assert built.exit_code == 0, built.output
        assert "区（县） 3 个（其一为开发区）" in built.output and "acceptor_71" in built.output
