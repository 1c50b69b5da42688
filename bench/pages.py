"""Queues and pages at N cases of history: latency (p50/p95/p99, one request at a time) of the
dispatcher's queue ``GET /api/v1/cases?status=filed``, the case page ``GET /api/v1/cases/{no}``
(random cases), the leader's home counters ``GET /parts/counters`` (open cases by status,
overdue, reported and closed today) and the leaders' dashboard ``GET /api/v1/dashboard`` (no
query parameters), served by ``xiuhua serve``. Target p95 < 50 ms at 10 M.

The served dashboard is shared for 30 s (one computation per window) and its clock is today's,
after the history ends (an empty month), so its computation is also timed in-process, uncached,
at 17:00 of the history's last day (a full month and 30 days of cases): the first build (which
counts each past day and today's past hours once) and the next ones (the hour under way live,
the rest as kept), with the plan of each distinct statement.

Baselines in the same run: a bare ASGI endpoint on the same HTTP stack (the floor of any page)
and the pages' SQL run directly with sqlite3 (the floor of the database work), with plans."""

from __future__ import annotations

import random
import sqlite3
import urllib.parse
import urllib.request
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

from bench import dataset
from bench.common import (
    XIUHUA,
    Context,
    Server,
    copy_sqlite,
    fmt,
    free_port,
    job,
    log,
    percentile,
    serving,
    show,
    sqlite_url,
    table,
    uvicorn_argv,
    xiuhua_env,
)
from bench.load import generate, write_requests
from xiuhua.domain.calendar import local_zone

TARGET_P95_MS = 50
WARMUP_S = 1
PAGES = (("queue", "dispatcher queue GET /api/v1/cases?status=filed"),
         ("case", "case page GET /api/v1/cases/{no}"),
         ("dashboard", "home counters GET /parts/counters (leader)"),
         ("dashboard_api", "dashboard GET /api/v1/dashboard (leader, 30 s cache)"))
BUSY_NOW = datetime.combine(dataset.END, time(17), local_zone())  # the dashboard's in-process clock
BUILDS = 30


def login_cookie(base: str, login: str) -> str:
    data = urllib.parse.urlencode({"username": login, "password": dataset.PASSWORD}).encode()
    req = urllib.request.Request(base + "/api/v1/auth/login", data=data, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        cookie = resp.headers["set-cookie"]
    return str(cookie).split(";", 1)[0]


def sample_case_nos(url: str, count: int, seed: int) -> list[str]:
    """Random case numbers over the whole history (reservoir sample of a streamed scan)."""
    from sqlalchemy import select

    from xiuhua.store.db import make_engine
    from xiuhua.store.tables import cases

    rng = random.Random(seed)
    found: list[str] = []
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=20_000).execute(select(cases.c.case_no))
        for i, no in enumerate(rows.scalars()):
            if i < count:
                found.append(no)
            elif (j := rng.randrange(i + 1)) < count:
                found[j] = no
    engine.dispose()
    return found


def request_files(ctx: Context, case_nos: list[str]) -> dict[str, Path]:
    folder = ctx.work / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "queue": write_requests(folder / "queue.txt", [("GET", "/api/v1/cases?status=filed", None)]),
        "case": write_requests(folder / "case.txt", [("GET", f"/api/v1/cases/{no}", None) for no in case_nos]),
        "dashboard": write_requests(folder / "dashboard.txt", [("GET", "/parts/counters", None)]),
        "dashboard_api": write_requests(folder / "dashboard-api.txt", [("GET", "/api/v1/dashboard", None)]),
        "bare": write_requests(folder / "bare.txt", [("GET", "/", None)]),
    }


