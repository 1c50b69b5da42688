"""Memory: peak resident memory (VmHWM / wait4 rusage) of the server under the intake load and
while serving pages, of the importer and of the assessment, gathered from the benchmarks run
before it. Targets: server < 300 MB, batch jobs < 2 GB (at 10 M cases); the server with nine
large photos in one report (``photos``) < 500 MB."""

from __future__ import annotations

from typing import Any

from bench.common import Context, fmt, show, table

TARGETS = {"server_mb": 300, "batch_mb": 2048}


def _rows(results: dict[str, Any]) -> list[tuple[str, float | None, int, str]]:
    """(what, peak MB, target MB, size) from the results of the other benchmarks."""
    found: list[tuple[str, float | None, int, str]] = []
    intake = results.get("intake", {})
    for key, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
        if key in intake:
            if intake[key].get("started_rss_mb") is not None:
                found.append((f"xiuhua serve started, before any request ({label})",
                              intake[key]["started_rss_mb"], TARGETS["server_mb"], "application built"))
            found.append((f"xiuhua serve under intake load ({label})", intake[key]["peak_rss_mb"],
                          TARGETS["server_mb"], "city, growing by the reports"))
    for pages in (results[k] for k in sorted(results) if k.startswith("pages")):
        for key, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
            if key in pages:
                found.append((f"xiuhua serve serving pages ({label})", pages[key]["peak_rss_mb"],
                              TARGETS["server_mb"], f"{pages.get(key, {}).get('cases', pages.get('cases')):,} cases"))
    photos = results.get("photos", {})
    for key in ("7500x7490", "5000x5000", "concurrent"):
        if key in photos:
            what = "three reports of nine PNGs at once" if key == "concurrent" else "nine PNGs in one report"
            found.append((f"xiuhua serve, {what} (SQLite)", photos[key]["peak_rss_mb"],
                          photos["targets"]["peak_mb"], "5000x5000" if key == "concurrent" else key))
    imp = results.get("import", {})
    for key, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
        if key in imp:
            size = imp[key].get("cases", imp.get("cases"))
            found.append((f"xiuhua import cases ({label})", imp[key]["peak_rss_mb"], TARGETS["batch_mb"],
                          f"{size:,} cases"))
    for assess in (results[k] for k in sorted(results) if k.startswith("assessment")):
        for key, label in (("sqlite", "SQLite"), ("pg", "PostgreSQL")):
            if key in assess:
                size = assess[key].get("cases", assess.get("cases"))
                found.append((f"assess_period ({label})", assess[key]["peak_rss_mb"], TARGETS["batch_mb"],
                              f"{size:,} cases"))
    return found


def run(ctx: Context) -> dict[str, Any]:
    found = _rows(ctx.results)
    if not found:
        show("Memory: run it with intake, import, assessment or pages (it reports their peaks).")
        return {}
    rows = [[what, fmt(mb, 0), f"< {target:,}", "yes" if mb is not None and mb < target else "no", size]
            for what, mb, target, size in found]
    show(table("Memory: peak resident set (targets: server < 300 MB, batch jobs < 2 GB)",
               ["process", "peak RSS MB", "target MB", "within", "size"], rows))
    return {what: {"peak_rss_mb": mb, "target_mb": target, "size": size} for what, mb, target, size in found}
