"""The assessment page's score sources drill down (pages over HTTP, both backends): with
``evaluation`` and ``tasks`` enabled in assessment.toml, a unit's field score links to the rounds
booked into the period (that unit's points) and its tasks score to its tasks, whose page links to
its supervision orders; each link only for those the page behind it lets in."""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.conftest import Api
from tests.api.test_plans_api import XLSX, plan_file
from tests.e2e.test_pages_http import sign_in

SOURCES = """
[[sources]]
name = "cases"
weight = 0.5

[[sources]]
name = "evaluation"
weight = 0.3

[[sources]]
name = "tasks"
weight = 0.2
"""


def links(html: str, unit: str) -> dict[str, str | None]:
    """Source name → its drill-down link (None: no link) in ``unit``'s row."""
    row = re.search(rf'<tr data-unit="{unit}".*?</tr>', html, re.DOTALL)
    assert row, f"no row of {unit}"
    found = {}
    for name, body in re.findall(r'data-source="([a-z_]+)">(.*?)</span>', row.group(0), re.DOTALL):
        href = re.search(r'<a href="([^"]+)"', body)
        found[name] = href.group(1).replace("&amp;", "&") if href else None
    return found


def test_the_field_score_and_the_tasks_score_drill_down(api: Api, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "assessment.toml").write_text(SOURCES, encoding="utf-8")
    for lead, name in (("环卫中心", "环卫专项"), ("测试街道办事处", "街道专项")):
        made = api.client.post("/api/v1/plans", headers=api.auth("office01"), data={"name": name},
                               files={"file": ("plan.xlsx", plan_file(lead), XLSX)})
        assert made.status_code == 201, made.text
    api.clock.set("2026-11-03 09:00")

    sign_in(api.client, "leader01")
    page = api.client.get("/assessment?period=2026-10")
    assert page.status_code == 200, page.text
    assert links(page.text, "U-HW") == {
        "cases": "/assessment/2026-10/units/U-HW/cases?measure=due",
        "evaluation": "/evaluation?period=2026-10&unit=U-HW", "tasks": "/plans?unit=U-HW"}
    rounds = api.client.get("/evaluation?period=2026-10&unit=U-HW")
    assert rounds.status_code == 200 and 'id="round-filter"' in rounds.text
    plans = api.client.get("/plans?unit=U-HW")
    assert plans.status_code == 200
    assert "环卫专项" in plans.text and "街道专项" not in plans.text  # only the plans with its tasks
    assert 'href="/supervision?unit=U-HW"' in plans.text and "/plans/1?unit=U-HW" in plans.text
    assert "街道专项" in api.client.get("/plans").text
    orders = api.client.get("/supervision?unit=U-HW")
    assert orders.status_code == 200 and 'id="unit-filter"' in orders.text

    sign_in(api.client, "handler_hw")  # a unit follows its own figures only
    page = api.client.get("/assessment?period=2026-10")
    assert links(page.text, "U-HW")["tasks"] == "/plans?unit=U-HW"
    assert links(page.text, "U-HW")["evaluation"] == "/evaluation?period=2026-10&unit=U-HW"
    assert links(page.text, "U-ZF") == {"cases": None, "evaluation": None, "tasks": None}
