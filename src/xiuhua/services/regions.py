"""Regions of a city (市 → [区/县] → 街道/开发区 → 社区/村 → 单元网格): read from GIS files,
validate and store.

Each region has an explicit level and parent, given by the data or inferred from its code; the
rules of codes and levels are :mod:`xiuhua.domain.regions` (a county-level city: 6-digit city,
+3 street, +3 community, +3 grid serial; a prefecture: 4- or 6-digit city, 6-digit districts).
A batch is written entirely or not at all; every bad feature is reported on its
own line (feature index, code, reason).

Files (GeoJSON, Shapefile, GeoPackage …) are read by :mod:`xiuhua.services.geofile` in any
coordinate reference system and reprojected to WGS-84 lon/lat. Attribute names are matched
case-insensitively against :data:`REGION_FIELDS`: the canonical English name first, then a
few aliases common in Chinese GIS data (编码/BM/DM/WGBM/SZDYWGBSM …); the first alias present
in the file wins."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.errors import BatchInvalid
from xiuhua.domain.geo import area_m2, polygon_problem
from xiuhua.domain.regions import code_problem, default_parent, infer_level, parse_level
from xiuhua.services.geofile import Bounds, read_coded_polygons
from xiuhua.store.city import bump_model_version, upsert
from xiuhua.store.db import transaction
from xiuhua.store.tables import regions

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


def _levels(features: Sequence[RegionFeature], known: Mapping[str, RegionLevel],
            ) -> tuple[dict[str, RegionLevel], dict[int, str]]:
    """Every region's level (the stored ones, then the batch's: explicit first, then inferred
    shortest code first so a city is known before its districts) and the problems found."""
    levels, problems = dict(known), {}
    explicit = [(i, f) for i, f in enumerate(features) if f.level not in (None, "")]
    inferred = sorted(((i, f) for i, f in enumerate(features) if f.level in (None, "")),
                      key=lambda item: (len(item[1].code), item[1].code))
    for index, f in explicit + inferred:
        try:
            levels[f.code] = (parse_level(str(f.level)) if f.level not in (None, "")
                              else infer_level(f.code, levels))
        except ValueError as exc:
            problems[index] = str(exc)
    return levels, problems


def _level(f: RegionFeature, levels: Mapping[str, RegionLevel]) -> tuple[RegionLevel, str | None]:
    """The feature's level and parent, checked against its code."""
    level = levels[f.code]
    parent = (str(f.parent_code) if f.parent_code not in (None, "")
              else default_parent(f.code, level, levels))
    problem = code_problem(f.code, level, parent, levels.get(parent) if parent else None)
    if problem:
        raise ValueError(problem)
    return level, parent


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
    if kind == "zone" and level not in (RegionLevel.STREET, RegionLevel.DISTRICT):
        raise ValueError("开发区须为区县级或街道级区域")
    return kind


def _row(f: RegionFeature, levels: Mapping[str, RegionLevel]) -> dict[str, Any]:
    level, parent = _level(f, levels)
    if not (f.name or "").strip():
        raise ValueError("缺少名称")
    problem = polygon_problem(f.geometry)
    if problem:
        raise ValueError(problem)
    return {"code": f.code, "level": level.value, "kind": _kind(f.kind, level),
            "name": f.name.strip(), "parent_code": parent,
            "region_class": _region_class(f.region_class, level),
            "area_m2": area_m2(f.geometry), "geometry": shapely.to_wkb(f.geometry)}


def save_regions(session: Session, features: Sequence[RegionFeature]) -> int:
    """Validate every feature, then insert or replace them all; nothing is written on error."""
    known = {code: RegionLevel(level) for code, level in
             session.execute(select(regions.c.code, regions.c.level))}
    levels, bad_levels = _levels(features, known)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, f in enumerate(features):
        try:
            if f.code in seen:
                raise ValueError("编码重复")
            seen.add(f.code)
            if index in bad_levels:
                raise ValueError(bad_levels[index])
            rows.append(_row(f, levels))
        except ValueError as exc:
            problems.append(f"要素 {index}（编码 {f.code or '空'}）：{exc}")
    if problems:
        raise BatchInvalid(f"区域数据有 {len(problems)} 处错误，未导入任何区域", problems,
                           code="invalid_regions")
    depth = {level: n for n, level in enumerate(RegionLevel)}
    rows.sort(key=lambda r: depth[RegionLevel(r["level"])])  # parents before children
    for i in range(0, len(rows), 2000):
        upsert(session, regions, rows[i:i + 2000], ["code"])
    bump_model_version(session)
    return len(rows)


