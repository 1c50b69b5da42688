"""Cutting a community into unit grids (单元网格): square cells of a given side in metres,
laid on a local metric projection of the community, clipped to it; cells under a fifth of a
full cell are merged into a neighbour; the grids are numbered in row order (north to south,
west to east within a row), 001 to 999.

Geometries in and out are WGS-84 lon/lat; clipping is done in lon/lat against the
community itself, so the grids follow its boundary exactly and tile it with no gap."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import area_m2_many

MAX_GRIDS = 999  # three digits of serial
SMALL_FRACTION = 0.2  # a cell under 20 % of a full cell joins a neighbour
MIN_SIZE_M = 10.0


@dataclass(frozen=True)
class GridCut:
    """The grids of one community, in serial order (the first is …001)."""

    geometries: list[Any]

    def __len__(self) -> int:
        return len(self.geometries)


@dataclass
class _Piece:
    row: int
    col: int
    geometry: Any
    area: float


def check_size(size_m: float) -> float:
    if not (math.isfinite(size_m) and size_m >= MIN_SIZE_M):
        raise InvalidInput(f"网格边长须为不小于 {MIN_SIZE_M:g} 米的数值：{size_m}", code="invalid_grid_size")
    return float(size_m)


def _local_transformers(geom: Any) -> tuple[Transformer, Transformer]:
    """WGS-84 <-> a transverse Mercator centred on the geometry (metres, scale 1 there)."""
    centre = shapely.centroid(geom)
    local = (f"+proj=tmerc +lat_0={centre.y:.8f} +lon_0={centre.x:.8f} +k=1 +x_0=0 +y_0=0 "
             "+ellps=WGS84 +units=m +no_defs")
    return (Transformer.from_crs("EPSG:4326", local, always_xy=True),
            Transformer.from_crs(local, "EPSG:4326", always_xy=True))


def _apply(transformer: Transformer, geom: Any) -> Any:
    def xy(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, xy)


def _cells(community: Any, size: float) -> list[_Piece]:
    """The community clipped by the square lattice anchored at its north-west corner."""
    to_local, to_lonlat = _local_transformers(community)
    minx, miny, maxx, maxy = shapely.bounds(_apply(to_local, community))
    rows, cols = max(1, math.ceil((maxy - miny) / size)), max(1, math.ceil((maxx - minx) / size))
    r, c = np.divmod(np.arange(rows * cols), cols)
    squares = shapely.box(minx + c * size, maxy - (r + 1) * size, minx + (c + 1) * size, maxy - r * size)
    # Corners shared by neighbouring squares transform identically, so their edges coincide.
    squares_ll = np.array([_apply(to_lonlat, s) for s in squares], dtype=object)
    shapely.prepare(community)
    hit = shapely.intersects(community, squares_ll)
    pieces = shapely.intersection(community, squares_ll[hit])
    polygonal = [_polygonal(p) for p in pieces]
    areas = area_m2_many(polygonal)
    return [_Piece(int(rr), int(cc), g, float(a))
            for rr, cc, g, a in zip(r[hit], c[hit], polygonal, areas, strict=True) if a > 0.0]


def _polygonal(geom: Any) -> Any:
    parts = shapely.get_parts(shapely.get_parts(geom))
    polys = [p for p in parts if shapely.get_type_id(p) == shapely.GeometryType.POLYGON and not p.is_empty]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _merge_small(pieces: list[_Piece], full: float) -> list[_Piece]:
    """Merge each piece under SMALL_FRACTION of a full cell (smallest first) into the
    neighbour it shares the longest border with (else the nearest piece)."""
    pieces = list(pieces)
    while len(pieces) > 1:
        small = [p for p in pieces if p.area < SMALL_FRACTION * full]
        if not small:
            break
        piece = min(small, key=lambda p: (p.area, p.row, p.col))
        others = [p for p in pieces if p is not piece]
        geoms = np.array([p.geometry for p in others], dtype=object)
        shared = shapely.length(shapely.intersection(shapely.boundary(geoms), piece.geometry.boundary))
        if float(np.max(shared)) > 0.0:
            target = others[int(np.argmax(shared))]
        else:
            target = others[int(np.argmin(shapely.distance(geoms, piece.geometry)))]
        target.geometry = _polygonal(shapely.union(target.geometry, piece.geometry))
        target.area += piece.area
        pieces = others
    return pieces


def cut_grids(community: Any, size_m: float) -> GridCut:
    """The grids of ``community`` (WGS-84) for square cells of ``size_m`` metres, in row order."""
    size = check_size(size_m)
    pieces = _merge_small(_cells(community, size), size * size)
    pieces.sort(key=lambda p: (p.row, p.col))
    return GridCut([p.geometry for p in pieces])


def size_that_fits(community: Any, size_m: float) -> float:
    """The smallest side (a multiple of 10 m, not below ``size_m``) that needs at most MAX_GRIDS grids."""
    area = float(area_m2_many([community])[0])
    size = max(size_m, math.ceil(math.sqrt(area / MAX_GRIDS) / 10) * 10)
    while len(cut_grids(community, size)) > MAX_GRIDS:
        size += 10
    return size
