"""The pages over HTTP without a browser (both database backends): sign-in and its errors, CSRF,
scope (404 outside it), the map's data, the optional tile coordinate system, and no external URL
in any template, our static files or a rendered page; vendored files match VENDOR.md."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Api
from tests.e2e.scenario import NOW, build_cases
from tests.factories import DISPATCHER, HANDLER, HANDLER_ZF, act, cell, dispatched_case, grid_code, local
from xiuhua.app import SESSION_COOKIE, create_app
from xiuhua.config import Settings
from xiuhua.domain.accounts import LOGIN_REFUSED
from xiuhua.domain.choices import Action
from xiuhua.domain.geo import wgs84_to_gcj02
from xiuhua.services import accounts
from xiuhua.store.db import transaction
from xiuhua.web.pages import HERE, STATIC_DIR

VENDOR = STATIC_DIR / "vendor"
URL = re.compile(r"https?://", re.IGNORECASE)
COMMENTS = {
    ".html": re.compile(r"<!--.*?-->|\{#.*?#\}", re.DOTALL),
    ".js": re.compile(r"/\*.*?\*/|(?<![:\"'])//[^\n]*", re.DOTALL),
    ".css": re.compile(r"/\*.*?\*/", re.DOTALL),
}


@pytest.fixture
def site(api: Api) -> tuple[Api, dict[str, str]]:
    api.clock.now = NOW
    return api, build_cases(api.engine)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the page the browser lands on."""
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": login, "password": password,
                                           "csrf_token": token, "next": ""})
    assert response.status_code == 200
    return response.text


