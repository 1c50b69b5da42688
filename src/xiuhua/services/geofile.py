"""Reading GIS files (GeoJSON, Shapefile, GeoPackage …) for the region and component imports.

Files are read through pyogrio in any coordinate reference system and reprojected to WGS-84
lon/lat. Attribute names are matched case-insensitively against a table of canonical names and
their aliases (the first alias present in the file wins); values come back as text. Unreadable
files, unknown or wrong text encodings and missing coordinate reference systems are refused
with a zh-CN message saying what to pass (``--encoding``, ``--src-crs``)."""

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

from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import reproject_to_wgs84

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
