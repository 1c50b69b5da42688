"""Signing in tells nothing of which accounts exist, and repeated failures lock out the
address that made them, not the account's owner (issue 11, finding 4). The thresholds are
unit-tested in tests/unit/test_accounts.py; here the rules act through the HTTP stack, on both
the API's token endpoint and the /login page."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import PASSWORD, Api
from xiuhua.domain.accounts import LOGIN_REFUSED, POLICY
from xiuhua.services import accounts
from xiuhua.store import accounts as account_store
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log

TOKEN = "/api/v1/auth/token"


def from_address(api: Api, address: str) -> TestClient:
    """A client of the same application whose requests come from ``address``."""
    return TestClient(api.client.app, client=(address, 50000))


def try_login(client: TestClient, login: str, password: str = "wrong-password") -> int:
    return client.post(TOKEN, data={"username": login, "password": password}).status_code


def seed_failures(api: Api, login: str, addresses: list[str], minutes_ago: float = 5) -> None:
    """Failures recorded as earlier attempts would have left them (each costs a slow hash
    through HTTP; the thresholds themselves are unit-tested)."""
    at = api.clock() - timedelta(minutes=minutes_ago)
    with transaction(api.engine) as session:
        for address in addresses:
            account_store.record_failure(session, login, address, at, POLICY)


def test_every_refusal_gets_the_same_answer(api: Api) -> None:
    with transaction(api.engine) as session:
        accounts.disable_user(session, "leader_hw", api.clock())
    answers = []
    for login, password in (("nobody", PASSWORD), ("shift01", "wrong-password"),
                            ("leader_hw", PASSWORD)):
        r = api.client.post(TOKEN, data={"username": login, "password": password})
        answers.append((r.status_code, r.json()["code"], r.json()["detail"]))
    for _ in range(5):
        try_login(api.client, "acceptor01")
    r = api.client.post(TOKEN, data={"username": "acceptor01", "password": PASSWORD})
    answers.append((r.status_code, r.json()["code"], r.json()["detail"]))  # locked now
    assert answers == [(401, "login_failed", LOGIN_REFUSED)] * 4


def test_an_unknown_login_takes_as_long_as_a_wrong_password(api: Api) -> None:
    def timed(login: str) -> float:
        started = time.perf_counter()
        assert try_login(api.client, login) == 401
        return time.perf_counter() - started

    known = statistics.median(timed("shift01") for _ in range(3))
    unknown = statistics.median(timed(f"ghost{i}") for i in range(3))
    assert unknown > known * 0.3, (unknown, known)  # was ~4 ms against ~220 ms


def test_a_locked_pair_leaves_the_owner_elsewhere_signing_in(api: Api) -> None:
    attacker, owner = from_address(api, "203.0.113.7"), from_address(api, "198.51.100.20")
    for _ in range(5):
        assert try_login(attacker, "shift01") == 401
    assert try_login(attacker, "shift01", PASSWORD) == 401  # locked for this address
    assert try_login(owner, "shift01", PASSWORD) == 200
    api.clock.now += timedelta(minutes=15)
    assert try_login(attacker, "shift01", PASSWORD) == 200
    with transaction(api.engine) as session:
        reasons = [r.detail.get("reason") for r in session.execute(
            select(audit_log.c.detail).where(audit_log.c.kind == "login_failed"))]
    assert reasons == ["wrong_password"] * 5 + ["pair_locked"]


def test_an_unknown_login_is_locked_like_a_known_one(api: Api) -> None:
    for _ in range(5):
        try_login(api.client, "nobody")
    r = api.client.post(TOKEN, data={"username": "nobody", "password": "x"})
    assert r.json()["detail"] == LOGIN_REFUSED
    with transaction(api.engine) as session:
        last = session.execute(select(audit_log.c.detail).where(
            audit_log.c.kind == "login_failed").order_by(audit_log.c.id.desc())).scalar()
    assert last == {"reason": "pair_locked"}


def test_twenty_failures_from_one_address_block_it_for_every_account(api: Api) -> None:
    scanner = from_address(api, "203.0.113.50")
    seed_failures(api, "admin01", ["203.0.113.50"] * 4)
    for login in ("nobody1", "nobody2", "nobody3", "acceptor01"):
        seed_failures(api, login, ["203.0.113.50"] * 4)
    assert try_login(scanner, "leader01", PASSWORD) == 401  # never failed there itself
    assert try_login(from_address(api, "203.0.113.51"), "leader01", PASSWORD) == 200
    api.clock.now += timedelta(minutes=11)  # the seeded failures were 5 minutes old
    assert try_login(scanner, "leader01", PASSWORD) == 200


def test_an_account_under_attack_is_slowed_down_and_admins_alerted_but_not_its_owner(
        api: Api) -> None:
    office = from_address(api, "10.20.0.8")
    assert try_login(office, "dispatcher01", PASSWORD) == 200  # the owner's usual address
    seed_failures(api, "dispatcher01", [f"198.18.{i // 4}.{i % 4}" for i in range(49)])
    assert try_login(from_address(api, "198.18.99.1"), "dispatcher01") == 401  # the 50th
    started = time.perf_counter()
    assert try_login(from_address(api, "198.18.99.2"), "dispatcher01") == 401
    slowed = time.perf_counter() - started
    assert slowed >= POLICY.account_delay_s
    assert accounts.login_check(api.engine, "dispatcher01", api.clock(), "10.20.0.8").delay_s == 0
    started = time.perf_counter()
    assert try_login(office, "dispatcher01", PASSWORD) == 200
    assert time.perf_counter() - started < slowed
    with transaction(api.engine) as session:
        alerts = session.execute(select(audit_log.c.subject, audit_log.c.detail).where(
            audit_log.c.kind == "login_alert")).all()
    assert len(alerts) == 1  # one alert an hour, not one per failure
    assert alerts[0].subject == "dispatcher01" and alerts[0].detail["failures"] == 50


def test_the_login_page_follows_the_same_rules(api: Api) -> None:
    client = from_address(api, "203.0.113.80")

    def post(password: str) -> str:
        page = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        return client.post("/login", data={"username": "leader01", "password": password,
                                           "csrf_token": token.group(1)}).text

    for _ in range(5):
        assert LOGIN_REFUSED in post("wrong-password")
    assert LOGIN_REFUSED in post(PASSWORD)  # locked pair: the same message
    assert "<h1>一张图</h1>" not in client.get("/map").text
    assert try_login(from_address(api, "203.0.113.81"), "leader01", PASSWORD) == 200
