"""/api/v1/docs renders Swagger UI from the vendored copy with the network off, and its page
carries no inline script (the Content-Security-Policy allows scripts from 'self' only)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.e2e.conftest import Server, open_visit

pytestmark = pytest.mark.e2e


def test_the_api_docs_render_with_the_network_off(browser: Any, server: Server) -> None:
    context, visit = open_visit(browser, server)
    blocked: list[str] = []

    def offline(route: Any) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    visit.go("/api/v1/docs")
    page = visit.page
    page.wait_for_selector(".swagger-ui .info .title")
    assert "绣花 Xiuhua API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 20
    assert "/api/v1/cases" in page.inner_text(".swagger-ui")
    visit.shot("api-docs-offline")
    context.close()
    assert blocked == [] and visit.problems == [], blocked + visit.problems


def test_the_api_docs_page_has_no_inline_script(api: Api) -> None:
    html = api.client.get("/api/v1/docs").text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert scripts and all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert " style=" not in html and "onload=" not in html
