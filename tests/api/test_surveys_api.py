"""Surveys over HTTP: the editors create and edit, evaluators enter interviews, staff read the
results; the public page takes one answer per device (a cookie), rate-limited; the composite
ranking of ``GET /api/v1/assessment/{period}`` names the survey source."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
from docx import Document
from openpyxl import load_workbook

from tests.api.conftest import Api
from tests.factories import STREET

API = "/api/v1/surveys"
SURVEY = {"title": "测试街道满意度", "region_code": STREET,
          "questions": [{"kind": "choice", "text": "街面是否整洁", "options": ["整洁", "一般", "不整洁"]},
                        {"kind": "scale", "text": "总体满意度"}]}


def create(api: Api, body: dict[str, Any] = SURVEY, login: str = "leader01", status: int = 201) -> Any:
    r = api.client.post(API, json=body, headers=api.auth(login))
    assert r.status_code == status, r.text
    return r.json()


def interview(api: Api, survey_id: int, values: dict[str, Any], login: str = "evaluator01",
              status: int = 201) -> Any:
    r = api.client.post(f"{API}/{survey_id}/answers", json={"values": values}, headers=api.auth(login))
    assert r.status_code == status, r.text
    return r.json()


def test_editors_create_evaluators_interview_and_staff_read_the_results(api: Api) -> None:
    survey = create(api)
    assert (survey["region_name"], survey["unit_code"], survey["answers"]) == ("测试街道", "U-JD1", 0)
    assert create(api, login="handler_hw", status=403)["code"] == "permission_denied"
    interview(api, survey["id"], {"1": "整洁", "2": 4})  # (100 + 75) ÷ 2
    interview(api, survey["id"], {"1": "一般", "2": "1"}, login="leader01")  # (50 + 0) ÷ 2
    assert interview(api, survey["id"], {"1": "整洁", "2": 5}, login="handler_hw", status=403)["code"] == \
        "permission_denied"
    refused = interview(api, survey["id"], {"1": "很好", "2": 5}, status=422)
    assert refused["code"] == "invalid_answer" and "第 1 题" in refused["detail"]
    r = api.client.get(f"{API}/{survey['id']}/answers", headers=api.auth("handler_hw"))
    assert r.status_code == 200, r.text
    results = r.json()
    assert (results["count"], results["score"]) == (2, 56.25)
    assert [a["score"] for a in results["answers"]] == [87.5, 25.0]
    assert {a["channel"] for a in results["answers"]} == {"interview"}
    assert results["questions"][0]["counts"] == {"整洁": 1, "一般": 1, "不整洁": 0}
    listed = api.client.get(API, headers=api.auth("inspector01")).json()
    assert [(s["id"], s["answers"]) for s in listed] == [(survey["id"], 2)]
    assert api.client.get(API, headers=api.auth("inspector01")).status_code == 200
    assert api.client.get(f"{API}/999", headers=api.auth("leader01")).status_code == 404


def test_a_survey_with_answers_keeps_its_questions(api: Api) -> None:
    survey = create(api)
    interview(api, survey["id"], {"1": "整洁", "2": 4})
    changed = {**SURVEY, "questions": SURVEY["questions"][:1]}
    r = api.client.put(f"{API}/{survey['id']}", json=changed, headers=api.auth("leader01"))
    assert r.status_code == 422 and r.json()["code"] == "survey_answered"
    r = api.client.put(f"{API}/{survey['id']}", json={**SURVEY, "title": "新标题", "active": False},
                       headers=api.auth("leader01"))
    assert r.status_code == 200 and (r.json()["title"], r.json()["active"]) == ("新标题", False)
    assert interview(api, survey["id"], {"1": "整洁", "2": 4}, status=404)["code"] == "survey_not_found"
    bad = create(api, {**SURVEY, "questions": [{"kind": "text", "text": "建议"}]}, status=422)
    assert bad["code"] == "invalid_survey"


def public_form(client: httpx.Client | Any, survey_id: int) -> str:
    page = client.get(f"/public/surveys/{survey_id}")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found[1]


def test_the_public_page_takes_one_answer_per_device(api: Api) -> None:
    survey = create(api)
    client = api.client
    client.cookies.clear()
    token = public_form(client, survey["id"])
    assert client.cookies.get("xh_device")
    sent = client.post(f"/public/surveys/{survey['id']}", data={"csrf_token": token, "a1": "整洁", "a2": "5"},
                       follow_redirects=False)
    assert sent.status_code == 303, sent.text
    assert "已填写过" in client.get(f"/public/surveys/{survey['id']}").text
    again = client.post(f"/public/surveys/{survey['id']}", data={"csrf_token": token, "a1": "不整洁", "a2": "1"})
    assert again.status_code == 409 and "已填写过" in again.text
    # another device (a fresh browser) answers once more; a form without a device cookie is refused
    client.cookies.clear()
    token = public_form(client, survey["id"])
    incomplete = client.post(f"/public/surveys/{survey['id']}", data={"csrf_token": token, "a1": "整洁"})
    assert incomplete.status_code == 422 and "第 2 题" in incomplete.text
    assert client.post(f"/public/surveys/{survey['id']}", data={"csrf_token": token, "a1": "一般", "a2": "3"},
                       follow_redirects=False).status_code == 303
    client.cookies.delete("xh_device", path="/public/surveys")
    refused = client.post(f"/public/surveys/{survey['id']}", data={"csrf_token": token, "a1": "一般", "a2": "3"})
    assert refused.status_code == 422 and "Cookie" in refused.text
    results = client.get(f"{API}/{survey['id']}/answers", headers=api.auth("leader01")).json()
    assert [(a["channel"], a["score"]) for a in results["answers"]] == [("public", 100.0), ("public", 50.0)]


def test_public_answers_are_rate_limited_per_address(api: Api, tmp_path: Path) -> None:
    survey = create(api)
    client = api.client
    statuses = []
    for _ in range(21):  # the public limit: 20 per hour
        client.cookies.clear()
        token = public_form(client, survey["id"])
        statuses.append(client.post(f"/public/surveys/{survey['id']}", follow_redirects=False,
                                    data={"csrf_token": token, "a1": "整洁", "a2": "5"}).status_code)
    assert statuses == [303] * 20 + [429]


COMPOSITE = """
[[sources]]
name = "cases"
weight = { street = 0.6, department = 1 }

