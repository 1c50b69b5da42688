"""Upgrading a city's database from the first migration (0001) to head keeps its data.

The city (regions, units, rules, users, cases with their history, a photo) is built with today's
code, copied into a database at revision 0001 (the columns 0001 had), and that database is
upgraded to head with ``store.migrate.upgrade``: it then exports the same cases, holds the same
city, and takes new reports (the row counters go on where the data left them)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, func, insert, select, text

from tests.factories import SHIFT, act, build_tiny_city, center, report
from tests.integration.databases import empty_database
from xiuhua.config import Settings
from xiuhua.domain.choices import Action
from xiuhua.services.city import load_city
from xiuhua.services.interchange import export_cases
from xiuhua.services.photos import attach_to_case, store_photo
from xiuhua.store.db import transaction
from xiuhua.store.migrate import current_revision, head_revision, upgrade
from xiuhua.store.tables import cases, photo_uploads, photos, users

AT = datetime(2026, 10, 16, 1, 0, tzinfo=UTC)


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def build_city(engine: Engine, data_dir: Path) -> None:
    build_tiny_city(engine)
    numbers = [report(engine, AT + timedelta(minutes=n), lon=center(1, n)[0], lat=center(1, n)[1],
                      address=f"测试路 {n} 号") for n in range(3)]
    act(engine, numbers[0], Action.FILE, AT + timedelta(hours=1), SHIFT)
    with transaction(engine) as session:
        photo = store_photo(session, Settings(data_dir=data_dir, secret_key="t"), jpeg(), "a.jpg",
                            "inspector01", AT)
        attach_to_case(session, numbers[2], [photo])


def copy_rows(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row of ``source`` into the tables ``target`` has, in the columns it has
    (seeded rows replaced); rows per table copied."""
    old = MetaData()
    old.reflect(target)
    copied: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        current = MetaData()
        current.reflect(src)
        for table in reversed(old.sorted_tables):
            if table.name != "alembic_version":
                dst.execute(table.delete())
        for table in old.sorted_tables:
            if table.name == "alembic_version" or table.name not in current.tables:
                continue
            columns = [c.name for c in table.columns if c.name in current.tables[table.name].c]
            rows = [dict(r._mapping) for r in src.execute(
                select(*(current.tables[table.name].c[n] for n in columns)))]
            if rows:
                dst.execute(insert(table), rows)
            copied[table.name] = len(rows)
        if target.dialect.name == "postgresql":  # serial counters go on after the copied ids
            for table in old.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False and rows_of(dst, table.name):
                    dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT max(id) FROM {table.name}))"))
    return copied


def rows_of(conn: Connection, name: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())


def exported(engine: Engine) -> str:
    out = io.StringIO()
    export_cases(engine, out)
    return out.getvalue()


def test_a_database_of_the_first_migration_upgrades_to_head_with_its_data(
        engine: Engine, tmp_path: Path) -> None:
    build_city(engine, tmp_path / "data")
    before = exported(engine)
    with transaction(engine) as session:
        city_before = load_city(session)
        logins = sorted(session.execute(select(users.c.login, users.c.role, users.c.unit_code)).all())
    with empty_database(engine, tmp_path) as old:
        upgrade(old, "0001")
        assert current_revision(old) == "0001"
        copied = copy_rows(engine, old)
        assert copied["cases"] == 3 and copied["case_events"] >= 4 and copied["photos"] == 1

        upgrade(old)

        assert current_revision(old) == head_revision()
        assert exported(old) == before
        with transaction(old) as session:
            city = load_city(session)
            assert sorted(session.execute(select(users.c.login, users.c.role,
                                                 users.c.unit_code)).all()) == logins
            public_id = session.execute(select(photos.c.public_id)).scalar_one()
            uploader = session.execute(select(photo_uploads.c.uploaded_by)).scalar_one()
        assert set(city.regions) == set(city_before.regions)
        assert city.units == city_before.units
        lon, lat = center(2, 2)
        assert city.grid_index.locate(lon, lat) == city_before.grid_index.locate(lon, lat)
        assert public_id and uploader == "inspector01"
        new = report(old, AT + timedelta(hours=2), lon=lon, lat=lat)  # the upgraded city works
        with transaction(old) as session:
            assert session.execute(select(func.count()).select_from(cases)).scalar() == 4
        assert new not in before
