"""The cases REST API: reporting, reading, acting, listing and dispatch suggestions, on SQLite
and PostgreSQL, as each role sees it."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import insert, select

from tests.api.conftest import Api
from tests.factories import CITY, center, grid_code, local
from xiuhua.domain.access import can_see
from xiuhua.domain.choices import Role
from xiuhua.domain.lifecycle import overdue_at
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services import accounts
from xiuhua.store import city as city_store
from xiuhua.store.cases import iter_cases
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, case_photos, components

CASES = "/api/v1/cases"


# --- helpers (also used by the idempotency and concurrency tests) --------------------------


def report_body(cell: tuple[int, int] = (1, 1), **fields: Any) -> dict[str, Any]:
    lon, lat = center(*cell)
    return {"category_code": "06010", "lon": lon, "lat": lat, "description": "路边暴露垃圾",
            **fields}


def report(api: Api, login: str = "inspector01", cell: tuple[int, int] = (1, 1),
           **fields: Any) -> str:
    r = api.client.post(CASES, json=report_body(cell, **fields), headers=api.auth(login))
    assert r.status_code == 201, r.text
    return str(r.json()["case_no"])


def get(api: Api, case_no: str, login: str = "admin01") -> dict[str, Any]:
    r = api.client.get(f"{CASES}/{case_no}", headers=api.auth(login))
    assert r.status_code == 200, r.text
    return dict(r.json())


def post_action(api: Api, login: str, case_no: str, action: str, **fields: Any) -> Any:
    body = {"version": get(api, case_no)["version"], **fields}
    return api.client.post(f"{CASES}/{case_no}/actions/{action}", json=body,
                           headers=api.auth(login))


def act(api: Api, login: str, case_no: str, action: str, **fields: Any) -> dict[str, Any]:
    r = post_action(api, login, case_no, action, **fields)
    assert r.status_code == 200, r.text
    return dict(r.json())


def dispatched(api: Api, unit: str = "U-HW", cell: tuple[int, int] = (1, 1),
               **fields: Any) -> str:
    case_no = report(api, cell=cell, **fields)
    act(api, "shift01", case_no, "file")
    act(api, "dispatcher01", case_no, "dispatch", unit=unit)
    return case_no


def listed(api: Api, login: str = "admin01", **params: Any) -> list[str]:
    """Every case number the list returns for these filters, walking all pages."""
    found: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = api.client.get(CASES, params=query, headers=api.auth(login))
        assert r.status_code == 200, r.text
        found += [item["case_no"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return found


def jpeg(colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def upload(api: Api, data: bytes, login: str = "handler_hw") -> str:
    r = api.client.post("/api/v1/photos", files={"file": ("p.jpg", data, "image/jpeg")},
                        headers=api.auth(login))
    assert r.status_code == 201, r.text
    return str(r.json()["photo_id"])


def add_user(api: Api, login: str, role: Role) -> None:
    with transaction(api.engine) as session:
        accounts.add_user(session, login, role, api.clock())
        api.tokens[login] = accounts.issue_token(session, login, api.clock())


# --- reporting ---------------------------------------------------------------------------


def test_an_inspector_reports_a_case_and_gets_its_number_and_address(api: Api) -> None:
    r = api.client.post(CASES, json=report_body(), headers=api.auth("inspector01"))
    assert r.status_code == 201
    assert r.json() == {"case_no": "20261016000001", "version": 1, "status": "reported",
                        "status_label": "已上报"}
    assert r.headers["location"] == f"{CASES}/20261016000001"
    case = api.client.get(r.headers["location"], headers=api.auth("inspector01")).json()
    assert case["grid_code"] == grid_code(1, 1) and case["source"] == "inspector"
    assert case["category_name"] == "暴露垃圾" and case["status_label"] == "已上报"
    assert [e["action"] for e in case["events"]] == ["report"]
    assert datetime.fromisoformat(case["reported_at"]) == local("2026-10-16 09:00")


@pytest.mark.parametrize(("login", "status"), [
    ("inspector01", 201), ("acceptor01", 201), ("handler_hw", 403), ("dispatcher01", 403),
    ("shift01", 403), ("leader01", 403), ("admin01", 403)])
def test_only_inspectors_acceptors_and_the_public_may_report(api: Api, login: str,
                                                             status: int) -> None:
    r = api.client.post(CASES, json=report_body(), headers=api.auth(login))
    assert r.status_code == status, r.text
    if status == 403:
        assert r.json()["code"] == "permission_denied"


def test_a_citizen_account_reports_as_the_public_and_a_verify_task_opens(api: Api) -> None:
    add_user(api, "citizen01", Role.PUBLIC)
    case_no = report(api, "citizen01")
    case = get(api, case_no)
    assert case["source"] == "public"
    assert [(t["kind"], t["inspector"]) for t in case["tasks"]] == [("verify", "inspector01")]
    r = api.client.post(CASES, json=report_body(source="hotline"), headers=api.auth("citizen01"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_source"


def test_an_acceptor_records_a_hotline_call_with_the_callers_details(api: Api) -> None:
    case_no = report(api, "acceptor01", reporter={"name": "王小明", "phone": "13812345678"})
    case = get(api, case_no, "acceptor01")
    assert case["source"] == "hotline"
    assert case["reporter"] == {"name": "王小明", "phone": "13812345678", "masked": False}


BAD_REPORTS: list[tuple[dict[str, Any], str | None]] = [
    ({"category_code": "06010"}, "missing_location"),
    (report_body(lon=116.0, lat=36.0), "outside_city"),
    (report_body(category_code="99999"), None),
    (report_body(urgency="whenever"), "invalid_request"),
    (report_body(description="坏\x00字符"), "invalid_request"),
    (report_body(address="长" * 501), "invalid_request"),
    (report_body(lon=10 ** 400), "invalid_request"),
    (report_body(category_code=6010), "invalid_request"),
    (report_body(photos=["not-a-photo-id"]), "invalid_request"),
    (report_body(case_no="20261016000009"), "invalid_request"),
    ({**report_body(), "reporter": {"phone": "call me"}}, "invalid_request"),
]


def test_bad_reports_are_422_problems_and_store_nothing(api: Api) -> None:
    for body, code in BAD_REPORTS:
        r = api.client.post(CASES, json=body, headers=api.auth("acceptor01"))
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert code is None or r.json()["code"] == code, (body, r.text)
    headers = api.auth("inspector01")
    r = api.client.post(CASES, content=b"{not json", headers={**headers,
                                                              "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    r = api.client.post(CASES, content=b"<case/>", headers={**headers,
                                                            "Content-Type": "application/xml"})
    assert r.status_code == 415
    r = api.client.post(CASES, json=report_body())
    assert r.status_code == 401
    assert listed(api) == []


def test_a_multipart_report_carries_the_same_fields(api: Api) -> None:
    lon, lat = center(2, 2)
    form = {"category_code": "06001", "lon": str(lon), "lat": str(lat), "coord_sys": "wgs84",
            "address": "", "description": "违建", "reporter.name": "李四",
            "reporter.phone": "13900001111"}
    r = api.client.post(CASES, data=form, files=[("unused", ("a.txt", b"x", "text/plain"))],
                        headers=api.auth("acceptor01"))
    assert r.status_code == 201, r.text
    case = get(api, r.json()["case_no"])
    assert case["grid_code"] == grid_code(2, 2) and case["address"] is None
    assert case["reporter"]["name"] == "李四"
    r = api.client.post(CASES, data={**form, "lon": "east"},
                        files=[("unused", ("a.txt", b"x", "text/plain"))],
                        headers=api.auth("acceptor01"))
    assert r.status_code == 422 and "lon" in r.json()["detail"]


def test_photos_come_with_the_report_and_with_later_steps(api: Api) -> None:
    before = upload(api, jpeg((10, 10, 10)), "inspector01")
    lon, lat = center(1, 1)
    r = api.client.post(CASES, data={"category_code": "06010", "lon": str(lon), "lat": str(lat),
                                     "photos": before},
                        files=[("photos", ("scene.jpg", jpeg(), "image/jpeg"))],
                        headers=api.auth("inspector01"))
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    act(api, "shift01", case_no, "file")
    act(api, "dispatcher01", case_no, "dispatch", unit="U-HW")
    after = upload(api, jpeg((250, 250, 250)))
    case = act(api, "handler_hw", case_no, "feedback", note="已清理", photos=[after])
    assert case["photos"][0] == before and case["photos"][2] == after and len(case["photos"]) == 3
    assert case["events"][-1]["photos"] == [after]
    with transaction(api.engine) as session:
        linked = set(session.execute(select(case_photos.c.photo_id)
                                     .where(case_photos.c.case_no == case_no)).scalars())
    assert linked == set(case["photos"])
    r = post_action(api, "inspector01", case_no, "check_pass", photos=["0" * 64])
    assert r.status_code == 422 and r.json()["code"] == "unknown_photo"
    r = api.client.post(CASES, data={"category_code": "06010", "lon": str(lon), "lat": str(lat)},
                        files=[("photos", ("fake.jpg", b"not an image", "image/jpeg"))],
                        headers=api.auth("inspector01"))
    assert r.status_code == 422 and r.json()["code"] == "unsupported_photo"
    assert len(listed(api)) == 1


# --- reading: scope and personal information ----------------------------------------------


def test_reporter_details_are_masked_for_the_handling_unit(api: Api) -> None:
    case_no = report(api, "acceptor01", reporter={"name": "王小明", "phone": "13812345678"})
    act(api, "shift01", case_no, "file")
    act(api, "dispatcher01", case_no, "dispatch", unit="U-HW")
    assert get(api, case_no, "dispatcher01")["reporter"]["phone"] == "13812345678"
    seen = get(api, case_no, "handler_hw")["reporter"]
    assert seen == {"name": "王**", "phone": "138****5678", "masked": True}
    assert get(api, case_no, "leader01")["reporter"]["masked"] is True


def test_unit_staff_see_only_cases_their_unit_handles(api: Api) -> None:
    case_no = dispatched(api, "U-HW")
    r = api.client.get(f"{CASES}/{case_no}", headers=api.auth("handler_zf"))
    assert r.status_code == 404 and r.json()["code"] == "case_not_found"
    assert listed(api, "handler_zf") == []
    assert listed(api, "handler_hw") == [case_no]
    r = post_action(api, "handler_zf", case_no, "feedback", note="已处理")
    assert r.status_code == 404


def test_an_inspector_sees_only_cases_in_its_grids(api: Api) -> None:
    mine = report(api, cell=(0, 0))
    other = report(api, cell=(1, 1))
    assert listed(api, "inspector02") == [mine]
    assert api.client.get(f"{CASES}/{other}", headers=api.auth("inspector02")).status_code == 404
    assert set(listed(api, "inspector01")) == {mine, other}


def test_the_list_and_the_detail_agree_on_who_sees_what(api: Api) -> None:
    dispatched(api, "U-HW")
    returned = dispatched(api, "U-ZF", category_code="06001", cell=(0, 0))
    act(api, "handler_zf", returned, "return", reason="不属于本单位")
    act(api, "dispatcher01", returned, "dispatch", unit="U-HW")
    report(api, cell=(2, 2))
    with transaction(api.engine) as session:
        everything = list(iter_cases(session))
        people = [accounts.principal(session, login) for login in api.tokens]
    for who in people:
        expected = sorted(c.case_no for c in everything if can_see(who, c))
        assert sorted(listed(api, who.login)) == expected, who.login
    assert returned in listed(api, "handler_zf")


# --- acting ------------------------------------------------------------------------------


def test_the_full_loop_through_http(api: Api) -> None:
    case_no = report(api)
    assert act(api, "shift01", case_no, "file")["status"] == "filed"
    api.clock.now += timedelta(minutes=10)
    case = act(api, "dispatcher01", case_no, "dispatch", unit="U-HW")
    assert case["holder_unit"] == "U-HW" and case["holder_unit_name"] == "环卫中心"
    assert case["assignments"][0]["deadline"] == case["due_at"]
    assert "feedback" in get(api, case_no, "handler_hw")["allowed_actions"]
    api.clock.now += timedelta(hours=1)
    act(api, "handler_hw", case_no, "feedback", note="已清理")
    assert act(api, "inspector01", case_no, "check_fail", note="仍有残留")["status"] == "dispatched"
    act(api, "leader_hw", case_no, "feedback", note="已彻底清理")
    act(api, "inspector01", case_no, "check_pass")
    act(api, "shift01", case_no, "close")
    case = act(api, "acceptor01", case_no, "rate", value="satisfied")
    assert case["status"] == "closed" and case["rating"] == "satisfied"
    assert [e["action"] for e in case["events"]] == [
        "report", "file", "dispatch", "feedback", "check_fail", "feedback", "check_pass",
        "close", "rate"]
    assert [(a["kind"], a["ended"], a["on_time"]) for a in case["assignments"]] == [
        ("dispatch", "handled", True), ("rework", "handled", True)]
    assert case["version"] == 9 and case["allowed_actions"] == []
    with transaction(api.engine) as session:
        audited = session.execute(select(audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.kind == "case_action", audit_log.c.subject == case_no)
            .order_by(audit_log.c.id)).all()
    assert [(a, d["action"], d["event_seq"]) for a, d in audited][-2:] == [
        ("shift01", "close", 8), ("acceptor01", "rate", 9)]
    assert len(audited) == 9


def test_the_action_time_is_the_servers_clock(api: Api) -> None:
    case_no = report(api)
    api.clock.set("2026-10-16 10:25")
    case = act(api, "shift01", case_no, "file")
    assert case["filed_at"] == case["events"][-1]["at"]
    assert case["filed_at"].startswith("2026-10-16T02:25:00")
    r = post_action(api, "shift01", case_no, "close", at="2020-01-01T00:00:00Z")
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


# action -> (state of the case, body fields, expected status by login)
WHO_MAY: dict[str, tuple[str, dict[str, Any], dict[str, int]]] = {
    "file": ("reported", {}, {"shift01": 200, "dispatcher01": 403, "inspector01": 403,
                              "acceptor01": 403, "handler_hw": 404}),
    "cancel": ("reported", {"reason": "invalid"}, {"shift01": 200, "acceptor01": 403}),
    "verify": ("reported", {}, {"inspector01": 200, "inspector02": 404, "shift01": 403}),
    "dispatch": ("filed", {"unit": "U-HW"}, {"dispatcher01": 200, "shift01": 403,
                                            "acceptor01": 403, "leader01": 403}),
    "feedback": ("dispatched", {"note": "已清理"}, {
        "handler_hw": 200, "leader_hw": 200, "dispatcher01": 403, "inspector01": 403,
        "handler_zf": 404}),
    "request_extension": ("dispatched", {"limit": "2wh", "reason": "设备故障"},
                          {"handler_hw": 200, "shift01": 403}),
    "suspend": ("dispatched", {"reason": "需协调"}, {"shift01": 200, "handler_hw": 403,
                                                    "leader01": 403}),
    "supervise": ("dispatched", {"note": "尽快处理"}, {"leader01": 200, "shift01": 200,
                                                     "dispatcher01": 403}),
}


def case_in(api: Api, state: str) -> str:
    case_no = report(api)
    if state in ("filed", "dispatched"):
        act(api, "shift01", case_no, "file")
    if state == "dispatched":
        act(api, "dispatcher01", case_no, "dispatch", unit="U-HW")
    return case_no


@pytest.mark.parametrize("action", list(WHO_MAY))
def test_who_may_take_each_action(api: Api, action: str) -> None:
    """Roles outside the permission table get 403; cases outside one's scope are 404."""
    state, fields, expected = WHO_MAY[action]
    for login, status in expected.items():
        r = post_action(api, login, case_in(api, state), action, **fields)
        assert r.status_code == status, (login, r.text)
        if status == 403:
            assert r.json()["code"] == "permission_denied"


