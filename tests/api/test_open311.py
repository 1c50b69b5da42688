"""Open311 GeoReport v2: what a third-party 311 app sees and may do, in JSON and in XML."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from xml.etree import ElementTree as ET

import httpx
from PIL import Image
from sqlalchemy import func, select

from tests.api.conftest import Api
from tests.factories import SHIFT, center, grid_code
from xiuhua.domain.choices import Action, Role
from xiuhua.domain.lifecycle import Actor, Command
from xiuhua.services import accounts
from xiuhua.services.cases import act_on_case
from xiuhua.services.city import load_city
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, cases

BASE = "/open311/v2"
JSON = "application/json; charset=utf-8"
XML = "text/xml; charset=utf-8"
PHONE = "13812345678"


def new_key(api: Api) -> str:
    with transaction(api.engine) as session:
        return accounts.add_api_key(session, "街拍随手报", api.clock())


def post_request(api: Api, key: str | None, fmt: str = "json", **fields: object) -> httpx.Response:
    lon, lat = center(1, 1)
    data: dict[str, object] = {"service_code": "06010", "lat": lat, "long": lon,
                               "description": "路口有一堆暴露垃圾", "first_name": "三",
                               "last_name": "张", "phone": PHONE, "email": "zs@example.com",
                               "device_id": "dev-1", **fields}
    if key is not None:
        data["api_key"] = key
    return api.client.post(f"{BASE}/requests.{fmt}", data={k: str(v) for k, v in data.items()})


def xml_of(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"] == XML
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def spec_error(response: httpx.Response, status: int) -> str:
    """The error in the spec's JSON form; returns its description."""
    assert response.status_code == status
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert isinstance(body, list) and body[0]["code"] == status
    assert body[0]["description"]
    return str(body[0]["description"])


def act(api: Api, case_no: str, *commands: tuple[Action, Actor, dict[str, object]]) -> None:
    with transaction(api.engine) as session:
        city = load_city(session)
        for action, actor, fields in commands:
            act_on_case(session, city, case_no, Command(action, api.clock(), actor, **fields))  # type: ignore[arg-type]


