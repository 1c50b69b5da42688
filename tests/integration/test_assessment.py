"""The assessment over a stored history, on SQLite and PostgreSQL: the store pulls exactly what a
period needs (the figures equal those of the formulas over the whole history), publishing
freezes a period, late entries become adjustments of the next open month, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from tests.factories import build_tiny_city, cli_database, local, xiuhua
from tests.unit.test_assessment import (
    CONFIG,
    DISPATCHER,
    G11,
    HW,
    INSPECTOR01,
    OCTOBER_INSPECTORS,
    OCTOBER_REGIONS,
    OCTOBER_STAFF,
    OCTOBER_UNITS,
    PEOPLE,
    SHIFT,
    ZF,
    ZF_ENTRIES,
    History,
    assert_regions,
    assert_rows,
    build_history,
    by_key,
    period_data,
)
from xiuhua.domain.assessment import ASSESSED_ACTIONS, Period, assess
from xiuhua.domain.choices import Action, Role, Source
from xiuhua.domain.errors import ActionRefused, BatchInvalid, InvalidInput, NotFound
from xiuhua.domain.lifecycle import Actor
from xiuhua.services import assessment as service
from xiuhua.services.city import load_city
from xiuhua.store import city as city_store
from xiuhua.store.assessment import events_in, touched_cases
from xiuhua.store.cases import insert_cases
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log

LEADER = "leader01"


def store_history(engine: Engine, history: History) -> None:
    build_tiny_city(engine)
    with transaction(engine) as session:
        for person in PEOPLE.values():
            if person.login not in ("inspector01", "handler_hw"):  # the tiny city has those two
                assert person.role is not None
                city_store.save_user(session, person.login, person.name, person.role)
        insert_cases(session, list(history.cases.values()))


@pytest.fixture
def history() -> History:
    return build_history()


@pytest.fixture
def stored(engine: Engine, history: History) -> Engine:
    store_history(engine, history)
    return engine


def enter_zf_spot_checks(engine: Engine) -> None:
    """U-ZF's October spot checks, entered on the last day of the month."""
    with transaction(engine) as session:
        city = load_city(session)
        for entry in ZF_ENTRIES:
            service.add_entry(session, city, entry.kind, entry.unit_code, date(2026, 10, 28),
                              "门前三包检查" if entry.kind == "deduction" else "主动发现并处置",
                              entry.points, local("2026-10-31 17:00"), LEADER)


def assessed(engine: Engine, period: str) -> dict[str, Any]:
    with transaction(engine) as session:
        return service.assess_period(session, load_city(session), period, CONFIG)


def publish(engine: Engine, period: str, at: str) -> dict[str, Any]:
    with transaction(engine) as session:
        return service.publish(session, load_city(session), period, CONFIG, local(at), LEADER)


def add_entry(engine: Engine, kind: str, unit: str, day: date, points: float, at: str,
              **kwargs: Any) -> dict[str, Any]:
    with transaction(engine) as session:
        return service.add_entry(session, load_city(session), kind, unit, day, "抽查：垃圾未清运", points,
                                 local(at), LEADER, **kwargs)


def without_manual(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items()
            if k not in ("entries", "adjustments", "corrections", "published", "published_at", "published_by")}


def test_the_october_figures_from_the_database(stored: Engine) -> None:
    enter_zf_spot_checks(stored)
    october = assessed(stored, "2026-10")
    assert (october["period"], october["start"], october["end"]) == (
        "2026-10", "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00")
    assert october["published"] is False and october["adjustments"] == []
    assert [e["points"] for e in october["entries"]] == [10.0, 2.5, 0.5]
    assert [u["unit_code"] for u in october["units"]] == ["U-HW", "U-ZF", "U-JD1"]
    assert_rows(by_key(october["units"], "unit_code"), OCTOBER_UNITS)
    assert_regions(october["regions"], OCTOBER_REGIONS)
    assert_rows(by_key(october["inspectors"], "login"), OCTOBER_INSPECTORS)
    assert_rows(by_key(october["staff"], "login"), OCTOBER_STAFF)
    assert [(t["category_code"], t["filed"]) for t in october["top_categories"][:3]] == [
        ("06010", 6), ("06036", 5), ("07001", 1)]


