"""Cutting a community into unit grids, and the place checks of the GIS import (no database)."""

from __future__ import annotations

import pytest
import shapely
from pyproj import CRS
from shapely.geometry import box

from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import area_m2, check_tiling
from xiuhua.domain.grids import MAX_GRIDS, cut_grids, size_that_fits
from xiuhua.services.geofile import (
    FeatureTable,
    check_place,
    expected_box,
    merge_parts,
    strip_country_prefix,
)

LON, LAT = 117.0, 36.65
DLON, DLAT = 0.0011184, 0.0008993  # ≈ 100 m


def rect(w: float, h: float) -> shapely.Polygon:
    """A rectangle w × h (units of 100 m) with its south-west corner at (LON, LAT)."""
    return box(LON, LAT, LON + w * DLON, LAT + h * DLAT)


def test_cells_tile_the_community_in_row_order() -> None:
    community = rect(2.5, 2.3)  # 250 × 230 m: rows 100, 100, 30 m; columns 100, 100, 50 m
    cut = cut_grids(community, 100)
    assert len(cut) == 8  # the 50 × 30 m corner (15 %) joined a neighbour, the rest stayed
    assert check_tiling([(f"{i:03d}", g) for i, g in enumerate(cut.geometries)], community) == []
    first, second = (shapely.centroid(g) for g in cut.geometries[:2])
    assert first.x < second.x and abs(first.y - second.y) < 1e-6  # first row, west to east
    assert shapely.centroid(cut.geometries[-1]).y < first.y  # last grid in the south row
    assert area_m2(cut.geometries[0]) == pytest.approx(10_000, rel=0.01)


def test_a_tiny_community_is_one_grid_and_a_bad_size_is_refused() -> None:
    assert len(cut_grids(rect(0.1, 0.1), 100)) == 1
    with pytest.raises(InvalidInput) as bad:
        cut_grids(rect(1, 1), 0)
    assert bad.value.code == "invalid_grid_size"


def test_the_size_that_fits_needs_at_most_999_grids() -> None:
    community = rect(35, 35)  # 3.5 km square: 1225 grids of 100 m
    assert len(cut_grids(community, 100)) > MAX_GRIDS
    size = size_that_fits(community, 100)
    assert size % 10 == 0 and len(cut_grids(community, size)) <= MAX_GRIDS
    assert len(cut_grids(community, size - 10)) > MAX_GRIDS


def test_the_country_prefix_is_dropped_only_when_every_code_has_it() -> None:
    assert strip_country_prefix(["156330106", "156330106001"]) == (["330106", "330106001"], True)
    assert strip_country_prefix(["156330106", "330106001"])[1] is False
    assert strip_country_prefix(["150602"]) == (["150602"], False)  # 鄂尔多斯, not a prefix


def test_expected_boxes_come_from_the_province_of_the_code() -> None:
    found = expected_box("330106001001")
    assert found is not None and found.code == "330000" and found.name == "浙江省"
    assert expected_box("990101") is None and expected_box("abc") is None
    sansha = expected_box("460321")
    assert sansha is not None and sansha.code == "460300"


def _table(crs: object, source_bounds: tuple[float, float, float, float]) -> FeatureTable:
    return FeatureTable({}, shapely.points([[0, 0]]), {}, crs, source_bounds)  # type: ignore[arg-type]


def test_a_swapped_axis_is_named() -> None:
    geom = box(30.2, 120.1, 30.3, 120.2)
    with pytest.raises(InvalidInput) as swapped:
        check_place(["330106"], [geom], _table(CRS.from_epsg(4326), (30.2, 120.1, 30.3, 120.2)), "x.shp")
    assert "经纬度顺序颠倒" in str(swapped.value)


def test_parts_sharing_a_code_merge_into_one() -> None:
    firsts, geoms, notes = merge_parts(["a", "b", "a"], [rect(1, 1), rect(1, 1), box(LON + DLON, LAT, LON + 2 * DLON,
                                                                                     LAT + DLAT)], True)
    assert firsts == [0, 1] and geoms[0].geom_type == "Polygon" and notes == ["已合并编码 a 的 2 个要素（0、2）"]
