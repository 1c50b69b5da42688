"""The public portal's API: report without an account, follow the case with a tracking code,
rate it once it is closed; intake is rate-limited per client address across processes."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from tests import factories
from tests.api.conftest import Api
from tests.factories import DISPATCHER, HANDLER, HANDLER_ZF, INSPECTOR, SHIFT, center, grid_code
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.domain.choices import Action
from xiuhua.domain.geo import from_wgs84
from xiuhua.domain.lifecycle import Actor
from xiuhua.services import accounts
from xiuhua.services import public as public_service
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import rate_limits

PUBLIC = "/api/v1/public"
PHONE = "13912345678"


def report(client: TestClient, **fields: object) -> httpx.Response:
    lon, lat = center(0, 0)
    data = {"category_code": "06010", "lon": lon, "lat": lat, "description": "小区门口垃圾堆积",
            "name": "王小明", "phone": PHONE, **fields}
    return client.post(f"{PUBLIC}/reports", data={k: str(v) for k, v in data.items()})


def act(api: Api, case_no: str, action: Action, actor: Actor, **fields: object) -> None:
    api.clock.now += timedelta(minutes=10)
    factories.act(api.engine, case_no, action, api.clock(), actor, **fields)


def close(api: Api, case_no: str) -> None:
    """Through the whole loop, with internal steps the public must not see."""
    act(api, case_no, Action.FILE, SHIFT)
    act(api, case_no, Action.DISPATCH, DISPATCHER, unit="U-ZF")
    act(api, case_no, Action.RETURN, HANDLER_ZF, reason="非本单位职责，应由环卫处理")
    act(api, case_no, Action.DISPATCH, DISPATCHER, unit="U-HW")
    act(api, case_no, Action.REQUEST_EXTENSION, HANDLER, limit="2wh", reason="车辆检修中")
    act(api, case_no, Action.EXTEND, SHIFT)
    act(api, case_no, Action.FEEDBACK, HANDLER, note="垃圾已清运完毕")
    act(api, case_no, Action.CHECK_PASS, INSPECTOR)
    act(api, case_no, Action.CLOSE, SHIFT, note="经核查已处置到位")


def test_categories_are_the_public_reportable_matters(api: Api) -> None:
    body = api.client.get(f"{PUBLIC}/categories").json()
    by_code = {c["code"]: c for c in body}
    assert by_code["06010"]["name"] == "暴露垃圾" and by_code["06010"]["major_name"] == "市容环境类"
    assert "09003" not in by_code


def test_report_follow_and_rate_once(api: Api) -> None:
    response = report(api.client)
    assert response.status_code == 201, response.text
    created = response.json()
    code, case_no = created["tracking_code"], created["case_no"]
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}", code)
    assert created["status"] == "reported" and code in created["message"]
    with transaction(api.engine) as session:
        case = load_case(session, case_no)
    assert case.source.value == "public" and case.reporter_phone == PHONE
    assert case.events[0].actor is None  # anonymous

    close(api, case_no)
    view = api.client.get(f"{PUBLIC}/cases/{code.lower()[:5]}-{code.lower()[5:]}")
    assert view.status_code == 200
    body = view.json()
    assert body["status"] == "closed" and body["status_label"] == "已结案"
    assert body["category_name"] == "暴露垃圾" and body["can_rate"] is True
    assert [e["action"] for e in body["events"]] == \
        ["report", "file", "dispatch", "dispatch", "feedback", "check_pass", "close"]
    assert [e["unit_name"] for e in body["events"] if e["action"] == "dispatch"] == \
        ["城市管理综合执法局", "环卫中心"]
    assert body["events"][4]["note"] == "垃圾已清运完毕"
    assert body["status_note"] == "已结案：经核查已处置到位"
    for secret in (PHONE, "王小明", "非本单位职责", "车辆检修中", "shift01", "handler_hw",
                   "dispatcher01", "inspector01", "U-HW"):
        assert secret not in view.text, secret

    rated = api.client.post(f"{PUBLIC}/cases/{code}/rating",
                            json={"value": "satisfied", "comment": "很快"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == "satisfied" and rated.json()["can_rate"] is False
    assert rated.json()["events"][-1]["rating_label"] == "满意"
    again = api.client.post(f"{PUBLIC}/cases/{code}/rating", json={"value": "dissatisfied"})
    assert again.status_code == 422 and again.json()["code"] == "already_rated"
    assert again.headers["content-type"] == "application/problem+json"


def test_rating_before_closing_is_refused(api: Api) -> None:
    code = report(api.client).json()["tracking_code"]
    refused = api.client.post(f"{PUBLIC}/cases/{code}/rating", json={"value": "satisfied"})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_state"
    assert "已上报" in refused.json()["detail"]
    bad = api.client.post(f"{PUBLIC}/cases/{code}/rating", json={"value": "great"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"


def test_cancelled_case_shows_the_reason(api: Api) -> None:
    created = report(api.client).json()
    act(api, created["case_no"], Action.CANCEL, SHIFT, reason="invalid", note="现场未发现问题")
    body = api.client.get(f"{PUBLIC}/cases/{created['tracking_code']}").json()
    assert body["status_label"] == "已作废" and body["can_rate"] is False
    cancel = body["events"][-1]
    assert cancel["reason_label"] == "无效" and cancel["note"] == "现场未发现问题"


def test_unknown_tracking_code_is_404(api: Api) -> None:
    for code in ("AAAAAAAAAA", "x", "20261016000001"):
        response = api.client.get(f"{PUBLIC}/cases/{code}")
        assert response.status_code == 404 and response.json()["code"] == "tracking_code_not_found"


def test_reports_are_checked(api: Api) -> None:
    outside = report(api.client, lon=116.4, lat=39.9)
    assert outside.status_code == 422 and outside.json()["code"] == "outside_city"
    assert report(api.client, category_code="09003").json()["code"] == "not_public_category"
    assert report(api.client, phone="call me").json()["code"] == "invalid_request"
    assert report(api.client, description="a\x00b").json()["code"] == "invalid_request"
    by_address = api.client.post(f"{PUBLIC}/reports", data={"category_code": "06012",
                                                            "address": "经十路 100 号"})
    assert by_address.status_code == 201
    glon, glat = from_wgs84(*center(2, 2), "gcj02")  # as an AMap/Tencent map gives it
    gcj = report(api.client, coord_sys="gcj02", lon=glon, lat=glat)
    assert gcj.status_code == 201, gcj.text
    with transaction(api.engine) as session:
        location = load_case(session, gcj.json()["case_no"]).location
    assert location is not None and location.grid_code == grid_code(2, 2)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_report_photos_are_public_copies(api: Api) -> None:
    lon, lat = center(0, 0)
    response = api.client.post(
        f"{PUBLIC}/reports", data={"category_code": "06010", "lon": str(lon), "lat": str(lat)},
        files=[("photos", ("scene.jpg", jpeg(), "image/jpeg"))])
    assert response.status_code == 201, response.text
    body = api.client.get(f"{PUBLIC}/cases/{response.json()['tracking_code']}").json()
    (url,) = body["photos"]
    assert body["events"][0]["photos"] == [url]
    image = api.client.get(url)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    assert re.fullmatch(r"http://testserver/api/v1/public/photos/[\w-]{20,32}", url)
    assert image.headers["content-type"] == "image/jpeg"
    unlinked = api.client.get(f"/api/v1/photos/{'0' * 64}/public")
    assert unlinked.status_code in (401, 404)
    reuse = api.client.post(f"{PUBLIC}/reports", data={
        "category_code": "06010", "lon": str(lon), "lat": str(lat),
        "photo_ids": hashlib.sha256(jpeg()).hexdigest()})
    assert reuse.status_code == 422 and reuse.json()["code"] == "invalid_photo"


@pytest.fixture
def limited(api: Api, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two server processes (apps) on one database, allowing 2 reports per hour."""
    settings = Settings(data_dir=tmp_path / "limited", secret_key="test-secret",
                        public_rate_limit=2, public_rate_window_seconds=3600)
    apps = [create_app(settings, clock=api.clock, engine=api.engine, migrate=False)
            for _ in range(2)]
    address = ("203.0.113.7", 40000)
    with TestClient(apps[0], client=address) as first, TestClient(apps[1], client=address) as second:
        yield first, second


