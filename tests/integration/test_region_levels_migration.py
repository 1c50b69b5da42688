"""Migration 0013 on a county-level city's database: its regions keep their levels and parents
(from the code's length, as before), its users get no district, and a district can then be added."""

from __future__ import annotations

from pathlib import Path

import shapely
from shapely.geometry import box
from sqlalchemy import text

from xiuhua.services.regions import RegionFeature, save_regions
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.migrate import upgrade

ROWS = [("370181", "city", None), ("370181001", "street", "370181"),
        ("370181001001", "community", "370181001"), ("370181001001001", "grid", "370181001001")]


def test_a_county_level_city_migrates_unchanged(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0008")
    wkb = shapely.to_wkb(box(117.0, 36.6, 117.001, 36.601))
    with engine.begin() as conn:
        for code, level, parent in ROWS:
            conn.execute(text("INSERT INTO regions (code, level, name, parent_code, area_m2, geometry) "
                              "VALUES (:code, :level, :code, :parent, 1.0, :wkb)"),
                         {"code": code, "level": level, "parent": parent, "wkb": wkb})
        conn.execute(text("INSERT INTO users (login, name, role, active, failed_logins) "
                          "VALUES ('acceptor01', '受理员', 'acceptor', 1, 0)"))
    upgrade(engine, "0013")
    with engine.connect() as conn:
        found = [tuple(r) for r in conn.execute(text(
            "SELECT code, level, parent_code FROM regions ORDER BY length(code)"))]
        district = conn.execute(text("SELECT district_code FROM users")).scalar()
    assert found == ROWS and district is None
    with transaction(engine) as session:  # a street of today's city is still a street
        save_regions(session, [RegionFeature("370181002", "新街道", box(117.001, 36.6, 117.002, 36.601))])
        level = session.execute(text("SELECT level FROM regions WHERE code = '370181002'")).scalar()
    engine.dispose()
    assert level == "street"
