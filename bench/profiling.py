"""Where the time goes: py-spy (sampling, ``--nonblocking``) over a command or a running
server, summarised as self time by package, the top functions by self time and the top
Xiuhua functions by inclusive time. The raw collapsed stacks are kept for flame graphs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, log

RATE = 200  # samples per second
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
PACKAGES = (  # (label, path fragment), first match wins
    ("xiuhua.domain", "/xiuhua/domain/"), ("xiuhua.store", "/xiuhua/store/"),
    ("xiuhua.services", "/xiuhua/services/"), ("xiuhua.http", "/xiuhua/http/"), ("xiuhua.api", "/xiuhua/api/"),
    ("xiuhua.web", "/xiuhua/web/"),
    ("xiuhua (other)", "/xiuhua/"), ("sqlalchemy", "/sqlalchemy/"), ("pydantic", "/pydantic"),
    ("fastapi", "/fastapi/"), ("starlette", "/starlette/"), ("uvicorn", "/uvicorn/"), ("anyio", "/anyio/"),
    ("psycopg", "/psycopg"), ("sqlite3", "/sqlite3/"), ("shapely", "/shapely/"), ("numpy", "/numpy/"),
    ("json/orjson", "/json/"), ("logging", "/logging/"), ("asyncio", "/asyncio/"), ("alembic", "/alembic/"),
    ("bench", "/bench/"), ("stdlib", "/lib/python3"),
)


def available() -> bool:
    return shutil.which("py-spy") is not None or (Path(sys.executable).parent / "py-spy").exists()


def _pyspy() -> str:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else "py-spy"


def record_command(argv: Sequence[str], env: Mapping[str, str], out: Path, focus: str | None = None) -> dict[str, Any]:
    """Run ``argv`` under py-spy to its end; ``focus`` keeps the stacks through that function."""
    if not available():
        return {"error": "py-spy is not installed (pip install py-spy)"}
    cmd = [_pyspy(), "record", "--nonblocking", "--function", "-r", str(RATE), "-f", "raw", "-o", str(out),
           "--", *argv]
    subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=ROOT, capture_output=True,
                   check=True)
    return summarise(out, focus=focus)


def attach(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Start sampling a running process for ``seconds``; wait on the returned process."""
    if not available():
        log("py-spy is not installed: no profile")
        return None
    cmd = [_pyspy(), "record", "--nonblocking", "--function", "-r", str(RATE), "-f", "raw", "-o", str(out),
           "-d", str(max(1, round(seconds))), "--pid", str(pid)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _package(path: str) -> str:
    """The package of a frame's file; py-spy shortens paths to ``package/module.py``."""
    if path.startswith("<frozen"):
        return "startup (imports)"
    if not path:
        return "native"
    found = next((label for label, part in PACKAGES if part in "/" + path), None)
    if found is None and "/" not in path:
        return "stdlib"
    return found or path.split("/", 1)[0]


def summarise(raw: Path, top: int = 15, focus: str | None = None) -> dict[str, Any]:
    """Self time by package and function, inclusive time of Xiuhua functions (in % of the
    samples; only of the stacks through function ``focus`` when given)."""
    if not raw.exists():
        return {"error": f"no profile written to {raw}"}
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or (focus and f";{focus} (" not in stack):
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        if _idle(frames):
            idle += count
            continue
        total += count
        leaf = _FRAME.match(frames[-1])
        own[_label(frames[-1])] += count
        packages[_package(leaf.group("file") if leaf else "")] += count
        for name in {_label(f) for f in frames if "(xiuhua/" in f or "/xiuhua/" in f}:
            inclusive[name] += count

    def pct(c: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in c.most_common(n)] if total else []
    return {"samples": total, "idle": idle, "focus": focus, "raw": str(raw), "packages": pct(packages, 20),
            "self": pct(own, top), "xiuhua_inclusive": pct(inclusive, top)}


def _idle(frames: list[str]) -> bool:
    """Not time spent on requests: a worker thread waiting for work (thread pool queue, the
    sweeper's sleep), or the event loop inside uvloop's native code (mostly waiting in epoll
    when one connection is served; its own work is the bare ASGI baseline's)."""
    if frames[-1].startswith("Runner.run (asyncio/runners.py"):
        return True
    if len(frames) < 2 or not frames[-1].startswith("Condition.wait (threading.py"):
        return False
    return frames[-2].startswith(("Queue.get (queue.py", "Event.wait (threading.py"))


def _label(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


def render(summary: dict[str, Any], title: str) -> str:
    if "error" in summary:
        return f"Profile {title}: {summary['error']}"
    within = f" within {summary['focus']}" if summary.get("focus") else ""
    skipped = f", {summary['idle']:,} idle samples left out" if summary.get("idle") else ""
    lines = [f"\nProfile {title}: {summary['samples']:,} samples{within}{skipped} ({summary['raw']})",
             "  self time by package: " + ", ".join(f"{k} {v}%" for k, v in summary["packages"])]
    lines.append("  top functions by self time:")
    lines += [f"    {v:5.1f}%  {k}" for k, v in summary["self"]]
    lines.append("  Xiuhua functions by inclusive time:")
    lines += [f"    {v:5.1f}%  {k}" for k, v in summary["xiuhua_inclusive"]]
    return "\n".join(lines)
