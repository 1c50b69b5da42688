"""Cases travel between systems as JSON Lines: an import replays every history through the
same rules as the live system (all or nothing), an export writes it back with computed fields."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from typer.testing import CliRunner

from tests.factories import (
    ACCEPTOR,
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    LEADER,
    PUBLIC,
    SHIFT,
    act,
    build_tiny_city,
    center,
    cli_database,
    grid_code,
    local,
    report,
)
from xiuhua.cli import app
from xiuhua.domain.calendar import TimeLimit, local_zone
from xiuhua.domain.choices import Action, CancelReason, Rating, Source, TaskKind
from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.domain.geo import CoordSys, wgs84_to_gcj02
from xiuhua.domain.lifecycle import Actor
from xiuhua.services import interchange
from xiuhua.services.cases import locate_input
from xiuhua.services.city import init_database, load_city
from xiuhua.services.components import ComponentRecord, save_components
from xiuhua.services.interchange import export_cases, import_cases_file
from xiuhua.store.cases import load_case
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import cases, photos

PARTS = ("37018101001000001", "37018101001000002")
PHOTO = "a" * 64


def example(case_no: str = "20261008000012", **changes: Any) -> dict[str, Any]:
    """The issue's example case, placed in the tiny city."""
    lon, lat = center(1, 1)
    case = {
        "case_no": case_no, "source": "inspector", "category_code": "06010",
        "lon": lon, "lat": lat, "coord_sys": "wgs84", "address": "经十路 100 号南侧",
        "description": "人行道上有暴露垃圾",
        "events": [
            {"at": "2026-10-08T09:12:00+08:00", "action": "report", "actor": "inspector01"},
            {"at": "2026-10-08T09:20:00+08:00", "action": "file"},
            {"at": "2026-10-08T09:31:00+08:00", "action": "dispatch", "unit": "U-HW", "limit": "4wh"},
            {"at": "2026-10-08T14:02:00+08:00", "action": "feedback", "note": "已清理"},
            {"at": "2026-10-08T15:10:00+08:00", "action": "check_pass"},
            {"at": "2026-10-08T15:15:00+08:00", "action": "close"}],
    }
    return {**case, **changes}