def test_unit_staff_may_not_act_on_a_case_another_unit_now_holds(api: Api) -> None:
    case_no = dispatched(api, "U-ZF", category_code="06001")
    act(api, "handler_zf", case_no, "return", reason="应由环卫处理")
    act(api, "dispatcher01", case_no, "dispatch", unit="U-HW")
    assert get(api, case_no, "handler_zf")["allowed_actions"] == []
    r = post_action(api, "handler_zf", case_no, "feedback", note="已处理")
    assert r.status_code == 403 and r.json()["code"] == "not_your_case"


def test_a_stale_version_is_a_409_and_changes_nothing(api: Api) -> None:
    case_no = report(api)
    act(api, "shift01", case_no, "file")
    r = api.client.post(f"{CASES}/{case_no}/actions/dispatch", json={"version": 1, "unit": "U-HW"},
                        headers=api.auth("dispatcher01"))
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert "刷新" in r.json()["detail"]
    assert get(api, case_no)["status"] == "filed"


def test_refused_actions_explain_why_in_chinese(api: Api) -> None:
    case_no = dispatched(api)
    api.clock.now += timedelta(days=3)
    r = post_action(api, "handler_hw", case_no, "return", reason="不归我们管")
    assert r.status_code == 422 and r.json()["code"] == "return_window_closed"
    assert "回退" in r.json()["detail"]
    r = post_action(api, "shift01", case_no, "cancel", reason="invalid")
    assert r.status_code == 422 and r.json()["code"] == "invalid_state"
    r = post_action(api, "dispatcher01", case_no, "dispatch", unit="U-HW")
    assert r.status_code == 422 and "处置中" in r.json()["detail"]
    r = post_action(api, "leader01", report(api), "supervise")
    assert r.status_code == 422 and r.json()["code"] == "no_holder"


