"""Absolute URLs: every address the server writes out in full (Open311 discovery, photo links in
public and Open311 responses, QR codes) is made here, from XIUHUA_PUBLIC_BASE_URL.

Without that setting the request's own address is used, and with it the Host header, which the
client chooses: fine for the demo and tests, not in production (docs/security.md)."""

from __future__ import annotations

from starlette.requests import Request

from xiuhua.config import Settings

API = "/api/v1"  # the REST API's prefix (Open311 is under /open311/v2)


def absolute_url(request: Request, path: str) -> str:
    """The absolute address of ``path`` (the application's own path, ``/…``, with any query),
    e.g. ``absolute_url(request, request.app.url_path_for("photo", photo_id=p))``."""
    settings: Settings = request.app.state.settings
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return base + path
