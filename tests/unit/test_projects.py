"""Key projects: the colour (late start, lag, past the finish), the exact schedule lag, the
projects due this year, accepting progress; legacy issues: status moves, overdue, sign-off
and masked parties."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from tests.factories import local
from xiuhua.domain.access import Principal, can_see_legacy_issue, can_see_project
from xiuhua.domain.choices import (
    LegacyStatus,
    LegacyTarget,
    ProjectColour,
    ProjectKind,
    ProjectPhase,
    Role,
)
from xiuhua.domain.errors import ActionRefused, InvalidInput
from xiuhua.domain.legacy import (
    LegacyIssue,
    Party,
    ProgressEntry,
    Step,
    default_target_date,
    masked_parties,
    overdue,
    record,
    sign_off,
)
from xiuhua.domain.projects import (
    ProgressReport,
    Project,
    accept,
    add_months,
    due_in_year,
    schedule,
    time_progress,
)

ROAD = Project(1, "北环路改造", ProjectKind.ROAD, "U-SZ", date(2026, 3, 1), date(2026, 6, 30))


def started(progress: int, **changes: object) -> Project:
    values: dict[str, object] = {"phase": ProjectPhase.CONSTRUCTION,
                                 "actual_start": date(2026, 3, 1), **changes}
    return replace(ROAD, progress=progress, **values)  # type: ignore[arg-type]


# --- schedule lag ---------------------------------------------------------------------------


def test_time_progress_is_exact_from_midnight_of_start_to_the_end_of_the_finish_day() -> None:
    # 03-01 to 06-30 is 122 days; 05-01 00:00 is 61 days in: exactly 50 %
    assert time_progress(ROAD, local("2026-05-01 00:00")) == Decimal(50)
    assert time_progress(ROAD, local("2026-02-01 00:00")) == 0
    assert time_progress(ROAD, local("2026-07-01 00:00")) == 100
    assert time_progress(ROAD, local("2026-06-30 23:00")) < 100


def test_a_project_at_20_percent_lags_30_points_at_midnight_and_is_yellow() -> None:
    at = schedule(started(20), local("2026-05-01 00:00"))
    assert at.lag == Decimal(30)  # exactly: not 30.000000000000004
    assert at.colour is ProjectColour.YELLOW


def test_half_a_day_later_the_lag_passes_30_points_and_it_turns_red() -> None:
    at = schedule(started(20), local("2026-05-01 12:00"))
    assert at.lag.quantize(Decimal("0.1")) == Decimal("30.4")
    assert at.colour is ProjectColour.RED
    assert "严重滞后" in at.reason


def test_a_project_on_schedule_is_green() -> None:
    assert schedule(started(45), local("2026-05-01 00:00")).colour is ProjectColour.GREEN


def test_past_its_planned_finish_and_unfinished_it_is_red_whatever_its_progress() -> None:
    at = schedule(started(99), local("2026-07-01 00:00"))
    assert at.colour is ProjectColour.RED and "竣工" in at.reason


def test_a_finished_project_is_green() -> None:
    done = started(100, phase=ProjectPhase.COMPLETED)
    assert schedule(done, local("2026-08-01 00:00")).colour is ProjectColour.GREEN


# --- late start ------------------------------------------------------------------------------


def test_not_started_on_its_planned_start_day_it_is_still_green() -> None:
    assert schedule(ROAD, local("2026-03-01 18:00")).colour is ProjectColour.GREEN


def test_not_started_after_its_planned_start_day_it_is_yellow() -> None:
    at = schedule(ROAD, local("2026-03-02 00:00"))
    assert at.colour is ProjectColour.YELLOW and at.started_late
    assert "未开工" in at.reason


def test_three_months_after_its_planned_start_it_is_red() -> None:
    assert schedule(ROAD, local("2026-05-31 23:59")).colour is ProjectColour.YELLOW
    assert schedule(ROAD, local("2026-06-01 00:00")).colour is ProjectColour.RED


def test_three_months_after_a_31st_is_the_last_day_of_that_month() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 31), 3) == date(2027, 3, 31)


def test_a_project_that_started_late_is_marked_so_but_coloured_by_its_lag() -> None:
    late = started(40, actual_start=date(2026, 3, 20))
    at = schedule(late, local("2026-05-01 00:00"))
    assert at.started_late and at.colour is ProjectColour.GREEN


def test_projects_due_this_year_are_listed_by_finish_with_their_colour() -> None:
    later = replace(ROAD, id=2, planned_start=date(2026, 9, 1), planned_finish=date(2026, 12, 31))
    next_year = replace(ROAD, id=3, planned_finish=date(2027, 3, 1))
    found = due_in_year([later, next_year, ROAD], 2026, local("2026-03-05 09:00"))
    assert [(p.id, s.colour) for p, s in found] == [(1, ProjectColour.YELLOW),
                                                     (2, ProjectColour.GREEN)]


# --- progress --------------------------------------------------------------------------------


def test_an_accepted_report_reaching_construction_records_the_actual_start() -> None:
    after = accept(ROAD, ProgressReport(5, ProjectPhase.CONSTRUCTION, 1_000_000), date(2026, 3, 9))
    assert (after.phase, after.progress, after.actual_start) == \
        (ProjectPhase.CONSTRUCTION, 5, date(2026, 3, 9))
    assert after.completed_investment == 1_000_000


def test_a_report_at_100_percent_completes_the_project() -> None:
    after = accept(started(90), ProgressReport(100), date(2026, 6, 20))
    assert after.phase is ProjectPhase.COMPLETED and after.actual_finish == date(2026, 6, 20)


def test_a_report_cannot_take_the_phase_back_nor_exceed_100_percent() -> None:
    with pytest.raises(ActionRefused) as refused:
        accept(started(30), ProgressReport(40, ProjectPhase.TENDERING), date(2026, 4, 1))
    assert refused.value.code == "project_phase_back"
    with pytest.raises(InvalidInput):
        accept(started(30), ProgressReport(101), date(2026, 4, 1))


# --- access ----------------------------------------------------------------------------------

OFFICE = Principal("office01", Role.OFFICE)
LEADER = Principal("leader01", Role.LEADER)
SZ_HANDLER = Principal("handler_sz", Role.HANDLER, unit_code="U-SZ")
HW_HANDLER = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
DISPATCHER = Principal("dispatcher01", Role.DISPATCHER)


def test_a_unit_sees_the_projects_and_issues_it_leads_the_office_and_leaders_all() -> None:
    issue = LegacyIssue(1, "某小区办证", "U-SZ", LegacyStatus.NOT_STARTED, LegacyTarget.RESOLVED,
                        date(2026, 12, 31))
    for rule, thing in ((can_see_project, ROAD), (can_see_legacy_issue, issue)):
        assert rule(OFFICE, thing) and rule(LEADER, thing) and rule(SZ_HANDLER, thing)
        assert not rule(HW_HANDLER, thing) and not rule(DISPATCHER, thing)


# --- legacy issues ---------------------------------------------------------------------------

ISSUE = LegacyIssue(7, "幸福里小区办证", "U-SZ", LegacyStatus.NOT_STARTED, LegacyTarget.RESOLVED,
                    date(2026, 12, 31),
                    steps=(Step(1, "梳理欠缴土地出让金", date(2026, 5, 31)),
                           Step(2, "办理不动产首次登记", date(2026, 9, 30))),
                    parties=(Party("王建国", "13812345678", "业主代表"),))


def test_the_target_date_defaults_to_the_end_of_the_local_year() -> None:
    assert default_target_date(local("2026-12-31 23:30")) == date(2026, 12, 31)
    assert default_target_date(local("2027-01-01 00:30")) == date(2027, 12, 31)


def test_the_first_progress_entry_starts_the_issue_and_marks_a_step_done() -> None:
    after = record(ISSUE, ProgressEntry("已召开协调会", step_done=1), date(2026, 4, 2))
    assert after.status is LegacyStatus.IN_PROGRESS
    assert after.steps[0].done_on == date(2026, 4, 2) and after.steps[1].done_on is None


def test_status_moves_forward_only() -> None:
    clear = record(ISSUE, ProgressEntry("完成测绘", LegacyStatus.CLEAR_PROGRESS), date(2026, 6, 1))
    with pytest.raises(ActionRefused) as back:
        record(clear, ProgressEntry("重新梳理", LegacyStatus.IN_PROGRESS), date(2026, 6, 2))
    assert back.value.code == "legacy_status_back"
    with pytest.raises(InvalidInput):
        record(clear, ProgressEntry("销号", LegacyStatus.CLOSED), date(2026, 6, 2))


def test_an_issue_short_of_its_target_after_the_target_date_is_overdue() -> None:
    clear = replace(ISSUE, status=LegacyStatus.CLEAR_PROGRESS)
    assert not overdue(clear, date(2026, 12, 31)) and overdue(clear, date(2027, 1, 1))
    modest = replace(clear, target=LegacyTarget.CLEAR_PROGRESS)
    assert not overdue(modest, date(2027, 1, 1))


def test_sign_off_needs_the_target_reached_and_evidence() -> None:
    with pytest.raises(ActionRefused) as early:
        sign_off(replace(ISSUE, status=LegacyStatus.CLEAR_PROGRESS), "证书已发放", [])
    assert early.value.code == "legacy_target_not_reached"
    resolved = replace(ISSUE, status=LegacyStatus.RESOLVED)
    with pytest.raises(InvalidInput):
        sign_off(resolved, "  ", [])
    assert sign_off(resolved, "不动产权证书已发放 326 本", []).status is LegacyStatus.CLOSED
    with pytest.raises(ActionRefused):
        record(sign_off(resolved, "已发证", []), ProgressEntry("补充"), date(2026, 12, 1))


def test_parties_are_masked_for_a_unit_and_in_full_for_the_office_and_leaders() -> None:
    assert masked_parties(OFFICE, ISSUE.parties)[0].name == "王建国"
    assert masked_parties(LEADER, ISSUE.parties)[0].phone == "13812345678"
    shown = masked_parties(SZ_HANDLER, ISSUE.parties)[0]
    assert (shown.name, shown.phone, shown.note) == ("王**", "138****5678", "业主代表")
