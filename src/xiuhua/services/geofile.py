"""Reading GIS files (GeoJSON, Shapefile, GeoPackage …) for the region and component imports.

Files are read through pyogrio in any coordinate reference system and reprojected to WGS-84
lon/lat. Attribute names are matched case-insensitively against a table of canonical names and
their aliases (the first alias present in the file wins, or the column the user names); values
come back as text. Unreadable files, unknown or wrong text encodings and missing coordinate
reference systems are refused with a zh-CN message saying what to pass (``--encoding``,
``--src-crs``).

Polygons with administrative codes (:func:`read_coded_polygons`) are also checked for place:
after reprojection their extent must lie inside the box of their code's division
(``data/region_boxes.csv``), or, for codes not in it, overlap the regions already stored or lie
in China; a refusal prints the extent found and the likely cause (a wrong zone, a missing zone
prefix, swapped axes). Invalid polygons are repaired on request (``--repair``) and features
sharing a code merged (``--merge-parts``)."""

from __future__ import annotations

import codecs
import csv
import functools
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyogrio
import shapely
from pyogrio import errors as ogr_errors
from pyogrio import raw
from pyproj import CRS

from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.domain.geo import CoordSys, polygon_problem, reproject_to_wgs84, to_wgs84

_OGR_ERRORS = (ogr_errors.DataSourceError, ogr_errors.DataLayerError, ogr_errors.FieldError,
               ogr_errors.FeatureError, ogr_errors.GeometryError, ogr_errors.CRSError)
# Latin-1 letters: what GBK text looks like when a Shapefile without .cpg is read as ISO-8859-1.
_MOJIBAKE = re.compile("[\u0080-\u00ff]")
T = TypeVar("T")


@dataclass(frozen=True)
class FeatureTable:
    """The features of a file: attributes by canonical name, geometries in WGS-84 lon/lat."""

    columns: Mapping[str, list[str | None]]
    geometries: npt.NDArray[np.object_]
    fields_used: Mapping[str, str] = field(default_factory=dict)  # canonical -> the file's column
    crs: CRS | CoordSys | None = None  # what the coordinates were read as (None: lon/lat)
    source_bounds: tuple[float, float, float, float] | None = None  # before reprojection

    def __len__(self) -> int:
        return len(self.geometries)

    def value(self, name: str, index: int) -> str | None:
        column = self.columns.get(name)
        return column[index] if column is not None else None


def match_fields(available: Sequence[str], fields: Mapping[str, Sequence[str]],
                 required: Sequence[str], source: str,
                 chosen: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """Canonical name -> the file's column for it; a missing required column is refused.
    ``chosen`` names the column for some canonical names (``--code-field`` …): it must exist."""
    by_lower = {name.strip().lower(): name for name in available}
    found: dict[str, str] = {}
    for canonical, column_name in (chosen or {}).items():
        if column_name is None:
            continue
        if column_name.strip().lower() not in by_lower:
            raise InvalidInput(f"“{source}”中没有字段“{column_name}”；文件中的字段：{', '.join(available) or '无'}",
                               code="missing_columns")
        found[canonical] = by_lower[column_name.strip().lower()]
    for canonical, aliases in fields.items():
        if canonical in found:
            continue
        column = next((by_lower[a.lower()] for a in aliases if a.lower() in by_lower), None)
        if column is not None:
            found[canonical] = column
    missing = [c for c in required if c not in found]
    if missing:
        wanted = "；".join(f"{c}（可用列名：{'/'.join(fields[c])}）" for c in missing)
        raise InvalidInput(f"“{source}”缺少字段：{wanted}；文件中的字段：{', '.join(available) or '无'}",
                           code="missing_columns")
    return found


def cell_text(value: Any) -> str | None:
    """An attribute value as text: integers without ".0", blanks and NaN as None."""
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() else str(number)
    text = str(value).strip()
    return text or None


def check_encoding(encoding: str | None) -> None:
    if encoding is None:
        return
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidInput(f"未知的文字编码“{encoding}”", code="invalid_encoding") from None


def _ogr(fn: Callable[..., T], path: Path, encoding: str | None, **kwargs: Any) -> T:
    """Call pyogrio, turning its errors into clear zh-CN ones."""
    try:
        return fn(path, encoding=encoding, **kwargs)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"文件“{path.name}”的属性无法按 {encoding or '文件声明的编码'} 解码"
                           f"（{exc.reason}）；请用 --encoding 指定正确的编码，如 GBK 或 UTF-8",
                           code="invalid_encoding") from None
    except _OGR_ERRORS as exc:
        raise InvalidInput(f"无法读取文件“{path.name}”：{exc}", code="unreadable_file") from None


