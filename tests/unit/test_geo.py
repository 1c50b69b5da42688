"""Tests of xiuhua.domain.geo: coordinate systems, grid index, areas, reprojection, tiling."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import prcoords
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod
from shapely import MultiPolygon, Polygon

from xiuhua.domain import geo
from xiuhua.domain.errors import InvalidInput

GEOD = Geod(ellps="WGS84")
LON0, LAT0 = 117.0, 36.65
SIDE_M = 100.0
# Degrees spanning 100 m east and north of (LON0, LAT0).
DLON = GEOD.fwd(LON0, LAT0, 90.0, SIDE_M)[0] - LON0
DLAT = GEOD.fwd(LON0, LAT0, 0.0, SIDE_M)[1] - LAT0
XS = LON0 + DLON * np.arange(4)
YS = LAT0 + DLAT * np.arange(4)

Grids = list[tuple[str, Polygon | MultiPolygon]]


def code(row: int, col: int) -> str:
    return f"370102001{row}{col}"


def square(row: int, col: int, shift_east_m: float = 0.0) -> Polygon:
    shift = DLON * shift_east_m / SIDE_M
    return shapely.box(XS[col] + shift, YS[row], XS[col + 1] + shift, YS[row + 1])


@pytest.fixture
def tiling() -> Grids:
    """A 3×3 tiling of ~100 m squares; row 0 is south, column 0 is west."""
    return [(code(r, c), square(r, c)) for r in range(3) for c in range(3)]


@pytest.fixture
def index(tiling: Grids) -> geo.GridIndex:
    return geo.GridIndex(tiling)


def dist_m(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def random_china(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 53.0, n)


def prc(fn: object, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a prcoords (lat, lon) function point by point; return (lons, lats)."""
    out = np.array([fn((lat, lon)) for lon, lat in zip(lons, lats, strict=True)])  # type: ignore[operator]
    return out[:, 1], out[:, 0]


# ------------------------------------------------------------------------------ CoordSys


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wgs84", geo.CoordSys.WGS84),
        ("WGS-84", geo.CoordSys.WGS84),
        (" GCJ02 ", geo.CoordSys.GCJ02),
        ("gcj_02", geo.CoordSys.GCJ02),
        ("BD09", geo.CoordSys.BD09),
        (geo.CoordSys.BD09, geo.CoordSys.BD09),
    ],
)
def test_coord_sys_parse(text: str, expected: geo.CoordSys) -> None:
    assert geo.CoordSys.parse(text) is expected


def test_coord_sys_parse_rejects_unknown() -> None:
    with pytest.raises(InvalidInput) as exc:
        geo.CoordSys.parse("mercator")
    assert exc.value.code == "invalid_coord_sys"


def test_coord_sys_has_chinese_labels() -> None:
    assert "百度" in geo.CoordSys.BD09.label
    assert all(member.label for member in geo.CoordSys)


# ------------------------------------------------------------------------------ conversions


def test_wgs84_to_gcj02_matches_prcoords() -> None:
    lons, lats = random_china(3000, seed=1)
    got = geo.wgs84_to_gcj02(lons, lats)
    ref = prc(prcoords.wgs_gcj, lons, lats)
    assert dist_m(*got, *ref).max() < 0.5


def test_gcj02_to_wgs84_matches_prcoords() -> None:
    lons, lats = random_china(3000, seed=2)
    got = geo.gcj02_to_wgs84(lons, lats)
    ref = prc(prcoords.gcj_wgs_bored, lons, lats)
    assert dist_m(*got, *ref).max() < 0.5


def test_bd09_matches_prcoords_both_ways() -> None:
    lons, lats = random_china(3000, seed=3)
    assert dist_m(*geo.gcj02_to_bd09(lons, lats), *prc(prcoords.gcj_bd, lons, lats)).max() < 0.5
    assert dist_m(*geo.bd09_to_gcj02(lons, lats), *prc(prcoords.bd_gcj_bored, lons, lats)).max() < 0.5
    assert dist_m(*geo.from_wgs84(lons, lats, "bd09"), *prc(prcoords.wgs_bd, lons, lats)).max() < 0.5
    assert dist_m(*geo.to_wgs84(lons, lats, "bd09"), *prc(prcoords.bd_wgs_bored, lons, lats)).max() < 0.5


