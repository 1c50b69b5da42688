"""上报问题 and photos in the case page's action forms.

Over HTTP (both backends): the form's errors next to their field in Chinese with nothing stored
(no category, a point outside the city, a file that is no photo), one case per filled-in form
however often it is sent, an acceptor's address-only hotline report, the pinyin of the picker,
a unit's feedback with a photo. In Chromium on a 375 px screen: an inspector picks a category by
its pinyin initials, taps the point on the map, takes a photo and reports; the handler feeds
back with a photo from the case page."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from tests.api.conftest import Api
from tests.e2e.conftest import Server, Visit
from tests.e2e.scenario import NOW, build_cases
from tests.e2e.test_pages_http import GaodeTiles, csrf_of, sign_in
from tests.factories import center, dispatched_case, grid_code, xiuhua
from xiuhua.app import create_app
from xiuhua.domain.choices import Action
from xiuhua.domain.geo import wgs84_to_gcj02
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import cases, photos
from xiuhua.web.report import FORM_KEY, pinyin_keys


def jpeg(colour: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def count(api: Api, table: Any) -> int:
    with transaction(api.engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def form_key(html: str) -> str:
    found = re.search(rf'name="{FORM_KEY}" value="([^"]+)"', html)
    assert found, "the report form has no form key"
    return found.group(1)


def report_form(api: Api, login: str) -> tuple[str, dict[str, str]]:
    """Sign in and open /report: the page and the hidden fields to send back."""
    sign_in(api.client, login)
    page = api.client.get("/report")
    assert page.status_code == 200
    return page.text, {"csrf_token": csrf_of(page.text), FORM_KEY: form_key(page.text)}


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="{re.escape(name)}-error" role="alert">([^<]*)<', html)
    return found.group(1) if found else ""


# --- pinyin -------------------------------------------------------------------------------------


def test_pinyin_initials_and_full_pinyin_of_category_names() -> None:
    assert pinyin_keys("暴露垃圾") == ("bllj", "baolulaji")
    assert pinyin_keys("垃圾堆放") == ("ljdf", "lajiduifang")
    assert pinyin_keys("井盖（缺失）")[0] == "jgqs"


def test_the_picker_gets_the_pinyin_of_every_active_category(api: Api) -> None:
    page, _ = report_form(api, "inspector01")
    data = re.search(r'<script type="application/json" id="category-data">(.*?)</script>', page, re.S)
    assert data
    found = {c["code"]: c for c in json.loads(data.group(1))}
    assert found["06010"] == {"code": "06010", "name": "暴露垃圾", "major": "市容环境类", "py": "bllj",
                              "full": "baolulaji"}
    assert 'capture="environment"' in page and 'accept="image/*"' in page


# --- bad input: an error next to the field, nothing stored -----------------------------------


def test_a_report_without_a_category_is_refused_next_to_the_field(api: Api) -> None:
    _, hidden = report_form(api, "inspector01")
    lon, lat = center(1, 1)
    sent = api.client.post("/report", data={**hidden, "lon": str(lon), "lat": str(lat),
                                            "description": "路面有垃圾"})
    assert sent.status_code == 422
    assert field_error(sent.text, "category_code") == "请选择问题类别"
    assert "路面有垃圾" in sent.text  # what was typed stays
    assert count(api, cases) == 0


def test_a_point_outside_the_city_is_refused_next_to_the_position(api: Api) -> None:
    _, hidden = report_form(api, "inspector01")
    sent = api.client.post("/report", data={**hidden, "category_code": "06010", "lon": "116.5",
                                            "lat": "36.1", "coord_sys": "wgs84"},
                           files={"photos": ("a.jpg", jpeg(), "image/jpeg")})
    assert sent.status_code == 422
    assert "不在本市任何单元网格内" in field_error(sent.text, "position")
    assert count(api, cases) == 0 and count(api, photos) == 0


def test_an_inspector_must_give_a_point(api: Api) -> None:
    _, hidden = report_form(api, "inspector01")
    sent = api.client.post("/report", data={**hidden, "category_code": "06010", "address": "经十路"})
    assert sent.status_code == 422
    assert field_error(sent.text, "position") == "请使用定位或在地图上点选问题位置"
    assert count(api, cases) == 0


def test_a_file_that_is_no_photo_is_refused_next_to_the_photos(api: Api) -> None:
    _, hidden = report_form(api, "inspector01")
    lon, lat = center(0, 0)
    sent = api.client.post("/report", data={**hidden, "category_code": "06010", "lon": str(lon),
                                            "lat": str(lat)},
                           files={"photos": ("photo.jpg", b"not an image at all", "image/jpeg")})
    assert sent.status_code == 422
    assert "无法识别的图片" in field_error(sent.text, "photos")
    assert count(api, cases) == 0 and count(api, photos) == 0


# --- reporting --------------------------------------------------------------------------------


def test_an_inspector_reports_with_a_photo_once_however_often_the_form_is_sent(api: Api) -> None:
    _, hidden = report_form(api, "inspector01")
    lon, lat = center(1, 1)
    fields = {**hidden, "category_code": "06010", "lon": str(lon), "lat": str(lat),
              "coord_sys": "wgs84", "urgency": "urgent", "address": "经十路 100 号",
              "description": "人行道上有暴露垃圾"}
    first = api.client.post("/report", data=fields, files={"photos": ("a.jpg", jpeg(), "image/jpeg")})
    again = api.client.post("/report", data=fields, files={"photos": ("a.jpg", jpeg(), "image/jpeg")})
    assert first.url.path == again.url.path and first.url.path.startswith("/cases/")
    assert "已上报，案件号" in first.text
    assert count(api, cases) == 1
    case_no = first.url.path.rsplit("/", 1)[1]
    with transaction(api.engine) as session:
        case = load_case(session, case_no)
    assert case.location is not None and case.location.grid_code == grid_code(1, 1)
    assert case.urgency == "urgent" and case.source.value == "inspector" and len(case.photos) == 1
    assert f"/api/v1/photos/{case.photos[0]}/thumb" in first.text


def test_a_point_tapped_on_a_gcj02_map_is_converted_back(api: Api) -> None:
    _, hidden = report_form(api, "inspector01")
    lon, lat = center(2, 2)
    glon, glat = wgs84_to_gcj02(lon, lat)
    sent = api.client.post("/report", data={**hidden, "category_code": "06010", "lon": f"{glon:.7f}",
                                            "lat": f"{glat:.7f}", "coord_sys": "gcj02"})
    case_no = sent.url.path.rsplit("/", 1)[1]
    with transaction(api.engine) as session:
        case = load_case(session, case_no)
    assert case.location is not None and case.location.grid_code == grid_code(2, 2)
    assert abs(case.location.lon - lon) < 1e-5 and abs(case.location.lat - lat) < 1e-5


def test_on_a_gcj02_base_map_taps_are_sent_as_gcj02_and_drawn_shifted(api: Api, tmp_path: Path) -> None:
    app = create_app(GaodeTiles(data_dir=tmp_path / "gcj", secret_key="k"), clock=api.clock,
                     engine=api.engine, migrate=False)
    lon, lat = center(1, 2)
    glon, glat = wgs84_to_gcj02(lon, lat)
    with TestClient(app) as client:
        sign_in(client, "inspector01")
        page = client.get("/report").text
        config = re.search(r'id="report-config">(.*?)</script>', page, re.S)
        assert config and json.loads(config.group(1))["coordSys"] == "gcj02"
        gps = client.get("/report/point.json", params={"lon": lon, "lat": lat}).json()
        tapped = client.get("/report/point.json",
                            params={"lon": glon, "lat": glat, "coord_sys": "gcj02"}).json()
    assert gps["grid"] == tapped["grid"] == grid_code(1, 2)
    assert (gps["lon"], gps["lat"]) == pytest.approx((float(glon), float(glat)), abs=1e-6)
    assert (tapped["lon"], tapped["lat"]) == pytest.approx((float(glon), float(glat)), abs=1e-6)


def test_the_point_lookup_names_the_grid_or_says_it_is_outside(api: Api) -> None:
    sign_in(api.client, "inspector01")
    lon, lat = center(0, 1)
    inside = api.client.get("/report/point.json", params={"lon": lon, "lat": lat}).json()
    assert inside["ok"] and inside["grid"] == grid_code(0, 1) and "网格002" in inside["place"]
    outside = api.client.get("/report/point.json", params={"lon": 100, "lat": 30}).json()
    assert not outside["ok"] and "不在本市" in outside["error"]


def test_an_acceptor_reports_a_hotline_call_with_only_an_address(api: Api) -> None:
    page, hidden = report_form(api, "acceptor01")
    assert 'name="source"' in page and 'name="reporter.phone"' in page
    sent = api.client.post("/report", data={**hidden, "category_code": "06010", "source": "hotline",
                                            "address": "历山路 5 号门口", "reporter.name": "刘女士",
                                            "reporter.phone": "13800001234"})
    assert sent.url.path.startswith("/cases/")
    with transaction(api.engine) as session:
        case = load_case(session, sent.url.path.rsplit("/", 1)[1])
    assert case.location is None and case.status.value == "reported"
    assert case.source.value == "hotline" and case.reporter_phone == "13800001234"


def test_roles_other_than_inspector_and_acceptor_may_not_report(api: Api) -> None:
    sign_in(api.client, "handler_hw")
    assert api.client.get("/report").status_code == 403


# --- photos in action forms -------------------------------------------------------------------


def test_a_handler_feeds_back_with_a_photo_from_the_case_page(api: Api) -> None:
    api.clock.now = NOW
    made = build_cases(api.engine)
    case_no = made["soon"]  # dispatched to U-HW
    page = sign_in(api.client, "handler_hw")
    html = api.client.get(f"/cases/{case_no}").text
    assert 'id="feedback-photos"' in html and 'enctype="multipart/form-data"' in html
    with transaction(api.engine) as session:
        version = load_case(session, case_no).version
    done = api.client.post(f"/cases/{case_no}/actions/feedback",
                           data={"csrf_token": csrf_of(page), "version": str(version), "note": "已清运"},
                           files={"photos": ("after.jpg", jpeg((20, 160, 60)), "image/jpeg")})
    assert done.url.path == f"/cases/{case_no}" and "已处置反馈" in done.text
    with transaction(api.engine) as session:
        case = load_case(session, case_no)
    feedback = case.events[-1]
    assert feedback.action is Action.FEEDBACK and len(feedback.photos) == 1
    after = done.text.split("处置后</figcaption>", 1)[1].split("</figure>", 1)[0]
    assert f"/api/v1/photos/{feedback.photos[0]}/thumb" in after


def test_a_refused_action_keeps_no_photo(api: Api) -> None:
    api.clock.now = NOW
    made = build_cases(api.engine)
    case_no = made["handled"]  # waiting for the check
    page = sign_in(api.client, "inspector01")
    before = count(api, photos)
    stored = Path(api.client.app.state.settings.data_dir) / "photos"  # type: ignore[attr-defined]
    files_before = sorted(stored.rglob("*")) if stored.exists() else []
    refused = api.client.post(f"/cases/{case_no}/actions/check_pass",
                              data={"csrf_token": csrf_of(page), "version": "1"},
                              files={"photos": ("x.jpg", jpeg((1, 2, 3)), "image/jpeg")})
    assert "核查通过未完成" in refused.text
    assert count(api, photos) == before
    files_after = sorted(p for p in stored.rglob("*") if p.is_file()) if stored.exists() else []
    assert files_after == [p for p in files_before if p.is_file()]  # the original (GPS) too


# --- in the browser ---------------------------------------------------------------------------

e2e = pytest.mark.e2e


def tap_grid(visit: Visit, row: int, col: int) -> None:
    """Tap the middle of a grid cell on the report map (Leaflet's own projection)."""
    lon, lat = center(row, col)
    point = visit.page.evaluate(
        """([lat, lon]) => { const m = window.XiuhuaReportMap; const p = m.latLngToContainerPoint([lat, lon]);
             const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }""",
        [lat, lon])
    visit.page.mouse.click(point[0], point[1])


@e2e
def test_an_inspector_reports_from_a_phone(phone: Visit, server: Server) -> None:
    phone.login("inspector01")
    phone.go("/report")
    page = phone.page
    page.wait_for_selector("#report-map .grid-shape")
    page.fill("#category-search", "bllj")
    option = page.locator("#category-results [data-code='06010'] button")
    option.click()
    assert page.input_value("#category_code") == "06010"
    assert page.input_value("#category-search") == "暴露垃圾"
    page.fill("#category-search", "垃圾")
    assert page.locator("#category-results [data-code='06010']").count() == 1
    page.fill("#category-search", "")
    tap_grid(phone, 1, 1)
    page.wait_for_function("() => document.getElementById('position-status').textContent.includes('网格005')")
    assert page.input_value("#lat") != ""
    page.set_input_files("#photos", files=[{"name": "scene.jpg", "mimeType": "image/jpeg",
                                             "buffer": jpeg((180, 60, 60), (120, 90))}])
    page.fill("#address", "东风社区北门")
    page.fill("#description", "人行道上有暴露垃圾")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the report page is {width} px wide"
    phone.shot("report-inspector-phone")
    phone.submit("#report-submit")
    assert re.search(r"/cases/\d{14}$", page.url)
    assert "已上报，案件号" in page.inner_text("main")
    image = page.locator(".photo-group img").first
    image.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
    assert "网格005" in page.inner_text("dl.facts")
    phone.shot("report-case-page-phone")


@e2e
def test_a_handler_feeds_back_with_a_photo_in_the_browser(visit: Visit, server: Server) -> None:
    case_no = dispatched_case(server.engine, "2026-10-16 09:00")
    visit.login("handler_hw")
    visit.go(f"/cases/{case_no}")
    page = visit.page
    page.click("#action-feedback summary")
    page.fill("#feedback-note", "已清理完毕")
    page.set_input_files("#feedback-photos", files=[{"name": "after.jpg", "mimeType": "image/jpeg",
                                                     "buffer": jpeg((30, 140, 70), (100, 80))}])
    visit.submit("#action-feedback button[type=submit]")
    assert "已处置反馈" in page.inner_text("main")
    after = page.locator(".photo-group").nth(1).locator("img")
    after.first.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", after.first.element_handle())
    visit.shot("case-feedback-with-photo")



def test_serve_takes_a_certificate_only_with_its_key(tmp_path: Path) -> None:
    """Phones give GPS only to HTTPS pages: ``xiuhua serve`` serves HTTPS given both files."""
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    alone = xiuhua("serve", "--ssl-certfile", str(cert))
    assert alone.exit_code == 2 and "须同时提供" in alone.output
    missing = xiuhua("serve", "--ssl-certfile", str(cert), "--ssl-keyfile", str(tmp_path / "none.pem"))
    assert missing.exit_code == 2


@e2e
def test_the_phone_gps_position_locates_the_report(phone: Visit, server: Server) -> None:
    """127.0.0.1 is a secure context like an HTTPS site: the browser gives the position."""
    lon, lat = center(0, 2)
    context = phone.page.context
    context.grant_permissions(["geolocation"], origin=phone.base)
    context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
    phone.login("inspector01")
    phone.go("/report")
    page = phone.page
    page.wait_for_selector("#report-map .grid-shape")
    page.select_option("#category_code", "06010")
    page.click("#locate-me")
    page.wait_for_function("() => document.getElementById('position-status').textContent.includes('网格003')")
    assert page.input_value("#coord_sys") == "wgs84"
    assert page.locator("#report-map .leaflet-marker-icon").count() == 1
    phone.submit("#report-submit")
    assert "网格003" in page.inner_text("dl.facts")


@e2e
def test_an_acceptor_registers_a_hotline_call_by_address(visit: Visit, server: Server) -> None:
    visit.login("acceptor01")
    visit.go("/report")
    page = visit.page
    page.wait_for_selector("#report-map .grid-shape")
    page.fill("#category-search", "暴露")
    page.locator("#category-results [data-code='06010'] button").click()
    page.select_option("#source", "hotline")
    page.fill("#reporter-name", "刘女士")
    page.fill("#reporter-phone", "13800001234")
    page.fill("#address", "历山路 5 号门口")
    visit.shot("report-acceptor")
    visit.submit("#report-submit")
    facts = page.inner_text("dl.facts")
    assert "热线" in facts.split("来源", 1)[1][:10]
    assert "尚未定位" in facts and "13800001234" in facts