def write_lines(path: Path, records: list[dict[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def export_text(engine: Engine, date_from: date | None = None, date_to: date | None = None) -> str:
    out = io.StringIO()
    export_cases(engine, out, date_from=date_from, date_to=date_to)
    return out.getvalue()


def exported(engine: Engine, **period: date) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export_text(engine, **period).splitlines()]


def case_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.execute(select(func.count()).select_from(cases)).scalar_one())


def add_components(engine: Engine) -> None:
    with transaction(engine) as session:
        save_components(session, load_city(session), [
            ComponentRecord(PARTS[0], *center(0, 0)), ComponentRecord(PARTS[1], *center(0, 1))])


def tiny_city(engine: Engine) -> Engine:
    build_tiny_city(engine)
    add_components(engine)
    return engine


@pytest.fixture
def city(engine: Engine) -> Engine:
    return tiny_city(engine)


@pytest.fixture
def source_city(tmp_path: Path) -> Iterator[Engine]:
    """A second, separate database with the same tiny city (SQLite)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'source.db'}")
    init_database(eng)
    yield tiny_city(eng)
    eng.dispose()


# --- the example --------------------------------------------------------------------------


def test_the_example_imports_and_exports_with_status_areas_and_a_working_time_deadline(
        city: Engine, tmp_path: Path) -> None:
    result = import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [example()]))
    assert result.imported == 1 and str(result) == "已导入 1 个案件"
    [record] = exported(city)
    assert record["status"] == "closed"
    assert (record["grid_code"], record["community_code"], record["street_code"]) == (
        grid_code(1, 1), "370181001001", "370181001")
    assert record["events"] == example()["events"]
    with transaction(city) as session:
        calendar = load_city(session).calendar("default")
    due = calendar.deadline(local("2026-10-08 09:31"), TimeLimit.parse("4wh"))
    # 09:31–12:00 counts 2 h 29 min, the lunch break none, so the 4 working hours end at 15:01.
    assert due == local("2026-10-08 15:01")
    assert record["assignments"] == [{
        "unit": "U-HW", "started_at": "2026-10-08T09:31:00+08:00",
        "deadline": due.astimezone(local_zone()).isoformat(), "handled_at": "2026-10-08T14:02:00+08:00",
        "ended": "handled", "on_time": True}]


def test_a_dispatch_without_a_limit_exports_the_limit_of_the_category(city: Engine, tmp_path: Path) -> None:
    case = example(urgency="urgent")
    del case["events"][2]["limit"]
    import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [case]))
    [record] = exported(city)
    assert record["events"][2] == {"at": "2026-10-08T09:31:00+08:00", "action": "dispatch",
                                   "unit": "U-HW", "limit": "2wh"}
    assert record["assignments"][0]["deadline"] == "2026-10-08T11:31:00+08:00"


def test_an_import_reproduces_open_cases_and_a_late_handling(city: Engine, tmp_path: Path) -> None:
    late, open_case = example("20261008000001"), example("20261008000002")
    late["events"][3]["at"] = "2026-10-08T16:00:00+08:00"
    late["events"][4:] = []
    open_case["events"][3:] = []
    import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [late, open_case]))
    first, second = exported(city)
    assert first["status"] == "handled" and first["assignments"][0]["on_time"] is False
    assert second["status"] == "dispatched"
    assert second["assignments"][0] | {"deadline": None} == {
        "unit": "U-HW", "started_at": "2026-10-08T09:31:00+08:00", "deadline": None,
        "handled_at": None, "ended": "open", "on_time": None}


def planner_rows(engine: Engine) -> int | None:
    """How many rows of ``cases`` the query planner's statistics count (None: no statistics)."""
    with transaction(engine) as session:
        if engine.dialect.name == "postgresql":
            tuples = session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'cases'"))
            count = tuples.scalar_one()
            return None if count < 0 else int(count)
        if not session.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            return None
        stat = session.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases'")).scalar()
        return int(stat.split()[0]) if stat else None


def test_an_import_leaves_the_query_planner_statistics_up_to_date(city: Engine, tmp_path: Path) -> None:
    import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [
        example("20261008000001"), example("20261008000002"), example("20261008000003")]))
    assert planner_rows(city) == 3


def test_a_feedback_may_name_the_inspector_who_checks_it(city: Engine, tmp_path: Path) -> None:
    case = example()
    case["events"][3]["inspector"] = "inspector02"
    case["events"][4:] = []
    import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [case]))
    with transaction(city) as session:
        check = load_case(session, case["case_no"]).tasks[-1]
    assert check.kind is TaskKind.CHECK and check.inspector == "inspector02"
    [record] = exported(city)
    assert record["events"][3] == {"at": "2026-10-08T14:02:00+08:00", "action": "feedback",
                                   "inspector": "inspector02", "note": "已清理"}


def test_a_point_in_gcj02_is_stored_and_exported_in_wgs84(city: Engine, tmp_path: Path) -> None:
    lon, lat = wgs84_to_gcj02(*center(1, 1))
    import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [
        example(lon=lon, lat=lat, coord_sys="gcj02", grid_code=grid_code(1, 1))]))
    [record] = exported(city)
    assert record["coord_sys"] == "wgs84" and record["grid_code"] == grid_code(1, 1)
    assert record["lon"] == pytest.approx(center(1, 1)[0], abs=1e-6)
    assert record["lat"] == pytest.approx(center(1, 1)[1], abs=1e-6)


# --- round trip ---------------------------------------------------------------------------


def _moved(engine: Engine) -> Any:
    lon, lat = wgs84_to_gcj02(*center(0, 1))
    with transaction(engine) as session:
        return locate_input(load_city(session), lon, lat, CoordSys.GCJ02)