def _refuse_mojibake(texts: Sequence[str | None], info: Mapping[str, Any], encoding: str | None,
                     path: Path) -> None:
    """GBK text read as ISO-8859-1 (no .cpg, no --encoding) would be stored garbled: refuse."""
    if encoding is not None or str(info.get("encoding") or "").upper() != "ISO-8859-1":
        return
    if any(t and _MOJIBAKE.search(t) for t in texts):
        raise InvalidInput(f"文件“{path.name}”未声明文字编码（缺少 .cpg），中文属性会成为乱码；"
                           "请用 --encoding 指定编码，如 --encoding GBK", code="invalid_encoding")


def _looks_like_lonlat(geoms: npt.NDArray[np.object_]) -> bool:
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    return bool(np.isfinite([xmin, ymin, xmax, ymax]).all()
                and -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90)


CRS_EXAMPLE = ("如 --src-crs EPSG:4549（CGCS2000 3 度带高斯-克吕格，中央经线 120°E，坐标不带带号；"
               "带带号的第 40 带为 EPSG:4528）")


def web_coord_sys(crs: str | None) -> CoordSys | None:
    """``gcj02`` / ``bd09`` (the offset lon/lat of Chinese web maps), else None."""
    if crs is None:
        return None
    key = crs.strip().lower().replace("-", "").replace("_", "")
    return CoordSys(key) if key in (CoordSys.GCJ02.value, CoordSys.BD09.value) else None


def to_lonlat(geoms: npt.NDArray[np.object_], crs: str | None, source: str) -> npt.NDArray[np.object_]:
    """Geometries in WGS-84 lon/lat. With no CRS, lon/lat-looking data is taken as CGCS2000/WGS-84
    geographic (they differ by centimetres); anything else needs ``--src-crs``. ``gcj02`` and
    ``bd09`` take the coordinates as lon/lat of those systems."""
    web = web_coord_sys(crs)
    if web is not None:
        if len(geoms) and not _looks_like_lonlat(geoms):
            raise InvalidInput(f"“{source}”的坐标不是经纬度，不能按 {web.value} 读取：{CRS_EXAMPLE}",
                               code="invalid_crs")

        def shift(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], web))

        return np.asarray(shapely.transform(geoms, shift), dtype=object)
    if crs:
        return reproject_to_wgs84(geoms, crs)
    if len(geoms) == 0 or _looks_like_lonlat(geoms):
        return geoms
    raise InvalidInput(f"“{source}”没有坐标参考系（如缺少 .prj），坐标也不是经纬度：请用 --src-crs 指定，{CRS_EXAMPLE}",
                       code="missing_crs")


def _crs_of(crs: str | None) -> CRS | CoordSys | None:
    web = web_coord_sys(crs)
    if web is not None or not crs:
        return web
    try:
        return CRS.from_user_input(crs)
    except Exception:
        return None


def read_feature_file(path: Path, fields: Mapping[str, Sequence[str]], required: Sequence[str],
                      src_crs: str | None = None, encoding: str | None = None,
                      chosen: Mapping[str, str | None] | None = None) -> FeatureTable:
    """Read the first layer of a GIS file; ``src_crs`` overrides (or supplies) the file's CRS;
    ``chosen`` names the columns of some canonical fields (else the aliases are tried)."""
    check_encoding(encoding)
    info = _ogr(pyogrio.read_info, path, encoding)
    _refuse_mojibake(list(info["fields"]), info, encoding, path)
    found = match_fields(list(info["fields"]), fields, required, path.name, chosen)
    meta, _fids, wkb, data = _ogr(raw.read, path, encoding, columns=list(found.values()), force_2d=True)
    by_column = dict(zip(meta["fields"], data, strict=True))
    columns = {canonical: [cell_text(v) for v in by_column[column]] for canonical, column in found.items()}
    _refuse_mojibake([t for col in columns.values() for t in col], info, encoding, path)
    if wkb is None or len(wkb) == 0:
        raise InvalidInput(f"文件“{path.name}”中没有要素", code="empty_file")
    geoms = shapely.from_wkb(wkb)
    crs = src_crs or info["crs"]
    bounds = tuple(float(v) for v in shapely.total_bounds(geoms))
    return FeatureTable(columns, to_lonlat(geoms, crs, path.name), found, _crs_of(crs),
                        (bounds[0], bounds[1], bounds[2], bounds[3]))


