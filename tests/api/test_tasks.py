"""Inspectors' 核实/核查 tasks, and notifications for units, the command center, users and
roles (administrators' login alerts)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_login_throttle import from_address, seed_failures, try_login
from tests.e2e.test_pages_http import sign_in
from tests.factories import (
    INSPECTOR,
    PUBLIC,
    SHIFT,
    act,
    center,
    dispatched_case,
    grid_code,
    local,
    report,
)
from xiuhua.domain.choices import Action, Source
from xiuhua.services.sweeper import sweep


def public_report(api: Api, at: str = "2026-10-16 09:00", cell: tuple[int, int] = (1, 1)) -> str:
    lon, lat = center(*cell)
    return report(api.engine, at, PUBLIC, source=Source.PUBLIC, lon=lon, lat=lat,
                  address="人民路 8 号", description="垃圾桶旁堆放垃圾", reporter_phone="13812341234")


def get(api: Api, path: str, login: str, **params: Any) -> Any:
    r = api.client.get(f"/api/v1{path}", params=params, headers=api.auth(login))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_public_report_gives_the_grid_inspector_a_verify_task(api: Api) -> None:
    case_no = public_report(api)
    [task] = get(api, "/tasks", "inspector01")
    assert task["case_no"] == case_no and task["kind"] == "verify" and task["kind_label"] == "核实"
    assert task["category_name"] == "暴露垃圾" and task["address"] == "人民路 8 号"
    assert task["grid_code"] == grid_code(1, 1) and task["grid_name"] == "网格005"
    assert task["deadline"].startswith("2026-10-16T02:00:00")  # 1 working hour: 10:00 local
    assert task["overdue"] is False and "13812341234" not in str(task)
    api.clock.set("2026-10-16 10:01")
    assert get(api, "/tasks", "inspector01")[0]["overdue"] is True
    assert get(api, "/tasks", "inspector02") == []


def test_the_center_sees_every_open_task_and_filters_by_inspector(api: Api) -> None:
    first = public_report(api)
    second = public_report(api, cell=(0, 0))
    assert [t["case_no"] for t in get(api, "/tasks", "shift01")] == [first, second]
    assert [t["inspector"] for t in get(api, "/tasks", "dispatcher01")] == ["inspector01"] * 2
    assert get(api, "/tasks", "acceptor01", inspector="inspector02") == []
    mine = get(api, "/tasks", "leader01", inspector="inspector01")
    assert len(mine) == 2


def test_a_verified_task_leaves_the_list(api: Api) -> None:
    case_no = public_report(api)
    act(api.engine, case_no, Action.VERIFY, "2026-10-16 09:30", INSPECTOR)
    assert get(api, "/tasks", "inspector01") == []


def test_handlers_have_no_tasks(api: Api) -> None:
    public_report(api)
    for login in ("handler_hw", "leader_hw"):
        r = api.client.get("/api/v1/tasks", headers=api.auth(login))
        assert r.status_code == 403 and r.json()["code"] == "permission_denied"


def overdue_cases(api: Api, count: int, unit: str = "U-HW") -> list[str]:
    case_nos = [dispatched_case(api.engine, "2026-10-16 09:00", unit=unit) for _ in range(count)]
    sweep(api.engine, local("2026-10-16 15:00"))
    return case_nos


def test_unit_staff_read_their_own_units_notifications(api: Api) -> None:
    [case_no] = overdue_cases(api, 1)
    page = get(api, "/notifications", "handler_hw")
    [notice] = page["items"]
    assert page["unread"] == 1 and page["next_before"] is None
    assert notice["case_no"] == case_no and notice["kind"] == "overdue"
    assert notice["kind_label"] == "超期" and notice["audience"] == "unit"
    assert notice["unit_name"] == "环卫中心" and notice["read"] is False
    assert "已超过处置时限" in notice["message"]
    assert get(api, "/notifications", "leader_hw")["items"][0]["id"] == notice["id"]
    assert get(api, "/notifications", "handler_zf") == {"items": [], "next_before": None,
                                                        "unread": 0}


def test_the_center_reads_the_center_notifications(api: Api) -> None:
    overdue_cases(api, 1)
    for login in ("shift01", "dispatcher01", "leader01"):
        [notice] = get(api, "/notifications", login)["items"]
        assert notice["audience"] == "center" and notice["audience_label"] == "指挥中心"
        assert notice["message"].startswith("环卫中心承办的案件")
    # an inspector has no unit's or center's notifications, only personal ones: none here
    assert get(api, "/notifications", "inspector01") == {"items": [], "next_before": None,
                                                         "unread": 0}


def test_reading_a_notification_marks_it_read_for_the_unit(api: Api) -> None:
    overdue_cases(api, 1)
    [notice] = get(api, "/notifications", "handler_hw")["items"]
    url = f"/api/v1/notifications/{notice['id']}/read"
    assert api.client.post(url, headers=api.auth("handler_zf")).status_code == 404
    assert api.client.post(url, headers=api.auth("shift01")).status_code == 404
    api.clock.set("2026-10-16 15:10")
    r = api.client.post(url, headers=api.auth("handler_hw"))
    assert r.status_code == 200 and r.json()["read"] is True
    assert r.json()["read_at"].startswith("2026-10-16T07:10:00")
    api.clock.set("2026-10-16 15:20")
    again = api.client.post(url, headers=api.auth("leader_hw"))
    assert again.json()["read_at"] == r.json()["read_at"]
    assert get(api, "/notifications", "leader_hw", unread="true") == {
        "items": [], "next_before": None, "unread": 0}
    assert get(api, "/notifications", "shift01", unread="true")["unread"] == 1
    assert api.client.post("/api/v1/notifications/999999/read",
                           headers=api.auth("handler_hw")).status_code == 404


def test_notifications_come_newest_first_a_page_at_a_time(api: Api) -> None:
    overdue_cases(api, 3)
    first = get(api, "/notifications", "handler_hw", limit=2)
    assert len(first["items"]) == 2 and first["unread"] == 3
    ids = [n["id"] for n in first["items"]]
    assert ids == sorted(ids, reverse=True)
    rest = get(api, "/notifications", "handler_hw", limit=2, before=first["next_before"])
    assert len(rest["items"]) == 1 and rest["next_before"] is None
    assert rest["items"][0]["id"] < ids[-1]


def test_supervision_reaches_the_unit_as_a_notification(api: Api) -> None:
    case_no = dispatched_case(api.engine, "2026-10-16 09:00")
    act(api.engine, case_no, Action.SUPERVISE, "2026-10-16 10:00", SHIFT, note="请今天内处理")
    sweep(api.engine, local("2026-10-16 10:01"))
    [notice] = get(api, "/notifications", "handler_hw")["items"]
    assert notice["kind"] == "supervise" and notice["kind_label"] == "督办"
    assert "请今天内处理" in notice["message"]
    assert get(api, "/notifications", "shift01")["items"] == []


def test_a_notification_names_its_target_with_a_title_a_text_and_a_link(api: Api) -> None:
    [case_no] = overdue_cases(api, 1)
    [notice] = get(api, "/notifications", "handler_hw")["items"]
    assert notice["target_kind"] == "case" and notice["target_id"] == case_no
    assert notice["case_no"] == case_no and notice["assignment_seq"] == 1
    assert notice["title"] == f"超期：案件 {case_no}"
    assert notice["text"] == notice["message"] and notice["url"] == f"/cases/{case_no}"
    assert api.client.get(notice["url"], headers=api.auth("handler_hw")).status_code == 200


def test_admins_are_notified_when_an_account_is_under_attack(api: Api) -> None:
    """Fifty failed sign-ins on one account within the hour: every administrator reads a
    login alert (issue 11), nobody else does; further failures renew it, not repeat it."""
    seed_failures(api, "dispatcher01", [f"198.18.{i // 4}.{i % 4}" for i in range(49)])
    assert get(api, "/notifications", "admin01")["items"] == []
    assert try_login(from_address(api, "198.18.99.1"), "dispatcher01") == 401  # the 50th
    page = get(api, "/notifications", "admin01")
    [notice] = page["items"]
    assert page["unread"] == 1
    assert notice["kind"] == "login_alert" and notice["kind_label"] == "登录告警"
    assert notice["target_kind"] == "account" and notice["target_id"] == "dispatcher01"
    assert notice["audience"] == "role" and notice["case_no"] is None
    assert notice["title"] == "登录告警：账号 dispatcher01" and notice["url"] == "/admin/users"
    assert "登录失败 50 次" in notice["text"]
    for login in ("dispatcher01", "shift01", "leader01", "handler_hw", "inspector01"):
        assert get(api, "/notifications", login)["items"] == []
    assert try_login(from_address(api, "198.18.99.2"), "dispatcher01") == 401
    assert len(get(api, "/notifications", "admin01")["items"]) == 1
    read = api.client.post(f"/api/v1/notifications/{notice['id']}/read",
                           headers=api.auth("admin01"))
    assert read.status_code == 200 and read.json()["read"] is True
    assert api.client.post(f"/api/v1/notifications/{notice['id']}/read",
                           headers=api.auth("shift01")).status_code == 404


def test_the_home_page_shows_ones_unread_notifications(api: Api) -> None:
    [case_no] = overdue_cases(api, 1)
    handler = sign_in(api.client, "handler_hw")
    assert 'id="sec-notices"' in handler and f"超期：案件 {case_no}" in handler
    assert f'href="/cases/{case_no}"' in handler
    assert f"超期：案件 {case_no}" not in sign_in(api.client, "handler_zf")
    assert f"超期：案件 {case_no}" in sign_in(api.client, "admin01")  # the center's notice
    assert "没有未读通知" in sign_in(api.client, "inspector01")
    [notice] = get(api, "/notifications", "handler_hw")["items"]
    api.client.post(f"/api/v1/notifications/{notice['id']}/read", headers=api.auth("leader_hw"))
    sign_in(api.client, "handler_hw")
    part = api.client.get("/parts/notices")
    assert part.status_code == 200 and "没有未读通知" in part.text
