"""案件查询: the search page filters like the API's case list, shows bad filters next to the
field, and walks long results a page at a time."""

from __future__ import annotations

import re

from tests.api.conftest import Api
from tests.e2e.scenario import NOW, build_cases
from tests.e2e.test_pages_http import sign_in
from tests.factories import center, report

ROW = re.compile(r'data-case="(\d{14})"')


def listed(html: str) -> list[str]:
    return ROW.findall(html)


def test_center_staff_filter_cases_by_status_and_keyword(api: Api) -> None:
    api.clock.now = NOW
    cases = build_cases(api.engine)
    sign_in(api.client, "shift01")
    page = api.client.get("/cases", params={"status": "dispatched"}).text
    shown = set(listed(page))
    assert {cases["overdue"], cases["soon"]} <= shown
    assert cases["reported"] not in shown and cases["closed"] not in shown
    overdue = listed(api.client.get("/cases", params={"overdue": "true"}).text)
    assert cases["overdue"] in overdue and cases["soon"] not in overdue
    by_number = listed(api.client.get("/cases", params={"text": cases["closed"]}).text)
    assert by_number == [cases["closed"]]


def test_a_bad_filter_is_named_next_to_its_field_and_lists_nothing(api: Api) -> None:
    api.clock.now = NOW
    build_cases(api.engine)
    sign_in(api.client, "shift01")
    response = api.client.get("/cases", params={"reported_from": "2026-13-45", "status": "nope"})
    assert response.status_code == 200
    assert 'id="q-reported_from-error">上报日期自填写有误' in response.text
    assert 'id="q-status-error">状态填写有误' in response.text
    assert listed(response.text) == []


def test_a_unit_sees_only_its_cases_and_long_lists_go_page_by_page(api: Api) -> None:
    api.clock.now = NOW
    cases = build_cases(api.engine)
    made = {report(api.engine, f"2026-10-15 {8 + i // 60:02d}:{i % 60:02d}",
                   lon=center(0, 0)[0], lat=center(0, 0)[1]) for i in range(60)}
    sign_in(api.client, "shift01")
    first = api.client.get("/cases").text
    assert len(listed(first)) == 50 and "回到第一页" not in first
    total = len(cases) + len(made)
    assert f"共 {total} 件，第一页，本页 50 件" in first
    following = re.search(r'href="(/cases\?cursor=[^"]+)" rel="next"', first)
    assert following, "no next page link"
    second = api.client.get(following.group(1).replace("&amp;", "&")).text
    assert not set(listed(first)) & set(listed(second))
    assert made <= set(listed(first)) | set(listed(second))
    assert f"共 {total} 件，续页，本页 {total - 50} 件" in second
    sign_in(api.client, "handler_zf")
    theirs = set(listed(api.client.get("/cases").text))
    assert cases["extension"] in theirs and cases["overdue"] not in theirs
