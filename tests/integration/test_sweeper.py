"""The deadline sweeper: warnings in the last working hour, overdue notices, supervision
notices, each once; one sweeper for the whole deployment; and ``xiuhua serve`` running it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.factories import HANDLER, SHIFT, act, build_tiny_city, dispatched_case, local
from xiuhua.domain.choices import Action
from xiuhua.services.sweeper import acquire_lease, release_lease, run_sweeper, sweep
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import leases, notifications


def stored(engine: Engine) -> list[tuple[str, str, str | None, str]]:
    with transaction(engine) as session:
        rows = session.execute(select(notifications.c.kind, notifications.c.audience,
                                      notifications.c.unit_code, notifications.c.message)
                               .order_by(notifications.c.id)).all()
    return [tuple(r) for r in rows]


@pytest.fixture
def city(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def test_the_last_working_hour_raises_one_warning_for_the_unit_and_one_for_the_center(
        city: Engine) -> None:
    case_no = dispatched_case(city, "2026-10-16 09:00")  # 4wh: due 14:30 (lunch 12:00–13:30)
    assert sweep(city, local("2026-10-16 11:59")).total == 0
    result = sweep(city, local("2026-10-16 12:00"))  # 1 working hour left, lunch not counted
    assert result.counts == {"warning": 2}
    rows = stored(city)
    assert {(kind, audience, unit) for kind, audience, unit, _ in rows} == {
        ("warning", "unit", "U-HW"), ("warning", "center", "U-HW")}
    center_message = next(m for _, audience, _, m in rows if audience == "center")
    assert case_no in center_message and "环卫中心" in center_message
    assert "暴露垃圾" in center_message and "2026-10-16 14:30" in center_message
    assert sweep(city, local("2026-10-16 13:00")).total == 0


def test_an_overdue_assignment_is_noticed_once_after_its_deadline(city: Engine) -> None:
    dispatched_case(city, "2026-10-16 09:00")
    assert sweep(city, local("2026-10-16 14:30")).counts.get("overdue", 0) == 0
    assert sweep(city, local("2026-10-16 14:31")).counts == {"overdue": 2}
    assert sweep(city, local("2026-10-16 16:00")).total == 0
    assert sweep(city, local("2026-10-19 09:00")).total == 0
    kinds = sorted((kind, audience) for kind, audience, _, _ in stored(city))
    assert kinds == [("overdue", "center"), ("overdue", "unit")]
    assert "已超过处置时限" in stored(city)[0][3]


def test_the_last_working_hour_may_start_on_friday_for_a_monday_deadline(city: Engine) -> None:
    dispatched_case(city, "2026-10-16 14:00")  # 3.5 h on Friday + 0.5 h: due Monday 09:00
    assert sweep(city, local("2026-10-16 16:59")).total == 0
    assert sweep(city, local("2026-10-16 17:00")).counts == {"warning": 2}


def test_a_suspended_case_raises_nothing(city: Engine) -> None:
    case_no = dispatched_case(city, "2026-10-16 09:00")
    act(city, case_no, Action.SUSPEND, "2026-10-16 10:00", SHIFT, reason="需协调产权单位")
    for at in ("2026-10-16 12:30", "2026-10-16 15:00", "2026-10-20 10:00"):
        assert sweep(city, local(at)).total == 0
    assert stored(city) == []


def test_a_handled_case_raises_nothing(city: Engine) -> None:
    case_no = dispatched_case(city, "2026-10-16 09:00")
    act(city, case_no, Action.FEEDBACK, "2026-10-16 11:00", HANDLER, note="已清理")
    assert sweep(city, local("2026-10-16 15:00")).total == 0


def test_each_supervision_reaches_the_unit_once(city: Engine) -> None:
    case_no = dispatched_case(city, "2026-10-16 09:00")
    act(city, case_no, Action.SUPERVISE, "2026-10-16 10:00", SHIFT, note="群众反映强烈，请加快")
    assert sweep(city, local("2026-10-16 10:01")).counts == {"supervise": 1}
    assert sweep(city, local("2026-10-16 10:02")).total == 0
    [(kind, audience, unit, message)] = stored(city)
    assert (kind, audience, unit) == ("supervise", "unit", "U-HW")
    assert case_no in message and "群众反映强烈，请加快" in message
    with transaction(city) as session:
        session.execute(notifications.update().values(read_at=local("2026-10-16 10:05")))
    act(city, case_no, Action.SUPERVISE, "2026-10-16 11:00", SHIFT, note="再次督办")
    assert sweep(city, local("2026-10-16 11:01")).counts == {"supervise": 1}
    with transaction(city) as session:
        row = session.execute(select(notifications)).one()
    assert row.read_at is None and "再次督办" in row.message
    assert sweep(city, local("2026-10-16 11:02")).total == 0


def test_the_lease_is_held_by_one_holder_until_it_expires_or_is_released(engine: Engine) -> None:
    now = local("2026-10-16 09:00")
    ttl = timedelta(seconds=30)
    assert acquire_lease(engine, "a", now, ttl)
    assert not acquire_lease(engine, "b", now + timedelta(seconds=10), ttl)
    assert acquire_lease(engine, "a", now + timedelta(seconds=20), ttl)  # renewed to 09:00:50
    assert not acquire_lease(engine, "b", now + timedelta(seconds=45), ttl)
    assert acquire_lease(engine, "b", now + timedelta(seconds=51), ttl)  # expired: taken over
    assert not acquire_lease(engine, "a", now + timedelta(seconds=52), ttl)
    release_lease(engine, "b")
    assert acquire_lease(engine, "a", now + timedelta(seconds=53), ttl)


# --- two processes, one sweeper ---------------------------------------------------------------


@dataclass(frozen=True)
class ShiftedClock:
    """Real time moved to the test's day, so the lease expires in real time."""

    offset: timedelta

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class _Stop:
    """Stops the loop when the parent creates the stop file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def is_set(self) -> bool:
        return self.path.exists()

    def wait(self, timeout: float | None = None) -> bool:
        time.sleep(timeout or 0)
        return self.is_set()


def sweeper_process(url: str, offset: timedelta, log: Path, stop: Path) -> None:
    """One server process's sweeper loop; every attempt and sweep is logged with its time."""
    engine = make_engine(url)

    def swept(holder: str, _: object) -> None:
        with log.open("a") as f:
            f.write(f"swept {time.time()} {holder}\n")

    clock = ShiftedClock(offset)

    def logged_clock() -> datetime:
        with log.open("a") as f:
            f.write(f"attempt {time.time()}\n")
        return clock()

    run_sweeper(engine, logged_clock, 0.1, _Stop(stop), ttl=timedelta(seconds=3),
                on_sweep=swept)
    engine.dispose()


