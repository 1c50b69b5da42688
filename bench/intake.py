"""Intake: reports per second through ``POST /api/v1/cases`` (bearer token, validated, located,
numbered, stored with its event and audit row, committed before the answer) with 16 keep-alive
connections over loopback, against ``xiuhua serve`` on SQLite and on PostgreSQL.

Baselines served the same way in the same run: a bare ASGI endpoint, a minimal FastAPI
endpoint validating the same body, and the same inserting one row into SQLite. Targets on
SQLite: ≥ 1,000 reports/s, p99 < 100 ms, ≥ 40 % of the FastAPI + SQLite baseline; server
peak RSS < 300 MB. Every answer must be a 2xx, and the stored cases must match them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import dataset, profiling
from bench.common import (
    XIUHUA,
    Context,
    Server,
    cpu_seconds,
    fmt,
    free_port,
    job,
    log,
    rss_mb,
    serving,
    show,
    sqlite_url,
    table,
    uvicorn_argv,
    xiuhua_env,
)
from bench.load import Load, generate, write_requests

CONNECTIONS = 16
WARMUP_S = 3
SEQUENTIAL_S = 5
TARGETS = {"reports_per_s": 1000, "p99_ms": 100, "share_of_fastapi_sqlite": 0.40, "server_rss_mb": 300}
JSON = {"Content-Type": "application/json"}


def stored_cases(url: str | None) -> int | None:
    return dataset.count_rows(url)["cases"] if url else None


def measure(ctx: Context, server: Server, requests: Path, headers: dict[str, str], probe: str = "/",
            db_url: str | None = None, profile_as: str | None = None) -> dict[str, Any]:
    """Warm up, then load for the configured time; peak RSS and the cases stored meanwhile."""
    seconds = ctx.sizes.load_seconds
    log(f"intake: {server.name}: {seconds:.0f} s with {CONNECTIONS} connections")
    with serving(server, probe):
        assert server.proc is not None
        started_rss = rss_mb(server.proc.pid)  # the application built, before any report
        generate(server.url, requests, headers, CONNECTIONS, WARMUP_S)
        before, cpu = stored_cases(db_url), cpu_seconds(server.proc.pid)
        load = generate(server.url, requests, headers, CONNECTIONS, seconds)
        out = _figures(load, server.peak_rss_mb(), cpu_seconds(server.proc.pid) - cpu)
        out["started_rss_mb"] = started_rss
        after = stored_cases(db_url)
        if before is not None and after is not None:
            out["stored"] = after - before
        if profile_as:  # Xiuhua: also one connection at a time, and where its time goes
            one = generate(server.url, requests, headers, 1, min(seconds, SEQUENTIAL_S))
            out["one_connection"] = _figures(one, None, None)
            if ctx.profile:
                out["profile"] = _profile(ctx, server, requests, headers, profile_as)
    return out


def _profile(ctx: Context, server: Server, requests: Path, headers: dict[str, str], name: str) -> dict[str, Any]:
    """py-spy over one connection's load (no lock waits: the samples show CPU work)."""
    assert server.proc is not None
    seconds = min(ctx.sizes.load_seconds, 10)
    raw = ctx.path("profiles", f"{name}.txt")
    log(f"profiling {server.name} with py-spy ({seconds:.0f} s, one connection, separate pass)")
    spy = profiling.attach(server.proc.pid, seconds, raw)
    generate(server.url, requests, headers, 1, seconds + 1)
    if spy is None:
        return {"error": "py-spy is not installed"}
    spy.wait()
    return profiling.summarise(raw)


def _figures(load: Load, rss: float | None, cpu_s: float | None) -> dict[str, Any]:
    return {"requests": load.requests, "seconds": load.seconds, "rps": load.rps, "failed": load.failed,
            "p50_ms": load.p50_ms, "p90_ms": load.p90_ms, "p99_ms": load.p99_ms, "max_ms": load.max_ms,
            "peak_rss_mb": rss, "tool": load.tool,
            "cpu_percent": 100 * cpu_s / load.seconds if cpu_s is not None and load.seconds else None,
            "cpu_ms_per_request": 1000 * cpu_s / load.ok if cpu_s is not None and load.ok else None}


def baselines(ctx: Context, requests: Path) -> dict[str, Any]:
    out = {}
    sqlite_file = ctx.path("intake", "fastapi-baseline.sqlite")
    light_file = ctx.path("intake", "fastapi-light.sqlite")
    for suffix in ("", "-wal", "-shm"):
        Path(str(sqlite_file) + suffix).unlink(missing_ok=True)
        Path(str(light_file) + suffix).unlink(missing_ok=True)
    for key, name, target, factory, env in (
            ("bare_asgi", "bare ASGI", "bench.apps:bare", False, {}),
            ("fastapi_validate", "FastAPI: validate body", "bench.apps:fastapi_validate", True, {}),
            ("fastapi_sqlite", "FastAPI: validate + insert one SQLite row", "bench.apps:fastapi_sqlite", True,
             {"BENCH_SQLITE": str(sqlite_file)}),
            ("fastapi_light", "FastAPI light: five fields + autocommit insert on the event loop",
             "bench.apps:fastapi_light", True, {"BENCH_SQLITE": str(light_file)})):
        port = free_port()
        server = Server(name, uvicorn_argv(target, port, factory), env, port, ctx.path("logs", f"{key}.log"))
        out[key] = measure(ctx, server, requests, JSON)
    return out


