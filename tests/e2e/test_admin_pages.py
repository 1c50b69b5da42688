"""系统管理 pages: over HTTP (both database backends) — users and roles, responsibility rules and
the coverage check, units, categories, regions, the calendar, the permission table and the
weights, all refused to other roles — and in Chromium (the pages an administrator sees)."""

from __future__ import annotations

import json
import re
from datetime import date

import shapely
from sqlalchemy import select

from tests.api.conftest import PASSWORD, Api
from tests.e2e.conftest import Server, Visit
from tests.e2e.test_pages_http import csrf_of, sign_in
from tests.factories import cell
from xiuhua.domain.choices import Action, Role
from xiuhua.store import city as store
from xiuhua.store.db import read_transaction
from xiuhua.store.tables import audit_log, users


def admin_page(api: Api, path: str = "/admin") -> str:
    """Sign in as the administrator and open ``path``; its HTML."""
    sign_in(api.client, "admin01")
    response = api.client.get(path)
    assert response.status_code == 200, response.text
    return response.text


def audited(api: Api, kind: str, subject: str) -> list[dict[str, object]]:
    with read_transaction(api.engine) as session:
        rows = session.execute(select(audit_log).where(audit_log.c.kind == kind,
                                                       audit_log.c.subject == subject))
        return [dict(r._mapping) for r in rows]


def rule_count(api: Api) -> int:
    with read_transaction(api.engine) as session:
        return len(store.load_rules(session))


# --- users and roles ----------------------------------------------------------------------


def test_the_admin_home_links_every_section(api: Api) -> None:
    page = admin_page(api)
    for href, label in (("/admin/users", "用户与角色"), ("/admin/rules", "责任规则与覆盖检查"),
                        ("/admin/units", "单位"), ("/admin/categories", "分类与处置时限"),
                        ("/admin/geodata", "区域与部件导入"), ("/admin/calendar", "工作日历"),
                        ("/admin/permissions", "权限表"), ("/admin/weights", "考核权重")):
        assert f'href="{href}"' in page and label in page
        assert api.client.get(href).status_code == 200


def test_an_admin_adds_a_user_who_can_then_log_in(api: Api) -> None:
    page = admin_page(api, "/admin/users")
    assert 'data-login="handler_hw"' in page
    token = csrf_of(page)
    missing_unit = api.client.post("/admin/users", data={
        "csrf_token": token, "login": "handler_new", "name": "孙处置", "role": "handler",
        "unit": "", "grids": "", "password": "new-password-1"})
    assert 'id="unit-error">处置人员须指定所属单位' in missing_unit.text
    assert 'value="孙处置"' in missing_unit.text  # what was typed stays
    weak = api.client.post("/admin/users", data={
        "csrf_token": token, "login": "handler_new", "name": "孙处置", "role": "handler",
        "unit": "U-HW", "password": "short"})
    assert 'id="password-error">密码至少 8 位' in weak.text
    taken = api.client.post("/admin/users", data={
        "csrf_token": token, "login": "handler_hw", "role": "handler", "unit": "U-HW",
        "password": "new-password-1"})
    assert "登录名“handler_hw”已存在" in taken.text
    with read_transaction(api.engine) as session:  # refused attempts leave nothing behind
        assert session.execute(select(users).where(users.c.login == "handler_new")).first() is None

    added = api.client.post("/admin/users", data={
        "csrf_token": token, "login": "handler_new", "name": "孙处置", "role": "handler",
        "unit": "U-HW", "password": "new-password-1"})
    assert added.url.path == "/admin/users/handler_new"
    assert "用户 handler_new（处置人员）已创建，可以登录" in added.text
    assert audited(api, "permission_change", "handler_new")[0]["actor"] == "admin01"
    home = sign_in(api.client, "handler_new", "new-password-1")
    assert "孙处置" in home and "系统管理" not in home