# --- reading GIS files --------------------------------------------------------------------

# Canonical attribute -> accepted column names (matched case-insensitively, first present wins).
REGION_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "代码", "BM", "DM", "WGBM", "SZDYWGBSM", "XZQDM", "gb", "adcode"),
    "name": ("name", "名称", "MC", "XZQMC"),
    "level": ("level", "层级", "级别"),
    "kind": ("kind", "类型"),
    "region_class": ("region_class", "region_cla", "区域类别", "类别", "QYLB"),
    "parent_code": ("parent_code", "parent_cod", "上级编码", "SJBM"),
}  # "region_cla"/"parent_cod": the names cut to 10 characters in a Shapefile .dbf
# XZQDM/XZQMC: 行政区代码/名称 of land-survey (国土调查) data; gb/adcode: web-map datasets.
_FIELD_LABELS = {"code": "编码", "name": "名称", "level": "层级", "kind": "类型",
                 "region_class": "区域类别", "parent_code": "上级编码"}


@dataclass(frozen=True)
class RegionFileOptions:
    """How to read a region file (``xiuhua import regions`` flags)."""

    src_crs: str | None = None
    encoding: str | None = None
    code_field: str | None = None
    name_field: str | None = None
    level_field: str | None = None
    repair: bool = False
    merge_parts: bool = False


@dataclass(frozen=True)
class RegionImport:
    count: int
    notes: list[str]  # fields used, prefix dropped, repairs, merges (zh-CN)


def import_regions_file(engine: Engine, path: Path, src_crs: str | None = None,
                        encoding: str | None = None) -> int:
    """Import regions from GeoJSON / Shapefile / GeoPackage; all features or none."""
    return import_regions(engine, path, RegionFileOptions(src_crs, encoding)).count


def import_regions(engine: Engine, path: Path, options: RegionFileOptions) -> RegionImport:
    """Import regions from a GIS file as ``options`` say; all features or none. Problems name
    features by their number in the file (before parts were merged)."""
    with transaction(engine) as session:
        notes: list[str] = []
        numbers: list[int] = []
        features = read_regions_file(path, options.src_crs, options.encoding, options=options,
                                     known=_known_extent(session), notes=notes, numbers=numbers)
        try:
            return RegionImport(save_regions(session, features), notes)
        except BatchInvalid as exc:
            message = exc.message
            if not options.repair and not all(shapely.is_valid(f.geometry) for f in features
                                               if isinstance(f.geometry, shapely.Geometry)):
                message += "；无效（自相交等）的面可加 --repair 自动修复"
            problems = [_FEATURE_NO.sub(lambda m: f"要素 {numbers[int(m[1])]}（", line, count=1)
                        for line in exc.problems]
            raise BatchInvalid(message, problems, code=exc.code) from None


_FEATURE_NO = re.compile(r"^要素 (\d+)（")


def _known_extent(session: Session) -> Bounds | None:
    """The extent of the top regions already stored (None when there is none)."""
    wkbs = session.execute(select(regions.c.geometry).where(regions.c.parent_code.is_(None))).scalars()
    geoms = [shapely.from_wkb(w) for w in wkbs if w is not None]
    if not geoms:
        return None
    x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
    return (x0, y0, x1, y1)


def read_regions_file(path: Path, src_crs: str | None = None, encoding: str | None = None, *,
                      options: RegionFileOptions | None = None, known: Bounds | None = None,
                      notes: list[str] | None = None, numbers: list[int] | None = None
                      ) -> list[RegionFeature]:
    """The regions of a GeoJSON / Shapefile / GeoPackage file (checked by :func:`save_regions`);
    ``notes`` receives what was used and changed, ``numbers`` each region's feature number."""
    o = options or RegionFileOptions(src_crs, encoding)
    read = read_coded_polygons(
        path, REGION_FIELDS, ("code", "name"), src_crs=o.src_crs, encoding=o.encoding,
        chosen={"code": o.code_field, "name": o.name_field, "level": o.level_field},
        repair=o.repair, merge=o.merge_parts, known=known, labels=_FIELD_LABELS)
    if notes is not None:
        notes.extend(read.notes)
    if numbers is not None:
        numbers.extend(read.index)
    return [
        RegionFeature(code=code, name=read.value("name", i) or "", geometry=read.geometries[i],
                      level=read.value("level", i), kind=read.value("kind", i),
                      region_class=read.value("region_class", i),
                      parent_code=read.parent("parent_code", i))
        for i, code in enumerate(read.codes)
    ]
