"""Signing in: tokens, browser sessions with CSRF, lockout, and the audit of it all."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.api.conftest import PASSWORD, Api
from xiuhua.app import SESSION_COOKIE
from xiuhua.http.deps import CSRF_HEADER
from xiuhua.services import accounts
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log


def test_a_password_gets_a_bearer_token_that_works(api: Api) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    me = api.client.get("/api/v1/auth/me",
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["role"] == "shift_leader" and me.json()["role_label"] == "值班长"


def test_five_wrong_passwords_lock_the_account_from_that_address_for_fifteen_minutes(
        api: Api) -> None:
    for _ in range(5):
        r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": "nope"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
    r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "login_failed"
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
    assert api.client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert api.client.get("/api/v1/auth/me").status_code == 401


def test_requests_without_credentials_are_401_problems(api: Api) -> None:
    r = api.client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    r = api.client.get("/api/v1/auth/me", headers={"Authorization": "Bearer xh_forged"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"


# --- sessions and tokens end (issue 11, finding 3) --------------------------------------------


def browser_login(api: Api, login: str = "acceptor01") -> tuple[str, str]:
    """Sign in through the API's browser login; returns the session cookie and CSRF token."""
    r = api.client.post("/api/v1/auth/login", data={"username": login, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return api.client.cookies[SESSION_COOKIE], r.json()["csrf_token"]


def me_with(api: Api, cookie: str) -> int:
    """The status of /auth/me sent with a saved session cookie (as a copied cookie would be)."""
    api.client.cookies.clear()
    api.client.cookies.set(SESSION_COOKIE, cookie)
    status = api.client.get("/api/v1/auth/me").status_code
    api.client.cookies.clear()
    return status


def test_a_saved_session_cookie_is_worthless_after_logout(api: Api) -> None:
    saved, csrf = browser_login(api)
    other, _ = browser_login(api)  # the same user on another device
    api.client.cookies.set(SESSION_COOKIE, saved)
    assert api.client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert me_with(api, saved) == 401
    assert me_with(api, other) == 200  # signing out ends this session only
    with transaction(api.engine) as session:
        kinds = session.execute(select(audit_log.c.kind).where(
            audit_log.c.subject == "acceptor01")).scalars().all()
    assert "logout" in kinds


def test_a_password_change_ends_every_session_and_token_of_the_user(api: Api) -> None:
    cookie, _ = browser_login(api, "dispatcher01")
    assert me_with(api, cookie) == 200
    assert api.client.get("/api/v1/auth/me", headers=api.auth("dispatcher01")).status_code == 200
    with transaction(api.engine) as session:
        accounts.set_password(session, "dispatcher01", "brand-new-pass-1", api.clock())
    assert me_with(api, cookie) == 401
    refused = api.client.get("/api/v1/auth/me", headers=api.auth("dispatcher01"))
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
    assert me_with(api, browser_login(api, "acceptor01")[0]) == 200  # others stay signed in
    r = api.client.post("/api/v1/auth/token",
                        data={"username": "dispatcher01", "password": "brand-new-pass-1"})
    assert r.status_code == 200


def test_disabling_a_user_still_ends_sessions_and_tokens(api: Api) -> None:
    cookie, _ = browser_login(api, "shift01")
    with transaction(api.engine) as session:
        accounts.disable_user(session, "shift01", api.clock())
    assert me_with(api, cookie) == 401
    assert api.client.get("/api/v1/auth/me", headers=api.auth("shift01")).status_code == 401


def test_a_token_with_an_expiry_stops_working_then(api: Api) -> None:
    with transaction(api.engine) as session:
        token = accounts.issue_token(session, "leader01", api.clock(), name="report-robot",
                                     lifetime=timedelta(days=90))
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    api.clock.now += timedelta(days=89, hours=23)
    assert api.client.get("/api/v1/auth/me", headers=headers).status_code == 200
    api.clock.now += timedelta(hours=1)
    refused = api.client.get("/api/v1/auth/me", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
    assert api.client.get("/api/v1/auth/me", headers=api.auth("leader01")).status_code == 200


def test_users_list_and_revoke_their_own_tokens_without_seeing_secrets(api: Api) -> None:
    with transaction(api.engine) as session:
        spare = accounts.issue_token(session, "leader01", api.clock(), name="spare",
                                     lifetime=timedelta(days=30))
    listed = api.client.get("/api/v1/auth/tokens", headers=api.auth("leader01"))
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["name"] for r in rows] == ["api", "spare"]
    assert set(rows[1]) == {"id", "name", "created_at", "last_used_at", "expires_at"}
    assert rows[0]["expires_at"] is None and rows[1]["expires_at"].startswith("2026-11-15")
    assert rows[0]["last_used_at"] is not None  # this very request used it
    assert spare not in listed.text and api.tokens["leader01"] not in listed.text
    spare_id = rows[1]["id"]
    other = api.client.delete(f"/api/v1/auth/tokens/{spare_id}", headers=api.auth("leader_hw"))
    assert other.status_code == 404 and other.json()["code"] == "token_not_found"
    done = api.client.delete(f"/api/v1/auth/tokens/{spare_id}", headers=api.auth("leader01"))
    assert done.status_code == 204
    refused = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {spare}"})
    assert refused.status_code == 401
    again = api.client.get("/api/v1/auth/tokens", headers=api.auth("leader01")).json()
    assert [r["name"] for r in again] == ["api"]


def test_a_browser_session_revokes_a_token_only_with_its_csrf_header(api: Api) -> None:
    _, csrf = browser_login(api, "leader01")
    token_id = api.client.get("/api/v1/auth/tokens").json()[0]["id"]
    refused = api.client.delete(f"/api/v1/auth/tokens/{token_id}")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    done = api.client.delete(f"/api/v1/auth/tokens/{token_id}", headers={CSRF_HEADER: csrf})
    assert done.status_code == 204


# --- login and logout CSRF (issue 11, finding 8) -----------------------------------------------


def test_a_browser_login_from_another_site_is_refused(api: Api) -> None:
    form = {"username": "acceptor01", "password": PASSWORD}
    for source in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                   {"Referer": "https://evil.example/form.html"}):
        r = api.client.post("/api/v1/auth/login", data=form, headers=source)
        assert r.status_code == 403 and r.json()["code"] == "csrf_failed", source
        assert "set-cookie" not in r.headers
    assert api.client.get("/api/v1/auth/me").status_code == 401
    own = api.client.post("/api/v1/auth/login", data=form,
                          headers={"Origin": "http://testserver"})
    assert own.status_code == 200


def test_with_a_public_base_url_a_forged_host_does_not_pass_the_origin_check(api: Api) -> None:
    api.client.app.state.settings.public_base_url = "https://cg.example.gov.cn"  # type: ignore[attr-defined]
    form = {"username": "acceptor01", "password": PASSWORD}
    forged = api.client.post("/api/v1/auth/login", data=form,
                             headers={"Origin": "https://evil.example", "Host": "evil.example"})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
    own = api.client.post("/api/v1/auth/login", data=form, headers={"Origin": "https://cg.example.gov.cn"})
    assert own.status_code == 200


def test_logout_needs_the_sessions_csrf_header(api: Api) -> None:
    _, csrf = browser_login(api)
    refused = api.client.post("/api/v1/auth/logout")
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    assert api.client.get("/api/v1/auth/me").status_code == 200  # still signed in
    assert api.client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
    assert api.client.get("/api/v1/auth/me").status_code == 401


def test_the_token_endpoint_neither_reads_nor_sets_a_cookie(api: Api) -> None:
    browser_login(api)
    r = api.client.post("/api/v1/auth/token", data={"username": "shift01", "password": PASSWORD},
                        headers={"Origin": "https://elsewhere.example"})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    me = api.client.get("/api/v1/auth/me",
                        headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["login"] == "shift01"  # the token's user, not the browser session's
