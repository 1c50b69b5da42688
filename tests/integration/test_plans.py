"""The work programme on both databases: importing a real-shaped plan workbook (and refusing bad
ones, naming row and column, storing nothing), the progress workbook, progress reports and their
review, pauses, supervision orders, and the ``tasks`` source's monthly figures."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, func, select

from tests.factories import build_tiny_city, cli_database, dispatched_case, local, xiuhua
from xiuhua.domain.access import Principal
from xiuhua.domain.assessment import Period, parse_config
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import ActionRefused, BatchInvalid, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.plans import TaskStatus
from xiuhua.domain.supervision import OrderLevel, OrderState
from xiuhua.reports.circular import circular
from xiuhua.reports.plans import plan_workbook
from xiuhua.reports.supervision import order_notice
from xiuhua.services import assessment, plans, supervision
from xiuhua.services.city import load_city
from xiuhua.services.notifications import list_notices
from xiuhua.services.sweeper import sweep
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import plan_tasks

OFFICE = Principal("office01", Role.OFFICE)
HW = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
ZF = Principal("handler_zf", Role.HANDLER, unit_code="U-ZF")
JD = Principal("handler_jd", Role.HANDLER, unit_code="U-JD1")

HEADER = ["序号", "任务", "工作内容", "牵头单位", "配合单位", "责任人", "完成时限", "开始时间"]


def workbook(rows: list[list[object]], title: bool = True) -> bytes:
    """A plan table as offices write it: a title row, the header, sections and tasks."""
    book = Workbook()
    ws = book.active
    assert ws is not None
    if title:
        ws.append(["2026年城市建设管理“双十”专项行动任务分解表"])
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


REAL_ROWS: list[list[object]] = [
    ["1", "十大管理行动", None, None, None, None, None, None],
    ["1.1", "背街小巷环境整治", "整治背街小巷 30 条", "环卫中心", "执法局、测试街道办事处",
     "王五（科长）", datetime(2026, 6, 30), datetime(2026, 3, 1)],
    ["1.1.1", "第一批 10 条", "完成第一批整治", "环卫中心", None, "赵六", "2026年4月30日", "2026-03-01"],
    ["1.2", "违法建设治理", "拆除存量违建", "城市管理综合执法局", "环卫中心", "钱七（副局长）", "60wd", None],
    ["2", "十大建设项目", None, None, None, None, None, None],
    ["2.1", "老旧小区改造", "改造老旧小区 12 个", "测试街道办事处", None, "孙八", "2026-10-31", None],
]


def _import(engine: Engine, data: bytes, name: str | None = None) -> int:
    with transaction(engine) as session:
        plans.set_alias(session, OFFICE, load_city(session), "执法局", "U-ZF")
    with transaction(engine) as session:
        return plans.import_plan(session, OFFICE, load_city(session), data, local("2026-03-01 09:00"), name=name)


def _task_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.execute(select(func.count()).select_from(plan_tasks)).scalar_one())


def test_a_real_shaped_plan_imports_and_exports(engine: Engine) -> None:
    build_tiny_city(engine)
    plan_id = _import(engine, workbook(REAL_ROWS))
    with transaction(engine) as session:
        view = plans.plan_view(session, OFFICE, plan_id, local("2026-05-01 00:00"))
        assert view.name == "2026年城市建设管理“双十”专项行动任务分解表"
        by_code = {t.code: t for t in view.tasks}
        assert list(by_code) == ["1", "1.1", "1.1.1", "1.2", "2", "2.1"]
        lane = by_code["1.1"]
        assert (lane.lead_unit, lane.cooperating) == ("U-HW", frozenset({"U-ZF", "U-JD1"}))
        assert (lane.responsible, lane.responsible_post, lane.deadline) == ("王五", "科长", "2026-06-30")
        assert lane.status is TaskStatus.SERIOUSLY_LAGGING  # nothing accepted at half time
        assert by_code["1.2"].deadline == "60wd" and by_code["1.2"].start is not None
        assert by_code["1"].is_group and by_code["1"].status is None
        # a unit sees the tasks it leads or cooperates on, with the sections above them
        street = plans.plan_view(session, JD, plan_id, local("2026-05-01 00:00"))
        assert [t.code for t in street.tasks] == ["1", "1.1", "2", "2.1"]
        data = plan_workbook(plans.workbook_input(session, OFFICE, plan_id, local("2026-05-01 00:00"),
                                                  {u.code: u.name for u in load_city(session).units.values()}))
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["汇总", "1 十大管理行动", "2 十大建设项目"]
    sheet = book["1 十大管理行动"]
    assert [c.value for c in sheet[3]][:4] == ["1.1", "背街小巷环境整治", "整治背街小巷 30 条", "环卫中心"]
    assert sheet["I3"].value == "严重滞后" and sheet["A3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert book["汇总"]["B5"].value == 3  # three tasks in the first section


@pytest.mark.parametrize(("rows", "expected"), [
    ([["1", "任务", "", "住建局", None, None, "2026-06-30", None]], "第 3 行 D 列（牵头单位）：未知单位“住建局”"),
    ([["1", "任务", "", "环卫中心", None, None, "2026-06-30", None],
      ["1.2", "任务", "", "环卫中心", None, None, "2026-06-30", None]], "第 4 行 A 列（序号）"),
    ([["1", "任务", "", "环卫中心", None, None, "6月底", None]], "第 3 行 G 列（完成时限）"),
    ([["1", "任务", "", "环卫中心", None, None, "2026-06-30", None],
      ["1.1.1.1.1", "任务", "", "环卫中心", None, None, "2026-06-30", None]], "第 4 行 A 列（序号）"),
])
def test_bad_workbooks_are_refused_naming_row_and_column(engine: Engine, rows: list[list[object]],
                                                         expected: str) -> None:
    build_tiny_city(engine)
    with pytest.raises(BatchInvalid) as refused:
        _import(engine, workbook(rows))
    assert any(p.startswith(expected) for p in refused.value.problems), refused.value.problems
    assert _task_count(engine) == 0


def test_a_formula_cell_is_refused_naming_row_and_column(engine: Engine) -> None:
    build_tiny_city(engine)
    rows = [["1", "任务", "", "环卫中心", None, None, "=DATE(2026,6,30)", None]]
    with pytest.raises(InvalidInput, match="第 3 行 G 列是公式"):
        _import(engine, workbook(rows))
    assert _task_count(engine) == 0


def _plan(engine: Engine) -> int:
    build_tiny_city(engine)
    return _import(engine, workbook(REAL_ROWS))


def test_only_accepted_progress_counts_and_returns_need_a_reason(engine: Engine) -> None:
    plan_id = _plan(engine)
    at = local("2026-04-01 10:00")
    with transaction(engine) as session:
        first = plans.report_progress(session, HW, plan_id, "1.1", at, text="已整治 12 条", percent="40")
        plans.report_progress(session, ZF, plan_id, "1.1", at, text="配合拆除占道")  # a note
        with pytest.raises(PermissionDenied):
            plans.report_progress(session, ZF, plan_id, "1.1", at, text="x", percent="90")
        with pytest.raises(NotFound):  # a unit with nothing to do with the task
            plans.report_progress(session, JD, plan_id, "1.2", at, text="x", percent="90")
        assert plans.task_view(session, OFFICE, plan_id, "1.1", at).progress == 0
    with transaction(engine) as session:
        with pytest.raises(InvalidInput):
            plans.review_report(session, OFFICE, plan_id, first, False, at)
        with pytest.raises(PermissionDenied):
            plans.review_report(session, HW, plan_id, first, True, at)
        plans.review_report(session, OFFICE, plan_id, first, True, local("2026-04-01 11:00"))
    with transaction(engine) as session:
        view = plans.task_view(session, OFFICE, plan_id, "1.1", local("2026-04-02 00:00"))
        assert view.progress == 40 and view.status is TaskStatus.ON_TRACK
        with pytest.raises(ActionRefused):
            plans.review_report(session, OFFICE, plan_id, first, True, at)
        assert [r.kind for r in plans.task_reports(session, view)] == ["note", "report"]


def test_a_paused_task_is_paused_until_resumed_by_the_office(engine: Engine) -> None:
    plan_id = _plan(engine)
    with transaction(engine) as session:
        with pytest.raises(PermissionDenied):
            plans.pause_task(session, HW, plan_id, "1.1", "雨季", local("2026-04-01 10:00"))
        plans.pause_task(session, OFFICE, plan_id, "1.1", "雨季停工", local("2026-04-01 10:00"))
        assert plans.task_view(session, OFFICE, plan_id, "1.1", local("2026-04-02 00:00")).status \
            is TaskStatus.PAUSED
        with pytest.raises(ActionRefused):
            plans.report_progress(session, HW, plan_id, "1.1", local("2026-04-02 00:00"), text="x", percent="5")
        plans.resume_task(session, OFFICE, plan_id, "1.1", local("2026-04-03 10:00"))
        assert plans.task_view(session, OFFICE, plan_id, "1.1", local("2026-04-04 00:00")).status \
            is not TaskStatus.PAUSED


def test_an_order_from_a_task_is_replied_accepted_and_signed_off(engine: Engine) -> None:
    plan_id = _plan(engine)
    issued = local("2026-03-02 09:00")
    with transaction(engine) as session:
        city = load_city(session)
        order_id = supervision.issue_order(session, OFFICE, city, supervision.OrderInput(
            "背街小巷整治滞后", "请加快推进", plan_id=plan_id, task_code="1.1"), issued)
        second = supervision.issue_order(session, OFFICE, city, supervision.OrderInput(
            "占道经营反弹", "请整改", unit_code="U-ZF"), issued)
        view = supervision.order_view(session, OFFICE, city, order_id, issued)
        assert (view.number, view.unit_code, view.level) == ("督办〔2026〕1号", "U-HW", OrderLevel.BLUE)
        assert supervision.order_view(session, OFFICE, city, second, issued).number == "督办〔2026〕2号"
        assert [o.id for o in supervision.list_orders(session, HW, city, issued)] == [order_id]
        with pytest.raises(NotFound):
            supervision.order_view(session, HW, city, second, issued)
        assert supervision.order_view(session, OFFICE, city, order_id, local("2026-03-09 09:00")).level \
            is OrderLevel.YELLOW
        with pytest.raises(NotFound):  # not addressed to it: no such order for that unit
            supervision.reply(session, ZF, city, order_id, "x", issued)
        with pytest.raises(PermissionDenied):  # the office issues, the unit replies
            supervision.reply(session, OFFICE, city, order_id, "x", issued)
        supervision.reply(session, HW, city, order_id, "已增派人员", local("2026-03-03 09:00"))
        supervision.review(session, OFFICE, city, order_id, False, local("2026-03-03 10:00"), "请附照片")
        supervision.reply(session, HW, city, order_id, "已增派人员，附照片", local("2026-03-04 09:00"))
        supervision.review(session, OFFICE, city, order_id, True, local("2026-03-04 10:00"))
        supervision.sign_off(session, OFFICE, city, order_id, local("2026-03-05 10:00"))
        done = supervision.order_view(session, OFFICE, city, order_id, local("2026-03-20 10:00"))
        assert done.state is OrderState.SIGNED_OFF and done.on_time and done.level is OrderLevel.BLUE
        with pytest.raises(ActionRefused):
            supervision.reply(session, HW, city, order_id, "again", local("2026-03-20 10:00"))


def test_an_order_from_a_case_records_the_case_supervise_action(engine: Engine) -> None:
    build_tiny_city(engine)
    case_no = dispatched_case(engine, "2026-03-02 09:00")
    with transaction(engine) as session:
        city = load_city(session)
        order_id = supervision.issue_order(session, OFFICE, city, supervision.OrderInput(
            "暴露垃圾反复出现", "请彻底清理", case_no=case_no), local("2026-03-02 10:00"))
        view = supervision.order_view(session, OFFICE, city, order_id, local("2026-03-02 10:00"))
        assert view.unit_code == "U-HW" and view.case_no == case_no
        assert [e.action.value for e in load_case(session, case_no).events][-1] == "supervise"


def test_the_tasks_source_figures_of_a_month(engine: Engine) -> None:
    plan_id = _plan(engine)
    with transaction(engine) as session:
        report = plans.report_progress(session, HW, plan_id, "1.1.1", local("2026-04-29 10:00"),
                                       text="第一批完成", percent="100")
        plans.review_report(session, OFFICE, plan_id, report, True, local("2026-04-30 10:00"))
        city = load_city(session)
        order_id = supervision.issue_order(session, OFFICE, city, supervision.OrderInput(
            "加快进度", "请加快", unit_code="U-HW", time_limit="5wd"), local("2026-04-20 09:00"))
        supervision.reply(session, HW, city, order_id, "已加快", local("2026-04-21 09:00"))
        supervision.review(session, OFFICE, city, order_id, True, local("2026-04-21 10:00"))
    with transaction(engine) as session:
        period = Period.parse("2026-04")
        found = plans.programme_by_unit(session, load_city(session).calendar(), period.start, period.end,
                                        period.end)
    hw = found["U-HW"]
    assert [(t.code, t.due_in_period, t.on_time) for t in hw.tasks if t.due_in_period] == [("1.1.1", True, True)]
    assert [o.on_time for o in hw.orders] == [True]
    assert [t.code for t in found["U-ZF"].cooperating] == ["1.1"]


def test_the_command_line_imports_and_exports_a_plan(engine: Engine, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    build_tiny_city(engine)
    for _ in cli_database(engine, tmp_path / "data", monkeypatch):
        assert xiuhua("plan", "alias", "执法局", "U-ZF").exit_code == 0
        source = tmp_path / "plan.xlsx"
        source.write_bytes(workbook(REAL_ROWS))
        done = xiuhua("plan", "import", str(source), "--name", "双十专项行动")
        assert done.exit_code == 0, done.output
        plan_id = done.output.strip().splitlines()[-1]
        out = tmp_path / "progress.xlsx"
        exported = xiuhua("plan", "export", plan_id, "--out", str(out))
        assert exported.exit_code == 0, exported.output
        assert load_workbook(out).sheetnames == ["汇总", "1 十大管理行动", "2 十大建设项目"]
        bad = tmp_path / "bad.xlsx"
        bad.write_bytes(workbook([["1", "任务", "", "住建局", None, None, "2026-06-30", None]]))
        refused = xiuhua("plan", "import", str(bad))
        assert refused.exit_code == 1 and "第 3 行 D 列（牵头单位）" in refused.output


SOURCES_TOML = """
[[sources]]
name = "cases"
weight = 0.5

