"""Data for the benchmarks: the demo city X市 without history (SQLite file and PostgreSQL
template database), seeded case histories in the interchange format (JSON Lines), intake
bodies, and the access tokens and sessions of the demo staff.

A history of N cases is driven through the real lifecycle by the demo's own generator
(:class:`xiuhua.services.demo.Reports` and :class:`~xiuhua.services.demo.Replay`) for up to
:data:`BASE_CAP` cases over ``months`` months ending with :data:`PERIOD`; larger histories
repeat that base with new daily serials (``duplicate_of`` follows), written in day order.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, func, select

from bench.common import Context, copy_sqlite, log, sqlite_url
from xiuhua.domain.calendar import local_zone
from xiuhua.services import demo
from xiuhua.services.accounts import issue_token
from xiuhua.services.city import init_database, load_city
from xiuhua.services.interchange import case_record
from xiuhua.store.db import make_engine, read_transaction, transaction
from xiuhua.store.migrate import alembic_config

END = date(2026, 10, 31)  # the last day of every history
PERIOD = "2026-10"  # the month the assessment benchmark assesses
BUILT_AT = datetime.combine(date(2026, 11, 1), time(9), local_zone())
BASE_CAP = 120_000  # cases replayed through the lifecycle; more are copies with new numbers
CITY_DB = "xh_bench_city"  # PostgreSQL template database of the city
PASSWORD = demo.DEMO_PASSWORD
_CASE_NO = re.compile(rb'"(\d{14})"')


def schema_head() -> str:
    from alembic.script import ScriptDirectory

    return ",".join(ScriptDirectory.from_config(alembic_config()).get_heads())


def _marker_ok(path: Path, want: dict[str, Any]) -> bool:
    marker = path.with_name(path.name + ".json")
    return path.exists() and marker.exists() and json.loads(marker.read_text()) == want


def _mark(path: Path, want: dict[str, Any]) -> None:
    path.with_name(path.name + ".json").write_text(json.dumps(want))


def build_city(engine: Engine) -> None:
    init_database(engine)
    demo.build_demo_city_on(engine, history=False, now=BUILT_AT)


# --- the city -------------------------------------------------------------------------------


def city_sqlite(ctx: Context) -> Path:
    """The demo city without history, as a SQLite file (built once per schema)."""
    path = ctx.path("city.sqlite")
    want = {"schema": schema_head()}
    if not _marker_ok(path, want):
        log("building the demo city X市 (SQLite)")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        engine = make_engine(sqlite_url(path))
        build_city(engine)
        engine.dispose()
        _mark(path, want)
    return path


def fresh_sqlite(ctx: Context, name: str) -> Path:
    """A new copy of the city database."""
    return copy_sqlite(city_sqlite(ctx), ctx.path(name))


def city_pg(ctx: Context) -> str:
    """The PostgreSQL template database of the city (built once per cluster)."""
    assert ctx.pg is not None
    if not ctx.pg.exists(CITY_DB):
        log("building the demo city X市 (PostgreSQL template)")
        engine = make_engine(ctx.pg.create(CITY_DB))
        build_city(engine)
        engine.dispose()
    return CITY_DB


def fresh_pg(ctx: Context, name: str) -> str:
    assert ctx.pg is not None
    return ctx.pg.create(name, template=city_pg(ctx))


def city_snapshot(ctx: Context) -> Any:
    engine = make_engine(sqlite_url(city_sqlite(ctx)))
    with read_transaction(engine) as session:
        city, parts = load_city(session), demo.load_components(session)
    engine.dispose()
    return city, parts


# --- histories ------------------------------------------------------------------------------


def _scaled(counts: list[int], total: int) -> list[int]:
    """``counts`` rescaled to sum to ``total`` exactly (largest remainders)."""
    scale = total / sum(counts)
    raw = [c * scale for c in counts]
    found = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: found[i] - raw[i])
    for i in order[: total - sum(found)]:
        found[i] += 1
    return found


def replay_base(ctx: Context, size: int, months: int) -> list[tuple[str, list[bytes]]]:
    """``size`` cases over ``months`` months, through the lifecycle: (day, JSON lines) per day."""
    city, parts = city_snapshot(ctx)
    layout = demo.plan_layout()
    rng = random.Random(ctx.seed)
    days = demo.history_days(END, months)
    counts = _scaled(demo.daily_counts(days, city.calendar("default"), months, rng), size)
    reports = demo.Reports(layout, parts, rng)
    until = datetime.combine(END + timedelta(days=1), time(), local_zone())
    replay = demo.Replay(city, layout, rng, until)
    found = []
    for day, count in zip(days, counts, strict=True):
        prefix = day.strftime("%Y%m%d")
        specs = reports.day(day, count)
        found.append((prefix, [orjson.dumps(case_record(replay.run(f"{prefix}{i:06d}", spec)))
                               for i, spec in enumerate(specs, start=1)]))
    return found


def _renumber(line: bytes, shift: int, known: set[bytes]) -> bytes:
    if shift == 0:
        return line

    def sub(m: re.Match[bytes]) -> bytes:
        no = m.group(1)
        if no not in known:
            return m.group(0)
        return b'"%s%06d"' % (no[:8], int(no[8:]) + shift)
    return _CASE_NO.sub(sub, line)


def _first_case_no(line: bytes) -> bytes:
    found = _CASE_NO.search(line)  # "case_no" is the first key of a record
    assert found is not None
    return found.group(1)


def _copies(base: list[tuple[str, list[bytes]]], n: int) -> Iterator[bytes]:
    """N lines: the base, then copies with serials shifted by multiples of the busiest day."""
    size = sum(len(lines) for _, lines in base)
    copies = -(-n // size)
    stride = max(len(lines) for _, lines in base)
    if copies * stride > 999_999:
        raise ValueError("too many cases per day for 6-digit serials; use more months")
    last = n - (copies - 1) * size  # the last copy takes the first ``last`` base cases
    known = {_first_case_no(line) for _, lines in base for line in lines}
    index = 0
    for _, lines in base:
        for k in range(copies):
            for offset, line in enumerate(lines):
                if k < copies - 1 or index + offset < last:
                    yield _renumber(line, k * stride, known)
        index += len(lines)


def history_file(ctx: Context, n: int) -> Path:
    """JSON Lines of ``n`` cases (generated once per size, months and seed)."""
    months = ctx.sizes.months
    path = ctx.path(f"history-{n}-{months}m-s{ctx.seed}.jsonl")
    want = {"n": n, "months": months, "seed": ctx.seed, "schema": schema_head(), "v": 1}
    if _marker_ok(path, want):
        return path
    base_size = min(n, BASE_CAP)
    log(f"replaying {base_size:,} cases through the lifecycle for the history file")
    base = replay_base(ctx, base_size, months)
    log(f"writing {n:,} cases to {path}")
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for line in _copies(base, n):
            out.write(line + b"\n")
    tmp.replace(path)
    _mark(path, want)
    return path


# --- intake bodies, tokens, sessions --------------------------------------------------------

CATEGORIES = ("06010", "07001", "09006", "09005", "06012", "06036", "06042", "09009", "09010", "06011")


def intake_bodies(seed: int, count: int = 5000) -> list[str]:
    """Reports at random points of the city's grids (JSON bodies of ``POST /api/v1/cases``)."""
    layout = demo.plan_layout()
    cells = sorted(layout.grid_cells().items())
    rng = random.Random(seed)
    found = []
    for i in range(count):
        _, cell = rng.choice(cells)
        lon, lat = layout.point_in(cell, rng)
        found.append(json.dumps({
            "category_code": rng.choice(CATEGORIES), "lon": lon, "lat": lat, "coord_sys": "wgs84",
            "address": f"测试路 {i % 500 + 1} 号", "description": "压力测试上报：人行道上有暴露垃圾",
            "urgency": "normal"}, ensure_ascii=False))
    return found


