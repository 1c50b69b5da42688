"""Administrators manage accounts and API keys from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.factories import build_tiny_city, cli_database, grid_code, local, xiuhua
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.domain.choices import Action, Role
from xiuhua.domain.errors import AuthenticationFailed
from xiuhua.services import accounts
from xiuhua.services.city import load_city
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, user_grids, users

PASSWORD = "river-lamp-42"
AT = local("2026-10-16 09:00")


@pytest.fixture
def db(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The tiny city in a SQLite file that the ``xiuhua`` command uses."""
    build_tiny_city(sqlite_engine)
    yield from cli_database(sqlite_engine, tmp_path / "data", monkeypatch)


def user_row(engine: Engine, login: str) -> object:
    with transaction(engine) as session:
        return session.execute(select(users).where(users.c.login == login)).one()


def test_an_inspector_is_added_with_grids_and_a_password_that_signs_in(db: Engine) -> None:
    grids = (grid_code(0, 0), grid_code(0, 1))
    result = xiuhua("user", "add", "inspector07", "--role", "inspector", "--grid", grids[0],
                    "--grid", grids[1], "--password", PASSWORD, "--name", "王监督")
    assert result.exit_code == 0, result.output
    assert "inspector07" in result.output and "监督员" in result.output
    with transaction(db) as session:
        posted = set(session.execute(select(user_grids.c.grid_code)
                                     .where(user_grids.c.login == "inspector07")).scalars())
    assert posted == set(grids)
    assert user_row(db, "inspector07").name == "王监督"  # type: ignore[attr-defined]
    who = accounts.authenticate(db, "inspector07", PASSWORD, AT)
    assert who.grids == frozenset(grids)


def test_without_a_password_and_no_terminal_the_account_has_none_yet(db: Engine) -> None:
    result = xiuhua("user", "add", "handler09", "--role", "handler", "--unit", "U-HW")
    assert result.exit_code == 0, result.output
    assert "未设置新密码" in result.output and "xiuhua user passwd handler09" in result.output
    assert user_row(db, "handler09").password_hash is None  # type: ignore[attr-defined]
    result = xiuhua("user", "passwd", "handler09")
    assert result.exit_code == 1 and "--password" in result.output
    result = xiuhua("user", "passwd", "handler09", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert accounts.authenticate(db, "handler09", PASSWORD, AT).unit_code == "U-HW"


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "mayor"], "未知角色“mayor”"),
    (["--role", "handler", "--unit", "U-NONE"], "单位“U-NONE”不存在"),
    (["--role", "handler"], "须指定所属单位"),
    (["--role", "inspector", "--grid", "370181001001999"], "网格不存在：370181001001999"),
    (["--role", "acceptor", "--password", "short"], "密码至少 8 位"),
])
def test_bad_accounts_are_refused_in_chinese(db: Engine, args: list[str], message: str) -> None:
    result = xiuhua("user", "add", "someone", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    with transaction(db) as session:
        assert session.execute(select(users).where(users.c.login == "someone")).first() is None


def test_a_token_from_the_command_line_works_against_the_api_until_the_user_is_disabled(
        db: Engine, tmp_path: Path) -> None:
    assert xiuhua("user", "add", "shift07", "--role", "shift_leader").exit_code == 0
    result = xiuhua("user", "token", "shift07")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    settings = Settings(data_dir=tmp_path / "api", secret_key="test-secret")
    with TestClient(create_app(settings, engine=db, migrate=False)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        me = client.get("/api/v1/auth/me", headers=headers)
        assert me.status_code == 200 and me.json()["role_label"] == "值班长"
        result = xiuhua("user", "disable", "shift07")
        assert result.exit_code == 0 and "已停用" in result.output
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert xiuhua("user", "token", "shift07").exit_code == 1


def test_password_changes_and_disabling_are_audited(db: Engine) -> None:
    xiuhua("user", "add", "acceptor07", "--role", "acceptor", "--password", PASSWORD)
    assert xiuhua("user", "passwd", "acceptor07", "--password", "new-" + PASSWORD).exit_code == 0
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "acceptor07", PASSWORD, AT)
    assert xiuhua("user", "disable", "acceptor07").exit_code == 0
    with transaction(db) as session:
        kinds = list(session.execute(select(audit_log.c.kind, audit_log.c.actor).where(
            audit_log.c.subject == "acceptor07").order_by(audit_log.c.id)))
    by_cli = [kind for kind, actor in kinds if actor and actor.startswith("cli")]
    assert by_cli == ["permission_change", "password_change", "permission_change"]


def test_unknown_users_exit_with_an_error(db: Engine) -> None:
    for command in (["passwd", "ghost", "--password", PASSWORD], ["disable", "ghost"],
                    ["token", "ghost"]):
        result = xiuhua("user", *command)
        assert result.exit_code == 1 and "用户“ghost”不存在" in result.output


def test_an_open311_api_key_is_printed_once_and_names_its_client(db: Engine) -> None:
    result = xiuhua("apikey", "add", "城市随手拍")
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    with transaction(db) as session:
        assert accounts.api_key_name(session, key) == "城市随手拍"
    again = xiuhua("apikey", "add", "城市随手拍")
    assert again.exit_code == 1 and "已存在" in again.output


def test_a_city_changes_who_may_dispatch_and_it_is_audited(db: Engine) -> None:
    result = xiuhua("permissions", "set", "dispatch", "dispatcher", "shift_leader")
    assert result.exit_code == 0, result.output
    shown = xiuhua("permissions", "show").output
    assert "dispatch（派遣）：dispatcher（派遣员）、shift_leader（值班长）" in shown
    with transaction(db) as session:
        assert load_city(session).permissions.allows(Role.SHIFT_LEADER, Action.DISPATCH)
        subjects = session.execute(select(audit_log.c.subject).where(
            audit_log.c.kind == "permission_change")).scalars().all()
    assert "action:dispatch" in subjects
    bad = xiuhua("permissions", "set", "dispatch", "wizard")
    assert bad.exit_code != 0 and "未知的操作或角色" in bad.output


# --- issue 11: tokens with an expiry, listed and revoked; passwd ends sign-ins; add --enable ---


def api_client(db: Engine, tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path / "api", secret_key="test-secret"),
                                 engine=db, migrate=False))