def test_the_acceptor_sends_a_report_for_verification_to_an_inspector_on_duty(api: Api) -> None:
    case_no = report(api, "acceptor01", source="hotline")
    r = post_action(api, "acceptor01", case_no, "request_verify", inspector="nobody")
    assert r.status_code == 422 and r.json()["code"] == "unknown_inspector"
    assert get(api, case_no)["tasks"] == []
    act(api, "acceptor01", case_no, "request_verify", inspector="inspector01")
    [task] = get(api, case_no)["tasks"]
    assert (task["kind"], task["inspector"]) == ("verify", "inspector01")
    r = api.client.get("/api/v1/tasks", headers=api.auth("inspector01"))
    assert case_no in {t["case_no"] for t in r.json()}


def test_a_unit_asks_for_suspension_and_the_shift_leader_decides(api: Api) -> None:
    case_no = dispatched(api)
    r = post_action(api, "handler_hw", case_no, "request_suspension")
    assert r.status_code == 422 and r.json()["code"] == "missing_reason"
    act(api, "handler_hw", case_no, "request_suspension", reason="等待燃气公司停气")
    assert get(api, case_no)["assignments"][-1]["suspension_requested"] == "等待燃气公司停气"
    act(api, "shift01", case_no, "reject_suspension", reason="不属于挂账情形")
    assert get(api, case_no)["assignments"][-1]["suspension_requested"] is None
    act(api, "handler_hw", case_no, "request_suspension", reason="等待天晴")
    assert act(api, "shift01", case_no, "suspend", reason="等待天晴")["status"] == "suspended"