def test_round_trips_are_below_a_centimetre() -> None:
    lons, lats = random_china(5000, seed=4)
    assert dist_m(*geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lons, lats)), lons, lats).max() < 0.01
    assert dist_m(*geo.wgs84_to_gcj02(*geo.gcj02_to_wgs84(lons, lats)), lons, lats).max() < 0.01
    assert dist_m(*geo.bd09_to_gcj02(*geo.gcj02_to_bd09(lons, lats)), lons, lats).max() < 0.01
    for cs in geo.CoordSys:
        assert dist_m(*geo.to_wgs84(*geo.from_wgs84(lons, lats, cs), cs), lons, lats).max() < 0.01


@settings(derandomize=True, deadline=None, max_examples=200)
@given(lon=st.floats(73.0, 135.0), lat=st.floats(18.0, 53.0), cs=st.sampled_from(list(geo.CoordSys)))
def test_round_trip_scalar_property(lon: float, lat: float, cs: geo.CoordSys) -> None:
    back_lon, back_lat = geo.to_wgs84(*geo.from_wgs84(lon, lat, cs), cs)
    assert dist_m(back_lon, back_lat, lon, lat) < 0.01


def test_gcj_offset_is_plausible_in_beijing() -> None:
    lon, lat = geo.wgs84_to_gcj02(116.397, 39.909)
    assert 100.0 < dist_m(lon, lat, 116.397, 39.909) < 1000.0


@pytest.mark.parametrize(("lon", "lat"), [(2.3522, 48.8566), (-74.006, 40.7128), (139.69, 35.69), (100.5, 0.5)])
def test_out_of_china_is_unchanged_by_gcj02(lon: float, lat: float) -> None:
    assert geo.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert geo.gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert geo.from_wgs84(lon, lat, "gcj02") == (lon, lat)


def test_scalars_in_scalars_out_arrays_in_arrays_out() -> None:
    lon, lat = geo.wgs84_to_gcj02(LON0, LAT0)
    assert type(lon) is float and type(lat) is float
    lons, lats = geo.wgs84_to_gcj02(np.array([LON0, 120.0]), np.array([LAT0, 30.0]))
    assert isinstance(lons, np.ndarray) and lons.shape == (2,)
    assert lons[0] == lon and lats[0] == lat
    same_lon, same_lat = geo.to_wgs84(LON0, LAT0, "wgs84")
    assert (same_lon, same_lat) == (LON0, LAT0)


def test_vectorised_equals_scalar() -> None:
    lons, lats = random_china(50, seed=5)
    vec = geo.gcj02_to_wgs84(lons, lats)
    for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        assert geo.gcj02_to_wgs84(float(lon), float(lat)) == (vec[0][i], vec[1][i])


def test_nan_passes_through_conversions() -> None:
    lons, lats = geo.gcj02_to_wgs84(np.array([math.nan, LON0]), np.array([math.nan, LAT0]))
    assert math.isnan(lons[0]) and math.isnan(lats[0])
    assert math.isfinite(lons[1]) and math.isfinite(lats[1])


def test_from_wgs84_rejects_unknown_coord_sys() -> None:
    with pytest.raises(InvalidInput) as exc:
        geo.from_wgs84(LON0, LAT0, "utm")
    assert exc.value.code == "invalid_coord_sys"


# ------------------------------------------------------------------------------ validation


def test_validate_lonlat_accepts_and_normalises() -> None:
    assert geo.validate_lonlat(117, "36.65") == (117.0, 36.65)
    assert geo.validate_lonlat(-180, 90) == (-180.0, 90.0)


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (math.nan, 30.0),
        (120.0, math.inf),
        (180.5, 30.0),
        (-181.0, 0.0),
        (120.0, 90.01),
        (120.0, -91.0),
        ("x", 1),
        (None, 1),
    ],
)
def test_validate_lonlat_rejects(lon: object, lat: object) -> None:
    with pytest.raises(InvalidInput) as exc:
        geo.validate_lonlat(lon, lat)
    assert exc.value.code == "invalid_coordinates"


# ------------------------------------------------------------------------------ grid index


def test_locate_inside(index: geo.GridIndex) -> None:
    centre_lon, centre_lat = (XS[1] + XS[2]) / 2, (YS[1] + YS[2]) / 2
    assert index.locate(centre_lon, centre_lat) == code(1, 1)
    assert index.locate(XS[0] + DLON * 0.1, YS[2] + DLAT * 0.9) == code(2, 0)


