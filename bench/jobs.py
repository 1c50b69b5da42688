"""Work measured in a fresh process of its own, so that its peak resident memory is its own.
Each job prints one JSON line last, with ``peak_rss_mb`` (VmHWM at its end):

- ``cli ARG ...``: the ``xiuhua`` command line (e.g. ``cli import cases FILE``);
- ``assess URL PERIOD REPEAT``: ``assess_period`` timed (first and best), and each of the
  statements it sends and the counting in Python timed one by one;
- ``statements URL DATA_DIR``: the SQL statements the app runs for one report, the dispatcher
  queue, a case page and the dashboard counters (in-process, starlette's TestClient);
- ``photo_decode_before PNG ...``: the images decoded as the server did before issue 11 (the
  photos benchmark's baseline), in a worker thread like the server's.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import SECRET, peak_rss_mb
from xiuhua.domain.calendar import local_zone
from xiuhua.services.assessment import assess_period, load_config
from xiuhua.services.city import load_city
from xiuhua.store.db import make_engine, read_transaction


def cli(args: list[str]) -> dict[str, Any]:
    from xiuhua.cli import app

    start = time.perf_counter()
    app(args=args, standalone_mode=False)
    return {"cli_seconds": time.perf_counter() - start}


def assess(url: str, period: str, repeat: int) -> dict[str, Any]:
    """Load the city once, then assess the period ``repeat`` times (first and best)."""
    engine = make_engine(url)
    config = load_config(None)
    now = datetime.now(local_zone())
    with read_transaction(engine) as session:
        start = time.perf_counter()
        city = load_city(session)
        load_s = time.perf_counter() - start
    times, figures = [], {}
    for _ in range(repeat):
        with read_transaction(engine) as session:
            start = time.perf_counter()
            figures = assess_period(session, city, period, config, now)
            times.append(time.perf_counter() - start)
    with read_transaction(engine) as session:
        steps = assess_steps(session, city, period, config, now)
    engine.dispose()
    units = figures.get("units", [])
    return {"load_city_s": load_s, "first_s": times[0], "best_s": min(times), "times": times,
            "units": len(units), "dispatched": sum(int(u.get("dispatched", 0)) for u in units), "steps": steps}


def assess_steps(session: Any, city: Any, period_text: str, config: Any, now: datetime) -> dict[str, Any]:
    """The statements ``services.assessment.counted`` sends (each timed, labelled by the action
    or table it reads), the counting in Python, and for comparison the item-by-item path that
    the drill-down takes (``compute``)."""
    from sqlalchemy import event

    from xiuhua.domain.assessment import Period, count_groups, summarize
    from xiuhua.domain.choices import Action
    from xiuhua.services import assessment as service
    period = Period.parse(period_text)
    steps: dict[str, Any] = {}
    actions = {a.value for a in Action}
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        values = params.values() if isinstance(params, dict) else params
        action = next((v for v in values if isinstance(v, str) and v in actions), None)
        table = "assignments" if statement.lstrip().startswith("SELECT assignments") else "events"
        name = f"SQL {action or table}"
        seen = steps.setdefault(name, {"seconds": 0.0, "rows": 0})  # rows: statements
        seen["seconds"] += time.perf_counter() - started.pop()
        seen["rows"] += 1

    bind = session.connection()
    event.listen(bind, "before_cursor_execute", before)
    event.listen(bind, "after_cursor_execute", after)
    meta = service.period_meta(session, city, period, now)
    t = time.perf_counter()
    groups = service.period_groups(session, city, meta, config)
    total_sql = time.perf_counter() - t
    event.remove(bind, "before_cursor_execute", before)
    event.remove(bind, "after_cursor_execute", after)
    steps["grouped queries in all"] = {"seconds": total_sql, "rows": sum(v["rows"] for v in steps.values())}
    t = time.perf_counter()
    summarize(meta, config, *count_groups(groups, meta, config)).figures()
    steps["count_groups + summarize (Python)"] = {"seconds": time.perf_counter() - t,
                                                  "rows": len(groups.open_at_end)}
    t = time.perf_counter()
    service.compute(session, city, period, config, now)
    steps["item by item (the drill-down's path)"] = {"seconds": time.perf_counter() - t, "rows": 1}
    return steps


def statements(url: str, data_dir: str) -> dict[str, Any]:
    """SQL statements per request of the intake and the pages (after one warm-up request each)."""
    from sqlalchemy import event, func, select
    from starlette.testclient import TestClient

    from bench.dataset import PASSWORD, intake_bodies, token_for
    from xiuhua.app import create_app
    from xiuhua.config import Settings
    from xiuhua.store.tables import cases

    app = create_app(Settings(database_url=url, data_dir=Path(data_dir), secret_key=SECRET), migrate=False)
    seen: list[str] = []
    event.listen(app.state.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(" ".join(statement.split())[:90]))
    acceptor, dispatcher = token_for(url, "acceptor01"), token_for(url, "dispatcher01")
    body = json.loads(intake_bodies(1, count=1)[0])
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        client.post("/api/v1/auth/login", data={"username": "leader01", "password": PASSWORD})
        with read_transaction(app.state.engine) as session:
            some_case = session.execute(select(func.max(cases.c.case_no))).scalar_one()
        post, get = {"Authorization": f"Bearer {acceptor}"}, {"Authorization": f"Bearer {dispatcher}"}
        requests = {
            "report": lambda: client.post("/api/v1/cases", json=body, headers=post),
            "queue": lambda: client.get("/api/v1/cases?status=filed", headers=get),
            "case": lambda: client.get(f"/api/v1/cases/{some_case}", headers=get),
            "dashboard": lambda: client.get("/parts/counters"),
        }
        for name, send in requests.items():
            send()
            seen.clear()
            status = send().status_code
            out[name] = {"status": status, "count": len(seen), "statements": list(seen)}
    return out


def photo_decode_before(paths: list[str]) -> dict[str, Any]:
    """Verify, load whole (60 MP limit), an upright copy, then a copy per re-encoded size: the
    decoding of ``services.photos`` before issue 11 (no pixel limit per format, no lock, the
    memory kept by the allocator)."""
    import threading
    from io import BytesIO

    from PIL import Image, ImageOps

    from bench.common import rss_mb
    from xiuhua.services.photos import clean_jpeg

    Image.MAX_IMAGE_PIXELS = 60_000_000
    started = rss_mb(os.getpid())
    outcome: list[str] = []

    def work() -> None:
        for path in paths:
            data = Path(path).read_bytes()
            with Image.open(BytesIO(data)) as probe:
                probe.verify()
            with Image.open(BytesIO(data)) as image:
                image.draft("RGB", (2048, 2048))
                image.load()
                upright = ImageOps.exif_transpose(image)
                clean_jpeg(upright, 320, quality=80)
                clean_jpeg(upright, 2048, quality=85)
            outcome.append("decoded")

    start = time.perf_counter()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return {"outcome": f"{len(outcome)} decoded", "decode_seconds": time.perf_counter() - start,
            "rss_started_mb": started, "rss_after_mb": rss_mb(os.getpid())}


def main(argv: list[str]) -> None:
    name, *args = argv
    if name == "cli":
        result = cli(args)
    elif name == "assess":
        result = assess(args[0], args[1], int(args[2]))
    elif name == "statements":
        result = statements(args[0], args[1])
    elif name == "photo_decode_before":
        result = photo_decode_before(args)
    else:
        raise SystemExit(f"unknown job {name}")
    result["peak_rss_mb"] = peak_rss_mb(os.getpid())
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
