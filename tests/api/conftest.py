"""An HTTP client against the real application (ASGI, real database) over the tiny city, with
one signed-up user per role and a clock the test can move."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.factories import build_tiny_city, grid_code, local
from xiuhua.app import create_app
from xiuhua.config import Settings
from xiuhua.domain.choices import Role
from xiuhua.services import accounts
from xiuhua.store.db import transaction

PASSWORD = "correct-horse-9"
PASSWORD_HASH = accounts.hash_password(PASSWORD)  # hashed once: Argon2 is slow on purpose
ALL_GRIDS = tuple(grid_code(r, c) for r in range(3) for c in range(3))
# login -> (role, unit, grids)
USERS: dict[str, tuple[Role, str | None, tuple[str, ...]]] = {
    "admin01": (Role.ADMIN, None, ()),
    "acceptor01": (Role.ACCEPTOR, None, ()),
    "shift01": (Role.SHIFT_LEADER, None, ()),
    "dispatcher01": (Role.DISPATCHER, None, ()),
    "handler_hw": (Role.HANDLER, "U-HW", ()),
    "leader_hw": (Role.UNIT_LEADER, "U-HW", ()),
    "handler_zf": (Role.HANDLER, "U-ZF", ()),
    "inspector01": (Role.INSPECTOR, None, ALL_GRIDS),
    "inspector02": (Role.INSPECTOR, None, (grid_code(0, 0),)),
    "leader01": (Role.LEADER, None, ()),
    "office01": (Role.OFFICE, None, ()),
}


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: local("2026-10-16 09:00"))

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = local(text)


@dataclass
class Api:
    client: TestClient
    clock: Clock
    engine: Engine
    tokens: dict[str, str]

    def auth(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[login]}"}


def build_city_with_users(engine: Engine, at: datetime) -> dict[str, str]:
    """The tiny city plus every user of ``USERS``; returns a bearer token per login."""
    build_tiny_city(engine)
    tokens: dict[str, str] = {}
    with transaction(engine) as session:
        for login, (role, unit, grids) in USERS.items():
            accounts.add_user(session, login, role, at, unit_code=unit, grids=grids,
                              password_hash=PASSWORD_HASH)
            tokens[login] = accounts.issue_token(session, login, at)
    return tokens


@pytest.fixture
def api(engine: Engine, tmp_path: Path) -> Iterator[Api]:
    clock = Clock()
    tokens = build_city_with_users(engine, clock())
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    app = create_app(settings, clock=clock, engine=engine, migrate=False)
    with TestClient(app) as client:
        yield Api(client, clock, engine, tokens)
