"""Accounts: users with Argon2 password hashes, the login throttle (domain.accounts),
browser sessions, personal access tokens, Open311 API keys, and the append-only audit log."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from xiuhua.domain.access import CENTER_ROLES, COMBINABLE_ROLES, Principal
from xiuhua.domain.lifecycle import SYSTEM_ACTIONS, Permissions

__all__ = ["Principal"]
from xiuhua.domain.accounts import POLICY, LoginGate, login_gate, login_refused, should_alert
from xiuhua.domain.choices import Action, RegionLevel, Role
from xiuhua.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from xiuhua.services.notifications import alert_admins_of_login_failures
from xiuhua.store import accounts as account_store
from xiuhua.store import city as store
from xiuhua.store.db import read_transaction, transaction, writable
from xiuhua.store.tables import (
    api_keys,
    api_tokens,
    audit_log,
    regions,
    units,
    user_grids,
    user_sessions,
    users,
)

MIN_PASSWORD_LENGTH = 8
# A token's last use is kept to this resolution, so signing in is no write on most requests.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
# A browser session ends when its user signs out, when the password changes, when the user is
# disabled, and at the latest this long after signing in (the cookie itself expires after 12 h
# without a request).
SESSION_LIFETIME = timedelta(days=7)
_hasher = PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    """What an unknown login's password is checked against, so that it takes as long."""
    return _hasher.hash(secrets.token_urlsafe(24))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_AUDIT = insert(audit_log)  # built once: every write request is audited


def audit(session: Session | Connection, at: datetime, actor: str | None, kind: str,
          subject: str | None = None, detail: dict[str, Any] | None = None,
          client: str | None = None) -> None:
    session.execute(_AUDIT, {"at": at, "actor": actor, "kind": kind, "subject": subject,
                             "detail": detail or {}, "client": client})


