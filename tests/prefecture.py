"""A tiny prefecture city for tests: the city 420100 with two districts (two-level command).

    columns 0–1: district 420102 (甲区), street 420102001, community 420102001001, grids 001–004
    columns 2–3: district 420103 (乙开发区, a development zone), street 420103001, community
                 420103001001, grids 001–004
Rows 0–1, serials west→east, north→south inside each district. The matrix: the streets' offices
answer for everything (属地), the city's 环卫 for 06010 city-wide except in 420103 where the
district's own 环卫所 does (a district rule beats the city's), the city's 执法局 for major 06.
Users: the city center (acceptor01, dispatcher01, shift01), each district's center staff
(acceptor_102, dispatcher_102, shift_102 / acceptor_103, dispatcher_103), unit staff.
"""

from __future__ import annotations

from datetime import datetime

from shapely.geometry import box
from sqlalchemy import Engine

from xiuhua.domain.choices import Role
from xiuhua.domain.city import UnitInfo
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services import accounts
from xiuhua.services.regions import RegionFeature, save_regions
from xiuhua.store import city as store
from xiuhua.store.db import transaction

LON0, LAT0 = 114.300, 30.600
DLON, DLAT = 0.001040, 0.000899
PREFECTURE, WEST, EAST = "420100", "420102", "420103"


def grid_code(row: int, col: int) -> str:
    district = WEST if col < 2 else EAST
    return f"{district}001001{row * 2 + col % 2 + 1:03d}"


def cell(row: int, col: int) -> box:
    west, north = LON0 + col * DLON, LAT0 - row * DLAT
    return box(west, north - DLAT, west + DLON, north)


def center(row: int, col: int) -> tuple[float, float]:
    c = cell(row, col).centroid
    return c.x, c.y


def features() -> list[RegionFeature]:
    def half(first: int) -> box:
        return box(LON0 + first * DLON, LAT0 - 2 * DLAT, LON0 + (first + 2) * DLON, LAT0)

    feats = [RegionFeature(PREFECTURE, "测试地级市", box(LON0, LAT0 - 2 * DLAT, LON0 + 4 * DLON, LAT0))]
    for district, name, first, kind in ((WEST, "甲区", 0, None), (EAST, "乙开发区", 2, "zone")):
        feats += [RegionFeature(district, name, half(first), kind=kind),
                  RegionFeature(f"{district}001", f"{name}一街道", half(first)),
                  RegionFeature(f"{district}001001", f"{name}一社区", half(first))]
    feats += [RegionFeature(grid_code(r, c), f"网格{grid_code(r, c)}", cell(r, c), region_class=1)
              for r in range(2) for c in range(4)]
    return feats


UNITS = [
    UnitInfo("U-CENTER", "市城市管理指挥中心", "center"),
    UnitInfo("U-HW", "市环卫中心", "department"),
    UnitInfo("U-ZF", "市城市管理综合执法局", "department"),
    UnitInfo("U-JD102", "甲区一街道办事处", "street_office", region_code=f"{WEST}001"),
    UnitInfo("U-JD103", "乙开发区一街道办事处", "street_office", region_code=f"{EAST}001"),
    UnitInfo("U-HW103", "乙开发区环卫所", "department", region_code=EAST),
]
RULES = [
    Rule(RuleScope.ANY, None, f"{WEST}001", "U-JD102"),
    Rule(RuleScope.ANY, None, f"{EAST}001", "U-JD103"),
    Rule(RuleScope.MAJOR, "06", PREFECTURE, "U-ZF"),
    Rule(RuleScope.MATTER, "06010", PREFECTURE, "U-HW"),
    Rule(RuleScope.MATTER, "06010", EAST, "U-HW103"),
]
# login -> (role, unit, district)
USERS: dict[str, tuple[Role, str | None, str | None]] = {
    "admin01": (Role.ADMIN, None, None),
    "acceptor01": (Role.ACCEPTOR, None, None),
    "shift01": (Role.SHIFT_LEADER, None, None),
    "dispatcher01": (Role.DISPATCHER, None, None),
    "acceptor_102": (Role.ACCEPTOR, None, WEST),
    "shift_102": (Role.SHIFT_LEADER, None, WEST),
    "dispatcher_102": (Role.DISPATCHER, None, WEST),
    "acceptor_103": (Role.ACCEPTOR, None, EAST),
    "dispatcher_103": (Role.DISPATCHER, None, EAST),
    "handler_hw103": (Role.HANDLER, "U-HW103", None),
    "leader01": (Role.LEADER, None, None),
}


def build_prefecture(engine: Engine, at: datetime, password_hash: str | None = None) -> dict[str, str]:
    """The prefecture city and its users; a bearer token per login."""
    tokens: dict[str, str] = {}
    with transaction(engine) as session:
        save_regions(session, features())
        store.save_units(session, UNITS)
        store.add_rules(session, RULES)
        for login, (role, unit, district) in USERS.items():
            accounts.add_user(session, login, role, at, unit_code=unit, district=district,
                              password_hash=password_hash)
            tokens[login] = accounts.issue_token(session, login, at)
    return tokens
