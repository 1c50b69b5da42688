"""A tiny city for tests: one city, one street, two communities, a 3×3 block of 100 m grids,
three units, a complete responsibility matrix and one inspector; and the staff and helpers
that report cases there and act on them through the services.

Layout (lon grows east, lat grows north); grid serials run west→east, north→south:
    row 0 (north): 001 002 003      community 370181001001 = columns 0–1
    row 1:         004 005 006      community 370181001002 = column 2
    row 2 (south): 007 008 009
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from xiuhua.cli import app
from xiuhua.config import get_settings
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action, Role, Source
from xiuhua.domain.city import UnitInfo
from xiuhua.domain.lifecycle import Actor, Command
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services.cases import act_on_case
from xiuhua.services.city import load_city
from xiuhua.services.intake import Report, Reporter, take_report
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
    return datetime.fromisoformat(text).replace(tzinfo=local_zone())


# --- cases in the tiny city ---------------------------------------------------------------

# Who acts, as the lifecycle sees them (the logins of tests/api/conftest.py's users).
PUBLIC = Actor(None, Role.PUBLIC)
INSPECTOR = Actor("inspector01", Role.INSPECTOR)
ACCEPTOR = Actor("acceptor01", Role.ACCEPTOR)
SHIFT = Actor("shift01", Role.SHIFT_LEADER)
DISPATCHER = Actor("dispatcher01", Role.DISPATCHER)
HANDLER = Actor("handler_hw", Role.HANDLER, unit_code="U-HW")
HANDLER_ZF = Actor("handler_zf", Role.HANDLER, unit_code="U-ZF")
LEADER = Actor("leader01", Role.LEADER)


def _moment(at: str | datetime) -> datetime:
    return local(at) if isinstance(at, str) else at


def report(engine: Engine, at: str | datetime, actor: Actor = INSPECTOR, **fields: Any) -> str:
    """Report a case at ``at`` (local time text, or an aware datetime), 06010 暴露垃圾 unless
    ``category_code`` is given; its case number."""
    data = Report(**{"category_code": "06010", "source": Source.INSPECTOR, **fields})
    with transaction(engine) as session:
        return take_report(session, load_city(session), data, _moment(at),
                           Reporter.system(actor)).case.case_no


def act(engine: Engine, case_no: str, action: Action, at: str | datetime, actor: Actor,
        **fields: Any) -> None:
    """Take one action at ``at`` (local time text, or an aware datetime), in its own transaction."""
    with transaction(engine) as session:
        act_on_case(session, load_city(session), case_no,
                    Command(action, _moment(at), actor, **fields))


def dispatched_case(engine: Engine, at: str, unit: str = "U-HW", category: str = "06010",
                    cell: tuple[int, int] = (1, 1)) -> str:
    """A case reported, filed and dispatched at ``at`` (06010 暴露垃圾: 4 working hours)."""
    lon, lat = center(*cell)
    case_no = report(engine, at, category_code=category, lon=lon, lat=lat, address="测试路 1 号")
    act(engine, case_no, Action.FILE, at, SHIFT)
    act(engine, case_no, Action.DISPATCH, at, DISPATCHER, unit=unit)
    return case_no


# --- the command line ---------------------------------------------------------------------


def cli_database(engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Point the ``xiuhua`` command at ``engine`` (its files under ``data_dir``) for one test:
    a fixture's ``yield from cli_database(...)``."""
    monkeypatch.setenv("XIUHUA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("XIUHUA_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def xiuhua(*args: str) -> Result:
    """Run the ``xiuhua`` command line in this process."""
    return CliRunner().invoke(app, list(args))
