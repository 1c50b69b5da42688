"""A server process reuses a bearer token's user and the city model's version for a moment
(``xiuhua.http.deps.RECHECK_S``): a change made through the process is seen at once, one made by
another process within that time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, update

from tests.api.conftest import Api
from tests.api.test_cases_api import report_body
from xiuhua.domain.choices import Action, Role
from xiuhua.http import deps
from xiuhua.services import accounts
from xiuhua.store.db import cached_tables_changes, transaction
from xiuhua.store.tables import api_tokens, audit_log

CASES = "/api/v1/cases"


def test_a_token_revoked_or_a_user_disabled_in_this_process_is_refused_at_once(api: Api) -> None:
    assert api.client.get(CASES, headers=api.auth("acceptor01")).status_code == 200
    assert api.client.get(CASES, headers=api.auth("dispatcher01")).status_code == 200
    with transaction(api.engine) as session:
        accounts.revoke_token(session, api.tokens["acceptor01"], api.clock())
        accounts.disable_user(session, "dispatcher01", api.clock())
    for login in ("acceptor01", "dispatcher01"):
        refused = api.client.post(CASES, json=report_body(), headers=api.auth(login))
        assert refused.status_code == 401, refused.text


def test_a_permission_changed_in_this_process_applies_at_once(api: Api) -> None:
    assert api.client.post(CASES, json=report_body(), headers=api.auth("acceptor01")).status_code == 201
    with transaction(api.engine) as session:
        accounts.set_permission(session, Action.REPORT, [Role.INSPECTOR], api.clock())
    refused = api.client.post(CASES, json=report_body(), headers=api.auth("acceptor01"))
    assert refused.status_code == 403, refused.text


def revoke_behind_its_back(engine: Engine, login: str) -> None:
    """Revoke ``login``'s tokens as another process would: not through this process's engines."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("UPDATE api_tokens SET revoked_at = CURRENT_TIMESTAMP "
                       f"WHERE login = '{login}'")
        raw.commit()
    finally:
        raw.close()


def test_a_token_revoked_by_another_process_is_refused_after_the_recheck_time(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(2):  # the first notes the token's use: a write here, read again next time
        assert api.client.get(CASES, headers=api.auth("acceptor01")).status_code == 200
    revoke_behind_its_back(api.engine, "acceptor01")
    monkeypatch.setattr(deps, "RECHECK_S", 3600.0)
    assert api.client.get(CASES, headers=api.auth("acceptor01")).status_code == 200
    monkeypatch.setattr(deps, "RECHECK_S", 0.0)
    assert api.client.get(CASES, headers=api.auth("acceptor01")).status_code == 401


def test_only_committed_writes_to_the_cached_tables_are_counted(engine: Engine) -> None:
    before = cached_tables_changes()
    with transaction(engine) as session:  # not a cached table
        session.execute(insert(audit_log).values(at=datetime.now(UTC), kind="test", detail={}))
    assert cached_tables_changes() == before
    with pytest.raises(RuntimeError), transaction(engine) as session:  # rolled back
        session.execute(update(api_tokens).values(name="x"))
        raise RuntimeError
    assert cached_tables_changes() == before
    with transaction(engine) as session:
        session.execute(update(api_tokens).values(name="x"))
    assert cached_tables_changes() == before + 1
