"""Importing a component census (部件普查): points from GIS files or CSV, located in grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer
from shapely.geometry import Point
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tests.factories import build_tiny_city, center, grid_code
from tests.integration.test_regions import write_layer
from xiuhua.cli import app
from xiuhua.config import get_settings
from xiuhua.domain.errors import BatchInvalid
from xiuhua.domain.geo import wgs84_to_gcj02
from xiuhua.services.city import load_city
from xiuhua.services.components import ComponentRecord, import_components_file, save_components
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import components

MANHOLE = "37018101001000001"  # division 370181 + class 01001 供水井盖 + serial 000001
CABLE_COVER = "37018101009000002"  # class 01009 网络井盖


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def _rows(engine: Engine) -> dict[str, Any]:
    with transaction(engine) as session:
        return {r.code: r for r in session.execute(select(components))}


def test_geojson_points_are_located_in_their_grids(city_engine: Engine, tmp_path: Path) -> None:
    path = write_layer(
        tmp_path / "components.geojson",
        {"code": [MANHOLE, CABLE_COVER], "status": ["破损", "intact"], "owner_unit": ["U-HW", None],
         "maintainer_unit": ["U-ZF", "U-HW"], "name": ["一号井盖", None]},
        [Point(*center(0, 0)), Point(*center(2, 2))], geometry_type="Point")
    assert import_components_file(city_engine, path) == 2
    rows = _rows(city_engine)
    manhole, hydrant = rows[MANHOLE], rows[CABLE_COVER]
    assert (manhole.grid_code, manhole.class_code, manhole.status) == (grid_code(0, 0), "01001", "damaged")
    assert (manhole.owner_unit, manhole.maintainer_unit, manhole.name) == ("U-HW", "U-ZF", "一号井盖")
    assert (hydrant.grid_code, hydrant.status, hydrant.owner_unit) == (grid_code(2, 2), "intact", None)


def test_csv_with_gcj02_points_is_converted_to_wgs84(city_engine: Engine, tmp_path: Path) -> None:
    lon, lat = center(1, 2)
    glon, glat = wgs84_to_gcj02(lon, lat)  # ≈ 500 m away: would land outside the city unconverted
    path = tmp_path / "components.csv"
    path.write_text(f"部件编码,经度,纬度,坐标系,状态\n{MANHOLE},{glon},{glat},GCJ-02,丢失\n", encoding="utf-8")
    assert import_components_file(city_engine, path) == 1
    row = _rows(city_engine)[MANHOLE]
    assert row.grid_code == grid_code(1, 2) and row.status == "lost"
    assert row.lon == pytest.approx(lon, abs=1e-6) and row.lat == pytest.approx(lat, abs=1e-6)


def test_gbk_shapefile_in_gauss_kruger(city_engine: Engine, tmp_path: Path) -> None:
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)
    points = [Point(*to_gk.transform(*center(0, 1))), Point(*to_gk.transform(*center(1, 0)))]
    path = write_layer(tmp_path / "部件.shp", {"BJBM": [MANHOLE, CABLE_COVER], "名称": ["东门井盖", "西门网络井盖"],
                                              "状态": ["完好", "废弃"]},
                       points, crs="EPSG:4548", encoding="GBK", geometry_type="Point")
    path.with_suffix(".prj").unlink()
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert import_components_file(city_engine, path, src_crs="EPSG:4548", encoding="GBK") == 2
    rows = _rows(city_engine)
    assert (rows[MANHOLE].name, rows[MANHOLE].grid_code) == ("东门井盖", grid_code(0, 1))
    assert (rows[CABLE_COVER].status, rows[CABLE_COVER].grid_code) == ("abandoned", grid_code(1, 0))
    assert rows[MANHOLE].lon == pytest.approx(center(0, 1)[0], abs=1e-6)


def test_csv_in_a_projected_crs(city_engine: Engine, tmp_path: Path) -> None:
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True).transform(*center(2, 0))
    path = tmp_path / "components.csv"
    path.write_text(f"code,lon,lat\n{MANHOLE},{x},{y}\n", encoding="utf-8")
    assert import_components_file(city_engine, path, src_crs="EPSG:4548") == 1
    assert _rows(city_engine)[MANHOLE].grid_code == grid_code(2, 0)


def test_bad_records_are_named_one_per_line_and_nothing_is_imported(city_engine: Engine, tmp_path: Path) -> None:
    lon, lat = center(1, 1)
    lines = [
        f"{MANHOLE},{lon},{lat},完好,U-HW",        # line 2: fine
        f"37018199999000001,{lon},{lat},完好,",     # 3: unknown class
        f"3701810100100001,{lon},{lat},完好,",      # 4: 16 digits
        f"37018101001000003,{lon + 1},{lat},完好,",  # 5: outside the city
        f"37018101001000004,{lon},{lat},完好,U-NOPE",  # 6: unknown owner
        f"37018101001000005,{lon},{lat},坏了,",     # 7: unknown status
        f"{MANHOLE},{lon},{lat},完好,",             # 8: duplicate
        f"37018201001000006,{lon},{lat},完好,",     # 9: another division
        f"37018101001000007,abc,{lat},完好,",       # 10: not a number
    ]
    path = tmp_path / "components.csv"
    path.write_text("code,lon,lat,status,owner_unit\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BatchInvalid) as err:
        import_components_file(city_engine, path)
    problems = err.value.problems
    assert [p.split("（")[0] for p in problems] == [f"第 {n} 行" for n in range(3, 11)]
    expected = ["99999", "17 位", "不在本市", "U-NOPE", "坏了", "编码重复", "370182", "abc"]
    for problem, text in zip(problems, expected, strict=True):
        assert text in problem
    assert "（编码 37018101001000003）" in problems[2]
    assert _rows(city_engine) == {}


def test_a_polygon_is_not_a_component(city_engine: Engine, tmp_path: Path) -> None:
    path = write_layer(tmp_path / "c.geojson", {"code": [MANHOLE]}, [Point(*center(0, 0)).buffer(1e-5)])
    with pytest.raises(BatchInvalid) as err:
        import_components_file(city_engine, path)
    assert err.value.problems[0].startswith(f"要素 0（编码 {MANHOLE}）") and "不是点要素" in err.value.problems[0]


def test_reimport_updates_status_and_save_components_serves_the_demo(city_engine: Engine) -> None:
    lon, lat = center(0, 2)
    with transaction(city_engine) as session:
        city = load_city(session)
        assert save_components(session, city, [ComponentRecord(MANHOLE, lon, lat)]) == 1
    with transaction(city_engine) as session:
        city = load_city(session)
        save_components(session, city, [ComponentRecord(MANHOLE, lon, lat, status="removed",
                                                        maintainer_unit="U-HW")])
    row = _rows(city_engine)[MANHOLE]
    assert (row.status, row.maintainer_unit, row.grid_code) == ("removed", "U-HW", grid_code(0, 2))
    with transaction(city_engine) as session, pytest.raises(BatchInvalid) as err:
        save_components(session, load_city(session), [ComponentRecord(CABLE_COVER, float("nan"), lat)])
    assert err.value.problems[0].startswith(f"记录 0（编码 {CABLE_COVER}）")


def test_cli_imports_components(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("XIUHUA_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        CliRunner().invoke(app, ["init"])
        engine = make_engine(url)
        build_tiny_city(engine)
        lon, lat = center(1, 1)
        path = tmp_path / "c.csv"
        path.write_text(f"code,lon,lat\n{MANHOLE},{lon},{lat}\n{CABLE_COVER},{lon + 1},{lat}\n", encoding="utf-8")
        failed = CliRunner().invoke(app, ["import", "components", str(path)])
        assert failed.exit_code == 1 and "第 3 行（编码 37018101009000002）" in failed.output
        path.write_text(f"code,lon,lat\n{MANHOLE},{lon},{lat}\n", encoding="utf-8")
        ok = CliRunner().invoke(app, ["import", "components", str(path)])
        assert ok.exit_code == 0 and "已导入 1 个部件" in ok.output
        row = _rows(engine)[MANHOLE]
        assert (row.lon, row.lat) == pytest.approx((lon, lat), abs=1e-7)
        engine.dispose()
    finally:
        get_settings.cache_clear()