def test_two_server_processes_run_one_sweeper_and_notify_once(city: Engine, tmp_path: Path) -> None:
    dispatched_case(city, "2026-10-16 09:00")
    dispatched_case(city, "2026-10-16 09:00", cell=(0, 0))
    offset = local("2026-10-16 14:31") - datetime.now(UTC)  # both assignments just overdue
    url = city.url.render_as_string(hide_password=False)
    stop = tmp_path / "stop"
    logs = [tmp_path / f"sweeper{i}.log" for i in range(2)]
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=sweeper_process, args=(url, offset, log, stop)) for log in logs]
    for p in procs:
        p.start()
    deadline = time.time() + 60
    while not all(log.exists() for log in logs) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(2.5)  # both loops running side by side
    stopped = time.time()
    stop.touch()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    lines = [line.split() for log in logs for line in log.read_text().splitlines()]
    sweepers = {fields[2] for fields in lines if fields[0] == "swept" and float(fields[1]) < stopped}
    attempts = [sum(1 for line in log.read_text().splitlines() if line.startswith("attempt"))
                for log in logs]
    assert len(sweepers) == 1, sweepers
    assert min(attempts) >= 5, attempts
    assert sorted((kind, audience) for kind, audience, _, _ in stored(city)) == [
        ("overdue", "center"), ("overdue", "center"), ("overdue", "unit"), ("overdue", "unit")]


# --- xiuhua serve -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_health_checks_and_runs_the_sweeper(sqlite_engine: Engine,
                                                          tmp_path: Path) -> None:
    port = _free_port()
    url = sqlite_engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "XIUHUA_DATABASE_URL": url, "XIUHUA_DATA_DIR": str(tmp_path),
           "XIUHUA_SECRET_KEY": "test-secret"}
    server = subprocess.Popen([sys.executable, "-m", "xiuhua.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        status = _wait_healthy(f"http://127.0.0.1:{port}/healthz", server)
        assert status == 200
        holder = _wait_lease(sqlite_engine)
        assert f":{server.pid}:" in holder
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal
    assert "Application shutdown complete" in output
    with transaction(sqlite_engine) as session:  # a clean shutdown hands the lease back
        assert session.execute(select(leases)).first() is None


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> int:
    deadline = time.time() + 60
    while time.time() < deadline and server.poll() is None:
        try:
            return httpx.get(url, timeout=2).status_code
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer")


def _wait_lease(engine: Engine) -> str:
    deadline = time.time() + 30
    while time.time() < deadline:
        with transaction(engine) as session:
            holder = session.execute(select(leases.c.holder)).scalar()
        if holder:
            return str(holder)
        time.sleep(0.2)
    raise AssertionError("the sweeper did not take the lease")
