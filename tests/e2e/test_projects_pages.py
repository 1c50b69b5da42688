"""重点项目 and 遗留问题 in real headless Chromium: the office enters a project through the form,
the lead unit reports progress with a photo from its phone, the office accepts it, and the
Gantt-style schedule and the map render; the legacy-issue ledger shows the parties masked to
a unit and in full to the office."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from tests.e2e.conftest import Server, watched
from tests.e2e.scenario import NOW
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import LegacyCategory, ProjectKind, Role
from xiuhua.domain.legacy import Party, Step
from xiuhua.services import legacy, projects
from xiuhua.store.db import transaction

pytestmark = pytest.mark.e2e

GANTT = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById('projects-gantt'));
  return chart ? chart.getOption().series.map(s => s.data.length) : null;
}"""


def _jpeg() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (60, 140, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_the_office_enters_a_project_the_unit_reports_and_the_gantt_renders(
        browser: Any, own_server: Server) -> None:
    with watched(browser, own_server) as office:
        office.login("office01")
        office.go("/projects")
        page = office.page
        page.fill("#p-name", "北环路环卫提升")
        page.select_option("#p-kind", "sanitation")
        page.select_option("#p-unit", "U-HW")
        page.fill("#p-start", "2026-09-01")
        page.fill("#p-finish", "2026-12-31")
        page.fill("#p-invest", "1200")
        page.fill("#p-lon", "117.001")
        page.fill("#p-lat", "36.649")
        office.submit("#project-form button[type=submit]")
        assert page.inner_text("h1") == "北环路环卫提升"
        project_path = page.url.removeprefix(own_server.url)
        assert page.inner_text("#project-colour") == "黄灯"  # not started by 09-01

    with watched(browser, own_server, width=375, height=740) as unit:  # the unit's phone
        unit.login("handler_hw")
        unit.go(project_path)
        page = unit.page
        page.fill("#r-percent", "30")
        page.select_option("#r-phase", "construction")
        page.fill("#r-on", "2026-09-05")
        page.fill("#r-note", "路面铣刨完成")
        page.set_input_files("#r-photos", files=[
            {"name": "site.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}])
        unit.submit("#progress-form button[type=submit]")
        assert "等待城管委办公室审核" in page.inner_text("main")
        assert page.locator("#reports img").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{project_path} is {width}px wide on a phone"

    with watched(browser, own_server) as office:
        office.login("office01")
        office.go(project_path)
        page = office.page
        office.submit("#reports form[action$='/accept'] button")
        assert "进度报告已采纳" in page.inner_text("main")
        assert page.inner_text("#project-progress").startswith("30%")
        assert page.inner_text("#project-colour") == "正常"
        page.wait_for_selector("#projects-gantt canvas")
        office.go("/projects")
        page.wait_for_function("() => document.body.dataset.ganttRows === '1'")
        assert page.evaluate(GANTT) == [1, 1]
        assert page.evaluate("document.body.dataset.mapProjects") == "1"
        page.wait_for_selector("#projects-map .leaflet-interactive")
        assert page.locator("#projects-table tr[data-colour='green']").count() == 1
        office.shot("projects")


def test_the_ledger_masks_the_parties_for_a_unit(browser: Any, own_server: Server) -> None:
    with transaction(own_server.engine) as session:
        legacy.create_issue(session, Principal("office01", Role.OFFICE), legacy.IssueInput(
            "幸福里小区办证", LegacyCategory.CERTIFICATE, "U-HW",
            parties=[Party("王建国", "13812345678", "业主代表")], lead_official="张三（副市长）",
            steps=[Step(1, "梳理欠缴费用", date(2026, 11, 30))]), NOW)
    with watched(browser, own_server) as unit:
        unit.login("handler_hw")
        unit.go("/legacy-issues")
        parties = unit.page.inner_text("#legacy-table .parties")
        assert "王**" in parties and "138****5678" in parties and "王建国" not in parties
        unit.page.click("#legacy-table a")
        unit.page.wait_for_selector("#legacy-progress-form")
        assert "王建国" not in unit.page.inner_text("main")
        assert unit.page.locator("#signoff-form").count() == 0
    with watched(browser, own_server) as office:
        office.login("office01")
        office.go("/legacy-issues")
        assert "王建国 13812345678" in office.page.inner_text("#legacy-table .parties")
        office.shot("legacy-issues")


def test_a_project_drawn_as_an_area_shows_on_the_map(browser: Any, own_server: Server) -> None:
    ring = [[117.0005, 36.6485], [117.0015, 36.6485], [117.0015, 36.6492], [117.0005, 36.6492],
            [117.0005, 36.6485]]
    with transaction(own_server.engine) as session:
        projects.create_project(session, Principal("office01", Role.OFFICE), projects.ProjectInput(
            "滨河公园提升", ProjectKind.GREENING, "U-HW", date(2026, 9, 1), date(2026, 12, 31),
            area={"type": "Polygon", "coordinates": [ring]}), NOW)
    with watched(browser, own_server) as leader:  # no page error: the outline is drawn
        leader.login("leader01")
        leader.go("/projects")
        leader.page.wait_for_selector("#projects-map path.leaflet-interactive")
        assert leader.page.evaluate("document.body.dataset.mapProjects") == "1"
