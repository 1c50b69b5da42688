"""The load generator: wrk (Debian's ``wrk``) with ``wrk/requests.lua``, or, where wrk is not
installed, a small asyncio HTTP/1.1 keep-alive client with the same request file and figures.

A request file has one request per line: ``METHOD<TAB>PATH[<TAB>BODY]``; every connection
cycles through it (each starting at a different line)."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import percentile

LUA = Path(__file__).resolve().parent / "wrk" / "requests.lua"


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    failed: int  # socket errors and non-2xx/3xx answers
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    tool: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return self.requests - self.failed


def write_requests(path: Path, lines: Sequence[tuple[str, str, str | None]]) -> Path:
    """Write a request file from (method, path, body) triples."""
    with path.open("w", encoding="utf-8") as out:
        for method, target, body in lines:
            out.write(f"{method}\t{target}" + (f"\t{body}" if body else "") + "\n")
    return path


def generate(url: str, requests_file: Path, headers: Mapping[str, str], connections: int,
             seconds: float) -> Load:
    """Drive the server at ``url`` with ``connections`` keep-alive connections for ``seconds``."""
    if shutil.which("wrk"):
        return _wrk(url, requests_file, headers, connections, seconds)
    return asyncio.run(_python(url, requests_file, headers, connections, seconds))


def _wrk(url: str, requests_file: Path, headers: Mapping[str, str], connections: int,
         seconds: float) -> Load:
    # One wrk thread: on two cores the server needs the other one.
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(LUA), url, "--", str(requests_file), *(f"{k}: {v}" for k, v in headers.items())]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    d = json.loads(line.removeprefix("WRKJSON "))
    failed = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    ms = lambda key: d[key] / 1000  # noqa: E731
    return Load(d["requests"], d["duration_us"] / 1e6, failed, ms("p50_us"), ms("p90_us"), ms("p95_us"),
                ms("p99_us"), ms("max_us"), "wrk")


# --- the fallback client --------------------------------------------------------------------


def _read_file(path: Path, host: str, headers: Mapping[str, str]) -> list[bytes]:
    found = []
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    for line in path.read_text(encoding="utf-8").splitlines():
        method, target, *rest = line.split("\t", 2)
        body = rest[0].encode() if rest else b""
        head = (f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        found.append(head + body)
    return found


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    if fields.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(fields.get("content-length", "0")))
    return status


async def _connection(host: str, port: int, reqs: list[bytes], until: float, latencies: list[float],
                      failures: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = random.randrange(len(reqs))
    while time.perf_counter() < until:
        i = (i + 1) % len(reqs)
        start = time.perf_counter()
        writer.write(reqs[i])
        try:
            status = await _response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            failures.append(1)
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
            continue
        latencies.append(time.perf_counter() - start)
        if status >= 400:
            failures.append(1)
    writer.close()


async def _python(url: str, requests_file: Path, headers: Mapping[str, str], connections: int,
                  seconds: float) -> Load:
    host_port = url.split("//", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    reqs = _read_file(requests_file, host_port, headers)
    latencies: list[float] = []
    failures: list[int] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(_connection(host, int(port), reqs, until, latencies, failures)
                           for _ in range(connections)))
    elapsed = time.perf_counter() - start
    ms = [x * 1000 for x in latencies]
    return Load(len(ms), elapsed, len(failures), percentile(ms, 50), percentile(ms, 90),
                percentile(ms, 95), percentile(ms, 99), max(ms, default=0.0), "python-asyncio")
