"""Administrators manage accounts and API keys from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from tests.factories import build_tiny_city, cli_database, grid_code, local, xiuhua
from xiuhua.api.app import create_app
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