def test_pages_need_a_login(site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    for path in ("/", "/map", f"/cases/{cases['reported']}", "/map/cases.json"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    polled = api.client.get("/parts/counters", headers={"HX-Request": "true"},
                            follow_redirects=False)
    assert polled.headers["HX-Redirect"] == "/login?next=/parts/counters"


def test_login_errors_are_shown_next_to_the_field(site: tuple[Api, dict[str, str]]) -> None:
    api, _ = site
    client = api.client
    token = csrf_of(client.get("/login").text)
    blank = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert 'id="username-error">请输入用户名<' in blank.text
    assert 'id="password-error">请输入密码<' in blank.text
    wrong = client.post("/login", data={"username": "shift01", "password": "wrong-password",
                                        "csrf_token": token})
    assert f'id="password-error">{LOGIN_REFUSED}<' in wrong.text
    assert 'value="shift01"' in wrong.text  # what was typed stays
    stale = client.post("/login", data={"username": "shift01", "password": PASSWORD,
                                        "csrf_token": "forged"})
    assert "页面已过期，请重新输入后登录" in stale.text
    assert client.get("/", follow_redirects=False).status_code == 303  # still signed out


def test_login_goes_to_the_page_asked_for_and_logout_ends_the_session(
        site: tuple[Api, dict[str, str]]) -> None:
    api, _ = site
    client = api.client
    token = csrf_of(client.get("/login?next=/map").text)
    landed = client.post("/login", data={"username": "leader01", "password": PASSWORD,
                                         "csrf_token": token, "next": "/map"})
    assert landed.url.path == "/map" and "<h1>一张图</h1>" in landed.text
    offsite = client.get("/login?next=//evil.example/", follow_redirects=False)
    assert offsite.headers["location"] == "/"  # already signed in; never off the site
    out = client.post("/logout", data={"csrf_token": csrf_of(landed.text)})
    assert out.url.path == "/login" and "您已退出登录" in out.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_copied_session_cookie_is_worthless_after_logout(
        site: tuple[Api, dict[str, str]]) -> None:
    api, _ = site
    client = api.client
    landed = sign_in(client, "leader01")
    saved = client.cookies[SESSION_COOKIE]
    out = client.post("/logout", data={"csrf_token": csrf_of(landed)})
    assert "您已退出登录" in out.text
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, saved)  # replayed, as a thief who copied it would
    replayed = client.get("/map", follow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["location"] == "/login?next=/map"


def test_logout_and_login_without_the_forms_csrf_token_change_nothing(
        site: tuple[Api, dict[str, str]]) -> None:
    api, _ = site
    client = api.client
    sign_in(client, "leader01")
    forged = client.post("/logout", data={}, follow_redirects=False)  # from another site
    assert forged.status_code == 303 and forged.headers["location"] == "/"
    assert client.get("/map").url.path == "/map"  # still signed in
    client.cookies.clear()
    blind = client.post("/login", data={"username": "leader01", "password": PASSWORD})
    assert "页面已过期，请重新输入后登录" in blind.text
    assert client.get("/map", follow_redirects=False).status_code == 303


def test_a_password_reset_signs_the_user_out_of_the_pages(
        site: tuple[Api, dict[str, str]]) -> None:
    api, _ = site
    sign_in(api.client, "leader01")
    assert api.client.get("/map").url.path == "/map"
    with transaction(api.engine) as session:
        accounts.set_password(session, "leader01", "another-pass-9", api.clock())
    assert api.client.get("/map", follow_redirects=False).status_code == 303


def test_a_form_post_without_the_csrf_token_is_refused(site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    sign_in(api.client, "shift01")
    case_no = cases["reported"]
    refused = api.client.post(f"/cases/{case_no}/actions/file", data={"version": "1"})
    assert refused.status_code == 403 and "请刷新页面后重试" in refused.text
    page = api.client.get(f"/cases/{case_no}").text
    assert "已上报" in page and "已立案" not in page


def test_an_action_from_the_case_page_applies_the_lifecycle(
        site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    page = sign_in(api.client, "shift01")
    case_no = cases["reported"]
    done = api.client.post(f"/cases/{case_no}/actions/file",
                           data={"version": "1", "csrf_token": csrf_of(page), "note": "属实"})
    assert done.url.path == f"/cases/{case_no}"
    assert f"案件 {case_no} 已立案（当前状态：已立案）" in done.text
    assert "备注：属实" in done.text
    stale = api.client.post(f"/cases/{case_no}/actions/cancel",
                            data={"version": "1", "csrf_token": csrf_of(page), "reason": "invalid"})
    assert "作废未完成：案件已被他人更新（当前版本 2，提交版本 1），请刷新后重试" in stale.text


def test_cases_outside_the_scope_do_not_exist(site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    sign_in(api.client, "handler_zf")
    hidden = api.client.get(f"/cases/{cases['overdue']}")  # held by 环卫中心
    assert hidden.status_code == 404 and "不存在或不在您的权限范围内" in hidden.text
    assert api.client.get("/cases/not-a-case").status_code == 404
    assert api.client.get(f"/cases/{cases['extension']}").status_code == 200  # its own
    assert api.client.get("/parts/to_dispatch").status_code == 404  # not its queue
    points = api.client.get("/map/cases.json").json()["points"]
    assert {p[2] for p in points} == {cases["extension"], cases["suspended"]}


def test_each_role_sees_its_queues(site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    shift = sign_in(api.client, "shift01")
    assert "挂账中，恢复后剩余 5.5 工作小时" in shift
    assert "剩余 13 个工作日 6.7 工作小时" in shift  # the extension request's case
    dispatcher = sign_in(api.client, "dispatcher01")
    assert "建议派遣至测试街道办事处（全市属地规则（属地兜底））" in dispatcher
    handler = sign_in(api.client, "handler_hw")
    assert handler.index(cases["overdue"]) < handler.index(cases["soon"])
    assert "已超时，截止于 10-14 11:10，超出 1 个工作日 6.3 工作小时" in handler
    part = api.client.get("/parts/my_overdue")
    assert part.text.startswith('<section class="queue card" id="sec-my_overdue"')
    assert 'hx-trigger="every 30s"' in part.text


def test_suspension_requests_wait_for_the_shift_leader_who_grants_them_in_one_click(
        site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    asked = cases["soon"]
    act(api.engine, asked, Action.REQUEST_SUSPENSION, "2026-10-16 09:30", HANDLER,
        reason="等待燃气公司停气")
    sign_in(api.client, "handler_hw")
    assert "申请挂账：等待燃气公司停气" in api.client.get(f"/cases/{asked}").text
    home = sign_in(api.client, "shift01")
    part = api.client.get("/parts/suspension_requests").text
    assert "挂账申请待审批" in home and asked in part and "申请挂账：等待燃气公司停气" in part
    token = csrf_of(home)
    version = get_version(api, asked)
    response = api.client.post(f"/cases/{asked}/actions/suspend", data={
        "csrf_token": token, "version": str(version), "reason": "等待燃气公司停气", "next": "/"})
    assert response.status_code == 200 and "已挂账" in response.text
    assert asked not in api.client.get("/parts/suspension_requests").text


def test_the_acceptor_sends_a_located_report_for_verification_in_one_click(
        site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    fresh = cases["reported"]
    sign_in(api.client, "acceptor01")
    part = api.client.get("/parts/new_reports").text
    assert f'action="/cases/{fresh}/actions/request_verify"' in part
    response = api.client.post(f"/cases/{fresh}/actions/request_verify", data={
        "csrf_token": csrf_of(api.client.get("/").text),
        "version": str(get_version(api, fresh)), "next": "/"})
    assert response.status_code == 200
    assert "核实中：" in api.client.get("/parts/new_reports").text


def get_version(api: Api, case_no: str) -> int:
    r = api.client.get(f"/api/v1/cases/{case_no}", headers=api.auth("admin01"))
    return int(r.json()["version"])


def test_the_shift_leader_watches_overdue_cases_and_those_due_within_a_working_hour(
        site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    sign_in(api.client, "shift01")
    late = api.client.get("/parts/overdue").text
    soon = api.client.get("/parts/due_soon").text
    assert cases["overdue"] in late and cases["soon"] not in late
    assert cases["soon"] in soon and cases["overdue"] not in soon
    assert "剩余 45 工作分钟" in soon  # due 10:45, two working hours after 08:45


def test_a_unit_queue_lists_the_cases_it_holds_not_those_it_returned(
        site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    returned = cases["filed"]
    act(api.engine, returned, Action.DISPATCH, "2026-10-16 09:00", DISPATCHER, unit="U-ZF")
    act(api.engine, returned, Action.RETURN, "2026-10-16 09:10", HANDLER_ZF, reason="不属于本单位")
    act(api.engine, returned, Action.DISPATCH, "2026-10-16 09:20", DISPATCHER, unit="U-HW")
    sign_in(api.client, "handler_zf")
    assert api.client.get(f"/cases/{returned}").status_code == 200  # it held the case once
    mine = sign_in(api.client, "handler_zf")
    assert cases["extension"] in mine and cases["suspended"] in mine and returned not in mine
    assert returned in sign_in(api.client, "handler_hw")


def test_map_data_counts_cases_by_grid_and_filters(site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    sign_in(api.client, "leader01")
    layers = api.client.get("/map/layers.json").json()
    assert len(layers["grids"]["features"]) == 9
    assert len(layers["communities"]["features"]) == 2
    assert len(layers["streets"]["features"]) == 1
    everything = api.client.get("/map/cases.json").json()
    assert everything["total"] == len(cases)
    assert everything["grids"][grid_code(0, 2)] == 1
    late = api.client.get("/map/cases.json?scope=overdue").json()
    assert [p[2] for p in late["points"]] == [cases["overdue"]]
    bad = api.client.get("/map/cases.json?from=2026-13-01")
    assert bad.status_code == 422 and "不是有效日期" in bad.text
    panel = api.client.get(f"/map/grids/{grid_code(0, 2)}").text
    assert "环卫中心" in panel and cases["overdue"] in panel and "张监督" not in panel
    assert api.client.get("/map/grids/370181").status_code == 404  # the city, not a grid


class GaodeTiles(Settings):
    map_tile_url: str = "https://tiles.example/{z}/{x}/{y}.png"
    map_tile_coord_sys: str = "gcj02"


def test_layers_are_shifted_into_the_tiles_coordinate_system(api: Api, tmp_path: Path) -> None:
    app = create_app(GaodeTiles(data_dir=tmp_path / "gcj", secret_key="k"), clock=api.clock,
                     engine=api.engine, migrate=False)
    with TestClient(app) as client:
        sign_in(client, "leader01")
        grids = client.get("/map/layers.json").json()["grids"]["features"]
        page = client.get("/map").text
    first = next(f for f in grids if f["properties"]["code"] == grid_code(0, 0))
    west, south, _, _ = cell(0, 0).bounds
    lon, lat = wgs84_to_gcj02(west, south)
    assert shapely.geometry.shape(first["geometry"]).bounds[:2] == pytest.approx(
        (float(lon), float(lat)), abs=2e-6)
    assert "https://tiles.example/{z}/{x}/{y}.png" in page  # the one external URL allowed
    assert 'id="tile-hint"' not in page


def test_the_map_page_says_how_to_add_a_base_map_when_there_is_none(api: Api) -> None:
    sign_in(api.client, "leader01")
    page = api.client.get("/map").text
    assert 'id="tile-hint"' in page and "未配置底图" in page and "XIUHUA_MAP_TILE_URL" in page


def _own_files() -> list[Path]:
    files = [p for p in (HERE / "templates").rglob("*") if p.is_file()]
    return files + [p for p in STATIC_DIR.rglob("*")
                    if p.is_file() and VENDOR not in p.parents and p.suffix in COMMENTS]


def test_templates_and_our_static_files_name_no_external_url() -> None:
    files = _own_files()
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        stripped = COMMENTS[path.suffix].sub("", text)
        assert not URL.search(stripped), f"{path.name} names an external URL"


def test_rendered_pages_name_no_external_url(site: tuple[Api, dict[str, str]]) -> None:
    api, cases = site
    assert not URL.search(api.client.get("/login").text)
    for login in ("acceptor01", "shift01", "dispatcher01", "handler_hw", "inspector01", "leader01"):
        pages = [sign_in(api.client, login), api.client.get("/map").text,
                 api.client.get(f"/map/grids/{grid_code(1, 1)}").text]
        pages += [r.text for r in (api.client.get(f"/cases/{no}") for no in cases.values())
                  if r.status_code == 200]
        for html in pages:
            assert not URL.search(COMMENTS[".html"].sub("", html)), login


def _vendor_table() -> dict[str, str]:
    text = (HERE / "VENDOR.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| ([\w.-]+/[\w./-]+) \| ([0-9a-f]{64}) \|$", text, re.MULTILINE))


def test_vendored_files_are_the_recorded_ones() -> None:
    table = _vendor_table()
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert present == set(table)
    for name, digest in table.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_overdue_time_is_said_in_working_hours_or_in_natural_time_after_hours(
        site: tuple[Api, dict[str, str]]) -> None:
    """Overdue since 17:30 and now 19:00: no working minute has passed, so the natural time."""
    api, _ = site
    late = dispatched_case(api.engine, "2026-10-16 13:30")  # 06010: 4 working hours → 17:30
    api.clock.now = local("2026-10-16 19:00")
    home = sign_in(api.client, "handler_hw")
    assert "已超时，截止于 10-16 17:30，超出 1 小时 30 分" in home
    api.clock.now = local("2026-10-19 10:00")  # Monday: 1.5 working hours on
    assert "已超时，截止于 10-16 17:30，超出 1.5 工作小时" in api.client.get(f"/cases/{late}").text
