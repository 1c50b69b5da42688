"""The pages in real headless Chromium: each role's home after login, the case page, a refused
action, a one-click dispatch, queues that refresh themselves, the map, and a phone-sized screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, Visit
from tests.e2e.scenario import NOW, report_one
from xiuhua.domain.choices import Source

pytestmark = pytest.mark.e2e

# login -> (heading, queue sections on the home)
HOMES = {
    "acceptor01": ("受理员工作台（监督中心）", ["new_reports", "closed_follow_up"]),
    "shift01": ("值班长工作台（监督中心）", ["to_file", "extensions", "suspended", "to_close"]),
    "dispatcher01": ("派遣员工作台（指挥中心）", ["to_dispatch"]),
    "handler_hw": ("处置单位工作台", ["my_overdue", "my_due_today", "my_due_later", "my_suspended"]),
    "inspector01": ("监督员工作台", ["my_tasks"]),
    "leader01": ("领导首页", ["overdue"]),
}


def queue(visit: Visit, key: str) -> list[str]:
    """Case numbers listed in a queue of the home page, in order."""
    return list(visit.page.locator(f"#sec-{key} [data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)"))


def row(visit: Visit, key: str, case_no: str) -> Any:
    return visit.page.locator(f"#sec-{key} [data-case='{case_no}']")


@pytest.mark.parametrize("login", list(HOMES))
def test_login_lands_on_the_home_of_the_role(visit: Visit, login: str) -> None:
    visit.login(login)
    heading, sections = HOMES[login]
    assert visit.page.url == visit.base + "/"
    assert visit.page.inner_text("h1") == heading
    for key in sections:
        assert visit.page.locator(f"#sec-{key}").count() == 1
    assert visit.page.locator("#counters .counter").count() >= 3
    visit.shot(f"home-{login}")


def test_acceptor_and_shift_leader_see_their_queues(visit: Visit, server: Server) -> None:
    cases = server.cases
    visit.login("acceptor01")
    assert queue(visit, "new_reports") == [cases["public"], cases["reported"]]  # newest first
    assert "核实中：张监督" in row(visit, "new_reports", cases["public"]).inner_text()
    assert queue(visit, "closed_follow_up") == [cases["closed"]]
    visit.go("/")  # the same browser session stays signed in
    visit.submit("button.link:has-text('退出')")
    assert "/login" in visit.page.url
    visit.login("shift01")
    assert queue(visit, "to_close") == [cases["checked"]]
    assert "申请延期 2 工作日" in row(visit, "extensions", cases["extension"]).inner_text()


def test_dispatcher_sees_the_suggested_unit_and_why(visit: Visit, server: Server) -> None:
    visit.login("dispatcher01")
    line = row(visit, "to_dispatch", server.cases["filed"])
    assert "建议派遣至测试街道办事处（全市属地规则（属地兜底））" in line.inner_text()
    assert line.locator("button").inner_text() == "派遣至测试街道办事处"


def test_unit_queues_group_the_work_by_deadline_and_colour_it(visit: Visit, server: Server) -> None:
    cases = server.cases
    visit.login("handler_hw")
    assert queue(visit, "my_overdue") == [cases["overdue"]]
    late = row(visit, "my_overdue", cases["overdue"])
    assert "overdue" in (late.get_attribute("class") or "")
    assert "已超时，截止于 10-14 11:10，超出 1 个工作日 6.3 工作小时" in late.inner_text()
    assert queue(visit, "my_due_today")[0] == cases["soon"]
    soon = row(visit, "my_due_today", cases["soon"])
    assert "warning" in (soon.get_attribute("class") or "")
    assert "剩余 45 工作分钟" in soon.inner_text()
    everything = [n for key in HOMES["handler_hw"][1] for n in queue(visit, key)]
    assert cases["extension"] not in everything  # another unit's case


def test_inspector_sees_verify_and_check_tasks(visit: Visit, server: Server) -> None:
    visit.login("inspector01")
    tasks = visit.page.inner_text("#sec-my_tasks")
    assert server.cases["public"] in tasks and "核实" in tasks
    assert server.cases["handled"] in tasks and "核查" in tasks


def test_case_page_shows_facts_map_timeline_and_countdown(visit: Visit, server: Server) -> None:
    visit.login("shift01")
    visit.go(f"/cases/{server.cases['checked']}")
    page = visit.page
    assert page.inner_text("h1") == f"案件 {server.cases['checked']}"
    assert "核查通过待结案" in page.inner_text(".case-head")
    steps = page.locator("ol.timeline li strong").all_inner_texts()
    assert steps == ["上报", "立案", "派遣", "处置反馈", "核查通过"]
    timeline = page.inner_text("ol.timeline")
    assert "处置单位：环卫中心" in timeline and "备注：已清运" in timeline
    assert "张监督（inspector01）" in timeline
    page.wait_for_selector("#case-map path.grid-outline")
    assert page.locator("#case-map .leaflet-marker-icon").count() == 1
    assert page.locator("#action-close summary").inner_text() == "结案"
    visit.shot("case-checked")
    visit.go(f"/cases/{server.cases['soon']}")
    assert "剩余 45 工作分钟" in page.inner_text("#assignments")


def test_refused_action_shows_its_reason_in_chinese(visit: Visit, server: Server) -> None:
    case_no = server.cases["overdue"]
    visit.login("handler_hw")
    visit.go(f"/cases/{case_no}")
    page = visit.page
    page.click("#action-return summary")
    page.fill("#return-reason", "不属于本单位职责")
    visit.submit("#action-return button[type=submit]")
    alert = page.locator("#action-return .alert-error")
    assert "已超过回退时限（派遣后 2wh），不能回退" in alert.inner_text()
    assert page.locator("#action-return").get_attribute("open") is not None
    assert page.input_value("#return-reason") == "不属于本单位职责"
    assert "处置中" in page.inner_text(".case-head")  # nothing changed
    visit.shot("case-refused-action")


def test_one_click_dispatch_from_the_queue(visit: Visit, server: Server) -> None:
    case_no = report_one(server.engine, "06010", (1, 1), Source.HOTLINE, NOW)
    visit.login("shift01")
    visit.submit(row(visit, "to_file", case_no).locator("button:has-text('立案')"))
    assert f"案件 {case_no} 已立案" in visit.page.inner_text(".alert-ok")
    visit.go("/")
    visit.submit("button.link:has-text('退出')")
    visit.login("dispatcher01")
    visit.submit(row(visit, "to_dispatch", case_no).locator("button"))
    assert f"案件 {case_no} 已派遣" in visit.page.inner_text(".alert-ok")
    assert case_no not in queue(visit, "to_dispatch")
    visit.go(f"/cases/{case_no}")
    assert "环卫中心" in visit.page.inner_text("#assignments")


def test_queues_and_counters_refresh_without_reloading(browser: Any, server: Server) -> None:
    from tests.e2e.conftest import open_visit

    context, visit = open_visit(browser, server)
    visit.page.clock.install()
    visit.login("acceptor01")
    visit.page.evaluate("window.notReloaded = true")
    before = len(queue(visit, "new_reports"))
    case_no = report_one(server.engine, "06010", (0, 0), Source.HOTLINE, NOW, "刚接到的热线")
    visit.page.clock.run_for(31_000)
    visit.page.wait_for_selector(f"#sec-new_reports [data-case='{case_no}']")
    assert len(queue(visit, "new_reports")) == before + 1
    assert visit.page.evaluate("window.notReloaded") is True
    context.close()
    assert visit.problems == []


def test_map_draws_grids_regions_and_case_points(visit: Visit, server: Server) -> None:
    visit.login("leader01")
    visit.go("/map")
    page = visit.page
    page.wait_for_selector("#city-map path.grid-shape")
    page.wait_for_function("() => document.getElementById('map-status').textContent.startsWith('共')")
    assert page.locator("#city-map path.grid-shape").count() == 9
    assert page.locator("#city-map path.community-shape").count() == 2
    assert page.locator("#city-map path.street-shape").count() == 1
    points = page.locator("#city-map path.case-point, #city-map .marker-cluster").count()
    assert points >= 1
    shaded = page.locator("#city-map path.grid-shape").evaluate_all(
        "ps => ps.filter(p => p.getAttribute('fill') !== '#ffffff').length")
    assert shaded >= 1  # heat shading of grids with cases
    visit.shot("map")
    page.locator("#city-map path.grid-shape").first.click(position={"x": 6, "y": 6})  # off the cluster
    page.wait_for_selector("#grid-panel .grid-info")
    panel = page.inner_text("#grid-panel")
    assert "责任单位" in panel and "测试街道办事处" in panel
    page.select_option("#f-scope", "overdue")
    page.click("#map-filter button[type=submit]")
    page.wait_for_function("() => document.getElementById('map-status').textContent === '共 1 件案件'")
    assert "scope=overdue" in page.url
    visit.shot("map-grid-panel")


def test_pages_fit_a_phone_screen(phone: Visit, server: Server) -> None:
    phone.login("inspector01")
    for name, path in (("home", "/"), ("case", f"/cases/{server.cases['handled']}"), ("map", "/map")):
        phone.go(path)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width}px wide"
        phone.shot(f"phone-{name}")