def latencies(ctx: Context, server: Server, files: dict[str, Path],
              headers: dict[str, dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, _ in PAGES:
        generate(server.url, files[key], headers[key], 1, WARMUP_S)
        load = generate(server.url, files[key], headers[key], 1, ctx.sizes.page_seconds)
        out[key] = {"requests": load.requests, "failed": load.failed, "rps": load.rps, "p50_ms": load.p50_ms,
                    "p95_ms": load.p95_ms, "p99_ms": load.p99_ms, "max_ms": load.max_ms}
    out["peak_rss_mb"] = server.peak_rss_mb()
    return out


def serve_pages(ctx: Context, url: str, label: str, files_for: Any) -> dict[str, Any]:
    log(f"pages: xiuhua serve ({label})")
    token = dataset.token_for(url, "dispatcher01")
    port = free_port()
    data_dir = ctx.work / "pages" / f"data-{label}"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = Server(f"xiuhua serve ({label})", [XIUHUA, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    xiuhua_env(url, data_dir), port, ctx.path("logs", f"serve-pages-{label}.log"))
    files = files_for(url)
    with serving(server, "/healthz"):
        bearer = {"Authorization": f"Bearer {token}"}
        leader = {"Authorization": f"Bearer {dataset.token_for(url, 'leader01')}"}
        headers = {"queue": bearer, "case": bearer, "dashboard": {"Cookie": login_cookie(server.url, "leader01")},
                   "dashboard_api": leader}
        return latencies(ctx, server, files, headers)


def bare_floor(ctx: Context, files: dict[str, Path]) -> dict[str, Any]:
    port = free_port()
    server = Server("bare ASGI", uvicorn_argv("bench.apps:bare", port), {}, port, ctx.path("logs", "bare-pages.log"))
    with serving(server):
        generate(server.url, files["bare"], {}, 1, WARMUP_S)
        load = generate(server.url, files["bare"], {}, 1, min(ctx.sizes.page_seconds, 5))
    return {"p50_ms": load.p50_ms, "p95_ms": load.p95_ms, "p99_ms": load.p99_ms}


# --- the pages' SQL, straight to SQLite --------------------------------------------------------


def _sql_now() -> tuple[str, str]:
    """Now and the start of the local day, as SQLite stores them (naive UTC text)."""
    now = datetime.now(UTC)
    today = datetime.combine(now.astimezone(local_zone()).date(), time(), local_zone()).astimezone(UTC)
    return now.strftime("%Y-%m-%d %H:%M:%S.%f"), today.strftime("%Y-%m-%d %H:%M:%S.%f")


SQL = {
    "queue": ["SELECT case_no, version, status, source, category_code, urgency, address, description, grid_code, "
              "community_code, street_code, reported_at, closed_at, holder_unit, due_at, "
              "(due_at IS NOT NULL AND due_at < :now) AS overdue FROM cases WHERE status = 'filed' "
              "ORDER BY reported_at DESC, case_no DESC LIMIT 51"],
    "case": ["SELECT * FROM cases WHERE case_no = :no", "SELECT * FROM case_events WHERE case_no = :no ORDER BY seq",
             "SELECT * FROM assignments WHERE case_no = :no ORDER BY seq",
             "SELECT * FROM inspector_tasks WHERE case_no = :no ORDER BY seq"],
    "dashboard": ["SELECT status, count(*) FROM cases WHERE status IN ('reported', 'filed', 'dispatched', "
                  "'suspended', 'handled', 'checked') GROUP BY status",
                  "SELECT count(*) FROM cases WHERE due_at IS NOT NULL AND due_at < :now",
                  "SELECT count(*) FROM cases WHERE reported_at >= :today",
                  "SELECT count(*) FROM cases WHERE closed_at >= :today"],
}


def sql_floor(path: Path, case_nos: list[str], runs: int = 30) -> dict[str, Any]:
    now, today = _sql_now()
    out: dict[str, Any] = {}
    with sqlite3.connect(path) as con:
        for key, statements in SQL.items():
            times = []
            for i in range(runs):
                params = {"now": now, "today": today, "no": case_nos[i % len(case_nos)]}
                start = perf_counter()
                for sql in statements:
                    con.execute(sql, params).fetchall()
                times.append((perf_counter() - start) * 1000)
            plans = [" / ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql, params)) for sql in statements]
            out[key] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "plans": plans}
    con.close()
    return out


def _plan(con: sqlite3.Connection, statement: str, params: Any) -> str:
    return " / ".join(r[3] for r in con.execute("EXPLAIN QUERY PLAN " + statement, params))


def dashboard_build(path: Path, builds: int = BUILDS) -> dict[str, Any]:
    """The dashboard's figures computed in-process, uncached, at :data:`BUSY_NOW` (one second
    later each build): the first build, the next ones, statements per build, and the plan of
    each distinct statement of the first build (a superset of the next ones')."""
    from sqlalchemy import event

    from xiuhua.services import dashboard as service
    from xiuhua.services.city import load_city
    from xiuhua.store.db import make_engine, read_transaction

    engine = make_engine(sqlite_url(path))
    seen: list[tuple[str, Any]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, params, *_a: seen.append((statement, params)))
    with read_transaction(engine) as session:
        city = load_city(session)
    times: list[float] = []
    first: list[float] = []
    counts: list[int] = []
    statements: list[tuple[str, Any]] = []
    for i in range(builds + 1):
        seen.clear()
        with read_transaction(engine) as session:
            start = perf_counter()
            service.dashboard(session, city, BUSY_NOW + timedelta(seconds=i))
            (first if i == 0 else times).append((perf_counter() - start) * 1000)
        counts.append(len(seen))
        statements = statements or list(seen)
    engine.dispose()
    plans: dict[str, str] = {}
    with sqlite3.connect(path) as con:
        for statement, params in statements:
            plans.setdefault(" ".join(statement.split()), _plan(con, statement, params))
    con.close()
    return {"now": BUSY_NOW.isoformat(), "first_ms": first[0], "first_statements": counts[0],
            "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "statements": counts[-1],
            "plans": plans}


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.sizes.cases
    history = dataset.history_sqlite(ctx, n)

    def fresh(name: str) -> Path:
        # a history of many years (tens of GB) is served as it is: the pages write only sign-ins
        return history if ctx.years > 1 else copy_sqlite(history, ctx.path(name))

    db = fresh("pages.sqlite")
    case_nos = sample_case_nos(sqlite_url(db), 1000, ctx.seed)
    files = request_files(ctx, case_nos)
    out: dict[str, Any] = {"cases": dataset.count_rows(sqlite_url(db))["cases"], "years": ctx.years,
                           "target_p95_ms": TARGET_P95_MS}
    out["sqlite"] = serve_pages(ctx, sqlite_url(db), "SQLite", lambda _url: files)
    out["sql_floor"] = sql_floor(db, case_nos)
    out["dashboard_build"] = dashboard_build(fresh("pages-dashboard.sqlite"))
    copy = fresh("pages-statements.sqlite")
    out["statements"] = job("statements", sqlite_url(copy), str(ctx.work / "pages"),
                            log_path=ctx.path("logs", "pages-statements.log"))
    out["bare_asgi"] = bare_floor(ctx, files)
    if ctx.pg is not None:
        m = min(ctx.sizes.pg_cases, n)
        name = dataset.history_pg(ctx, m)
        url = ctx.pg.database_url(name)
        held = int(ctx.pg.scalar(name, "SELECT count(*) FROM cases"))
        out["pg"] = {"cases": held, **serve_pages(ctx, url, "PostgreSQL",
                                                  lambda u: request_files(ctx, sample_case_nos(u, 1000, ctx.seed)))}
    _print(out)
    return out


def _print(out: dict[str, Any]) -> None:
    rows = []
    d = out["dashboard_build"]
    for key, label in PAGES:
        s = out["sqlite"][key]
        f = out["sql_floor"].get(key, {"p50_ms": d["p50_ms"], "p95_ms": d["p95_ms"]})
        rows.append([f"{label}, SQLite", fmt(s["p50_ms"], 1), fmt(s["p95_ms"], 1), fmt(s["p99_ms"], 1),
                     fmt(s["failed"]), f"{f['p50_ms']:.2f} / {f['p95_ms']:.2f}"])
        if "pg" in out:
            p = out["pg"][key]
            rows.append([f"{label}, PostgreSQL ({out['pg']['cases']:,} cases)", fmt(p["p50_ms"], 1),
                         fmt(p["p95_ms"], 1), fmt(p["p99_ms"], 1), fmt(p["failed"]), ""])
    b = out["bare_asgi"]
    rows.append(["baseline: bare ASGI GET", fmt(b["p50_ms"], 2), fmt(b["p95_ms"], 2), fmt(b["p99_ms"], 2), "0", ""])
    show(table(f"Queues and pages at {out['cases']:,} cases, one request at a time (target p95 < 50 ms)",
               ["page", "p50 ms", "p95 ms", "p99 ms", "failed", "its SQL on sqlite3 p50 / p95 ms"], rows))
    for key, _ in PAGES[:-1]:
        show(f"  {key}: {out['statements'][key]['count']} SQL statements per request; plans on SQLite: "
             + " | ".join(out["sql_floor"][key]["plans"]))
    show(table(f"Dashboard figures computed in-process, uncached, at {d['now']} (SQLite; the last row of "
               "the table above is its SQL column)", ["build", "ms", "SQL statements"],
               [["first (counts each past day and hour once)", f"{d['first_ms']:.1f}", d["first_statements"]],
                [f"next {BUILDS}: p50 / p95", f"{d['p50_ms']:.1f} / {d['p95_ms']:.1f}", d["statements"]]]))
    show("  dashboard_api: plans on SQLite of each distinct statement:\n"
         + "\n".join(f"    {plan}  <- {sql[:160]}" for sql, plan in d["plans"].items()))
