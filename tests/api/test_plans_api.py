"""The work programme over HTTP: the office imports a plan, a unit reports progress, the office
accepts it; a bad workbook is refused naming row and column; supervision orders go from issue
to sign-off."""

from __future__ import annotations

import io

from openpyxl import Workbook

from tests.api.conftest import Api

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def plan_file(lead: str = "环卫中心") -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["序号", "任务", "工作内容", "牵头单位", "配合单位", "责任人", "完成时限", "开始时间"])
    ws.append(["1", "市容整治", None, None, None, None, None, None])
    ws.append(["1.1", "背街小巷整治", "整治 30 条", lead, "城市管理综合执法局", "王五（科长）", "2026-12-31",
               "2026-10-01"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(api: Api, data: bytes) -> object:
    return api.client.post("/api/v1/plans", headers=api.auth("office01"),
                           files={"file": ("plan.xlsx", data, XLSX)}, data={"name": "双十专项行动"})


def test_import_report_accept_and_the_tree(api: Api) -> None:
    created = _import(api, plan_file())
    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    plan_id = created.json()["id"]  # type: ignore[attr-defined]
    tree = api.client.get(f"/api/v1/plans/{plan_id}", headers=api.auth("handler_hw")).json()
    task = tree["tasks"][1]
    assert {k: task[k] for k in ("code", "title", "lead_unit", "status", "progress", "deadline")} == {
        "code": "1.1", "title": "背街小巷整治", "lead_unit": "U-HW", "status": "lagging", "progress": 0.0,
        "deadline": "2026-12-31"}
    sent = api.client.post(f"/api/v1/plans/{plan_id}/tasks/1.1/progress", headers=api.auth("handler_hw"),
                           json={"text": "已整治 20 条", "percent": "66.7"})
    assert sent.status_code == 201, sent.text
    report_id = sent.json()["id"]
    refused = api.client.post(f"/api/v1/plans/{plan_id}/progress/{report_id}/return",
                              headers=api.auth("office01"), json={})
    assert refused.status_code == 422 and refused.json()["code"] == "reason_required"
    accepted = api.client.post(f"/api/v1/plans/{plan_id}/progress/{report_id}/accept",
                               headers=api.auth("office01"))
    assert accepted.status_code == 200, accepted.text
    tree = api.client.get(f"/api/v1/plans/{plan_id}", headers=api.auth("office01")).json()
    assert tree["tasks"][1]["progress"] == 66.7 and tree["tasks"][0]["progress"] == 66.7
    assert tree["tasks"][1]["status"] == "on_track"
    workbook = api.client.get(f"/api/v1/plans/{plan_id}/progress.xlsx", headers=api.auth("office01"))
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    paused = api.client.post(f"/api/v1/plans/{plan_id}/tasks/1.1/pause", headers=api.auth("office01"),
                             json={"reason": "雨季停工"})
    assert paused.status_code == 200
    tree = api.client.get(f"/api/v1/plans/{plan_id}", headers=api.auth("office01")).json()
    assert tree["tasks"][1]["status"] == "paused"


def test_a_bad_workbook_is_refused_naming_row_and_column(api: Api) -> None:
    refused = _import(api, plan_file(lead="住建局"))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    body = refused.json()  # type: ignore[attr-defined]
    assert "第 3 行 D 列（牵头单位）：未知单位“住建局”" in str(body)
    assert api.client.get("/api/v1/plans", headers=api.auth("office01")).json() == []


def test_an_order_from_issue_to_signoff(api: Api) -> None:
    office, unit = api.auth("office01"), api.auth("handler_hw")
    issued = api.client.post("/api/v1/supervision-orders", headers=office, json={
        "title": "占道经营反弹", "content": "请于 5 个工作日内整改", "unit_code": "U-HW", "time_limit": "5wd"})
    assert issued.status_code == 201, issued.text
    order = issued.json()
    assert order["number"] == "督办〔2026〕1号" and order["level"] == "blue"
    assert api.client.get("/api/v1/supervision-orders", headers=api.auth("handler_zf")).json() == []
    oid = order["id"]
    assert api.client.post(f"/api/v1/supervision-orders/{oid}/signoff", headers=office).status_code == 422
    assert api.client.post(f"/api/v1/supervision-orders/{oid}/reply", headers=unit,
                           json={"text": "已整改"}).json()["state"] == "replied"
    assert api.client.post(f"/api/v1/supervision-orders/{oid}/return", headers=office,
                           json={"reason": "请附照片"}).json()["state"] == "returned"
    api.client.post(f"/api/v1/supervision-orders/{oid}/reply", headers=unit, json={"text": "已整改，附照片"})
    assert api.client.post(f"/api/v1/supervision-orders/{oid}/accept", headers=office).json()["on_time"]
    done = api.client.post(f"/api/v1/supervision-orders/{oid}/signoff", headers=office).json()
    assert done["state"] == "signed_off" and len(done["replies"]) == 2
