"""Signing in: tokens, browser sessions with CSRF, lockout, and the audit of it all."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.api.conftest import PASSWORD, Api
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log


def test_a_password_gets_a_bearer_token_that_works(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = api.client.get("/api/v1/auth/me",
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["role"] == "shift_leader" and me.json()["role_label"] == "值班长"


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(api: Api) -> None:
    for _ in range(5):
        r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": "nope"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
    r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "account_locked"
    api.clock.now += timedelta(minutes=16)
    r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": PASSWORD})
    assert r.status_code == 200
    with transaction(api.engine) as session:
        kinds = list(session.execute(select(audit_log.c.kind).where(
            audit_log.c.subject == "shift01").order_by(audit_log.c.id)).scalars())
    assert kinds.count("login_failed") == 6
    assert kinds[-2:] == ["login", "token_issued"]


def test_a_browser_session_needs_its_csrf_token_to_change_anything(api: Api) -> None:
    r = api.client.post("/api/v1/auth/login", data={"username": "acceptor01", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    csrf = r.json()["csrf_token"]
    me = api.client.get("/api/v1/auth/me").json()
    assert me["login"] == "acceptor01" and me["csrf_token"] == csrf
    assert api.client.post("/api/v1/auth/logout").status_code == 204
    assert api.client.get("/api/v1/auth/me").status_code == 401


def test_requests_without_credentials_are_401_problems(api: Api) -> None:
    r = api.client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    r = api.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer xh_forged"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