def test_unknown_cases_and_actions_are_404(api: Api) -> None:
    case_no = report(api)
    for name in ("explode", "report"):
        r = post_action(api, "shift01", case_no, name)
        assert r.status_code == 404 and r.json()["code"] == "unknown_action"
    r = api.client.post(f"{CASES}/20261016999999/actions/file", json={"version": 1},
                        headers=api.auth("shift01"))
    assert r.status_code == 404 and r.json()["code"] == "case_not_found"
    assert api.client.get(f"{CASES}/20261016999999",
                          headers=api.auth("admin01")).status_code == 404
    assert api.client.get(f"{CASES}/abc%00", headers=api.auth("admin01")).status_code == 422


def test_amend_relocates_the_case_with_the_same_geography_as_a_report(api: Api) -> None:
    case_no = report(api)
    lon, lat = center(0, 2)
    case = act(api, "acceptor01", case_no, "amend", lon=lon, lat=lat, description="位置更正")
    assert case["grid_code"] == grid_code(0, 2) and case["community_code"] == "370181001002"
    assert case["events"][-1]["data"]["new"]["description"] == "位置更正"
    r = post_action(api, "acceptor01", case_no, "amend", lon=116.0, lat=36.0)
    assert r.status_code == 422 and r.json()["code"] == "outside_city"