def test_locate_outside(index: geo.GridIndex) -> None:
    assert index.locate(XS[3] + DLON * 0.01, YS[1]) is None
    assert index.locate(116.0, 36.0) is None


def test_locate_shared_edge_and_corner_lowest_code_wins(index: geo.GridIndex) -> None:
    # Edge between (1, 1) and (1, 2): the west one has the lower code.
    assert index.locate(XS[2], (YS[1] + YS[2]) / 2) == code(1, 1)
    # Corner shared by (0, 0), (0, 1), (1, 0), (1, 1).
    assert index.locate(XS[1], YS[1]) == code(0, 0)
    # The outer boundary is included.
    assert index.locate(XS[0], (YS[0] + YS[1]) / 2) == code(0, 0)


def test_locate_tie_is_independent_of_input_order(tiling: Grids) -> None:
    index = geo.GridIndex(list(reversed(tiling)))
    assert index.locate(XS[1], YS[1]) == code(0, 0)
    assert index.codes == tuple(sorted(c for c, _ in tiling))
    assert len(index) == 9


def test_locate_rejects_invalid_coordinates(index: geo.GridIndex) -> None:
    with pytest.raises(InvalidInput):
        index.locate(math.nan, LAT0)


def test_locate_many_equals_locate(index: geo.GridIndex) -> None:
    rng = np.random.default_rng(6)
    lons = rng.uniform(XS[0] - DLON, XS[3] + DLON, 2000)
    lats = rng.uniform(YS[0] - DLAT, YS[3] + DLAT, 2000)
    # Add every lattice vertex and edge midpoint, where ties happen.
    grid_x, grid_y = np.meshgrid(np.linspace(XS[0], XS[3], 7), np.linspace(YS[0], YS[3], 7))
    lons, lats = np.concatenate([lons, grid_x.ravel()]), np.concatenate([lats, grid_y.ravel()])
    batch = index.locate_many(lons, lats)
    assert batch.dtype == object and batch.shape == lons.shape
    assert list(batch) == [index.locate(lon, lat) for lon, lat in zip(lons, lats, strict=True)]
    assert any(c is None for c in batch) and any(c is not None for c in batch)


def voronoi_grids(n: int, seed: int) -> Grids:
    """``n`` irregular grids tiling a 2 × 2 km box (Voronoi cells, densified), in code order."""
    rng = np.random.default_rng(seed)
    box = shapely.box(LON0, LAT0, LON0 + 0.024, LAT0 + 0.018)
    seeds = shapely.multipoints(np.column_stack([rng.uniform(LON0, LON0 + 0.024, n),
                                                 rng.uniform(LAT0, LAT0 + 0.018, n)]))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box)), box)
    return [(f"370102{i:09d}", cell) for i, cell in enumerate(shapely.segmentize(cells, 2e-4))]


def brute_force(grids: Grids, lons: npt.NDArray[np.float64], lats: npt.NDArray[np.float64]) -> list[str | None]:
    """The lowest code of the grids each point intersects, one shapely test per pair."""
    found = []
    for lon, lat in zip(lons, lats, strict=True):
        point = shapely.Point(lon, lat)
        hits = sorted(c for c, g in grids if g.intersects(point))
        found.append(hits[0] if hits else None)
    return found


def test_locate_many_agrees_with_brute_force_before_and_after_settling_cells() -> None:
    grids = voronoi_grids(60, seed=3)
    # An overlapping grid (bad data) with a higher code: the lower code keeps its points.
    grids.append(("370102999999999", shapely.box(LON0 + 0.005, LAT0 + 0.005, LON0 + 0.009, LAT0 + 0.009)))
    index = geo.GridIndex(grids)
    rng = np.random.default_rng(4)
    vertices = shapely.get_coordinates(np.array([g for _, g in grids], dtype=object))
    lons = np.concatenate([rng.uniform(LON0 - 0.002, LON0 + 0.026, 3000), vertices[:, 0]])
    lats = np.concatenate([rng.uniform(LAT0 - 0.002, LAT0 + 0.020, 3000), vertices[:, 1]])
    expected = brute_force(grids, lons, lats)
    assert list(index.locate_many(lons, lats)) == expected  # small call: every point tested
    many_lons, many_lats = np.tile(lons, 40), np.tile(lats, 40)  # enough to settle the cells
    assert list(index.locate_many(many_lons, many_lats)) == expected * 40
    assert list(index.locate_many(lons, lats)) == expected  # settled cells used from now on
    assert expected.count("370102999999999") == 0 and expected.count(None) > 0


