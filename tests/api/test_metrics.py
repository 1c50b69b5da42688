"""GET /metrics (Prometheus) and the request id: who may scrape, what the figures say, how the
requests are logged; and under `xiuhua serve --workers 2` (real uvicorn) every process's
requests are counted whichever process answers the scrape."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from tests.api.conftest import Api, Clock, build_city_with_users
from tests.factories import center
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.http.requestlog import HEADER, JsonFormatter, RequestIdFilter

TOKEN = "scrape-secret-1"


@pytest.fixture
def make_client(engine: Engine, tmp_path: Path) -> Iterator[Any]:
    """A client over the tiny city with the given settings, calling from ``address``."""
    clock = Clock()
    tokens = build_city_with_users(engine, clock())
    clients: list[TestClient] = []

    def make(address: str = "203.0.113.9", **settings: Any) -> Api:
        app = create_app(Settings(data_dir=tmp_path / "data", secret_key="test-secret", **settings),
                         clock=clock, engine=engine, migrate=False)
        clients.append(TestClient(app, client=(address, 40000)))
        return Api(clients[-1], clock, engine, tokens)

    yield make
    for client in clients:
        client.close()


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of an exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_only_allowed_networks_or_the_token_may_scrape(make_client: Any) -> None:
    outside = make_client(metrics_token=TOKEN)
    refused = outside.client.get("/metrics")
    assert refused.status_code == 401 and refused.json()["code"] == "metrics_token_required"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    as_admin = outside.client.get("/metrics", headers=outside.auth("admin01"))
    assert as_admin.status_code == 403 and as_admin.json()["code"] == "metrics_forbidden"
    assert outside.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    scraped = outside.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")

    assert make_client("127.0.0.1").client.get("/metrics").status_code == 200  # loopback: default
    assert make_client("::1").client.get("/metrics").status_code == 200
    no_token = make_client()  # no XIUHUA_METRICS_TOKEN: no bearer value opens it
    assert no_token.client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert no_token.client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 403
    lan = make_client("10.1.2.3", metrics_allow="10.0.0.0/8, 192.168.1.5")
    assert lan.client.get("/metrics").status_code == 200
    assert make_client("127.0.0.1", metrics_allow="10.0.0.0/8").client.get("/metrics").status_code == 401


def test_a_wrong_network_setting_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="XIUHUA_METRICS_ALLOW"):
        Settings(metrics_allow="10.0.0.0/8,intranet")
    with pytest.raises(ValidationError, match="XIUHUA_LOG_FORMAT"):
        Settings(log_format="xml")


def test_requests_are_counted_by_route_template_and_cases_by_status(make_client: Any) -> None:
    api = make_client("127.0.0.1")
    before = api.client.get("/metrics").text
    lon, lat = center(0, 1)
    made = api.client.post("/api/v1/cases", headers=api.auth("inspector01"),
                           json={"category_code": "06010", "lon": lon, "lat": lat})
    assert made.status_code == 201, made.text
    case_no = made.json()["case_no"]
    for _ in range(2):
        assert api.client.get(f"/api/v1/cases/{case_no}", headers=api.auth("admin01")).status_code == 200
    assert api.client.get("/api/v1/cases/20990101000001", headers=api.auth("admin01")).status_code == 404
    assert api.client.get("/no/such/page").status_code == 404
    after = api.client.get("/metrics").text

    route = "/api/v1/cases/{case_no}"
    requests = "xiuhua_http_requests_total"
    assert value(after, requests, route=route, status="200") - value(before, requests, route=route, status="200") == 2
    assert value(after, requests, route=route, status="404") - value(before, requests, route=route, status="404") == 1
    assert value(after, requests, route="/api/v1/cases", method="POST", status="201") >= 1
    assert value(after, requests, route="<unmatched>", status="404") >= 1
    assert case_no not in after  # templates only: no case numbers as labels
    durations = "xiuhua_http_request_duration_seconds_count"
    assert value(after, durations, route=route, method="GET") - value(before, durations, route=route, method="GET") == 3
    assert value(after, "xiuhua_http_request_duration_seconds_bucket", route=route, le="30.0") >= 3
    assert value(after, "xiuhua_cases", status="reported") == 1
    assert value(after, "xiuhua_cases", status="closed") == 0 and 'xiuhua_cases{status="closed"}' in after
    assert "xiuhua_sweeper_runs_total" in after or "# HELP xiuhua_sweeper_runs_total" in after


def test_every_response_carries_a_request_id_and_is_logged_with_it(
        make_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    api = make_client()
    caplog.set_level(logging.INFO, logger="xiuhua.request")
    caplog.handler.addFilter(RequestIdFilter())
    given = api.client.get("/healthz", headers={HEADER: "nginx-3f2a.17"})
    assert given.headers[HEADER] == "nginx-3f2a.17"
    made_up = api.client.get("/healthz", headers={HEADER: "bad id with spaces"}).headers[HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)
    refused = api.client.get("/api/v1/cases")
    assert refused.status_code == 401 and re.fullmatch(r"[0-9a-f]{32}", refused.headers[HEADER])
    records = [r for r in caplog.records if r.name == "xiuhua.request"]
    ids = [r.request_id for r in records]  # type: ignore[attr-defined]
    assert ids == ["nginx-3f2a.17", made_up, refused.headers[HEADER]]
    last = records[-1]
    assert (last.method, last.route, last.status) == ("GET", "/api/v1/cases", 401)  # type: ignore[attr-defined]

    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "nginx-3f2a.17" and line["route"] == "/healthz"
    assert line["status"] == 200 and line["level"] == "INFO" and "duration_ms" in line


# --- real uvicorn, two worker processes ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 90
    while time.time() < deadline and server.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer")


@pytest.mark.slow
def test_two_workers_count_into_one_exposition(sqlite_engine: Engine, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "XIUHUA_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
           "XIUHUA_DATA_DIR": str(tmp_path), "XIUHUA_SECRET_KEY": "test-secret",
           "XIUHUA_LOG_FORMAT": "json"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen([sys.executable, "-m", "xiuhua.cli", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{base}/healthz", server)
        before = httpx.get(f"{base}/metrics").text
        with ThreadPoolExecutor(8) as pool:  # fresh connections: the kernel spreads them
            answers = list(pool.map(lambda n: httpx.get(f"{base}/healthz",
                                                         headers={HEADER: f"probe-{n}"}), range(40)))
        assert all(a.status_code == 200 for a in answers)
        scrapes = [httpx.get(f"{base}/metrics").text for _ in range(6)]
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=60)[0].decode()
    name, labels = "xiuhua_http_requests_total", {"route": "/healthz", "status": "200"}
    # every scrape, whichever worker answered it, counts the 40 probes of both workers
    assert {value(s, name, **labels) - value(before, name, **labels) for s in scrapes} == {40}, output[-3000:]
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    probes = [r for r in records if str(r.get("request_id", "")).startswith("probe-")]
    assert len(probes) == 40 and {r["route"] for r in probes} == {"/healthz"}
    assert len({r["pid"] for r in records}) >= 3  # the supervisor and its two workers
