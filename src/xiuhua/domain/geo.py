"""Geography of the city: coordinate systems, the unit-grid index, areas and tiling checks.

Everything here works on WGS-84 longitude/latitude (x = lon, y = lat) unless a function says
otherwise. Chinese web maps use GCJ-02 (高德、腾讯) or BD-09 (百度); convert at the edges with
:func:`to_wgs84` / :func:`from_wgs84` and keep WGS-84 inside the system.

Unit grids (单元网格) must tile the managed area with no gaps and no overlaps (无缝隙、无重叠，
消灭管理盲区); :func:`check_tiling` reports where they do not.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, cast, overload

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely import MultiPolygon, Polygon

from xiuhua.domain.choices import LabelledEnum
from xiuhua.domain.errors import InvalidInput

FloatArray: TypeAlias = npt.NDArray[np.float64]
Polygonal: TypeAlias = Polygon | MultiPolygon

__all__ = [
    "CoordSys",
    "GridIndex",
    "TilingProblem",
    "area_m2",
    "area_m2_many",
    "bd09_to_gcj02",
    "check_tiling",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "polygon_problem",
    "reproject_to_wgs84",
    "to_wgs84",
    "validate_lonlat",
    "wgs84_to_gcj02",
]

WGS84_GEOD = Geod(ellps="WGS84")

# --------------------------------------------------------------------------------------------
# Coordinate systems
# --------------------------------------------------------------------------------------------

class CoordSys(LabelledEnum):
    """Coordinate systems a longitude/latitude pair may arrive in."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"

    @classmethod
    def parse(cls, text: str | CoordSys) -> CoordSys:
        """Parse ``"WGS84"``, ``"gcj-02"``, ``"BD_09"`` … case-insensitively."""
        if isinstance(text, CoordSys):
            return text
        key = str(text).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        try:
            return cls(key)
        except ValueError:
            allowed = "、".join(m.value for m in cls)
            raise InvalidInput(f"不支持的坐标系：{text!r}（可选：{allowed}）", code="invalid_coord_sys") from None


# GCJ-02 constants: Krasovsky 1940 ellipsoid, as used by the published obfuscation.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# BD-09 constants.
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.0060
# Fixed-point iterations for the inverse transforms; 1e-12 degree is about 0.1 micrometre.
_INVERSE_TOL_DEG = 1e-12
_INVERSE_MAX_ITER = 20


def _out_of_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    """The customary rectangle outside which GCJ-02 leaves coordinates unchanged."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (degrees) for WGS-84 input, applied everywhere (no China test)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    periodic_x = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + (periodic_x + 20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + (periodic_x + 20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat_m * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = dlon_m * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _gcj_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_inverse_rough(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


_Transform: TypeAlias = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


def _invert(
    forward: _Transform, lon: FloatArray, lat: FloatArray, start: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(x) == (lon, lat)`` by fixed-point iteration from ``start``.

    Both offsets vary slowly (their Jacobian is within ~1e-2 of the identity), so every step
    gains about two digits; a handful of steps reaches the tolerance.
    """
    x, y = start[0].copy(), start[1].copy()
    active = np.ones(x.shape, dtype=bool)
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        # Each point stops on its own, so its result does not depend on the rest of the batch.
        x = np.where(active, x - ex, x)
        y = np.where(active, y - ey, y)
        active &= np.maximum(np.abs(ex), np.abs(ey)) > _INVERSE_TOL_DEG  # NaN compares False
        if not active.any():
            break
    return x, y


def _wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    glon, glat = _gcj_forward(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, glon), np.where(outside, lat, glat)


def _gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    wlon, wlat = _invert(_gcj_forward, lon, lat, (lon - dlon, lat - dlat))
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, wlon), np.where(outside, lat, wlat)


def _bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    return _invert(_bd_forward, lon, lat, _bd_inverse_rough(lon, lat))


class _LonLatFn(Protocol):
    """A conversion taking and returning (lon, lat): floats in, floats out; arrays in, arrays out."""

    @overload
    def __call__(self, lon: float, lat: float) -> tuple[float, float]: ...
    @overload
    def __call__(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]: ...


def _as_float_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_arr, lat_arr = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_arr, lat_arr