def test_role_unit_disable_enable_and_password_reset(api: Api) -> None:
    page = admin_page(api, "/admin/users?role=handler")
    assert 'data-login="handler_zf"' in page and 'data-login="shift01"' not in page
    assert 'data-login="handler_hw"' not in api.client.get("/admin/users?unit=U-ZF").text
    token = csrf_of(page)
    moved = api.client.post("/admin/users/handler_zf", data={
        "csrf_token": token, "name": "周执法", "role": "unit_leader", "unit": "U-ZF", "grids": ""})
    assert "用户 handler_zf 已保存（单位负责人）" in moved.text
    bad_grid = api.client.post("/admin/users/handler_zf", data={
        "csrf_token": token, "name": "周执法", "role": "unit_leader", "unit": "U-ZF",
        "grids": "370181001001001"})
    assert 'id="grids-error">只有监督员可以指定责任网格' in bad_grid.text

    api.client.post("/admin/users/handler_zf/disable", data={"csrf_token": token})
    assert "已停用" in api.client.get("/admin/users/handler_zf").text
    refused = api.client.post("/admin/users/handler_zf", data={  # saving keeps it disabled
        "csrf_token": token, "name": "周执法", "role": "unit_leader", "unit": "U-ZF"})
    assert "已停用" in refused.text
    client = api.client
    login_token = csrf_of(client.get("/login").text)
    assert "用户名或密码错误" in client.post("/login", data={
        "username": "handler_zf", "password": PASSWORD, "csrf_token": login_token}).text

    token = csrf_of(admin_page(api, "/admin/users/handler_zf"))
    api.client.post("/admin/users/handler_zf/enable", data={"csrf_token": token})
    short = api.client.post("/admin/users/handler_zf/password",
                            data={"csrf_token": token, "password": "1234"})
    assert 'id="password-error">密码至少 8 位' in short.text
    reset = api.client.post("/admin/users/handler_zf/password",
                            data={"csrf_token": token, "password": "fresh-password-2"})
    assert "密码已重置" in reset.text
    assert "周执法" in sign_in(api.client, "handler_zf", "fresh-password-2")
    assert [e["actor"] for e in audited(api, "password_change", "handler_zf")] == ["admin01"]
    changes = [e["detail"] for e in audited(api, "permission_change", "handler_zf")]
    assert {"active": False} in changes and {"active": True} in changes


def test_a_non_admin_gets_403(api: Api) -> None:
    home = sign_in(api.client, "shift01")
    assert 'href="/admin"' not in home
    token = csrf_of(home)
    for path in ("/admin", "/admin/users", "/admin/rules", "/admin/rules/coverage",
                 "/admin/calendar", "/admin/permissions", "/admin/weights"):
        refused = api.client.get(path)
        assert refused.status_code == 403 and "“系统管理”不对值班长开放" in refused.text, path
    posted = api.client.post("/admin/users", data={
        "csrf_token": token, "login": "sneaky", "role": "admin", "password": "sneaky-password"})
    assert posted.status_code == 403
    assert api.client.post("/admin/calendar", data={
        "csrf_token": token, "day": "2026-10-17", "kind": "workday"}).status_code == 403
    with read_transaction(api.engine) as session:
        assert session.execute(select(users).where(users.c.login == "sneaky")).first() is None


def test_a_post_without_the_csrf_token_is_refused(api: Api) -> None:
    admin_page(api, "/admin/users")
    refused = api.client.post("/admin/users", data={"login": "x1", "role": "admin",
                                                    "password": "long-enough-1"})
    assert refused.status_code == 403 and "请刷新页面后重试" in refused.text


# --- responsibility rules and coverage ----------------------------------------------------


def test_a_rules_csv_with_a_bad_line_shows_the_line_and_changes_nothing(api: Api) -> None:
    token = csrf_of(admin_page(api, "/admin/rules"))
    before = rule_count(api)
    csv = (b"scope,category,region_code,unit_code\n"
           b"matter,06011,370181,U-ZF\n"
           b"matter,06011,370181,U-NOPE\n")
    refused = api.client.post("/admin/rules/import", data={"csrf_token": token},
                              files={"file": ("rules.csv", csv, "text/csv")})
    assert refused.status_code == 200
    error = re.search(r'id="rules-import-error".*?</div>', refused.text, re.DOTALL)
    assert error and "责任规则有 1 处错误，未导入" in error.group(0)
    assert "第 3 行：单位“U-NOPE”不存在" in error.group(0)
    assert rule_count(api) == before
    done = api.client.post("/admin/rules/import", data={"csrf_token": token},
                           files={"file": ("rules.csv", csv.rsplit(b"matter", 1)[0], "text/csv")})
    assert "已导入 1 条责任规则" in done.text
    assert rule_count(api) == before + 1


