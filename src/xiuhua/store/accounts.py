"""Sign-in state shared by every server process: browser sessions, recent login failures by
account and source address, and the addresses each account signed in from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select

from xiuhua.domain.accounts import LoginHistory, LoginPolicy
from xiuhua.store.cases import Bind
from xiuhua.store.city import upsert
from xiuhua.store.tables import audit_log, login_addresses, login_failures, user_sessions

# --- browser sessions ---------------------------------------------------------------------


def add_session(bind: Bind, id_hash: str, login: str, at: datetime, expires_at: datetime,
                client: str | None) -> None:
    """A new session; sessions past their end are pruned."""
    bind.execute(delete(user_sessions).where(user_sessions.c.expires_at < at))
    bind.execute(insert(user_sessions).values(id_hash=id_hash, login=login, created_at=at,
                                              expires_at=expires_at, client=client))


def session_login(bind: Bind, id_hash: str, at: datetime) -> str | None:
    """The login of the live session ``id_hash`` (None when ended or past its end)."""
    return bind.execute(select(user_sessions.c.login).where(
        user_sessions.c.id_hash == id_hash, user_sessions.c.expires_at > at)).scalar()


def end_session(bind: Bind, id_hash: str) -> None:
    bind.execute(delete(user_sessions).where(user_sessions.c.id_hash == id_hash))


def end_sessions(bind: Bind, login: str) -> None:
    """End every session of ``login``."""
    bind.execute(delete(user_sessions).where(user_sessions.c.login == login))


# --- login failures ---------------------------------------------------------------------------


def login_history(bind: Bind, login: str, address: str, at: datetime,
                  policy: LoginPolicy) -> LoginHistory:
    """The failures that decide an attempt of ``login`` from ``address`` at ``at``."""
    since = at - policy.lookback
    f = login_failures.c
    address_times = list(bind.execute(select(f.at, f.login).where(
        f.address == address, f.at >= since)).all())
    account = account_failures(bind, login, at - policy.account_window)
    known = bind.execute(select(login_addresses.c.last_login_at).where(
        login_addresses.c.login == login, login_addresses.c.address == address,
        login_addresses.c.last_login_at >= at - policy.known_address_for)).first()
    return LoginHistory(pair=[r.at for r in address_times if r.login == login],
                        address=[r.at for r in address_times], account=int(account),
                        known_address=known is not None)


def record_failure(bind: Bind, login: str, address: str, at: datetime,
                   policy: LoginPolicy) -> int:
    """Count one failure; return the account's failures within the account window (this one
    included). Failures older than the policy looks back are pruned."""
    bind.execute(delete(login_failures).where(login_failures.c.at < at - policy.lookback))
    bind.execute(insert(login_failures).values(at=at, login=login, address=address))
    return account_failures(bind, login, at - policy.account_window)


def account_failures(bind: Bind, login: str, since: datetime) -> int:
    """The failures of ``login`` from every address since ``since``."""
    return int(bind.execute(select(func.count()).select_from(login_failures).where(
        login_failures.c.login == login, login_failures.c.at >= since)).scalar_one())


def clear_failures(bind: Bind, login: str, address: str | None = None) -> None:
    """Forget the failures of ``login`` (from ``address`` only, if given)."""
    query = delete(login_failures).where(login_failures.c.login == login)
    if address is not None:
        query = query.where(login_failures.c.address == address)
    bind.execute(query)


def note_login_address(bind: Bind, login: str, address: str, at: datetime) -> None:
    """``login`` signed in successfully from ``address`` at ``at``."""
    upsert(bind, login_addresses, [{"login": login, "address": address, "last_login_at": at}],
           ["login", "address"])


def last_audit(bind: Bind, kind: str, subject: str, since: datetime) -> datetime | None:
    """When the latest audit row of ``kind`` about ``subject`` since ``since`` was written."""
    return bind.execute(select(func.max(audit_log.c.at)).where(
        audit_log.c.at >= since, audit_log.c.kind == kind,
        audit_log.c.subject == subject)).scalar()
