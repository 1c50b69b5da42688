"""Corrections of published periods: an import of case history that changes the counts of a
published month leaves its published figures as they were and books each changed count, with its
published and current values, into the next open month, whose JSON, workbook and circular list
it; importing again books only what changed since. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from tests.api.conftest import Clock, build_city_with_users
from tests.factories import build_tiny_city, cli_database, local, xiuhua
from tests.integration.test_interchange import example, write_lines
from xiuhua.app import create_app
from xiuhua.config import Settings, get_settings
from xiuhua.reports import render_report
from xiuhua.services import accounts
from xiuhua.services import assessment as service
from xiuhua.services.city import load_city
from xiuhua.services.interchange import import_cases_file
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log

LEADER = "leader01"
AT = local("2026-12-10 09:00")


def october_case(case_no: str, day: str) -> dict[str, Any]:
    """The example case (06010 → U-HW: reported, filed, dispatched, handled, checked, closed) on ``day``."""
    case = example(case_no)
    case["events"] = [{**e, "at": e["at"].replace("2026-10-08", day)} for e in case["events"]]
    return case


def publish(engine: Engine, period: str, at: str) -> dict[str, Any]:
    with transaction(engine) as session:
        return service.publish(session, load_city(session), period, service.load_config(get_settings().data_dir),
                               local(at), LEADER)


def assessed(engine: Engine, period: str) -> dict[str, Any]:
    with transaction(engine) as session:
        return service.assess_period(session, load_city(session), period,
                                     service.load_config(get_settings().data_dir), AT)


def correction(figures: dict[str, Any], subject: str, code: str, measure: str) -> list[dict[str, Any]]:
    return [c for c in figures["corrections"] if (c["subject"], c["code"], c["measure"]) == (subject, code, measure)]


@pytest.fixture
def october(engine: Engine, tmp_path: Path) -> Engine:
    """The tiny city and its users, one case handled by U-HW in October, and October published."""
    build_city_with_users(engine, local("2026-09-30 09:00"))
    import_cases_file(engine, write_lines(tmp_path / "first.jsonl", [october_case("20261008000001", "2026-10-08")]))
    publish(engine, "2026-10", "2026-11-03 09:00")
    return engine


def test_a_late_import_is_booked_as_corrections_of_the_next_open_month(october: Engine, tmp_path: Path) -> None:
    published = assessed(october, "2026-10")
    hw = next(u for u in published["units"] if u["unit_code"] == "U-HW")
    assert hw["handled"] == 1 and published["corrections"] == []

    result = import_cases_file(october, write_lines(tmp_path / "late.jsonl", [
        october_case("20261020000001", "2026-10-20")]), actor=LEADER)
    [(period, booked, count)] = result.corrections
    assert (period, booked) == ("2026-10", "2026-11") and count > 0
    assert str(result).splitlines() == [
        "已导入 1 个案件",
        f"已发布的 2026-10 考核数据因本次导入有 {count} 项变化，已作为更正计入 2026-11 考核（发布的数据不变）"]

    assert assessed(october, "2026-10") == published  # the published month never changes
    november = assessed(october, "2026-11")
    [handled] = correction(november, "units", "U-HW", "handled")
    assert (handled["period"], handled["booked_period"], handled["name"]) == ("2026-10", "2026-11", "环卫中心")
    assert (handled["published_value"], handled["previous_value"], handled["live_value"], handled["change"]) == (
        1, 1, 2, 1)
    assert (handled["reason"], handled["booked_by"]) == ("导入案件 late.jsonl", LEADER)
    assert len(november["corrections"]) == count
    assert {(c["period"], c["booked_period"]) for c in november["corrections"]} == {("2026-10", "2026-11")}
    reported = correction(november, "regions", "370181", "reported")  # the city's region row
    assert [(c["published_value"], c["live_value"]) for c in reported] == [(1, 2)]
    assert not correction(november, "units", "U-HW", "overdue_unhandled")  # unchanged counts are not booked
    with transaction(october) as session:
        audits = list(session.execute(select(audit_log.c.kind, audit_log.c.subject, audit_log.c.actor)
                                      .where(audit_log.c.kind == "assessment_correction")))
    assert [tuple(a) for a in audits] == [("assessment_correction", "2026-10", LEADER)]


def test_only_new_differences_are_booked(october: Engine, tmp_path: Path) -> None:
    import_cases_file(october, write_lines(tmp_path / "late.jsonl", [october_case("20261020000001", "2026-10-20")]))
    first = assessed(october, "2026-11")["corrections"]

    again = import_cases_file(october, write_lines(tmp_path / "late.jsonl", [
        october_case("20261020000001", "2026-10-20")]), skip_invalid=True)  # refused: already imported
    assert (again.imported, again.corrections) == (0, ())
    november_only = import_cases_file(october, write_lines(tmp_path / "november.jsonl", [
        october_case("20261110000001", "2026-11-10")]))
    assert november_only.imported == 1 and november_only.corrections == ()
    with transaction(october) as session:  # booking again without a change books nothing
        assert service.book_corrections(session, load_city(session), service.load_config(), local("2026-10-01 00:00"),
                                        AT, LEADER, "核对") == []
    assert assessed(october, "2026-11")["corrections"] == first

    result = import_cases_file(october, write_lines(tmp_path / "later.jsonl", [
        october_case("20261021000001", "2026-10-21")]))
    assert [(p, b) for p, b, _ in result.corrections] == [("2026-10", "2026-11")]
    handled = correction(assessed(october, "2026-11"), "units", "U-HW", "handled")
    assert [(c["published_value"], c["previous_value"], c["live_value"], c["reason"]) for c in handled] == [
        (1, 1, 2, "导入案件 late.jsonl"), (1, 2, 3, "导入案件 later.jsonl")]


def test_a_correction_goes_to_the_first_month_not_yet_published(october: Engine, tmp_path: Path) -> None:
    publish(october, "2026-11", "2026-12-01 09:00")
    frozen_november = assessed(october, "2026-11")
    result = import_cases_file(october, write_lines(tmp_path / "late.jsonl", [
        october_case("20261020000001", "2026-10-20")]))
    assert [(p, b) for p, b, _ in result.corrections] == [("2026-10", "2026-12")]
    assert assessed(october, "2026-11") == frozen_november
    [handled] = correction(assessed(october, "2026-12"), "units", "U-HW", "handled")
    assert (handled["period"], handled["published_value"], handled["live_value"]) == ("2026-10", 1, 2)


def test_the_next_circular_and_workbook_list_the_corrections(october: Engine, tmp_path: Path) -> None:
    import_cases_file(october, write_lines(tmp_path / "late.jsonl", [october_case("20261020000001", "2026-10-20")]))
    count = len(assessed(october, "2026-11")["corrections"])
    with transaction(october) as session:
        city, config = load_city(session), service.load_config()
        xlsx = render_report(service.report_input(session, city, "2026-11", "xlsx", config, AT))
        docx = render_report(service.report_input(session, city, "2026-11", "docx", config, AT))
        october_docx = render_report(service.report_input(session, city, "2026-10", "docx", config, AT))

    sheet = load_workbook(io.BytesIO(xlsx))["更正"]
    rows = list(sheet.iter_rows(values_only=True))
    head = rows[0]
    found = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    assert len(found) == count
    hw = next(r for r in found if (r["代码"], r["指标代码"]) == ("U-HW", "handled"))
    assert (hw["被更正周期"], hw["计入周期"], hw["对象"], hw["名称"], hw["指标"]) == (
        "2026-10", "2026-11", "处置单位", "环卫中心", "处置数")
    assert (hw["发布值"], hw["更正前"], hw["更正后"], hw["增减"], hw["原因"]) == (1, 1, 2, 1, "导入案件 late.jsonl")

    doc = Document(io.BytesIO(docx))
    texts = [p.text for p in doc.paragraphs]
    assert "三、考核检查扣分、加分及数据更正情况" in texts
    sentence = next(t for t in texts if t.startswith("已发布的"))
    assert sentence.startswith(f"已发布的2026年10月考核数据因导入案件 late.jsonl发生变化，本期列示更正共{count}项，"
                               "已发布的考核结果不变。其中处置单位指标")
    table = next([[c.text for c in r.cells] for r in t.rows] for t in doc.tables
                 if t.rows[0].cells[0].text == "被更正周期")
    assert table[0] == ["被更正周期", "单位", "指标", "发布值", "更正前", "更正后", "增减"]
    assert ["2026年10月", "环卫中心", "处置数", "1", "1", "2", "+1"] in table[1:]

    october_texts = [p.text for p in Document(io.BytesIO(october_docx)).paragraphs]
    assert "三、考核检查扣分、加分情况" in october_texts  # the published month is as it was
    assert not any(t.startswith("已发布的") for t in october_texts)


def test_the_api_lists_the_corrections(october: Engine, tmp_path: Path) -> None:
    import_cases_file(october, write_lines(tmp_path / "late.jsonl", [october_case("20261020000001", "2026-10-20")]))
    with transaction(october) as session:
        token = accounts.issue_token(session, LEADER, AT)
    app = create_app(Settings(data_dir=tmp_path / "data", secret_key="test-secret"), clock=Clock(AT),
                     engine=october, migrate=False)
    with TestClient(app) as http:
        headers = {"Authorization": f"Bearer {token}"}
        november = http.get("/api/v1/assessment/2026-11", headers=headers).json()
        published = http.get("/api/v1/assessment/2026-10", headers=headers).json()
    [handled] = correction(november, "units", "U-HW", "handled")
    assert (handled["period"], handled["published_value"], handled["live_value"]) == ("2026-10", 1, 2)
    assert published["published"] is True and published["corrections"] == []
    hw = next(u for u in published["units"] if u["unit_code"] == "U-HW")
    assert hw["handled"] == 1  # as published
    assert json.loads(json.dumps(assessed(october, "2026-10"))) == published


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_db(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    yield from cli_database(sqlite_engine, tmp_path / "data", monkeypatch)


def test_the_cli_says_where_the_corrections_went(cli_db: Engine, tmp_path: Path) -> None:
    build_tiny_city(cli_db)
    first = write_lines(tmp_path / "first.jsonl", [october_case("20261008000001", "2026-10-08")])
    assert xiuhua("import", "cases", str(first)).exit_code == 0
    publish(cli_db, "2026-10", "2026-11-03 09:00")
    late = write_lines(tmp_path / "late.jsonl", [october_case("20261020000001", "2026-10-20")])
    result = xiuhua("import", "cases", str(late))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "已导入 1 个案件"
    assert lines[1].startswith("已发布的 2026-10 考核数据因本次导入有 ")
    assert lines[1].endswith("项变化，已作为更正计入 2026-11 考核（发布的数据不变）")
