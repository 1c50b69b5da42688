"""Assessment: one month (the last of the history) with ``assess_period`` over a history of N
cases, on SQLite and PostgreSQL, each in a fresh process (time and peak memory). Targets on
SQLite < 1 s at 1 M and < 5 s at 10 M cases, on PostgreSQL < 2 s at 10 M; batch jobs < 2 GB.

Baseline: the same month's per-unit aggregation of the assignments (started in the month:
count, handled, handled on time, returned, overdue) in DuckDB over the export (the history
file), and the same SQL over the ``assignments`` table of SQLite and PostgreSQL, as planned
and as a full single-pass scan."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import dataset, profiling
from bench.common import PYTHON, Context, fmt, job, log, show, sqlite_url, table, timed
from xiuhua.domain.assessment import Period

TARGETS = {"sqlite_1m": 1.0, "sqlite_10m": 5.0, "pg_10m": 2.0}
AGG = """SELECT {unit} AS unit, count(*) AS assigned,
  sum(CASE WHEN ended = 'handled' THEN 1 ELSE 0 END) AS handled,
  sum(CASE WHEN ended = 'handled' AND {handled} <= deadline THEN 1 ELSE 0 END) AS on_time,
  sum(CASE WHEN ended = 'returned' THEN 1 ELSE 0 END) AS returned,
  sum(CASE WHEN (ended = 'handled' AND {handled} > deadline) OR (ended = 'open' AND deadline < {end})
      THEN 1 ELSE 0 END) AS overdue
FROM {table} WHERE started_at >= {start} AND started_at < {end} GROUP BY {unit} ORDER BY 1"""


def bounds() -> tuple[datetime, datetime]:
    period = Period.parse(dataset.PERIOD)
    return period.start.astimezone(UTC), period.end.astimezone(UTC)


# --- baselines --------------------------------------------------------------------------------


def _fetch(con: Any, sql: str, params: dict[str, Any]) -> list[Any]:
    return list(con.execute(sql, params).fetchall())


def _export_assignments(db: Path, out: Path) -> None:
    """The assignments of a history database as CSV (unit, started_at, deadline, handled_at,
    ended; UTC instants): the export DuckDB reads when the history was not imported from one file."""
    import csv
    import sqlite3

    con = sqlite3.connect(db)
    rows = con.execute("SELECT unit_code, started_at || '+00', deadline || '+00', "
                       "CASE WHEN ended = 'handled' THEN ended_at || '+00' END, ended FROM assignments")
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("unit", "started_at", "deadline", "handled_at", "ended"))
        while batch := rows.fetchmany(100_000):
            writer.writerows(batch)
    con.close()


def duckdb_baseline(source: Path) -> dict[str, Any] | None:
    """DuckDB over the export: the history's JSON Lines file, or a CSV of its assignments."""
    try:
        import duckdb
    except ImportError:
        return None
    start, end = bounds()
    con = duckdb.connect()
    kind = "STRUCT(unit VARCHAR, started_at VARCHAR, deadline VARCHAR, handled_at VARCHAR, ended VARCHAR)[]"
    load = (f"CREATE TABLE a AS SELECT unit, started_at::TIMESTAMPTZ AS started_at, deadline::TIMESTAMPTZ AS deadline, "
            f"handled_at::TIMESTAMPTZ AS handled_at, ended FROM read_csv('{source}', all_varchar=true)"
            if source.suffix == ".csv" else
            f"CREATE TABLE a AS SELECT x.unit AS unit, x.started_at::TIMESTAMPTZ AS started_at, "
            f"x.deadline::TIMESTAMPTZ AS deadline, x.handled_at::TIMESTAMPTZ AS handled_at, x.ended AS ended "
            f"FROM (SELECT unnest(assignments) AS x FROM read_json('{source}', format='newline_delimited', "
            f"columns={{'assignments': '{kind}'}}))")
    load_s, _, _ = timed(lambda: con.execute(load))
    counted = con.execute("SELECT count(*) FROM a").fetchone()
    rows = counted[0] if counted else 0
    sql = AGG.format(unit="unit", handled="handled_at", table="a", start="$start", end="$end")
    params = {"start": start, "end": end}
    first, best, result = timed(lambda: con.execute(sql, params).fetchall(), repeat=5)
    con.close()
    return {"load_s": load_s, "rows": rows, "first_s": first, "best_s": best,
            "assigned": sum(r[1] for r in result)}


