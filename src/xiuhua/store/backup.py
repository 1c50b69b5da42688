"""What a backup records and a restore checks: row counts per table, the schema revision and
whether a database already holds a city's data."""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, func, inspect, select, text

from xiuhua.store.tables import cases, components, metadata, photos, regions, responsibility_rules, units, users

# A database holding rows in any of these is a city's (`xiuhua init` seeds only the taxonomy,
# the calendars and the settings): a restore does not overwrite it without --force.
CITY_TABLES = (regions, units, users, cases, photos, components, responsibility_rules)


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows per table of the schema (the tables this database has)."""
    present = set(inspect(conn).get_table_names())
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables if t.name in present}


def has_city_data(conn: Connection) -> bool:
    present = set(inspect(conn).get_table_names())
    return any(conn.execute(select(t.c[next(iter(t.c.keys()))]).limit(1)).first() is not None
               for t in CITY_TABLES if t.name in present)


def schema_revision(conn: Connection) -> str | None:
    """The Alembic revision stored in the database (None: not migrated)."""
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def drop_all_tables(conn: Connection) -> None:
    """Drop every table of the database (a restore replaces them all, ours or not)."""
    found = MetaData()
    found.reflect(conn)
    found.drop_all(conn)
