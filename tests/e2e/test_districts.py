"""Two-level command in the browser: a district command center's acceptor finds only its
district's cases in the search page and the map, cannot open another district's case and has
no city dashboard; the city's shift leader sees every district."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.api.conftest import PASSWORD_HASH
from tests.e2e.conftest import Server, running_server, watched
from tests.e2e.scenario import NOW
from tests.factories import ACCEPTOR, report
from tests.prefecture import build_prefecture, center


def _build(engine: Engine) -> dict[str, str]:
    build_prefecture(engine, NOW, PASSWORD_HASH)
    found = {}
    for name, cell in (("west", (0, 0)), ("east", (1, 3))):
        lon, lat = center(*cell)
        found[name] = report(engine, "2026-10-16 08:30", ACCEPTOR, lon=lon, lat=lat,
                             description=f"{name} 路边暴露垃圾")
    return found


@pytest.fixture(scope="module")
def prefecture(sqlite_template: Path) -> Iterator[Server]:
    with running_server(sqlite_template, _build) as found:
        yield found


def _rows(visit: Any) -> list[str]:
    return sorted(visit.page.locator("[data-case]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-case'))"))


def test_a_district_acceptor_sees_only_its_district(browser: Any, prefecture: Server) -> None:
    cases = prefecture.cases
    with watched(browser, prefecture) as visit:
        visit.login("acceptor_102")
        visit.go("/cases")
        assert _rows(visit) == [cases["west"]]
        streets = visit.page.locator("select[name='street'] option").all_inner_texts()
        assert "甲区一街道" in streets and "乙开发区一街道" not in streets
        assert visit.page.locator("nav a[href='/dashboard']").count() == 0
        visit.go(f"/cases/{cases['west']}")
        assert cases["west"] in visit.page.content()
    with watched(browser, prefecture) as visit:
        visit.login("acceptor_102")
        response = visit.page.request.get(f"{prefecture.url}/cases/{cases['east']}")
        assert response.status == 404


def test_the_city_center_sees_every_district(browser: Any, prefecture: Server) -> None:
    with watched(browser, prefecture) as visit:
        visit.login("shift01")
        visit.go("/cases")
        assert _rows(visit) == sorted(prefecture.cases.values())
        assert visit.page.locator("nav a[href='/dashboard']").count() == 1


def test_a_district_shift_leader_and_dispatcher_work_their_queues(browser: Any, prefecture: Server) -> None:
    west, east = prefecture.cases["west"], prefecture.cases["east"]
    with watched(browser, prefecture) as visit:
        visit.login("shift_102")
        assert visit.page.locator(f"#sec-to_file [data-case='{east}']").count() == 0
        line = visit.page.locator(f"#sec-to_file [data-case='{west}']")
        assert "立案" in line.locator("button").inner_text()
        visit.submit(line.locator("button"))
    with watched(browser, prefecture) as visit:
        visit.login("dispatcher_102")
        line = visit.page.locator(f"#sec-to_dispatch [data-case='{west}']")
        assert "派遣至市环卫中心" in line.locator("button").inner_text()
        visit.submit(line.locator("button"))
        visit.go(f"/cases/{west}")
        assert "市环卫中心" in visit.page.inner_text("main")
