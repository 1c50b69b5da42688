"""Property-based fuzzing of the whole OpenAPI schema: no input may produce a 5xx.

SQLite only (the issue allows it), with a bounded number of examples per operation so the suite
stays fast; derandomised so CI is repeatable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine

from tests.api.conftest import Clock, build_city_with_users
from xiuhua.api.app import create_app
from xiuhua.config import Settings


@pytest.fixture
def fuzz_schema(sqlite_engine: Engine, tmp_path: Path) -> tuple[Any, str]:
    clock = Clock()
    token = build_city_with_users(sqlite_engine, clock())["shift01"]
    app = create_app(Settings(data_dir=tmp_path / "data", secret_key="fuzz"), clock=clock,
                     engine=sqlite_engine, migrate=False)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), token


def test_no_input_produces_a_server_error(fuzz_schema: tuple[Any, str]) -> None:
    schema, token = fuzz_schema
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every failing operation, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
