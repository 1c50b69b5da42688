"""The pages under their Content-Security-Policy in real headless Chromium: every page of every
menu, the map's tooltip and grid panel, the dashboard's chart tooltips and the public portal run
with no violation (the ``visit`` fixture fails a test on any "Refused to …" console error or
securitypolicyviolation event); and names of regions and grids holding HTML show as text, with
the CSP switched off, so that the escaping holds on its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from tests.e2e.conftest import Server, Visit, open_visit
from xiuhua.store.city import bump_model_version
from xiuhua.store.tables import regions

pytestmark = pytest.mark.e2e

PAYLOAD = "<img src=x onerror=window.__xss=1>"
CHARTS = ("chart-funnel", "chart-trend", "chart-categories", "chart-units", "chart-hotspots")
SHOW_TIPS = """id => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  chart.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: 0 });
  return true;
}"""

HOTSPOT_NAMES = """() => echarts.getInstanceByDom(document.getElementById("chart-hotspots"))
  .getOption().yAxis[0].data"""

PAGES = {
    "leader01": ["/", "/cases", "/dashboard", "/assessment", "/assessment?period=2026-10"],
    "inspector01": ["/", "/report", "/cases"],
    "admin01": ["/admin", "/admin/rules", "/admin/units", "/admin/categories", "/admin/geodata",
                "/admin/calendar", "/admin/permissions", "/admin/weights", "/admin/users",
                "/admin/users/inspector01"],
}


def csp_of(response: Any) -> str:
    return str(response.headers.get("content-security-policy", ""))


def hover_a_grid(page: Any) -> None:
    page.wait_for_selector("#city-map path.grid-shape")
    page.wait_for_function("() => document.getElementById('map-status').textContent.startsWith('共')")
    page.locator("#city-map path.grid-shape").first.hover(position={"x": 6, "y": 6})
    page.wait_for_selector(".leaflet-tooltip")


def show_chart_tips(page: Any) -> None:
    for chart in CHARTS:
        page.wait_for_selector(f"#{chart} canvas")
        page.evaluate(SHOW_TIPS, chart)


@pytest.mark.parametrize("login", list(PAGES))
def test_every_page_runs_under_the_policy(visit: Visit, server: Server, login: str) -> None:
    visit.login(login)
    for path in PAGES[login]:
        response = visit.go(path)
        assert response.status == 200, path
        assert "script-src 'self'" in csp_of(response), path
        assert response.headers["x-frame-options"] == "DENY"
    visit.go(f"/cases/{server.cases['checked']}")
    visit.page.wait_for_selector("#case-map path.grid-outline")


def test_the_map_and_the_dashboard_tooltips_run_under_the_policy(visit: Visit) -> None:
    visit.login("leader01")
    visit.go("/map")
    hover_a_grid(visit.page)
    visit.shot("map-tooltip")
    visit.page.locator("#city-map path.grid-shape").first.click(position={"x": 6, "y": 6})
    visit.page.wait_for_selector("#grid-panel .grid-info")
    visit.go("/dashboard")
    show_chart_tips(visit.page)
    visit.page.wait_for_timeout(300)  # a refused inline style would be reported by now
    visit.shot("dashboard-tooltip")


def test_the_public_portal_runs_under_the_policy(phone: Visit) -> None:
    for path in ("/public", "/public/report", "/public/track", "/public/rankings", "/login"):
        response = phone.go(path)
        assert "frame-ancestors 'none'" in csp_of(response), path
    phone.go("/public/report")
    phone.page.wait_for_selector("#report-map path.grid-shape")


@pytest.fixture
def no_csp_visit(browser: Any, own_server: Server) -> Iterator[Visit]:
    """A tab that ignores the CSP (so that it is the escaping under test), on a server where
    every street, community and grid is named ``PAYLOAD``."""
    with own_server.engine.begin() as conn:
        conn.execute(update(regions).values(name=PAYLOAD))
        bump_model_version(conn)
    context, visit = open_visit(browser, own_server, bypass_csp=True)
    yield visit
    context.close()
    assert visit.problems == [], "\n".join(visit.problems)


def test_names_holding_html_show_as_text_in_map_and_charts(no_csp_visit: Visit) -> None:
    visit, page = no_csp_visit, no_csp_visit.page
    visit.login("leader01")
    visit.go("/map")
    hover_a_grid(page)
    tooltip = page.locator(".leaflet-tooltip")
    assert PAYLOAD in tooltip.inner_text()
    assert tooltip.locator("img").count() == 0
    page.locator("#city-map path.grid-shape").first.click(position={"x": 6, "y": 6})
    page.wait_for_selector("#grid-panel .grid-info")
    assert PAYLOAD in page.inner_text("#grid-panel")
    visit.go("/dashboard")
    show_chart_tips(page)
    hotspots = page.evaluate(HOTSPOT_NAMES)
    assert hotspots and all(PAYLOAD in name for name in hotspots)  # in the tooltip just shown
    page.wait_for_timeout(300)
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("() => window.__xss") is None