def _full_history(engine: Engine) -> str:
    """A public report that goes through every step: amend, verify, return, extensions,
    suspension requests and suspension, supervision, rework, closing and rating."""
    with transaction(engine) as session:  # the citizen's photo, stored before the report names it
        session.execute(insert(photos).values(id=PHOTO, content_type="image/jpeg", size=1024, width=640,
                                              height=480, uploaded_at=local("2026-10-12 08:59"),
                                              public_id="p" * 32))
    no = report(engine, "2026-10-12 09:00", PUBLIC, source=Source.PUBLIC, lon=center(0, 0)[0],
                 lat=center(0, 0)[1], address="解放路 1 号", description="垃圾桶满溢",
                 reporter_name="王先生", reporter_phone="13812345678", photos=(PHOTO,),
                 component_code=PARTS[0], note="市民来电")
    steps: list[tuple[Action, str, Actor, dict[str, Any]]] = [
        (Action.VERIFY, "09:20", INSPECTOR, {"note": "属实", "photos": ("b" * 64,)}),
        (Action.AMEND, "09:40", ACCEPTOR, {"category_code": "06012", "urgency": "urgent",
                                           "location": _moved(engine), "address": "解放路 3 号",
                                           "description": "路面不洁", "component_code": PARTS[1]}),
        (Action.FILE, "10:00", SHIFT, {}),
        (Action.DISPATCH, "10:10", DISPATCHER, {"unit": "U-HW"}),
        (Action.RETURN, "10:30", HANDLER, {"reason": "不属于本单位"}),
        (Action.DISPATCH, "10:40", DISPATCHER, {"unit": "U-HW", "limit": "1wd"}),
        (Action.REQUEST_EXTENSION, "11:00", HANDLER, {"limit": "2wh", "reason": "需要协调"}),
        (Action.REJECT_EXTENSION, "11:10", SHIFT, {"reason": "理由不足"}),
        (Action.REQUEST_EXTENSION, "11:20", HANDLER, {"limit": "4wh", "reason": "材料未到"}),
        (Action.EXTEND, "11:30", SHIFT, {}),
        (Action.REQUEST_SUSPENSION, "11:40", HANDLER, {"reason": "人手不足"}),
        (Action.REJECT_SUSPENSION, "11:50", SHIFT, {"reason": "不属于挂账情形"}),
        (Action.REQUEST_SUSPENSION, "13:35", HANDLER, {"reason": "等待天晴"}),
        (Action.SUSPEND, "13:40", SHIFT, {"reason": "等待天晴"}),
    ]
    steps_next_day: list[tuple[Action, str, Actor, dict[str, Any]]] = [
        (Action.RESUME, "09:00", SHIFT, {}),
        (Action.RECOMPUTE_DEADLINE, "09:10", Actor("admin01"), {}),  # after a calendar change
        (Action.SUPERVISE, "09:30", LEADER, {"note": "请加快"}),
        (Action.FEEDBACK, "10:00", HANDLER, {"note": "已清理", "photos": ("c" * 64,)}),
        (Action.CHECK_FAIL, "10:30", INSPECTOR, {"note": "未清理干净"}),
        (Action.FEEDBACK, "11:00", HANDLER, {}),
        (Action.CHECK_PASS, "11:20", INSPECTOR, {}),
        (Action.CLOSE, "11:30", SHIFT, {}),
        (Action.RATE, "12:00", PUBLIC, {"value": Rating.SATISFIED.value}),
    ]
    for day, todo in (("2026-10-12", steps), ("2026-10-13", steps_next_day)):
        for action, at, actor, fields in todo:
            act(engine, no, action, f"{day} {at}", actor, **fields)
    return no


