"""Whose address a failed login counts against, under uvicorn as ``xiuhua serve`` runs it: the
``X-Forwarded-For`` address only when ``FORWARDED_ALLOW_IPS`` trusts the peer that sent it (the
proxy), else the peer itself — so a client talking to the server directly cannot escape a lock
by making up a header (issue 11, finding 4)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.api.conftest import PASSWORD, build_city_with_users
from tests.e2e.conftest import _start
from tests.factories import local
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log

NOW = local("2026-10-16 09:00")


@contextmanager
def serving(engine: Engine, data_dir: Path) -> Iterator[str]:
    """The application under uvicorn (proxy headers as ``xiuhua serve`` configures them: from
    the peers ``FORWARDED_ALLOW_IPS`` lists); yields its base URL."""
    app = create_app(Settings(data_dir=data_dir, secret_key="e2e-secret"), clock=lambda: NOW,
                     engine=engine, migrate=False)
    server, thread, url = _start(app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def attempt(url: str, password: str, forwarded_for: str) -> int:
    return httpx.post(f"{url}/api/v1/auth/token", timeout=30,
                      data={"username": "shift01", "password": password},
                      headers={"X-Forwarded-For": forwarded_for}).status_code


def failed_from(engine: Engine) -> set[str | None]:
    with transaction(engine) as session:
        return set(session.execute(select(audit_log.c.client).where(
            audit_log.c.kind == "login_failed")).scalars())


@pytest.fixture
def city(sqlite_engine: Engine) -> Engine:
    build_city_with_users(sqlite_engine, NOW)
    return sqlite_engine


def test_behind_a_trusted_proxy_the_forwarded_address_is_locked_not_the_proxy(
        city: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")  # nginx on this host
    with serving(city, tmp_path / "data") as url:
        for _ in range(5):
            assert attempt(url, "wrong-password", "203.0.113.7") == 401
        assert attempt(url, PASSWORD, "203.0.113.7") == 401  # that address is locked
        assert attempt(url, PASSWORD, "198.51.100.20") == 200  # everyone else behind nginx
    assert failed_from(city) == {"203.0.113.7"}


def test_an_untrusted_peer_cannot_escape_a_lock_by_forging_the_header(
        city: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.10")  # the proxy is elsewhere
    with serving(city, tmp_path / "data") as url:
        for number in range(5):
            assert attempt(url, "wrong-password", f"203.0.113.{number}") == 401
        assert attempt(url, PASSWORD, "198.51.100.20") == 401  # still the same peer
    assert failed_from(city) == {"127.0.0.1"}
