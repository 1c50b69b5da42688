"""Retrying a report with the same Idempotency-Key creates one case and answers as the first
time; the key belongs to its user and to one request."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.conftest import Api
from tests.api.test_cases_api import CASES, jpeg, listed, report_body
from xiuhua.services import accounts
from xiuhua.store.db import transaction
from xiuhua.store.tables import cases, idempotency_keys


def post(api: Api, body: dict[str, Any], key: str | None, login: str = "inspector01") -> Any:
    headers = {**api.auth(login), **({"Idempotency-Key": key} if key else {})}
    return api.client.post(CASES, json=body, headers=headers)


def count_cases(api: Api) -> int:
    with transaction(api.engine) as session:
        return int(session.execute(select(func.count()).select_from(cases)).scalar_one())


def test_a_retried_report_creates_one_case_and_returns_the_first_answer(api: Api) -> None:
    first = post(api, report_body(), "phone-7f3a-0001")
    again = post(api, report_body(), "phone-7f3a-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_cases(api) == 1


def test_the_replay_is_the_first_answer_even_after_the_case_moved_on(api: Api) -> None:
    first = post(api, report_body(), "k-1").json()
    api.client.post(f"{CASES}/{first['case_no']}/actions/file", json={"version": 1},
                    headers=api.auth("shift01"))
    assert post(api, report_body(), "k-1").json() == first == {**first, "version": 1}


def test_a_retried_multipart_report_with_a_photo_creates_one_case(api: Api) -> None:
    form = {"category_code": "06010", "lon": str(report_body()["lon"]),
            "lat": str(report_body()["lat"])}
    headers = {**api.auth("inspector01"), "Idempotency-Key": "upload-1"}
    answers = [api.client.post(CASES, data=form, headers=headers,
                               files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json() and count_cases(api) == 1
    r = api.client.post(CASES, data=form, headers=headers,
                        files=[("photos", ("a.jpg", jpeg((0, 0, 255)), "image/jpeg"))])
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"


def test_the_same_key_for_a_different_report_is_refused(api: Api) -> None:
    post(api, report_body(), "k-2")
    r = post(api, report_body(description="另一处垃圾"), "k-2")
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    assert count_cases(api) == 1


def test_keys_belong_to_their_user(api: Api) -> None:
    mine = post(api, report_body(), "shared-key", "inspector01").json()
    theirs = post(api, report_body(), "shared-key", "acceptor01").json()
    assert mine["case_no"] != theirs["case_no"] and count_cases(api) == 2


def test_without_a_key_every_post_is_a_new_case(api: Api) -> None:
    post(api, report_body(), None)
    post(api, report_body(), None)
    assert count_cases(api) == 2


def test_a_refused_report_does_not_use_up_its_key(api: Api) -> None:
    r = post(api, report_body(lon=116.0, lat=36.0), "k-3")
    assert r.status_code == 422 and r.json()["code"] == "outside_city"
    assert post(api, report_body(), "k-3").status_code == 201
    with transaction(api.engine) as session:
        row = session.execute(select(idempotency_keys)).one()
    assert (row.scope, row.key, row.status_code) == ("inspector01", "k-3", 201)


def test_bad_keys_are_refused(api: Api) -> None:
    for key in ("x" * 201, "with space", "中文"):
        headers = {**api.auth("inspector01"), "Idempotency-Key": key.encode()}
        r = api.client.post(CASES, json=report_body(), headers=headers)
        assert r.status_code == 422, key
    assert listed(api) == []


def test_concurrent_retries_with_one_key_create_one_case(api: Api) -> None:
    """Four copies of one report at once, from four sessions of the same user (separate
    tokens, so nothing but the key serialises them)."""
    with transaction(api.engine) as session:
        tokens = [accounts.issue_token(session, "inspector01", api.clock(), name=f"app{i}")
                  for i in range(4)]
    barrier = threading.Barrier(len(tokens))
    answers: list[Any] = []

    def send(token: str) -> None:
        with TestClient(api.client.app) as client:
            barrier.wait()
            answers.append(client.post(CASES, json=report_body(), headers={
                "Authorization": f"Bearer {token}", "Idempotency-Key": "burst-retry"}))

    threads = [threading.Thread(target=send, args=(token,)) for token in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["case_no"] for a in answers}) == 1
    assert count_cases(api) == 1