def test_intake_is_rate_limited_per_address_across_processes(
        api: Api, limited: tuple[TestClient, TestClient]) -> None:
    first, second = limited
    api.clock.set("2026-10-16 09:20")
    assert report(first).status_code == 201
    assert report(second).status_code == 201
    refused = report(first)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == str(40 * 60)
    assert refused.json()["code"] == "rate_limited" and "40 分钟后" in refused.json()["detail"]
    with transaction(api.engine) as session:
        assert session.execute(select(rate_limits.c.bucket, rate_limits.c.count)).all() == \
            [("intake:203.0.113.7", 3)]
    assert report(api.client).status_code == 201  # another address has its own count

    with transaction(api.engine) as session:
        key = accounts.add_api_key(session, "随手拍", api.clock())
    lon, lat = center(0, 0)
    open311 = second.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "06010", "lat": str(lat), "long": str(lon)})
    assert open311.status_code == 429 and open311.headers["retry-after"] == str(40 * 60)
    assert open311.json()[0]["code"] == 429

    api.clock.set("2026-10-16 10:00")  # a new window; the old one is pruned
    assert report(second).status_code == 201
    with transaction(api.engine) as session:
        assert session.execute(select(rate_limits.c.bucket, rate_limits.c.count)).all() == \
            [("intake:203.0.113.7", 1)]


def test_tracking_codes_are_unique(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = report(api.client).json()["tracking_code"]
    fresh = "ABCDEFGHJK" if taken != "ABCDEFGHJK" else "KJHGFEDCBA"
    codes = iter([taken, fresh])
    monkeypatch.setattr(public_service, "new_tracking_code", lambda: next(codes))
    assert report(api.client).json()["tracking_code"] == fresh  # retried after the collision
    assert api.client.get(f"{PUBLIC}/cases/{taken}").json()["case_no"] == "20261016000001"
