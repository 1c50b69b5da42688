"""Component instances (部件): census data imported from GIS files or CSV, validated and stored.

A component code has 17 digits (GB/T 47678.5): 6-digit division + 2-digit major + 3-digit minor
+ 6-digit serial; the 5 digits in the middle are its class, which must be a component class of
the taxonomy. Each component is located in a unit grid of the city (outside the city it is
refused); its status is one of 完好/破损/丢失/废弃/移除 and its owner and maintainer units, when
given, must exist. A batch is written entirely or not at all, one line per bad record.

Files: GeoJSON / Shapefile / GeoPackage points (any CRS, as for regions), or CSV with lon/lat
columns. Any source may carry a ``coord_sys`` column (wgs84/gcj02/bd09) for points taken from
Chinese web maps. Attribute names are matched case-insensitively against :data:`COMPONENT_FIELDS`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiuhua.domain.choices import ComponentStatus
from xiuhua.domain.city import City
from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.domain.geo import CoordSys, to_wgs84
from xiuhua.services.city import load_city
from xiuhua.services.geofile import check_encoding, match_fields, read_feature_file, to_lonlat
from xiuhua.services.tabular import read_csv, read_text
from xiuhua.store.city import upsert
from xiuhua.store.db import transaction
from xiuhua.store.tables import components

# Canonical attribute -> accepted column names (case-insensitive, first present wins).
COMPONENT_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "部件编码", "BJBM", "BSM"),
    "class_code": ("class_code", "小类代码", "XLDM"),
    "status": ("status", "状态", "ZT"),
    "owner_unit": ("owner_unit", "权属单位", "QSDW"),
    "maintainer_unit": ("maintainer_unit", "maintainer", "养护单位", "YHDW"),  # cut to 10 in .dbf
    "name": ("name", "名称", "MC"),
    "coord_sys": ("coord_sys", "坐标系"),
}
CSV_FIELDS: dict[str, tuple[str, ...]] = {
    **COMPONENT_FIELDS,
    "lon": ("lon", "lng", "longitude", "经度"),
    "lat": ("lat", "latitude", "纬度"),
}
_CODE = re.compile(r"^\d{17}$")
_STATUS = {**{s.value: s for s in ComponentStatus}, **{s.label: s for s in ComponentStatus}}


@dataclass(frozen=True)
class ComponentRecord:
    """One component as read from a file or built by the demo; lon/lat in ``coord_sys``."""

    code: str
    lon: float
    lat: float
    status: str = ComponentStatus.INTACT.value  # value or Chinese label
    owner_unit: str | None = None
    maintainer_unit: str | None = None
    name: str | None = None
    class_code: str | None = None  # optional; must agree with the code
    coord_sys: str = CoordSys.WGS84.value


def parse_status(text: str | None) -> ComponentStatus:
    """完好/破损/丢失/废弃/移除 or intact/damaged/lost/abandoned/removed; blank means 完好."""
    key = (text or "").strip()
    found = _STATUS.get(key) or _STATUS.get(key.lower()) or (None if key else ComponentStatus.INTACT)
    if found is None:
        allowed = "、".join(s.label for s in ComponentStatus)
        raise ValueError(f"状态“{text}”无效（可选：{allowed}）")
    return found


def _class_code(city: City, rec: ComponentRecord) -> str:
    if not _CODE.match(rec.code):
        raise ValueError("部件编码须为 17 位数字（行政区划 6 位 + 大类 2 位 + 小类 3 位 + 序号 6 位）")
    class_code = rec.code[6:11]
    if rec.class_code and rec.class_code != class_code:
        raise ValueError(f"小类代码“{rec.class_code}”与编码中的“{class_code}”不一致")
    try:
        city.taxonomy.component(class_code)
    except InvalidInput:
        raise ValueError(f"编码中的部件小类“{class_code}”不是已知的部件分类") from None
    return class_code


def _unit(city: City, code: str | None, what: str) -> str | None:
    if not code:
        return None
    if code not in city.units:
        raise ValueError(f"{what}“{code}”不存在")
    return code


def _row(city: City, rec: ComponentRecord, lon: float, lat: float, grid: str | None) -> dict[str, Any]:
    class_code = _class_code(city, rec)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError("坐标无效（经纬度须为有限数值）")
    if grid is None:
        raise ValueError(f"坐标（{rec.lon:.6f}, {rec.lat:.6f}）不在本市任何单元网格内")
    if rec.code[:6] != grid[:6]:
        raise ValueError(f"编码前 6 位“{rec.code[:6]}”与所在网格 {grid} 的行政区划代码“{grid[:6]}”不一致")
    return {"code": rec.code, "class_code": class_code, "lon": round(lon, 7), "lat": round(lat, 7),
            "grid_code": grid, "status": parse_status(rec.status).value,
            "owner_unit": _unit(city, rec.owner_unit, "权属单位"),
            "maintainer_unit": _unit(city, rec.maintainer_unit, "养护单位"),
            "name": (rec.name or "").strip() or None}


def _wgs84_points(records: Sequence[ComponentRecord], problems: dict[int, str]) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lon/lat of every record (NaN where its coordinate system is unknown)."""
    lons = np.array([r.lon for r in records], dtype=np.float64)
    lats = np.array([r.lat for r in records], dtype=np.float64)
    systems: dict[CoordSys, list[int]] = {}
    for i, rec in enumerate(records):
        try:
            systems.setdefault(CoordSys.parse(rec.coord_sys or CoordSys.WGS84.value), []).append(i)
        except InvalidInput as exc:
            problems.setdefault(i, str(exc))
            lons[i] = lats[i] = np.nan
    for system, indices in systems.items():
        lons[indices], lats[indices] = to_wgs84(lons[indices], lats[indices], system)
    return lons, lats