def _histories(engine: Engine) -> None:
    first = _full_history(engine)
    here = {"lon": center(2, 2)[0], "lat": center(2, 2)[1]}
    twin = report(engine, "2026-10-12 10:00", INSPECTOR, **here)
    act(engine, twin, Action.CANCEL, "2026-10-12 10:05", SHIFT,
         reason=CancelReason.DUPLICATE.value, duplicate_of=first)
    # an earlier case cancelled as a duplicate of a later one (a forward reference in the file)
    early = report(engine, "2026-10-12 11:00", ACCEPTOR, source=Source.HOTLINE, address="无坐标的地址")
    late = report(engine, "2026-10-12 11:30", INSPECTOR, **here)
    with transaction(engine) as session:
        spot = locate_input(load_city(session), *center(1, 2), CoordSys.WGS84)
    act(engine, early, Action.AMEND, "2026-10-12 11:35", ACCEPTOR, location=spot)
    act(engine, early, Action.REQUEST_VERIFY, "2026-10-12 11:36", ACCEPTOR, inspector="inspector01")
    act(engine, early, Action.CANCEL, "2026-10-12 11:40", SHIFT,
         reason=CancelReason.DUPLICATE.value, duplicate_of=late)
    act(engine, late, Action.FILE, "2026-10-12 11:45", SHIFT)
    act(engine, late, Action.DISPATCH, "2026-10-12 11:50", DISPATCHER, unit="U-ZF")
    invalid = report(engine, "2026-10-12 14:00", INSPECTOR, **here)
    act(engine, invalid, Action.CANCEL, "2026-10-12 14:10", SHIFT, reason=CancelReason.INVALID.value)