[[sources]]
name = "survey"
weight = { street = 0.4 }
minimum_answers = 2
"""


def test_the_composite_ranking_names_the_survey_source(api: Api, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "assessment.toml").write_text(COMPOSITE, encoding="utf-8")
    survey = create(api)
    interview(api, survey["id"], {"1": "整洁", "2": 5})
    interview(api, survey["id"], {"1": "一般", "2": 3})
    api.clock.set("2026-11-03 09:00")
    r = api.client.get("/api/v1/assessment/2026-10", headers=api.auth("leader01"))
    assert r.status_code == 200, r.text
    units = {u["unit_code"]: u for u in r.json()["units"]}
    street = units["U-JD1"]
    assert [(s["name"], s["weight"], s["score"]) for s in street["sources"]] == [
        ("cases", 0.6, None), ("survey", 0.4, 75.0)]
    assert street["sources"][1]["figures"] == {"answers": 2, "minimum_answers": 2, "insufficient": False,
                                               "mean": 75.0}
    assert (street["score"], street["rank"]) == (75.0, 1)
    assert [s["name"] for s in units["U-HW"]["sources"]] == ["cases"]


def test_the_workbook_and_circular_have_the_survey_section(api: Api, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "assessment.toml").write_text(COMPOSITE, encoding="utf-8")
    survey = create(api)
    interview(api, survey["id"], {"1": "整洁", "2": 5})
    interview(api, survey["id"], {"1": "一般", "2": 3})
    api.clock.set("2026-11-03 09:00")
    xlsx = api.client.get("/api/v1/assessment/2026-10/workbook.xlsx", headers=api.auth("leader01"))
    assert xlsx.status_code == 200, xlsx.text
    rows = list(load_workbook(io.BytesIO(xlsx.content))["评分来源-问卷调查"].iter_rows(values_only=True))
    assert [(r[0], r[3]) for r in rows[1:] if r[0] == "U-JD1"] == [("U-JD1", 75.0)]
    docx = api.client.get("/api/v1/assessment/2026-10/circular.docx", headers=api.auth("leader01"))
    doc = Document(io.BytesIO(docx.content))
    text = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "答卷 2 份（最低 2 份）" in text and "问卷调查（案件处置无数据）" in text  # the street: no cases due
