"""领导驾驶舱 in real headless Chromium: the charts render (a canvas and series data in each ECharts
instance), the counters refresh without reloading, it fits a phone, and roles it is not for are
refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Server, Visit, open_visit
from tests.e2e.scenario import NOW

pytestmark = pytest.mark.e2e

CHARTS = ("chart-funnel", "chart-trend", "chart-categories", "chart-units", "chart-hotspots")
SERIES = """id => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  return chart ? chart.getOption().series.map(s => s.data.length) : null;
}"""


def counter(visit: Visit, scope: str, key: str) -> int:
    return int(visit.page.inner_text(f".counter[data-scope='{scope}'][data-key='{key}'] .value"))


def test_dashboard_charts_render_with_the_days_figures(visit: Visit, server: Server) -> None:
    visit.login("leader01")
    visit.go("/dashboard")
    page = visit.page
    assert page.inner_text("h1") == "领导驾驶舱"
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart} canvas")
        lengths = page.evaluate(SERIES, chart)
        assert lengths and all(n > 0 for n in lengths), f"{chart}: {lengths}"
    assert page.evaluate(SERIES, "chart-trend") == [30, 30]
    assert page.evaluate(SERIES, "chart-funnel") == [6]
    assert counter(visit, "this_month", "reported") >= 9  # the scenario's October cases
    assert counter(visit, "this_month", "overdue") >= 1
    assert page.locator("#blind-list li").count() >= 1
    visit.shot("dashboard")


def test_counters_refresh_without_reloading(browser: Any, server: Server) -> None:
    context, visit = open_visit(browser, server)
    page = visit.page
    try:
        page.clock.install()
        visit.login("leader01")
        visit.go("/dashboard")
        page.evaluate("window.notReloaded = true")
        before = page.inner_text("#dash-asof")
        server.clock[0] = NOW + timedelta(hours=6)  # later that day: more deadlines have passed
        page.clock.run_for(31_000)
        page.wait_for_function(f"() => document.getElementById('dash-asof').textContent !== {before!r}")
        assert page.inner_text("#dash-asof").endswith("16:00")
        assert page.evaluate("window.notReloaded") is True
    finally:
        server.clock[0] = NOW
        context.close()
    assert visit.problems == []


def test_dashboard_fits_a_phone_screen(phone: Visit, server: Server) -> None:
    phone.login("shift01")
    phone.go("/dashboard")
    phone.page.wait_for_selector("#chart-trend canvas")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"/dashboard is {width}px wide"
    phone.shot("phone-dashboard")


@pytest.mark.parametrize("login", ["handler_hw", "inspector01"])
def test_roles_it_is_not_for_are_refused(visit: Visit, login: str) -> None:
    visit.login(login)
    assert "领导驾驶舱" not in visit.page.inner_text("nav")
    response = visit.go("/dashboard")
    assert response.status == 403
    assert "不对" in visit.page.inner_text("main")
    visit.problems[:] = [p for p in visit.problems if "403" not in p]  # the refusal itself
