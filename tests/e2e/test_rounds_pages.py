"""考评 in Chromium: an evaluator plans a round from the sample preview, walks it on a 375 px
phone page — two deductions with photos, the second while the browser is offline (it waits in
the offline queue and is sent when the network returns) — closes the round (rectification cases
for the responsible units) and publishes it (the street office's field score appears)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from shapely.geometry import Point
from sqlalchemy import Engine, select

from tests.api.conftest import PASSWORD_HASH
from tests.e2e.conftest import CSP_WATCH, Server, Visit, _watch, running_server
from tests.e2e.scenario import NOW, build_scenario
from tests.factories import build_tiny_city, center
from xiuhua.domain.assessment import Period
from xiuhua.domain.choices import DeductionRule, Role, Source
from xiuhua.domain.evaluation import EVALUATION, EvaluationSettings, EvaluationSource, Item, Standard
from xiuhua.domain.sources import UnitFacts
from xiuhua.services import accounts
from xiuhua.services import evaluation as service
from xiuhua.services.city import load_city
from xiuhua.store import evaluation as store
from xiuhua.store.db import transaction
from xiuhua.store.tables import assignments, cases, round_deductions

ROAD, PARK = center(0, 0), center(1, 2)
OFFLINE = "ERR_INTERNET_DISCONNECTED"


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def build(engine: Engine) -> dict[str, str]:
    build_tiny_city(engine)
    found = build_scenario(engine)
    with transaction(engine) as session:
        accounts.add_user(session, "eval01", Role.EVALUATOR, NOW, name="王考评", password_hash=PASSWORD_HASH)
        items = (Item(("干净", "道路保洁"), "路面有垃圾", Fraction(12), DeductionRule.PER_OCCURRENCE,
                      Fraction(1), frozenset({"主次干道"}), "06010"),
                 Item(("整洁", "园林绿化"), "绿地内有垃圾杂物", Fraction(10), DeductionRule.PER_OCCURRENCE,
                      Fraction(2), frozenset({"公园"}), "06017"),
                 Item(("安全",), "设施破损", Fraction(8), DeductionRule.PASS_FAIL, Fraction(8),
                      frozenset(), "06013"))
        store.save_standard(session, Standard("月度考评标准", 2026, items), NOW, None)
        city = load_city(session)
        places = (("P-ROAD", "经十路", "主次干道", ROAD), ("P-PARK", "泉城公园", "公园", PARK))
        for code, name, kind, (lon, lat) in places:
            service.save_point(session, city, service.PointInput(code, name, kind, Point(lon, lat)),
                               EvaluationSettings())
    return found


@pytest.fixture
def round_server(sqlite_template: Path) -> Iterator[Server]:
    with running_server(sqlite_template, build) as found:
        yield found


def field_score(engine: Engine, unit: str) -> Fraction | None:
    with transaction(engine) as session:
        evidence = service.period_evidence(session, None, Period.parse("2026-10"))
    return EvaluationSource().result(UnitFacts(unit, None, {}, {EVALUATION: evidence.get(unit)} if unit in evidence
                                               else {})).score


def phone_at(browser: Any, server: Server, lon: float, lat: float) -> tuple[Any, Visit]:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", geolocation={"longitude": lon, "latitude": lat},
                                  permissions=["geolocation"], is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    context.add_init_script(CSP_WATCH)
    found = Visit(context.new_page(), server.url)
    _watch(found)
    return context, found


def record(phone: Visit, item: str, count: str, colour: tuple[int, int, int]) -> None:
    page = phone.page
    page.select_option("#d-item", value=page.locator("#d-item option", has_text=item).get_attribute("value"))
    page.fill("#d-count", count)
    page.fill("#d-note", "东侧人行道")
    page.set_input_files("#d-photos", files=[{"name": "scene.jpg", "mimeType": "image/jpeg",
                                              "buffer": jpeg(colour)}])
    page.wait_for_function("() => document.getElementById('photo-note').textContent.includes('已记录拍摄位置')")
    page.click("#add-deduction")


def deductions(engine: Engine) -> int:
    with transaction(engine) as session:
        return len(session.execute(select(round_deductions.c.id)).all())


def test_a_round_from_plan_to_published_field_score(browser: Any, round_server: Server) -> None:
    desk_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                       timezone_id="Asia/Shanghai")
    desk = Visit(desk_context.new_page(), round_server.url)
    _watch(desk)
    desk.login("eval01")
    desk.go("/evaluation/points")  # the map layer of the places
    desk.page.wait_for_function("() => document.querySelectorAll('#points-map path.leaflet-interactive').length === 2")
    desk.go("/evaluation/rounds/new?standard=1&period=2026-10&seed=5&per_kind=1")
    assert desk.page.locator("#sample-preview tbody tr").count() == 2
    desk.submit("#plan-round")
    round_id = int(desk.page.url.rstrip("/").split("/")[-1])
    assert field_score(round_server.engine, "U-JD1") is None

    context, phone = phone_at(browser, round_server, ROAD[0] + 0.0002, ROAD[1])
    phone.login("eval01")
    phone.go(f"/evaluation/rounds/{round_id}/walk")
    page = phone.page
    page.wait_for_function("() => document.getElementById('point-name').textContent.includes('经十路')")
    record(phone, "路面有垃圾", "3", (200, 60, 60))
    # sent at once (online): the list shows the server's record, nothing waits
    page.wait_for_function("""() => {
        const list = document.getElementById('point-deductions').textContent;
        return list.includes('路面有垃圾 × 3') && !list.includes('待发送')
            && document.getElementById('queue-status').hidden; }""")
    assert deductions(round_server.engine) == 1

    context.set_offline(True)
    context.set_geolocation({"longitude": PARK[0], "latitude": PARK[1]})
    page.click("#next-point")
    page.wait_for_function("() => document.getElementById('point-name').textContent.includes('泉城公园')")
    record(phone, "绿地内有垃圾", "1", (60, 160, 60))
    page.wait_for_function("() => document.getElementById('queue-status').textContent.includes('1 条记录等待发送')")
    assert "待发送" in page.text_content("#point-deductions")
    assert deductions(round_server.engine) == 1  # still waiting in the browser
    context.set_offline(False)
    page.wait_for_function("() => document.getElementById('queue-status').hidden", timeout=30_000)
    assert deductions(round_server.engine) == 2
    context.close()
    assert [p for p in phone.problems if OFFLINE not in p] == []

    desk.go(f"/evaluation/rounds/{round_id}")
    desk.submit("#close-round")
    assert "生成整改案件 2 件" in desk.page.text_content(".alert")
    with transaction(round_server.engine) as session:
        made = session.execute(select(cases.c.case_no, cases.c.category_code)
                               .where(cases.c.source == Source.EVALUATION.value)).all()
        units = {r.category_code: session.execute(select(assignments.c.unit_code)
                                                  .where(assignments.c.case_no == r.case_no)).scalar_one()
                 for r in made}
    assert units == {"06010": "U-HW", "06017": "U-ZF"}  # by the tiny city's responsibility matrix
    desk.submit("#publish-round")
    assert "计入 2026-10 考核" in desk.page.text_content(".alert")
    # road: 12 + 8 points, 3 lost → 85; park: 10 + 8, 2 lost → 88.89; the street office
    # answers for both points here
    assert field_score(round_server.engine, "U-JD1") == (85 + Fraction(800, 9)) / 2
    assert desk.page.text_content("#by-street .street-score") == "86.94"
    desk_context.close()
    assert desk.problems == []