@settings(derandomize=True, deadline=None, max_examples=100)
@given(
    fx=st.lists(st.floats(-0.5, 3.5), min_size=1, max_size=30),
    fy=st.lists(st.floats(-0.5, 3.5), min_size=1, max_size=30),
)
def test_locate_many_equals_locate_property(fx: list[float], fy: list[float]) -> None:
    index = geo.GridIndex([(code(r, c), square(r, c)) for r in range(3) for c in range(3)])
    n = min(len(fx), len(fy))
    lons = XS[0] + DLON * np.array(fx[:n])
    lats = YS[0] + DLAT * np.array(fy[:n])
    assert list(index.locate_many(lons, lats)) == [index.locate(lon, lat) for lon, lat in zip(lons, lats, strict=True)]


def test_locate_many_invalid_points_are_none_and_shape_kept(index: geo.GridIndex) -> None:
    centre = (XS[1] + XS[2]) / 2, (YS[1] + YS[2]) / 2
    lons = np.array([[centre[0], math.nan], [500.0, centre[0]]])
    lats = np.array([[centre[1], centre[1]], [centre[1], math.inf]])
    got = index.locate_many(lons, lats)
    assert got.shape == (2, 2)
    assert got.tolist() == [[code(1, 1), None], [None, None]]
    assert index.locate_many(np.array([]), np.array([])).shape == (0,)


def test_grid_index_rejects_duplicates_and_non_polygons(tiling: Grids) -> None:
    with pytest.raises(InvalidInput) as exc:
        geo.GridIndex([*tiling, (code(0, 0), square(0, 0))])
    assert exc.value.code == "duplicate_grid_code"
    with pytest.raises(InvalidInput) as exc:
        geo.GridIndex([("x", shapely.Point(LON0, LAT0))])
    assert exc.value.code == "invalid_geometry"


def test_empty_grid_index() -> None:
    index = geo.GridIndex([])
    assert len(index) == 0 and index.codes == ()
    assert index.locate(LON0, LAT0) is None
    assert index.geometry("x") is None


def test_grid_index_multipolygon_and_geometry(tiling: Grids) -> None:
    multi = MultiPolygon([square(0, 0), square(2, 2)])
    index = geo.GridIndex([("m", multi)])
    assert index.locate((XS[2] + XS[3]) / 2, (YS[2] + YS[3]) / 2) == "m"
    assert index.locate((XS[1] + XS[2]) / 2, (YS[1] + YS[2]) / 2) is None
    assert index.geometry("m") is multi
    assert geo.GridIndex(tiling).geometry(code(1, 1)) == square(1, 1)


# ------------------------------------------------------------------------------ areas


def test_area_of_100m_square() -> None:
    assert geo.area_m2(square(1, 1)) == pytest.approx(10_000.0, rel=0.01)


def test_area_ignores_orientation_and_subtracts_holes() -> None:
    outer = square(0, 0).union(square(0, 1)).union(square(1, 0)).union(square(1, 1))
    cw = shapely.Polygon(list(outer.exterior.coords)[::-1])
    assert geo.area_m2(cw) == pytest.approx(40_000.0, rel=0.01)
    inner = shapely.box(XS[0] + DLON / 2, YS[0] + DLAT / 2, XS[1] + DLON / 2, YS[1] + DLAT / 2)
    holed = shapely.Polygon(list(outer.exterior.coords)[::-1], [list(inner.exterior.coords)[::-1]])
    assert geo.area_m2(holed) == pytest.approx(30_000.0, rel=0.01)
    mixed = MultiPolygon([shapely.Polygon(list(square(2, 2).exterior.coords)[::-1]), square(0, 0)])
    assert geo.area_m2(mixed) == pytest.approx(20_000.0, rel=0.01)


def test_area_of_non_polygons_is_zero() -> None:
    assert geo.area_m2(shapely.Point(LON0, LAT0)) == 0.0
    assert geo.area_m2(shapely.LineString([(LON0, LAT0), (LON0 + 1, LAT0)])) == 0.0
    assert geo.area_m2(Polygon()) == 0.0


