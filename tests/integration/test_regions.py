"""Importing regions (市 → 街道 → 社区 → 单元网格) from the GIS files cities actually have."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyogrio import raw
from pyproj import Geod, Transformer
from shapely.geometry import Polygon, mapping
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from tests.factories import CITY, COMM_A, build_tiny_city, features, grid_code
from xiuhua.cli import app
from xiuhua.config import get_settings
from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.services.city import load_city
from xiuhua.services.regions import import_regions_file
from xiuhua.store import city as store
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import regions

GEOD = Geod(ellps="WGS84")


def write_layer(path: Path, columns: dict[str, Sequence[Any]], geoms: Sequence[Any], *,
                crs: str | None = "EPSG:4326", encoding: str | None = None,
                geometry_type: str = "Polygon") -> Path:
    """Write a GIS file (driver from the suffix) the way a city's GIS office would."""
    fields = [np.array(list(values), dtype=object) for values in columns.values()]
    raw.write(path, np.array([shapely.to_wkb(g) for g in geoms], dtype=object), fields,
              list(columns), geometry_type=geometry_type, crs=crs, encoding=encoding)
    return path


def tiny_city_columns(code: str = "code", name: str = "name",
                      region_class: str = "region_class") -> tuple[dict[str, list[Any]], list[Any]]:
    feats = features()
    columns = {code: [f.code for f in feats], name: [f.name for f in feats],
               region_class: ["一类" if f.region_class else None for f in feats]}
    return columns, [f.geometry for f in feats]


def geojson(path: Path, items: list[tuple[dict[str, Any], Any]]) -> Path:
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": props,
                         "geometry": geom if isinstance(geom, dict) else mapping(geom)}
                        for props, geom in items]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.execute(select(func.count()).select_from(regions)).scalar_one())


def _names(engine: Engine) -> dict[str, str]:
    with transaction(engine) as session:
        return {code: name for code, name in session.execute(select(regions.c.code, regions.c.name))}


def _vertices_within(stored: Any, original: Any, metres: float) -> bool:
    """Every vertex of the original lies within ``metres`` of a stored vertex (geodesic)."""
    got = shapely.get_coordinates(stored)
    for lon, lat in shapely.get_coordinates(original):
        _az, _baz, dist = GEOD.inv(np.full(len(got), lon), np.full(len(got), lat), got[:, 0], got[:, 1])
        if float(np.min(dist)) > metres:
            return False
    return True


def test_geojson_in_wgs84_builds_the_region_tree(engine: Engine, tmp_path: Path) -> None:
    columns, geoms = tiny_city_columns()
    path = write_layer(tmp_path / "regions.geojson", columns, geoms)
    assert import_regions_file(engine, path) == 13
    with transaction(engine) as session:
        city = load_city(session)
    grid = city.regions[grid_code(1, 1)]
    assert grid.level.value == "grid" and grid.region_class == 1
    assert grid.parent_code == "370181001001"
    assert grid.area_m2 == pytest.approx(10_000, rel=0.01)
    assert city.areas(grid_code(1, 2)) == [grid_code(1, 2), "370181001002", "370181001", CITY]
    assert city.regions[CITY].name == "测试市"


def test_gbk_shapefile_in_gauss_kruger_without_prj(engine: Engine, tmp_path: Path) -> None:
    """CGCS2000 3° Gauss–Krüger (EPSG:4548, CM 117°E), GBK names, no .prj and no .cpg."""
    columns, geoms = tiny_city_columns(code="WGBM", name="名称", region_class="区域类别")
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)
    projected = shapely.transform(np.array(geoms, dtype=object),
                                  lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))
    path = write_layer(tmp_path / "网格.shp", columns, list(projected), crs="EPSG:4548", encoding="GBK")
    path.with_suffix(".prj").unlink()
    path.with_suffix(".cpg").unlink(missing_ok=True)

    with pytest.raises(InvalidInput) as no_crs:
        import_regions_file(engine, path, encoding="GBK")
    assert no_crs.value.code == "missing_crs" and "--src-crs" in str(no_crs.value)
    with pytest.raises(InvalidInput) as no_encoding:
        import_regions_file(engine, path, src_crs="EPSG:4548")
    assert no_encoding.value.code == "invalid_encoding" and "GBK" in str(no_encoding.value)
    assert _count(engine) == 0

    assert import_regions_file(engine, path, src_crs="EPSG:4548", encoding="GBK") == 13
    assert _names(engine)[COMM_A] == "东风社区"
    with transaction(engine) as session:
        for f in features():
            assert _vertices_within(store.region_geometry(session, f.code), f.geometry, 0.5), f.code


