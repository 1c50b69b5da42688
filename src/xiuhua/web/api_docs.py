"""The interactive API reference at /api/v1/docs: Swagger UI vendored under static/ (no CDN, so
it works with no internet), started by a static script (no inline script, for the CSP)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from xiuhua.web.pages import render

router = APIRouter(include_in_schema=False)
SWAGGER_UI = "/static/vendor/swagger-ui-dist-5.36.0"
DOCS_PATH = "/api/v1/docs"
OPENAPI_PATH = "/api/v1/openapi.json"


@router.get(DOCS_PATH)
def api_docs(request: Request) -> Response:
    """Swagger UI over the OpenAPI document (no sign-in needed to read it)."""
    return render(request, "api_docs.html", {"swagger_ui": SWAGGER_UI, "openapi_url": OPENAPI_PATH,
                                             "title": "绣花 Xiuhua API 文档"})
