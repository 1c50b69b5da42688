"""The whole case loop in the browser, five people each in their own browser: the inspector
reports with a photo from a phone → the shift leader files → the dispatcher dispatches to the
suggested unit → the handler feeds back with a photo → the inspector fails the check (返工) → the
handler feeds back again → the inspector passes the check → the shift leader closes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.e2e.conftest import Server, Visit, watched
from tests.e2e.test_pages import row
from tests.e2e.test_report_pages import jpeg, tap_grid
from xiuhua.domain.choices import Action, CaseStatus
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction

pytestmark = pytest.mark.e2e


@contextmanager
def person(browser: Any, server: Server, login: str, width: int = 1280) -> Iterator[Visit]:
    """One user signed in in a browser of their own; no page problem may happen."""
    with watched(browser, server, width=width, height=800 if width < 500 else 900) as visit:
        visit.login(login)
        yield visit


def photo(name: str, colour: tuple[int, int, int]) -> list[dict[str, Any]]:
    return [{"name": name, "mimeType": "image/jpeg", "buffer": jpeg(colour, (120, 90))}]


def report_from_phone(browser: Any, server: Server) -> str:
    with person(browser, server, "inspector01", width=375) as inspector:
        inspector.go("/report")
        page = inspector.page
        page.wait_for_selector("#report-map .grid-shape")
        page.fill("#category-search", "bllj")
        page.locator("#category-results [data-code='06010'] button").click()
        tap_grid(inspector, 1, 1)
        page.wait_for_function(
            "() => document.getElementById('position-status').textContent.includes('网格005')")
        page.set_input_files("#photos", files=photo("before.jpg", (170, 60, 50)))
        page.fill("#description", "人行道上有成堆的暴露垃圾")
        inspector.submit("#report-submit")
        found = re.search(r"/cases/(\d{14})$", page.url)
        assert found, page.url
        return found.group(1)


def quick(browser: Any, server: Server, login: str, section: str, case_no: str,
          label: str) -> None:
    """The one-click action of the case's line in a queue of the user's home."""
    with person(browser, server, login) as user:
        line = row(user, section, case_no)
        button = line.locator("button")
        assert label in button.inner_text()
        user.submit(button)
        assert case_no not in user.page.locator(f"#sec-{section}").inner_text()


def on_case_page(browser: Any, server: Server, login: str, case_no: str, action: str,
                 note: str, photos: list[dict[str, Any]] | None = None) -> None:
    with person(browser, server, login, width=375 if login.startswith("inspector") else 1280) as user:
        user.go(f"/cases/{case_no}")
        page = user.page
        page.click(f"#action-{action} summary")
        page.fill(f"#{action}-note", note)
        if photos:
            page.set_input_files(f"#{action}-photos", files=photos)
        user.submit(f"#action-{action} button[type=submit]")
        assert "未完成" not in page.inner_text("main")
        user.shot(f"flow-{action}-{login}")


def test_five_people_take_a_case_from_report_to_close_with_one_rework(
        browser: Any, own_server: Server) -> None:
    server = own_server
    case_no = report_from_phone(browser, server)
    quick(browser, server, "shift01", "to_file", case_no, "立案")
    quick(browser, server, "dispatcher01", "to_dispatch", case_no, "派遣至环卫中心")
    on_case_page(browser, server, "handler_hw", case_no, "feedback", "已清运",
                 photo("after.jpg", (40, 150, 70)))
    on_case_page(browser, server, "inspector01", case_no, "check_fail", "路沿仍有残留垃圾")
    on_case_page(browser, server, "handler_hw", case_no, "feedback", "残留垃圾已清理",
                 photo("after2.jpg", (30, 170, 90)))
    on_case_page(browser, server, "inspector01", case_no, "check_pass", "现场已清理干净")
    quick(browser, server, "shift01", "to_close", case_no, "结案")

    with transaction(server.engine) as session:
        case = load_case(session, case_no)
    assert case.status is CaseStatus.CLOSED
    assert [(e.action, e.actor) for e in case.events] == [
        (Action.REPORT, "inspector01"), (Action.FILE, "shift01"),
        (Action.DISPATCH, "dispatcher01"), (Action.FEEDBACK, "handler_hw"),
        (Action.CHECK_FAIL, "inspector01"), (Action.FEEDBACK, "handler_hw"),
        (Action.CHECK_PASS, "inspector01"), (Action.CLOSE, "shift01")]
    assert [a.kind.value for a in case.assignments] == ["dispatch", "rework"]
    assert len(case.photos) == 1 and all(len(case.events[i].photos) == 1 for i in (3, 5))
    with person(browser, server, "leader01") as leader:
        leader.go(f"/cases/{case_no}")
        text = leader.page.inner_text("main")
        assert "已结案" in text and "核查不通过" in text
        assert leader.page.locator(".photo-group img").count() == 3
        leader.shot("flow-closed-case")
