"""专项行动 and 督查督办 in real headless Chromium: the office imports a plan, the lead unit reports
progress with a photo from the phone form, the office accepts it; a month later the task turns
yellow (lagging), the office issues an order from the task page, the unit replies, the office
accepts and signs it off; the unit's monthly figures (tasks source enabled) and the circular's
section 重点任务推进情况 show it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import Workbook
from PIL import Image

from tests.e2e.conftest import Server, running_server, watched
from tests.e2e.scenario import build_scenario
from tests.factories import build_tiny_city, local
from xiuhua.domain.assessment import parse_config
from xiuhua.services import assessment
from xiuhua.services.city import load_city
from xiuhua.store.db import transaction

pytestmark = pytest.mark.e2e
SOURCES = '[[sources]]\nname = "cases"\nweight = 0.5\n\n[[sources]]\nname = "tasks"\nweight = 0.5\n'


@pytest.fixture
def plan_server(sqlite_template: Path) -> Iterator[Server]:
    def build(engine: Any) -> dict[str, str]:
        build_tiny_city(engine)
        return build_scenario(engine)

    with running_server(sqlite_template, build) as found:
        yield found


def plan_file(folder: Path) -> Path:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["2026年城市建设管理“双十”专项行动任务分解表"])
    ws.append(["序号", "任务", "工作内容", "牵头单位", "配合单位", "责任人", "完成时限", "开始时间"])
    ws.append(["1", "十大管理行动", None, None, None, None, None, None])
    ws.append(["1.1", "背街小巷环境整治", "整治背街小巷 30 条", "环卫中心", "城市管理综合执法局", "王五（科长）",
               "2026-12-31", "2026-10-12"])
    path = folder / "plan.xlsx"
    book.save(path)
    return path


def photo_file(folder: Path) -> Path:
    path = folder / "scene.jpg"
    Image.new("RGB", (64, 48), (90, 140, 60)).save(path, format="JPEG")
    return path


def test_a_plan_from_import_to_an_order_signed_off(browser: Any, plan_server: Server, tmp_path: Path) -> None:
    with watched(browser, plan_server) as office:
        office.login("office01")
        office.go("/plans")
        office.page.fill("#plan-name", "双十专项行动")
        office.page.set_input_files("#plan-file", str(plan_file(tmp_path)))
        office.submit("#plan-import button[type=submit]")
        plan_url = office.page.url
        assert "/plans/" in plan_url and "计划已导入" in office.page.inner_text("main")
        assert office.page.inner_text("tr[data-code='1.1'] .badge") == "正常推进"
    with watched(browser, plan_server, width=375, height=740) as unit:  # the lead unit's phone
        unit.login("handler_hw")
        unit.go("/my-tasks")
        unit.page.click(".my-task[data-code='1.1'] summary")
        form = unit.page.locator(".my-task[data-code='1.1'] form")
        form.locator("input[name=percent]").fill("10")
        form.locator("textarea[name=text]").fill("已整治 3 条，照片见附件")
        form.locator("input[name=photos]").set_input_files(str(photo_file(tmp_path)))
        unit.submit(form.locator("button[type=submit]"))
        assert "进度已报送" in unit.page.inner_text("main")
        assert unit.page.locator(".report-item img.thumb").count() == 1
    with watched(browser, plan_server) as office:
        office.login("office01")
        office.go(plan_url.removeprefix(plan_server.url) + "/tasks/1.1")
        office.submit("form[action$='/accept'] button[type=submit]")
        assert "已采纳" in office.page.inner_text(".report-item")
    plan_server.clock[0] = local("2026-11-10 10:00")  # a month on, no new report: lagging
    with watched(browser, plan_server) as office:
        office.login("office01")
        office.go(plan_url.removeprefix(plan_server.url))
        badge = office.page.locator("tr[data-code='1.1'] .badge")
        assert badge.inner_text() == "滞后" and "st-lagging" in (badge.get_attribute("class") or "")
        office.page.click("tr[data-code='1.1'] a")
        office.page.wait_for_load_state()
        office.page.fill("#order-content", "请于 10 个工作日内加快推进并书面回复")
        office.submit("#order-from-task button[type=submit]")
        order_url = office.page.url.removeprefix(plan_server.url)
        assert office.page.inner_text("#order-level") == "蓝色"
        assert "督办〔2026〕1号" in office.page.inner_text("h1")
    plan_server.clock[0] = local("2026-11-12 10:00")
    with watched(browser, plan_server, width=375, height=740) as unit:
        unit.login("handler_hw")
        unit.go("/my-tasks")
        unit.page.click("a:has-text('督办〔2026〕1号')")
        unit.page.wait_for_load_state()
        unit.page.fill("#reply-text", "已增派 2 个作业班组，11 月底前完成")
        unit.submit("#order-reply button[type=submit]")
        assert unit.page.inner_text("#order-state") == "已回复待审核"
    with watched(browser, plan_server) as office:
        office.login("office01")
        office.go(order_url)
        office.submit("form[action$='/accept'] button[type=submit]")
        office.submit("form[action$='/signoff'] button[type=submit]")
        assert office.page.inner_text("#order-state").startswith("已销号（按期回复）")
        circular = office.page.request.get(plan_server.url + "/api/v1/assessment/2026-11/circular.docx")
        assert circular.ok
        body = circular.body()
        office.shot("plans-order")
    text = [p.text for p in Document(io.BytesIO(body)).paragraphs]
    assert "五、重点任务推进情况" in text
    assert any("环卫中心：1.1 背街小巷环境整治（滞后" in line for line in text)
    with transaction(plan_server.engine) as session:
        figures = assessment.assess_period(session, load_city(session), "2026-11", parse_config(SOURCES),
                                           local("2026-12-01 00:00"))
    hw = next(u for u in figures["units"] if u["unit_code"] == "U-HW")
    tasks = next(s for s in hw["sources"] if s["name"] == "tasks")["figures"]
    assert tasks["orders_due"] == 1 and tasks["order_on_time_rate"] == 1.0
    assert [t["code"] for t in tasks["tasks"]] == ["1.1"]
