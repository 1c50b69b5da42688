"""Import: N historical cases from JSON Lines with ``xiuhua import cases`` (the real command in
its own process: wall time and its peak resident memory) into a fresh copy of the city, on
SQLite and on PostgreSQL. Target: 1 M cases in under 60 s on SQLite; batch jobs < 2 GB.

Baselines in the same run: reading and parsing the file with orjson (the floor of any importer)
and DuckDB's ``read_json`` of the same file into a table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson

from bench import dataset, profiling
from bench.common import PYTHON, XIUHUA, Context, fmt, log, run_measured, show, sqlite_url, table

TARGET_S_1M = 60.0


def parse_only(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            orjson.loads(line)
    return time.perf_counter() - start


def duckdb_load(path: Path) -> float | None:
    try:
        import duckdb
    except ImportError:
        return None
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE c AS SELECT * FROM read_json('{path}', format='newline_delimited', "
                "maximum_object_size=10485760)")
    con.close()
    return time.perf_counter() - start


def import_cli(ctx: Context, url: str, source: Path, label: str) -> dict[str, Any]:
    """``xiuhua import cases FILE`` against ``url``: seconds, peak RSS, rows stored."""
    log(f"xiuhua import cases ({label})")
    logfile = ctx.path("logs", f"import-{label}.log")
    done = run_measured([PYTHON, "-m", "bench.jobs", "cli", "import", "cases", str(source)],
                        env={"XIUHUA_DATABASE_URL": url}, log_path=logfile)
    if done.returncode != 0:
        raise RuntimeError(f"import failed ({label}):\n{done.output}")
    lines = done.output.strip().splitlines()
    reported = json.loads(lines[-1]).get("peak_rss_mb", 0.0)
    return {"seconds": done.seconds, "peak_rss_mb": max(reported, done.peak_rss_mb), "rows": dataset.count_rows(url),
            "output": lines[-2] if len(lines) > 1 else ""}


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.sizes.cases
    source = dataset.history_file(ctx, n)
    out: dict[str, Any] = {"cases": n, "file_mb": round(source.stat().st_size / 2**20, 1),
                           "target_s_1m": TARGET_S_1M}
    db = ctx.path(f"history-{n}-{ctx.sizes.months}m-s{ctx.seed}.sqlite")
    dataset.fresh_sqlite(ctx, db.name)
    out["sqlite"] = import_cli(ctx, sqlite_url(db), source, "sqlite")
    dataset.mark_history(db, ctx, n)
    out["parse_only_s"] = parse_only(source)
    out["duckdb_s"] = duckdb_load(source)
    if ctx.pg is not None:
        m = min(ctx.sizes.pg_cases, n)
        pg_source = dataset.history_file(ctx, m)
        name = f"xh_bench_history_{m}"
        try:
            out["pg"] = {"cases": m, **import_cli(ctx, dataset.fresh_pg(ctx, name), pg_source, "postgresql")}
        except RuntimeError as exc:  # keep the SQLite figures
            log(str(exc))
            out["pg_error"] = str(exc).splitlines()[-1]
    if ctx.profile:
        out["profile"] = profile(ctx)
    _print(out)
    return out


def profile(ctx: Context) -> dict[str, Any]:
    """py-spy over an import of at most 50 k cases (a separate run; the figures above are clean)."""
    m = min(ctx.sizes.cases, 50_000)
    source = dataset.history_file(ctx, m)
    db = dataset.fresh_sqlite(ctx, "profile-import.sqlite")
    log(f"profiling the import of {m:,} cases with py-spy")
    return profiling.record_command([XIUHUA, "import", "cases", str(source)], {"XIUHUA_DATABASE_URL": sqlite_url(db)},
                                    ctx.path("profiles", "import.txt"), focus="import_cases_file")


def _rate(cases: int, seconds: float) -> float:
    return cases / seconds if seconds else 0.0


def _print(out: dict[str, Any]) -> None:
    n = out["cases"]
    s = out["sqlite"]
    rows = [["xiuhua import cases → SQLite", fmt(n), fmt(s["seconds"], 1), fmt(_rate(n, s["seconds"])),
             fmt(s["peak_rss_mb"], 0), f"{s['rows']['case_events']:,} events"]]
    if "pg" in out:
        p = out["pg"]
        rows.append(["xiuhua import cases → PostgreSQL", fmt(p["cases"]), fmt(p["seconds"], 1),
                     fmt(_rate(p["cases"], p["seconds"])), fmt(p["peak_rss_mb"], 0),
                     f"{p['rows']['case_events']:,} events"])
    rows.append(["baseline: orjson parse of the file only", fmt(n), fmt(out["parse_only_s"], 1),
                 fmt(_rate(n, out["parse_only_s"])), "–", f"{out['file_mb']:,} MB file"])
    if out["duckdb_s"] is not None:
        rows.append(["baseline: DuckDB read_json into a table", fmt(n), fmt(out["duckdb_s"], 1),
                     fmt(_rate(n, out["duckdb_s"])), "–", ""])
    projected = 1_000_000 / _rate(n, s["seconds"])
    show(table(f"Import: {n:,} cases from JSON Lines (target: 1 M in < 60 s on SQLite, < 2 GB)",
               ["what", "cases", "seconds", "cases/s", "peak RSS MB", "note"], rows))
    show(f"At this rate 1 M cases take {projected:,.0f} s on SQLite and 10 M {projected * 10 / 60:,.0f} min.")
    if "profile" in out:
        show(profiling.render(out["profile"], "import (py-spy)"))
