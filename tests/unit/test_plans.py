"""The work programme's rules: task status and lag, milestones, pauses, numbering, supervision
order levels and replies, the ``tasks`` score source."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest
from docx import Document
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from xiuhua.domain.calendar import TimeLimit, WorkCalendar, local_zone
from xiuhua.domain.errors import ActionRefused, InvalidInput
from xiuhua.domain.plans import (
    AcceptedReport,
    Milestone,
    OrderLine,
    Pause,
    TaskFacts,
    TaskLine,
    TasksSource,
    TaskStatus,
    Thresholds,
    UnitNames,
    UnitProgramme,
    due_instant,
    figure_status,
    numbering_problem,
    on_time,
    parse_tasks_source,
    split_units,
    task_state,
    task_status,
    time_progress,
)
from xiuhua.domain.reports import OrderNoticeInput, PlanSheetRow, PlanWorkbookInput
from xiuhua.domain.sources import UnitFacts, parse_sources
from xiuhua.domain.supervision import (
    OrderAction,
    OrderFacts,
    OrderLevel,
    OrderState,
    check_raise,
    document_number,
    next_state,
    order_due,
    order_level,
    replied_on_time,
)
from xiuhua.reports.plans import plan_workbook
from xiuhua.reports.supervision import order_notice

CAL = WorkCalendar()


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=local_zone())


def accepted(percent: int, sent: datetime, milestones: frozenset[str] = frozenset()) -> AcceptedReport:
    return AcceptedReport(sent, sent + timedelta(hours=1), Fraction(percent), milestones)


def spring_task(**more: object) -> TaskFacts:
    """03-01 to 06-30 (122 days) with an accepted 20 %."""
    defaults: dict[str, object] = {"start": date(2026, 3, 1), "due": due_instant(
        date(2026, 3, 1), date(2026, 6, 30), CAL), "reports": (accepted(20, at(3, 20)),)}
    return TaskFacts(**{**defaults, **more})  # type: ignore[arg-type]


# --- the worked examples ----------------------------------------------------------------------


def test_the_worked_example_lagging_at_midnight() -> None:
    state = task_state(spring_task(), at(5, 1))
    assert state.time_progress == 50
    assert state.lag == 30  # exactly: never 30.000000000000004
    assert state.status is TaskStatus.LAGGING


def test_the_worked_example_seriously_lagging_at_noon() -> None:
    state = task_state(spring_task(), at(5, 1, 12))
    assert state.time_progress == Fraction(615, 1220) * 100
    assert state.lag_decimal is not None and str(state.lag_decimal) == "30.4"
    assert state.status is TaskStatus.SERIOUSLY_LAGGING


def test_a_date_deadline_ends_at_midnight_of_its_day() -> None:
    assert due_instant(date(2026, 3, 1), date(2026, 6, 30), CAL) == at(7, 1)
    assert time_progress(spring_task(), at(7, 1)) == 100


def test_thresholds_are_configurable() -> None:
    relaxed = Thresholds(lagging=Fraction(35), serious=Fraction(50))
    assert task_status(spring_task(), at(5, 1, 12), relaxed) is TaskStatus.ON_TRACK
    with pytest.raises(InvalidInput):
        Thresholds(lagging=Fraction(40), serious=Fraction(30))


def test_before_its_start_a_task_has_not_started() -> None:
    assert task_status(spring_task(reports=()), at(2, 28, 23, 59)) is TaskStatus.NOT_STARTED
    assert task_status(spring_task(reports=()), at(3, 1)) is TaskStatus.ON_TRACK


def test_only_accepted_reports_by_the_instant_count() -> None:
    late_acceptance = AcceptedReport(at(3, 20), at(5, 2), Fraction(60))
    facts = spring_task(reports=(late_acceptance,))
    assert task_state(facts, at(5, 1)).progress == 0
    assert task_state(facts, at(5, 3)).progress == 60


def test_completed_by_an_accepted_full_report_and_on_time() -> None:
    facts = spring_task(reports=(accepted(20, at(3, 20)), accepted(100, at(6, 30, 23))))
    assert task_status(facts, at(7, 10)) is TaskStatus.COMPLETED
    assert on_time(facts)
    late = spring_task(reports=(accepted(100, at(7, 1, 8)),))
    assert task_status(late, at(7, 10)) is TaskStatus.COMPLETED and not on_time(late)


def test_past_the_deadline_and_not_completed_is_seriously_lagging() -> None:
    facts = spring_task(reports=(accepted(95, at(6, 29)),))
    assert task_status(facts, at(6, 30, 23, 59)) is TaskStatus.ON_TRACK
    assert task_status(facts, at(7, 1)) is TaskStatus.SERIOUSLY_LAGGING


def test_a_milestone_past_due_and_not_reached_makes_it_at_least_lagging() -> None:
    milestones = (Milestone("完成设计", date(2026, 3, 31)),)
    facts = spring_task(milestones=milestones, reports=(accepted(30, at(3, 20)),))
    assert task_status(facts, at(3, 31, 23)) is TaskStatus.ON_TRACK
    assert task_state(facts, at(4, 1)).overdue_milestones == ("完成设计",)
    assert task_status(facts, at(4, 1)) is TaskStatus.LAGGING
    reached = spring_task(milestones=milestones,
                          reports=(accepted(30, at(3, 20), frozenset({"完成设计"})),))
    assert task_status(reached, at(4, 1)) is TaskStatus.ON_TRACK


def test_a_paused_task_keeps_its_status_at_the_pause_for_the_figures() -> None:
    facts = spring_task(pauses=(Pause(at(5, 1, 12)),))
    assert task_status(facts, at(6, 1)) is TaskStatus.PAUSED
    assert figure_status(facts, at(6, 1)) is TaskStatus.SERIOUSLY_LAGGING
    resumed = spring_task(pauses=(Pause(at(4, 1), at(4, 10)),))
    assert task_status(resumed, at(4, 5)) is TaskStatus.PAUSED
    assert task_status(resumed, at(4, 10)) is TaskStatus.LAGGING


def test_closed_by_the_office_wins() -> None:
    assert task_status(spring_task(closed_at=at(4, 1)), at(5, 1)) is TaskStatus.CLOSED


def test_a_working_time_deadline_is_counted_by_the_calendar() -> None:
    due = due_instant(date(2026, 3, 2), TimeLimit.parse("5wd"), CAL)  # Mon 03-02 .. Fri 03-06
    assert due.astimezone(local_zone()).date() == date(2026, 3, 6)


@given(st.integers(0, 100), st.integers(0, 200 * 24))
def test_status_is_one_of_the_running_ones_and_lag_is_exact(percent: int, hours: int) -> None:
    facts = spring_task(reports=(accepted(percent, at(3, 1)),) if percent else ())
    moment = at(3, 1, 1) + timedelta(hours=hours)
    state = task_state(facts, moment)
    if percent == 100:
        assert state.status is TaskStatus.COMPLETED
    else:
        assert state.lag == time_progress(facts, moment) - percent
        assert state.status in (TaskStatus.ON_TRACK, TaskStatus.LAGGING, TaskStatus.SERIOUSLY_LAGGING)
        if state.lag is not None and state.lag > 30:
            assert state.status is TaskStatus.SERIOUSLY_LAGGING


@given(st.integers(0, 99), st.integers(1, 100 * 24), st.integers(1, 100 * 24))
def test_without_new_reports_a_task_never_gets_better(percent: int, h1: int, h2: int) -> None:
    facts = spring_task(reports=(accepted(percent, at(3, 1)),))
    order = list(TaskStatus)
    first = task_status(facts, at(3, 1, 2) + timedelta(hours=min(h1, h2)))
    later = task_status(facts, at(3, 1, 2) + timedelta(hours=max(h1, h2)))
    assert order.index(later) >= order.index(first)


# --- numbering and units ----------------------------------------------------------------------


def test_numbering_one_one_point_one_and_so_on() -> None:
    seen: list[str] = []
    for code in ["1", "1.1", "1.1.1", "1.1.1.1", "1.2", "2", "2.1"]:
        assert numbering_problem(code, seen) is None, code
        seen.append(code)
    assert "层级过深" in (numbering_problem("2.1.1.1.1", [*seen, "2.1.1", "2.1.1.1"]) or "")
    assert "不连续" in (numbering_problem("4", seen) or "")
    assert "上级" in (numbering_problem("3.1", seen) or "")
    assert "重复" in (numbering_problem("1.2", seen) or "")
    assert "格式" in (numbering_problem("1.a", seen) or "")


def test_unit_names_and_aliases() -> None:
    names = UnitNames({"城市管理局": "CGJ"}, {"城管局": "CGJ"})
    assert names.code_for("城管局") == "CGJ" and names.code_for(" 城市管理局") == "CGJ"
    assert names.code_for("住建局") is None
    assert split_units("城管局、住建局，交通局 公安局") == ["城管局", "住建局", "交通局", "公安局"]


# --- supervision orders -----------------------------------------------------------------------


def order(issued: datetime, limit: str = "10wd", **more: object) -> OrderFacts:
    lim = TimeLimit.parse(limit)
    return OrderFacts(issued, lim, order_due(issued, lim, CAL), **more)  # type: ignore[arg-type]


def test_order_levels_blue_yellow_red() -> None:
    facts = order(at(3, 2, 9))  # a Monday, ten working days: due 03-16 09:00
    assert facts.due == at(3, 16, 9)
    assert order_level(facts, at(3, 6), CAL) is OrderLevel.BLUE
    assert order_level(facts, at(3, 9, 9), CAL) is OrderLevel.YELLOW  # half: five working days
    assert order_level(facts, at(3, 16, 9), CAL) is OrderLevel.RED


def test_an_accepted_reply_stops_the_escalation_and_only_it_counts() -> None:
    facts = order(at(3, 2, 9), accepted_reply_sent=at(3, 5), accepted_at=at(3, 6))
    assert order_level(facts, at(3, 20), CAL) is OrderLevel.BLUE
    assert replied_on_time(facts)
    late = order(at(3, 2, 9), accepted_reply_sent=at(3, 12), accepted_at=at(3, 13))
    assert order_level(late, at(3, 20), CAL) is OrderLevel.YELLOW
    assert not replied_on_time(order(at(3, 2, 9)))  # a reply not (yet) accepted is no reply


def test_a_reply_sent_after_the_deadline_is_late() -> None:
    facts = order(at(3, 2, 9), accepted_reply_sent=at(3, 16, 10), accepted_at=at(3, 16, 11))
    assert not replied_on_time(facts)


def test_levels_are_raised_by_hand_never_lowered() -> None:
    facts = order(at(3, 2, 9), raised=OrderLevel.RED)
    assert order_level(facts, at(3, 3), CAL) is OrderLevel.RED
    with pytest.raises(ActionRefused):
        check_raise(OrderLevel.YELLOW, OrderLevel.BLUE)


def test_reply_accept_return_signoff() -> None:
    state = next_state(OrderState.ISSUED, OrderAction.REPLY)
    assert state is OrderState.REPLIED
    state = next_state(state, OrderAction.RETURN)
    assert next_state(state, OrderAction.REPLY) is OrderState.REPLIED
    with pytest.raises(ActionRefused):
        next_state(OrderState.ISSUED, OrderAction.SIGNOFF)  # no accepted reply yet
    assert next_state(OrderState.ACCEPTED, OrderAction.SIGNOFF) is OrderState.SIGNED_OFF
    with pytest.raises(ActionRefused):
        next_state(OrderState.SIGNED_OFF, OrderAction.REPLY)


def test_document_number() -> None:
    assert document_number(2026, 17) == "督办〔2026〕17号"


# --- the tasks source -------------------------------------------------------------------------


def _lines(on_time: int, due: int, orders_on_time: int, orders: int, lagging: int, judged: int
           ) -> UnitProgramme:
    tasks = [TaskLine(1, f"1.{i}", "t", True, i < on_time, TaskStatus.COMPLETED) for i in range(due)]
    tasks += [TaskLine(1, f"2.{i}", "t", False, False,
                       TaskStatus.LAGGING if i < lagging else TaskStatus.ON_TRACK) for i in range(judged)]
    return UnitProgramme(tuple(tasks), tuple(OrderLine(i, f"督办〔2026〕{i}号", "o", i < orders_on_time)
                                            for i in range(orders)))


def unit(lines: UnitProgramme) -> UnitFacts:
    return UnitFacts("CGJ", None, {}, {"tasks": lines})


def test_the_worked_example_of_the_source_is_77_5() -> None:
    result = TasksSource().result(unit(_lines(3, 4, 4, 5, 2, 10)))
    assert result.score == Fraction(155, 2)
    figures = result.figures.as_json()
    assert figures["task_on_time_rate"] == 0.75 and figures["lag_free_rate"] == 0.8
    assert len(figures["tasks"]) == 14 and len(figures["orders"]) == 5  # drill-down


def test_null_terms_are_left_out_and_nothing_is_no_data() -> None:
    only_orders = TasksSource().result(unit(_lines(0, 0, 1, 2, 0, 0)))
    assert only_orders.score == 50
    assert TasksSource().result(unit(UnitProgramme())).score is None


def test_the_source_is_configured_in_assessment_toml() -> None:
    sources = parse_sources([{"name": "tasks", "weight": 0.2,
                              "weights": {"task_on_time_rate": 1, "order_on_time_rate": 1}}], {})
    assert sources[0].name == "tasks"
    assert parse_tasks_source({}, {}) == TasksSource()
    with pytest.raises(InvalidInput):
        parse_tasks_source({"weights": {"speed": 1}}, {})


@given(st.integers(0, 30 * 24), st.integers(0, 30 * 24))
def test_without_an_accepted_reply_the_level_never_falls(h1: int, h2: int) -> None:
    facts = order(at(3, 2, 9))
    first = order_level(facts, at(3, 2, 9) + timedelta(hours=min(h1, h2)), CAL)
    later = order_level(facts, at(3, 2, 9) + timedelta(hours=max(h1, h2)), CAL)
    assert later.rank >= first.rank


def test_the_writers_take_typed_input() -> None:
    rows = (PlanSheetRow("1", "十大管理行动", "", "", "", "", "", 50.0, None, None),
            PlanSheetRow("1.1", "=HYPERLINK(\"x\")", "", "环卫中心", "", "", "2026-06-30", 50.0,
                         TaskStatus.LAGGING, 12.5))
    book = load_workbook(io.BytesIO(plan_workbook(PlanWorkbookInput("双十", at(5, 1), rows))))
    sheet = book["1 十大管理行动"]
    assert sheet["B3"].value == "=HYPERLINK(\"x\")" and sheet["B3"].data_type == "s"  # stays text
    assert sheet["I3"].value == "滞后"
    notice = order_notice(OrderNoticeInput("X市城市管理委员会办公室", "督办〔2026〕17号", "环卫中心", "保洁不到位",
                                           "请整改", "专项督办", at(3, 2, 9), at(3, 16, 9), "10 个工作日", "蓝色"))
    text = [p.text for p in Document(io.BytesIO(notice)).paragraphs]
    assert "督办〔2026〕17号" in text and "环卫中心：" in text and "督办通知单" in text