def test_the_coverage_check_shows_a_gap_after_a_rule_is_deleted(api: Api) -> None:
    page = admin_page(api, "/admin/rules")
    assert 'hx-get="/admin/rules/coverage"' in page
    fragment = api.client.get("/admin/rules/coverage", headers={"HX-Request": "true"}).text
    assert "责任覆盖完整" in fragment and "<html" not in fragment
    deleted = api.client.post("/admin/rules/delete", data={
        "csrf_token": csrf_of(page), "scope": "any", "category": "", "region_code": "370181",
        "unit_code": "U-JD1"})
    assert "责任规则已删除" in deleted.text
    result = api.client.get("/admin/rules/coverage").text
    assert "覆盖检查未通过" in result
    assert re.search(r"责任缺失：事项 \d{5} [^，]+，网格 370181001001001 网格001：没有责任单位", result)
    gone = api.client.post("/admin/rules/delete", data={
        "csrf_token": csrf_of(page), "scope": "any", "category": "", "region_code": "370181",
        "unit_code": "U-JD1"})
    assert gone.status_code == 404 and "该责任规则不存在" in gone.text


# --- units, categories, regions -------------------------------------------------------------


def test_units_and_categories_import_all_or_nothing(api: Api) -> None:
    token = csrf_of(admin_page(api, "/admin/units"))
    bad = "code,name,kind\nU-YL,园林绿化中心,department\nU-X,,department\n".encode()
    refused = api.client.post("/admin/units/import", data={"csrf_token": token},
                              files={"file": ("units.csv", bad, "text/csv")})
    assert "第 3 行（U-X）：编码和名称不能为空" in refused.text
    assert "园林绿化中心</td>" not in refused.text
    good = "code,name,kind\nU-YL,园林绿化中心,department\n".encode("gbk")
    done = api.client.post("/admin/units/import", data={"csrf_token": token, "encoding": "GBK"},
                           files={"file": ("units.csv", good, "text/csv")})
    assert "已导入 1 个单位" in done.text and "园林绿化中心" in done.text
    assert "园林绿化中心" in api.client.get("/admin/users").text  # the city snapshot reloaded

    page = api.client.get("/admin/categories?q=06010").text
    assert "暴露垃圾" in page and "4 工作小时" in page and "共 1 个" not in page
    assert "符合“06010”的 1 个分类" in page
    header = "kind,code,name,major_code,major_name\n"
    wrong = api.client.post("/admin/categories/import", data={"csrf_token": token},
                            files={"file": ("c.csv", (header + "matter,123,坏,06,市容环境\n").encode(),
                                            "text/csv")})
    assert 'id="categories-import-error"' in wrong.text and "123" in wrong.text


def test_a_region_import_names_the_bad_feature(api: Api) -> None:
    token = csrf_of(admin_page(api, "/admin/geodata"))
    feature = {"type": "Feature", "properties": {"code": "37018100100X", "name": "坏社区"},
               "geometry": shapely.geometry.mapping(cell(0, 0))}
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    refused = api.client.post("/admin/geodata/regions", data={"csrf_token": token},
                              files={"file": ("regions.geojson", data, "application/geo+json")})
    assert "区域数据有 1 处错误，未导入任何区域" in refused.text
    assert "要素 0（编码 37018100100X）" in refused.text
    feature["properties"] = {"code": "370181001003", "name": "新社区"}
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    done = api.client.post("/admin/geodata/regions", data={"csrf_token": token},
                           files={"file": ("regions.geojson", data, "application/geo+json")})
    assert "已导入 1 个区域" in done.text and "社区：3 个" in done.text


# --- calendar, permissions, weights -------------------------------------------------------


