"""Photos: the server's resident memory while one public report carries nine large PNGs
(issue 11, finding 5: nine 164 KB PNGs of 7500 × 7490 pixels took the server from 240 MB to
955 MB, and it stayed there). Target: RSS under 500 MB at peak and back under 350 MB a minute
later, on SQLite.

Each case runs against its own ``xiuhua serve`` (its own database copy and data directory), so
the peak (VmHWM) is that case's: after a warm-up report with one small JPEG, ``POST
/api/v1/public/reports`` with nine distinct PNGs (each one colour, so each ≈ 164 KB at
7500 × 7490), RSS sampled every 50 ms during the request, just after it and 60 s later.

- ``7500 × 7490`` (56 MP): the finding's images; above the PNG limit (25 MP), so refused by
  their header, before any pixel is decoded;
- ``5000 × 5000`` (25 MP): the largest PNG accepted, decoded in full;
- three such reports at once (27 distinct PNGs): large images are decoded one at a time.

Baseline (same run, own process): the same nine PNGs decoded as before the fix (verify, load
whole, an upright copy, a copy per re-encoded size, no limit below 60 MP, no lock, no trim)."""

from __future__ import annotations

import json
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import httpx

from bench import dataset
from bench.common import (
    XIUHUA,
    Context,
    Server,
    fmt,
    free_port,
    job,
    log,
    peak_rss_mb,
    rss_mb,
    serving,
    show,
    sqlite_url,
    table,
    xiuhua_env,
)

TARGETS = {"peak_mb": 500, "after_minute_mb": 350}
SIZES = {"7500x7490": (7500, 7490), "5000x5000": (5000, 5000)}
COUNT = 9
SETTLE_S = 60
LARGEST = "5000x5000"  # the largest PNG accepted
CONCURRENT = 3  # reports at once in the last case: large images are decoded one at a time


def png(path: Path, width: int, height: int, colour: tuple[int, int, int]) -> Path:
    """A one-colour RGB PNG written row by row (never the whole image in memory)."""
    if path.exists():
        return path
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes(colour) * width
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


def images(ctx: Context, name: str) -> list[Path]:
    width, height = SIZES[name]
    return [png(ctx.path("photos", f"{name}-{i}.png"), width, height, (40 + 20 * i, 90, 160))
            for i in range(COUNT)]


def _small_jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


class _Sampler(threading.Thread):
    """The highest VmRSS of a process while running."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss_mb(self.pid) or 0.0)


def _point(seed: int) -> tuple[float, float]:
    """A point of the demo city (as the intake benchmark's reports)."""
    body = json.loads(dataset.intake_bodies(seed, count=1)[0])
    return float(body["lon"]), float(body["lat"])


def report(base: str, point: tuple[float, float], files: list[tuple[str, bytes]]) -> httpx.Response:
    data = {"category_code": "06010", "lon": str(point[0]), "lat": str(point[1]),
            "description": "内存测试"}
    return httpx.post(f"{base}/api/v1/public/reports", data=data, timeout=600,
                      files=[("photos", (name, blob, "image/png")) for name, blob in files])


def one_case(ctx: Context, name: str, reports: int = 1) -> dict[str, Any]:
    """``reports`` reports sent at once, each with the nine PNGs of ``name`` (distinct
    images per report)."""
    paths = images(ctx, name)
    url = sqlite_url(dataset.fresh_sqlite(ctx, f"photos-{name}.sqlite"))
    point = _point(ctx.seed)
    data_dir = ctx.work / "photos" / f"data-{name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = Server(f"xiuhua serve ({name})", [XIUHUA, "serve", "--host", "127.0.0.1", "--port", str(port)],
                    xiuhua_env(url, data_dir), port, ctx.path("logs", f"serve-photos-{name}.log"))
    log(f"photos: one public report with {COUNT} PNGs of {name} pixels")
    with serving(server, "/healthz"):
        assert server.proc is not None
        pid = server.proc.pid
        warm = report(server.url, point, [("warm.jpg", _small_jpeg())])
        started = rss_mb(pid)
        sampler = _Sampler(pid)
        sampler.start()
        begin = time.perf_counter()
        answers = _at_once(server.url, point, paths, reports)
        seconds = time.perf_counter() - begin
        answer = answers[0]
        sampler.done.set()
        sampler.join()
        after = rss_mb(pid)
        time.sleep(SETTLE_S)
        later = rss_mb(pid)
        peak = peak_rss_mb(pid)
    return {"pixels": SIZES[name], "png_kb": round(sum(p.stat().st_size for p in paths) / COUNT / 1024),
            "warm_status": warm.status_code, "status": answer.status_code,
            "answer": answer.json().get("code") or answer.json().get("status"), "seconds": seconds,
            "reports": reports, "statuses": [a.status_code for a in answers],
            "rss_started_mb": started, "rss_sampled_peak_mb": sampler.peak, "peak_rss_mb": peak,
            "rss_after_mb": after, "rss_after_minute_mb": later}