@pytest.fixture(params=[None, 2], ids=["in-process", "2-workers"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int | None:
    """Replayed in this process (a small file), or by two worker processes, a line at a time."""
    if request.param is not None:
        monkeypatch.setattr(interchange, "BATCH", 1)
    return request.param


def test_an_export_imported_into_an_empty_copy_of_the_city_exports_identically(
        source_city: Engine, city: Engine, tmp_path: Path, workers: int | None) -> None:
    _histories(source_city)
    original = export_text(source_city)
    records = [json.loads(line) for line in original.splitlines()]
    assert {e["action"] for r in records for e in r["events"]} == set(Action.values())
    assert records[0]["reporter"] == {"name": "王先生", "phone": "13812345678"}
    assert records[2]["events"][-1]["duplicate_of"] == records[3]["case_no"]
    assert records[2]["events"][-3]["old"] == {"lon": None, "lat": None, "coord_sys": None}
    assert records[2]["events"][-2] == {"at": "2026-10-12T11:36:00+08:00", "action": "request_verify",
                                        "actor": "acceptor01", "inspector": "inspector01"}
    assert records[0]["events"][2]["old"]["category_code"] == "06010"

    result = import_cases_file(city, write_lines(tmp_path / "export.jsonl", [original.rstrip("\n")]),
                               workers=workers)
    assert result.imported == 5
    assert export_text(city) == original


# --- bad input ----------------------------------------------------------------------------

Change = Callable[[dict[str, Any]], dict[str, Any] | str]


def _events(case: dict[str, Any], *events: dict[str, Any]) -> dict[str, Any]:
    case["events"] = [case["events"][0], *events]
    return case


def _set(path: tuple[Any, ...], value: Any) -> Change:
    def change(case: dict[str, Any]) -> dict[str, Any]:
        target = case
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return case
    return change


def _without(key: str) -> Change:
    def change(case: dict[str, Any]) -> dict[str, Any]:
        del case[key]
        return case
    return change


def _amended(case: dict[str, Any], *amends: dict[str, Any]) -> dict[str, Any]:
    case["events"][1:1] = amends
    return case


def _amend(at: str, new: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    event = {"at": f"2026-10-08T{at}:00+08:00", "action": "amend", **new}
    return event if old is None else {**event, "old": old}


FILED = {"at": "2026-10-08T09:20:00+08:00", "action": "file"}
DISPATCHED = {"at": "2026-10-08T09:31:00+08:00", "action": "dispatch", "unit": "U-HW", "limit": "4wh"}

BAD: list[tuple[str, Change, str]] = [
    ("malformed JSON", lambda case: json.dumps(case)[:40], "不是有效的 JSON"),
    ("not an object", lambda case: "[1, 2]", "应为 JSON 对象"),
    ("missing key", _without("category_code"), "缺少字段“category_code”"),
    ("unknown key", _set(("colour",), "red"), "未知字段：colour"),
    ("unknown event key", _set(("events", 1, "unit"), "U-HW"), "第 2 个事件（file）含未知字段：unit"),
    ("wrong type", _set(("lat",), "36.649"), "字段“lat”应为数值"),
    ("unknown category", _set(("category_code",), "99999"), "未知的事项分类代码“99999”"),
    ("point outside the city", _set(("lon",), 117.02), "不在本市任何单元网格内"),
    ("bad coord_sys", _set(("coord_sys",), "mars"), "不支持的坐标系"),
    ("grid_code disagreeing", _set(("grid_code",), grid_code(2, 2)), "不一致"),
    ("unknown source", _set(("source",), "rumour"), "来源（source）“rumour”未知"),
    ("unknown action", _set(("events", 1, "action"), "approve"), "事件类型（action）“approve”未知"),
    ("first event not a report", lambda case: {**case, "events": case["events"][1:]}, "第一个事件须为 report"),
    ("close before check_pass", lambda case: {**case, "events": case["events"][:4] + case["events"][5:]},
     "第 5 个事件（结案）：案件当前状态为“已反馈待核查”，不能结案"),
    ("event earlier than the previous", _set(("events", 1, "at"), "2026-10-08T09:00:00+08:00"),
     "第 2 个事件（立案）：操作时间早于案件的上一步操作"),
    ("return after its window", lambda case: _events(case, FILED, DISPATCHED, {
        "at": "2026-10-08T14:00:00+08:00", "action": "return", "reason": "不归我管"}), "已超过回退时限"),
    ("extension after the deadline", lambda case: _events(case, FILED, DISPATCHED, {
        "at": "2026-10-08T16:00:00+08:00", "action": "request_extension", "limit": "2wh"}),
     "已超过处置时限，不能申请延期"),
    ("bad time limit", _set(("events", 2, "limit"), "4 weeks"), "时限“4 weeks”无效"),
    ("unknown unit", _set(("events", 2, "unit"), "U-NONE"), "未知的处置单位“U-NONE”"),
    ("naive datetime", _set(("events", 0, "at"), "2026-10-08T09:12:00"), "缺少时区"),
    ("bad case_no format", _set(("case_no",), "2026100800003"), "案件号“2026100800003”格式有误"),
    ("case_no with no such day", _set(("case_no",), "20261332000003"), "格式有误"),
    ("case_no already in the database", _set(("case_no",), "20261008000001"), "案件号已存在于数据库中"),
    ("case_no twice in the file", _set(("case_no",), "20261008000002"), "案件号与第 1 行重复"),
    ("duplicate_of naming no case", lambda case: _events(case, {
        "at": "2026-10-08T09:20:00+08:00", "action": "cancel", "reason": "duplicate",
        "duplicate_of": "20261008999999"}), "重复的原案件“20261008999999”不存在"),
    ("rework limit that is not the dispatched one", lambda case: _events(
        case, *case["events"][1:4], {"at": "2026-10-08T15:10:00+08:00", "action": "check_fail",
                                     "limit": "8wh"}), "按此前的历史应为“4wh”"),
    ("amend without the old values", lambda case: _amended(
        {**case, "address": "新地址"}, _amend("09:13", {"address": "新地址"}, None)), "须在“old”中给出"),
    ("amend old values naming other fields", lambda case: _amended(
        {**case, "address": "新地址"}, _amend("09:13", {"address": "新地址"}, {"description": "旧"})),
     "第 2 个事件（amend）的“old”应恰好给出所修改的字段（address）"),
    ("amend old values not matching the history", lambda case: _amended(
        {**case, "address": "丁"}, _amend("09:13", {"address": "乙"}, {"address": "甲"}),
        _amend("09:14", {"address": "丁"}, {"address": "丙"})),
     "第 3 个事件（修改）：修改前的“address”为“丙”，但按此前的历史应为“乙”"),
    ("case fields not matching the last amend", lambda case: _amended(
        case, _amend("09:13", {"address": "新地址"}, {"address": "旧地址"})),
     "案件的“address”为“经十路 100 号南侧”，但按此前的历史应为“新地址”"),
    ("case point not where the last amend moved it", lambda case: _amended(
        case, _amend("09:13", {"lon": center(0, 0)[0], "lat": center(0, 0)[1]},
                     {"lon": case["lon"], "lat": case["lat"]})),
     f"案件的坐标为“{center(1, 1)[0]:.7f}, {center(1, 1)[1]:.7f}”，但按此前的历史应为“{center(0, 0)[0]:.7f}"),
    ("unknown component", _set(("component_code",), "37018101001999999"), "部件“37018101001999999”不存在"),
]


@pytest.fixture
def city_with_a_case(city: Engine, tmp_path: Path) -> Engine:
    import_cases_file(city, write_lines(tmp_path / "first.jsonl", [example("20261008000001")]))
    return city


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=i) for i, c, m in BAD])
def test_a_bad_case_is_refused_naming_its_line_and_nothing_is_imported(
        city_with_a_case: Engine, tmp_path: Path, change: Change, message: str) -> None:
    good, bad = example("20261008000002"), change(copy.deepcopy(example("20261008000003")))
    path = write_lines(tmp_path / "cases.jsonl", [good, bad])
    with pytest.raises(BatchInvalid) as caught:
        import_cases_file(city_with_a_case, path)
    assert caught.value.message == "cases.jsonl 中有 1 个案件有误，未导入任何案件："
    [problem] = caught.value.problems
    assert problem.startswith("第 2 行") and message in problem, problem
    assert case_count(city_with_a_case) == 1


