"""What every benchmark shares: sizes, the run context, processes and their peak memory,
the throw-away PostgreSQL cluster, timing statistics and printing."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
XIUHUA = str(BIN / "xiuhua")
SECRET = "bench-secret-key-not-for-production"


# --- sizes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs; ``small`` is the default, ``full`` the issue's sizes."""

    name: str
    cases: int  # history size for import, assessment and pages
    months: int  # the history spans this many months, ending with the assessed month
    points: int  # point -> grid lookups
    grids: int  # grid polygons for point -> grid
    load_seconds: float  # intake load per server
    page_seconds: float  # latency run per page
    loop_sample: int  # points for the per-point loops (extrapolated)
    postgis_points: int  # points for the PostGIS baseline
    pg_cases: int  # history size on PostgreSQL (import there is the slow part)


SMALL = Sizes("small", cases=20_000, months=12, points=100_000, grids=15_000, load_seconds=10,
              page_seconds=5, loop_sample=10_000, postgis_points=100_000, pg_cases=20_000)
FULL = Sizes("full", cases=1_000_000, months=12, points=1_000_000, grids=15_000, load_seconds=30,
             page_seconds=10, loop_sample=50_000, postgis_points=1_000_000, pg_cases=1_000_000)


# --- the run --------------------------------------------------------------------------------


@dataclass
class Context:
    sizes: Sizes
    work: Path
    seed: int = 1
    profile: bool = False
    pg: PgCluster | None = None
    years: int = 1  # histories of assessment and pages: the imported months, then whole years back
    results: dict[str, Any] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        found = self.work.joinpath(*parts)
        found.parent.mkdir(parents=True, exist_ok=True)
        return found


def log(message: str) -> None:
    """Progress on stderr, figures on stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the machine ----------------------------------------------------------------------------


def _first(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _wrk_version() -> str | None:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    except OSError:
        return None
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else None


def machine() -> dict[str, Any]:
    """The machine and software the figures were measured on."""
    mem_kb = _first("/proc/meminfo", "MemTotal") or "0 kB"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "nproc": os.cpu_count(), "cpu": _first("/proc/cpuinfo", "model name"),
        "ram_gb": round(int(mem_kb.split()[0]) / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "wrk": _wrk_version(),
        "packages": {p: _version(p) for p in ("fastapi", "starlette", "uvicorn", "uvloop", "httptools",
                                               "pydantic", "sqlalchemy", "psycopg", "shapely", "numpy",
                                               "duckdb")},
        "git": f"{_git('rev-parse', '--short', 'HEAD')}"
               f"{' (+uncommitted changes)' if _git('status', '--porcelain', '--', 'src') else ''}",
    }


# --- processes and memory -------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a live process, in MiB."""
    value = _first(f"/proc/{pid}/status", "VmHWM")
    return round(int(value.split()[0]) / 1024, 1) if value else None


