"""Accounts: users with Argon2 password hashes, login lockout, personal access tokens,
Open311 API keys, and the append-only audit log."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal
from xiuhua.domain.lifecycle import SYSTEM_ACTIONS, Permissions

__all__ = ["Principal"]
from xiuhua.domain.choices import Action, Role
from xiuhua.domain.errors import AuthenticationFailed, InvalidInput, NotFound
from xiuhua.store import city as store
from xiuhua.store.db import transaction, writable
from xiuhua.store.tables import api_keys, api_tokens, audit_log, regions, units, user_grids, users

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
# A token's last use is kept to this resolution, so signing in is no write on most requests.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
_hasher = PasswordHash.recommended()


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
             actor: str | None = None) -> None:
    """Create or update an account; unit staff need a unit, only inspectors have grids."""
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
    store.save_user(session, login, name or login, role, unit_code, grids)
    if password is not None:
        password_hash = hash_password(password)
    if password_hash is not None:
        session.execute(update(users).where(users.c.login == login)
                        .values(password_hash=password_hash))
    audit(session, at, actor, "permission_change", login,
          {"role": role.value, "unit": unit_code, "grids": list(grids)})


def _user_row(session: Session, login: str) -> Any:
    row = session.execute(select(users).where(users.c.login == login)).first()
    if row is None:
        raise NotFound(f"用户“{login}”不存在", code="user_not_found")
    return row


def set_password(session: Session, login: str, password: str, at: datetime,
                 actor: str | None = None) -> None:
    _user_row(session, login)
    session.execute(update(users).where(users.c.login == login).values(
        password_hash=hash_password(password), failed_logins=0, locked_until=None))
    audit(session, at, actor, "password_change", login)


def disable_user(session: Session, login: str, at: datetime, actor: str | None = None) -> None:
    _user_row(session, login)
    session.execute(update(users).where(users.c.login == login).values(active=False))
    session.execute(update(api_tokens).where(api_tokens.c.login == login,
                                             api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=at))
    audit(session, at, actor, "permission_change", login, {"active": False})


def enable_user(session: Session, login: str, at: datetime, actor: str | None = None) -> None:
    """Let a disabled user sign in again (tokens revoked on disabling stay revoked)."""
    _user_row(session, login)
    session.execute(update(users).where(users.c.login == login)
                    .values(active=True, failed_logins=0, locked_until=None))
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


def principal(session: Session, login: str) -> Principal:
    """The signed-in view of an active account."""
    row = _user_row(session, login)
    if not row.active:
        raise AuthenticationFailed(f"用户“{login}”已停用", code="user_disabled")
    grids = frozenset(session.execute(select(user_grids.c.grid_code)
                                      .where(user_grids.c.login == login)).scalars())
    return Principal(row.login, Role(row.role), row.name, row.unit_code, grids)


def authenticate(engine: Engine, login: str, password: str, at: datetime,
                 client: str | None = None) -> Principal:
    """Check a password; five failures lock the account for 15 minutes. Every try is audited,
    in a transaction of its own, so a refused login still counts."""
    with transaction(engine) as session:
        outcome = _attempt(session, login, password, at, client)
    if isinstance(outcome, AuthenticationFailed):
        raise outcome
    return outcome


def _attempt(session: Session, login: str, password: str, at: datetime,
             client: str | None) -> Principal | AuthenticationFailed:
    row = session.execute(select(users).where(users.c.login == login)).first()
    refused = AuthenticationFailed("用户名或密码错误")
    if row is None or not row.active or row.password_hash is None:
        audit(session, at, login, "login_failed", login, {"reason": "unknown"}, client)
        return refused
    if row.locked_until is not None and row.locked_until > at:
        audit(session, at, login, "login_failed", login, {"reason": "locked"}, client)
        minutes = max(1, int((row.locked_until - at).total_seconds() // 60) + 1)
        return AuthenticationFailed(f"连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试",
                                    code="account_locked")
    if not _hasher.verify(password, row.password_hash):
        failed = (row.failed_logins or 0) + 1
        locked = at + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
        session.execute(update(users).where(users.c.login == login).values(
            failed_logins=0 if locked else failed, locked_until=locked))
        audit(session, at, login, "login_failed", login, {"failures": failed}, client)
        return refused
    session.execute(update(users).where(users.c.login == login)
                    .values(failed_logins=0, locked_until=None))
    audit(session, at, login, "login", login, {}, client)
    return principal(session, login)


def issue_token(session: Session, login: str, at: datetime, name: str = "api") -> str:
    """A new personal access token; only its SHA-256 is stored."""
    row = _user_row(session, login)
    if not row.active:
        raise InvalidInput(f"用户“{login}”已停用", code="user_disabled")
    token = "xh_" + secrets.token_urlsafe(32)
    session.execute(insert(api_tokens).values(login=login, name=name, token_hash=sha256(token),
                                              created_at=at))
    audit(session, at, login, "token_issued", login, {"name": name})
    return token


# Built once: the statement of every API request (building it anew costs more than running it).
_TOKEN_USER = (
    select(api_tokens.c.id, api_tokens.c.last_used_at, users.c.login, users.c.role,
           users.c.name, users.c.unit_code, users.c.active, user_grids.c.grid_code)
    .join(users, users.c.login == api_tokens.c.login)
    .outerjoin(user_grids, user_grids.c.login == users.c.login)
    .where(api_tokens.c.token_hash == bindparam("token_hash"), api_tokens.c.revoked_at.is_(None))
)


@dataclass(frozen=True)
class TokenUser:
    """The active user a bearer token signs in, and when the token was last noted in use."""

    principal: Principal
    token_id: int
    last_used_at: datetime | None

    def due_for_note(self, at: datetime) -> bool:
        return self.last_used_at is None or at - self.last_used_at >= TOKEN_USE_RESOLUTION


def token_user(session: Session, token: str) -> TokenUser:
    """Who ``token`` signs in, in one read (the token's user and grids).

    Tokens are looked up by their SHA-256: a token is 256 random bits, so unlike a password it
    needs no slow hash to resist guessing, and a keyed lookup finds it in the index."""
    rows = session.execute(_TOKEN_USER, {"token_hash": sha256(token)}).all()
    if not rows or not rows[0].active:
        raise AuthenticationFailed("访问令牌无效或已撤销", code="invalid_token")
    row = rows[0]
    grids = frozenset(r.grid_code for r in rows if r.grid_code is not None)
    return TokenUser(Principal(row.login, Role(row.role), row.name, row.unit_code, grids),
                     row.id, row.last_used_at)


def note_token_use(engine: Engine, token_id: int, at: datetime) -> None:
    """Record a token's use, in a transaction of its own (the request's may be read-only).
    Done at most once per :data:`TOKEN_USE_RESOLUTION`, so signing in is seldom a write."""
    with transaction(writable(engine)) as session:
        session.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                        .values(last_used_at=at))


def principal_for_token(session: Session, token: str, at: datetime) -> Principal:
    """The active user ``token`` signs in at ``at`` (its use noted when due)."""
    found = token_user(session, token)
    if found.due_for_note(at):
        bind = session.get_bind()
        note_token_use(bind if isinstance(bind, Engine) else bind.engine, found.token_id, at)
    return found.principal


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
