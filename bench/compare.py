"""Two commits in one go, in alternating rounds: ``python -m bench.compare --old DIR [--new DIR]``
(``make bench-compare OLD=<commit>`` makes the old tree a git worktree under /tmp).

On a shared machine single runs swing several-fold within minutes; what makes a comparison
fair is measuring both sides close together, many times, in alternating order. Each round
runs every contender once (the order reversed every other round, so neither side always goes
first) and the figures compared are ratios **within a round**, reported as the median of the
rounds with their spread (min–max).

Contenders, each a fresh server on a fresh copy of its database, loaded like ``bench intake``
(wrk, 16 connections, a 3 s warm-up, then ``--seconds``), with the same 5,000 report bodies:

- ``xiuhua serve`` of each tree on the demo city without history (the acceptor's token, as
  ``make bench`` runs it), and on the demo city's database as ``xiuhua demo`` builds it
  (``--months 6``: ≈ 60 k cases) with an inspector's token, the way a city's phones report;
- the FastAPI + SQLite baseline of ``make bench`` (``bench.apps:fastapi_sqlite``: the full
  ``CaseCreate`` validated, one row inserted in a transaction, in the thread pool) and the
  lighter one (``bench.apps:fastapi_light``: five fields, one row with autocommit, on the
  event loop).

The assessment: ``bench.jobs assess`` of each tree (its own process: load the city, assess
the demo's last whole month three times, first and best) on its demo database, with no month
published (a published month's figures are read back frozen).

Each tree runs with this interpreter and its own source (``PYTHONPATH=<tree>/src:<tree>``),
so both use the same installed libraries; each builds its own databases with its own code
(the schemas differ between commits)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import dataset
from bench.common import (
    PYTHON,
    SMALL,
    Context,
    Server,
    copy_sqlite,
    free_port,
    log,
    machine,
    show,
    sqlite_url,
    table,
    uvicorn_argv,
    xiuhua_env,
)
from bench.intake import JSON, measure
from bench.load import write_requests

DEMO = ["--seed", "1", "--months", "6", "--end", "2026-12-06"]
PERIOD = "2026-11"  # the demo's last whole month
ASSESS_REPEAT = 3


def tree_env(tree: Path) -> dict[str, str]:
    return {"PYTHONPATH": f"{tree / 'src'}:{tree}"}


def in_tree(tree: Path, argv: Sequence[str], env: dict[str, str] | None = None,
            log_path: Path | None = None) -> str:
    """Run ``argv`` with this interpreter on ``tree``'s code; its standard output."""
    done = subprocess.run([PYTHON, *argv], cwd=tree, env={**os.environ, **tree_env(tree), **(env or {})},
                          capture_output=True, text=True)
    if log_path is not None:
        log_path.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed in {tree}:\n{done.stderr[-3000:]}")
    return done.stdout


CLI = ["-c", "from xiuhua.cli import app; app()"]


def built(work: Path, label: str, tree: Path, kind: str) -> Path:
    """The demo city of ``tree`` (``kind``: ``city`` without history, ``demo`` with it), built
    once with that tree's ``xiuhua demo``."""
    path = work / f"{kind}-{label}.db"
    if path.exists() and (work / f"{kind}-{label}.done").exists():
        return path
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    log(f"building {path.name} with {tree}'s xiuhua demo")
    data = work / f"data-{label}"
    data.mkdir(parents=True, exist_ok=True)
    args = [*CLI, "demo", *DEMO, *(["--no-history"] if kind == "city" else [])]
    in_tree(tree, args, xiuhua_env(sqlite_url(path), data), work / f"{kind}-{label}.log")
    presweep(tree, path)
    (work / f"{kind}-{label}.done").write_text("ok\n")
    return path


def presweep(tree: Path, path: Path) -> None:
    """One deadline sweep now, so that the server's first sweep (at its start) does not raise
    the history's notices while it is measured."""
    code = ("import sys; from datetime import UTC, datetime; from xiuhua.store.db import make_engine; "
            "from xiuhua.services.sweeper import sweep; print(sweep(make_engine(sys.argv[1]), datetime.now(UTC)))")
    in_tree(tree, ["-c", code, sqlite_url(path)])


def token(tree: Path, path: Path, login: str) -> str:
    code = "import sys; from bench.dataset import token_for; print(token_for(sys.argv[1], sys.argv[2]))"
    return in_tree(tree, ["-c", code, sqlite_url(path), login]).strip().splitlines()[-1]