def rss_mb(pid: int) -> float | None:
    value = _first(f"/proc/{pid}/status", "VmRSS")
    return round(int(value.split()[0]) / 1024, 1) if value else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, headers: Mapping[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Server:
    """A server process on a loopback port, stopped (by its own pid) when the block ends."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, probe: str = "/", timeout: float = 90) -> None:
        handle = self.log_path.open("wb")
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        self.proc = subprocess.Popen(self.argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                http_get(self.url + probe, timeout=5)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s; see {self.log_path}")

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.proc.pid) if self.proc else None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def serving(server: Server, probe: str = "/") -> Iterator[Server]:
    try:
        server.start(probe)
        yield server
    finally:
        server.stop()


def uvicorn_argv(target: str, port: int, factory: bool = False) -> list[str]:
    """uvicorn as ``xiuhua serve`` runs it: uvloop, httptools, log level info (access log on)."""
    return [PYTHON, "-m", "uvicorn", target, *(["--factory"] if factory else []), "--host", "127.0.0.1",
            "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--log-level", "info"]


def xiuhua_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {"XIUHUA_DATABASE_URL": database_url, "XIUHUA_DATA_DIR": str(data_dir),
            "XIUHUA_SECRET_KEY": SECRET}


@dataclass(frozen=True)
class Finished:
    seconds: float
    peak_rss_mb: float
    returncode: int
    output: str


class _PeakWatch(threading.Thread):
    """Polls VmHWM of a child after its exec (``ru_maxrss`` of a forked child also counts the
    parent's pages it had before exec, so it overstates small jobs run from a big parent)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, peak_rss_mb(self.pid) or 0.0)


def run_measured(argv: Sequence[str], env: Mapping[str, str] | None = None,
                 log_path: Path | None = None) -> Finished:
    """Run a command to its end: wall time and its peak resident memory (polled VmHWM, and
    the ``"peak_rss_mb"`` the command prints itself when it is a ``bench.jobs`` job)."""
    out_path = log_path or Path(os.devnull)
    with out_path.open("wb") as handle:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
        watch = _PeakWatch(proc.pid)
        watch.start()
        proc.wait()
        seconds = time.perf_counter() - start
        watch.done.set()
    output = log_path.read_text(errors="replace")[-4000:] if log_path else ""
    return Finished(seconds, watch.peak, proc.returncode, output)


def job(name: str, *args: str, env: Mapping[str, str] | None = None,
        log_path: Path | None = None) -> dict[str, Any]:
    """Run ``bench.jobs <name>`` in a fresh process; its last output line is its JSON result."""
    path = log_path or Path(f"/tmp/xh-bench-job-{os.getpid()}.log")
    done = run_measured([PYTHON, "-m", "bench.jobs", name, *args], env=env, log_path=path)
    if done.returncode != 0:
        raise RuntimeError(f"job {name} failed:\n{done.output}")
    lines = [line for line in path.read_text().splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1])
    result["peak_rss_mb"] = max(result.get("peak_rss_mb", 0.0), done.peak_rss_mb)
    result["seconds"] = done.seconds
    return result


# --- SQLite files ---------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def copy_sqlite(src: Path, dst: Path) -> Path:
    """A consistent copy of a SQLite database (the backup API reads through the WAL)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)
    source.close()
    target.close()
    return dst


# --- PostgreSQL -----------------------------------------------------------------------------

PG_DIR = "/tmp/xh-bench-pg"
PG_PORT = 55444


@dataclass
class PgCluster:
    """The throw-away cluster of ``scripts/pg-test-cluster.sh`` on its own directory and port
    (never the test cluster on 55432); ``stop`` removes it. Each work directory has a cluster
    of its own (runs with different ``--workdir`` at the same time must not stop each other's):
    ``/tmp/xh-bench-pg`` on port 55444 for the default one, else a directory and port derived
    from the work directory's path."""

    workdir: Path | None = None
    url: str = ""
    version: str = ""

    @property
    def place(self) -> tuple[str, int]:
        """The cluster's directory and port."""
        if self.workdir is None or self.workdir.resolve() == Path("/tmp/xh-bench"):
            return PG_DIR, PG_PORT
        key = zlib.crc32(str(self.workdir.resolve()).encode())
        return f"{PG_DIR}-{key:08x}", PG_PORT + 1 + key % 400

    def _env(self) -> dict[str, str]:
        directory, port = self.place
        return {**os.environ, "XIUHUA_PG_DIR": directory, "XIUHUA_PG_PORT": str(port)}

    def start(self) -> PgCluster:
        out = subprocess.run([str(ROOT / "scripts" / "pg-test-cluster.sh"), "start"], env=self._env(),
                             capture_output=True, text=True, check=True)
        self.url = out.stdout.strip().splitlines()[-1]
        self.version = str(self.scalar("postgres", "SHOW server_version"))
        return self

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "pg-test-cluster.sh"), "stop"], env=self._env(),
                       capture_output=True, text=True)

    def database_url(self, name: str) -> str:
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def libpq(self, name: str) -> str:
        return self.database_url(name).replace("postgresql+psycopg://", "postgresql://")

    def scalar(self, db: str, sql: str) -> Any:
        import psycopg

        with psycopg.connect(self.libpq(db), autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

    def create(self, name: str, template: str | None = None) -> str:
        """A fresh database (dropped first), optionally copied from ``template``."""
        import psycopg

        with psycopg.connect(self.libpq("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.database_url(name)

    def exists(self, name: str) -> bool:
        return bool(self.scalar("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"))


# --- statistics and printing ----------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, float, Any]:
    """(first, best) seconds over ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times[0], min(times), result


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (also valid Markdown)."""
    cells = [[str(c) for c in columns], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([f"\n### {title}\n", line(cells[0]), sep, *[line(r) for r in cells[1:]], ""])


SHOWN: list[str] = []  # everything shown, for --markdown


def show(text: str) -> None:
    SHOWN.append(text)
    print(text, flush=True)


def as_dict(obj: Any) -> Any:
    return asdict(obj) if hasattr(obj, "__dataclass_fields__") else obj