def sqlite_baseline(path: Path) -> dict[str, Any]:
    import sqlite3

    start, end = (t.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") for t in bounds())
    handled = "CASE WHEN ended = 'handled' THEN ended_at END"
    out: dict[str, Any] = {}
    with sqlite3.connect(path) as con:
        out["rows"] = con.execute("SELECT count(*) FROM assignments").fetchone()[0]
        for label, source in (("planned", "assignments"), ("full_scan", "assignments NOT INDEXED")):
            sql = AGG.format(unit="unit_code", handled=handled, table=source, start=":start", end=":end")
            params = {"start": start, "end": end}
            plan = " / ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params))
            first, best, result = timed(partial(_fetch, con, sql, params), repeat=3)
            out[label] = {"first_s": first, "best_s": best, "plan": plan, "assigned": sum(r[1] for r in result)}
    con.close()
    return out


def pg_baseline(ctx: Context, name: str) -> dict[str, Any]:
    import psycopg

    assert ctx.pg is not None
    start, end = bounds()
    handled = "CASE WHEN ended = 'handled' THEN ended_at END"
    sql = AGG.format(unit="unit_code", handled=handled, table="assignments", start="%(start)s", end="%(end)s")
    out: dict[str, Any] = {}
    with psycopg.connect(ctx.pg.libpq(name), autocommit=True) as con:
        con.execute("ANALYZE")
        out["rows"] = con.execute("SELECT count(*) FROM assignments").fetchone()[0]  # type: ignore[index]
        for label, setting in (("planned", "on"), ("full_scan", "off")):
            con.execute(f"SET enable_indexscan = {setting}")
            con.execute(f"SET enable_bitmapscan = {setting}")
            params = {"start": start, "end": end}
            plan = " / ".join(r[0].strip() for r in con.execute("EXPLAIN " + sql, params).fetchall()
                              if "Scan" in r[0])
            first, best, result = timed(partial(_fetch, con, sql, params), repeat=3)
            out[label] = {"first_s": first, "best_s": best, "plan": plan, "assigned": sum(r[1] for r in result)}
    return out


# --- the benchmark -----------------------------------------------------------------------------


def assess_job(ctx: Context, url: str, label: str) -> dict[str, Any]:
    log(f"assess_period {dataset.PERIOD} ({label})")
    return job("assess", url, dataset.PERIOD, "3", log_path=ctx.path("logs", f"assess-{label}.log"))


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.sizes.cases
    db = dataset.history_sqlite(ctx, n)
    out: dict[str, Any] = {"cases": dataset.count_rows(sqlite_url(db))["cases"], "period": dataset.PERIOD,
                           "years": ctx.years, "targets": TARGETS}
    out["sqlite"] = assess_job(ctx, sqlite_url(db), "sqlite")
    out["sqlite_sql"] = sqlite_baseline(db)
    if ctx.years > 1:
        export = db.with_suffix(".assignments.csv")
        _export_assignments(db, export)
        out["duckdb"] = duckdb_baseline(export)
        export.unlink()
    else:
        out["duckdb"] = duckdb_baseline(dataset.history_file(ctx, n))
    if ctx.pg is not None:
        m = min(ctx.sizes.pg_cases, n)
        name = dataset.history_pg(ctx, m)
        out["pg"] = {"cases": int(ctx.pg.scalar(name, "SELECT count(*) FROM cases")),
                     **assess_job(ctx, ctx.pg.database_url(name), "postgresql")}
        out["pg_sql"] = pg_baseline(ctx, name)
    if ctx.profile:
        log("profiling assess_period with py-spy")
        out["profile"] = profiling.record_command(
            [PYTHON, "-m", "bench.jobs", "assess", sqlite_url(db), dataset.PERIOD, "3"], {},
            ctx.path("profiles", "assess.txt"), focus="assess_period")
    _print(out)
    return out


def _print(out: dict[str, Any]) -> None:
    n = out["cases"]
    s = out["sqlite"]
    rows = [[f"assess_period on SQLite ({n:,} cases)", fmt(s["first_s"], 3), fmt(s["best_s"], 3),
             fmt(s["peak_rss_mb"], 0), f"{s['units']} units, {s['dispatched']:,} dispatched; city load "
             f"{s['load_city_s']:.2f} s"]]
    if "pg" in out:
        p = out["pg"]
        rows.append([f"assess_period on PostgreSQL ({p['cases']:,} cases)", fmt(p["first_s"], 3),
                     fmt(p["best_s"], 3), fmt(p["peak_rss_mb"], 0), f"{p['units']} units"])
    if out["duckdb"]:
        d = out["duckdb"]
        rows.append([f"baseline: DuckDB per-unit aggregation ({d['rows']:,} assignment rows)", fmt(d["first_s"], 3),
                     fmt(d["best_s"], 3), "–", f"load from export {d['load_s']:.1f} s; {d['assigned']:,} in month"])
    for engine, key in (("SQLite", "sqlite_sql"), ("PostgreSQL", "pg_sql")):
        for label in ("planned", "full_scan"):
            if key in out:
                r = out[key][label]
                rows.append([f"baseline: same SQL on {engine} ({label.replace('_', ' ')}, {out[key]['rows']:,} rows)",
                             fmt(r["first_s"], 3), fmt(r["best_s"], 3), "–", r["plan"][:70]])
    show(table(f"Assessment of {out['period']} over {n:,} cases (targets SQLite < 1 s at 1 M, < 5 s at 10 M; "
               "PostgreSQL < 2 s at 10 M)", ["what", "first s", "best s", "peak RSS MB", "note"], rows))
    for key, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
        if key in out:
            show(f"assess_period steps on {label}: " + ", ".join(
                f"{name} {step['seconds']:.3f} s ({step['rows']:,})" for name, step in out[key]["steps"].items()))
    if "profile" in out:
        show(profiling.render(out["profile"], "assess_period on SQLite (py-spy)"))