def xiuhua_server(ctx: Context, url: str, label: str) -> dict[str, Any]:
    token = dataset.token_for(url, "acceptor01")
    port = free_port()
    argv = [XIUHUA, "serve", "--host", "127.0.0.1", "--port", str(port)]
    data_dir = ctx.work / "intake" / f"data-{label}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = xiuhua_env(url, data_dir)
    server = Server(f"xiuhua serve ({label})", argv, env, port, ctx.path("logs", f"serve-intake-{label}.log"))
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    requests = ctx.path("intake", "requests.txt")
    return measure(ctx, server, requests, headers, probe="/healthz", db_url=url, profile_as=f"intake-{label}")


def statements(ctx: Context, url: str) -> dict[str, Any]:
    """The SQL statements of one report, one queue, one case page and one dashboard (SQLite)."""
    return job("statements", url, str(ctx.work / "intake"), log_path=ctx.path("logs", "statements.log"))


def run(ctx: Context) -> dict[str, Any]:
    bodies = dataset.intake_bodies(ctx.seed)
    requests = write_requests(ctx.path("intake", "requests.txt"), [("POST", "/api/v1/cases", b) for b in bodies])
    out: dict[str, Any] = {"connections": CONNECTIONS, "seconds": ctx.sizes.load_seconds, "targets": TARGETS}
    out.update(baselines(ctx, requests))
    out["sqlite"] = xiuhua_server(ctx, sqlite_url(dataset.fresh_sqlite(ctx, "intake.sqlite")), "SQLite")
    out["statements"] = statements(ctx, sqlite_url(dataset.fresh_sqlite(ctx, "statements.sqlite")))
    if ctx.pg is not None:
        out["pg"] = xiuhua_server(ctx, dataset.fresh_pg(ctx, "xh_bench_intake"), "PostgreSQL")
    _print(out)
    return out


def _print(out: dict[str, Any]) -> None:
    reference = out["fastapi_sqlite"]["rps"]
    light = out.get("fastapi_light", {}).get("rps")
    rows = []
    for key, label in (("bare_asgi", "baseline: bare ASGI"), ("fastapi_validate", "baseline: FastAPI, validate"),
                       ("fastapi_sqlite", "baseline: FastAPI, validate + SQLite insert"),
                       ("fastapi_light", "baseline: FastAPI light, five fields + autocommit insert"),
                       ("sqlite", "xiuhua serve, SQLite"), ("pg", "xiuhua serve, PostgreSQL")):
        if key not in out:
            continue
        r = out[key]
        share = f"{100 * r['rps'] / reference:.0f} %" if reference else "–"
        of_light = f"{100 * r['rps'] / light:.0f} %" if light else "–"
        rows.append([label, fmt(r["rps"]), fmt(r["p50_ms"], 1), fmt(r["p99_ms"], 1), share, of_light,
                     fmt(r["failed"]), fmt(r.get("stored")), fmt(r["cpu_percent"], 0),
                     fmt(r["cpu_ms_per_request"], 2), fmt(r.get("started_rss_mb"), 0), fmt(r["peak_rss_mb"], 0)])
        if "one_connection" in r:
            o = r["one_connection"]
            rows.append([f"{label}, 1 connection", fmt(o["rps"]), fmt(o["p50_ms"], 1), fmt(o["p99_ms"], 1),
                         f"{100 * o['rps'] / reference:.0f} %" if reference else "–",
                         f"{100 * o['rps'] / light:.0f} %" if light else "–", fmt(o["failed"]),
                         "", "", "", "", ""])
    show(table(f"Intake: POST /api/v1/cases, {out['connections']} connections, {out['seconds']:.0f} s each "
               "(target on SQLite ≥ 1,000/s, p99 < 100 ms, ≥ 40 % of FastAPI + SQLite, RSS < 300 MB)",
               ["server", "req/s", "p50 ms", "p99 ms", "% of FastAPI+SQLite", "% of FastAPI light", "failed",
                "cases stored", "server CPU %", "CPU ms/req", "RSS MB started", "peak RSS MB"], rows))
    report = out["statements"]["report"]
    show(f"SQL statements per report (SQLite, before COMMIT): {report['count']}\n    "
         + "\n    ".join(report["statements"]))
    for key in ("sqlite", "pg"):
        if key in out and "profile" in out[key]:
            show(profiling.render(out[key]["profile"], f"xiuhua serve under intake load ({key})"))