def _variant(data: bytes, n: int) -> bytes:
    """Other bytes, the same image: a PNG text chunk before IEND makes a distinct photo."""
    if n == 0:
        return data
    text = b"Comment\x00" + str(n).encode()
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    return data[:-12] + chunk + data[-12:]


def _at_once(base: str, point: tuple[float, float], paths: list[Path], reports: int) -> list[httpx.Response]:
    """Send ``reports`` reports at the same time (threads); their answers in order."""
    answers: list[httpx.Response | None] = [None] * reports

    def send(n: int) -> None:
        answers[n] = report(base, point, [(p.name, _variant(p.read_bytes(), n)) for p in paths])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(reports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [a for a in answers if a is not None]


def baseline(ctx: Context, name: str) -> dict[str, Any]:
    """The nine PNGs decoded the way the server did before (own process, bench.jobs)."""
    return job("photo_decode_before", *map(str, images(ctx, name)),
               log_path=ctx.path("logs", f"photo-decode-before-{name}.log"))


def run(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {"targets": TARGETS, "count": COUNT, "settle_s": SETTLE_S}
    for name in SIZES:
        out[name] = one_case(ctx, name)
        out[f"before-{name}"] = baseline(ctx, name)
    out["concurrent"] = one_case(ctx, LARGEST, reports=CONCURRENT)
    _print(out)
    return out


def _within(r: dict[str, Any]) -> bool:
    return bool((r["peak_rss_mb"] or 0) < TARGETS["peak_mb"]
                and (r["rss_after_minute_mb"] or 0) < TARGETS["after_minute_mb"])


def _print(out: dict[str, Any]) -> None:
    rows = []
    for name in SIZES:
        r = out[name]
        rows.append([f"xiuhua serve, 9 PNGs {name} ({r['png_kb']} KB each)", f"{r['status']} {r['answer']}",
                     fmt(r["seconds"], 1), fmt(r["rss_started_mb"], 0), fmt(r["peak_rss_mb"], 0),
                     fmt(r["rss_after_mb"], 0), fmt(r["rss_after_minute_mb"], 0), "yes" if _within(r) else "no"])
        b = out[f"before-{name}"]
        rows.append([f"baseline: decoded as before the fix, {name}", b.get("outcome", ""), fmt(b["seconds"], 1),
                     fmt(b.get("rss_started_mb"), 0), fmt(b["peak_rss_mb"], 0), fmt(b.get("rss_after_mb"), 0),
                     "–", "–"])
    c = out["concurrent"]
    rows.append([f"xiuhua serve, {c['reports']} such reports at once, {LARGEST}",
                 " ".join(str(s) for s in c["statuses"]), fmt(c["seconds"], 1), fmt(c["rss_started_mb"], 0),
                 fmt(c["peak_rss_mb"], 0), fmt(c["rss_after_mb"], 0), fmt(c["rss_after_minute_mb"], 0),
                 "yes" if _within(c) else "no"])
    show(table(f"Photos: one public report with {out['count']} PNGs (targets: peak RSS < {TARGETS['peak_mb']} MB, "
               f"< {TARGETS['after_minute_mb']} MB {out['settle_s']} s later; SQLite)",
               ["what", "answer", "seconds", "RSS MB before", "peak RSS MB", "RSS MB just after",
                f"RSS MB {out['settle_s']} s after", "within"], rows))
