"""Security headers on every response: a strict Content-Security-Policy, no framing, no MIME
sniffing, referrers only as an origin to other sites.

The front end is vendored and served from /static, so scripts, styles and fetches come from the
server's own origin only: no inline script, event handler or ``style="…"`` attribute in the
templates (data reaches the scripts in ``<script type="application/json">`` blocks, which are
not executed). Leaflet and ECharts position their elements through the CSSOM
(``element.style.left = …``), which CSP does not restrict; the dashboard's chart tooltips are
drawn on the canvas (``renderMode: "richText"``) rather than as HTML with style attributes.
Images may also come from the base-map tile host (XIUHUA_MAP_TILE_URL) and be ``data:`` or
``blob:`` URLs (Leaflet's marker icons, ECharts' exports)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xiuhua.config import Settings


def tile_source(tile_url: str) -> str | None:
    """The CSP source of a Leaflet tile URL template: ``https://t{s}.tianditu.gov.cn/…`` gives
    ``https://*.tianditu.gov.cn``; a template placeholder anywhere else in the host name leaves
    only its scheme (``https:``). None when there is no tile URL or it is on this site."""
    parts = urlsplit(tile_url.strip())
    if not parts.netloc:
        return None
    labels = parts.netloc.rsplit("@", 1)[-1].split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    host = ".".join(labels)
    if "{" in host or "}" in host:
        return f"{parts.scheme or 'https'}:"
    return f"{parts.scheme}://{host}" if parts.scheme else host


def content_security_policy(settings: Settings) -> str:
    images = ["'self'", "data:", "blob:"]
    tiles = tile_source(settings.map_tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders:
    """Pure ASGI middleware adding the headers to every HTTP response that does not already set
    them (the Swagger UI of /api/v1/docs is vendored and runs under the same CSP)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = [("Content-Security-Policy", content_security_policy(settings)),
                        ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
                        ("Referrer-Policy", "strict-origin-when-cross-origin")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in added:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TrustedHosts(TrustedHostMiddleware):
    """Starlette's Host header check (XIUHUA_TRUSTED_HOSTS, 400 for any other host), except for
    the health check, which load balancers call by the process's own address and which writes no
    URL."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str], exempt: tuple[str, ...] = ()) -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