def test_geopackage_with_chinese_gis_field_names(engine: Engine, tmp_path: Path) -> None:
    columns, geoms = tiny_city_columns(code="SZDYWGBSM", name="mc", region_class="QYLB")
    columns["QYLB"] = ["二类" if v else None for v in columns["QYLB"]]
    path = write_layer(tmp_path / "regions.gpkg", columns, geoms, crs="EPSG:4490")
    assert import_regions_file(engine, path) == 13
    with transaction(engine) as session:
        city = load_city(session)
    assert city.regions[grid_code(2, 2)].region_class == 2
    assert city.grid_index.locate(117.0005, 36.6495) == grid_code(0, 0)


def test_bad_features_are_named_one_per_line_and_nothing_changes(engine: Engine, tmp_path: Path) -> None:
    build_tiny_city(engine)
    before = _names(engine)
    lon, lat = 117.0, 36.65
    bow_tie = {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.001, lat - 0.001],
                                                   [lon + 0.001, lat], [lon, lat - 0.001], [lon, lat]]]}
    square = Polygon([(lon, lat), (lon + 0.001, lat), (lon + 0.001, lat - 0.001), (lon, lat - 0.001)])
    path = geojson(tmp_path / "bad.geojson", [
        ({"code": CITY, "name": "改名的市"}, square),
        ({"code": grid_code(0, 0), "name": "蝴蝶网格"}, bow_tie),
        ({"code": grid_code(0, 1), "name": "错父网格", "parent_code": "370181001002"}, square),
    ])
    with pytest.raises(BatchInvalid) as err:
        import_regions_file(engine, path)
    assert len(err.value.problems) == 2
    first, second = err.value.problems
    assert first.startswith(f"要素 1（编码 {grid_code(0, 0)}）") and "自相交" in first
    assert second.startswith(f"要素 2（编码 {grid_code(0, 1)}）") and "370181001002" in second
    assert _names(engine) == before


def test_reimport_updates_names(engine: Engine, tmp_path: Path) -> None:
    columns, geoms = tiny_city_columns()
    import_regions_file(engine, write_layer(tmp_path / "v1.geojson", columns, geoms))
    columns["name"][2] = "东方红社区"
    assert import_regions_file(engine, write_layer(tmp_path / "v2.geojson", columns, geoms)) == 13
    assert _names(engine)[COMM_A] == "东方红社区"
    assert _count(engine) == 13


def test_reading_errors_are_clear(engine: Engine, tmp_path: Path) -> None:
    garbage = tmp_path / "broken.geojson"
    garbage.write_text("{ this is not json", encoding="utf-8")
    no_name = write_layer(tmp_path / "no_name.geojson", {"code": [CITY]}, [features()[0].geometry])
    columns, geoms = tiny_city_columns()
    good = write_layer(tmp_path / "good.geojson", columns, geoms)
    cases = [
        (lambda: import_regions_file(engine, garbage), "unreadable_file", "broken.geojson"),
        (lambda: import_regions_file(engine, no_name), "missing_columns", "名称"),
        (lambda: import_regions_file(engine, good, src_crs="EPSG:999999"), "invalid_crs", "EPSG:999999"),
        (lambda: import_regions_file(engine, good, encoding="NOPE-1"), "invalid_encoding", "NOPE-1"),
    ]
    for call, code, text in cases:
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.code == code and text in str(err.value)
    assert _count(engine) == 0


def test_cli_imports_a_shapefile_and_prints_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIUHUA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    try:
        columns, geoms = tiny_city_columns()
        with pytest.warns(RuntimeWarning, match="region_cla"):  # .dbf names have 10 characters
            path = write_layer(tmp_path / "regions.shp", columns, geoms, encoding="UTF-8")
        ok = CliRunner().invoke(app, ["import", "regions", str(path), "--encoding", "UTF-8"])
        assert ok.exit_code == 0, ok.output
        assert "已导入 13 个区域" in ok.output
        engine = make_engine(get_settings().effective_database_url)
        with transaction(engine) as session:
            assert load_city(session).regions[grid_code(1, 1)].region_class == 1
        engine.dispose()
        bad = geojson(tmp_path / "bad.geojson", [({"code": "12345", "name": "短编码"}, geoms[0])])
        failed = CliRunner().invoke(app, ["import", "regions", str(bad)])
        assert failed.exit_code == 1
        assert "要素 0（编码 12345）" in failed.output
    finally:
        get_settings.cache_clear()