def test_area_many(tiling: Grids) -> None:
    areas = geo.area_m2_many([g for _, g in tiling])
    assert areas.shape == (9,)
    np.testing.assert_allclose(areas, 10_000.0, rtol=0.01)


# ------------------------------------------------------------------------------ reprojection


def test_reproject_from_cgcs2000_gauss_kruger() -> None:
    # On the central meridian of a Gauss–Krüger zone the easting is the false easting and the
    # northing is the meridian arc length (scale factor 1), independent of PROJ.
    northing = GEOD.inv(117.0, 0.0, 117.0, LAT0)[2]
    point, box = geo.reproject_to_wgs84(
        [shapely.Point(500_000.0, northing), shapely.box(499_950.0, northing - 50, 500_050.0, northing + 50)],
        "EPSG:4548",
    )
    assert point.x == pytest.approx(117.0, abs=1e-7)
    assert point.y == pytest.approx(LAT0, abs=1e-7)
    assert geo.area_m2(box) == pytest.approx(10_000.0, rel=0.001)
    assert box.contains(point)


@pytest.mark.parametrize(
    "crs", ["EPSG:4490", 4490, CRS.from_epsg(4490).to_wkt(), "+proj=longlat +ellps=GRS80 +no_defs"]
)
def test_reproject_geographic_cgcs2000_accepts_many_spellings(crs: str | int) -> None:
    (point,) = geo.reproject_to_wgs84(np.array([shapely.Point(LON0, LAT0)]), crs)
    assert (point.x, point.y) == pytest.approx((LON0, LAT0), abs=1e-7)


def test_reproject_keeps_order_and_empty_input() -> None:
    out = geo.reproject_to_wgs84([shapely.Point(1, 2), Polygon(), shapely.Point(3, 4)], 4326)
    assert [g.wkt for g in out] == ["POINT (1 2)", "POLYGON EMPTY", "POINT (3 4)"]
    assert len(geo.reproject_to_wgs84([], 4326)) == 0