[[sources]]
name = "tasks"
weight = 0.5
"""


def test_the_tasks_source_scores_the_lead_unit_in_the_month_figures(engine: Engine) -> None:
    plan_id = _plan(engine)
    with transaction(engine) as session:
        report = plans.report_progress(session, HW, plan_id, "1.1.1", local("2026-04-29 10:00"),
                                       text="第一批完成", percent="100")
        plans.review_report(session, OFFICE, plan_id, report, True, local("2026-04-30 10:00"))
        city = load_city(session)
        figures = assessment.assess_period(session, city, "2026-04", parse_config(SOURCES_TOML),
                                           local("2026-05-01 00:00"))
    hw = next(u for u in figures["units"] if u["unit_code"] == "U-HW")
    tasks = next(s for s in hw["sources"] if s["name"] == "tasks")
    # 1.1.1 due and done on time (1/1); no order; 1.1 seriously lagging at the month's end (0/1)
    assert tasks["figures"]["task_on_time_rate"] == 1.0 and tasks["figures"]["order_on_time_rate"] is None
    assert tasks["figures"]["lag_free_rate"] == 0.0
    assert tasks["score"] == pytest.approx(100 * 0.5 / 0.7)
    assert {t["code"] for t in tasks["figures"]["tasks"]} == {"1.1", "1.1.1"}  # the drill-down
    zf = next(u for u in figures["units"] if u["unit_code"] == "U-ZF")
    zf_tasks = next(s for s in zf["sources"] if s["name"] == "tasks")
    assert [t["code"] for t in zf_tasks["figures"]["cooperating"]] == ["1.1"]  # listed, not scored


def test_the_circular_gains_the_programme_section_and_an_order_its_notice(engine: Engine) -> None:
    plan_id = _plan(engine)
    with transaction(engine) as session:
        city = load_city(session)
        order_id = supervision.issue_order(session, OFFICE, city, supervision.OrderInput(
            "违建治理滞后", "请加快拆除", plan_id=plan_id, task_code="1.2", time_limit="5wd"),
            local("2026-04-01 09:00"))
        at = local("2026-05-01 00:00")
        found = assessment.report_input(session, city, "2026-04", "docx", parse_config(""), at)
        notice = order_notice(supervision.notice_input(session, OFFICE, city, order_id, at))
    text = [p.text for p in Document(io.BytesIO(circular(found))).paragraphs]
    assert "五、重点任务推进情况" in text and "六、工作要求" in text
    section = text[text.index("五、重点任务推进情况"):text.index("六、工作要求")]
    assert "（一）滞后任务" in section and "（二）红色督办事项" in section
    assert any(line.endswith("环卫中心：1.1 背街小巷环境整治（严重滞后，滞后 50.0 个百分点）") for line in section)
    assert any("督办〔2026〕1号 违建治理滞后" in line for line in section)
    notice_text = "\n".join(p.text for p in Document(io.BytesIO(notice)).paragraphs)
    assert "督办〔2026〕1号" in notice_text and "城市管理综合执法局：" in notice_text
    assert "督办通知单" in notice_text and "测试市城市管理委员会办公室" in notice_text


def test_the_sweeper_tells_units_of_deadlines_and_raised_orders(engine: Engine) -> None:
    plan_id = _plan(engine)
    with transaction(engine) as session:
        order_id = supervision.issue_order(session, OFFICE, load_city(session), supervision.OrderInput(
            "加快推进", "请加快", unit_code="U-HW", time_limit="10wd"), local("2026-04-20 09:00"))
    now = local("2026-04-28 09:00")  # 1.1.1 due 04-30 24:00; the order past half its limit
    first = sweep(engine, now)
    assert first.total >= 3 and sweep(engine, now).total == 0  # each once
    with transaction(engine) as session:
        mine = list_notices(session, HW).items
        targets = {(n.target_kind, n.target_id) for n in mine}
        assert ("plan_task", f"{plan_id}:1.1.1") in targets
        assert ("supervision_order", str(order_id)) in targets
        assert list_notices(session, JD).items == []  # not theirs
        office = list_notices(session, Principal("office01", Role.OFFICE)).items
        assert [n.target_id for n in office if n.target_kind == "supervision_order"] == [str(order_id)]
