"""The key projects and legacy issues API: the office enters, the lead unit reports with a
photo, only accepted progress counts, the colour and lag are in the list, a unit reads the
parties of its legacy issues masked and the office in full, sign-off needs the target."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

from tests.api.conftest import Api

ROAD = {"name": "北环路环卫提升", "kind": "sanitation", "lead_unit": "U-HW",
        "planned_start": "2026-03-01", "planned_finish": "2026-06-30", "planned_investment": 1200,
        "lon": 117.001, "lat": 36.649}


def _photo(api: Api, login: str) -> str:
    buffer = BytesIO()
    Image.new("RGB", (40, 30), (90, 140, 60)).save(buffer, format="JPEG")
    sent = api.client.post("/api/v1/photos", headers=api.auth(login),
                           files={"file": ("site.jpg", buffer.getvalue(), "image/jpeg")})
    assert sent.status_code == 201, sent.text
    return str(sent.json()["photo_id"])


def test_progress_counts_once_the_office_accepts_it(api: Api) -> None:
    api.clock.set("2026-04-01 10:00")
    created = api.client.post("/api/v1/projects", headers=api.auth("office01"), json=ROAD)
    assert created.status_code == 201, created.text
    project = created.json()
    assert (project["colour"], project["planned_investment"]) == ("yellow", 1200)
    photo = _photo(api, "handler_hw")
    report = api.client.post(f"/api/v1/projects/{project['id']}/progress",
                             headers=api.auth("handler_hw"),
                             json={"percent": 20, "phase": "construction", "on": "2026-03-01",
                                   "completed_investment": 300, "photos": [photo]})
    assert report.status_code == 201, report.text
    api.clock.set("2026-05-01 00:00")
    path = f"/api/v1/projects/{project['id']}"
    before = api.client.get(path, headers=api.auth("handler_hw")).json()
    assert before["progress"] == 0 and before["reports"][0]["state"] == "pending"
    assert before["reports"][0]["photos"] == [photo]
    accepted = api.client.post(f"{path}/progress/{report.json()['id']}/accept",
                               headers=api.auth("office01"))
    assert accepted.status_code == 200, accepted.text
    after = accepted.json()
    assert (after["progress"], after["phase"], after["actual_start"]) == \
        (20, "construction", "2026-03-01")
    assert (after["time_progress"], after["lag"], after["colour"]) == (50.0, 30.0, "yellow")
    assert after["completed_investment"] == 300
    # the office's photo link lets it see the unit's photo; another unit does not
    assert api.client.get(f"/api/v1/photos/{photo}", headers=api.auth("office01")).status_code == 200
    assert api.client.get(f"/api/v1/photos/{photo}", headers=api.auth("handler_zf")).status_code == 404
    again = api.client.post(f"{path}/progress/{report.json()['id']}/accept",
                            headers=api.auth("office01"))
    assert again.status_code == 422 and again.json()["code"] == "progress_decided"


def test_the_projects_due_this_year_with_their_colour_in_the_unit_scope(api: Api) -> None:
    office = api.auth("office01")
    api.client.post("/api/v1/projects", headers=office, json=ROAD)
    api.client.post("/api/v1/projects", headers=office, json={
        **ROAD, "name": "明年的绿道", "kind": "greening", "lead_unit": "U-ZF",
        "planned_start": "2027-01-01", "planned_finish": "2027-10-31"})
    api.clock.set("2026-10-16 09:00")
    due = api.client.get("/api/v1/projects?due_year=2026", headers=api.auth("leader01")).json()
    assert [(p["name"], p["colour"]) for p in due["items"]] == [("北环路环卫提升", "red")]
    mine = api.client.get("/api/v1/projects", headers=api.auth("handler_zf")).json()
    assert [p["name"] for p in mine["items"]] == ["明年的绿道"]
    bad = api.client.post("/api/v1/projects", headers=office,
                          json={**ROAD, "planned_finish": "2026-02-01"})
    assert bad.status_code == 422 and bad.json()["code"] == "project_dates"


ISSUE = {"title": "幸福里小区办证", "category": "certificate", "lead_unit": "U-HW",
         "parties": [{"name": "王建国", "phone": "13812345678", "note": "业主代表"}],
         "lead_official": "张三（副市长）",
         "steps": [{"content": "梳理欠缴费用", "due": "2026-11-30"}]}


def test_a_unit_reads_the_parties_masked_and_the_office_signs_off_with_evidence(api: Api) -> None:
    created = api.client.post("/api/v1/legacy-issues", headers=api.auth("office01"), json=ISSUE)
    assert created.status_code == 201, created.text
    issue_id = created.json()["id"]
    assert created.json()["target_date"] == "2026-12-31"
    path = f"/api/v1/legacy-issues/{issue_id}"
    unit = api.client.get(path, headers=api.auth("handler_hw")).json()
    assert unit["parties"] == [{"name": "王**", "phone": "138****5678", "note": "业主代表"}]
    listed = api.client.get("/api/v1/legacy-issues", headers=api.auth("handler_hw")).json()
    assert listed["items"][0]["parties"][0]["name"] == "王**"
    assert api.client.get(path, headers=api.auth("leader01")).json()["parties"][0]["name"] == "王建国"
    early = api.client.post(f"{path}/signoff", headers=api.auth("office01"),
                            json={"evidence": "已发证"})
    assert early.status_code == 422 and early.json()["code"] == "legacy_target_not_reached"
    logged = api.client.post(f"{path}/progress", headers=api.auth("handler_hw"),
                             json={"note": "证书已发放", "status": "resolved", "step_done": 1})
    assert logged.status_code == 201, logged.text
    closed = api.client.post(f"{path}/signoff", headers=api.auth("office01"),
                             json={"evidence": "不动产权证书已发放 326 本"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    entries = api.client.get(path, headers=api.auth("handler_hw")).json()["entries"]
    assert [e["kind"] for e in entries] == ["signoff", "progress"]