@pytest.mark.parametrize("period", ["2026-09", "2026-10", "2026-11", "2026-12", "2026Q4", "2026"])
def test_the_store_pulls_everything_a_period_needs(stored: Engine, history: History, period: str) -> None:
    """Only the period's events and running assignments are read, yet the figures equal those of
    the formulas over the whole history."""
    whole = assess(period_data(history, period), CONFIG).figures()
    assert without_manual(assessed(stored, period)) == json.loads(json.dumps(whole))


def test_publishing_freezes_the_month_and_late_entries_are_adjustments_of_the_next(
        stored: Engine, history: History) -> None:
    enter_zf_spot_checks(stored)
    with pytest.raises(ActionRefused) as early:
        publish(stored, "2026-10", "2026-10-31 23:59")
    assert early.value.code == "period_not_ended"
    published = publish(stored, "2026-10", "2026-11-03 09:00")
    assert published["published"] is True and published["published_by"] == LEADER
    frozen = assessed(stored, "2026-10")
    assert frozen == published
    with pytest.raises(ActionRefused) as twice:
        publish(stored, "2026-10", "2026-11-04 09:00")
    assert twice.value.code == "already_published"

    late = add_entry(stored, "deduction", "U-HW", date(2026, 10, 20), 3, "2026-11-05 10:00")
    assert (late["period"], late["booked_period"], late["adjusts"]) == ("2026-10", "2026-11", "2026-10")
    ontime = add_entry(stored, "bonus", "U-HW", date(2026, 11, 6), 1.5, "2026-11-06 10:00")
    assert (ontime["booked_period"], ontime["adjusts"]) == ("2026-11", None)
    assert assessed(stored, "2026-10") == frozen  # the published month never changes

    november = assessed(stored, "2026-11")
    assert [a["id"] for a in november["adjustments"]] == [late["id"]]
    assert november["adjustments"][0]["item"] == "抽查：垃圾未清运"
    hw = by_key(november["units"], "unit_code")["U-HW"]
    assert (hw["deductions"], hw["bonus"]) == (3.0, 1.5)

    publish(stored, "2026-11", "2026-12-01 09:00")
    later = add_entry(stored, "deduction", "U-ZF", date(2026, 10, 30), 1, "2026-12-02 09:00")
    assert (later["booked_period"], later["adjusts"]) == ("2026-12", "2026-10")
    with transaction(stored) as session:
        kinds = list(session.execute(select(audit_log.c.kind, audit_log.c.subject).order_by(audit_log.c.id)))
    assert [tuple(k) for k in kinds if k.kind.startswith("assessment")] == [
        *[("assessment_entry", "U-ZF")] * 3, ("assessment_publish", "2026-10"),
        ("assessment_entry", "U-HW"), ("assessment_entry", "U-HW"), ("assessment_publish", "2026-11"),
        ("assessment_entry", "U-ZF")]


def test_an_imported_case_does_not_change_a_published_month(stored: Engine, history: History) -> None:
    publish(stored, "2026-10", "2026-11-03 09:00")
    extra = History()
    extra.report("X1", "2026-10-13 09:00", source=Source.INSPECTOR)
    extra.cases["X1"].case_no = "20261013900001"
    with transaction(stored) as session:
        insert_cases(session, [extra.cases["X1"]])
        city = load_city(session)
        drill = service.drill_down(session, city, "2026-10", "regions", "370181", "reported", CONFIG)
    assert by_key(assessed(stored, "2026-10")["regions"], "region_code")["370181"]["reported"] == 13
    assert (drill["count"], drill["published_count"]) == (14, 13)


def test_the_drill_down_lists_the_cases_behind_a_figure(stored: Engine, history: History) -> None:
    with transaction(stored) as session:
        drill = service.drill_down(session, load_city(session), "2026-10", "units", "U-HW",
                                   "overdue_unhandled", CONFIG)
    [row] = drill["rows"]
    assert drill["count"] == 1 and drill["published_count"] is None
    assert (row["case_no"], row["assignment_seq"], row["unit_code"]) == (history.no("C5"), 1, "U-HW")
    assert row["deadline_at_end"] == local("2026-10-27 14:40").isoformat()
    assert row["ended"] == "handled" and row["handled_at"] == local("2026-12-02 10:00").isoformat()