def me(client: TestClient, token: str) -> int:
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_tokens_are_listed_without_their_secrets_and_revoked_one_by_one(
        db: Engine, tmp_path: Path) -> None:
    assert xiuhua("user", "add", "robot07", "--role", "leader").exit_code == 0
    result = xiuhua("user", "token", "robot07", "--name", "报表机器人", "--expires", "90d")
    assert result.exit_code == 0, result.output
    assert "有效期至" in result.output
    expiring = result.output.strip().splitlines()[-1]
    lasting = xiuhua("user", "token", "robot07").output.strip().splitlines()[-1]
    assert expiring.startswith("xh_") and lasting.startswith("xh_")
    with api_client(db, tmp_path) as client:
        assert me(client, expiring) == 200 and me(client, lasting) == 200
        listed = xiuhua("user", "tokens", "robot07")
        assert listed.exit_code == 0, listed.output
        lines = listed.output.strip().splitlines()
        assert lines[0] == "编号\t用途\t创建时间\t最近使用\t到期时间"
        first, second = (line.split("\t") for line in lines[1:])
        assert first[1] == "报表机器人" and first[3] != "—" and first[4] != "长期有效"
        assert second[1] == "cli" and second[4] == "长期有效"
        assert expiring not in listed.output and lasting not in listed.output
        revoked = xiuhua("user", "revoke-token", "robot07", first[0])
        assert revoked.exit_code == 0 and "已撤销" in revoked.output
        assert me(client, expiring) == 401 and me(client, lasting) == 200
        assert len(xiuhua("user", "tokens", "robot07").output.strip().splitlines()) == 2
        again = xiuhua("user", "revoke-token", "robot07", first[0])
        assert again.exit_code == 1 and "没有编号为" in again.output
    with transaction(db) as session:
        kinds = session.execute(select(audit_log.c.kind).where(
            audit_log.c.subject == "robot07")).scalars().all()
    assert "token_revoked" in kinds


def test_a_bad_expiry_is_refused_in_chinese(db: Engine) -> None:
    assert xiuhua("user", "add", "robot08", "--role", "leader").exit_code == 0
    result = xiuhua("user", "token", "robot08", "--expires", "3 months")
    assert result.exit_code == 1 and "有效期“3 months”格式不正确" in result.output
    assert "xh_" not in result.output


def test_passwd_ends_every_token_and_session_of_the_user(db: Engine, tmp_path: Path) -> None:
    xiuhua("user", "add", "acceptor08", "--role", "acceptor", "--password", PASSWORD)
    token = xiuhua("user", "token", "acceptor08").output.strip().splitlines()[-1]
    with api_client(db, tmp_path) as client:
        signed_in = client.post("/api/v1/auth/login",
                                data={"username": "acceptor08", "password": PASSWORD})
        assert signed_in.status_code == 200
        assert me(client, token) == 200 and client.get("/api/v1/auth/me").status_code == 200
        result = xiuhua("user", "passwd", "acceptor08", "--password", "new-" + PASSWORD)
        assert result.exit_code == 0 and "均已失效" in result.output
        assert me(client, token) == 401
        assert client.get("/api/v1/auth/me").status_code == 401
    assert xiuhua("user", "tokens", "acceptor08").output.strip() == "用户 acceptor08 没有有效的访问令牌"


def test_adding_a_disabled_login_again_needs_enable(db: Engine) -> None:
    xiuhua("user", "add", "handler08", "--role", "handler", "--unit", "U-HW",
           "--password", PASSWORD)
    assert xiuhua("user", "disable", "handler08").exit_code == 0
    refused = xiuhua("user", "add", "handler08", "--role", "admin", "--password", PASSWORD)
    assert refused.exit_code == 1
    assert "用户“handler08”已停用，未作修改；如需重新启用，请加 --enable" in refused.output
    row = user_row(db, "handler08")
    assert not row.active and row.role == "handler"  # type: ignore[attr-defined]
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(db, "handler08", PASSWORD, AT)
    enabled = xiuhua("user", "add", "handler08", "--role", "handler", "--unit", "U-HW", "--enable")
    assert enabled.exit_code == 0, enabled.output
    assert user_row(db, "handler08").active  # type: ignore[attr-defined]
    assert accounts.authenticate(db, "handler08", PASSWORD, AT).unit_code == "U-HW"