def _lonlat_fn(core: _Transform) -> _LonLatFn:
    """Wrap an array conversion so that Python scalars come back as Python floats."""

    @functools.wraps(core)
    def wrapper(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[Any, Any]:
        scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
        out_lon, out_lat = core(*_as_float_arrays(lon, lat))
        if scalar:
            return float(out_lon), float(out_lat)
        return out_lon, out_lat

    return cast(_LonLatFn, wrapper)


@_lonlat_fn
def wgs84_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """WGS-84 → GCJ-02. Points outside mainland China (the usual rectangle) are unchanged."""
    return _wgs84_to_gcj02(lon, lat)


@_lonlat_fn
def gcj02_to_wgs84(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → WGS-84 by iteration (error far below 1 mm), not the one-step approximation."""
    return _gcj02_to_wgs84(lon, lat)


@_lonlat_fn
def gcj02_to_bd09(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → BD-09 (Baidu). Applied everywhere, as Baidu does."""
    return _bd_forward(lon, lat)


@_lonlat_fn
def bd09_to_gcj02(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """BD-09 → GCJ-02, refined by iteration so that it exactly inverts :func:`gcj02_to_bd09`."""
    return _bd09_to_gcj02(lon, lat)


def _to_wgs84(lon: FloatArray, lat: FloatArray, coord_sys: CoordSys) -> tuple[FloatArray, FloatArray]:
    if coord_sys is CoordSys.GCJ02:
        return _gcj02_to_wgs84(lon, lat)
    if coord_sys is CoordSys.BD09:
        return _gcj02_to_wgs84(*_bd09_to_gcj02(lon, lat))
    return lon.copy(), lat.copy()


def _from_wgs84(lon: FloatArray, lat: FloatArray, coord_sys: CoordSys) -> tuple[FloatArray, FloatArray]:
    if coord_sys is CoordSys.GCJ02:
        return _wgs84_to_gcj02(lon, lat)
    if coord_sys is CoordSys.BD09:
        return _bd_forward(*_wgs84_to_gcj02(lon, lat))
    return lon.copy(), lat.copy()


@overload
def to_wgs84(lon: float, lat: float, coord_sys: CoordSys | str) -> tuple[float, float]: ...
@overload
def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, coord_sys: CoordSys | str) -> tuple[FloatArray, FloatArray]: ...
def to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, coord_sys: CoordSys | str) -> tuple[Any, Any]:
    """Convert (lon, lat) given in ``coord_sys`` to WGS-84."""
    system = CoordSys.parse(coord_sys)
    if system is CoordSys.WGS84 and isinstance(lon, float | int) and isinstance(lat, float | int) \
            and not isinstance(lon, bool) and not isinstance(lat, bool):
        return float(lon), float(lat)  # one report's position, already WGS-84: no arrays
    return _lonlat_fn(functools.partial(_to_wgs84, coord_sys=system))(lon, lat)


@overload
def from_wgs84(lon: float, lat: float, coord_sys: CoordSys | str) -> tuple[float, float]: ...
@overload
def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, coord_sys: CoordSys | str) -> tuple[FloatArray, FloatArray]: ...
def from_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike, coord_sys: CoordSys | str) -> tuple[Any, Any]:
    """Convert WGS-84 (lon, lat) to ``coord_sys`` (e.g. GCJ-02 for an AMap base layer)."""
    return _lonlat_fn(functools.partial(_from_wgs84, coord_sys=CoordSys.parse(coord_sys)))(lon, lat)


# --------------------------------------------------------------------------------------------
# Coordinate validation
# --------------------------------------------------------------------------------------------


def validate_lonlat(lon: object, lat: object) -> tuple[float, float]:
    """Check one WGS-84 position and return it as floats; raise ``invalid_coordinates`` if bad."""
    try:
        lon_f = float(lon)  # type: ignore[arg-type]
        lat_f = float(lat)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"坐标不是数值：经度 {lon!r}，纬度 {lat!r}", code="invalid_coordinates") from None
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise InvalidInput(f"坐标不是有限数值：经度 {lon_f}，纬度 {lat_f}", code="invalid_coordinates")
    if not -180.0 <= lon_f <= 180.0:
        raise InvalidInput(f"经度超出范围（-180 至 180）：{lon_f}", code="invalid_coordinates")
    if not -90.0 <= lat_f <= 90.0:
        raise InvalidInput(f"纬度超出范围（-90 至 90）：{lat_f}", code="invalid_coordinates")
    return lon_f, lat_f


