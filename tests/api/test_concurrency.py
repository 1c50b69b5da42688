"""Two people acting on the same case at once: exactly one wins, the other is told to refresh."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_cases_api import CASES, get, report
from xiuhua.services import accounts
from xiuhua.store.db import transaction


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