class Contender:
    """One server to load: a tree's ``xiuhua serve`` on a copy of a database, or a baseline."""

    def __init__(self, key: str, label: str, tree: Path | None = None, master: Path | None = None,
                 bearer: str | None = None, target: str | None = None) -> None:
        self.key, self.label, self.tree, self.master = key, label, tree, master
        self.bearer, self.target = bearer, target

    def run(self, ctx: Context, requests: Path, round_no: int) -> dict[str, Any]:
        port = free_port()
        logs = ctx.path("logs", f"{self.key}-r{round_no}.log")
        db = ctx.path("runs", f"{self.key}.sqlite")
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        if self.tree is None:
            assert self.target is not None
            server = Server(self.label, uvicorn_argv(self.target, port, True), {"BENCH_SQLITE": str(db)},
                            port, logs)
            return measure(ctx, server, requests, JSON)
        assert self.master is not None and self.bearer is not None
        copy_sqlite(self.master, db)
        data = ctx.path("runs", f"data-{self.key}", "x").parent
        env = {**xiuhua_env(sqlite_url(db), data), **tree_env(self.tree)}
        server = Server(self.label, [PYTHON, *CLI, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                        port, logs)
        headers = {**JSON, "Authorization": f"Bearer {self.bearer}"}
        return measure(ctx, server, requests, headers, probe="/healthz", db_url=sqlite_url(db))


def unpublished(work: Path, label: str) -> Path:
    """A copy of the demo database without published months: the assessment computes the
    figures (a published month's are read back frozen, and newer demos publish)."""
    path = copy_sqlite(work / f"demo-{label}.db", work / f"assess-{label}.db")
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM assessment_publications")
    conn.close()
    return path


def assess(tree: Path, path: Path) -> dict[str, Any]:
    out = in_tree(tree, ["-m", "bench.jobs", "assess", sqlite_url(path), PERIOD, str(ASSESS_REPEAT)])
    found: dict[str, Any] = json.loads([x for x in out.splitlines() if x.startswith("{")][-1])
    found.pop("steps", None)
    return found


CPU_CODE = """
import json, sys, time
from pathlib import Path
from starlette.testclient import TestClient
try:
    from xiuhua.app import create_app
except ImportError:  # before issue 14
    from xiuhua.api.app import create_app
from xiuhua.config import Settings
from bench.dataset import intake_bodies, token_for
url, data, login, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
app = create_app(Settings(database_url=url, data_dir=Path(data), secret_key="bench-" * 8), migrate=False)
headers = {"Authorization": "Bearer " + token_for(url, login), "Content-Type": "application/json"}
bodies = intake_bodies(2, count=n + 50)
with TestClient(app) as client:
    for body in bodies[:50]:
        assert client.post("/api/v1/cases", content=body, headers=headers).status_code == 201
    cpu, wall = time.process_time(), time.perf_counter()
    for body in bodies[50:]:
        assert client.post("/api/v1/cases", content=body, headers=headers).status_code == 201
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
print(json.dumps({"cpu_ms": 1000 * cpu / n, "wall_ms": 1000 * wall / n}))
"""
CPU_REPORTS = 400


def cpu_per_report(ctx: Context, key: str, tree: Path, master: Path, login: str) -> dict[str, Any]:
    """CPU time per report in one process, one report at a time through the application (no
    server, no sweeper, no load generator): the code path's own cost, which the machine's other
    work disturbs far less than a throughput does."""
    db = ctx.path("runs", f"cpu-{key}.sqlite")
    copy_sqlite(master, db)
    data = ctx.path("runs", f"data-cpu-{key}", "x").parent
    out = in_tree(tree, ["-c", CPU_CODE, sqlite_url(db), str(data), login, str(CPU_REPORTS)])
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return found


def spread(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt_spread(s: dict[str, float], percent: bool = True) -> str:
    if percent:
        return f"{100 * s['median']:.0f} % ({100 * s['min']:.0f}–{100 * s['max']:.0f} %)"
    return f"{s['median']:,.0f} ({s['min']:,.0f}–{s['max']:,.0f})"


RATIOS = (  # (name, numerator, denominator)
    ("intake, demo city without history: this commit / before", "new-city", "old-city"),
    ("intake, demo city with ≈ 60 k cases, inspector: this commit / before", "new-demo", "old-demo"),
    ("this commit, no history / FastAPI + SQLite baseline", "new-city", "fastapi_sqlite"),
    ("this commit, no history / FastAPI light baseline", "new-city", "fastapi_light"),
    ("this commit, ≈ 60 k cases / FastAPI + SQLite baseline", "new-demo", "fastapi_sqlite"),
    ("this commit, ≈ 60 k cases / FastAPI light baseline", "new-demo", "fastapi_light"),
    ("before, no history / FastAPI + SQLite baseline", "old-city", "fastapi_sqlite"),
    ("before, no history / FastAPI light baseline", "old-city", "fastapi_light"),
)


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    keys = rounds[0]["intake"].keys()
    rps = {k: spread([r["intake"][k]["rps"] for r in rounds]) for k in keys}
    cpu = {k: spread([r["intake"][k]["cpu_ms_per_request"] or 0.0 for r in rounds]) for k in keys}
    ratios = {name: spread([r["intake"][a]["rps"] / r["intake"][b]["rps"] for r in rounds])
              for name, a, b in RATIOS}
    cpu_ratios = {name: spread([(r["intake"][a]["cpu_ms_per_request"] or 0.0)
                                / (r["intake"][b]["cpu_ms_per_request"] or 1.0) for r in rounds])
                  for name, a, b in RATIOS[:2]}
    cpu_rounds = [r for r in rounds if "cpu" in r]
    pairs = [*RATIOS[:2], *([("intake, demo city without history: this commit / mid", "new-city", "mid-city")]
                            if cpu_rounds and "mid-city" in cpu_rounds[0]["cpu"] else [])]
    in_process = {name: spread([r["cpu"][a]["cpu_ms"] / r["cpu"][b]["cpu_ms"] for r in cpu_rounds])
                  for name, a, b in pairs} if cpu_rounds else {}
    in_process_ms = {k: spread([r["cpu"][k]["cpu_ms"] for r in cpu_rounds])
                     for k in (cpu_rounds[0]["cpu"] if cpu_rounds else {})}
    assess_ratio = spread([r["assess"]["new"]["best_s"] / r["assess"]["old"]["best_s"] for r in rounds])
    first_ratio = spread([r["assess"]["new"]["first_s"] / r["assess"]["old"]["first_s"] for r in rounds])
    return {"rps": rps, "cpu_ms": cpu, "ratios": ratios, "cpu_ratios": cpu_ratios,
            "in_process": in_process, "in_process_ms": in_process_ms,
            "assess_best_ratio": assess_ratio,
            "assess_first_ratio": first_ratio,
            "assess": {t: {m: spread([r["assess"][t][m] for r in rounds]) for m in ("first_s", "best_s")}
                       for t in ("new", "old")}}


def render(out: dict[str, Any]) -> str:
    s, labels = out["summary"], out["labels"]
    rows = [[labels[k], fmt_spread(v, percent=False), f"{s['cpu_ms'][k]['median']:.2f}",
             " / ".join(f"{r['intake'][k]['rps']:,.0f}" for r in out["rounds"]),
             str(sum(r["intake"][k]["failed"] for r in out["rounds"]))] for k, v in s["rps"].items()]
    parts = [table(f"Intake, {out['rounds_n']} alternating rounds of {out['seconds']:.0f} s per server "
                   "(req/s: median (min–max); CPU ms per request: median)",
                   ["server", "req/s", "CPU ms/req", "req/s by round", "failed"], rows)]
    rows = [[name, fmt_spread(v)] for name, v in s["ratios"].items()]
    rows += [[f"server CPU per report, {name.removeprefix('intake, ')}", fmt_spread(v)]
             for name, v in s["cpu_ratios"].items()]
    rows += [[f"CPU per report in one process, {name.removeprefix('intake, ')}", fmt_spread(v)]
             for name, v in s["in_process"].items()]
    parts.append(table("Intake ratios within each round: median (min–max)", ["ratio", "value"], rows))
    if s["in_process_ms"]:
        rows = [[labels[k], f"{v['median']:.2f} ({v['min']:.2f}–{v['max']:.2f})"]
                for k, v in s["in_process_ms"].items()]
        parts.append(table(f"CPU ms per report in one process ({CPU_REPORTS} reports one at a time through "
                           "the application, no server): median (min–max)", ["tree, database", "CPU ms"], rows))
    a = s["assess"]
    rows = [[f"assess {PERIOD}, {t}", f"{a[k]['first_s']['median']:.2f} ({a[k]['first_s']['min']:.2f}–"
             f"{a[k]['first_s']['max']:.2f})", f"{a[k]['best_s']['median']:.2f} ({a[k]['best_s']['min']:.2f}–"
             f"{a[k]['best_s']['max']:.2f})"] for k, t in (("new", "this commit"), ("old", "before"))]
    rows.append(["this commit / before (within a round)", fmt_spread(s["assess_first_ratio"]),
                 fmt_spread(s["assess_best_ratio"])])
    parts.append(table(f"Assessment of {PERIOD} on the demo city (own process, s: median (min–max))",
                       ["what", "first", f"best of {ASSESS_REPEAT}"], rows))
    return "\n\n".join(parts)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--old", type=Path, required=True, help="the old commit's tree (a git worktree)")
    p.add_argument("--new", type=Path, default=Path(__file__).resolve().parent.parent,
                   help="the new commit's tree (default: this one)")
    p.add_argument("--mid", type=Path, help="a third tree with the new tree's schema (e.g. the commit before "
                   "the last change): measured in process only, on the new tree's databases")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/xh-bench-compare"))
    p.add_argument("--json", type=Path)
    p.add_argument("--markdown", type=Path)
    p.add_argument("--again", type=Path, nargs="*", default=[],
                   help="JSON files of earlier runs: their rounds are summarised with this run's")
    args = p.parse_args(argv)
    if args.rounds == 0:  # only summarise the runs given
        runs = [json.loads(f.read_text()) for f in args.again]
        out = {**runs[-1], "rounds": [r for run in runs for r in run["rounds"]]}
        out["rounds_n"] = len(out["rounds"])
        return finish(out, args)
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(replace(SMALL, load_seconds=args.seconds), work)
    trees = {"new": args.new.resolve(), "old": args.old.resolve()}
    commits = {k: subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=t, capture_output=True,
                                 text=True).stdout.strip() for k, t in trees.items()}
    info = machine()
    contenders = []
    cpu_runs: list[tuple[str, Path, Path, str]] = []
    labels = {}
    for label, tree in trees.items():
        for kind, login in (("city", "acceptor01"), ("demo", "inspector01")):
            master = built(work, label, tree, kind)
            key = f"{label}-{kind}"
            which = "this commit" if label == "new" else "before"
            city = "demo city, no history, acceptor" if kind == "city" else "demo city ≈ 60 k cases, inspector"
            labels[key] = f"xiuhua serve {commits[label]} ({which}), {city}"
            contenders.append(Contender(key, labels[key], tree, master, token(tree, master, login)))
            cpu_runs.append((key, tree, master, login))
    if args.mid is not None:
        mid = args.mid.resolve()
        commits["mid"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=mid, capture_output=True,
                                        text=True).stdout.strip()
        labels["mid-city"] = f"{commits['mid']} (in process only), demo city, no history, acceptor"
        cpu_runs.append(("mid-city", mid, work / "city-new.db", "acceptor01"))
    labels["fastapi_sqlite"] = "baseline: FastAPI, CaseCreate + insert in a transaction (thread pool)"
    labels["fastapi_light"] = "baseline: FastAPI light, five fields + autocommit insert (event loop)"
    contenders += [Contender("fastapi_sqlite", labels["fastapi_sqlite"], target="bench.apps:fastapi_sqlite"),
                   Contender("fastapi_light", labels["fastapi_light"], target="bench.apps:fastapi_light")]
    assessed = {label: unpublished(work, label) for label in trees}
    bodies = dataset.intake_bodies(1)
    requests = write_requests(ctx.path("requests.txt"), [("POST", "/api/v1/cases", b) for b in bodies])
    rounds = []
    for n in range(args.rounds):
        order = contenders if n % 2 == 0 else contenders[::-1]
        found: dict[str, Any] = {"intake": {}, "assess": {}, "started": time.strftime("%H:%M:%S")}
        for c in order:
            found["intake"][c.key] = c.run(ctx, requests, n)
            log(f"round {n + 1}: {c.key} {found['intake'][c.key]['rps']:.0f} req/s")
        found["cpu"] = {}
        for run in (cpu_runs if n % 2 == 0 else cpu_runs[::-1]):
            found["cpu"][run[0]] = cpu_per_report(ctx, *run)
            log(f"round {n + 1}: {run[0]} in process {found['cpu'][run[0]]['cpu_ms']:.2f} ms CPU per report")
        for label in (("new", "old") if n % 2 == 0 else ("old", "new")):
            found["assess"][label] = assess(trees[label], assessed[label])
            log(f"round {n + 1}: assess {label} best {found['assess'][label]['best_s']:.2f} s")
        rounds.append(found)
    for earlier in args.again:
        rounds = json.loads(earlier.read_text())["rounds"] + rounds
    out = {"machine": info, "commits": commits, "rounds_n": len(rounds), "seconds": args.seconds,
           "labels": labels, "rounds": rounds}
    return finish(out, args)


def finish(out: dict[str, Any], args: argparse.Namespace) -> int:
    out["summary"] = summarise(out["rounds"])
    text = render(out)
    show(text)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    if args.markdown:
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
