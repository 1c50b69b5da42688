"""The demo city X市 as `make demo` leaves it, in Chromium: every demo login's 工作台 has work in
each of its queues (each walked to its last page), the public rankings show the last complete
month, and the API docs render with no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.e2e.conftest import Server, Visit, running_server, watched
from tests.factories import local
from xiuhua.services.demo import DEMO_LOGINS, DEMO_PASSWORD, build_demo_city_on

pytestmark = pytest.mark.e2e

DEMO_NOW = local("2026-10-14 10:00")  # a Wednesday morning; September is the last whole month


def _build(engine: Engine) -> dict[str, str]:
    build_demo_city_on(engine, seed=5, months=2, now=DEMO_NOW)
    return {}


@pytest.fixture(scope="module")
def demo_server(sqlite_template: Path) -> Iterator[Server]:
    with running_server(sqlite_template, _build, DEMO_NOW) as found:
        yield found


@pytest.fixture
def demo_visit(browser: Any, demo_server: Server) -> Iterator[Visit]:
    with watched(browser, demo_server) as found:
        yield found


@pytest.mark.parametrize("login", [login for login, _ in DEMO_LOGINS])
def test_every_queue_of_every_demo_login_has_work(demo_visit: Visit, login: str) -> None:
    visit = demo_visit
    visit.login(login, DEMO_PASSWORD)
    keys = visit.page.locator("section.queue").evaluate_all("ss => ss.map(s => s.id.slice(4))")
    keys = [k for k in keys if k != "notices"]  # the unread notifications: an inbox, not work
    assert keys, f"{login} has no queue"
    for key in keys:
        section = f"#sec-{key}"
        total = int(visit.page.inner_text(f"{section} h2 .badge"))
        rows = visit.page.locator(f"{section} [data-case]").count()
        assert total > 0 and rows == min(total, 20), (login, key, total, rows)
        last = visit.page.locator(f"{section} .pager-last")
        if last.count():
            last.click()
            pages = -(-total // 20)
            visit.page.wait_for_function(
                f"() => document.querySelector('{section}').dataset.page === '{pages}'")
            assert visit.page.locator(f"{section} [data-case]").count() == total - (pages - 1) * 20
    visit.shot(f"demo-home-{login}")


def test_the_public_rankings_show_the_last_complete_month(demo_visit: Visit) -> None:
    demo_visit.go("/public/rankings")
    page = demo_visit.page
    assert page.locator("#period option:checked").inner_text().startswith("2026年9月") or \
        "2026-09" in (page.locator("#period option:checked").get_attribute("value") or "")
    assert "考核结果，发布于" in page.inner_text("main")
    assert page.locator("#period option[value='2026-10']").count() == 0  # still running
    demo_visit.shot("demo-rankings")


def test_dashboard_bar_charts_label_every_unit_and_grid_in_full(demo_visit: Visit) -> None:
    visit = demo_visit
    visit.login("leader01", DEMO_PASSWORD)
    visit.go("/dashboard")
    page = visit.page
    page.wait_for_function("() => window.XiuhuaDashboard && XiuhuaDashboard.charts['chart-units']")
    for chart in ("chart-units", "chart-hotspots"):
        found = page.evaluate(f"""() => {{
            const c = XiuhuaDashboard.charts['{chart}'], axis = c.getOption().yAxis[0];
            return [axis.data.length, axis.axisLabel.interval, axis.axisLabel.overflow,
                    document.getElementById('{chart}').clientHeight]; }}""")
        rows, interval, overflow, height = found
        assert rows >= 5 and interval == 0 and overflow == "break", (chart, found)
        assert height >= rows * 30, (chart, found)  # a row per item, not squeezed
    units = page.evaluate("XiuhuaDashboard.charts['chart-units'].getOption().yAxis[0].data.length")
    assert units >= 18  # every handling unit of X市
    visit.shot("demo-dashboard")