# --- polygons with administrative codes: country prefix, place, repair, parts ---------------

COUNTRY_PREFIX = "156"  # GB/T 2659 numeric code of China, prefixed to the codes of some datasets
_CODE_LENGTHS = (4, 6, 9, 12, 15)  # a prefecture city (4 or 6), district, street, community, grid
_BOX_MARGIN_DEG = 0.05  # ≈ 5 km: the boxes are rounded and the data's boundaries not the source's
Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class CodedPolygons:
    """Polygons with codes, read from a file, reprojected, checked for place, repaired and
    merged as asked; ``index`` is each one's (first) feature number in the file; ``notes``
    say which fields were used and what was changed (zh-CN, one line each)."""

    codes: list[str]
    index: list[int]
    geometries: list[Any]
    columns: Mapping[str, list[str | None]]
    notes: list[str]
    prefixed: bool = False  # the codes had the country prefix (dropped from ``codes``)

    def value(self, name: str, i: int) -> str | None:
        column = self.columns.get(name)
        return column[i] if column is not None else None

    def parent(self, name: str, i: int) -> str | None:
        """A code-valued column (a parent code), without the prefix when the codes had it."""
        code = self.value(name, i)
        if (self.prefixed and code and code.startswith(COUNTRY_PREFIX)
                and len(code) - len(COUNTRY_PREFIX) in _CODE_LENGTHS):
            return code[len(COUNTRY_PREFIX):]
        return code


@dataclass(frozen=True)
class RegionBox:
    """The WGS-84 extent of an administrative division (``data/region_boxes.csv``)."""

    code: str
    name: str
    bounds: Bounds

    def holds(self, bounds: Bounds, margin: float = _BOX_MARGIN_DEG) -> bool:
        x0, y0, x1, y1 = self.bounds
        return (bounds[0] >= x0 - margin and bounds[1] >= y0 - margin
                and bounds[2] <= x1 + margin and bounds[3] <= y1 + margin)

    def text(self) -> str:
        return _extent_text(self.bounds)


@functools.lru_cache(maxsize=1)
def region_boxes() -> dict[str, RegionBox]:
    """The boxes of ``data/region_boxes.csv`` by 6-digit code."""
    text = resources.files("xiuhua.data").joinpath("region_boxes.csv").read_text(encoding="utf-8")
    return {row["code"]: RegionBox(row["code"], row["name"],
                                   (float(row["min_lon"]), float(row["min_lat"]),
                                    float(row["max_lon"]), float(row["max_lat"])))
            for row in csv.DictReader(text.splitlines())}


def china_box() -> RegionBox:
    """China's extent: the country's box widened to the South China Sea islands."""
    boxes = region_boxes()
    country, sansha = boxes["100000"].bounds, boxes["460300"].bounds
    return RegionBox("100000", "中国", (min(country[0], sansha[0]), min(country[1], sansha[1]),
                                          max(country[2], sansha[2]), max(country[3], sansha[3])))


def expected_box(code: str) -> RegionBox | None:
    """The box of the county, else the prefecture, else the province of a GB/T 2260 code."""
    if len(code) < 6 or not code[:6].isdigit():
        return None
    boxes = region_boxes()
    for key in (code[:6], code[:4] + "00", code[:2] + "0000"):
        if key in boxes and key != "100000":
            return boxes[key]
    return None


def _extent_text(bounds: Bounds) -> str:
    x0, y0, x1, y1 = bounds
    if not all(math.isfinite(v) for v in bounds):
        return "无法计算（坐标无法转换为经纬度）"
    return f"经度 {x0:.4f}–{x1:.4f}，纬度 {y0:.4f}–{y1:.4f}"


def strip_country_prefix(codes: list[str]) -> tuple[list[str], bool]:
    """Codes without the ``156`` prefix when every code of the file carries it."""
    present = [c for c in codes if c]
    if present and all(c.startswith(COUNTRY_PREFIX) and c.isdigit()
                       and len(c) - len(COUNTRY_PREFIX) in _CODE_LENGTHS for c in present):
        return [c[len(COUNTRY_PREFIX):] if c else c for c in codes], True
    return codes, False


# Transverse Mercator parameters of a projected CRS (Gauss–Krüger is Transverse Mercator).
_TM_PARAMS = {"Longitude of natural origin": "lon_0", "False easting": "x_0"}