@pytest.mark.parametrize("crs", ["EPSG:999999", "not a crs", 1.5])
def test_reproject_unknown_crs(crs: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        geo.reproject_to_wgs84([shapely.Point(0, 0)], crs)
    assert exc.value.code == "invalid_crs"


# ------------------------------------------------------------------------------ polygon_problem


def test_polygon_problem_accepts_good_polygons(tiling: Grids) -> None:
    assert geo.polygon_problem(square(0, 0)) is None
    assert geo.polygon_problem(MultiPolygon([square(0, 0), square(2, 2)])) is None


def test_polygon_problem_bow_tie() -> None:
    bow_tie = Polygon([(LON0, LAT0), (LON0 + 0.01, LAT0 + 0.01), (LON0 + 0.01, LAT0), (LON0, LAT0 + 0.01)])
    problem = geo.polygon_problem(bow_tie)
    assert problem is not None and problem.startswith("自相交")


@pytest.mark.parametrize(
    ("geom", "expected"),
    [
        (shapely.Point(LON0, LAT0), "不是面要素"),
        (shapely.LineString([(LON0, LAT0), (LON0 + 0.01, LAT0)]), "不是面要素"),
        (Polygon(), "空几何"),
        (MultiPolygon(), "空几何"),
        (None, "不是几何对象"),
        (shapely.box(500_000.0, 4_000_000.0, 500_100.0, 4_000_100.0), "坐标超出经纬度范围"),
        (shapely.box(math.inf, 0, 1, 1), "坐标包含无效数值"),
    ],
)
def test_polygon_problem_reasons(geom: object, expected: str) -> None:
    problem = geo.polygon_problem(geom)
    assert problem is not None and problem.startswith(expected)


def test_polygon_problem_other_invalidity_is_explained() -> None:
    shell = square(0, 0).exterior.coords
    hole_outside = list(square(2, 2).exterior.coords)
    problem = geo.polygon_problem(Polygon(shell, [hole_outside]))
    assert problem is not None and "Hole lies outside shell" in problem


# ------------------------------------------------------------------------------ tiling


def test_proper_tiling_has_no_problems(tiling: Grids) -> None:
    assert geo.check_tiling(tiling, None) == []
    outline = shapely.box(XS[0], YS[0], XS[3], YS[3])
    assert geo.check_tiling(tiling, outline) == []


def test_missing_middle_square_is_a_hole_gap(tiling: Grids) -> None:
    grids = [(c, g) for c, g in tiling if c != code(1, 1)]
    (problem,) = geo.check_tiling(grids, None)
    assert problem.kind == "gap"
    assert problem.area_m2 == pytest.approx(10_000.0, rel=0.01)
    assert square(1, 1).contains(shapely.Point(problem.lon, problem.lat))
    assert problem.codes == tuple(sorted(c for c, _ in grids))  # all 8 neighbours touch it
    assert "缝隙" in problem.message


def test_missing_corner_square_is_a_gap_against_the_boundary(tiling: Grids) -> None:
    grids = [(c, g) for c, g in tiling if c != code(2, 2)]
    assert geo.check_tiling(grids, None) == []  # not a hole: needs the boundary
    (problem,) = geo.check_tiling(grids, shapely.box(XS[0], YS[0], XS[3], YS[3]))
    assert problem.kind == "gap"
    assert problem.area_m2 == pytest.approx(10_000.0, rel=0.01)
    assert square(2, 2).contains(shapely.Point(problem.lon, problem.lat))
    assert problem.codes == (code(1, 1), code(1, 2), code(2, 1))


def test_shifted_square_overlaps_its_neighbour_and_leaves_a_gap(tiling: Grids) -> None:
    grids = [(c, square(1, 1, shift_east_m=20.0) if c == code(1, 1) else g) for c, g in tiling]
    problems = geo.check_tiling(grids, None)
    assert [p.kind for p in problems] == ["gap", "overlap"]
    gap, overlap = problems
    assert overlap.codes == (code(1, 1), code(1, 2))
    assert overlap.area_m2 == pytest.approx(2_000.0, rel=0.01)
    strip = shapely.box(XS[2], YS[1], XS[2] + DLON * 0.2, YS[2])
    assert strip.contains(shapely.Point(overlap.lon, overlap.lat))
    assert "重叠" in overlap.message
    assert gap.area_m2 == pytest.approx(2_000.0, rel=0.01)
    assert shapely.box(XS[1], YS[1], XS[1] + DLON * 0.2, YS[2]).contains(shapely.Point(gap.lon, gap.lat))


def test_contained_grid_is_an_overlap(tiling: Grids) -> None:
    inner = shapely.box(XS[1] + DLON * 0.25, YS[1] + DLAT * 0.25, XS[1] + DLON * 0.75, YS[1] + DLAT * 0.75)
    (problem,) = geo.check_tiling([*tiling, ("zz", inner)], None)
    assert problem.kind == "overlap" and problem.codes == (code(1, 1), "zz")
    assert problem.area_m2 == pytest.approx(2_500.0, rel=0.01)


def test_tiny_overlaps_and_gaps_below_threshold_are_ignored(tiling: Grids) -> None:
    grids = [(c, square(1, 1, shift_east_m=0.001) if c == code(1, 1) else g) for c, g in tiling]
    assert geo.check_tiling(grids, None, min_area_m2=1.0) == []  # 0.1 m² each
    found = geo.check_tiling(grids, None, min_area_m2=0.01)
    assert sorted(p.kind for p in found) == ["gap", "overlap"]


def test_tiling_problems_are_sorted_deterministically(tiling: Grids) -> None:
    grids = [
        (c, square(r, 1, shift_east_m=20.0) if c == code(r, 1) else g)
        for (c, g), r in zip(tiling, [0, 0, 0, 1, 1, 1, 2, 2, 2], strict=True)
    ]
    outline = shapely.box(XS[0], YS[0], XS[3], YS[3])
    problems = geo.check_tiling(grids, outline)
    assert [p.kind for p in problems] == ["gap", "overlap", "overlap", "overlap"]
    keys = [(p.kind, p.codes, p.lon, p.lat) for p in problems]
    assert keys == sorted(keys)
    assert problems == geo.check_tiling(list(reversed(grids)), outline)


def test_check_tiling_rejects_bad_boundary_and_threshold(tiling: Grids) -> None:
    with pytest.raises(InvalidInput) as exc:
        geo.check_tiling(tiling, shapely.Point(LON0, LAT0))
    assert exc.value.code == "invalid_geometry"
    with pytest.raises(InvalidInput):
        geo.check_tiling(tiling, None, min_area_m2=-1.0)
