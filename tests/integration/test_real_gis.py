"""Real GIS data as a city's GIS office hands it over: a prefecture's districts, streets and
communities with land-survey field names (XZQDM/XZQMC) and ``156``-prefixed codes, one
self-intersecting polygon and one community split into two features; the same as a GBK
Shapefile in a CGCS2000 Gauss–Krüger zone; then grids cut from the communities and the
coverage check.

The fixture's ``JB`` column gives each region's level (``--level-field JB``): the prefecture city
(330100, listed last as some exports do), its districts (330106 西湖区-like, 330105) and their
streets and communities; ``check coverage`` then proves the matrix per district."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyogrio import raw
from pyproj import Geod, Transformer
from shapely.geometry import Polygon, box, mapping
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from xiuhua.cli import app
from xiuhua.config import get_settings
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import from_wgs84
from xiuhua.services.city import load_city
from xiuhua.services.regions import RegionFileOptions, import_regions, read_regions_file
from xiuhua.store import city as store
from xiuhua.store.db import make_engine, transaction

LON0, LAT0 = 120.10, 30.25  # the south-west corner; CGCS2000 3° zone 40 (central meridian 120°E)
U_LON, U_LAT = 0.0010384, 0.0009019  # ≈ 100 m at this latitude
GEOD = Geod(ellps="WGS84")


def rect(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A rectangle in units of 100 m east and north of the corner."""
    return box(LON0 + x0 * U_LON, LAT0 + y0 * U_LAT, LON0 + x1 * U_LON, LAT0 + y1 * U_LAT)


