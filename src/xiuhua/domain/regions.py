"""The region hierarchy and its codes: 市 → 区（县） → 街道/开发区 → 社区/村 → 单元网格.

Every region has an explicit level and parent. Codes are checked against the level:

- city: 4 digits (a prefecture city, 4201) or 6 digits (420100, or a county-level city 370199);
- district (区/县/县级市): 6 digits extending its city's code; under a 6-digit city the district
  shares the city's first four digits instead (420102 under 420100);
- street 9, community 12, grid 15 digits, each extending its parent's code by three digits.

A county-level city (no district level) is today's tree: city (6) → street (9) → community (12)
→ grid (15). Because every code below a district starts with the district's code, "the cases of
district D" are the cases whose grid code starts with D (:func:`in_district`).

Where a file gives no level, it is inferred from the code (:func:`infer_level`): 4 digits a city;
6 digits a district when a city of the same prefecture (its first four digits, or those followed
by ``00``) is known, a city otherwise; 9/12/15 digits street/community/grid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from xiuhua.domain.choices import RegionLevel

_DIGITS = re.compile(r"^\d+$")

CODE_LENGTHS: dict[RegionLevel, tuple[int, ...]] = {
    RegionLevel.CITY: (4, 6), RegionLevel.DISTRICT: (6,), RegionLevel.STREET: (9,),
    RegionLevel.COMMUNITY: (12,), RegionLevel.GRID: (15,),
}
PARENT_LEVELS: dict[RegionLevel, tuple[RegionLevel, ...]] = {
    RegionLevel.CITY: (), RegionLevel.DISTRICT: (RegionLevel.CITY,),
    RegionLevel.STREET: (RegionLevel.DISTRICT, RegionLevel.CITY),
    RegionLevel.COMMUNITY: (RegionLevel.STREET,), RegionLevel.GRID: (RegionLevel.COMMUNITY,),
}
# Level names as they appear in GIS attribute tables (besides the English values).
LEVEL_ALIASES: dict[str, RegionLevel] = {
    "市": RegionLevel.CITY, "地级市": RegionLevel.CITY, "city": RegionLevel.CITY,
    "区": RegionLevel.DISTRICT, "县": RegionLevel.DISTRICT, "县级市": RegionLevel.DISTRICT,
    "区县": RegionLevel.DISTRICT, "区（县）": RegionLevel.DISTRICT, "county": RegionLevel.DISTRICT,
    "街道": RegionLevel.STREET, "镇": RegionLevel.STREET, "乡": RegionLevel.STREET,
    "开发区": RegionLevel.STREET, "乡镇": RegionLevel.STREET, "town": RegionLevel.STREET,
    "社区": RegionLevel.COMMUNITY, "村": RegionLevel.COMMUNITY, "village": RegionLevel.COMMUNITY,
    "网格": RegionLevel.GRID, "单元网格": RegionLevel.GRID,
}
_BY_LENGTH = {9: RegionLevel.STREET, 12: RegionLevel.COMMUNITY, 15: RegionLevel.GRID}


def parse_level(value: str) -> RegionLevel:
    """A level from its value (``district``), label or a usual Chinese name (区、县、街道 …)."""
    key = str(value).strip()
    if key.lower() in RegionLevel.values():
        return RegionLevel(key.lower())
    found = LEVEL_ALIASES.get(key) or next((m for m in RegionLevel if m.label == key), None)
    if found is None:
        raise ValueError(f"层级“{value}”无效（应为 city/district/street/community/grid 或 市/区/街道/社区/网格）")
    return found


def _city_of_district(code: str, levels: Mapping[str, RegionLevel]) -> str | None:
    """The known city a 6-digit code would be a district of: its first four digits, or those
    followed by 00 (420102 → 4201 or 420100)."""
    for candidate in (code[:4], f"{code[:4]}00"):
        if candidate != code and levels.get(candidate) is RegionLevel.CITY:
            return candidate
    return None


def infer_level(code: str, levels: Mapping[str, RegionLevel]) -> RegionLevel:
    """The level of a region whose data gives none (see the module docstring)."""
    if not _DIGITS.match(code) or len(code) not in (4, 6, 9, 12, 15):
        raise ValueError("编码须为 4、6、9、12 或 15 位数字（市 + 区县 + 街道 + 社区 + 网格序号）")
    if len(code) == 4:
        return RegionLevel.CITY
    if len(code) == 6:
        return RegionLevel.DISTRICT if _city_of_district(code, levels) else RegionLevel.CITY
    return _BY_LENGTH[len(code)]


def default_parent(code: str, level: RegionLevel, levels: Mapping[str, RegionLevel]) -> str | None:
    """The parent of a region whose data names none: a district's city (4201 or 420100), the
    code without its last three digits below (None for a city)."""
    if level is RegionLevel.CITY:
        return None
    if level is RegionLevel.DISTRICT:
        return _city_of_district(code, levels)
    return code[:-3]


def _extends(code: str, level: RegionLevel, parent: str) -> bool:
    if level is RegionLevel.DISTRICT and len(parent) == 6:
        return code[:4] == parent[:4] and code != parent
    return code.startswith(parent) and len(code) == len(parent) + (2 if len(parent) == 4 else 3)


def code_problem(code: str, level: RegionLevel, parent: str | None,
                 parent_level: RegionLevel | None) -> str | None:
    """Why a region's code does not fit its level and parent (None when it does)."""
    lengths = CODE_LENGTHS[level]
    if not _DIGITS.match(code) or len(code) not in lengths:
        digits = " 或 ".join(str(n) for n in lengths)
        return f"{level.label}级区域的编码须为 {digits} 位数字"
    allowed = PARENT_LEVELS[level]
    if not allowed:
        return "市级区域没有上级区域" if parent else None
    if not parent:
        return f"{level.label}级区域须有上级区域（{'或'.join(p.label for p in allowed)}）"
    if parent_level is None:
        return f"上级区域“{parent}”不存在"
    if parent_level not in allowed:
        return f"{level.label}级区域的上级不能是{parent_level.label}级区域“{parent}”"
    if not _extends(code, level, parent):
        return f"编码“{code}”不是上级区域“{parent}”编码的下级编码"
    return None


def in_district(grid_code: str | None, district_code: str) -> bool:
    """Does the grid lie in the district (every code below a district starts with its code)?"""
    return bool(grid_code) and str(grid_code).startswith(district_code)


def areas_holding_grids(parents: Mapping[str, str | None], grids: Iterable[str]) -> set[str]:
    """The regions that hold at least one of ``grids`` (the grids and all their ancestors, by
    ``parents``: code → parent code). A responsibility rule on any other area applies to no grid."""
    found: set[str] = set()
    for grid in grids:
        code: str | None = grid
        while code is not None and code not in found:
            found.add(code)
            code = parents.get(code)
    return found
