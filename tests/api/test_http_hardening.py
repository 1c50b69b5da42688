"""HTTP hardening: absolute URLs come from XIUHUA_PUBLIC_BASE_URL, never from a forged Host
header; XIUHUA_TRUSTED_HOSTS refuses other hosts with 400; every response (page, API, static file,
error) carries the CSP, X-Frame-Options, Referrer-Policy and nosniff headers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.api.conftest import Api, Clock, build_city_with_users
from tests.api.test_open311 import new_key
from tests.api.test_public import jpeg
from tests.factories import center
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.http.headers import content_security_policy, tile_source
from xiuhua.store.db import make_engine

BASE_URL = "https://cg.example.gov.cn/xiuhua"
FORGED = {"host": "evil.example"}
OPEN311 = "/open311/v2"
STRICT = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
          "img-src 'self' data: blob:", "frame-ancestors 'none'", "base-uri 'self'",
          "form-action 'self'", "object-src 'none'"}


@pytest.fixture
def client_with(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """A client over an app made with the given settings (the tiny city and its users, on
    SQLite: nothing here depends on the database)."""
    shutil.copy(sqlite_template, tmp_path / "xiuhua.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'xiuhua.db'}")
    clock = Clock()
    tokens = build_city_with_users(engine, clock())
    clients: list[TestClient] = []

    def make(**settings: Any) -> Api:
        app = create_app(Settings(data_dir=tmp_path / "data", secret_key="test-secret", **settings),
                         clock=clock, engine=engine, migrate=False)
        clients.append(TestClient(app))
        return Api(clients[-1], clock, engine, tokens)

    yield make
    for client in clients:
        client.close()
    engine.dispose()


def public_photo_urls(api: Api) -> list[str]:
    """A citizen's report with a photo, then the photo URLs of its public tracking response."""
    lon, lat = center(0, 0)
    sent = api.client.post("/api/v1/public/reports", headers=FORGED,
                           data={"category_code": "06010", "lon": str(lon), "lat": str(lat)},
                           files=[("photos", ("scene.jpg", jpeg(), "image/jpeg"))])
    assert sent.status_code == 201, sent.text
    body = api.client.get(f"/api/v1/public/cases/{sent.json()['tracking_code']}", headers=FORGED)
    return list(body.json()["photos"])


def open311_media_url(api: Api) -> str:
    lon, lat = center(1, 1)
    fields = {"api_key": new_key(api), "service_code": "06010", "lat": str(lat), "long": str(lon)}
    sent = api.client.post(f"{OPEN311}/requests.json", data=fields, headers=FORGED,
                           files={"media": ("scene.jpg", jpeg(), "image/jpeg")})
    assert sent.status_code == 200, sent.text
    case_no = sent.json()[0]["service_request_id"]
    (item,) = api.client.get(f"{OPEN311}/requests/{case_no}.json", headers=FORGED).json()
    return str(item["media_url"])


def discovery_url(api: Api) -> str:
    body = api.client.get(f"{OPEN311}/discovery.json", headers=FORGED).json()
    return str(body["endpoints"][0]["url"])


def test_absolute_urls_use_the_public_base_url_whatever_the_host_header(client_with: Any) -> None:
    api = client_with(public_base_url=BASE_URL + "/")
    assert discovery_url(api) == f"{BASE_URL}/open311/v2"
    (photo,) = public_photo_urls(api)
    assert photo.startswith(f"{BASE_URL}/api/v1/public/photos/")
    assert open311_media_url(api).startswith(f"{BASE_URL}/api/v1/public/photos/")
    assert "evil.example" not in api.client.get(f"{OPEN311}/discovery.xml", headers=FORGED).text


def test_without_a_base_url_the_request_address_is_used(client_with: Any) -> None:
    """Today's behaviour for the demo and tests (docs/security.md: set the base URL)."""
    api = client_with()
    assert discovery_url(api) == "http://evil.example/open311/v2"
    assert api.client.get(f"{OPEN311}/discovery.json").json()["endpoints"][0]["url"] \
        == "http://testserver/open311/v2"


def test_a_host_outside_the_trusted_hosts_gets_400(client_with: Any) -> None:
    api = client_with(trusted_hosts="cg.example.gov.cn, *.cg.example.gov.cn")
    refused = api.client.get(f"{OPEN311}/discovery.json", headers=FORGED)
    assert refused.status_code == 400
    assert refused.headers["x-frame-options"] == "DENY"
    for host in ("cg.example.gov.cn", "m.cg.example.gov.cn", "cg.example.gov.cn:8443"):
        assert api.client.get("/healthz", headers={"host": host}).status_code == 200, host
    assert api.client.get("/login").status_code == 400  # "testserver" is not trusted either
    health = api.client.get("/healthz", headers={"host": "10.0.0.21:8000"})
    assert health.status_code == 200  # load balancers check each process by its address


def test_any_host_is_accepted_by_default(client_with: Any) -> None:
    api = client_with()
    assert api.client.get("/healthz", headers=FORGED).status_code == 200


def security_headers(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_pages_api_and_static_files_carry_the_security_headers(client_with: Any) -> None:
    api = client_with()
    for path in ("/login", "/public/report", "/api/v1/docs", "/api/v1/public/categories", "/static/css/xiuhua.css",
                 "/static/vendor/leaflet-1.9.4/leaflet.js", "/no-such-page", "/api/v1/cases"):
        response = api.client.get(path)
        security_headers(response)
        directives = {d.strip() for d in response.headers["content-security-policy"].split(";")}
        assert directives >= STRICT, (path, directives - STRICT)
        assert "unsafe" not in response.headers["content-security-policy"], path


def test_the_base_map_tile_host_may_serve_images() -> None:
    tianditu = Settings(map_tile_url="https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}")
    assert "img-src 'self' data: blob: https://*.tianditu.gov.cn;" in content_security_policy(tianditu)
    assert tile_source("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}") == "https://*.is.autonavi.com"
    assert tile_source("http://tiles.example.com:8080/{z}/{x}/{y}.png") == "http://tiles.example.com:8080"
    assert tile_source("https://tiles.{s}.example.com/{z}/{x}/{y}.png") == "https:"
    assert tile_source("//tiles.example.com/{z}/{x}/{y}.png") == "tiles.example.com"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None  # served here: 'self'
    assert tile_source("") is None


@pytest.mark.parametrize("value", ["cg.example.gov.cn", "ftp://cg.example.gov.cn",
                                   "https://cg.example.gov.cn/?a=1", "https://u:p@cg.example.gov.cn"])
def test_a_public_base_url_must_be_a_plain_http_address(value: str) -> None:
    with pytest.raises(ValidationError, match="XIUHUA_PUBLIC_BASE_URL"):
        Settings(public_base_url=value)
