"""市民服务, the public portal (no sign-in).

Over HTTP (both backends): a citizen reports with a photo and gets a tracking code, once per
filled-in form; bad input is refused next to its field with nothing stored; the public rate
limit; tracking shows the public history without personal data; a closed case is rated once;
rankings show published months only, units and streets but no people. In Chromium on a phone:
a citizen reports on the map with a photo, tracks the case, and rates it once it is closed."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from tests.api.conftest import Api
from tests.api.test_public import close
from tests.e2e.conftest import Server, Visit
from tests.e2e.scenario import NOW
from tests.e2e.test_pages_http import csrf_of
from tests.e2e.test_report_pages import count, field_error, form_key, jpeg, tap_grid
from tests.factories import DISPATCHER, HANDLER, INSPECTOR, SHIFT, act, center
from xiuhua.domain.assessment import Period
from xiuhua.domain.choices import Action
from xiuhua.reports.circular import period_name
from xiuhua.services import assessment
from xiuhua.services.city import load_city
from xiuhua.store.db import transaction
from xiuhua.store.tables import cases, photos
from xiuhua.web.report import FORM_KEY

PHONE = "13912345678"


def public_form(api: Api) -> dict[str, str]:
    api.client.cookies.clear()
    page = api.client.get("/public/report")
    assert page.status_code == 200
    assert 'name="reporter.phone"' in page.text and 'name="source"' not in page.text
    return {"csrf_token": csrf_of(page.text), FORM_KEY: form_key(page.text)}


def citizen_report(api: Api, **fields: str) -> str:
    """Report through the portal; the tracking code shown afterwards."""
    lon, lat = center(0, 0)
    data = {**public_form(api), "category_code": "06010", "lon": str(lon), "lat": str(lat),
            "coord_sys": "wgs84", "description": "小区门口垃圾堆积", "reporter.phone": PHONE, **fields}
    sent = api.client.post("/public/report", data=data,
                           files={"photos": ("scene.jpg", jpeg(), "image/jpeg")})
    assert sent.url.path == "/public/track", sent.text[:500]
    return sent.url.params["code"]


def test_the_portal_is_linked_from_the_login_page_and_needs_no_login(api: Api) -> None:
    assert 'href="/public"' in api.client.get("/login").text
    for path in ("/public", "/public/report", "/public/track", "/public/rankings", "/public/layers.json"):
        assert api.client.get(path, follow_redirects=False).status_code == 200, path


def test_a_citizen_reports_with_a_photo_and_tracks_the_case(api: Api) -> None:
    hidden = public_form(api)
    lon, lat = center(0, 0)
    data = {**hidden, "category_code": "06010", "lon": str(lon), "lat": str(lat),
            "description": "小区门口垃圾堆积", "reporter.phone": PHONE}
    first = api.client.post("/public/report", data=data, files={"photos": ("a.jpg", jpeg(), "image/jpeg")})
    again = api.client.post("/public/report", data=data, files={"photos": ("a.jpg", jpeg(), "image/jpeg")})
    code = first.url.params["code"]
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}", code)
    assert again.url.params["code"] == code and count(api, cases) == 1
    assert f"您的查询码是 {code}" in first.text
    assert 'id="tracking-code">' + code in first.text and "暴露垃圾" in first.text
    photo = re.search(r'src="(/api/v1/public/photos/[\w-]{20,32})"', first.text)
    assert photo, "the track page shows the photo (by its public id)"
    assert hashlib.sha256(jpeg()).hexdigest() not in first.text
    api.client.cookies.clear()
    image = api.client.get(photo.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert PHONE not in first.text and "138****" not in first.text


def test_bad_public_input_is_refused_next_to_the_field_and_nothing_is_kept(api: Api) -> None:
    lon, lat = center(1, 1)
    missing = api.client.post("/public/report", data={**public_form(api), "lon": str(lon), "lat": str(lat)})
    assert missing.status_code == 422 and field_error(missing.text, "category_code") == "请选择问题类别"
    outside = api.client.post("/public/report", data={**public_form(api), "category_code": "06010",
                                                      "lon": "120.1", "lat": "30.2"},
                              files={"photos": ("a.jpg", jpeg(), "image/jpeg")})
    assert outside.status_code == 422 and "不在本市" in field_error(outside.text, "position")
    nowhere = api.client.post("/public/report", data={**public_form(api), "category_code": "06010"})
    assert field_error(nowhere.text, "position") == "请在地图上点选位置，或填写地址"
    bad_photo = api.client.post("/public/report", data={**public_form(api), "category_code": "06010",
                                                        "address": "经十路"},
                                files={"photos": ("a.jpg", b"GIF89a not really", "image/jpeg")})
    assert bad_photo.status_code == 422 and "无法识别的图片" in field_error(bad_photo.text, "photos")
    bad_phone = api.client.post("/public/report", data={**public_form(api), "category_code": "06010",
                                                        "address": "经十路", "reporter.phone": "abc"})
    assert field_error(bad_phone.text, "reporter-phone") == "联系电话填写有误，请检查"
    assert count(api, cases) == 0 and count(api, photos) == 0


def test_public_reports_are_rate_limited(api: Api) -> None:
    api.client.app.state.settings.public_rate_limit = 1  # type: ignore[attr-defined]
    citizen_report(api)
    refused = api.client.post("/public/report", data={**public_form(api), "category_code": "06010",
                                                      "address": "经十路"})
    assert refused.status_code == 429
    assert "提交过于频繁" in refused.text
    assert count(api, cases) == 1


def test_an_unknown_code_is_named_next_to_the_field(api: Api) -> None:
    found = api.client.get("/public/track", params={"code": "ABCDEFGHJK"})
    assert found.status_code == 404 and field_error(found.text, "code") == "查询码不存在，请核对后重试"


def test_a_closed_case_is_rated_once_and_nothing_personal_is_shown(api: Api) -> None:
    code = citizen_report(api)
    with transaction(api.engine) as session:
        case_no = session.execute(select(cases.c.case_no).where(cases.c.tracking_code == code)).scalar_one()
    close(api, case_no)
    page = api.client.get("/public/track", params={"code": code.lower()})
    assert "已结案：经核查已处置到位" in page.text and 'id="rate"' in page.text
    for secret in (PHONE, "非本单位职责", "车辆检修中", "shift01", "handler_hw", "inspector01", "U-HW"):
        assert secret not in page.text, secret
    token = csrf_of(page.text)
    rated = api.client.post(f"/public/track/{code}/rating", data={"csrf_token": token, "value": "satisfied"})
    assert "感谢您的评价" in rated.text and 'id="rating">满意' in rated.text and 'id="rate"' not in rated.text
    again = api.client.post(f"/public/track/{code}/rating",
                            data={"csrf_token": token, "value": "dissatisfied"})
    assert again.status_code == 422 and field_error(again.text, "value")
    assert 'id="rating">满意' in again.text


def test_rankings_show_published_months_only_and_no_people(api: Api) -> None:
    assert "暂无已发布的月度考核结果" in api.client.get("/public/rankings").text
    with transaction(api.engine) as session:
        city = load_city(session)
        assessment.publish(session, city, "2026-09", assessment.load_config(), api.clock.now, "admin01")
    page = api.client.get("/public/rankings")
    assert page.status_code == 200 and period_name(Period.parse("2026-09")) in page.text
    assert "环卫中心" in page.text and "测试街道" in page.text
    for person in ("inspector01", "张监督", "acceptor01", "shift01"):
        assert person not in page.text
    assert api.client.get("/public/rankings", params={"period": "2026-08"}).status_code == 404
    assert api.client.get("/public/rankings", params={"period": "2026-10"}).status_code == 404


# --- in the browser ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_citizen_reports_tracks_and_rates_from_a_phone(own_phone: Visit, own_server: Server) -> None:
    phone, server = own_phone, own_server  # it closes a case: not on the shared server
    page = phone.page
    phone.go("/login")
    phone.submit("a[href='/public']")
    assert page.inner_text("h1") == "城市管理市民服务"
    phone.shot("portal-home-phone")
    phone.submit("main a[href='/public/report']")
    page.wait_for_selector("#report-map .grid-shape")
    page.fill("#category-search", "baolu")
    page.locator("#category-results [data-code='06010'] button").click()
    tap_grid(phone, 2, 1)
    page.wait_for_function("() => document.getElementById('position-status').textContent.includes('网格008')")
    page.set_input_files("#photos", files=[{"name": "street.jpg", "mimeType": "image/jpeg",
                                             "buffer": jpeg((90, 90, 200), (120, 90))}])
    page.fill("#description", "路边垃圾无人清理")
    page.fill("#reporter-phone", PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the public report page is {width} px wide"
    phone.shot("portal-report-phone")
    phone.submit("#report-submit")
    code = page.input_value("#code")
    assert f"您的查询码是 {code}" in page.inner_text("#flash")
    assert page.inner_text("#case-status") == "已上报"
    assert PHONE not in page.content()
    phone.shot("portal-track-phone")

    case_no = page.inner_text("dl.facts dd:nth-of-type(2)")
    for action, actor, fields in ((Action.FILE, SHIFT, {}), (Action.DISPATCH, DISPATCHER, {"unit": "U-HW"}),
                                  (Action.FEEDBACK, HANDLER, {"note": "已清理"}),
                                  (Action.CHECK_PASS, INSPECTOR, {}), (Action.CLOSE, SHIFT, {})):
        act(server.engine, case_no, action, NOW, actor, **fields)
    phone.go(f"/public/track?code={code}")
    assert page.inner_text("#case-status") == "已结案"
    page.check("#rate input[value='satisfied']")
    phone.submit("#rate button[type=submit]")
    assert page.inner_text("#rating") == "满意"
    assert page.locator("#rate").count() == 0
    phone.shot("portal-rated-phone")
    phone.go("/public/rankings")
    phone.shot("portal-rankings-phone")



def test_the_portal_and_report_pages_name_no_external_url(api: Api) -> None:
    from tests.e2e.test_pages_http import COMMENTS, URL, sign_in

    pages = [api.client.get(p).text for p in ("/public", "/public/report", "/public/track",
                                                "/public/rankings")]
    sign_in(api.client, "inspector01")
    pages.append(api.client.get("/report").text)
    for html in pages:
        assert not URL.search(COMMENTS[".html"].sub("", html))
