"""Two people acting on the same case at once: exactly one wins, the other is told to refresh;
many reporting at once: every report is stored, numbered in sequence."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import Api
from tests.api.test_cases_api import CASES, get, report, report_body
from xiuhua.services import accounts
from xiuhua.store.db import transaction
from xiuhua.store.tables import api_tokens, audit_log


def test_two_concurrent_dispatches_of_one_case_one_wins_one_gets_409(api: Api) -> None:
    case_no = report(api)
    api.client.post(f"{CASES}/{case_no}/actions/file", json={"version": 1},
                    headers=api.auth("shift01"))
    with transaction(api.engine) as session:  # a second device of the same dispatcher
        second = accounts.issue_token(session, "dispatcher01", api.clock(), name="tablet")
    tokens = [api.tokens["dispatcher01"], second]
    barrier = threading.Barrier(2)
    answers: dict[str, Any] = {}

    def dispatch(token: str, unit: str) -> None:
        with TestClient(api.client.app) as client:
            barrier.wait()
            answers[unit] = client.post(f"{CASES}/{case_no}/actions/dispatch",
                                        json={"version": 2, "unit": unit},
                                        headers={"Authorization": f"Bearer {token}"})

    threads = [threading.Thread(target=dispatch, args=(token, unit))
               for token, unit in zip(tokens, ("U-HW", "U-ZF"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers.values())
    assert codes == [200, 409], {u: a.text for u, a in answers.items()}
    (winner,) = [u for u, a in answers.items() if a.status_code == 200]
    loser = next(a for a in answers.values() if a.status_code == 409)
    assert loser.json()["code"] == "stale_version"
    case = get(api, case_no)
    assert case["version"] == 3 and [a["unit"] for a in case["assignments"]] == [winner]
    assert [e["action"] for e in case["events"]] == ["report", "file", "dispatch"]


def test_many_concurrent_reports_are_all_stored_with_distinct_numbers(api: Api) -> None:
    """Reporters at once (one write lock on SQLite, one counter row on PostgreSQL): every
    report is stored, numbered in sequence, with its event and audit row."""
    barrier = threading.Barrier(8)
    answers: list[Any] = []

    def send(cell: tuple[int, int]) -> None:
        with TestClient(api.client.app) as client:
            barrier.wait()
            for _ in range(3):
                answers.append(client.post(CASES, json=report_body(cell),
                                           headers=api.auth("acceptor01")))

    threads = [threading.Thread(target=send, args=((i % 3, i // 3 % 3),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [201] * 24, [a.text for a in answers]
    numbers = sorted(a.json()["case_no"] for a in answers)
    assert numbers == [f"20261016{n:06d}" for n in range(1, 25)]
    with transaction(api.engine) as session:
        audited = session.execute(select(audit_log.c.subject).where(
            audit_log.c.kind == "case_action")).scalars().all()
    assert sorted(audited) == numbers
    assert [e["action"] for e in get(api, numbers[-1])["events"]] == ["report"]


def test_a_token_s_use_is_noted_at_most_once_a_minute(api: Api) -> None:
    def last_used() -> Any:
        with transaction(api.engine) as session:
            return session.execute(select(api_tokens.c.last_used_at).where(
                api_tokens.c.login == "acceptor01")).scalar_one()

    first = api.clock()
    api.client.get(CASES, headers=api.auth("acceptor01"))
    assert last_used() == first
    api.clock.now = first + timedelta(seconds=59)
    api.client.post(CASES, json=report_body(), headers=api.auth("acceptor01"))
    assert last_used() == first
    api.clock.now = first + timedelta(minutes=1)
    api.client.get(CASES, headers=api.auth("acceptor01"))
    assert last_used() == api.clock.now