BAD_ACTION_BODIES: list[dict[str, Any] | str] = [
    {"version": 10 ** 30}, {"version": "one"}, {}, {"version": 1, "unit": "U\x00HW"},
    {"version": 1, "limit": "9" * 40}, {"version": 1, "limit": "99999999wd"},
    {"version": 1, "surprise": True}, '{"version": 2, "lon": Infinity, "lat": NaN}',
    '{"version": 2, "unit": "U-HW", "note": "\\ud800"}', "[2]", "",
]


def test_bad_action_bodies_are_client_errors(api: Api) -> None:
    case_no = report(api)
    act(api, "shift01", case_no, "file")
    url = f"{CASES}/{case_no}/actions/dispatch"
    headers = {**api.auth("dispatcher01"), "Content-Type": "application/json"}
    for body in BAD_ACTION_BODIES:
        r = (api.client.post(url, content=body.encode(), headers=headers)
             if isinstance(body, str) else api.client.post(url, json=body, headers=headers))
        assert r.status_code in (409, 422), (body, r.text)
    assert get(api, case_no)["status"] == "filed"


# --- the list ----------------------------------------------------------------------------


@pytest.fixture
def seeded(api: Api) -> dict[str, str]:
    """A few cases across days, places, categories, sources and states."""
    cases: dict[str, str] = {}
    cases["hw"] = dispatched(api, "U-HW", description="人行道暴露垃圾")
    api.clock.set("2026-10-16 10:00")
    cases["zf"] = dispatched(api, "U-ZF", cell=(0, 0), category_code="06001",
                             description="私搭乱建 50%_折扣")
    api.clock.set("2026-10-17 09:30")
    cases["hotline"] = report(api, "acceptor01", cell=(2, 2), category_code="01001",
                              address="学院路 8 号")
    api.clock.set("2026-10-19 09:00")
    cases["closed"] = dispatched(api, "U-HW", cell=(1, 0))
    act(api, "handler_hw", cases["closed"], "feedback")
    act(api, "inspector01", cases["closed"], "check_pass")
    act(api, "shift01", cases["closed"], "close")
    api.clock.set("2026-10-19 10:00")
    return cases


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["closed", "hotline", "zf", "hw"]),
    ({"status": ["dispatched", "reported"]}, ["hotline", "zf", "hw"]),
    ({"category": "06010"}, ["closed", "hw"]),
    ({"category": "06"}, ["closed", "zf", "hw"]),
    ({"unit": "U-HW"}, ["closed", "hw"]),
    ({"grid": grid_code(0, 0)}, ["zf"]),
    ({"community": "370181001002"}, ["hotline"]),
    ({"street": "370181001"}, ["closed", "hotline", "zf", "hw"]),
    ({"source": "hotline"}, ["hotline"]),
    ({"text": "人行道"}, ["hw"]),
    ({"text": "50%_"}, ["zf"]),
    ({"text": "%"}, ["zf"]),
    ({"text": "学院路"}, ["hotline"]),
    ({"text": " "}, ["closed", "hotline", "zf", "hw"]),
    ({"reported_from": "2026-10-17"}, ["closed", "hotline"]),
    ({"reported_to": "2026-10-16"}, ["zf", "hw"]),
    ({"reported_from": "2026-10-16T09:30", "reported_to": "2026-10-17T09:30:00+08:00"},
     ["hotline", "zf"]),
    ({"closed_from": "2026-10-19", "closed_to": "2026-10-19"}, ["closed"]),
    ({"due_before": "2026-10-16T15:00:00+08:00"}, ["hw"]),
    ({"sort": "reported_at"}, ["hw", "zf", "hotline", "closed"]),
    ({"sort": "case_no"}, ["hw", "zf", "hotline", "closed"]),
    ({"sort": "-case_no", "limit": 1}, ["closed", "hotline", "zf", "hw"]),
    ({"sort": "due_at"}, ["hw", "zf", "hotline", "closed"]),
    ({"sort": "-due_at"}, ["closed", "hotline", "zf", "hw"]),
]


