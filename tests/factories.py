"""A tiny city for tests: one city, one street, two communities, a 3×3 block of 100 m grids,
three units, a complete responsibility matrix and one inspector.

Layout (lon grows east, lat grows north); grid serials run west→east, north→south:
    row 0 (north): 001 002 003      community 370181001001 = columns 0–1
    row 1:         004 005 006      community 370181001002 = column 2
    row 2 (south): 007 008 009
"""

from __future__ import annotations

from datetime import datetime

from shapely.geometry import box
from sqlalchemy import Engine

from xiuhua.domain.calendar import SHANGHAI
from xiuhua.domain.choices import Role
from xiuhua.domain.city import UnitInfo
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services.regions import RegionFeature, save_regions
from xiuhua.store import city as store
from xiuhua.store.db import transaction

LON0, LAT0 = 117.000, 36.650
DLON, DLAT = 0.001118, 0.000899  # ≈ 100 m × 100 m at this latitude
CITY, STREET = "370181", "370181001"
COMM_A, COMM_B = "370181001001", "370181001002"


def grid_code(row: int, col: int) -> str:
    community = COMM_A if col < 2 else COMM_B
    serial = row * 3 + col + 1
    return f"{community}{serial:03d}"


def cell(row: int, col: int) -> box:
    west, north = LON0 + col * DLON, LAT0 - row * DLAT
    return box(west, north - DLAT, west + DLON, north)


def center(row: int, col: int) -> tuple[float, float]:
    c = cell(row, col).centroid
    return c.x, c.y


def features() -> list[RegionFeature]:
    whole = box(LON0, LAT0 - 3 * DLAT, LON0 + 3 * DLON, LAT0)
    west = box(LON0, LAT0 - 3 * DLAT, LON0 + 2 * DLON, LAT0)
    east = box(LON0 + 2 * DLON, LAT0 - 3 * DLAT, LON0 + 3 * DLON, LAT0)
    feats = [
        RegionFeature(CITY, "测试市", whole),
        RegionFeature(STREET, "测试街道", whole),
        RegionFeature(COMM_A, "东风社区", west),
        RegionFeature(COMM_B, "西湖社区", east),
    ]
    feats += [RegionFeature(grid_code(r, c), f"网格{grid_code(r, c)[-3:]}", cell(r, c),
                            region_class=1) for r in range(3) for c in range(3)]
    return feats


UNITS = [
    UnitInfo("U-CENTER", "城市管理指挥中心", "center"),
    UnitInfo("U-HW", "环卫中心", "department"),
    UnitInfo("U-ZF", "城市管理综合执法局", "department"),
    UnitInfo("U-JD1", "测试街道办事处", "street_office", region_code=STREET),
]


def build_tiny_city(engine: Engine) -> None:
    with transaction(engine) as session:
        save_regions(session, features())
        store.save_units(session, UNITS)
        store.add_rules(session, [
            Rule(RuleScope.ANY, None, CITY, "U-JD1"),
            Rule(RuleScope.MAJOR, "06", CITY, "U-ZF"),
            Rule(RuleScope.MATTER, "06010", CITY, "U-HW"),
            Rule(RuleScope.MATTER, "06012", CITY, "U-HW"),
        ])
        store.save_user(session, "inspector01", "张监督", Role.INSPECTOR,
                        grids=[grid_code(r, c) for r in range(3) for c in range(3)])
        store.save_user(session, "handler_hw", "李环卫", Role.HANDLER, unit_code="U-HW")


def local(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. local("2026-10-16 17:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
