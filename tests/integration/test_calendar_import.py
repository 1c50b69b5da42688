"""A year's holiday notice imported (all or nothing, exact for its year), the years' status,
and the open deadlines recomputed after it — on SQLite and PostgreSQL, and from the CLI."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from tests.factories import (
    HANDLER,
    build_tiny_city,
    cli_database,
    dispatched_case,
    local,
    xiuhua,
)
from tests.factories import act as act_on
from tests.unit.test_calendar import FICTIONAL_2027, NOTICE_2026, SCHEDULE_2031, _file_rule
from xiuhua.domain.calendar import YearSource
from xiuhua.domain.choices import Action
from xiuhua.domain.errors import InvalidInput
from xiuhua.services.calendars import (
    import_schedule,
    import_schedule_text,
    provisional_next_year,
    recompute_deadlines,
    year_summaries,
)
from xiuhua.services.city import load_city
from xiuhua.store import city as store
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, calendar_years, cases

TODAY = date(2026, 12, 6)


def write(tmp_path: Path, text: str, name: str = "2027.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def default_calendar(engine: Engine):  # type: ignore[no-untyped-def]
    with transaction(engine) as session:
        return store.load_calendars(session)["default"]


def days_of(year: int) -> list[date]:
    return list(_file_rule("", year))


def test_an_imported_year_is_exactly_its_file_on_every_day(engine: Engine, tmp_path: Path) -> None:
    result = import_schedule(engine, write(tmp_path, FICTIONAL_2027), actor="admin01")
    assert (result.year, result.official, result.applied) == (2027, True, True)
    assert result.other_year_days == [date(2026, 12, 27)]
    calendar = default_calendar(engine)
    table = _file_rule(FICTIONAL_2027, 2027)
    assert [d for d in days_of(2027) if calendar.is_workday(d) != table[d]] == []
    assert calendar.is_workday(date(2026, 12, 27))  # a make-up Sunday of the previous year
    summary = {s.year: s for s in year_summaries(calendar, TODAY)}
    assert [*summary] == [2025, 2026, 2027]
    assert summary[2027].official and summary[2027].source is YearSource.IMPORTED
    assert summary[2027].file_name == "2027.csv" and summary[2027].makeup_workdays == 3
    assert summary[2026].source is YearSource.PACKAGE
    with transaction(engine) as session:
        logged = session.execute(select(audit_log).where(audit_log.c.kind == "calendar_import")).one()
    assert (logged.subject, logged.actor, logged.detail["official"]) == ("2027", "admin01", True)


def test_the_changes_against_what_was_in_force_are_listed(engine: Engine, tmp_path: Path) -> None:
    preview = import_schedule(engine, write(tmp_path, FICTIONAL_2027), dry_run=True)
    changed = {c.day: c.workday for c in preview.changes}
    # The package's guesses that the file overrules, and the file's own make-up days.
    assert changed[date(2027, 2, 5)] is True and changed[date(2027, 2, 11)] is False
    assert changed[date(2027, 2, 20)] is True and changed[date(2026, 12, 27)] is True
    assert date(2027, 2, 8) not in changed  # off under both
    assert not preview.applied and not default_calendar(engine).is_official_year(2027)


def test_an_incomplete_file_is_refused_naming_the_missing_holidays(engine: Engine,
                                                                   tmp_path: Path) -> None:
    path = write(tmp_path, SCHEDULE_2031, "2031.csv")
    with pytest.raises(InvalidInput) as caught:
        import_schedule(engine, path)
    assert caught.value.code == "incomplete_schedule" and "国庆节" in caught.value.message
    with transaction(engine) as session:
        assert session.execute(select(calendar_years)).all() == []
    result = import_schedule(engine, path, partial=True)
    assert not result.official
    calendar = default_calendar(engine)
    assert not calendar.is_official_year(2031) and calendar.is_workday(date(2031, 1, 26))
    assert calendar.summary(2031).source is YearSource.PARTIAL


def test_importing_a_year_again_replaces_its_days(engine: Engine, tmp_path: Path) -> None:
    import_schedule(engine, write(tmp_path, FICTIONAL_2027))
    second = FICTIONAL_2027.replace("2027-02-20,班,春节调休\n", "").replace(
        "2026-12-27,班,元旦调休（跨年）\n", "")
    result = import_schedule(engine, write(tmp_path, second, "2027-v2.csv"))
    assert {c.day for c in result.changes} == {date(2027, 2, 20), date(2026, 12, 27)}
    calendar = default_calendar(engine)
    assert not calendar.is_workday(date(2027, 2, 20)) and not calendar.is_workday(date(2026, 12, 27))
    assert calendar.summary(2027).file_name == "2027-v2.csv"


def test_city_overrides_stay_on_top_of_an_imported_year(engine: Engine, tmp_path: Path) -> None:
    from xiuhua.services.calendars import set_day

    set_day(engine, date(2027, 2, 12), True)
    import_schedule(engine, write(tmp_path, FICTIONAL_2027))
    assert default_calendar(engine).is_workday(date(2027, 2, 12))


def test_the_banner_year_is_next_year_from_november_while_provisional(engine: Engine,
                                                                      tmp_path: Path) -> None:
    calendar = default_calendar(engine)
    assert provisional_next_year(calendar, local("2026-10-31 23:00")) is None
    assert provisional_next_year(calendar, local("2026-11-01 00:00")) == 2027
    assert provisional_next_year(calendar, local("2025-12-20 09:00")) is None  # 2026 is official
    import_schedule(engine, write(tmp_path, FICTIONAL_2027))
    assert provisional_next_year(default_calendar(engine), local("2026-11-01 00:00")) is None


# --- recomputing open deadlines -------------------------------------------------------------


def due(engine: Engine, case_no: str) -> datetime:
    with transaction(engine) as session:
        assignment = load_case(session, case_no).assignments[-1]
    return assignment.deadline


def recompute(engine: Engine, apply: bool, now: str = "2027-02-04 17:00") -> list[str]:
    with transaction(engine) as session:
        moves = recompute_deadlines(session, load_city(session), apply_moves=apply,
                                    now=local(now), actor="admin01")
    return [m.case_no for m in moves]


@pytest.fixture
def city(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def test_recompute_moves_exactly_the_deadlines_that_cross_a_changed_day(
        city: Engine, tmp_path: Path) -> None:
    # Thursday 2027-02-04 16:00 + 4wh: the package guesses Fri 02-05 and Mon–Wed 02-08..10 off,
    # so it is due Thu 02-11 11:00; the notice makes Fri 02-05 a working day (due 02-05 11:00).
    crossing = dispatched_case(city, "2027-02-04 16:00")
    same_day = dispatched_case(city, "2027-02-04 09:00")  # due 14:30 that day: no changed day
    handled = dispatched_case(city, "2027-02-04 15:00")
    act_on(city, handled, Action.FEEDBACK, "2027-02-04 15:30", HANDLER, note="已清运")
    assert due(city, crossing) == local("2027-02-11 11:00")
    with transaction(city) as session:
        preview = import_schedule_text(session, FICTIONAL_2027, file_name="2027.csv",
                                       apply_import=False)
    assert [m.case_no for m in preview.moves] == [crossing]
    assert preview.moves[0].new == local("2027-02-05 11:00")
    assert recompute(city, apply=True) == []  # nothing imported yet: nothing moves
    with transaction(city) as session:
        result = import_schedule_text(session, FICTIONAL_2027, file_name="2027.csv")
    assert [m.case_no for m in result.moves] == [crossing]
    assert due(city, crossing) == local("2027-02-11 11:00")  # not silently: only recompute moves

    assert recompute(city, apply=False) == [crossing]
    assert due(city, crossing) == local("2027-02-11 11:00")
    assert recompute(city, apply=True) == [crossing]
    assert due(city, crossing) == local("2027-02-05 11:00")
    assert due(city, same_day) == local("2027-02-04 14:30")
    with transaction(city) as session:
        case = load_case(session, crossing)
        due_at = session.execute(select(cases.c.due_at).where(cases.c.case_no == crossing)).scalar()
        logged = session.execute(select(audit_log).where(
            audit_log.c.kind == "deadline_recompute")).all()
    event = case.events[-1]
    assert (event.action, event.at, event.actor) == (
        Action.RECOMPUTE_DEADLINE, local("2027-02-04 17:00"), "admin01")
    assert datetime.fromisoformat(event.data["to"]) == local("2027-02-05 11:00")
    # The deadline as it stood before the move is kept for assessment.
    assert case.assignments[-1].deadline_at(local("2027-02-04 16:30")) == local("2027-02-11 11:00")
    assert due_at == local("2027-02-05 11:00")
    assert [r.subject for r in logged] == [crossing]
    assert recompute(city, apply=True, now="2027-02-04 17:30") == []


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def db(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    build_tiny_city(sqlite_engine)
    yield from cli_database(sqlite_engine, tmp_path / "data", monkeypatch)


def test_cli_status_import_and_refusal(db: Engine, tmp_path: Path) -> None:
    status = xiuhua("calendar", "status")
    assert status.exit_code == 0, status.output
    this = datetime.now().year
    assert f"{this - 1} 年：" in status.output and f"{this + 1} 年：" in status.output
    refused = xiuhua("calendar", "import", str(write(tmp_path, SCHEDULE_2031, "2031.csv")))
    assert refused.exit_code == 1
    assert "incomplete_schedule" in refused.output and "劳动节、端午节、中秋节、国庆节" in refused.output
    partial = xiuhua("calendar", "import", "--partial", str(tmp_path / "2031.csv"))
    assert partial.exit_code == 0 and "暂定" in partial.output
    done = xiuhua("calendar", "import", str(write(tmp_path, FICTIONAL_2027)))
    assert done.exit_code == 0, done.output
    assert "已导入 2027 年放假安排" in done.output and "2027-02-05 星期五 → 上班" in done.output
    status = xiuhua("calendar", "status")
    assert "2027 年：正式；来源：本市导入的放假安排（2027.csv" in status.output
    assert "2031 年：暂定；来源：部分导入" in status.output


def test_cli_prints_one_line_for_a_deadline_in_a_provisional_year(db: Engine) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a product message, never a Python warning
        shown = xiuhua("calendar", "show", "2026-12-31T16:00", "3wd")
    assert shown.exit_code == 0, shown.output
    hints = [line for line in shown.output.splitlines() if "尚未导入" in line]
    assert hints == ["提示：2027 年放假安排尚未导入，时限暂按推定的节假日计算；公布后请用 xiuhua calendar import 导入"]
    assert "Warning" not in shown.output
    official = xiuhua("calendar", "show", "2026-10-16T17:00", "4wh")
    assert official.output.strip() == "2026-10-19T12:00:00+08:00"
    odd = xiuhua("calendar", "show", "0827-01-01T09:00", "4wh")
    assert odd.exit_code == 1 and "date_out_of_range" in odd.output


def test_cli_recompute_lists_then_applies(db: Engine, tmp_path: Path) -> None:
    # A case dispatched on Thursday 2026-10-15 16:00 (4wh: due Fri 10-16 11:00); the city then
    # learns that Friday is a day off (a partial file of one day): it is due Monday instead.
    case_no = dispatched_case(db, "2026-10-15 16:00")
    partial = write(tmp_path, "2026-10-16,休,本市调休\n", "extra.csv")
    imported = xiuhua("calendar", "import", "--partial", str(partial))
    assert imported.exit_code == 0 and case_no in imported.output
    assert "xiuhua calendar recompute --apply" in imported.output
    listed = xiuhua("calendar", "recompute")
    assert listed.exit_code == 0 and case_no in listed.output and "--apply" in listed.output
    assert due(db, case_no) == local("2026-10-16 11:00")
    applied = xiuhua("calendar", "recompute", "--apply")
    assert applied.exit_code == 0 and "2026-10-16 11:00 → 2026-10-19 11:00" in applied.output
    assert due(db, case_no) == local("2026-10-19 11:00")
    assert "尚未导入" not in applied.output  # 2026 is official: no hint
    assert "没有需要调整" in xiuhua("calendar", "recompute").output


def test_2026_imported_from_the_notice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    result = import_schedule(engine, write(tmp_path, NOTICE_2026, "2026.csv"))
    assert result.official and result.changes == [] and result.moves == []



def test_the_docs_ship_the_template_the_page_offers() -> None:
    from xiuhua.services.calendars import schedule_template

    docs = (Path(__file__).parents[2] / "docs" / "calendar.md").read_text(encoding="utf-8")
    assert schedule_template(2027) in docs
    with pytest.raises(InvalidInput, match="没有任何日期"):
        import_schedule_text(None, schedule_template(2027))  # type: ignore[arg-type]


def test_open_deadlines_counting_a_provisional_year_are_found(city: Engine, tmp_path: Path) -> None:
    from xiuhua.services.calendars import provisional_open_deadlines

    assert provisional_open_deadlines(city) == []
    dispatched_case(city, "2026-10-15 16:00")
    assert provisional_open_deadlines(city) == []
    dispatched_case(city, "2026-12-31 16:00")  # 4wh: due in January 2027
    assert provisional_open_deadlines(city) == [2027]
    import_schedule(city, write(tmp_path, FICTIONAL_2027))
    assert provisional_open_deadlines(city) == []
