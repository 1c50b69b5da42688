"""Two-level command through HTTP: a district command center's staff see and act on their
district's cases only; the city center sees all and takes a district's case over by acting on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import PASSWORD_HASH, Api, Clock
from tests.prefecture import EAST, WEST, build_prefecture, center
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.domain.access import can_see
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import InvalidInput
from xiuhua.services import accounts
from xiuhua.services.sweeper import sweep
from xiuhua.store.cases import iter_cases
from xiuhua.store.db import transaction

CASES = "/api/v1/cases"


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[Api]:
    clock = Clock()
    tokens = build_prefecture(engine, clock(), PASSWORD_HASH)
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    app = create_app(settings, clock=clock, engine=engine, migrate=False)
    with TestClient(app) as client:
        yield Api(client, clock, engine, tokens)


def report(api: Api, login: str, cell: tuple[int, int], category: str = "06010") -> str:
    lon, lat = center(*cell)
    r = api.client.post(CASES, json={"category_code": category, "lon": lon, "lat": lat,
                                     "description": "路边暴露垃圾"}, headers=api.auth(login))
    assert r.status_code == 201, r.text
    return str(r.json()["case_no"])


def get(api: Api, login: str, case_no: str) -> Any:
    return api.client.get(f"{CASES}/{case_no}", headers=api.auth(login))


def act(api: Api, login: str, case_no: str, action: str, **fields: Any) -> Any:
    version = get(api, "admin01", case_no).json()["version"]
    return api.client.post(f"{CASES}/{case_no}/actions/{action}", json={"version": version, **fields},
                           headers=api.auth(login))


def listed(api: Api, login: str) -> list[str]:
    r = api.client.get(CASES, params={"limit": 100}, headers=api.auth(login))
    assert r.status_code == 200, r.text
    return sorted(item["case_no"] for item in r.json()["items"])


def test_a_district_center_sees_and_acts_on_its_own_district_only(api: Api) -> None:
    west = report(api, "acceptor_102", (0, 0))
    east = report(api, "acceptor01", (1, 3))
    assert get(api, "acceptor_102", west).status_code == 200
    assert get(api, "acceptor_102", east).status_code == 404  # as if it did not exist
    assert listed(api, "acceptor_102") == [west]
    assert listed(api, "dispatcher_103") == [east]
    assert listed(api, "acceptor01") == sorted([west, east])  # the city center sees all
    assert act(api, "shift_102", west, "file").status_code == 200
    assert act(api, "shift_102", east, "file").status_code == 404
    r = act(api, "dispatcher_102", west, "dispatch", unit="U-HW")
    assert r.status_code == 200 and r.json()["holder_unit"] == "U-HW"


def test_the_city_center_takes_a_district_case_over_by_acting_on_it(api: Api) -> None:
    east = report(api, "acceptor_103", (0, 2))
    assert act(api, "shift01", east, "file").status_code == 200  # the city files it …
    r = act(api, "dispatcher01", east, "dispatch", unit="U-HW103")  # … and dispatches it
    assert r.status_code == 200
    assert act(api, "shift01", east, "supervise", note="市级督办").status_code == 200
    assert get(api, "dispatcher_103", east).json()["holder_unit"] == "U-HW103"


def test_the_dispatch_suggestion_follows_the_district_rule(api: Api) -> None:
    east, west = report(api, "acceptor01", (0, 2)), report(api, "acceptor01", (0, 0))
    suggested = {}
    for case_no in (east, west):
        r = api.client.get("/api/v1/dispatch/suggest", params={"case_no": case_no},
                           headers=api.auth("dispatcher01"))
        assert r.status_code == 200, r.text
        suggested[case_no] = r.json()["unit"]["code"]
    assert suggested == {east: "U-HW103", west: "U-HW"}


def test_lists_and_details_agree_on_who_sees_what(api: Api) -> None:
    for login, cell in (("acceptor_102", (0, 1)), ("acceptor_103", (1, 2)), ("acceptor01", (1, 0))):
        report(api, login, cell)
    with transaction(api.engine) as session:
        everything = list(iter_cases(session))
        people = [accounts.principal(session, login) for login in api.tokens]
    for who in people:
        expected = sorted(c.case_no for c in everything if can_see(who, c))
        assert listed(api, who.login) == expected, who.login
    assert {p.login: p.district for p in people}["acceptor_102"] == WEST
    assert {p.login: p.district for p in people}["dispatcher_103"] == EAST


def test_the_city_dashboard_is_not_for_a_district_center(api: Api) -> None:
    assert api.client.get("/api/v1/dashboard", headers=api.auth("acceptor_102")).status_code == 403
    assert api.client.get("/api/v1/dashboard", headers=api.auth("acceptor01")).status_code == 200


def test_a_district_is_for_center_roles_and_must_be_a_district(api: Api) -> None:
    with pytest.raises(InvalidInput, match="只有受理员、值班长、派遣员"), transaction(api.engine) as session:
        accounts.add_user(session, "handler_x", Role.HANDLER, api.clock(), unit_code="U-HW", district=WEST)
    with pytest.raises(InvalidInput, match="不存在") as refused, transaction(api.engine) as session:
        accounts.add_user(session, "acceptor_x", Role.ACCEPTOR, api.clock(), district="420102001")
    assert refused.value.code == "unknown_district"


def test_a_district_center_reads_the_center_s_notices_about_its_own_cases_only(api: Api) -> None:
    west, east = report(api, "acceptor01", (0, 0)), report(api, "acceptor01", (0, 2))
    for case_no, unit in ((west, "U-HW"), (east, "U-HW103")):
        act(api, "shift01", case_no, "file")
        act(api, "dispatcher01", case_no, "dispatch", unit=unit)
    sweep(api.engine, api.clock() + timedelta(days=3))  # both overdue: the center is told
    pages = {}
    for login in ("acceptor01", "acceptor_102", "acceptor_103"):
        r = api.client.get("/api/v1/notifications", headers=api.auth(login))
        assert r.status_code == 200, r.text
        pages[login] = r.json()
    about = {login: {n["target_id"] for n in page["items"]} for login, page in pages.items()}
    assert about == {"acceptor01": {west, east}, "acceptor_102": {west}, "acceptor_103": {east}}
    assert pages["acceptor_102"]["unread"] == len(pages["acceptor_102"]["items"])


def test_the_two_level_assessment_and_its_circulars_over_http(api: Api) -> None:
    report(api, "acceptor01", (0, 0))
    r = api.client.get("/api/v1/assessment/2026-10/areas/420100", headers=api.auth("leader01"))
    assert r.status_code == 200, r.text
    assert [a["name"] for a in r.json()["areas"]] == ["甲区", "乙开发区"]  # none ranked: by code
    r = api.client.get(f"/api/v1/assessment/2026-10/areas/{EAST}", headers=api.auth("dispatcher_103"))
    assert r.status_code == 200 and r.json()["level"] == "district"
    r = api.client.get(f"/api/v1/assessment/2026-10/areas/{WEST}/circular.docx", headers=api.auth("leader01"))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = api.client.get("/api/v1/assessment/2026-10/areas/420102001", headers=api.auth("leader01"))
    assert r.status_code == 422


def test_a_district_center_reports_in_its_own_district_only(api: Api) -> None:
    lon, lat = center(0, 3)
    r = api.client.post(CASES, json={"category_code": "06010", "lon": lon, "lat": lat},
                        headers=api.auth("acceptor_102"))
    assert r.status_code == 422 and r.json()["code"] == "outside_district"
    assert listed(api, "acceptor01") == []  # nothing was stored