def test_every_bad_case_of_a_file_is_reported_in_one_pass(city: Engine, tmp_path: Path,
                                                          workers: int | None) -> None:
    path = write_lines(tmp_path / "cases.jsonl", [
        example("20261008000001", category_code="99999"), example("20261008000002"), "{oops",
        example("20261008000004", source="rumour")])
    with pytest.raises(BatchInvalid) as caught:
        import_cases_file(city, path, workers=workers)
    assert caught.value.problems == [
        "第 1 行（案件 20261008000001）：未知的事项分类代码“99999”",
        "第 3 行：不是有效的 JSON（第 2 列附近有误）",
        "第 4 行（案件 20261008000004）：案件的来源（source）“rumour”未知"
        "（可选：inspector、public、hotline、video、leader、census、evaluation）",
    ]
    assert case_count(city) == 0


def test_skip_invalid_imports_the_good_cases_and_writes_areport(city: Engine, tmp_path: Path,
                                                                workers: int | None) -> None:
    unknown_unit = _set(("events", 2, "unit"), "U-NONE")(example("20261008000002"))
    duplicate = _events(example("20261008000004"), {
        "at": "2026-10-08T09:20:00+08:00", "action": "cancel", "reason": "duplicate",
        "duplicate_of": "20261008000002"})
    path = write_lines(tmp_path / "cases.jsonl", [
        example("20261008000001"), unknown_unit, example("20261008000003"), duplicate])
    result = import_cases_file(city, path, skip_invalid=True, workers=workers)
    report = tmp_path / "cases.errors.txt"
    assert (result.imported, result.refused, result.report_path) == (2, 2, report)
    assert str(result) == f"已导入 2 个案件；跳过 2 个有误的案件，明细见 {report}"
    assert report.read_text(encoding="utf-8").splitlines() == [
        "第 2 行（案件 20261008000002）：第 3 个事件（派遣）：未知的处置单位“U-NONE”",
        "第 4 行（案件 20261008000004）：重复的原案件“20261008000002”不存在"
        "（数据库中没有，本文件中也没有可导入的该案件）",
    ]
    assert [r["case_no"] for r in exported(city)] == ["20261008000001", "20261008000003"]


