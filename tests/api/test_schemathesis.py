"""Property-based fuzzing of the whole OpenAPI schema: no input may produce a 5xx.

SQLite only (the issue allows it), with a bounded number of examples per operation so the suite
stays fast; derandomised so CI is repeatable. Generated inputs rarely reach the edges of
datetime and int, so every query parameter of every GET (and every period in a path) is also
tried with a fixed list of extreme shapes: years 1 and 9999 with the outermost UTC offsets,
digits ``int()`` takes that are not ASCII, numbers past 64 bits and non-finite numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine

from tests.api.conftest import Clock, build_city_with_users
from xiuhua.app import create_app
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


EXTREMES = ("9999-12-31T00:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59-12:00",
            "0001-01-01T00:00:00+14:00", "9999-12-31T17:00:00", "9999-12-31", "0001-01-01", "²", "٣", "１",
            str(10**30), str(-(10**30)), "Infinity", "-Infinity", "NaN", "1e309")
PERIOD_EXTREMES = ("9999", "0001", "9999Q4", "0001-01", "9999-12", "2999-12", "2999Q4", "1949-01", "1949")
# a valid value for the parameters an operation requires, so that the extreme one is reached
REQUIRED = {"start": "2026-10-16T17:00:00", "limit": "4wh", "measure": "closed", "case_no": "x",
            "fmt": "json", "period": "2026-10", "subject": "units", "code": "U-HW"}


def extreme_cases(operation: Any) -> list[Any]:
    """One case per (query parameter, extreme value) of a GET, and per extreme period or id in
    the path of any operation."""
    params = list(operation.iter_parameters())
    path = {p.name: REQUIRED.get(p.name, "x") for p in params if p.location == "path"}
    required = {p.name: REQUIRED.get(p.name, "x") for p in params if p.location == "query" and p.is_required}
    ids = [p.name for p in params if p.location == "path" and p.definition.get("schema", {}).get("type") == "integer"]
    cases = [operation.Case(path_parameters={**path, name: value}, query=required)
             for name in ids for value in (str(10**30), "²", "0")]
    if "period" in path:
        cases += [operation.Case(path_parameters={**path, "period": value}, query=required)
                  for value in PERIOD_EXTREMES]
    if operation.method.upper() != "GET":
        return cases
    for fmt in ("json", "xml") if "fmt" in path else (None,):  # Open311 answers in the format asked for
        where = {**path, "fmt": fmt} if fmt else path
        cases += [operation.Case(path_parameters=where, query={**required, p.name: value})
                  for p in params if p.location == "query" for value in EXTREMES]
    return cases


def test_extreme_values_produce_no_server_error(fuzz_schema: tuple[Any, str]) -> None:
    schema, token = fuzz_schema
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for case in extreme_cases(operation):
            try:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])
            except Exception as exc:
                failures.append(f"{case.method} {operation.path} {case.path_parameters} {case.query}: {exc}")
    assert not failures, "\n\n".join(failures[:20])