def _valid_lonlat_mask(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    return np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0)


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------

_POLYGON_TYPE_IDS = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def _object_array(geoms: npt.ArrayLike | Sequence[Any]) -> npt.NDArray[np.object_]:
    """A 1-D object array of geometries (never let numpy unpack anything)."""
    items = list(geoms)  # type: ignore[arg-type]
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _polygonal(geom: Any) -> Polygonal:
    """The polygonal part of a geometry (collections included); an empty polygon if none."""
    type_id = shapely.get_type_id(geom)
    if type_id in _POLYGON_TYPE_IDS:
        return cast(Polygonal, geom)
    parts = shapely.get_parts(shapely.get_parts(geom))  # two levels: collection of multis
    polys = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    if len(polys) == 0:
        return Polygon()
    if len(polys) == 1:
        return cast(Polygon, polys[0])
    return MultiPolygon(list(polys))


# --------------------------------------------------------------------------------------------
# Areas and reprojection
# --------------------------------------------------------------------------------------------


def area_m2(geom: Any) -> float:
    """Geodesic area in m² on the WGS-84 ellipsoid of the polygonal part of ``geom`` (lon/lat)."""
    poly = _polygonal(geom)
    if poly.is_empty:
        return 0.0
    # Orient shells counter-clockwise and holes clockwise so holes subtract and parts add up.
    area, _perimeter = WGS84_GEOD.geometry_area_perimeter(shapely.orient_polygons(poly))
    return abs(float(area))


def area_m2_many(geoms: npt.ArrayLike | Sequence[Any]) -> FloatArray:
    """:func:`area_m2` of each geometry."""
    arr = _object_array(geoms)
    return np.fromiter((area_m2(g) for g in arr), dtype=np.float64, count=len(arr))


def _parse_crs(src_crs: str | int | CRS) -> CRS:
    if isinstance(src_crs, CRS):
        return src_crs
    if isinstance(src_crs, bool) or not isinstance(src_crs, str | int):
        raise InvalidInput(f"无法识别的坐标参考系：{src_crs!r}", code="invalid_crs")
    try:
        return CRS.from_user_input(src_crs)
    except CRSError:
        raise InvalidInput(f"无法识别的坐标参考系：{src_crs!r}", code="invalid_crs") from None


@functools.lru_cache(maxsize=32)
def _transformer_to_wgs84(src: CRS) -> Transformer:
    return Transformer.from_crs(src, CRS.from_epsg(4326), always_xy=True)


def reproject_to_wgs84(geoms: npt.ArrayLike | Sequence[Any], src_crs: str | int | CRS) -> npt.NDArray[np.object_]:
    """Reproject geometries from ``src_crs`` ("EPSG:4490", 4548, WKT or PROJ text) to WGS-84 lon/lat.

    CGCS2000 and WGS-84 differ by centimetres; PROJ treats them as the same datum. Coordinates
    PROJ cannot transform come back as ``inf``, which :func:`polygon_problem` then reports.
    """
    transformer = _transformer_to_wgs84(_parse_crs(src_crs))
    arr = _object_array(geoms)
    if len(arr) == 0:
        return arr

    def transform(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        tx, ty = transformer.transform(x, y)
        return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)

    return cast(npt.NDArray[np.object_], shapely.transform(arr, transform, interleaved=False))


# --------------------------------------------------------------------------------------------
# Polygon validation
# --------------------------------------------------------------------------------------------

_GEOM_TYPE_ZH = {
    "Point": "点",
    "MultiPoint": "多点",
    "LineString": "线",
    "LinearRing": "线环",
    "MultiLineString": "多线",
    "GeometryCollection": "几何集合",
}

