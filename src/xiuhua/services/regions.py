"""Regions of a county-level city (市 → 街道/开发区 → 社区/村 → 单元网格): read from GIS files,
validate and store.

Codes carry the hierarchy: 6-digit division (city), +3 street, +3 community, +3 grid serial
(15 digits). A batch is written entirely or not at all; every bad feature is reported on its
own line (feature index, code, reason).

Files (GeoJSON, Shapefile, GeoPackage …) are read through pyogrio in any coordinate reference
system and reprojected to WGS-84 lon/lat. :func:`read_feature_file` is shared with the
component import. Attribute names are matched case-insensitively against :data:`REGION_FIELDS`:
the canonical English name first, then a few aliases common in Chinese GIS data
(编码/BM/DM/WGBM/SZDYWGBSM …); the first alias present in the file wins."""

from __future__ import annotations

import codecs
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyogrio
import shapely
from pyogrio import errors as ogr_errors
from pyogrio import raw
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.domain.geo import area_m2, polygon_problem, reproject_to_wgs84
from xiuhua.store.city import bump_model_version, upsert
from xiuhua.store.db import transaction
from xiuhua.store.tables import regions

LEVEL_BY_LENGTH = {6: RegionLevel.CITY, 9: RegionLevel.STREET, 12: RegionLevel.COMMUNITY,
                   15: RegionLevel.GRID}
LENGTH_BY_LEVEL = {v: k for k, v in LEVEL_BY_LENGTH.items()}
_DIGITS = re.compile(r"^\d+$")
_CLASS_ALIASES = {"1": 1, "一类": 1, "一类区域": 1, "2": 2, "二类": 2, "二类区域": 2}
_KIND_ALIASES = {"zone": "zone", "开发区": "zone", "street": None, "街道": None, "镇": None}


@dataclass(frozen=True)
class RegionFeature:
    """One region as read from a file or built by the demo; geometry in WGS84 lon/lat."""

    code: str
    name: str
    geometry: Any
    level: str | None = None
    kind: str | None = None
    region_class: str | int | None = None
    parent_code: str | None = None


def parent_of(code: str) -> str | None:
    return code[:-3] if len(code) > 6 else None


def _level(f: RegionFeature) -> RegionLevel:
    if not _DIGITS.match(f.code) or len(f.code) not in LEVEL_BY_LENGTH:
        raise ValueError("编码须为 6、9、12 或 15 位数字（行政区划 + 街道 + 社区 + 网格序号）")
    level = LEVEL_BY_LENGTH[len(f.code)]
    if f.level not in (None, "") and str(f.level) != level.value:
        raise ValueError(f"层级“{f.level}”与编码位数不符（应为 {level.value}）")
    if f.parent_code not in (None, "") and f.parent_code != parent_of(f.code):
        raise ValueError(f"上级编码“{f.parent_code}”与编码不一致（应为 {parent_of(f.code)}）")
    return level


def _region_class(value: str | int | None, level: RegionLevel) -> int | None:
    if value in (None, ""):
        return None
    found = _CLASS_ALIASES.get(str(value).strip())
    if found is None:
        raise ValueError(f"区域类别“{value}”无效（应为 一类 或 二类）")
    if level is not RegionLevel.GRID:
        raise ValueError("只有单元网格有区域类别")
    return found


def _kind(value: str | None, level: RegionLevel) -> str | None:
    if value in (None, ""):
        return None
    key = str(value).strip()
    if key not in _KIND_ALIASES:
        raise ValueError(f"区域类型“{value}”无效（街道级可为 zone/开发区）")
    kind = _KIND_ALIASES[key]
    if kind == "zone" and level is not RegionLevel.STREET:
        raise ValueError("开发区须为街道级区域（9 位编码）")
    return kind


def _row(f: RegionFeature, known: set[str]) -> dict[str, Any]:
    level = _level(f)
    if not (f.name or "").strip():
        raise ValueError("缺少名称")
    problem = polygon_problem(f.geometry)
    if problem:
        raise ValueError(problem)
    parent = parent_of(f.code)
    if parent is not None and parent not in known:
        raise ValueError(f"上级区域“{parent}”不存在")
    return {"code": f.code, "level": level.value, "kind": _kind(f.kind, level),
            "name": f.name.strip(), "parent_code": parent,
            "region_class": _region_class(f.region_class, level),
            "area_m2": area_m2(f.geometry), "geometry": shapely.to_wkb(f.geometry)}


