"""``POST /api/v1/cases`` takes its session, city and user from one plain dependency and ends the
unit itself: errors come in the same order as before, and no connection is left behind."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.test_cases_api import report_body

CASES = "/api/v1/cases"
BAD_KEY = {"Idempotency-Key": "has spaces"}  # visible ASCII only


def test_the_sign_in_is_checked_before_the_idempotency_key(api: Api) -> None:
    refused = api.client.post(CASES, json=report_body(), headers=BAD_KEY)
    assert refused.status_code == 401, refused.text


def test_a_refused_key_or_report_leaves_no_connection_checked_out(api: Api) -> None:
    bad_key = api.client.post(CASES, json=report_body(), headers={**api.auth("acceptor01"), **BAD_KEY})
    assert bad_key.status_code == 422 and "Idempotency-Key" in bad_key.text
    refused = api.client.post(CASES, json=report_body(), headers=api.auth("handler_hw"))
    assert refused.status_code == 403, refused.text
    unlocated = api.client.post(CASES, json=report_body(lon=200.0), headers=api.auth("acceptor01"))
    assert unlocated.status_code == 422, unlocated.text
    assert api.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert api.client.post(CASES, json=report_body(), headers=api.auth("acceptor01")).status_code == 201
    assert api.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
