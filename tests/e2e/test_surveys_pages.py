"""问卷调查 in real headless Chromium: a leader builds a street's survey in the editor; a citizen
answers it on a phone-sized public page; a second answer from the same phone is refused; the
results page shows the answers with their scores, and the composite ranking of 考核评价 shows the
survey source beside the case source, drilling down to the answers behind it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, Visit, watched
from tests.e2e.scenario import NOW
from xiuhua.services import surveys
from xiuhua.services.city import load_city
from xiuhua.store.db import transaction

pytestmark = pytest.mark.e2e

COMPOSITE = """
[[sources]]
name = "cases"
weight = { street = 0.6, department = 1 }

[[sources]]
name = "survey"
weight = { street = 0.4 }
minimum_answers = 3
"""


def build_survey(visit: Visit) -> int:
    """The leader's editor: a choice (best first) and a 1–5 scale question for the test street."""
    visit.login("leader01")
    visit.go("/surveys")
    visit.submit("#new-survey")
    page = visit.page
    page.fill("#f-title", "测试街道市容满意度调查")
    page.select_option("#f-region", "370181001")
    page.select_option("select[name='q1.kind']", "choice")
    page.fill("input[name='q1.text']", "街面是否整洁")
    page.fill("input[name='q1.options']", "整洁/一般/不整洁")
    page.select_option("select[name='q2.kind']", "scale")
    page.fill("input[name='q2.text']", "总体满意度")
    visit.submit("#survey-form button[type=submit]")
    assert "已新建问卷" in page.inner_text("main")
    return int(page.get_attribute("#survey-summary", "data-survey"))


def test_a_citizen_answers_once_from_a_phone_and_the_ranking_shows_the_survey(
        browser: object, own_server: Server) -> None:
    server = own_server
    data_dir = Path(str(server.engine.url.database)).parent / "data"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "assessment.toml").write_text(COMPOSITE, encoding="utf-8")
    with watched(browser, server) as visit:
        survey_id = build_survey(visit)

    with watched(browser, server, width=375, height=740) as phone:
        page = phone.page
        phone.go(f"/public/surveys/{survey_id}")
        other = page.context.new_page()  # the same phone, a second tab opened before answering
        other.goto(f"{server.url}/public/surveys/{survey_id}")
        assert page.inner_text("h1") == "测试街道市容满意度调查"
        page.check("input[name='a1'][value='整洁']")
        page.check("input[name='a2'][value='4']")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the public survey page is {width}px wide"
        phone.shot("phone-survey")
        phone.submit("#survey-answer button[type=submit]")
        assert "提交成功" in page.inner_text("#flash")
        assert page.locator("#survey-done").count() == 1 and page.locator("#survey-answer").count() == 0
        other.check("input[name='a1'][value='不整洁']")
        other.check("input[name='a2'][value='1']")
        with other.expect_navigation():
            other.click("#survey-answer button[type=submit]")
        assert "已填写过" in other.inner_text("main")
        other.close()

    with transaction(server.engine) as session:  # two more citizens: the minimum of three is met
        city = load_city(session)
        for device, choice, scale in (("phone-b", "一般", "3"), ("phone-c", "整洁", "5")):
            surveys.answer_public(session, city, survey_id, {"1": choice, "2": scale}, device, NOW)
    server.clock[0] = NOW + timedelta(minutes=10)

    with watched(browser, server) as visit:
        visit.login("leader01")
        visit.go(f"/surveys/{survey_id}")
        page = visit.page
        assert page.inner_text("#answer-count") == "3"
        assert page.inner_text("#survey-score") == "79.17"  # (87.5 + 50 + 100) ÷ 3
        assert page.locator("#answer-list tr[data-answer]").count() == 3
        visit.go("/assessment?period=2026-10")
        assert page.locator("#composite-note").count() == 1
        row = page.locator("#rank-units tr[data-unit='U-JD1']")
        survey = row.locator(".source[data-source='survey']")
        assert "问卷调查" in survey.inner_text() and "79.17" in survey.inner_text()
        assert row.locator(".source[data-source='cases']").count() == 1
        assert row.locator("td[data-label='得分']").inner_text() == "79.17"  # too few cases: the survey alone
        visit.submit(survey.locator("a"))
        assert page.inner_text("#behind-count") == "3" and page.inner_text("#behind-score") == "79.17"
        visit.shot("survey-drill")