def _gauss_kruger(crs: CRS | CoordSys | None) -> tuple[float, float] | None:
    """(central meridian, false easting) of a Transverse Mercator CRS, else None."""
    if not isinstance(crs, CRS) or not crs.is_projected or crs.coordinate_operation is None:
        return None
    operation = crs.coordinate_operation
    if "transverse mercator" not in operation.method_name.lower():
        return None
    params = {_TM_PARAMS[p.name]: float(p.value) for p in operation.params if p.name in _TM_PARAMS}
    return (params["lon_0"], params["x_0"]) if len(params) == 2 else None


def _cgcs2000_gk(central_meridian: float, prefixed: bool) -> str:
    """The EPSG code of the CGCS2000 3-degree Gauss–Krüger zone with this central meridian."""
    step = round((central_meridian - 75) / 3)
    return f"EPSG:{(4513 if prefixed else 4534) + step}"


def _zone_cause(crs: CRS | CoordSys | None, source_bounds: Bounds | None, box: RegionBox) -> str:
    """Why projected data landed outside its box: the zone (prefix) of the CRS, most likely."""
    gk = _gauss_kruger(crs)
    if gk is None or source_bounds is None:
        return ""
    central, false_easting = gk
    declared_zone = int(false_easting // 1_000_000)
    data_zone = int(source_bounds[0] // 1_000_000) if source_bounds[0] >= 1_000_000 else 0
    zones = sorted({3 * round(lon / 3) for lon in (box.bounds[0], (box.bounds[0] + box.bounds[2]) / 2,
                                                   box.bounds[2])})
    if data_zone and data_zone != declared_zone and 25 <= data_zone <= 45:
        return (f"坐标的横坐标带有带号 {data_zone}（第 {data_zone} 带，中央经线 {data_zone * 3}°E），"
                f"而所给坐标系是中央经线 {central:g}°E 的投影带：带号不对？应为 {_cgcs2000_gk(data_zone * 3, True)}")
    if declared_zone and not data_zone:
        return (f"坐标的横坐标不带带号，而所给坐标系要求带号 {declared_zone}：应使用不带带号的坐标系，"
                f"如 {'、'.join(f'{_cgcs2000_gk(z, False)}（{z}°E）' for z in zones)}")
    others = [z for z in zones if abs(z - central) > 0.01]
    suggestion = "、".join(f"{_cgcs2000_gk(z, bool(declared_zone))}（{z}°E）" for z in others)
    return (f"带号不对（wrong zone?）：所给坐标系是中央经线 {central:g}°E 的高斯-克吕格投影带"
            + (f"，{box.name}所在的 3 度带如 {suggestion}" if suggestion else ""))


def _likely_cause(crs: CRS | CoordSys | None, source_bounds: Bounds | None, found: Bounds,
                  box: RegionBox) -> str:
    zone = _zone_cause(crs, source_bounds, box)
    if zone:
        return zone
    swapped = (found[1], found[0], found[3], found[2])
    if box.holds(swapped):
        return "经纬度顺序颠倒？"
    if (isinstance(crs, CRS) and crs.is_geographic) or crs is None:
        return "坐标系不对（投影坐标被当作经纬度，或应指定 --src-crs）？也可能是行政区划代码不对"
    return "坐标系（--src-crs）不对？也可能是行政区划代码不对"


def check_place(codes: Sequence[str], geoms: Sequence[Any], table: FeatureTable, source: str,
                known: Bounds | None = None) -> None:
    """Refuse data whose extent lies outside the box of its administrative code; codes not in
    the table must overlap ``known`` (the regions already stored) or lie in China."""
    groups: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        box = expected_box(code)
        groups.setdefault(box.code if box else "", []).append(i)
    boxes = region_boxes()
    for key, members in groups.items():
        found = _bounds([geoms[i] for i in members])
        if key:
            box = boxes[key]
            if box.holds(found):
                continue
            where = f"行政区划代码 {codes[members[0]]} 所属{box.name}的范围（{box.text()}）"
        else:
            if _overlaps(found, known) or china_box().holds(found):
                continue
            box = china_box()
            where = ("已有区域的范围" if known else "") + f"中国的范围（{box.text()}）"
        raise InvalidInput(
            f"“{source}”的坐标范围（{_extent_text(found)}）不在{where}内：数据会落在错误的位置，未导入。"
            f"可能的原因：{_likely_cause(table.crs, table.source_bounds, found, box)}",
            code="out_of_place")


def _bounds(geoms: Sequence[Any]) -> Bounds:
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(np.asarray(geoms, dtype=object)))
    coords = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    if len(coords) and not np.isfinite(coords).all():
        return (math.inf, math.inf, math.inf, math.inf)
    return (x0, y0, x1, y1)


def _overlaps(a: Bounds, b: Bounds | None) -> bool:
    return b is not None and a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def repair_polygons(codes: Sequence[str], geoms: Sequence[Any], repair: bool) -> tuple[list[Any], list[str]]:
    """With ``repair``, invalid polygons made valid (polygonal parts kept), one note each naming
    the feature and where it was invalid; without, unchanged (the save names each one)."""
    out = list(geoms)
    notes: list[str] = []
    for i, geom in enumerate(geoms):
        if not repair or not isinstance(geom, shapely.Geometry) or geom.is_empty or shapely.is_valid(geom):
            continue
        if shapely.get_type_id(geom) not in (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON):
            continue  # not a polygon: the save names it
        fixed = _polygonal_part(shapely.make_valid(geom))
        if not fixed.is_empty:
            out[i] = fixed
            notes.append(f"已修复要素 {i}（编码 {codes[i] or '空'}）：{polygon_problem(geom) or '几何无效'}")
    return out, notes


def _polygonal_part(geom: Any) -> Any:
    parts = shapely.get_parts(shapely.get_parts(geom))
    polys = [p for p in parts if shapely.get_type_id(p) == shapely.GeometryType.POLYGON and not p.is_empty]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def merge_parts(codes: list[str], geoms: list[Any], merge: bool) -> tuple[list[int], list[Any], list[str]]:
    """Features sharing a code merged into one (first feature's attributes), or, without
    ``merge``, refused naming them. Returns the first feature number of each, geometries, notes."""
    members: dict[str, list[int]] = {}
    for i, code in enumerate(codes):
        members.setdefault(code, []).append(i)
    repeated = {code: idx for code, idx in members.items() if code and len(idx) > 1}
    if repeated and not merge:
        problems = [f"编码 {code}：要素 {'、'.join(map(str, idx))}" for code, idx in repeated.items()]
        raise BatchInvalid(f"有 {len(repeated)} 个编码出现在多个要素中，未导入任何区域；"
                           "同一区域分成多块的，可加 --merge-parts 合并", problems, code="invalid_regions")
    firsts = [idx[0] for idx in members.values()] if merge else list(range(len(codes)))
    if not merge:
        return firsts, geoms, []
    merged = [_polygonal_part(shapely.union_all([geoms[i] for i in members[codes[first]]]))
              if codes[first] in repeated else geoms[first] for first in firsts]
    notes = [f"已合并编码 {code} 的 {len(idx)} 个要素（{'、'.join(map(str, idx))}）" for code, idx in repeated.items()]
    return firsts, merged, notes


def _field_note(fields_used: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """The fields used, in the order of ``labels`` (code, name, level …) whether chosen or found."""
    order = {name: n for n, name in enumerate(labels)}
    used = sorted(fields_used.items(), key=lambda item: order.get(item[0], len(order)))
    return "使用字段：" + "；".join(f"{labels.get(k, k)} {v}" for k, v in used)


def read_coded_polygons(path: Path, fields: Mapping[str, Sequence[str]], required: Sequence[str], *,
                        src_crs: str | None = None, encoding: str | None = None,
                        chosen: Mapping[str, str | None] | None = None, repair: bool = False,
                        merge: bool = False, known: Bounds | None = None,
                        labels: Mapping[str, str] | None = None) -> CodedPolygons:
    """Read polygons keyed by an administrative ``code`` column: the country prefix dropped,
    the place checked, invalid polygons repaired (or refused) and parts merged (or refused)."""
    table = read_feature_file(path, fields, required, src_crs, encoding, chosen)
    notes = [_field_note(table.fields_used, labels or {})]
    codes, stripped = strip_country_prefix([table.value("code", i) or "" for i in range(len(table))])
    if stripped:
        notes.append(f"编码带国家代码前缀 {COUNTRY_PREFIX}，已去掉")
    geoms = list(table.geometries)
    check_place(codes, geoms, table, path.name, known)
    geoms, repaired = repair_polygons(codes, geoms, repair)
    firsts, geoms, merged = merge_parts(codes, geoms, merge)
    columns = {name: [column[i] for i in firsts] for name, column in table.columns.items()}
    return CodedPolygons([codes[i] for i in firsts], firsts, geoms, columns, notes + repaired + merged, stripped)
