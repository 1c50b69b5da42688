"""Storing cases in bulk (import, demo) and reading them back, on SQLite and PostgreSQL.

The bulk path converts the rows itself and hands them to the driver (executemany, or COPY for
large batches on PostgreSQL); whatever it stores must read back as the very case it was given,
and must be what SQLAlchemy's own ``insert()`` of the same rows stores.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, create_engine, insert, text

from tests.factories import local
from tests.unit.test_lifecycle import (
    ACCEPTOR,
    DISPATCHER,
    EXPOSED_GARBAGE,
    HANDLER,
    INSPECTOR,
    LOCATION,
    PUBLIC,
    RULES,
    SHIFT_LEADER,
)
from xiuhua.domain.choices import Action, Source
from xiuhua.domain.lifecycle import Actor, Case, Command, ReportData, apply, report
from xiuhua.store.cases import (
    COPY_FROM,
    assignment_row,
    case_row,
    event_row,
    insert_cases,
    iter_cases,
    load_case,
    task_row,
)
from xiuhua.store.db import analyze, read_transaction, transaction
from xiuhua.store.tables import assignments, case_events, cases, inspector_tasks

A = Action
AWKWARD_TEXT = '路口东侧\t堆放 "建筑垃圾"\n约 3 m³，\\N 100% 属实'  # tab, newline, backslash


def at(clock: str) -> datetime:
    """A moment of October 2026 in Shanghai, with microseconds (they must survive storage)."""
    return local(f"2026-10-{clock}") + timedelta(microseconds=123457)


def _report(case_no: str, clock: str, source: Source, actor: Actor, **fields: Any) -> Case:
    fields.setdefault("location", LOCATION)
    data = ReportData(case_no=case_no, source=source, category_code=EXPOSED_GARBAGE,
                      at=at(clock), **fields)
    return report(data, RULES, actor)


def _act(case: Case, steps: list[tuple[Action, str, Actor, dict[str, Any]]]) -> Case:
    for action, clock, actor, fields in steps:
        apply(case, Command(action, at(clock), actor, **fields), RULES)
    return case


def closed_after_everything(case_no: str) -> Case:
    """A public report verified, amended, extended, suspended, reworked, closed and rated."""
    case = _report(case_no, "15 08:00", Source.PUBLIC, PUBLIC, reporter_name="张女士",
                   reporter_phone="138****0001", photos=("p-before",), description="路口有垃圾",
                   address="泉城路 1 号", component_code="37018101001000001", note="拍照上报")
    moved = replace(LOCATION, lon=117.0012345, lat=36.6491234)
    return _act(case, [
        (A.VERIFY, "15 08:20", INSPECTOR, {"note": "属实", "photos": ("p-verify",)}),
        (A.AMEND, "15 08:25", ACCEPTOR, {"location": moved, "description": AWKWARD_TEXT}),
        (A.FILE, "15 08:30", SHIFT_LEADER, {}),
        (A.DISPATCH, "15 08:40", DISPATCHER, {"unit": "U-HW"}),
        (A.REQUEST_EXTENSION, "15 09:00", HANDLER, {"limit": "2wh", "reason": "需吊车"}),
        (A.EXTEND, "15 09:10", SHIFT_LEADER, {}),
        (A.SUSPEND, "15 09:20", SHIFT_LEADER, {"reason": "等待燃气公司停气"}),
        (A.RESUME, "16 09:00", SHIFT_LEADER, {}),
        (A.FEEDBACK, "16 10:00", HANDLER, {"note": "已清运", "photos": ("p-after",),
                                           "inspector": "inspector02"}),
        (A.CHECK_FAIL, "16 10:30", INSPECTOR, {"note": "仍有残留"}),
        (A.FEEDBACK, "16 11:00", HANDLER, {}),
        (A.CHECK_PASS, "16 11:30", INSPECTOR, {}),
        (A.CLOSE, "16 11:40", SHIFT_LEADER, {}),
        (A.RATE, "16 12:00", PUBLIC, {"value": "dissatisfied"}),
    ])


def cases_of_every_shape(prefix: str) -> list[Case]:
    """Closed, cancelled as a duplicate, waiting for an extension, suspended, unlocated."""
    first = closed_after_everything(f"{prefix}01")
    duplicate = _act(_report(f"{prefix}02", "15 08:05", Source.INSPECTOR, INSPECTOR), [
        (A.CANCEL, "15 08:15", SHIFT_LEADER, {"reason": "duplicate", "duplicate_of": first.case_no}),
    ])
    waiting = _act(_report(f"{prefix}03", "15 08:10", Source.INSPECTOR, INSPECTOR), [
        (A.FILE, "15 08:20", SHIFT_LEADER, {}),
        (A.DISPATCH, "15 08:30", DISPATCHER, {"unit": "U-HW", "limit": "1wd"}),
        (A.REQUEST_EXTENSION, "15 09:00", HANDLER, {"limit": "4wh", "reason": "材料未到"}),
    ])
    suspended = _act(_report(f"{prefix}04", "15 08:12", Source.INSPECTOR, INSPECTOR), [
        (A.FILE, "15 08:20", SHIFT_LEADER, {}),
        (A.DISPATCH, "15 08:30", DISPATCHER, {"unit": "U-HW"}),
        (A.SUSPEND, "15 09:30", SHIFT_LEADER, {"reason": "等待施工许可"}),
    ])
    unlocated = _report(f"{prefix}05", "15 08:15", Source.HOTLINE, ACCEPTOR, location=None,
                        address="泉城路与历山路交叉口")
    return [first, duplicate, waiting, suspended, unlocated]


def a_batch(copies: int) -> list[Case]:
    """``copies`` × the five shapes, numbered 20261015 + serial."""
    return [case for i in range(copies) for case in cases_of_every_shape(f"2026101500{i:02d}")]


def stored_datetimes(case: Case) -> list[datetime]:
    """The datetimes kept in UTCDateTime columns (deadline logs are JSON)."""
    values = [case.reported_at, case.filed_at, case.closed_at, case.cancelled_at, case.updated_at]
    values += [e.at for e in case.events]
    for a in case.assignments:
        values += [a.started_at, a.deadline, a.ended_at, a.suspended_at]
    for t in case.tasks:
        values += [t.opened_at, t.deadline, t.done_at]
    return [v for v in values if v is not None]


BATCHES = pytest.mark.parametrize("copies", [1, COPY_FROM // 5 + 1],
                                  ids=["a few rows", "a batch large enough for COPY"])


@BATCHES
def test_bulk_inserted_cases_load_back_exactly_as_they_were(engine: Engine, copies: int) -> None:
    originals = a_batch(copies)
    assert (copies == 1) == (len(originals) < COPY_FROM)
    with transaction(engine) as session:
        insert_cases(session, originals)
    with read_transaction(engine) as session:
        loaded = [load_case(session, case.case_no) for case in originals]
        listed = list(iter_cases(session, batch=7))
    assert loaded == originals
    assert listed == originals  # in case-number order, across batches
    first = loaded[0]
    assert first.description == AWKWARD_TEXT == first.events[2].data["new"]["description"]
    assert first.events[-6].data == {"inspector": "inspector02"}
    assert first.assignments[0].deadline_log[-2][1] is None  # suspended
    assert all(t.tzinfo is UTC for case in loaded for t in stored_datetimes(case))
    assert first.reported_at.microsecond == 123457


def _raw(engine: Engine, table: Table, case_no: str) -> list[tuple[Any, ...]]:
    """The values as the driver returns them (SQLite: datetime and JSON text), no id/case_no."""
    order = "seq" if "seq" in table.c else "case_no"
    with read_transaction(engine) as session:
        rows = session.execute(text(f"SELECT * FROM {table.name} WHERE case_no = :no "
                                    f"ORDER BY {order}"), {"no": case_no})
        return [tuple(v for k, v in r._mapping.items() if k not in ("id", "case_no"))
                for r in rows]


def _plain_insert(engine: Engine, case: Case) -> None:
    with transaction(engine) as session:
        session.execute(insert(cases), [case_row(case)])
        session.execute(insert(case_events), [event_row(case.case_no, e) for e in case.events])
        session.execute(insert(assignments),
                        [assignment_row(case.case_no, a) for a in case.assignments])
        session.execute(insert(inspector_tasks), [task_row(case.case_no, t) for t in case.tasks])


@BATCHES
def test_the_bulk_path_stores_the_values_a_plain_insert_stores(engine: Engine, copies: int) -> None:
    batch = a_batch(copies)
    with transaction(engine) as session:
        insert_cases(session, batch)
    twin = replace(batch[0], case_no="20261015999999")
    _plain_insert(engine, twin)
    for table in (cases, case_events, assignments, inspector_tasks):
        bulk, plain = _raw(engine, table, batch[0].case_no), _raw(engine, table, twin.case_no)
        assert bulk and bulk == plain, table.name


def test_json_written_by_the_standard_library_reads_back_the_same(engine: Engine) -> None:
    """Databases written before orjson hold escaped, spaced JSON text: it reads the same."""
    case = closed_after_everything("20261015000001")
    before = create_engine(engine.url.render_as_string(hide_password=False))  # stdlib json
    try:
        _plain_insert(before, case)
    finally:
        before.dispose()
    with read_transaction(engine) as session:
        stored = session.execute(text("SELECT CAST(data AS TEXT) FROM case_events "
                                      "WHERE action = 'amend'")).scalar_one()
        loaded = load_case(session, case.case_no)
    assert "\\u" in stored and ": " in stored  # ensure_ascii escapes, spaces after colons
    assert loaded == case


def test_analyze_gives_the_query_planner_statistics_of_the_cases(engine: Engine) -> None:
    batch = a_batch(2)
    with transaction(engine) as session:
        insert_cases(session, batch)
    analyze(engine)
    with read_transaction(engine) as session:
        if engine.dialect.name == "sqlite":
            stat = session.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases'")).scalar()
            counted = int(str(stat).split()[0])
        else:
            counted = session.execute(text(
                "SELECT reltuples FROM pg_class WHERE relname = 'cases'")).scalar()
    assert counted == len(batch)
