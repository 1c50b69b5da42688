"""The working calendar over HTTP (both database backends): next year's banner from 1 November
on the calendar page and the command center's home, the import page (upload, see the changes
and the deadlines that would move, confirm), the template, and the recompute on the timeline."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import select

from tests.api.conftest import Api
from tests.e2e.conftest import Server, open_visit
from tests.e2e.test_pages_http import csrf_of, sign_in
from tests.factories import dispatched_case, local
from tests.unit.test_calendar import FICTIONAL_2027, SCHEDULE_2031
from xiuhua.services.calendars import recompute_deadlines
from xiuhua.services.city import load_city
from xiuhua.store import city as store
from xiuhua.store.db import read_transaction, transaction
from xiuhua.store.tables import audit_log

BANNER = 'id="calendar-banner"'


def page(api: Api, login: str, path: str) -> str:
    sign_in(api.client, login)
    response = api.client.get(path)
    assert response.status_code == 200, response.text
    return response.text


def test_the_calendar_page_announces_a_provisional_next_year_from_november(api: Api) -> None:
    assert BANNER not in page(api, "admin01", "/admin/calendar")  # the clock: 2026-10-16
    api.clock.set("2026-11-01 08:00")
    html = page(api, "admin01", "/admin/calendar")
    assert BANNER in html and "2027 年放假安排尚未导入" in html
    assert 'href="/admin/calendar/import"' in html and 'href="/admin/calendar/import#help"' in html
    assert "docs/calendar.md" in html
    year = page(api, "admin01", "/admin/calendar?year=2027")
    assert "2027 年：暂定；来源：holidays 包推定" in year and "调休上班 0 天" in year


def test_the_command_center_home_shows_the_banner_and_a_unit_home_does_not(api: Api) -> None:
    api.clock.set("2026-12-06 09:00")
    for login in ("dispatcher01", "shift01", "acceptor01", "admin01"):
        assert BANNER in page(api, login, "/"), login
    dispatcher = page(api, "dispatcher01", "/")
    assert "请系统管理员" in dispatcher and 'href="/admin/calendar/import"' not in dispatcher
    for login in ("handler_hw", "inspector01"):
        assert BANNER not in page(api, login, "/"), login


def test_a_notice_is_uploaded_previewed_and_confirmed(api: Api) -> None:
    api.clock.set("2027-02-04 17:00")  # late: the year has begun, a case's deadline crosses 02-05
    case_no = dispatched_case(api.engine, "2027-02-04 16:00")
    form = page(api, "admin01", "/admin/calendar/import")
    assert 'id="calendar-import"' in form and 'id="help"' in form
    token = csrf_of(form)
    preview = api.client.post("/admin/calendar/import", data={"csrf_token": token, "step": "preview"},
                              files={"file": ("2027.csv", FICTIONAL_2027.encode(), "text/csv")})
    assert preview.status_code == 200, preview.text
    html = preview.text
    assert "2027 年放假安排：导入前核对" in html and "正式" in html
    assert re.search(r"<td>2027-02-05</td><td>五</td><td class=\"work\">上班</td>", html)
    assert re.search(r"<td>2027-02-11</td><td>四</td><td class=\"off\">休息</td>", html)
    assert f'href="/cases/{case_no}"' in html and "2027-02-11 11:00" in html
    assert "2026-12-27" in html  # the other year's row, an override
    with read_transaction(api.engine) as session:
        assert not store.load_calendars(session)["default"].is_official_year(2027)
    text = re.search(r'<textarea[^>]*name="schedule_text"[^>]*>(.*?)</textarea>', html, re.S)
    assert text is not None
    done = api.client.post("/admin/calendar/import", data={
        "csrf_token": token, "step": "confirm", "year": "2027", "file_name": "2027.csv",
        "schedule_text": FICTIONAL_2027})
    assert done.status_code == 200 and "已导入 2027 年放假安排（正式）" in done.text
    assert "1 件在办案件的截止时间需调整" in done.text
    assert "2027 年：正式；来源：本市导入的放假安排（2027.csv）" in done.text
    with read_transaction(api.engine) as session:
        calendar = store.load_calendars(session)["default"]
        logged = session.execute(select(audit_log).where(audit_log.c.kind == "calendar_import")).one()
    assert calendar.is_official_year(2027) and calendar.is_workday(date(2027, 2, 5))
    assert logged.actor == "admin01"
    api.clock.set("2027-11-02 09:00")  # 2028 is provisional now, 2027 no longer matters
    assert "2028 年放假安排尚未导入" in page(api, "admin01", "/admin/calendar")


def test_an_incomplete_upload_is_refused_naming_the_missing_holidays(api: Api) -> None:
    token = csrf_of(page(api, "admin01", "/admin/calendar/import"))
    refused = api.client.post("/admin/calendar/import", data={"csrf_token": token, "step": "preview"},
                              files={"file": ("2031.csv", SCHEDULE_2031.encode(), "text/csv")})
    assert refused.status_code == 200
    assert "缺少法定节假日：劳动节、端午节、中秋节、国庆节" in refused.text
    partial = api.client.post("/admin/calendar/import",
                              data={"csrf_token": token, "step": "preview", "partial": "1"},
                              files={"file": ("2031.csv", SCHEDULE_2031.encode(), "text/csv")})
    assert "暂定（部分导入" in partial.text
    garbage = api.client.post("/admin/calendar/import", data={"csrf_token": token, "step": "preview"},
                              files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")})
    assert garbage.status_code == 200 and "UTF-8" in garbage.text


def test_the_template_shows_the_format_for_next_year_without_dates(api: Api) -> None:
    sign_in(api.client, "admin01")
    response = api.client.get("/admin/calendar/template.csv")
    assert response.status_code == 200 and "calendar-2027.csv" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert "date,type,name" in lines and any("2027-MM-DD..2027-MM-DD,休,春节" in x for x in lines)
    assert not [x for x in lines if re.match(r"#?\s*2027-\d\d-\d\d", x)]  # no invented dates
    sign_in(api.client, "dispatcher01")
    assert api.client.get("/admin/calendar/template.csv").status_code == 403


def test_a_recomputed_deadline_shows_on_the_case_timeline(api: Api) -> None:
    case_no = dispatched_case(api.engine, "2027-02-04 16:00")
    with transaction(api.engine) as session:
        from xiuhua.services.calendars import import_schedule_text

        import_schedule_text(session, FICTIONAL_2027, file_name="2027.csv")
    with transaction(api.engine) as session:
        recompute_deadlines(session, load_city(session), apply_moves=True,
                            now=local("2027-02-04 17:00"), actor="admin01")
    api.clock.set("2027-02-04 17:05")
    html = page(api, "shift01", f"/cases/{case_no}")
    assert "按工作日历调整时限" in html
    assert "截止时间：2027-02-11 11:00 → 2027-02-05 11:00" in html


def test_the_permission_table_does_not_offer_the_system_step(api: Api) -> None:
    html = page(api, "admin01", "/admin/permissions")
    assert "recompute_deadline" not in html and "按工作日历调整时限" not in html
    api.client.cookies.clear()
    refused = api.client.post(f"/api/v1/cases/{'2' * 14}/actions/recompute_deadline",
                              json={"version": 1}, headers=api.auth("admin01"))
    assert refused.status_code == 404 and refused.json()["code"] == "unknown_action"


# --- in Chromium ------------------------------------------------------------------------------


def test_an_admin_follows_the_banner_and_imports_next_years_notice(browser: Any,
                                                                    own_server: Server) -> None:
    own_server.clock[0] = local("2026-11-02 09:00")
    context, visit = open_visit(browser, own_server)
    page = visit.page
    visit.login("admin01")
    visit.go("/admin/calendar")
    assert "2027 年放假安排尚未导入" in page.inner_text("#calendar-banner")
    visit.shot("calendar-banner")
    visit.submit("#calendar-banner a[href='/admin/calendar/import']")
    page.set_input_files("#calendar-import-file", files=[{
        "name": "2027.csv", "mimeType": "text/csv", "buffer": FICTIONAL_2027.encode()}])
    visit.submit("#calendar-import button[type=submit]")
    assert "与现行日历相比变化" in page.inner_text("#calendar-preview")
    visit.shot("calendar-import-preview")
    visit.submit("#calendar-confirm button[type=submit]")
    assert "已导入 2027 年放假安排（正式）" in page.inner_text("main")
    assert page.locator("#calendar-banner").count() == 0
    context.close()
    assert visit.problems == [], "\n".join(visit.problems)