def token_for(url: str, login: str) -> str:
    """A new bearer token of a demo user."""
    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            return issue_token(session, login, datetime.now(local_zone()), name="bench")
    finally:
        engine.dispose()


def count_rows(url: str) -> dict[str, int]:
    from xiuhua.store.tables import assignments, case_events, cases

    engine = make_engine(url)
    try:
        with read_transaction(engine) as session:
            return {t.name: int(session.execute(select(func.count()).select_from(t)).scalar_one())
                    for t in (cases, case_events, assignments)}
    finally:
        engine.dispose()


def history_sqlite(ctx: Context, n: int) -> Path:
    """The city with ``n`` imported cases (the import benchmark leaves it; built if missing),
    copied back over ``ctx.years`` years if more than one (:func:`older_years`)."""
    if ctx.years > 1:
        return older_years(ctx, n)
    path = ctx.path(f"history-{n}-{ctx.sizes.months}m-s{ctx.seed}.sqlite")
    want = {"n": n, "months": ctx.sizes.months, "seed": ctx.seed, "schema": schema_head()}
    if not _marker_ok(path, want):
        from xiuhua.services.interchange import import_cases_file

        source = history_file(ctx, n)
        log(f"importing {n:,} cases into {path.name} (not measured)")
        fresh_sqlite(ctx, path.name)
        engine = make_engine(sqlite_url(path))
        import_cases_file(engine, source)
        engine.dispose()
        mark_history(path, ctx, n)
    return path


# Tables holding a case's rows; every other table stays as the city has it.
CASE_TABLES = ("cases", "case_events", "assignments", "inspector_tasks")


