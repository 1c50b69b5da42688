"""FastAPI dependencies: database sessions, the city snapshot, the clock and the current user."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.city import City
from xiuhua.domain.errors import AuthenticationFailed, NotFound, PermissionDenied
from xiuhua.services import accounts
from xiuhua.services.city import CityCache
from xiuhua.store.cases import dialect_name
from xiuhua.store.db import cached_tables_changes, is_sqlite, read_only, single_reads

T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"

# The dependencies are ``async``: FastAPI runs every plain ``def`` one in the thread pool, and
# each trip there costs more than what most of them do (see :func:`read`).


async def _finish(session: Session, commit: bool, inline: bool = False) -> None:
    """Commit (or roll back) and close the session; in the thread pool, unless there is no
    transaction left or ``inline`` (ending a read on SQLite: no lock to wait for, no I/O)."""
    def end() -> None:
        try:
            if commit and session.in_transaction():
                session.commit()
        finally:
            session.close()

    if inline or not session.in_transaction():
        end()
        return
    with anyio.CancelScope(shield=True):  # a cancelled request still gives back its connection
        await run_in_threadpool(end)


async def get_session(request: Request) -> AsyncGenerator[Session, None]:
    """One unit of work per request. Reads (GET, HEAD, OPTIONS) in a read-only transaction;
    other methods in a write transaction, begun by its first statement (``BEGIN IMMEDIATE``
    on SQLite) and committed when the request ends, unless the endpoint committed sooner."""
    session, writes, inline = _open_session(request)
    try:
        yield session
    except BaseException:
        await _finish(session, commit=False, inline=inline)
        raise
    await _finish(session, commit=writes, inline=inline)


def _open_session(request: Request) -> tuple[Session, bool, bool]:
    """The request's session, whether it writes, and whether it ends inline (see :func:`_finish`)."""
    engine = request.app.state.engine
    writes = request.method not in SAFE_METHODS
    session = Session(engine if writes else read_only(engine), expire_on_commit=False)
    return session, writes, not writes and is_sqlite(engine)


def _reader_for(request: Request, session: Session) -> Session:
    """See :func:`get_reader`."""
    engine = request.app.state.engine
    if request.method in SAFE_METHODS or not is_sqlite(engine):
        return session
    return Session(single_reads(engine), expire_on_commit=False)


# "function" scope: the transaction commits before the response is sent, so a 201 means stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_reader(request: Request, session: SessionDep) -> AsyncIterator[Session]:
    """The session the dependencies read with (the user, the city): the request's own, except
    for writes on SQLite, which read in a session of their own (single reads, no transaction)
    so that the write transaction (and SQLite's one write lock) begins only when the endpoint
    writes."""
    reader = _reader_for(request, session)
    if reader is session:
        yield session
        return
    try:
        yield reader
    finally:
        await _finish(reader, commit=False, inline=True)


ReaderDep = Annotated[Session, Depends(get_reader, scope="function")]


# Threads that may run reports at once, per process: on SQLite one (writes go one at a time
# anyway, and more threads only pass the GIL back and forth between the SQLite calls), on
# PostgreSQL a few (they wait on the network).
REPORT_THREADS = {"sqlite": 1, "postgresql": 4}


# One limiter per event loop (a limiter belongs to the loop it was made in: tests run several).
_report_limiters: RunVar[dict[str, anyio.CapacityLimiter]] = RunVar("xiuhua_report_limiters")


async def run_report(request: Request, call: Callable[..., T], *args: Any) -> T:
    """Run the synchronous part of a report in the thread pool, at most
    :data:`REPORT_THREADS` at a time (queued in order of arrival)."""
    try:
        limiters = _report_limiters.get()
    except LookupError:
        limiters = {}
        _report_limiters.set(limiters)
    name = request.app.state.engine.dialect.name
    limiter = limiters.get(name)
    if limiter is None:
        limiter = limiters[name] = anyio.CapacityLimiter(REPORT_THREADS.get(name, 4))
    return await anyio.to_thread.run_sync(call, *args, limiter=limiter)


async def get_now(request: Request) -> datetime:
    return request.app.state.clock()


NowDep = Annotated[datetime, Depends(get_now)]


async def read(request: Request, call: Callable[..., T], *args: Any) -> T:
    """Run ``call``, a few small reads on the request's reader, inline on SQLite and in the
    thread pool elsewhere. A read of a WAL database never waits for a lock and takes
    microseconds, less than a trip to the thread pool; never use this for a write. The read
    ends at once, and its connection goes back to the pool: an open read would hold back
    SQLite's checkpoints, and connections held by waiting requests could run the pool dry."""
    if not is_sqlite(request.app.state.engine):
        return await run_in_threadpool(call, *args)
    try:
        return call(*args)
    finally:
        args[0].rollback()