# Prefixes of GEOS validity reasons, most specific first.
_VALIDITY_ZH = (
    ("Ring Self-intersection", "环自相交"),
    ("Self-intersection", "自相交"),
    ("Too few points", "顶点过少"),
    ("Hole lies outside shell", "内环位于外环之外"),
    ("Nested holes", "内环相互嵌套"),
    ("Interior is disconnected", "内部不连通"),
    ("Nested shells", "多个面相互嵌套"),
    ("Duplicate Rings", "存在重复的环"),
    ("Invalid Coordinate", "坐标无效"),
)


def _validity_zh(reason: str) -> str:
    for prefix, zh in _VALIDITY_ZH:
        if reason.startswith(prefix):
            return f"{zh}: {reason}"
    return f"几何无效: {reason}"


def _shape_problem(geom: Any) -> str | None:
    """Problems that no repair can fix: not a polygon, empty, or coordinates not lon/lat."""
    if not isinstance(geom, shapely.Geometry):
        return "不是几何对象"
    if geom.is_empty:
        return "空几何"
    if shapely.get_type_id(geom) not in _POLYGON_TYPE_IDS:
        return f"不是面要素（{_GEOM_TYPE_ZH.get(geom.geom_type, geom.geom_type)}）"
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return "坐标包含无效数值（NaN 或无穷大），可能是坐标系设置错误"
    if not _valid_lonlat_mask(coords[:, 0], coords[:, 1]).all():
        return "坐标超出经纬度范围（经度 -180 至 180，纬度 -90 至 90），请检查坐标系"
    return None


def polygon_problem(geom: Any) -> str | None:
    """None for a valid, non-empty WGS-84 (Multi)Polygon with positive area; else a zh-CN reason."""
    problem = _shape_problem(geom)
    if problem is not None:
        return problem
    if not shapely.is_valid(geom):
        return _validity_zh(str(shapely.is_valid_reason(geom)))
    if area_m2(geom) <= 0.0:
        return "面积为零"
    return None


# --------------------------------------------------------------------------------------------
# Grid index
# --------------------------------------------------------------------------------------------

_LOCATE_CHUNK = 262_144  # points per pass, to bound memory