def save_regions(session: Session, features: Sequence[RegionFeature]) -> int:
    """Validate every feature, then insert or replace them all; nothing is written on error."""
    known = set(session.execute(select(regions.c.code)).scalars())
    known |= {f.code for f in features}
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, f in enumerate(features):
        try:
            if f.code in seen:
                raise ValueError("编码重复")
            seen.add(f.code)
            rows.append(_row(f, known))
        except ValueError as exc:
            problems.append(f"要素 {index}（编码 {f.code or '空'}）：{exc}")
    if problems:
        raise BatchInvalid(f"区域数据有 {len(problems)} 处错误，未导入任何区域", problems,
                           code="invalid_regions")
    rows.sort(key=lambda r: len(r["code"]))  # parents before children
    for i in range(0, len(rows), 2000):
        upsert(session, regions, rows[i:i + 2000], ["code"])
    bump_model_version(session)
    return len(rows)


# --- reading GIS files --------------------------------------------------------------------

# Canonical attribute -> accepted column names (matched case-insensitively, first present wins).
REGION_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "代码", "BM", "DM", "WGBM", "SZDYWGBSM"),
    "name": ("name", "名称", "MC"),
    "level": ("level", "层级"),
    "kind": ("kind", "类型"),
    "region_class": ("region_class", "region_cla", "区域类别", "类别", "QYLB"),
    "parent_code": ("parent_code", "parent_cod", "上级编码", "SJBM"),
}  # "region_cla"/"parent_cod": the names cut to 10 characters in a Shapefile .dbf
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

    def __len__(self) -> int:
        return len(self.geometries)

    def value(self, name: str, index: int) -> str | None:
        column = self.columns.get(name)
        return column[index] if column is not None else None


def match_fields(available: Sequence[str], fields: Mapping[str, Sequence[str]],
                 required: Sequence[str], source: str) -> dict[str, str]:
    """Canonical name -> the file's column for it; a missing required column is refused."""
    by_lower = {name.strip().lower(): name for name in available}
    found: dict[str, str] = {}
    for canonical, aliases in fields.items():
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


def to_lonlat(geoms: npt.NDArray[np.object_], crs: str | None, source: str) -> npt.NDArray[np.object_]:
    """Geometries in WGS-84 lon/lat. With no CRS, lon/lat-looking data is taken as CGCS2000/WGS-84
    geographic (they differ by centimetres); anything else needs ``--src-crs``."""
    if crs:
        return reproject_to_wgs84(geoms, crs)
    if len(geoms) == 0 or _looks_like_lonlat(geoms):
        return geoms
    raise InvalidInput(f"“{source}”没有坐标参考系（如缺少 .prj），坐标也不是经纬度：请用 --src-crs 指定，"
                       "如 --src-crs EPSG:4548（CGCS2000 3 度带高斯-克吕格，中央经线 117°E）",
                       code="missing_crs")


def read_feature_file(path: Path, fields: Mapping[str, Sequence[str]], required: Sequence[str],
                      src_crs: str | None = None, encoding: str | None = None) -> FeatureTable:
    """Read the first layer of a GIS file; ``src_crs`` overrides (or supplies) the file's CRS."""
    check_encoding(encoding)
    info = _ogr(pyogrio.read_info, path, encoding)
    _refuse_mojibake(list(info["fields"]), info, encoding, path)
    found = match_fields(list(info["fields"]), fields, required, path.name)
    meta, _fids, wkb, data = _ogr(raw.read, path, encoding, columns=list(found.values()), force_2d=True)
    by_column = dict(zip(meta["fields"], data, strict=True))
    columns = {canonical: [cell_text(v) for v in by_column[column]] for canonical, column in found.items()}
    _refuse_mojibake([t for col in columns.values() for t in col], info, encoding, path)
    if wkb is None or len(wkb) == 0:
        raise InvalidInput(f"文件“{path.name}”中没有要素", code="empty_file")
    geoms = shapely.from_wkb(wkb)
    return FeatureTable(columns, to_lonlat(geoms, src_crs or info["crs"], path.name))


def import_regions_file(engine: Engine, path: Path, src_crs: str | None = None,
                        encoding: str | None = None) -> int:
    """Import regions from GeoJSON / Shapefile / GeoPackage; all features or none."""
    table = read_feature_file(path, REGION_FIELDS, ("code", "name"), src_crs, encoding)
    features = [
        RegionFeature(code=table.value("code", i) or "", name=table.value("name", i) or "",
                      geometry=table.geometries[i], level=table.value("level", i),
                      kind=table.value("kind", i), region_class=table.value("region_class", i),
                      parent_code=table.value("parent_code", i))
        for i in range(len(table))
    ]
    with transaction(engine) as session:
        return save_regions(session, features)