async def get_city(request: Request, reader: ReaderDep) -> City:
    """The city snapshot: checked against the model version on every request, reloaded (in
    the thread pool) when any process changed the model."""
    return await city_of(request, reader)


async def city_of(request: Request, reader: Session) -> City:
    """See :func:`get_city`; checked again after at most :data:`RECHECK_S` (at once after a
    change in this process)."""
    recent = _recent(request)
    at, changes = time.monotonic(), cached_tables_changes()
    if recent.city is not None and recent.city[1] == changes and at - recent.city[0] < RECHECK_S:
        return recent.city[2]
    cache = request.app.state.city
    fresh: City | None = await read(request, cache.fresh, reader)
    city: City = fresh if fresh is not None else await run_in_threadpool(_reload, cache, reader)
    recent.city = (at, changes, city)
    return city


def _reload(cache: CityCache, reader: Session) -> City:
    try:
        return cache.get(reader)
    finally:
        if dialect_name(reader) == "sqlite":  # as :func:`read` ends its reads
            reader.rollback()


# How long a server process reuses what it read of the city model's version and of a bearer
# token's user without reading them again. A change made through this process is seen at once
# (see store.db.cached_tables_changes); one made by another process (the CLI, another worker)
# within this time: a token revoked or a user disabled there is refused here at most this late.
RECHECK_S = 2.0
MAX_RECENT_TOKENS = 1000


@dataclass
class _Recent:
    """What this application read recently: (monotonic time, cached_tables_changes(), value)."""

    city: tuple[float, int, City] | None = None
    tokens: dict[str, tuple[float, int, accounts.TokenUser]] = field(default_factory=dict)


def _recent(request: Request) -> _Recent:
    state = request.app.state
    found: _Recent | None = getattr(state, "recent", None)
    if found is None:
        found = state.recent = _Recent()
    return found


async def token_user(request: Request, reader: Session, token: str) -> accounts.TokenUser:
    """:func:`accounts.token_user`, reused for :data:`RECHECK_S` (see there)."""
    tokens = _recent(request).tokens
    at, changes = time.monotonic(), cached_tables_changes()
    seen = tokens.get(token)
    if seen is not None and seen[1] == changes and at - seen[0] < RECHECK_S:
        return seen[2]
    found = await read(request, accounts.token_user, reader, token)
    if len(tokens) >= MAX_RECENT_TOKENS:
        tokens.clear()
    tokens[token] = (at, changes, found)
    return found


CityDep = Annotated[City, Depends(get_city)]


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use); pages put it in every form."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def optional_principal(request: Request, reader: ReaderDep, now: NowDep
                             ) -> Principal | None:
    return await principal_of(request, reader, now)


async def principal_of(request: Request, reader: Session, now: datetime) -> Principal | None:
    """The signed-in user: by bearer token, else by the session cookie (a write by cookie
    needs the CSRF header); None when neither is given."""
    token = _bearer(request)
    if token is not None:
        found = (await token_user(request, reader, token)).check(now)
        if found.due_for_note(now):
            await run_in_threadpool(accounts.note_token_use, request.app.state.engine,
                                    found.token_id, now)
        return found.principal
    login = request.session.get("login") if "session" in request.scope else None
    if not login:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf_header(request)
    try:
        return await read(request, accounts.session_principal, reader, str(login),
                          session_id(request), now)
    except (NotFound, AuthenticationFailed):
        request.session.clear()
        raise AuthenticationFailed("登录已失效，请重新登录", code="session_expired") from None


def csrf_matches(request: Request, sent: str) -> bool:
    """Whether ``sent`` is the browser session's CSRF token (a session without one matches
    nothing, not even an empty token)."""
    expected = str(request.session.get("csrf", ""))
    return bool(expected) and secrets.compare_digest(sent, expected)


def check_csrf_header(request: Request) -> None:
    """A write by the browser session must send the session's CSRF token in its header."""
    if not csrf_matches(request, request.headers.get(CSRF_HEADER) or ""):
        raise PermissionDenied("缺少或错误的 CSRF 令牌，请刷新页面后重试", code="csrf_failed")