def test_filters_sorting_and_summaries(api: Api, seeded: dict[str, str]) -> None:
    """Default order: the latest report first; cases without a deadline sort after the rest
    (before them when descending), ties by case number."""
    for params, names in FILTERS:
        assert listed(api, **params) == [seeded[n] for n in names], params
    # a summary carries labels, names and deadlines
    r = api.client.get(CASES, params={"grid": grid_code(0, 0)}, headers=api.auth("shift01"))
    (item,) = r.json()["items"]
    assert item["status_label"] == "处置中" and item["holder_unit_name"] == "城市管理综合执法局"
    assert item["category_name"] == "私搭乱建" and item["source_label"] == "监督员上报"
    assert item["due_at"] > "2026-11" and item["overdue"] is False  # 15 working days
    assert r.json()["next_cursor"] is None
    (late,) = api.client.get(CASES, params={"text": "人行道"},
                             headers=api.auth("shift01")).json()["items"]
    assert late["due_at"].startswith("2026-10-16T06:30:00") and late["overdue"] is True


def test_a_cursor_walk_visits_every_case_once_even_while_cases_arrive(api: Api) -> None:
    made = [dispatched(api) if i % 3 else report(api) for i in range(7)]  # ties on every key
    for sort in ("reported_at", "-reported_at", "due_at", "-due_at", "case_no", "-case_no"):
        first = api.client.get(CASES, params={"sort": sort, "limit": 3},
                               headers=api.auth("admin01")).json()
        before = set(made)
        api.clock.now += timedelta(minutes=5)
        made.append(report(api))  # arrives between pages
        walked = [i["case_no"] for i in first["items"]] + listed(
            api, sort=sort, limit=3, cursor=first["next_cursor"])
        assert len(walked) == len(set(walked)), sort
        assert before <= set(walked) <= set(made), sort