def test_discovery_names_the_endpoint_in_both_formats(api: Api) -> None:
    response = api.client.get(f"{BASE}/discovery.json")
    assert response.status_code == 200 and response.headers["content-type"] == JSON
    body = response.json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= body.keys()
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}

    root = xml_of(api.client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == \
        ["text/xml", "application/json"]


def test_services_are_the_public_reportable_matters(api: Api) -> None:
    services = api.client.get(f"{BASE}/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    garbage = by_code["06010"]
    assert garbage["service_name"] == "暴露垃圾" and garbage["group"] == "市容环境类"
    assert garbage["type"] == "realtime" and garbage["metadata"] is True
    assert "暴露垃圾" in garbage["keywords"] and garbage["description"]
    assert "09003" not in by_code  # 流浪乞讨 is not reported by the public
    assert all(len(code) == 5 for code in by_code)

    root = xml_of(api.client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and len(root) == len(services)
    for service in root:
        assert service.tag == "service"
        for name in ("service_code", "service_name", "description", "metadata", "type",
                     "keywords", "group"):
            assert service.find(name) is not None, name
    first = root[0]
    assert first.findtext("metadata") == "true" and first.findtext("type") == "realtime"


def test_service_definition_offers_urgency_as_a_single_value_list(api: Api) -> None:
    body = api.client.get(f"{BASE}/services/06010.json").json()
    assert body["service_code"] == "06010"
    (attribute,) = body["attributes"]
    assert attribute["code"] == "urgency" and attribute["datatype"] == "singlevaluelist"
    assert attribute["variable"] is True and attribute["required"] is False
    assert [(v["key"], v["name"]) for v in attribute["values"]] == \
        [("normal", "一般"), ("urgent", "紧急")]

    root = xml_of(api.client.get(f"{BASE}/services/06010.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "06010"
    assert root.findtext("attributes/attribute/datatype") == "singlevaluelist"
    assert [v.findtext("key") for v in root.findall("attributes/attribute/values/value")] == \
        ["normal", "urgent"]


def test_unknown_service_is_404_in_the_spec_format(api: Api) -> None:
    assert "09003" in spec_error(api.client.get(f"{BASE}/services/09003.json"), 404)
    response = api.client.get(f"{BASE}/services/99999.xml")
    assert response.status_code == 404
    root = xml_of(response)
    assert root.tag == "errors" and root.findtext("error/code") == "404"
    assert root.findtext("error/description")


def test_posting_a_request_creates_a_case_at_once(api: Api) -> None:
    key = new_key(api)
    response = post_request(api, key)
    assert response.status_code == 200 and response.headers["content-type"] == JSON
    (created,) = response.json()
    case_no, token = created["service_request_id"], created["token"]
    assert case_no == "20261016000001" and len(token) == 10
    assert created["account_id"] is None and "核实" in created["service_notice"]

    with transaction(api.engine) as session:
        case = load_case(session, case_no)
    assert case.source.value == "public" and case.status.value == "reported"
    assert case.reporter_name == "张三" and case.reporter_phone == PHONE
    assert case.location is not None and case.location.grid_code == grid_code(1, 1)
    with transaction(api.engine) as session:
        detail = session.execute(select(audit_log.c.detail).where(
            audit_log.c.kind == "case_action", audit_log.c.subject == case_no)).scalar_one()
    assert detail == {"action": "report", "channel": "open311", "api_key": "街拍随手报"}

    mapped = api.client.get(f"{BASE}/tokens/{token}.json").json()
    assert mapped == [{"service_request_id": case_no, "token": token}]
    root = xml_of(api.client.get(f"{BASE}/tokens/{token}.xml"))
    assert root.findtext("request/service_request_id") == case_no


def test_post_answers_in_xml_too(api: Api) -> None:
    root = xml_of(post_request(api, new_key(api), fmt="xml"))
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None and request.findtext("service_request_id") == "20261016000001"
    assert request.find("account_id") is not None and request.findtext("token")


def test_post_urgency_attribute_is_used(api: Api) -> None:
    key = new_key(api)
    response = post_request(api, key, **{"attribute[urgency]": "urgent"})
    case_no = response.json()[0]["service_request_id"]
    with transaction(api.engine) as session:
        assert load_case(session, case_no).urgency == "urgent"
    bad = post_request(api, key, **{"attribute[urgency]": "panic"})
    assert "urgency" in spec_error(bad, 400)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 160, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_media_upload_becomes_the_public_media_url(api: Api) -> None:
    key = new_key(api)
    lon, lat = center(1, 1)
    fields = {"api_key": key, "service_code": "06010", "lat": str(lat), "long": str(lon),
              "media_url": "https://img.example.com/a.jpg"}
    response = api.client.post(f"{BASE}/requests.json", data=fields,
                               files={"media": ("scene.jpg", jpeg(), "image/jpeg")})
    assert response.status_code == 200, response.text
    case_no = response.json()[0]["service_request_id"]
    (item,) = api.client.get(f"{BASE}/requests/{case_no}.json").json()
    assert item["media_url"].startswith("http://testserver/api/v1/public/photos/")  # public id
    image = api.client.get(item["media_url"])  # anonymous: the public copy, no metadata
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    with transaction(api.engine) as session:
        report = load_case(session, case_no).events[0]
    assert "https://img.example.com/a.jpg" in (report.note or "")  # for staff only
    assert "img.example.com" not in api.client.get(f"{BASE}/requests/{case_no}.json").text

    broken = api.client.post(f"{BASE}/requests.json", data=fields,
                             files={"media": ("scene.jpg", b"not an image", "image/jpeg")})
    assert "图片" in spec_error(broken, 400)


def test_post_without_or_with_a_wrong_api_key_is_403(api: Api) -> None:
    new_key(api)
    assert "api_key" in spec_error(post_request(api, None), 403)
    assert "api_key" in spec_error(post_request(api, "not-a-key"), 403)
    response = post_request(api, "not-a-key", fmt="xml")
    assert response.status_code == 403 and xml_of(response).findtext("error/code") == "403"
    with transaction(api.engine) as session:
        assert session.execute(select(func.count()).select_from(cases)).scalar() == 0


def test_bad_input_is_400_in_the_spec_format(api: Api) -> None:
    key = new_key(api)
    outside = spec_error(post_request(api, key, lat=39.9, long=116.4), 400)
    assert "不在本市" in outside
    assert "lat" in spec_error(post_request(api, key, lat="north"), 400)
    assert "service_code" in spec_error(post_request(api, key, service_code=""), 400)
    assert spec_error(post_request(api, key, service_code="09003"), 404)
    no_place = api.client.post(f"{BASE}/requests.json",
                               data={"api_key": key, "service_code": "06010"})
    assert "address_string" in spec_error(no_place, 400)
    assert "description" in spec_error(post_request(api, key, description="a\x00b"), 400)
    by_address = post_request(api, key, lat="", long="", address_string="经十路 100 号")
    assert by_address.status_code == 200


def test_a_request_shows_its_progress_without_personal_information(api: Api) -> None:
    key = new_key(api)
    case_no = post_request(api, key).json()[0]["service_request_id"]
    api.clock.now += timedelta(minutes=10)
    act(api, case_no, (Action.FILE, SHIFT, {}),
        (Action.DISPATCH, Actor("dispatcher01", Role.DISPATCHER), {"unit": "U-HW"}))

    for url in (f"{BASE}/requests/{case_no}.json", f"{BASE}/requests.json?extensions=true"):
        response = api.client.get(url)
        assert PHONE not in response.text and "张三" not in response.text
        assert "zs@example.com" not in response.text and "dispatcher01" not in response.text
    (item,) = api.client.get(f"{BASE}/requests/{case_no}.json").json()
    lon, lat = center(1, 1)
    assert item["status"] == "open" and item["status_notes"] == "处置中"
    assert item["service_code"] == "06010" and item["service_name"] == "暴露垃圾"
    assert item["agency_responsible"] == "环卫中心"
    assert item["requested_datetime"] == "2026-10-16T09:00:00+08:00"
    assert item["updated_datetime"] == "2026-10-16T09:10:00+08:00"
    assert item["expected_datetime"] == "2026-10-16T14:40:00+08:00"  # 4 working hours
    assert "4 工作小时" in item["service_notice"]
    assert item["address_id"] == grid_code(1, 1) and item["zipcode"] is None
    assert abs(item["lat"] - lat) < 1e-6 and abs(item["long"] - lon) < 1e-6

    root = xml_of(api.client.get(f"{BASE}/requests/{case_no}.xml"))
    assert root.tag == "service_requests" and len(root) == 1
    request = root[0]
    for name in ("service_request_id", "status", "status_notes", "service_name", "service_code",
                 "description", "agency_responsible", "service_notice", "requested_datetime",
                 "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                 "lat", "long", "media_url"):
        assert request.find(name) is not None, name
    assert request.findtext("agency_responsible") == "环卫中心"
    assert PHONE.encode() not in api.client.get(f"{BASE}/requests.xml").content


def test_closed_and_cancelled_requests(api: Api) -> None:
    key = new_key(api)
    first = post_request(api, key).json()[0]["service_request_id"]
    second = post_request(api, key).json()[0]["service_request_id"]
    api.clock.now += timedelta(minutes=5)
    act(api, second, (Action.CANCEL, SHIFT, {"reason": "duplicate", "duplicate_of": first,
                                              "note": "与前一件重复"}))
    (item,) = api.client.get(f"{BASE}/requests/{second}.json").json()
    assert item["status"] == "closed"
    assert item["status_notes"] == f"已作废（重复，原案件 {first}）：与前一件重复"
    assert item["expected_datetime"] is None

    notes = api.client.get(f"{BASE}/requests/{second}.json?extensions=true").json()[0]["notes"]
    assert [n["type"] for n in notes] == ["report", "cancel"]
    assert notes[1]["datetime"] == "2026-10-16T09:05:00+08:00"


def test_unknown_request_is_404_in_the_spec_format(api: Api) -> None:
    assert "20260101999999" in spec_error(api.client.get(f"{BASE}/requests/20260101999999.json"), 404)
    response = api.client.get(f"{BASE}/requests/20260101999999.xml")
    assert response.status_code == 404 and xml_of(response).findtext("error/code") == "404"
    assert spec_error(api.client.get(f"{BASE}/tokens/AAAAAAAAAA.json"), 404)
    assert spec_error(api.client.get(f"{BASE}/requests/x%00y.json"), 404)
    assert spec_error(api.client.get(f"{BASE}/no-such-thing.json"), 404)
    assert spec_error(api.client.get(f"{BASE}/services.html"), 404)
    assert xml_of(api.client.delete(f"{BASE}/requests.xml")).tag == "errors"


def test_listing_filters_and_pages(api: Api) -> None:
    key = new_key(api)
    lon, lat = center(0, 0)
    api.clock.set("2026-06-01 10:00")  # older than 90 days by mid-October
    old = post_request(api, key).json()[0]["service_request_id"]
    api.clock.set("2026-10-15 10:00")
    road = post_request(api, key, service_code="06012").json()[0]["service_request_id"]
    api.clock.set("2026-10-16 09:00")
    garbage = post_request(api, key, lat=lat, long=lon).json()[0]["service_request_id"]
    api.clock.set("2026-10-16 10:00")
    act(api, road, (Action.CANCEL, SHIFT, {"reason": "invalid"}))

    def ids(query: str = "") -> list[str]:
        response = api.client.get(f"{BASE}/requests.json{query}")
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert ids() == [garbage, road]  # the latest 90 days, newest first
    assert ids("?service_code=06012") == [road]
    assert ids("?service_code=06010,06012&status=open") == [garbage]
    assert ids("?status=closed") == [road]
    assert ids("?status=open,closed") == [garbage, road]
    assert ids("?page_size=1&page=2") == [road]
    assert ids("?page_size=1&page=3") == []
    assert ids("?updated_after=2026-10-16T09:30:00%2B08:00") == [road]
    # without start_date/end_date, updated_* replace the default 90-day window
    assert ids("?updated_before=2026-10-16T09:30:00%2B08:00") == [garbage, old]
    assert ids("?start_date=2026-05-01T00:00:00Z&end_date=2026-07-01T00:00:00Z") == [old]
    assert ids(f"?service_request_id={old},{garbage}&status=closed") == [garbage, old]
    assert ids("?start_date=&status=") == [garbage, road]  # empty means not given
    assert ids("?service_request_id=%00,x") == [] and ids("?service_code=%00") == []
    too_long = api.client.get(f"{BASE}/requests.json?start_date=2026-01-01&end_date=2026-10-01")
    assert "90" in spec_error(too_long, 400)
    assert "page_size" in spec_error(api.client.get(f"{BASE}/requests.json?page_size=5000"), 400)
    assert "status" in spec_error(api.client.get(f"{BASE}/requests.json?status=pending"), 400)
    assert "start_date" in spec_error(api.client.get(f"{BASE}/requests.json?start_date=soon"), 400)

    root = xml_of(api.client.get(f"{BASE}/requests.xml?service_code=06012"))
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [road]
    assert json.loads(api.client.get(f"{BASE}/requests.json?service_code=09003").text) == []


def spec_xml_error(response: httpx.Response, status: int) -> str:
    """The error in the spec's XML form; returns its description."""
    assert response.status_code == status, response.text
    root = xml_of(response)
    assert root.tag == "errors" and root.findtext("error/code") == str(status)
    return root.findtext("error/description") or ""


EXTREMES = [
    ("start_date", "9999-12-31T00:00:00"), ("end_date", "0001-01-01T00:00:00"),
    ("start_date", "9999-12-31T23:59:59-12:00"), ("end_date", "0001-01-01T00:00:00+14:00"),
    ("start_date", "0001-01-01T00:00:00%2B14:00"), ("end_date", "9999-12-31T23:59:59-12:00"),
    ("updated_after", "9999-12-31T23:59:59-12:00"), ("updated_before", "0001-01-01T00:00:00%2B14:00"),
    ("start_date", "1949-12-31T00:00:00Z"), ("end_date", "2101-01-01T00:00:00Z"),
    ("page_size", "²"), ("page_size", "٣"), ("page", "１"), ("page", "99999999999999999999999"),
    ("page_size", "%2B5"), ("page", "0x10"),
]


def test_extreme_values_are_400_in_the_spec_format_never_a_server_error(api: Api) -> None:
    for name, value in EXTREMES:
        for fmt in ("json", "xml"):
            response = api.client.get(f"{BASE}/requests.{fmt}?{name}={value}")
            description = (spec_error(response, 400) if fmt == "json" else spec_xml_error(response, 400))
            assert name in description, (name, value, description)
    both = f"{BASE}/requests.json?start_date=2100-12-31T00:00:00%2B14:00&end_date=2100-12-31T23:59:59-12:00"
    assert api.client.get(both).status_code in (200, 400)  # the last day of the range still answers
    assert api.client.get(f"{BASE}/requests.json?start_date=2026-10-01T00:00:00%2B14:00").status_code == 200


def test_the_case_timeline_names_the_open311_client_that_reported(api: Api) -> None:
    from tests.e2e.test_pages_http import sign_in

    (created,) = post_request(api, new_key(api)).json()
    sign_in(api.client, "shift01")
    page = api.client.get(f"/cases/{created['service_request_id']}").text
    assert "Open311 客户端“街拍随手报”" in page and ">系统<" not in page