def check_origin(request: Request) -> None:
    """A browser's request must come from a page of this site: the host name of its ``Origin``
    (or, without one, its ``Referer``) must be the one it was sent to (``Host``; ports are not
    compared: nginx passes ``$host`` without one). Requests with neither header are not from a
    browser's form and pass (browsers send ``Origin`` with every POST). With
    XIUHUA_PUBLIC_BASE_URL set, its host is the expected one, not the client's Host header."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return
    base = request.app.state.settings.public_base_url
    sent_to = _hostname(base) if base else _hostname("//" + request.headers.get("host", ""))
    if sent_to is None or _hostname(source) != sent_to:
        raise PermissionDenied("请求来源不是本站页面，已拒绝", code="csrf_failed")


def _hostname(url: str) -> str | None:
    """The host of ``url`` (without port; lower case), None if it has none (``null``)."""
    try:
        return urlsplit(url).hostname or None
    except ValueError:
        return None


# --- signing in and out ---------------------------------------------------------------------

SESSION_ID = "sid"


def session_id(request: Request) -> str | None:
    """The random id of the browser session (see :func:`accounts.open_session`)."""
    found = request.session.get(SESSION_ID)
    return str(found) if found else None


async def sign_in(request: Request, login: str, password: str, now: datetime) -> Principal:
    """Check a login through the throttle: refused at once when the (account, address) pair is
    locked or the address blocked, checked after the throttle's delay when the account is under
    attack (waited here, holding no thread)."""
    engine, address = request.app.state.engine, client_address(request)
    gate = await run_in_threadpool(accounts.login_check, engine, login, now, address)
    if gate.refused is None and gate.delay_s:
        await anyio.sleep(gate.delay_s)
    return await run_in_threadpool(accounts.authenticate, engine, login, password, now,
                                   address, gate)


async def start_session(request: Request, user: Principal, now: datetime) -> None:
    """A fresh browser session for ``user`` (a new CSRF token with it)."""
    sid = await run_in_threadpool(accounts.open_session, request.app.state.engine, user.login,
                                  now, client_address(request))
    request.session.clear()
    request.session["login"] = user.login
    request.session[SESSION_ID] = sid


async def end_session(request: Request, now: datetime) -> None:
    """Sign out: the session ends server-side (its cookie is worthless from now on)."""
    sid, login = session_id(request), request.session.get("login")
    if sid and login:
        await run_in_threadpool(accounts.close_session, request.app.state.engine, sid,
                                str(login), now, client_address(request))
    request.session.clear()


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]
                            ) -> Principal:
    return signed_in(principal)


def signed_in(principal: Principal | None) -> Principal:
    if principal is None:
        raise AuthenticationFailed("需要登录或提供访问令牌", code="not_authenticated")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]


@dataclass(frozen=True)
class Unit:
    """What a write endpoint needs, from one dependency (:data:`UnitDep`): its unit of work
    (``session``), the ``reader`` the sign-in and the city were read with, the city, the
    request's time, the settings and the signed-in user. The endpoint ends it: ``async with
    unit:`` commits (unless the block raised) and closes its sessions, as :func:`get_session`
    and :func:`get_reader` do when the request ends."""

    session: Session
    reader: Session
    city: City
    now: datetime
    settings: Settings
    user: Principal
    commit: bool
    inline: bool

    async def __aenter__(self) -> Unit:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: Any) -> None:
        await self.close(commit=self.commit and exc_type is None)

    async def close(self, commit: bool = False) -> None:
        await _close(self.session, self.reader, commit=commit, inline=self.inline)


async def _close(session: Session, reader: Session, commit: bool, inline: bool) -> None:
    try:
        if reader is not session:
            await _finish(reader, commit=False, inline=True)
    finally:
        await _finish(session, commit=commit, inline=inline)


async def get_unit(request: Request) -> Unit:
    """:func:`get_session`, :func:`get_reader`, :func:`get_city`, :func:`get_now`, the settings
    and :func:`current_principal` in one plain dependency (FastAPI's solving of each dependency,
    and of one with ``yield`` most, costs more than what most of them do on a busy endpoint).
    It holds no connection when it returns (its reads gave theirs back), so nothing is left
    open if FastAPI refuses a parameter before the endpoint takes it over."""
    session, writes, inline = _open_session(request)
    reader = _reader_for(request, session)
    try:
        now = request.app.state.clock()
        city = await city_of(request, reader)
        user = signed_in(await principal_of(request, reader, now))
        if reader.in_transaction():  # reads in the thread pool (PostgreSQL) leave one open
            await run_in_threadpool(reader.rollback)
    except BaseException:
        await _close(session, reader, commit=False, inline=inline)
        raise
    return Unit(session, reader, city, now, request.app.state.settings, user, writes, inline)


UnitDep = Annotated[Unit, Depends(get_unit)]