def hash_password(password: str) -> str:
    """An Argon2 hash of an acceptable password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD_LENGTH} 位", code="weak_password")
    return _hasher.hash(password)


def add_user(session: Session, login: str, role: Role, at: datetime, *, name: str | None = None,
             unit_code: str | None = None, grids: tuple[str, ...] = (),
             password: str | None = None, password_hash: str | None = None,
             actor: str | None = None, enable: bool = False, keep_disabled: bool = False,
             district: str | None = None) -> None:
    """Create or update an account; unit staff need a unit, only inspectors have grids, only
    the center roles a district (a district command center's staff).
    A disabled account is refused unless ``enable`` (enable it again) or ``keep_disabled``
    (change it, still disabled)."""
    if not login or len(login) > 64 or not login.replace("_", "").replace("-", "").isalnum():
        raise InvalidInput("登录名须为 1–64 位字母、数字、- 或 _", code="invalid_login")
    if role in (Role.HANDLER, Role.UNIT_LEADER) and not unit_code:
        raise InvalidInput(f"{role.label}须指定所属单位（--unit）", code="missing_unit")
    if unit_code and not session.execute(select(units.c.code).where(units.c.code == unit_code)).first():
        raise InvalidInput(f"单位“{unit_code}”不存在", code="unknown_unit")
    if grids and role is not Role.INSPECTOR:
        raise InvalidInput("只有监督员可以指定责任网格", code="grids_for_inspectors_only")
    known = set(session.execute(select(regions.c.code).where(regions.c.code.in_(grids))).scalars())
    missing = [g for g in grids if g not in known or len(g) != 15]
    if missing:
        raise InvalidInput(f"网格不存在：{', '.join(missing)}", code="unknown_grid")
    _check_district(session, role, district)
    was_active = session.execute(select(users.c.active).where(users.c.login == login)).scalar()
    if was_active is False and not (enable or keep_disabled):
        raise InvalidInput(f"用户“{login}”已停用，未作修改；如需重新启用，请加 --enable",
                           code="user_disabled")
    stays_disabled = was_active is False and not enable
    store.save_user(session, login, name or login, role, unit_code, grids, active=not stays_disabled,
                    district_code=district)
    if password is not None:
        password_hash = hash_password(password)
    if password_hash is not None:
        session.execute(update(users).where(users.c.login == login)
                        .values(password_hash=password_hash))
    detail: dict[str, Any] = {"role": role.value, "unit": unit_code, "grids": list(grids)}
    if district:
        detail["district"] = district
    if was_active is False and enable:
        detail["active"] = True
        account_store.clear_failures(session, login)
    audit(session, at, actor, "permission_change", login, detail)
    if password_hash is not None and was_active is not None:
        _end_sign_ins(session, login, at)


def _check_district(session: Session, role: Role, district: str | None) -> None:
    """A district is for the center roles only, and must be a district-level region."""
    if not district:
        return
    if role not in CENTER_ROLES:
        raise InvalidInput("只有受理员、值班长、派遣员可以指定所属区（县）", code="district_for_center_only")
    level = session.execute(select(regions.c.level).where(regions.c.code == district)).scalar()
    if level != RegionLevel.DISTRICT.value:
        raise InvalidInput(f"区（县）“{district}”不存在", code="unknown_district")


def _user_row(session: Session, login: str) -> Any:
    row = session.execute(select(users).where(users.c.login == login)).first()
    if row is None:
        raise NotFound(f"用户“{login}”不存在", code="user_not_found")
    return row


def _end_sign_ins(session: Session, login: str, at: datetime) -> None:
    """End every browser session of ``login`` and revoke its access tokens."""
    account_store.end_sessions(session, login)
    session.execute(update(api_tokens).where(api_tokens.c.login == login,
                                             api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=at))


def set_password(session: Session, login: str, password: str, at: datetime,
                 actor: str | None = None) -> None:
    """A new password: every session and access token of the user ends, and its login
    failures are forgotten (a locked account is unlocked)."""
    _user_row(session, login)
    session.execute(update(users).where(users.c.login == login).values(
        password_hash=hash_password(password)))
    account_store.clear_failures(session, login)
    _end_sign_ins(session, login, at)
    audit(session, at, actor, "password_change", login)


def disable_user(session: Session, login: str, at: datetime, actor: str | None = None) -> None:
    """Disable an account: its sessions end and its access tokens are revoked."""
    _user_row(session, login)
    session.execute(update(users).where(users.c.login == login).values(active=False))
    _end_sign_ins(session, login, at)
    audit(session, at, actor, "permission_change", login, {"active": False})


def enable_user(session: Session, login: str, at: datetime, actor: str | None = None) -> None:
    """Let a disabled user sign in again (tokens revoked on disabling stay revoked)."""
    _user_row(session, login)
    session.execute(update(users).where(users.c.login == login).values(active=True))
    account_store.clear_failures(session, login)
    audit(session, at, actor, "permission_change", login, {"active": True})


@dataclass(frozen=True)
class UserPage:
    """One page of the account list, and how many accounts match in all."""

    rows: list[Any]
    total: int


def list_users(session: Session, role: Role | None = None, unit_code: str | None = None,
               offset: int = 0, limit: int = 50, login: str | None = None) -> UserPage:
    """Accounts by login, optionally of one role or unit (or the one ``login``), with each
    one's grids."""
    query = select(*(c for c in users.c if c.name != "password_hash"))
    if role is not None:
        query = query.where(users.c.role == role.value)
    if unit_code:
        query = query.where(users.c.unit_code == unit_code)
    if login is not None:
        query = query.where(users.c.login == login)
    total = int(session.execute(select(func.count()).select_from(query.subquery())).scalar() or 0)
    rows = session.execute(query.order_by(users.c.login).offset(offset).limit(limit)).all()
    grids: dict[str, list[str]] = {}
    logins = [r.login for r in rows]
    if logins:
        for who, grid in session.execute(select(user_grids.c.login, user_grids.c.grid_code)
                                           .where(user_grids.c.login.in_(logins))
                                           .order_by(user_grids.c.grid_code)):
            grids.setdefault(who, []).append(grid)
    return UserPage([{**r._mapping, "grids": grids.get(r.login, [])} for r in rows], total)


def extra_roles(stored: str | None) -> frozenset[Role]:
    """A user's second role as stored (one of ``access.COMBINABLE_ROLES``, or none)."""
    return frozenset({Role(stored)}) if stored else frozenset()


def set_second_role(session: Session, login: str, role: Role | None, at: datetime,
                    actor: str | None = None) -> None:
    """Give ``login`` a second role besides their own (only 考评员, evaluator), or take it away."""
    row = _user_row(session, login)
    if role is not None and (role not in COMBINABLE_ROLES or Role(row.role) in (Role.PUBLIC, role)):
        raise InvalidInput(f"{Role(row.role).label}不能兼任{role.label}（可兼任的角色：考评员）",
                           code="invalid_second_role")
    session.execute(update(users).where(users.c.login == login)
                    .values(extra_role=role.value if role is not None else None))
    audit(session, at, actor, "second_role", login, {"role": role.value if role else None})


def principal(session: Session, login: str) -> Principal:
    """The signed-in view of an active account."""
    row = _user_row(session, login)
    if not row.active:
        raise AuthenticationFailed(f"用户“{login}”已停用", code="user_disabled")
    grids = frozenset(session.execute(select(user_grids.c.grid_code)
                                      .where(user_grids.c.login == login)).scalars())
    return Principal(row.login, Role(row.role), row.name, row.unit_code, grids, row.district_code,
                     extra_roles(row.extra_role))


def login_check(engine: Engine, login: str, at: datetime, client: str | None = None
                ) -> LoginGate:
    """What the login throttle decides for an attempt of ``login`` from ``client`` at ``at``
    (see :mod:`xiuhua.domain.accounts`): read only, before the caller waits its delay."""
    with read_transaction(engine) as session:
        history = account_store.login_history(session, login, client or "unknown", at, POLICY)
    return login_gate(history, at)


def authenticate(engine: Engine, login: str, password: str, at: datetime,
                 client: str | None = None, gate: LoginGate | None = None) -> Principal:
    """Check a password, unless the throttle refuses the attempt (``gate``: its decision, if
    the caller already asked :func:`login_check`). Every refusal gets the same answer and takes
    as long as a wrong password (an unknown login is checked against a dummy hash). Every try
    is audited, and a failure counted, in a transaction of its own after the check (the check
    holds no lock)."""
    address = client or "unknown"
    gate = gate or login_check(engine, login, at, address)
    if gate.refused is not None:
        with transaction(engine) as session:
            audit(session, at, login, "login_failed", login, {"reason": gate.refused.value},
                  address)
        raise login_refused()
    with read_transaction(engine) as session:
        row = session.execute(select(users.c.password_hash, users.c.active)
                              .where(users.c.login == login)).first()
    stored = row.password_hash if row is not None else None
    matches = _hasher.verify(password, stored or _dummy_hash())
    with transaction(engine) as session:
        if matches and stored and row is not None and row.active:
            account_store.clear_failures(session, login, address)
            account_store.note_login_address(session, login, address, at)
            audit(session, at, login, "login", login, {}, address)
            return principal(session, login)
        reason = ("unknown" if row is None else "disabled" if not row.active
                  else "no_password" if not stored else "wrong_password")
        _count_failure(session, login, address, at, reason)
    raise login_refused()


def _count_failure(session: Session, login: str, address: str, at: datetime,
                   reason: str) -> None:
    """Count and audit a failed login; alert admins (an audit row) when the account is over
    its hourly limit, at most once per window (an audit row and a notification to the
    administrators)."""
    failures = account_store.record_failure(session, login, address, at, POLICY)
    audit(session, at, login, "login_failed", login, {"reason": reason}, address)
    if failures < POLICY.account_limit:
        return
    last = account_store.last_audit(session, "login_alert", login, at - POLICY.account_window)
    if should_alert(failures, last, at):
        minutes = POLICY.account_window // timedelta(minutes=1)
        audit(session, at, None, "login_alert", login,
              {"failures": failures, "window_minutes": minutes, "last_address": address},
              address)
        alert_admins_of_login_failures(session, login, failures, minutes, at)


# --- browser sessions -------------------------------------------------------------------------


def open_session(engine: Engine, login: str, at: datetime, client: str | None = None) -> str:
    """A new browser session of ``login``: the random id its signed cookie carries (only its
    SHA-256 is stored)."""
    sid = secrets.token_urlsafe(32)
    with transaction(engine) as session:
        account_store.add_session(session, sha256(sid), login, at, at + SESSION_LIFETIME, client)
    return sid


def close_session(engine: Engine, sid: str, login: str, at: datetime,
                  client: str | None = None) -> None:
    """Sign out: the session ``sid`` ends for every server process at once."""
    with transaction(engine) as session:
        account_store.end_session(session, sha256(sid))
        audit(session, at, login, "logout", login, {}, client)


# Built once: the statement of every request signed in by a browser session.
_SESSION_USER = (
    select(users.c.login, users.c.role, users.c.name, users.c.unit_code, users.c.active,
           users.c.extra_role, users.c.district_code, user_grids.c.grid_code)
    .join(user_sessions, user_sessions.c.login == users.c.login)
    .outerjoin(user_grids, user_grids.c.login == users.c.login)
    .where(user_sessions.c.id_hash == bindparam("id_hash"),
           user_sessions.c.expires_at > bindparam("at"), users.c.login == bindparam("login"))
)


def session_principal(session: Session, login: str, sid: str | None, at: datetime) -> Principal:
    """The active user of the live browser session ``sid``, in one read."""
    rows = (session.execute(_SESSION_USER, {"id_hash": sha256(sid), "at": at, "login": login})
            .all() if sid else [])
    if not rows or not rows[0].active:
        raise AuthenticationFailed("登录已失效，请重新登录", code="session_expired")
    row = rows[0]
    grids = frozenset(r.grid_code for r in rows if r.grid_code is not None)
    return Principal(row.login, Role(row.role), row.name, row.unit_code, grids, row.district_code,
                     extra_roles(row.extra_role))


def issue_token(session: Session, login: str, at: datetime, name: str = "api",
                lifetime: timedelta | None = None, actor: str | None = None) -> str:
    """A new personal access token, valid until revoked or for ``lifetime``; only its SHA-256
    is stored."""
    row = _user_row(session, login)
    if not row.active:
        raise InvalidInput(f"用户“{login}”已停用", code="user_disabled")
    token = "xh_" + secrets.token_urlsafe(32)
    expires = at + lifetime if lifetime is not None else None
    session.execute(insert(api_tokens).values(login=login, name=name, token_hash=sha256(token),
                                              created_at=at, expires_at=expires))
    audit(session, at, actor or login, "token_issued", login,
          {"name": name, "expires_at": expires.isoformat() if expires else None})
    return token


@dataclass(frozen=True)
class TokenInfo:
    """An access token as its owner and admins see it (never its secret)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


def list_tokens(session: Session, login: str) -> list[TokenInfo]:
    """The tokens of ``login`` that are not revoked (expired ones included), oldest first."""
    _user_row(session, login)
    t = api_tokens.c
    rows = session.execute(select(t.id, t.name, t.created_at, t.last_used_at, t.expires_at)
                           .where(t.login == login, t.revoked_at.is_(None)).order_by(t.id))
    return [TokenInfo(r.id, r.name, r.created_at, r.last_used_at, r.expires_at) for r in rows]


def revoke_token_id(session: Session, login: str, token_id: int, at: datetime,
                    actor: str | None = None) -> None:
    """Revoke the token ``token_id`` of ``login`` (another user's is not found)."""
    _user_row(session, login)
    done = session.execute(update(api_tokens).where(
        api_tokens.c.id == token_id, api_tokens.c.login == login,
        api_tokens.c.revoked_at.is_(None)).values(revoked_at=at)) if 0 < token_id < 2**31 else None
    if done is None or not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"用户“{login}”没有编号为 {token_id} 的有效访问令牌",
                       code="token_not_found")
    audit(session, at, actor or login, "token_revoked", login, {"id": token_id})


# Built once: the statement of every API request (building it anew costs more than running it).
_TOKEN_USER = (
    select(api_tokens.c.id, api_tokens.c.last_used_at, api_tokens.c.expires_at, users.c.login,
           users.c.role, users.c.name, users.c.unit_code, users.c.active, users.c.extra_role,
           users.c.district_code,
           user_grids.c.grid_code)
    .join(users, users.c.login == api_tokens.c.login)
    .outerjoin(user_grids, user_grids.c.login == users.c.login)
    .where(api_tokens.c.token_hash == bindparam("token_hash"), api_tokens.c.revoked_at.is_(None))
)


@dataclass(frozen=True)
class TokenUser:
    """The active user a bearer token signs in, when the token was last noted in use, and
    when it expires."""

    principal: Principal
    token_id: int
    last_used_at: datetime | None
    expires_at: datetime | None = None

    def due_for_note(self, at: datetime) -> bool:
        return self.last_used_at is None or at - self.last_used_at >= TOKEN_USE_RESOLUTION

    def check(self, at: datetime) -> TokenUser:
        """This, unless the token has expired at ``at``."""
        if self.expires_at is not None and at >= self.expires_at:
            raise AuthenticationFailed("访问令牌已过期", code="invalid_token")
        return self


def token_user(session: Session, token: str) -> TokenUser:
    """Who ``token`` signs in, in one read (the token's user and grids); the caller checks
    its expiry (:meth:`TokenUser.check`).

    Tokens are looked up by their SHA-256: a token is 256 random bits, so unlike a password it
    needs no slow hash to resist guessing, and a keyed lookup finds it in the index."""
    rows = session.execute(_TOKEN_USER, {"token_hash": sha256(token)}).all()
    if not rows or not rows[0].active:
        raise AuthenticationFailed("访问令牌无效或已撤销", code="invalid_token")
    row = rows[0]
    grids = frozenset(r.grid_code for r in rows if r.grid_code is not None)
    return TokenUser(Principal(row.login, Role(row.role), row.name, row.unit_code, grids, row.district_code,
                               extra_roles(row.extra_role)),
                     row.id, row.last_used_at, row.expires_at)


def note_token_use(engine: Engine, token_id: int, at: datetime) -> None:
    """Record a token's use, in a transaction of its own (the request's may be read-only).
    Done at most once per :data:`TOKEN_USE_RESOLUTION`, so signing in is seldom a write."""
    with transaction(writable(engine)) as session:
        session.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                        .values(last_used_at=at))


