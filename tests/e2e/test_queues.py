"""Queues at city scale in Chromium: every queue of every 工作台 shows its true total, in the
order work needs doing, and pages to its last row; a citizen's report of a minute ago is the
first line of the acceptor's queue; the handler's work is grouped by deadline."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, Visit, open_visit
from tests.e2e.scenario import report_one
from tests.e2e.test_report_pages import tap_grid
from tests.factories import DISPATCHER, SHIFT, act, local
from xiuhua.domain.choices import Action, Source

pytestmark = pytest.mark.e2e

# login -> queue sections on the home
QUEUES = {
    "acceptor01": ["new_reports", "closed_follow_up"],
    "shift01": ["to_file", "extensions", "suspension_requests", "suspended", "to_close", "overdue",
                "due_soon"],
    "dispatcher01": ["to_dispatch"],
    "handler_hw": ["my_overdue", "my_due_today", "my_due_later", "my_suspended"],
    "inspector01": ["my_tasks"],
    "leader01": ["overdue", "due_soon"],
    "admin01": ["overdue"],
}
# login -> counter label -> the queue whose badge it equals
COUNTED = {
    "acceptor01": {"待受理/立案": "new_reports"},
    "shift01": {"待受理/立案": "to_file", "挂账": "suspended", "待结案": "to_close", "超时": "overdue"},
    "dispatcher01": {"待派遣": "to_dispatch"},
    "handler_hw": {"已超时": "my_overdue", "今日到期": "my_due_today", "以后到期": "my_due_later",
                   "挂账中": "my_suspended"},
    "inspector01": {"待办任务": "my_tasks"},
    "leader01": {"超时": "overdue"},
}
EXTRA_REPORTS = 24  # with the scenario's two: more than one page of 20
EXTRA_OVERDUE = 21


def queue(visit: Visit, key: str) -> list[str]:
    return list(visit.page.locator(f"#sec-{key} [data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)"))


def badge(visit: Visit, key: str) -> int:
    shown = int(visit.page.inner_text(f"#sec-{key} h2 .badge"))
    assert shown == int(visit.page.get_attribute(f"#sec-{key}", "data-count") or -1)
    return shown


def counters(visit: Visit) -> dict[str, int]:
    found = visit.page.locator("#counters .counter").evaluate_all(
        "cs => cs.map(c => [c.querySelector('.label').textContent, c.querySelector('.value').textContent])")
    return {label: int(value) for label, value in found}


def walk(visit: Visit, key: str) -> list[str]:
    """Every case of a queue, page after page (下一页) until the last."""
    section, seen = f"#sec-{key}", []
    for _ in range(50):
        seen += queue(visit, key)
        following = visit.page.locator(f"{section} .pager-next")
        if following.count() == 0:
            return seen
        number = visit.page.get_attribute(section, "data-page")
        following.click()
        visit.page.wait_for_function(
            f"() => document.querySelector('{section}').dataset.page !== '{number}'")
    raise AssertionError(f"{key}: more than 50 pages")


def busy_day(server: Server) -> None:
    """More work than a page holds: older reports, and overdue work for 环卫中心."""
    for i in range(EXTRA_REPORTS):
        report_one(server.engine, "06010", (i % 3, (i // 3) % 3), Source.HOTLINE,
                   local(f"2026-10-15 {8 + i % 10:02d}:{i:02d}"), f"热线反映第 {i} 处垃圾")
    for i in range(EXTRA_OVERDUE):
        at = local(f"2026-10-13 {9 + i % 8:02d}:{i:02d}")
        case_no = report_one(server.engine, "06010", (i % 3, 2), Source.INSPECTOR, at)
        act(server.engine, case_no, Action.FILE, at, SHIFT)
        act(server.engine, case_no, Action.DISPATCH, at, DISPATCHER, unit="U-HW")
    later = report_one(server.engine, "06010", (0, 0), Source.INSPECTOR, local("2026-10-16 09:40"))
    act(server.engine, later, Action.FILE, local("2026-10-16 09:41"), SHIFT)
    act(server.engine, later, Action.DISPATCH, local("2026-10-16 09:42"), DISPATCHER, unit="U-HW",
        limit="3wd")


def signed_in(browser: Any, server: Server, login: str) -> tuple[Any, Visit]:
    context, visit = open_visit(browser, server)
    visit.login(login)
    return context, visit


def test_a_public_report_made_now_is_the_first_line_of_the_acceptors_queue(
        browser: Any, own_server: Server) -> None:
    busy_day(own_server)
    context, citizen = open_visit(browser, own_server)
    citizen.go("/public/report")
    page = citizen.page
    page.wait_for_selector("#report-map .grid-shape")
    page.fill("#category-search", "baolu")
    page.locator("#category-results [data-code='06010'] button").click()
    tap_grid(citizen, 2, 1)
    page.wait_for_function("() => document.getElementById('position-status').textContent.includes('网格008')")
    page.fill("#description", "刚刚看到路边垃圾无人清理")
    citizen.submit("#report-submit")
    case_no = page.inner_text("dl.facts dd:nth-of-type(2)")
    context.close()
    assert citizen.problems == []

    context, acceptor = signed_in(browser, own_server, "acceptor01")
    assert queue(acceptor, "new_reports")[0] == case_no
    total = badge(acceptor, "new_reports")
    assert total == EXTRA_REPORTS + 3 == counters(acceptor)["待受理/立案"]
    assert "共 27 件" in acceptor.page.inner_text("#sec-new_reports .pager")
    every = walk(acceptor, "new_reports")
    assert len(every) == len(set(every)) == total
    acceptor.go(f"/cases/{case_no}")
    assert "市民（公众上报）" in acceptor.page.inner_text("ol.timeline")
    context.close()
    assert acceptor.problems == []


def test_every_queue_badge_is_its_total_and_paging_reaches_the_last_row(
        browser: Any, own_server: Server) -> None:
    busy_day(own_server)
    for login, keys in QUEUES.items():
        context, visit = signed_in(browser, own_server, login)
        shown = counters(visit)
        for label, key in COUNTED.get(login, {}).items():
            assert shown[label] == badge(visit, key), (login, label)
        for key in keys:
            total = badge(visit, key)
            every = walk(visit, key)
            assert len(every) == len(set(every)) == total, (login, key)
            if total > 20:  # back to the first page
                visit.page.locator(f"#sec-{key} .pager-first").click()
                visit.page.wait_for_function(f"() => document.querySelector('#sec-{key}').dataset.page === '1'")
                assert queue(visit, key) == every[:20]
        context.close()
        assert visit.problems == [], (login, visit.problems)


def test_the_handlers_work_is_grouped_by_deadline_and_paged(browser: Any, own_server: Server) -> None:
    busy_day(own_server)
    context, visit = signed_in(browser, own_server, "handler_hw")
    shown = counters(visit)
    totals = {key: badge(visit, key) for key in QUEUES["handler_hw"]}
    assert totals["my_overdue"] == EXTRA_OVERDUE + 1 == shown["已超时"]
    assert totals["my_due_today"] == shown["今日到期"] >= 1
    assert totals["my_due_later"] == shown["以后到期"] >= 1
    assert sum(totals.values()) == shown["在办案件"]
    assert len(queue(visit, "my_overdue")) == 20  # a page, not the whole list
    late = walk(visit, "my_overdue")
    assert len(late) == totals["my_overdue"]
    texts = visit.page.locator("#sec-my_overdue .countdown").all_inner_texts()
    assert all(t.startswith("已超时，截止于 ") and "超出 " in t for t in texts)
    height = visit.page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, f"the handler's page is {height} px high"
    visit.shot("home-handler-grouped")
    context.close()
    assert visit.problems == []