def test_bad_list_parameters_are_422(api: Api) -> None:
    report(api)
    for params in ({"cursor": "abc"}, {"cursor": "!!"}, {"limit": 501}, {"limit": 0},
                   {"sort": "status"}, {"status": "lost"}, {"reported_to": "9999-12-31"},
                   {"due_before": "9999-12-31T23:59:59-05:00"}, {"text": "\x00"},
                   {"category": "6"}, {"overdue": "maybe"}):
        r = api.client.get(CASES, params=params, headers=api.auth("admin01"))
        assert r.status_code == 422, (params, r.text)
    page = api.client.get(CASES, params={"limit": 1, "sort": "case_no"},
                          headers=api.auth("admin01"))
    assert page.json()["next_cursor"] is None
    report(api)
    cursor = api.client.get(CASES, params={"limit": 1}, headers=api.auth("admin01")
                            ).json()["next_cursor"]
    r = api.client.get(CASES, params={"limit": 1, "cursor": cursor, "sort": "case_no"},
                       headers=api.auth("admin01"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"


def test_the_overdue_filter_agrees_with_the_lifecycle_rule(api: Api) -> None:
    normal = dispatched(api)  # 4wh: due 14:30
    short = report(api)
    act(api, "shift01", short, "file")
    act(api, "dispatcher01", short, "dispatch", unit="U-HW", limit="1wh")  # due 10:00
    parked = report(api)
    act(api, "shift01", parked, "file")
    act(api, "dispatcher01", parked, "dispatch", unit="U-HW", limit="1wh")
    api.clock.set("2026-10-16 09:30")
    act(api, "shift01", parked, "suspend", reason="等待产权单位配合")
    report(api)
    expected = {"2026-10-16 11:00": {short}, "2026-10-16 15:00": {normal, short}}
    for text, overdue in expected.items():
        api.clock.set(text)
        assert set(listed(api, overdue="true")) == overdue
        with transaction(api.engine) as session:
            by_rule = {c.case_no for c in iter_cases(session)
                       if any(overdue_at(a, api.clock()) for a in c.assignments if a.is_open)}
        assert by_rule == overdue
        assert set(listed(api, overdue="false")) == set(listed(api)) - overdue
        flags = {i["case_no"]: i["overdue"] for i in api.client.get(
            CASES, headers=api.auth("admin01")).json()["items"]}
        assert flags == {no: get(api, no)["overdue"] for no in flags}
    act(api, "handler_hw", short, "feedback", note="迟到的处理")
    api.clock.now += timedelta(minutes=1)
    assert set(listed(api, overdue="true")) == {normal}
    assert [a["overdue"] for a in get(api, short)["assignments"]] == [False]


# --- dispatch suggestions ------------------------------------------------------------------


def suggest(api: Api, case_no: str, login: str = "dispatcher01") -> Any:
    return api.client.get("/api/v1/dispatch/suggest", params={"case_no": case_no},
                          headers=api.auth(login))


def test_the_matrix_suggests_the_responsible_unit_and_says_why(api: Api) -> None:
    r = suggest(api, report(api))
    assert r.status_code == 200
    s = r.json()
    assert s["code"] == "ok" and s["unit"] == {"code": "U-HW", "name": "环卫中心"}
    assert s["rule"]["scope"] == "matter" and s["rule"]["region_code"] == CITY
    assert s["rule"]["region_level"] == "city" and "专业归口" in s["reason"]
    major = suggest(api, report(api, category_code="06001")).json()
    assert major["unit"]["code"] == "U-ZF" and major["rule"]["scope"] == "major"
    local_rule = suggest(api, report(api, category_code="01001")).json()
    assert local_rule["unit"]["code"] == "U-JD1" and "属地兜底" in local_rule["reason"]
    for login, status in (("shift01", 200), ("acceptor01", 200), ("leader01", 200),
                          ("admin01", 200), ("handler_hw", 403), ("inspector01", 403)):
        assert suggest(api, s["case_no"], login).status_code == status, login


def test_a_component_owner_answers_first(api: Api) -> None:
    lon, lat = center(1, 1)
    with transaction(api.engine) as session:
        session.execute(insert(components).values(
            code="37018101001000001", class_code="01001", lon=lon, lat=lat,
            grid_code=grid_code(1, 1), status="damaged", owner_unit="U-ZF"))
    s = suggest(api, report(api, category_code="01001", component_code="37018101001000001")).json()
    assert s["unit"]["code"] == "U-ZF" and s["component_owner"] == "U-ZF" and s["rule"] is None


def test_gaps_and_overlaps_in_the_matrix_are_named(api: Api) -> None:
    case_no = report(api)
    with transaction(api.engine) as session:
        city_store.add_rules(session, [Rule(RuleScope.MATTER, "06010", CITY, "U-JD1")])
    s = suggest(api, case_no).json()
    assert s["code"] == "ambiguous_responsibility" and s["unit"] is None
    assert [u["code"] for u in s["units"]] == ["U-HW", "U-JD1"] and "重叠" in s["message"]
    other = report(api, category_code="01001")
    with transaction(api.engine) as session:
        city_store.remove_rule(session, Rule(RuleScope.ANY, None, CITY, "U-JD1"))
    s = suggest(api, other).json()
    assert s["code"] == "no_responsible_unit" and s["units"] == []


def test_a_case_reported_by_address_only_is_not_located_and_has_no_suggestion(api: Api) -> None:
    r = api.client.post(CASES, json={"category_code": "06010", "address": "经十路 100 号"},
                        headers=api.auth("acceptor01"))
    assert r.status_code == 201
    assert get(api, r.json()["case_no"])["grid_code"] is None
    s = suggest(api, r.json()["case_no"])
    assert s.status_code == 422 and s.json()["code"] == "not_located"
    assert suggest(api, "20261016999999").status_code == 404
    assert suggest(api, "x").status_code == 422