def test_a_calendar_day_set_shows_up(api: Api) -> None:
    page = admin_page(api, "/admin/calendar?year=2026")
    assert 'data-date="2026-10-01" title="2026-10-01 节假日"' in page  # National Day
    assert 'class="cal-day weekend" data-date="2026-10-17"' in page
    token = csrf_of(page)
    bad = api.client.post("/admin/calendar?year=2026",
                          data={"csrf_token": token, "day": "2026-13-01", "kind": "workday"})
    assert 'id="day-error">日期“2026-13-01”无效' in bad.text
    done = api.client.post("/admin/calendar?year=2026",
                           data={"csrf_token": token, "day": "2026-10-17", "kind": "workday"})
    assert "2026-10-17 已设为工作日" in done.text
    assert 'class="cal-day swap set" data-date="2026-10-17"' in done.text
    with read_transaction(api.engine) as session:
        assert store.load_calendars(session)["default"].is_workday(date(2026, 10, 17))
    assert audited(api, "calendar_change", "2026-10-17")[0]["actor"] == "admin01"


def test_the_permission_table_is_edited_and_audited(api: Api) -> None:
    page = admin_page(api, "/admin/permissions")
    with read_transaction(api.engine) as session:
        table = store.load_permissions(session).table
    ticked = [f"{a.value}:{r.value}" for a, roles in table.items() for r in roles]
    boxes = re.findall(r'value="([a-z_]+:[a-z_]+)" aria-label="[^"]+"( checked)?', page)
    assert sorted(v for v, on in boxes if on) == sorted(ticked)
    assert len(boxes) == (len(Action) - 1) * len(Role)  # recompute_deadline: the system's only
    changed = [v for v in ticked if not v.startswith("dispatch:")] + ["dispatch:dispatcher",
                                                                     "dispatch:leader"]
    done = api.client.post("/admin/permissions",
                           data={"csrf_token": csrf_of(page), "allow": changed})
    assert "权限表已更新：派遣<" in done.text, re.findall(r"class=\"alert[^<]*", done.text)
    with read_transaction(api.engine) as session:
        assert store.load_permissions(session).table[Action.DISPATCH] == {Role.DISPATCHER,
                                                                             Role.LEADER}
    assert audited(api, "permission_change", "action:dispatch")[0]["actor"] == "admin01"


def test_the_weights_are_shown_read_only(api: Api) -> None:
    page = admin_page(api, "/admin/weights")
    assert "本页只读" in page and 'id="weights"' in page and "<form" not in page.split("<main")[1]


# --- in the browser -------------------------------------------------------------------------


def test_an_admin_in_the_browser(visit: Visit, server: Server) -> None:
    visit.login("admin01")
    page = visit.page
    visit.go("/admin")
    assert page.locator("ul.admin-sections li").count() == 8
    visit.go("/admin/rules")
    page.wait_for_selector("#coverage-result")
    assert "责任覆盖" in page.inner_text("#coverage-result")
    visit.shot("admin-rules")
    visit.go("/admin/users")
    page.click("#add-user summary")
    page.fill("#f-login", "browser_admin2")
    page.fill("#f-name", "浏览器管理员")
    page.select_option("#f-role", "admin")
    page.fill("#f-password", "browser-pass-1")
    visit.submit("#add-user button[type=submit]")
    assert "已创建，可以登录" in page.inner_text("main")
    visit.shot("admin-user")
    visit.go("/admin/calendar?year=2026")
    assert page.locator("td[data-date='2026-10-01'].holiday").count() == 1
    visit.shot("admin-calendar")


def test_the_admin_pages_fit_a_phone_screen(phone: Visit, server: Server) -> None:
    phone.login("admin01")
    for path, name in (("/admin/users", "admin-users-phone"), ("/admin/permissions", None)):
        phone.go(path)
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, f"{path} is {width} px wide"
        if name:
            phone.shot(name)


def test_page_and_year_numbers_in_digits_int_takes_but_people_do_not_type_are_ignored(api: Api) -> None:
    """``"²".isdigit()`` is true yet ``int("²")`` fails: such numbers fall back, never a 500."""
    for odd in ("²", "٣", "１", "1_000", str(10**30)):
        admin_page(api, f"/admin/units?page={odd}")  # the first page
        admin_page(api, f"/admin/calendar?year={odd}")  # this year
