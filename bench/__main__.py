"""``python -m bench [BENCHMARK ...] [--full] …``: run the benchmarks (all by default) and
print their figures beside their baselines; see ``bench/README.md``.

Exit status is 0 whatever the figures; 1 only if a benchmark crashed."""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench import assessment, common, grid, importer, intake, memory, pages, photos
from bench.common import FULL, SMALL, Context, PgCluster, log, machine, show, table

BENCHMARKS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "grid": grid.run, "import": importer.run, "assessment": assessment.run, "pages": pages.run,
    "intake": intake.run, "photos": photos.run, "memory": memory.run,
}
USES_PG = {"grid", "import", "assessment", "pages", "intake"}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmarks", nargs="*", metavar="BENCHMARK",
                   help=f"any of {', '.join(BENCHMARKS)} (default: all, in this order)")
    p.add_argument("--full", action="store_true", help="the issue's sizes (1 M cases, 1 M points, 30 s of load)")
    p.add_argument("--cases", type=int, help="history size (import, assessment, pages)")
    p.add_argument("--pg-cases", type=int, help="history size on PostgreSQL (default: --cases)")
    p.add_argument("--months", type=int, help="months the history spans (default 12)")
    p.add_argument("--years", type=int, nargs="+", default=[1],
                   help="assessment and pages, once per value: the imported history (--cases over --months) and "
                        "its closed cases copied this many years in all, each copy a year earlier (e.g. --cases "
                        "1000000 --years 1 10: at 1 M and at a 10 M-case history without a 10 M-case import)")
    p.add_argument("--points", type=int, help="points for point → grid")
    p.add_argument("--seconds", type=float, help="seconds of load per intake server")
    p.add_argument("--pg", choices=("auto", "on", "off"), default="auto",
                   help="PostgreSQL throw-away cluster on port 55444 (auto: when its binaries are installed)")
    p.add_argument("--profile", action="store_true", help="py-spy profiles (separate passes) of intake, import, "
                                                          "assessment")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/xh-bench"), help="data, logs and profiles")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write all figures as JSON here")
    p.add_argument("--markdown", type=Path, help="also write the printed tables and the machine here")
    args = p.parse_args(argv)
    unknown = [n for n in args.benchmarks if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return args


def sizes(args: argparse.Namespace) -> common.Sizes:
    found = FULL if args.full else SMALL
    changes: dict[str, Any] = {}
    if args.cases:
        changes["cases"] = args.cases
        changes["pg_cases"] = min(args.cases, found.pg_cases)
    for key in ("pg_cases", "months", "points"):
        if getattr(args, key):
            changes[key] = getattr(args, key)
    if args.seconds:
        changes["load_seconds"] = args.seconds
    return replace(found, **changes)


def start_pg(mode: str, workdir: Path) -> PgCluster | None:
    if mode == "off" or (mode == "auto" and not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")):
        return None
    cluster = PgCluster(workdir)
    log(f"starting the throw-away PostgreSQL cluster in {cluster.place[0]} on port {cluster.place[1]}")
    try:
        return cluster.start()
    except Exception as exc:
        if mode == "on":
            raise
        log(f"PostgreSQL unavailable, SQLite only: {exc}")
        return None


YEARLY = frozenset({"assessment", "pages"})  # run once per --years value


def run_all(ctx: Context, names: list[str], years: list[int]) -> list[str]:
    """Each benchmark in turn; results under its name (``assessment-10y`` for 10 years)."""
    crashed = []
    for name in names:
        for y in years if name in YEARLY else [1]:
            key = name if y == 1 else f"{name}-{y}y"
            start = time.perf_counter()
            log(f"== {key} ==")
            ctx.years = y
            try:
                ctx.results[key] = BENCHMARKS[name](ctx)
            except Exception:
                crashed.append(key)
                traceback.print_exc()
                show(f"\n{key}: CRASHED (see the traceback on stderr)")
            log(f"{key} took {time.perf_counter() - start:,.0f} s")
    ctx.years = 1
    return crashed


def machine_table(info: dict[str, Any], ctx: Context) -> str:
    pkgs = ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v)
    rows = [["date", info["date"]], ["CPU", f"{info['nproc']} × {info['cpu']}"],
            ["load average at start (1/5/15 min)", info["load"]], ["RAM", f"{info['ram_gb']} GB"],
            ["kernel", info["kernel"]], ["Python", info["python"]], ["SQLite", info["sqlite"]],
            ["PostgreSQL", ctx.pg.version if ctx.pg else "not used"], ["wrk", info["wrk"] or "not installed"],
            ["packages", pkgs], ["Xiuhua", info["git"]], ["sizes", str(asdict(ctx.sizes))]]
    return table("Machine", ["", ""], rows)


def main(argv: list[str]) -> int:
    args = parse(argv)
    names = [n for n in BENCHMARKS if n in args.benchmarks] if args.benchmarks else list(BENCHMARKS)
    years = sorted({max(1, y) for y in args.years})
    ctx = Context(sizes(args), args.workdir, seed=args.seed, profile=args.profile)
    ctx.work.mkdir(parents=True, exist_ok=True)
    if USES_PG & set(names):
        ctx.pg = start_pg(args.pg, ctx.work)
    try:
        info = machine()
        show(machine_table(info, ctx))
        crashed = run_all(ctx, names, years)
    finally:
        if ctx.pg is not None:
            log("stopping the throw-away PostgreSQL cluster")
            ctx.pg.stop()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {"machine": info, "sizes": asdict(ctx.sizes), "results": ctx.results, "crashed": crashed}
    for path in (args.json, ctx.work / f"results-{ctx.sizes.name}-{stamp}.json"):
        if path is not None:
            path.write_text(json.dumps(payload, indent=1, default=str, ensure_ascii=False))
    if args.markdown:
        args.markdown.write_text("\n".join(common.SHOWN) + "\n", encoding="utf-8")
    log(f"figures saved in {ctx.work / f'results-{ctx.sizes.name}-{stamp}.json'}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