def _shifted(table: str, years: int, dialect: str = "sqlite") -> tuple[str, str]:
    """The column list of ``table`` and, for each, its value ``years`` years earlier: instants
    (on SQLite stored as 'YYYY-MM-DD HH:MM:SS.ffffff') and case numbers (their day prefix) move
    back, the row id is left to the database, everything else is copied."""
    from xiuhua.store.tables import UTCDateTime, metadata

    names, values = [], []
    for column in metadata.tables[table].columns:
        if column.primary_key and column.name == "id":
            continue
        name = column.name
        names.append(name)
        if isinstance(column.type, UTCDateTime):
            values.append(f"{name} - interval '{years} years'" if dialect == "postgresql" else
                          f"CASE WHEN {name} IS NULL THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%S', "
                          f"{name}, '-{years} years') || substr({name}, 20) END")
        elif name == "case_no":
            values.append(f"(CAST(substr(case_no, 1, 4) AS INTEGER) - {years}) || substr(case_no, 5)")
        else:
            values.append(name)
    return ", ".join(names), ", ".join(values)


def _year_start() -> datetime:
    """The first instant of the imported year (the 12 months ending with :data:`END`)."""
    return (datetime.combine(END + timedelta(days=1), time(), local_zone()) - timedelta(days=366)).astimezone(UTC)


def _copy_back(execute: Any, years: int, dialect: str) -> None:
    """Copy the closed and cancelled cases of the imported year 1 … ``years`` − 1 years back."""
    for back in range(1, years):
        for table in CASE_TABLES:
            names, values = _shifted(table, back, dialect)
            execute(f"INSERT INTO {table} ({names}) SELECT {values} FROM {table} "
                    f"WHERE case_no IN (SELECT case_no FROM done) ORDER BY case_no")
        execute("COMMIT")
        log(f"  {back} of {years - 1} earlier years copied")
        if back < years - 1:
            execute("BEGIN")


def older_years(ctx: Context, n: int) -> Path:
    """A history of ``ctx.years`` years: the imported ``n`` cases over ``ctx.sizes.months``
    months (12: a year), then, for each earlier year, a copy of its closed and cancelled cases
    with every instant and case number one more year back. What a city keeps: years of closed
    history behind the year under way. Built in SQL in minutes where importing would take an
    hour; the import benchmark measures the importer on the file itself."""
    import shutil
    import sqlite3

    months, years = ctx.sizes.months, ctx.years
    if months != 12:
        raise ValueError("--years copies whole years: use it with --months 12")
    path = ctx.path(f"history-{n}-{months}m-{years}y-s{ctx.seed}.sqlite")
    want = {"n": n, "months": months, "years": years, "seed": ctx.seed, "schema": schema_head()}
    if _marker_ok(path, want):
        return path
    base = history_sqlite(replace(ctx, years=1), n)
    log(f"copying {base.name} and its closed cases {years - 1} years back into {path.name} (not measured)")
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with sqlite3.connect(base) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    shutil.copyfile(base, path)
    since = _year_start().replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    con.execute("CREATE TEMP TABLE done AS SELECT case_no FROM cases WHERE reported_at >= ? "
                "AND status IN ('closed', 'cancelled')", (since,))
    con.execute("CREATE UNIQUE INDEX temp.done_case_no ON done (case_no)")
    con.execute("BEGIN")
    _copy_back(con.execute, years, "sqlite")
    con.execute("ANALYZE")
    con.close()
    _mark(path, want)
    return path


def mark_history(path: Path, ctx: Context, n: int) -> None:
    _mark(path, {"n": n, "months": ctx.sizes.months, "seed": ctx.seed, "schema": schema_head()})


def history_pg(ctx: Context, n: int) -> str:
    """The name of the PostgreSQL database with ``n`` imported cases (built if missing), copied
    back over ``ctx.years`` years if more than one (as :func:`older_years`)."""
    assert ctx.pg is not None
    if ctx.years > 1:
        return older_years_pg(ctx, n)
    name = f"xh_bench_history_{n}"
    if not ctx.pg.exists(name) or ctx.pg.scalar(name, "SELECT count(*) FROM cases") != n:
        from xiuhua.services.interchange import import_cases_file

        log(f"importing {n:,} cases into PostgreSQL {name} (not measured)")
        engine = make_engine(fresh_pg(ctx, name))
        import_cases_file(engine, history_file(ctx, n))
        engine.dispose()
    return name


def older_years_pg(ctx: Context, n: int) -> str:
    """:func:`older_years` on PostgreSQL: a copy of the imported database, then the earlier years."""
    import psycopg

    assert ctx.pg is not None
    name = f"xh_bench_history_{n}_{ctx.years}y"
    if ctx.pg.exists(name) and ctx.pg.scalar(name, "SELECT count(*) FROM cases WHERE reported_at < "
                                            f"'{_year_start().isoformat()}'"):
        return name
    base = history_pg(replace(ctx, years=1), n)
    log(f"copying {base} and its closed cases {ctx.years - 1} years back into {name} (not measured)")
    ctx.pg.create(name, template=base)
    with psycopg.connect(ctx.pg.libpq(name), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE done AS SELECT case_no FROM cases WHERE reported_at >= %s "
                     "AND status IN ('closed', 'cancelled')", (_year_start(),))
        conn.execute("CREATE UNIQUE INDEX ON done (case_no)")
        conn.execute("BEGIN")
        _copy_back(conn.execute, ctx.years, "postgresql")
        conn.execute("ANALYZE")
    return name