def spiked(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """The rectangle with a zero-width spike into it: digitised back and forth, it self-intersects."""
    xm, ym = LON0 + (x0 + 0.5) * U_LON, LAT0 + (y0 + y1) / 2 * U_LAT
    xa, ya0, ya1 = LON0 + x0 * U_LON, LAT0 + y0 * U_LAT, LAT0 + y1 * U_LAT
    xb = LON0 + x1 * U_LON
    return Polygon([(xa, ya0), (xb, ya0), (xb, ya1), (xa, ya1), (xa, ym), (xm, ym), (xa, ym)])


# (XZQDM, XZQMC, JB, geometry): a city, 2 districts, 3 streets, 4 communities (11 features).
FEATURES: list[tuple[str, str, str, Any]] = [
    ("156330106", "西溪区", "district", rect(0, 0, 6, 6)),
    ("156330105", "拱桥区", "district", rect(6, 0, 9, 6)),
    ("156330106001", "北山街道", "street", rect(0, 3, 6, 6)),
    ("156330106002", "南山街道", "street", rect(0, 0, 6, 3)),
    ("156330105001", "运河街道", "street", rect(6, 0, 9, 6)),
    ("156330106001001", "曙光社区", "community", rect(0, 3, 3, 6)),
    ("156330106001002", "玉泉社区", "community", rect(3, 3, 6, 6)),
    ("156330106002001", "龙井社区", "community", rect(0, 0, 3, 3)),  # split in two parts …
    ("156330106002001", "龙井社区", "community", rect(3, 0, 6, 3)),  # … sharing one code
    ("156330105001001", "小河社区", "community", spiked(6, 0, 9, 6)),  # self-intersecting
    ("156330100", "西溪市", "city", rect(0, 0, 9, 6)),  # the prefecture city itself
]
SPIKED_INDEX = 9


def geojson(path: Path, features: list[tuple[str, str, str, Any]] = FEATURES) -> Path:
    doc = {"type": "FeatureCollection",
           "features": [{"type": "Feature", "properties": {"XZQDM": code, "XZQMC": name, "JB": level},
                         "geometry": mapping(geom)} for code, name, level, geom in features]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def gk_shapefile(path: Path, epsg: str) -> Path:
    """The same data projected to ``epsg`` (a CGCS2000 Gauss–Krüger zone), GBK, no .prj."""
    to_gk = Transformer.from_crs("EPSG:4326", epsg, always_xy=True)
    geoms = shapely.transform(np.array([g for *_, g in FEATURES], dtype=object),
                              lambda xy: np.column_stack(to_gk.transform(xy[:, 0], xy[:, 1])))
    fields = [np.array([f[i] for f in FEATURES], dtype=object) for i in range(3)]
    raw.write(path, np.array([shapely.to_wkb(g) for g in geoms], dtype=object), fields,
              ["XZQDM", "XZQMC", "JB"], geometry_type="Polygon", crs=epsg, encoding="GBK")
    path.with_suffix(".prj").unlink()
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


def gk_options(epsg: str) -> RegionFileOptions:
    """The flags for :func:`gk_shapefile`'s file declared in ``epsg``."""
    return RegionFileOptions(src_crs=epsg, encoding="GBK", level_field="JB", repair=True, merge_parts=True)


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("XIUHUA_DATABASE_URL", url)
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    engine = make_engine(url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def xiuhua(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def write_city_rules(tmp_path: Path) -> tuple[Path, Path]:
    units = tmp_path / "units.csv"
    units.write_text("code,name,kind,region_code\n"
                     "U-XX,西溪区城管局,department,330106\nU-GQ,拱桥区城管局,department,330105\n",
                     encoding="utf-8")
    rules = tmp_path / "rules.csv"
    rules.write_text("scope,category,region_code,unit_code\nany,,330106,U-XX\nany,,330105,U-GQ\n",
                     encoding="utf-8")
    return units, rules


def test_prefecture_data_imports_with_the_flags_then_grids_and_coverage(cli_db: Engine, tmp_path: Path) -> None:
    path = geojson(tmp_path / "行政区.geojson")

    flags = ("--level-field", "JB")
    unrepaired = xiuhua("import", "regions", str(path), *flags, "--merge-parts")
    assert unrepaired.exit_code == 1
    assert f"要素 {SPIKED_INDEX}（编码 330105001001）" in unrepaired.output  # its number in the file
    assert "自相交" in unrepaired.output and "--repair" in unrepaired.output
    unmerged = xiuhua("import", "regions", str(path), *flags, "--repair")
    assert unmerged.exit_code == 1
    assert "330106002001" in unmerged.output and "要素 7、8" in unmerged.output
    assert "--merge-parts" in unmerged.output

    done = xiuhua("import", "regions", str(path), *flags, "--repair", "--merge-parts")
    assert done.exit_code == 0, done.output
    assert "使用字段：编码 XZQDM；名称 XZQMC；层级 JB" in done.output
    assert "国家代码前缀 156" in done.output
    assert f"已修复要素 {SPIKED_INDEX}（编码 330105001001）：自相交" in done.output
    assert "已合并编码 330106002001 的 2 个要素（7、8）" in done.output
    assert "已导入 10 个区域" in done.output
    with transaction(cli_db) as session:
        city = load_city(session)
        stored = {code: (info.level.value, info.parent_code) for code, info in city.regions.items()}
        assert stored == {
            "330100": ("city", None),
            "330106": ("district", "330100"), "330105": ("district", "330100"),
            "330106001": ("street", "330106"), "330106002": ("street", "330106"),
            "330105001": ("street", "330105"),
            "330106001001": ("community", "330106001"), "330106001002": ("community", "330106001"),
            "330106002001": ("community", "330106002"), "330105001001": ("community", "330105001"),
        }
        assert city.regions["330106002001"].area_m2 == pytest.approx(180_000, rel=0.01)
        assert city.regions["330105001001"].area_m2 == pytest.approx(180_000, rel=0.01)  # spike dropped
        assert store.region_geometry(session, "330106002001").geom_type == "Polygon"

    units, rules = write_city_rules(tmp_path)
    no_grids_yet = xiuhua("check", "coverage")
    assert no_grids_yet.exit_code == 1 and "尚未导入任何单元网格" in no_grids_yet.output

    made = xiuhua("make", "grids", "--size", "100")
    assert made.exit_code == 0, made.output
    assert "社区 330106001001 曙光社区：9 个网格" in made.output
    assert "社区 330106002001 龙井社区：18 个网格" in made.output
    assert "已生成 54 个单元网格（4 个社区）" in made.output
    assert "没有需要划分网格的社区" in xiuhua("make", "grids", "--size", "100").output

    no_rules = xiuhua("check", "coverage")
    assert no_rules.exit_code == 1
    assert no_rules.output.count("尚未设置任何责任规则") == 1 and "责任缺失：" not in no_rules.output
    for shown in (no_rules.output, xiuhua("check", "coverage", "--details").output):
        assert shown.count("尚未设置任何责任规则") == 1
        assert "责任缺失" not in shown and "按事项汇总" not in shown and "区（县）" not in shown

    assert xiuhua("import", "units", str(units)).exit_code == 0
    west_only = tmp_path / "west.csv"
    west_only.write_text(rules.read_text(encoding="utf-8").splitlines()[0] + "\nany,,330106,U-XX\n",
                         encoding="utf-8")
    assert xiuhua("import", "rules", str(west_only)).exit_code == 0
    half = xiuhua("check", "coverage")
    assert half.exit_code == 1
    assert "按事项汇总：" in half.output and "按街道汇总：" in half.output
    assert re.search(r"  330105001 运河街道：责任缺失 \d+ 处", half.output), half.output
    assert "330106001 北山街道" not in half.output  # covered streets are not listed
    assert re.search(r"区（县） 330105 拱桥区：18 个单元网格，责任缺失 \d+ 处、责任重叠 0 处", half.output)
    assert "区（县） 330106 西溪区：36 个单元网格，责任覆盖完整" in half.output
    assert "责任缺失：" not in half.output and "--details" in half.output
    listed = xiuhua("check", "coverage", "--details")
    assert "责任缺失：事项 " in listed.output and "网格 330105001001001 " in listed.output
    assert "网格 330106" not in listed.output
    assert "按街道汇总：" in listed.output and "区（县） 330105 拱桥区" in listed.output
    assert xiuhua("import", "rules", str(rules)).exit_code == 0
    covered = xiuhua("check", "coverage")
    assert covered.exit_code == 0, covered.output
    matters = re.search(r"责任覆盖完整：(\d+) 个事项 × 54 个单元网格", covered.output)
    assert matters is not None, covered.output
    assert f"区（县） 330105 拱桥区：18 个单元网格，责任覆盖完整（{matters[1]} 个事项）" in covered.output
    assert f"区（县） 330106 西溪区：36 个单元网格，责任覆盖完整（{matters[1]} 个事项）" in covered.output


def test_grids_are_numbered_in_row_order_and_slivers_merged(cli_db: Engine, tmp_path: Path) -> None:
    assert xiuhua("import", "regions", str(geojson(tmp_path / "a.geojson")), "--repair",
                  "--merge-parts").exit_code == 0
    made = xiuhua("make", "grids", "--size", "130", "--community", "330106001001")
    assert made.exit_code == 0, made.output
    with transaction(cli_db) as session:
        city = load_city(session)
        grids = sorted(c for c in city.grid_index.codes if c.startswith("330106001001"))
        geoms = [city.grid_index.geometry(c) for c in grids]
    # 300 m ÷ 130 m: columns and rows of 130, 130 and 40 m; the 40 m strips (31 %) stay, the
    # 40 × 40 m corner (9 %) joins a neighbour: 8 grids …
    assert grids == [f"330106001001{i:03d}" for i in range(1, 9)]
    centres = [shapely.centroid(g) for g in geoms]
    assert centres[0].y > centres[3].y > centres[6].y  # rows run north to south
    assert centres[0].x < centres[1].x < centres[2].x  # west to east within a row
    assert shapely.union_all(geoms).symmetric_difference(rect(0, 3, 3, 6)).area < 1e-12
    # … while 140 m leaves 20 m strips (14 %), all merged into their neighbours: 2 × 2.
    again = xiuhua("make", "grids", "--size", "140", "--community", "330106001002")
    assert "330106001002 玉泉社区：4 个网格" in again.output
    refused = xiuhua("make", "grids", "--size", "100", "--community", "330106001001")
    assert refused.exit_code == 1 and "已有单元网格" in refused.output


def test_a_community_needing_more_than_999_grids_is_refused_with_the_size_that_fits(
        cli_db: Engine, tmp_path: Path) -> None:
    big = [("330106", "西溪区", "", rect(0, 0, 40, 40)), ("330106001", "北山街道", "", rect(0, 0, 40, 40)),
           ("330106001001", "大社区", "", rect(0, 0, 40, 40))]
    assert xiuhua("import", "regions", str(geojson(tmp_path / "big.geojson", big))).exit_code == 0
    refused = xiuhua("make", "grids", "--size", "100")
    assert refused.exit_code == 1
    found = re.search(r"需要 (\d+) 个网格，边长至少 (\d+) 米", refused.output)
    assert found is not None, refused.output
    assert int(found[1]) == 1600 and int(found[2]) == 130  # ⌈√(16 km² / 999)⌉ = 127 m → 130 m
    assert xiuhua("make", "grids", "--size", found[2]).exit_code == 0


def test_gbk_shapefile_in_a_gauss_kruger_zone_and_the_wrong_zone(engine: Engine, tmp_path: Path) -> None:
    shp = gk_shapefile(tmp_path / "行政区.shp", "EPSG:4549")  # zone 40, no zone prefix

    with pytest.raises(InvalidInput) as wrong_zone:  # zone 39 declared: ~3° west, outside 浙江
        import_regions(engine, shp, gk_options("EPSG:4548"))
    message = str(wrong_zone.value)
    assert wrong_zone.value.code == "out_of_place"
    assert "经度 117." in message and "浙江省" in message and "带号不对" in message
    assert "EPSG:4549（120°E）" in message
    with transaction(engine) as session:
        assert load_city(session).regions == {}

    result = import_regions(engine, shp, gk_options("EPSG:4549"))
    assert result.count == 10
    with transaction(engine) as session:
        city = load_city(session)
        assert city.regions["330106001001"].name == "曙光社区"
        stored = store.region_geometry(session, "330106001001")
    original = shapely.get_coordinates(rect(0, 3, 3, 6))
    for lon, lat in shapely.get_coordinates(stored):
        _az, _baz, dist = GEOD.inv(original[:, 0], original[:, 1], np.full(len(original), lon),
                                   np.full(len(original), lat))
        assert float(np.min(dist)) < 0.5


def test_a_zone_prefix_that_contradicts_the_crs_names_the_right_one(engine: Engine, tmp_path: Path) -> None:
    shp = gk_shapefile(tmp_path / "带号.shp", "EPSG:4528")  # zone 40 with the 40xxxxxx prefix
    with pytest.raises(InvalidInput) as wrong:
        import_regions(engine, shp, gk_options("EPSG:4527"))
    assert wrong.value.code == "out_of_place"
    assert "带号 40" in str(wrong.value) and "应为 EPSG:4528" in str(wrong.value)
    with pytest.raises(InvalidInput) as unprefixed:
        import_regions(engine, shp, gk_options("EPSG:4549"))
    assert unprefixed.value.code in ("out_of_place", "invalid_regions")


def test_gcj02_polygons_are_shifted_back_to_wgs84(engine: Engine, tmp_path: Path) -> None:
    def to_gcj(g: Any) -> Any:
        return shapely.transform(g, lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], "gcj02")))

    shifted = [(code, name, level, to_gcj(geom)) for code, name, level, geom in FEATURES]
    path = geojson(tmp_path / "gcj.geojson", shifted)
    result = import_regions(engine, path, RegionFileOptions(src_crs="gcj02", level_field="JB", repair=True,
                                                            merge_parts=True))
    assert result.count == 10
    with transaction(engine) as session:
        stored = store.region_geometry(session, "330106001002")
    assert shapely.hausdorff_distance(stored, rect(3, 3, 6, 6)) < 1e-6  # ≈ 0.1 m


def test_codes_outside_the_table_must_lie_in_china_or_near_existing_regions(engine: Engine, tmp_path: Path) -> None:
    far = [("990101", "某地", "", box(10.0, 50.0, 10.01, 50.01))]  # no such province; in Europe
    with pytest.raises(InvalidInput) as refused:
        import_regions(engine, geojson(tmp_path / "far.geojson", far), RegionFileOptions())
    assert refused.value.code == "out_of_place" and "中国的范围" in str(refused.value)
    near = [("990101", "某地", "", rect(0, 0, 1, 1))]
    assert import_regions(engine, geojson(tmp_path / "near.geojson", near), RegionFileOptions()).count == 1


def test_the_level_field_is_passed_through(tmp_path: Path) -> None:
    """The districts branch reads ``level``; here only that the chosen column arrives, unprefixed."""
    features = read_regions_file(geojson(tmp_path / "l.geojson"),
                                 options=RegionFileOptions(level_field="JB", code_field="XZQDM",
                                                           name_field="xzqmc", repair=True, merge_parts=True))
    by_code = {f.code: f.level for f in features}
    assert by_code["330106"] == "district" and by_code["330106001001"] == "community"
    with pytest.raises(InvalidInput) as missing:
        read_regions_file(geojson(tmp_path / "m.geojson"), options=RegionFileOptions(level_field="LEVEL_X"))
    assert "LEVEL_X" in str(missing.value) and "XZQDM" in str(missing.value)


def test_parent_codes_lose_the_country_prefix_with_the_codes(tmp_path: Path) -> None:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"XZQDM": "156330106001", "XZQMC": "北山街道", "SJBM": "156330106"},
         "geometry": mapping(rect(0, 3, 6, 6))}]}
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (street,) = read_regions_file(path)
    assert (street.code, street.parent_code) == ("330106001", "330106")


def test_a_four_digit_prefecture_code_keeps_the_prefix_rule_and_levels(engine: Engine, tmp_path: Path) -> None:
    """A dataset whose prefecture city has a 4-digit code (1563301): the prefix is still dropped
    from every code and parent code, and the district sits under the 4-digit city."""
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"XZQDM": code, "XZQMC": name, "JB": level, "SJBM": parent},
         "geometry": mapping(geom)}
        for code, name, level, parent, geom in [
            ("1563301", "西溪市", "市", None, rect(0, 0, 6, 6)),
            ("156330106", "西溪区", "区", "1563301", rect(0, 0, 6, 6)),
            ("156330106001", "北山街道", "街道", "156330106", rect(0, 0, 6, 6))]]}
    path = tmp_path / "4.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = import_regions(engine, path, RegionFileOptions(level_field="JB"))
    assert result.count == 3 and any("前缀 156" in note for note in result.notes)
    with transaction(engine) as session:
        city = load_city(session)
    assert city.regions["330106"].level.value == "district" and city.regions["330106"].parent_code == "3301"
    assert city.regions["330106001"].parent_code == "330106"