def test_a_duplicate_of_a_case_already_in_the_database_is_accepted(
        city_with_a_case: Engine, tmp_path: Path) -> None:
    duplicate = _events(example("20261008000002"), {
        "at": "2026-10-08T09:20:00+08:00", "action": "cancel", "reason": "duplicate",
        "duplicate_of": "20261008000001"})
    own_report = tmp_path / "errors.txt"
    result = import_cases_file(city_with_a_case, write_lines(tmp_path / "dup.jsonl", [duplicate]),
                               skip_invalid=True, report_path=own_report)
    assert str(result) == "已导入 1 个案件，没有有误的案件"
    assert own_report.read_text(encoding="utf-8") == ""
    assert exported(city_with_a_case)[1]["status"] == "cancelled"


# --- selecting by report day --------------------------------------------------------------


def _reported(case_no: str, at: str) -> dict[str, Any]:
    return example(case_no, events=[{"at": at, "action": "report"}])


def test_export_selects_cases_by_their_local_report_day(city: Engine, tmp_path: Path) -> None:
    import_cases_file(city, write_lines(tmp_path / "cases.jsonl", [
        _reported("20261007000001", "2026-10-07T23:59:59+08:00"),
        _reported("20261008000001", "2026-10-07T16:00:00+00:00"),  # 00:00 on 8 October locally
        _reported("20261008000002", "2026-10-08T23:59:59+08:00"),
        _reported("20261009000001", "2026-10-09T00:00:00+08:00"),
    ]))

    def numbers(**period: date) -> list[str]:
        return [r["case_no"] for r in exported(city, **period)]

    day = date(2026, 10, 8)
    assert numbers(date_from=day, date_to=day) == ["20261008000001", "20261008000002"]
    assert numbers(date_from=day) == ["20261008000001", "20261008000002", "20261009000001"]
    assert numbers(date_to=day) == ["20261007000001", "20261008000001", "20261008000002"]
    assert exported(city, date_from=day)[0]["events"][0]["at"] == "2026-10-08T00:00:00+08:00"
    with pytest.raises(InvalidInput, match="晚于截止日期"):
        export_text(city, date_from=date(2026, 10, 9), date_to=day)


# --- command line -------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_db(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The tiny city in the SQLite file that the ``xiuhua`` command uses."""
    build_tiny_city(sqlite_engine)
    yield from cli_database(sqlite_engine, tmp_path / "data", monkeypatch)


def test_the_command_line_imports_refuses_with_the_line_and_exports(cli_db: Engine, tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "bad.jsonl", [example("20261008000001"),
                                               _set(("events", 2, "unit"), "U-NONE")(example())])
    result = runner.invoke(app, ["import", "cases", str(bad)])
    assert result.exit_code == 1
    assert "错误 [invalid_cases]：bad.jsonl 中有 1 个案件有误，未导入任何案件：" in result.output
    assert "第 2 行（案件 20261008000012）：第 3 个事件（派遣）：未知的处置单位“U-NONE”" in result.output
    assert case_count(cli_db) == 0

    result = runner.invoke(app, ["import", "cases", str(bad), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert f"已导入 1 个案件；跳过 1 个有误的案件，明细见 {tmp_path / 'bad.errors.txt'}" in result.output

    result = runner.invoke(app, ["export", "cases", "--from", "2026-10-08", "--to", "2026-10-08"])
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert json.loads(line)["case_no"] == "20261008000001"
    assert "已导出 1 个案件" in result.stderr