def test_manual_entries_are_checked(stored: Engine) -> None:
    cases = [
        (("deduction", "U-XX", date(2026, 10, 20), 2), {}, InvalidInput, "unknown_unit"),
        (("deduction", "U-HW", date(2026, 11, 20), 2), {}, InvalidInput, "future_date"),
        (("deduction", "U-HW", date(2026, 10, 20), 0.005), {}, InvalidInput, "invalid_points"),
        (("deduction", "U-HW", date(2026, 10, 20), 101), {}, InvalidInput, "invalid_points"),
        (("penalty", "U-HW", date(2026, 10, 20), 2), {}, InvalidInput, "invalid_entry_kind"),
        (("deduction", "U-HW", date(2026, 10, 20), 2), {"photo_id": "f" * 64}, NotFound, "photo_not_found"),
    ]
    for args, kwargs, error, code in cases:
        with pytest.raises(error) as err:
            add_entry(stored, *args, at="2026-11-01 09:00", **kwargs)
        assert err.value.code == code
    assert assessed(stored, "2026-10")["entries"] == []


def test_reward_bands_from_a_csv_pay_the_year_end_ranking(stored: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bands.csv"
    path.write_text("period,rank_from,rank_to,amount,note\n2026,1,1,50000,一等奖\n2026,2,3,20000,\n", "utf-8")
    with transaction(stored) as session:
        assert service.import_reward_bands(session, path, local("2026-12-31 09:00"), LEADER) == {"2026": 2}
    units = by_key(assessed(stored, "2026")["units"], "unit_code")
    # the year: U-HW (dispatched 30 Sep too) and U-ZF both have due ≥ 5
    assert {c: (u["rank"], u["reward"]) for c, u in units.items() if u["rank"] is not None} == {
        "U-ZF": (1, 50000.0), "U-HW": (2, 20000.0)}
    path.write_text("period,rank_from,rank_to,amount\n2026,1,3,1\n2026,3,4,1\n2026,x,4,1\n", "utf-8")
    with transaction(stored) as session, pytest.raises(BatchInvalid) as err:
        service.import_reward_bands(session, path, local("2026-12-31 09:00"), LEADER)
    assert len(err.value.problems) == 1 and "第 4 行" in err.value.problems[0]


def test_the_period_queries_use_the_indexes(sqlite_engine: Engine) -> None:
    period = Period.parse("2026-10")
    with sqlite_engine.connect() as conn:
        def plan(query: Any) -> str:
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            return " | ".join(r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        events = plan(events_in(ASSESSED_ACTIONS, period.start, period.end))
        touched = plan(touched_cases(ASSESSED_ACTIONS, period.start, period.end))
    assert "ix_case_events_action_at" in events and "SCAN case_events" not in events
    assert "ix_assignments_ended_at" in touched
    assert "SCAN assignments" not in touched and "SCAN case_events" not in touched


# --- the command line ---------------------------------------------------------------------------

@pytest.fixture
def cli_db(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    store_history(sqlite_engine, build_history())
    yield from cli_database(sqlite_engine, tmp_path / "data", monkeypatch)


def test_the_cli_writes_the_json(cli_db: Engine, tmp_path: Path) -> None:
    result = xiuhua("assess", "--period", "2026-10", "--format", "json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert by_key(figures["units"], "unit_code")["U-HW"]["overdue_unhandled"] == 1
    out = tmp_path / "oct.json"
    assert xiuhua("assess", "--period", "2026-10", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text("utf-8"))["period"] == "2026-10"
    bad = xiuhua("assess", "--period", "2026-13")
    assert bad.exit_code == 1 and "考核周期“2026-13”无效" in bad.output


def test_the_cli_enters_points_and_publishes(cli_db: Engine, tmp_path: Path) -> None:
    deducted = xiuhua("assess", "deduct", "--unit", "U-HW", "--date", "2026-10-20", "--item", "垃圾未清运",
                      "--points", "2.5")
    assert deducted.exit_code == 0, deducted.output
    assert "环卫中心扣分 2.5 分" in deducted.output and "计入 2026-10" in deducted.output
    assert xiuhua("assess", "bonus", "--unit", "U-ZF", "--date", "2026-10-21", "--item", "主动发现",
                  "--points", "1").exit_code == 0
    published = xiuhua("assess", "publish", "--period", "2026-10")
    assert published.exit_code == 0, published.output
    assert "2026-10 已发布" in published.output and "第 1 名" in published.output
    units = by_key(assessed(cli_db, "2026-10")["units"], "unit_code")
    assert (units["U-HW"]["deductions"], units["U-ZF"]["bonus"]) == (2.5, 1.0)
    late = xiuhua("assess", "deduct", "--unit", "U-HW", "--date", "2026-10-22", "--item", "复查", "--points", "1")
    assert late.exit_code == 0 and "作为调整计入" in late.output
    again = xiuhua("assess", "publish", "--period", "2026-10")
    assert again.exit_code == 1 and "already_published" in again.output
    unknown = xiuhua("assess", "deduct", "--unit", "U-XX", "--date", "2026-10-20", "--item", "x", "--points", "1")
    assert unknown.exit_code == 1 and "单位“U-XX”不存在" in unknown.output
    bands = tmp_path / "bands.csv"
    bands.write_text("period,rank_from,rank_to,amount\n2026,1,2,30000\n", "utf-8")
    loaded = xiuhua("assess", "reward-bands", str(bands))
    assert loaded.exit_code == 0 and "2026：已导入 1 档" in loaded.output


def test_inspector_actor_for_public_reports_is_not_an_inspector_report() -> None:
    """A public report's reporter is nobody's account: it counts for no inspector."""
    h = History()
    h.report("P1", "2026-10-15 10:00", Actor(None, Role.PUBLIC), category="06036", source=Source.PUBLIC)
    h.act("P1", Action.VERIFY, "2026-10-15 10:30", Actor("inspector01", Role.INSPECTOR))
    rows = by_key(assess(period_data(h, "2026-10"), CONFIG).figures()["inspectors"], "login")
    assert (rows["inspector01"]["reports"], rows["inspector01"]["verifications"]) == (0, 1)


def test_the_closing_unit_is_on_time_though_another_unit_was_late_on_the_case(engine: Engine) -> None:
    """U-ZF handled late, the check failed, U-ZF returned the rework and U-HW handled it in
    time: U-HW closed on time, the grid did not (one of the case's units was late)."""
    h = History()
    h.report("X", "2026-10-12 09:00")
    h.act("X", Action.FILE, "2026-10-12 09:05", SHIFT)
    h.act("X", Action.DISPATCH, "2026-10-12 09:10", DISPATCHER, unit="U-ZF", limit="4wh")  # due 14:40
    h.act("X", Action.FEEDBACK, "2026-10-13 10:00", ZF)  # late
    h.act("X", Action.CHECK_FAIL, "2026-10-13 11:00", INSPECTOR01)  # rework for U-ZF
    h.act("X", Action.RETURN, "2026-10-13 11:30", ZF, reason="不属于本单位职责")
    h.act("X", Action.DISPATCH, "2026-10-13 11:40", DISPATCHER, unit="U-HW", limit="4wh")
    h.act("X", Action.FEEDBACK, "2026-10-13 14:00", HW)
    h.act("X", Action.CHECK_PASS, "2026-10-13 14:30", INSPECTOR01)
    h.act("X", Action.CLOSE, "2026-10-13 15:00", SHIFT)
    store_history(engine, h)
    october = assessed(engine, "2026-10")
    units = by_key(october["units"], "unit_code")
    assert (units["U-HW"]["closed"], units["U-HW"]["closed_on_time"]) == (1, 1)
    assert (units["U-ZF"]["closed"], units["U-ZF"]["handled"], units["U-ZF"]["handled_on_time"]) == (0, 1, 0)
    grid = by_key(october["regions"], "region_code")[G11]
    assert (grid["closed"], grid["closed_on_time"]) == (1, 0)
    assert without_manual(october) == json.loads(json.dumps(assess(period_data(h, "2026-10"), CONFIG).figures()))