def _validate(city: City, records: Sequence[ComponentRecord], problems: dict[int, str]) -> list[dict[str, Any]]:
    lons, lats = _wgs84_points(records, problems)
    grids = city.grid_index.locate_many(lons, lats)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, rec in enumerate(records):
        try:
            if i in problems:
                continue
            if rec.code in seen:
                raise ValueError("编码重复")
            seen.add(rec.code)
            rows.append(_row(city, rec, float(lons[i]), float(lats[i]), grids[i]))
        except ValueError as exc:
            problems[i] = str(exc)
    return rows


def _save(session: Session, city: City, records: Sequence[ComponentRecord], labels: Sequence[str],
          problems: dict[int, str]) -> int:
    rows = _validate(city, records, problems)
    if problems:
        lines = [f"{labels[i]}（编码 {records[i].code or '空'}）：{problems[i]}" for i in sorted(problems)]
        raise BatchInvalid(f"部件数据有 {len(lines)} 处错误，未导入任何部件", lines,
                           code="invalid_components")
    for start in range(0, len(rows), 2000):
        upsert(session, components, rows[start:start + 2000], ["code"])
    return len(rows)


def save_components(session: Session, city: City, records: Sequence[ComponentRecord]) -> int:
    """Validate every record, then insert or replace them all by code; nothing is written on error."""
    return _save(session, city, records, [f"记录 {i}" for i in range(len(records))], {})


# --- reading files ------------------------------------------------------------------------


@dataclass
class _Read:
    records: list[ComponentRecord]
    labels: list[str]
    problems: dict[int, str]


def _record(get: Mapping[str, str | None], lon: float, lat: float) -> ComponentRecord:
    return ComponentRecord(
        code=get.get("code") or "", lon=lon, lat=lat, status=get.get("status") or "",
        owner_unit=get.get("owner_unit"), maintainer_unit=get.get("maintainer_unit"),
        name=get.get("name"), class_code=get.get("class_code"),
        coord_sys=get.get("coord_sys") or CoordSys.WGS84.value)


def _point(geom: Any) -> tuple[float, float, str | None]:
    if geom is None or geom.is_empty:
        return math.nan, math.nan, "缺少点坐标"
    if geom.geom_type != "Point":
        return math.nan, math.nan, f"不是点要素（{geom.geom_type}）"
    return float(geom.x), float(geom.y), None


def _read_gis(path: Path, src_crs: str | None, encoding: str | None) -> _Read:
    table = read_feature_file(path, COMPONENT_FIELDS, ("code",), src_crs, encoding)
    out = _Read([], [], {})
    for i, geom in enumerate(table.geometries):
        lon, lat, problem = _point(geom)
        if problem:
            out.problems[i] = problem
        out.records.append(_record({k: table.value(k, i) for k in COMPONENT_FIELDS}, lon, lat))
        out.labels.append(f"要素 {i}")
    return out


def _number(text: str | None, what: str) -> float:
    try:
        return float(text or "")
    except ValueError:
        raise ValueError(f"{what}“{text or ''}”不是数字") from None


def _read_csv(path: Path, src_crs: str | None, encoding: str | None) -> _Read:
    check_encoding(encoding)
    rows = read_csv(read_text(path, encoding), [])
    header = list(rows[0][1]) if rows else []
    found = match_fields(header, CSV_FIELDS, ("code", "lon", "lat"), path.name)
    out = _Read([], [], {})
    for i, (line, row) in enumerate(rows):
        get = {k: row.get(column) or None for k, column in found.items()}
        try:
            lon, lat = _number(get["lon"], "经度"), _number(get["lat"], "纬度")
        except ValueError as exc:
            lon, lat = math.nan, math.nan
            out.problems[i] = str(exc)
        out.records.append(_record(get, lon, lat))
        out.labels.append(f"第 {line} 行")
    if src_crs and out.records:
        _reproject_records(out, src_crs, path.name)
    return out


def _reproject_records(read: _Read, src_crs: str, source: str) -> None:
    """CSV x/y given in a projected CRS (``--src-crs``): replace them by WGS-84 lon/lat."""
    points = np.array([shapely.Point(r.lon, r.lat) if math.isfinite(r.lon + r.lat) else None
                       for r in read.records], dtype=object)
    lonlat = to_lonlat(points, src_crs, source)
    read.records = [replace(r, lon=float(p.x), lat=float(p.y)) if p is not None else r
                    for r, p in zip(read.records, lonlat, strict=True)]


def read_components_file(path: Path, src_crs: str | None = None,
                         encoding: str | None = None) -> _Read:
    """The records of a component census file (CSV or GIS), with any problems found reading."""
    read = (_read_csv if path.suffix.lower() == ".csv" else _read_gis)(path, src_crs, encoding)
    if not read.records:
        raise InvalidInput(f"文件“{path.name}”中没有部件", code="empty_file")
    return read


def save_read_components(session: Session, read: _Read) -> int:
    """Store what :func:`read_components_file` read; all records or none."""
    return _save(session, load_city(session), read.records, read.labels, read.problems)


def import_components_file(engine: Engine, path: Path, src_crs: str | None = None,
                           encoding: str | None = None) -> int:
    """Import a component census (points); all records or none."""
    read = read_components_file(path, src_crs, encoding)
    with transaction(engine) as session:
        return save_read_components(session, read)
