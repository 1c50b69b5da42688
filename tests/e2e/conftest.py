"""End-to-end fixtures: the real application under uvicorn on a free 127.0.0.1 port, over a
SQLite database holding the tiny city and a working day (``scenario.py``), driven by Debian's
headless Chromium through Playwright (never Playwright's own browser download).

Each page records console errors, uncaught exceptions, Content-Security-Policy violations, failed
requests, error responses and any request leaving the server's origin; a test fails if one
happened."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from tests.api.conftest import api  # noqa: F401 - the HTTP-level page tests use it
from tests.e2e.scenario import NOW, PASSWORD, build_scenario
from tests.factories import build_tiny_city
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.store.db import make_engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI must run the end-to-end tests (make test installs it)")
    pytest.skip(reason)


@dataclass
class Server:
    url: str
    engine: Engine
    cases: dict[str, str]
    clock: list[Any] = field(default_factory=lambda: [NOW])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the e2e server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@contextmanager
def running_server(sqlite_template: Path, build: Callable[[Engine], dict[str, str]] | None = None,
                   now: datetime = NOW) -> Iterator[Server]:
    """The application over its own SQLite database, clock fixed at ``now`` (Friday 2026-10-16
    10:00): the tiny city and its working day, or what ``build`` puts in the database."""
    folder = Path(tempfile.mkdtemp(prefix="xiuhua-e2e-"))
    shutil.copy(sqlite_template, folder / "xiuhua.db")
    engine = make_engine(f"sqlite:///{folder / 'xiuhua.db'}")
    if build is None:
        build_tiny_city(engine)
        cases = build_scenario(engine)
    else:
        cases = build(engine)
    holder = Server("", engine, cases, [now])
    app = create_app(Settings(data_dir=folder / "data", secret_key="e2e-secret"),
                     clock=lambda: holder.clock[0], engine=engine, migrate=False)
    uv, thread, holder.url = _start(app)
    try:
        yield holder
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def server(sqlite_template: Path) -> Iterator[Server]:
    """One server shared by the browser tests that leave the scenario's queues as they were."""
    with running_server(sqlite_template) as found:
        yield found


@pytest.fixture
def own_server(sqlite_template: Path) -> Iterator[Server]:
    """A server of the test's own, for tests that move the scenario's cases along."""
    with running_server(sqlite_template) as found:
        yield found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (scripts/ensure-chromium.sh installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as p:  # launch() gives the browser a new temporary profile
        found = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                  args=CHROMIUM_ARGS)
        yield found
        found.close()


@dataclass
class Visit:
    """A browser tab on the e2e server, with everything that went wrong on it."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def submit(self, button: Any) -> None:
        """Click a form's button (a selector or a locator) and wait for the next page."""
        with self.page.expect_navigation():
            if isinstance(button, str):
                self.page.click(button)
            else:
                button.click()

    def login(self, login: str, password: str = PASSWORD) -> None:
        self.go("/login")
        self.page.fill("#username", login)
        self.page.fill("#password", password)
        self.submit("form[action='/login'] button[type=submit]")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _watch(visit: Visit) -> None:
    page, base = visit.page, visit.base
    local = re.compile(rf"^({re.escape(base)}/|data:|blob:|about:)")

    def on_console(message: Any) -> None:
        if message.type == "error":
            visit.problems.append(f"console error: {message.text}")

    def on_request(request: Any) -> None:
        if not local.match(request.url):
            visit.problems.append(f"request outside the server: {request.url}")

    def on_failed(request: Any) -> None:
        if "ERR_ABORTED" not in (request.failure or ""):  # cut short by leaving the page
            visit.problems.append(f"request failed: {request.url} {request.failure}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            visit.problems.append(f"HTTP {response.status}: {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: visit.problems.append(f"page error: {exc}"))
    page.on("requestfailed", on_failed)
    page.on("request", on_request)
    page.on("response", on_response)


# Every Content-Security-Policy violation becomes a console error (Chromium logs most of them as
# "Refused to …" already; this catches the rest, e.g. in report-only or in frames).
CSP_WATCH = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.effectiveDirective + " " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber);
});"""


def open_visit(browser: Any, server: Server, width: int = 1280, height: int = 900,
               bypass_csp: bool = False) -> tuple[Any, Visit]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=bypass_csp)
    context.set_default_timeout(15_000)
    context.add_init_script(CSP_WATCH)
    visit = Visit(context.new_page(), server.url)
    _watch(visit)
    return context, visit


@contextmanager
def watched(browser: Any, server: Server, width: int = 1280, height: int = 900) -> Iterator[Visit]:
    """A fresh browser context (no cookies), closed at the end; no page problem may happen."""
    context, found = open_visit(browser, server, width=width, height=height)
    yield found
    context.close()
    assert found.problems == [], "\n".join(found.problems)


@pytest.fixture
def visit(browser: Any, server: Server) -> Iterator[Visit]:
    """A fresh browser context (no cookies); the test fails on any page problem."""
    with watched(browser, server) as found:
        yield found


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Visit]:
    """Like ``visit``, on a 375 px wide screen."""
    with watched(browser, server, width=375, height=740) as found:
        yield found


@pytest.fixture
def own_phone(browser: Any, own_server: Server) -> Iterator[Visit]:
    """Like ``phone``, on the test's own server (``own_server``)."""
    with watched(browser, own_server, width=375, height=740) as found:
        yield found