class _Buckets:
    """A uniform lattice of square cells over the grids' extent, each listing the grids whose
    bounding box meets it: a point's candidates come from arithmetic on its coordinates (no
    point objects, no tree walk), then a bounding-box test, then the exact test.

    Cells that lie inside one grid's interior and meet no other grid settle their points with
    no test at all. Finding them tests every (cell, grid) pair, about as long as locating as
    many points (~0.5 s at 15 k grids), so it is done once, by the first call given at least
    that many points; smaller calls never pay for it."""

    CELLS_PER_GRID_SIDE = 4  # cell side: a quarter of the median grid's bounding-box side
    MAX_PAIRS = 8_000_000  # (cell, grid) pairs at most: coarser cells beyond

    def __init__(self, geoms: npt.NDArray[np.object_]) -> None:
        bounds = shapely.bounds(geoms)
        self.minx, self.miny, self.maxx, self.maxy = (np.ascontiguousarray(b) for b in bounds.T)
        self.x0, self.y0 = float(self.minx.min()), float(self.miny.min())
        side = float(np.median(np.maximum(self.maxx - self.minx, self.maxy - self.miny)))
        self.cell = max(side / self.CELLS_PER_GRID_SIDE, 1e-6)
        while True:
            ix0, ix1 = self._cells(self.minx, self.x0), self._cells(self.maxx, self.x0)
            iy0, iy1 = self._cells(self.miny, self.y0), self._cells(self.maxy, self.y0)
            self.nx, self.ny = int(ix1.max()) + 1, int(iy1.max()) + 1
            width, height = ix1 - ix0 + 1, iy1 - iy0 + 1
            per_grid = width * height
            if int(per_grid.sum()) + self.nx * self.ny <= self.MAX_PAIRS:
                break
            self.cell *= 2
        grid = np.repeat(np.arange(len(geoms)), per_grid)
        k = np.arange(len(grid)) - np.repeat(np.cumsum(per_grid) - per_grid, per_grid)
        cell = (ix0[grid] + k // height[grid]) * self.ny + iy0[grid] + k % height[grid]
        order = np.lexsort((grid, cell))
        self.members = grid[order]  # grids of each cell, cell by cell
        self.starts = np.zeros(self.nx * self.ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell, minlength=self.nx * self.ny), out=self.starts[1:])
        self.settled: npt.NDArray[np.int64] | None = None  # the one grid of a cell, or -1

    def _cells(self, values: FloatArray, origin: float) -> npt.NDArray[np.int64]:
        return np.floor((values - origin) / self.cell).astype(np.int64)

    def settle(self, geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
        """For each cell, the grid whose interior holds the whole (closed) cell, a hair wider,
        when no other grid meets it; -1 for the other cells."""
        if self.settled is None:
            count = np.diff(self.starts)
            cell = np.repeat(np.arange(len(count)), count)
            cx, cy = cell // self.ny, cell % self.ny
            c, margin = self.cell, self.cell * 1e-6  # a margin for the rounding of points' cells
            boxes = shapely.box(self.x0 + cx * c - margin, self.y0 + cy * c - margin,
                                self.x0 + (cx + 1) * c + margin, self.y0 + (cy + 1) * c + margin)
            grids = geoms[self.members]
            meets = np.bincount(cell, weights=shapely.intersects(grids, boxes),
                                minlength=len(count))
            inside = shapely.contains_properly(grids, boxes) & (meets[cell] == 1)
            settled = np.full(len(count), -1, dtype=np.int64)
            settled[cell[inside]] = self.members[inside]
            self.settled = settled
        return self.settled

    def cell_at(self, lon: float, lat: float) -> int | None:
        """The cell of one point (as :meth:`cells_of` computes it), None outside the lattice."""
        px, py = math.floor((lon - self.x0) / self.cell), math.floor((lat - self.y0) / self.cell)
        return px * self.ny + py if 0 <= px < self.nx and 0 <= py < self.ny else None

    def cells_of(self, lons: FloatArray, lats: FloatArray
                 ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """The positions of the points inside the lattice, and their cells. (The same monotonic
        arithmetic as for the grids' bounds: a point in a grid's box is in one of its cells.)"""
        px, py = np.floor((lons - self.x0) / self.cell), np.floor((lats - self.y0) / self.cell)
        inside = np.flatnonzero((px >= 0) & (px < self.nx) & (py >= 0) & (py < self.ny))
        cell = px[inside].astype(np.int64) * self.ny + py[inside].astype(np.int64)
        return inside, cell

    def pairs(self, cell: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
        """(point, grid) pairs: each point (by position in ``cell``) with its cell's grids."""
        start = self.starts[cell]
        count = self.starts[cell + 1] - start
        point = np.repeat(np.arange(len(cell)), count)
        grid = self.members[np.arange(len(point)) - np.repeat(np.cumsum(count) - count - start, count)]
        return point, grid


class GridIndex:
    """Which unit grid (单元网格) contains a point. Geometries are WGS-84 lon/lat.

    A point on a boundary belongs to every grid it touches; the lowest code (string order) wins.
    """

    def __init__(self, grids: Sequence[tuple[str, Polygonal]]) -> None:
        items = sorted(grids, key=lambda item: item[0])
        codes = [code for code, _ in items]
        for prev, cur in itertools.pairwise(codes):
            if prev == cur:
                raise InvalidInput(f"网格编码重复：{cur}", code="duplicate_grid_code")
        geoms = _object_array([geom for _, geom in items])
        bad = ~np.isin(shapely.get_type_id(geoms), _POLYGON_TYPE_IDS)
        if bad.any():
            code = codes[int(np.flatnonzero(bad)[0])]
            raise InvalidInput(f"网格 {code} 的几何不是面要素", code="invalid_geometry")
        shapely.prepare(geoms)
        self._geoms = geoms
        self._codes: tuple[str, ...] = tuple(codes)
        self._position = {code: i for i, code in enumerate(codes)}
        # Index len(codes) is the "no grid" sentinel.
        self._code_lookup = _object_array([*codes, None])
        self._tree = shapely.STRtree(geoms)  # not used for locating; bench/grid.py times it
        self._buckets = _Buckets(geoms) if len(geoms) else None

    @property
    def codes(self) -> tuple[str, ...]:
        """All grid codes, sorted."""
        return self._codes

    def __len__(self) -> int:
        return len(self._codes)

    def geometry(self, code: str) -> Polygonal | None:
        """The geometry of grid ``code``, or None if unknown."""
        i = self._position.get(code)
        return None if i is None else cast(Polygonal, self._geoms[i])

    def locate(self, lon: float, lat: float) -> str | None:
        """The code of the grid containing (lon, lat), boundary included; None if outside all.
        (One point, as :meth:`locate_many` finds it, without its array set-up.)"""
        lon_f, lat_f = validate_lonlat(lon, lat)
        buckets = self._buckets
        cell = buckets.cell_at(lon_f, lat_f) if buckets is not None else None
        if buckets is None or cell is None:
            return None
        for grid in buckets.members[buckets.starts[cell] : buckets.starts[cell + 1]].tolist():
            if (buckets.minx[grid] <= lon_f <= buckets.maxx[grid]
                    and buckets.miny[grid] <= lat_f <= buckets.maxy[grid]
                    and shapely.intersects_xy(self._geoms[grid], lon_f, lat_f)):
                return self._codes[grid]  # a cell's grids are in code order: the lowest wins
        return None

    def locate_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> npt.NDArray[np.object_]:
        """Vectorised :meth:`locate`: an object array of codes, None outside (or for invalid input)."""
        lon_arr, lat_arr = _as_float_arrays(lons, lats)
        indices = self._locate_indices(lon_arr.ravel(), lat_arr.ravel())
        return cast(npt.NDArray[np.object_], self._code_lookup[indices].reshape(lon_arr.shape))

    def _locate_indices(self, lons: FloatArray, lats: FloatArray) -> npt.NDArray[np.intp]:
        """Index (into the sorted codes) of the lowest grid covering each point; len(self) if none."""
        result = np.full(lons.shape, len(self._codes), dtype=np.intp)
        buckets = self._buckets
        if buckets is None:
            return result
        valid = np.flatnonzero(_valid_lonlat_mask(lons, lats))
        settled = (buckets.settle(self._geoms)
                   if buckets.settled is not None or len(valid) >= len(buckets.members) else None)
        for start in range(0, len(valid), _LOCATE_CHUNK):
            rows = valid[start : start + _LOCATE_CHUNK]
            inside, cell = buckets.cells_of(lons[rows], lats[rows])
            rows = rows[inside]
            if settled is not None:  # points in a cell inside one grid: that grid
                known = settled[cell]
                done = known >= 0
                result[rows[done]] = known[done]
                rows, cell = rows[~done], cell[~done]
            point, grid = buckets.pairs(cell)
            x, y = lons[rows][point], lats[rows][point]
            near = ((x >= buckets.minx[grid]) & (x <= buckets.maxx[grid])
                    & (y >= buckets.miny[grid]) & (y <= buckets.maxy[grid]))
            point, grid, x, y = point[near], grid[near], x[near], y[near]
            # The exact test against the prepared grids, boundary included.
            hit = shapely.intersects_xy(self._geoms[grid], x, y)
            # Grids are sorted by code, so the lowest index is the lowest code.
            np.minimum.at(result, rows[point[hit]], grid[hit])
        return result


# --------------------------------------------------------------------------------------------
# Tiling check
# --------------------------------------------------------------------------------------------

# Upper bound of m² per square degree anywhere on the ellipsoid (≈1.231e10 at the equator),
# with a safety factor: used only to skip geodesic areas that cannot reach the threshold.
_M2_PER_DEG2_BOUND = 2.5e10
# Distance (degrees, ≈1 cm) within which a grid counts as touching a gap.
_TOUCH_DEG = 1e-7

_KIND_ZH = {"gap": "缝隙", "overlap": "重叠"}


@dataclass(frozen=True)
class TilingProblem:
    """A gap between grids or an overlap of two grids, with a point inside it."""

    kind: Literal["gap", "overlap"]
    area_m2: float
    lon: float
    lat: float
    codes: tuple[str, ...]

    @property
    def message(self) -> str:
        """A zh-CN description for display (rounded here, not before)."""
        where = f"（{self.lon:.6f}, {self.lat:.6f}）"
        if self.kind == "overlap":
            return f"网格 {'、'.join(self.codes)} 重叠 {self.area_m2:.1f} 平方米，位置{where}"
        near = f"，相邻网格 {'、'.join(self.codes)}" if self.codes else ""
        return f"存在未覆盖的缝隙 {self.area_m2:.1f} 平方米，位置{where}{near}"


def _problem(kind: Literal["gap", "overlap"], geom: Polygonal, area: float, codes: tuple[str, ...]) -> TilingProblem:
    point = shapely.point_on_surface(geom)
    return TilingProblem(kind=kind, area_m2=area, lon=float(point.x), lat=float(point.y), codes=codes)


def _cleaned(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Invalid geometries made valid, everything reduced to its polygonal part."""
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    return _object_array([_polygonal(g) for g in geoms])


def _overlaps(
    codes: Sequence[str], geoms: npt.NDArray[np.object_], tree: shapely.STRtree, min_area: float
) -> list[TilingProblem]:
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    # Interiors must meet in 2-D: edge or corner contact is not an overlap.
    interior = shapely.relate_pattern(geoms[left], geoms[right], "2********")
    left, right = left[interior], right[interior]
    inters = shapely.intersection(geoms[left], geoms[right])
    possible = shapely.area(inters) * _M2_PER_DEG2_BOUND >= min_area
    problems = []
    for i, j, inter in zip(left[possible], right[possible], inters[possible], strict=True):
        poly = _polygonal(inter)
        area = area_m2(poly)
        if area >= min_area and area > 0.0:
            pair = tuple(sorted((codes[i], codes[j])))
            problems.append(_problem("overlap", poly, area, pair))
    return problems


def _fill_holes(geom: Polygonal) -> Polygonal:
    parts = shapely.get_parts(geom)
    if len(parts) == 0:
        return geom
    return _polygonal(shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts))))


def _gaps(
    codes: Sequence[str],
    geoms: npt.NDArray[np.object_],
    tree: shapely.STRtree,
    boundary: Polygonal | None,
    min_area: float,
) -> list[TilingProblem]:
    union = _polygonal(shapely.union_all(geoms))
    region = _fill_holes(union) if boundary is None else boundary
    parts = shapely.get_parts(_polygonal(shapely.difference(region, union)))
    if len(parts) == 0:
        return []
    possible = shapely.area(parts) * _M2_PER_DEG2_BOUND >= min_area
    parts = parts[possible]
    areas = area_m2_many(parts)
    parts, areas = parts[(areas >= min_area) & (areas > 0.0)], areas[(areas >= min_area) & (areas > 0.0)]
    gap_idx, grid_idx = tree.query(parts, predicate="dwithin", distance=_TOUCH_DEG)
    problems = []
    for k, (part, area) in enumerate(zip(parts, areas, strict=True)):
        near = tuple(sorted({codes[g] for g in grid_idx[gap_idx == k]}))
        problems.append(_problem("gap", part, float(area), near))
    return problems


def _checked_boundary(boundary: Any) -> Polygonal | None:
    if boundary is None:
        return None
    problem = _shape_problem(boundary)
    if problem is not None:
        raise InvalidInput(f"辖区边界无效：{problem}", code="invalid_geometry")
    if shapely.is_valid(boundary):
        return cast(Polygonal, boundary)
    return _polygonal(shapely.make_valid(boundary))


def check_tiling(
    grids: Sequence[tuple[str, Polygonal]], boundary: Polygonal | None = None, min_area_m2: float = 1.0
) -> list[TilingProblem]:
    """Gaps and overlaps of unit grids (无缝隙、无重叠).

    Overlaps: pairs of grids whose interiors share at least ``min_area_m2``. Gaps: parts of
    ``boundary`` not covered by any grid, or, with no boundary, holes inside the union of the
    grids. Problems are sorted by kind, codes, then position.
    """
    if not min_area_m2 >= 0.0:  # also rejects NaN
        raise InvalidInput("最小面积阈值不能为负数", code="invalid_input")
    region = _checked_boundary(boundary)
    codes = [code for code, _ in grids]
    geoms = _cleaned(_object_array([geom for _, geom in grids]))
    tree = shapely.STRtree(geoms)
    problems = _overlaps(codes, geoms, tree, min_area_m2) + _gaps(codes, geoms, tree, region, min_area_m2)
    problems.sort(key=lambda p: (p.kind, p.codes, p.lon, p.lat))
    return problems
