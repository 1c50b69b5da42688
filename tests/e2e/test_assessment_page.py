"""考核评价 in real headless Chromium: last month by default, rankings with scores, grades and ranks,
the change against the previous period, the cases behind a figure (htmx panel), downloads of the
circular and the workbook from the browser session, unit staff limited to their own unit's
cases, a phone-sized screen, and a role the page is not for refused."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.api.conftest import Api
from tests.e2e.conftest import Server, Visit
from tests.e2e.test_pages_http import sign_in
from tests.unit.test_assessment import History, build_history
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Role
from xiuhua.store.cases import insert_cases
from xiuhua.store.db import transaction
from xiuhua.web.assessment import unit_table

pytestmark = pytest.mark.e2e
LEADER = Principal("leader01", Role.LEADER)


def unit_row(visit: Visit, code: str) -> str:
    return f"#rank-units tr[data-unit='{code}']"


def test_last_month_by_default_and_a_chosen_period(visit: Visit, server: Server) -> None:
    visit.login("leader01")
    visit.go("/assessment")
    page = visit.page
    assert page.inner_text("h1") == "考核评价"
    assert page.get_attribute("#assessment", "data-period") == "2026-09"
    assert page.eval_on_selector("#f-period", "s => s.value") == "2026-09"
    assert page.locator(unit_row(visit, "U-HW")).count() == 1  # every listed unit, even idle ones
    page.select_option("#f-period", "2026-10")
    visit.submit("form.assess-period button[type=submit]")
    assert "period=2026-10" in page.url
    assert "2026年10月考核结果" in page.inner_text("#assessment")
    assert "周期尚未结束" in page.inner_text("#assessment")
    header = page.inner_text("#rank-units thead")
    for column in ("名次", "得分", "等级", "较上期得分", "较上期名次"):
        assert column in header
    hw = page.inner_text(unit_row(visit, "U-HW"))
    assert "环卫中心" in hw and "样本不足" in hw  # fewer than 5 due this month
    assert page.locator("#rank-streets tr[data-region]").count() == 1
    assert page.locator("#rank-communities tr[data-region]").count() == 2
    visit.shot("assessment")


def test_drill_down_lists_the_cases_behind_a_figure(visit: Visit, server: Server) -> None:
    visit.login("leader01")
    visit.go("/assessment?period=2026-10")
    page = visit.page
    link = page.locator(f"{unit_row(visit, 'U-HW')} td[data-measure='dispatched'] a")
    count = int(link.inner_text())
    assert count >= 4
    link.click()
    page.wait_for_selector("#drill .drill[data-measure='dispatched']")
    assert page.locator("#drill tr[data-case]").count() == count
    assert "环卫中心 · 派遣数" in page.inner_text("#drill h2")
    hrefs = page.locator("#drill tr[data-case] a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert server.cases["closed"] and f"/cases/{server.cases['closed']}" in hrefs
    visit.shot("assessment-drill-down")
    page.locator(f"#drill a[href='/cases/{server.cases['closed']}']").click()
    page.wait_for_url(f"**/cases/{server.cases['closed']}")


def test_the_circular_and_the_workbook_download_from_the_browser(visit: Visit, server: Server) -> None:
    visit.login("shift01")
    visit.go("/assessment?period=2026-10")
    page = visit.page
    for button, name, part in (("#download-docx", "assessment-2026-10.docx", "word/document.xml"),
                               ("#download-xlsx", "assessment-2026-10.xlsx", "xl/workbook.xml")):
        with page.expect_download() as found:
            page.click(button)
        download = found.value
        assert download.suggested_filename == name
        with open(download.path(), "rb") as f:
            content = f.read()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert part in archive.namelist()
            if part == "word/document.xml":
                assert "通报" in archive.read(part).decode("utf-8")


def test_unit_staff_see_the_rankings_and_drill_into_their_own_unit_only(visit: Visit, server: Server) -> None:
    visit.login("handler_hw")
    visit.go("/assessment?period=2026-10")
    page = visit.page
    assert page.locator("#rank-units tr[data-unit]").count() >= 3  # the whole ranking is public
    assert page.locator(f"{unit_row(visit, 'U-HW')} a[data-drill]").count() >= 1
    assert page.locator(f"{unit_row(visit, 'U-ZF')} a[data-drill]").count() == 0
    assert page.locator("#rank-streets a[data-drill]").count() == 0
    response = visit.go("/assessment/2026-10/units/U-ZF/cases?measure=dispatched")
    assert response.status == 403
    assert "只能查看本单位" in page.inner_text("main")
    visit.problems[:] = [p for p in visit.problems if "403" not in p]  # the refusal itself
    visit.go("/assessment/2026-10/units/U-HW/cases?measure=dispatched")  # a page of its own
    assert page.locator("#drill tr[data-case]").count() >= 4


def test_a_period_not_begun_is_refused_next_to_the_field(visit: Visit) -> None:
    visit.login("leader01")
    response = visit.go("/assessment?period=2027-01")
    assert response.status == 422
    assert "尚未开始" in visit.page.inner_text("#period-error")
    visit.problems[:] = [p for p in visit.problems if "422" not in p]


def test_assessment_fits_a_phone_screen(phone: Visit, server: Server) -> None:
    phone.login("leader_hw")
    phone.go("/assessment?period=2026-10")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"/assessment is {width}px wide"
    phone.shot("phone-assessment")


def test_a_role_it_is_not_for_is_refused(visit: Visit) -> None:
    visit.login("inspector01")
    assert "考核评价" not in visit.page.inner_text("nav")
    response = visit.go("/assessment")
    assert response.status == 403
    visit.problems[:] = [p for p in visit.problems if "403" not in p]


# --- over HTTP, on both backends: the assessment tests' October, whose units have scores ----------


@pytest.fixture
def october(api: Api) -> History:
    history = build_history()
    with transaction(api.engine) as session:
        insert_cases(session, list(history.cases.values()))
    api.clock.set("2026-11-03 09:00")
    return history


def row(html: str, attribute: str, code: str) -> str:
    found = re.search(rf'<tr {attribute}="{code}".*?</tr>', html, re.DOTALL)
    assert found, f"no row for {code}"
    return found.group(0)


def cell(html: str, label: str) -> str:
    found = re.search(rf'data-label="{label}"[^>]*>(.*?)</td>', html, re.DOTALL)
    assert found, f"no cell {label}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_rankings_show_scores_grades_and_ranks(api: Api, october: History) -> None:
    sign_in(api.client, "leader01")
    html = api.client.get("/assessment").text  # last month: October
    assert 'data-period="2026-10"' in html
    hw, zf = row(html, "data-unit", "U-HW"), row(html, "data-unit", "U-ZF")
    shown = (cell(hw, "名次"), cell(hw, "得分"), cell(hw, "等级"), cell(hw, "按期处置率"))
    assert shown == ("2", "80.00", "B", "75.0%")
    assert (cell(zf, "名次"), cell(zf, "得分"), cell(zf, "等级")) == ("1", "92.00", "A")
    assert cell(hw, "较上期得分") == "—"  # September had too few cases to score
    street = row(html, "data-region", "370181001")
    assert cell(street, "名次") == "1" and cell(street, "按期结案率").endswith("%")


def test_drill_down_panel_lists_exactly_the_counted_cases(api: Api, october: History) -> None:
    sign_in(api.client, "leader01")
    r = api.client.get("/assessment/2026-10/units/U-HW/cases", params={"measure": "overdue_unhandled"},
                       headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text  # a panel, not a page
    assert 'data-count="1"' in r.text and f'href="/cases/{october.no("C5")}"' in r.text
    r = api.client.get("/assessment/2026-10/units/U-HW/cases", params={"measure": "no_such"})
    assert r.status_code == 422 and "未知的考核指标" in r.text
    sign_in(api.client, "handler_zf")
    r = api.client.get("/assessment/2026-10/units/U-HW/cases", params={"measure": "dispatched"})
    assert r.status_code == 403
    r = api.client.get("/assessment/2026-10/regions/370181001/cases", params={"measure": "filed"})
    assert r.status_code == 403
    html = api.client.get("/assessment?period=2026-10").text
    assert "data-drill" in row(html, "data-unit", "U-ZF") and "data-drill" not in row(html, "data-unit", "U-HW")


def test_the_circular_downloads_with_the_browser_session(api: Api, october: History) -> None:
    sign_in(api.client, "handler_hw")
    html = api.client.get("/assessment?period=2026-10").text
    link = re.search(r'id="download-docx" href="([^"]+)"', html)
    assert link
    r = api.client.get(link.group(1))  # the session cookie, no bearer token
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_peoples_figures_on_the_page_only_for_the_center_and_leaders(api: Api, october: History) -> None:
    """The same rule as the JSON and the files (domain.access.sees_person_figures)."""
    sign_in(api.client, "dispatcher01")
    html = api.client.get("/assessment?period=2026-10").text
    assert 'id="rank-inspectors"' in html and 'id="rank-staff"' in html and "inspector02" in html
    for login in ("handler_hw", "leader_hw"):
        sign_in(api.client, login)
        html = api.client.get("/assessment?period=2026-10").text
        assert 'data-unit="U-HW"' in html and "data-region=" in html  # units and regions
        assert 'id="rank-inspectors"' not in html and 'id="rank-staff"' not in html, login
        assert not [who for who in ("inspector01", "inspector02", "dispatcher01", "shift01") if who in html], login


def test_month_on_month_changes_of_score_and_rank() -> None:
    current = [{"unit_code": "A", "score": 85.5, "rank": 1}, {"unit_code": "B", "score": 70.0, "rank": 2},
               {"unit_code": "C", "score": None, "rank": None}]
    previous = [{"unit_code": "A", "score": 80.25, "rank": 2}, {"unit_code": "B", "score": 90.0, "rank": 1}]
    rows = {r["unit_code"]: r for r in unit_table({"A": "职能部门"}, current, previous, LEADER)}
    assert (rows["A"]["score_change"], rows["A"]["rank_change"], rows["A"]["kind"]) == (5.25, 1, "职能部门")
    assert (rows["B"]["score_change"], rows["B"]["rank_change"], rows["B"]["prev_rank"]) == (-20.0, -1, 1)
    assert (rows["C"]["score_change"], rows["C"]["rank_change"]) == (None, None)