def revoke_token(session: Session, token: str, at: datetime) -> None:
    session.execute(update(api_tokens).where(api_tokens.c.token_hash == sha256(token))
                    .values(revoked_at=at))


def add_api_key(session: Session, name: str, at: datetime, actor: str | None = None) -> str:
    """An Open311 api_key for a client application; only its SHA-256 is stored."""
    if not name.strip():
        raise InvalidInput("须填写 API 密钥名称", code="missing_name")
    if session.execute(select(api_keys.c.id).where(api_keys.c.name == name)).first():
        raise InvalidInput(f"API 密钥“{name}”已存在", code="duplicate_api_key")
    key = secrets.token_hex(20)
    session.execute(insert(api_keys).values(name=name, key_hash=sha256(key), created_at=at))
    audit(session, at, actor, "api_key_issued", name)
    return key


def api_key_name(session: Session, key: str) -> str | None:
    return session.execute(select(api_keys.c.name).where(
        api_keys.c.key_hash == sha256(key), api_keys.c.revoked_at.is_(None))).scalar()


def set_permission(session: Session, action: Action, roles: Sequence[Role], at: datetime,
                   actor: str | None = None) -> Permissions:
    """Change which roles may take one lifecycle action (the city's permission table)."""
    if action in SYSTEM_ACTIONS:
        raise InvalidInput(f"“{action.label}”只由系统执行，不能授予角色", code="system_action")
    table = {a.value: sorted(r.value for r in rs)
             for a, rs in store.load_permissions(session).table.items()}
    before = table.get(action.value, [])
    table[action.value] = sorted({r.value for r in roles})
    store.put_setting(session, "permissions", table)
    store.bump_model_version(session)
    audit(session, at, actor, "permission_change", f"action:{action.value}",
          {"before": before, "after": table[action.value]})
    return store.load_permissions(session)
