"""Field evaluation on a real database (SQLite and PostgreSQL), through the command line and the
services: a standard imported from the office's sheet and exported again, points imported from
GeoJSON, a round planned from a seed, deductions recorded, the round closed (cases for the
responsible units) and published, and the ``evaluation`` source scoring the street office."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
import shapely
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, select

from tests.factories import build_tiny_city, center, cli_database, grid_code, local, xiuhua
from xiuhua.domain.access import Principal
from xiuhua.domain.assessment import parse_config
from xiuhua.domain.choices import Role, RoundState, Source
from xiuhua.domain.errors import ActionRefused, BatchInvalid, InvalidInput, NotFound
from xiuhua.domain.evaluation import EVALUATION
from xiuhua.services import assessment
from xiuhua.services import evaluation as service
from xiuhua.services.city import load_city
from xiuhua.store.db import transaction
from xiuhua.store.tables import assignments, cases

HEADER = ["一级指标", "二级指标", "三级指标", "四级指标", "分值", "扣分标准", "适用点位", "事项代码"]
ROWS = [
    ["干净", "道路保洁", "路面有垃圾", None, 12, "每处扣1分", "主次干道", "06010"],
    ["干净", "道路保洁", "路面积水", None, 8, "每处扣2分", "主次干道", "06012"],
    ["整洁", "园林", "绿地", "绿地内有垃圾", 10, "每处扣1分", "公园", "06017"],
    ["安全", "设施", "护栏缺损", None, 5, "不合格扣全分", "", "06013"],
]
EVALUATOR = Principal("eval01", Role.EVALUATOR)
AT = local("2026-11-10 10:00")


def sheet(rows: list[list[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    for row in [HEADER, *rows]:
        ws.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def geojson(path: Path) -> Path:
    (lon1, lat1), (lon2, lat2) = center(0, 0), center(1, 2)
    features = [
        {"type": "Feature", "properties": {"code": "P-ROAD", "name": "测试路", "kind": "主次干道"},
         "geometry": {"type": "LineString", "coordinates": [[lon1, lat1], [lon1 + 0.0015, lat1]]}},
        {"type": "Feature", "properties": {"code": "P-PARK", "name": "测试公园", "kind": "公园", "unit": "U-HW"},
         "geometry": {"type": "Point", "coordinates": [lon2, lat2]}},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


@pytest.fixture
def city_db(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    build_tiny_city(engine)
    yield from cli_database(engine, tmp_path / "data", monkeypatch)


def test_a_standard_imports_from_the_sheet_and_exports_to_the_same_layout(city_db: Engine, tmp_path: Path) -> None:
    source = tmp_path / "标准.xlsx"
    source.write_bytes(sheet(ROWS))
    done = xiuhua("standard", "import", str(source), "--name", "月度考评标准", "--year", "2026")
    assert done.exit_code == 0, done.output
    standard_id = int(done.output.split()[-1])
    out = tmp_path / "out.xlsx"
    exported = xiuhua("standard", "export", str(standard_id), "--out", str(out))
    assert exported.exit_code == 0, exported.output
    rows = [list(r) for r in load_workbook(out).active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    assert rows[0] == HEADER
    assert rows[3][:5] == ["整洁", "园林", "绿地", "绿地内有垃圾", 10]
    assert rows[4][5] == "不合格扣全分"
    again = xiuhua("standard", "import", str(out), "--name", "再导入", "--year", "2026")
    assert again.exit_code == 0, again.output
    with transaction(city_db) as session:
        first, second = (service.get_standard(session, n) for n in (standard_id, int(again.output.split()[-1])))
    assert [(i.levels, i.points, i.rule, i.each, i.kinds, i.matter_code) for i in first.items] == \
           [(i.levels, i.points, i.rule, i.each, i.kinds, i.matter_code) for i in second.items]


def test_a_bad_sheet_imports_nothing_and_names_rows_and_formula_cells(city_db: Engine, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(sheet([ROWS[0], ["干净", "", "x", None, 3, "酌情", "", "99999"]]))
    with transaction(city_db) as session, pytest.raises(BatchInvalid) as refused:
        service.import_standard(session, load_city(session), bad, "坏", 2026, AT)
    assert "第 3 行" in str(refused.value)
    formula = tmp_path / "formula.xlsx"
    formula.write_bytes(sheet([["干净", "道路", "垃圾", None, "=1+1", "每处扣1分", "", "06010"]]))
    result = xiuhua("standard", "import", str(formula))
    assert result.exit_code == 1 and "第 2 行 E 列是公式" in result.output
    with transaction(city_db) as session:
        assert service.list_standards(session) == []


def _planned(city_db: Engine, tmp_path: Path) -> tuple[int, int]:
    with transaction(city_db) as session:
        standard_id = service.import_standard(session, load_city(session), sheet(ROWS), "标准", 2026, AT)
    imported = xiuhua("evaluation-points", "import", str(geojson(tmp_path / "points.geojson")))
    assert imported.exit_code == 0, imported.output
    planned = xiuhua("round", "plan", "--standard", str(standard_id), "--period", "2026-11", "--seed", "7",
                     "--per-kind", "1")
    assert planned.exit_code == 0, planned.output
    return standard_id, int(planned.output.strip().splitlines()[-1])


def test_points_are_places_located_with_their_evaluated_unit(city_db: Engine, tmp_path: Path) -> None:
    _planned(city_db, tmp_path)
    with transaction(city_db) as session:
        by_code = {p.code: p for p in service.list_points(session)}
    road, park = by_code["P-ROAD"], by_code["P-PARK"]
    assert road.street_code == "370181001" and road.unit_code == "U-JD1"  # its street's office
    assert road.grids == [grid_code(0, 0), grid_code(0, 1)]  # the line crosses two grids
    assert park.unit_code == "U-HW" and park.community_code == "370181001002"


def test_a_round_closes_into_cases_and_its_published_scores_feed_the_assessment(
        city_db: Engine, tmp_path: Path) -> None:
    standard_id, round_id = _planned(city_db, tmp_path)
    with transaction(city_db) as session:
        view = service.round_view(session, EVALUATOR, round_id, {})
        points = {p.code: p.point_id for p in view.points}
        items = {i.description: i.id for i in service.get_standard(session, standard_id).items}
        assert set(points) == {"P-ROAD", "P-PARK"}
        service.record_deduction(session, EVALUATOR, round_id, points["P-ROAD"], items["路面有垃圾"], 3,
                                 "东段", [], AT)
        service.record_deduction(session, EVALUATOR, round_id, points["P-ROAD"], items["路面积水"], 1,
                                 None, [], AT)
        service.finish_point(session, EVALUATOR, round_id, points["P-PARK"], AT)
        with pytest.raises(InvalidInput, match="不适用"):
            service.record_deduction(session, EVALUATOR, round_id, points["P-PARK"], items["路面积水"], 1,
                                     None, [], AT)
        leader = Principal("leader01", Role.LEADER)
        with pytest.raises(NotFound):  # the sample is the evaluators' until the round closes
            service.round_view(session, leader, round_id, {})
    closed = xiuhua("round", "close", str(round_id))
    assert closed.exit_code == 0, closed.output
    with transaction(city_db) as session:
        made = session.execute(select(cases.c.case_no, cases.c.source, cases.c.category_code)
                               .order_by(cases.c.case_no)).all()
        units = dict(session.execute(select(assignments.c.case_no, assignments.c.unit_code)).all())
        assert {(r.source, r.category_code) for r in made} == {(Source.EVALUATION.value, "06010"),
                                                               (Source.EVALUATION.value, "06012")}
        assert set(units.values()) == {"U-HW"}  # 06010 and 06012 are 环卫's in the matrix
        view = service.round_view(session, Principal("leader01", Role.LEADER), round_id,
                                  {"主次干道": 2, "公园": 1})  # type: ignore[dict-item]
        scores = {p.code: p.score for p in view.points}
        # road: items 12 + 8 + 5 (护栏, every kind) = 25; deductions 3 + 2 = 5 → 80
        assert scores == {"P-ROAD": 80, "P-PARK": 100}
        with pytest.raises(ActionRefused):
            service.record_deduction(session, EVALUATOR, round_id, points["P-PARK"], items["绿地内有垃圾"],
                                     1, None, [], AT)
    published = xiuhua("round", "publish", str(round_id))
    assert published.exit_code == 0 and "2026-11" in published.output
    config = assessment.load_config(None)
    with transaction(city_db) as session:
        evidence = service.period_evidence(session, None, assessment.Period.parse("2026-11"))
        assert evidence["U-JD1"].results[0].score == 80 and evidence["U-JD1"].rounds == (round_id,)
        assert config.sources is None
        both = parse_config('[[sources]]\nname = "cases"\nweight = 0.5\n'
                            '[[sources]]\nname = "evaluation"\nweight = 0.5\n')
        figures = assessment.assess_period(session, load_city(session), "2026-11", both, local("2026-12-01 09:00"))
        field = {u["unit_code"]: next(s for s in u["sources"] if s["name"] == EVALUATION)
                 for u in figures["units"]}
        assert field["U-JD1"]["score"] == 80 and field["U-JD1"]["figures"]["rounds"] == [round_id]
        assert field["U-HW"]["score"] == 100 and field["U-ZF"]["score"] is None


def test_a_round_published_after_its_month_counts_in_the_next(city_db: Engine, tmp_path: Path) -> None:
    _, round_id = _planned(city_db, tmp_path)
    assert xiuhua("round", "close", str(round_id)).exit_code == 0
    with transaction(city_db) as session:
        assessment.publish(session, load_city(session), "2026-11", assessment.load_config(None),
                           local("2026-12-02 09:00"), "leader01")
    published = xiuhua("round", "publish", str(round_id))
    assert published.exit_code == 0 and "2026-12" in published.output
    with transaction(city_db) as session:
        assert service.period_evidence(session, None, assessment.Period.parse("2026-11")) == {}
        assert set(service.period_evidence(session, None, assessment.Period.parse("2026-12"))) == {"U-JD1", "U-HW"}
        assert service.round_view(session, EVALUATOR, round_id, {}).state is RoundState.PUBLISHED


def test_the_same_seed_plans_the_same_sample(city_db: Engine, tmp_path: Path) -> None:
    _, first = _planned(city_db, tmp_path)
    again = xiuhua("round", "plan", "--standard", "1", "--period", "2026-12", "--seed", "7", "--per-kind", "1")
    with transaction(city_db) as session:
        one = {p.code for p in service.round_view(session, EVALUATOR, first, {}).points}
        two = {p.code for p in service.round_view(session, EVALUATOR, int(again.output.split()[-1]), {}).points}
    assert one == two


def test_points_import_from_a_sheet_all_or_nothing(city_db: Engine, tmp_path: Path) -> None:
    (lon, lat), book = center(2, 2), Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["编号", "名称", "类型", "经度", "纬度", "责任单位"])
    ws.append(["T-1", "公厕一", "公厕", lon, lat, "U-HW"])
    ws.append(["T-2", "城外", "公园", 116.0, 35.0, None])
    path = tmp_path / "points.xlsx"
    book.save(path)
    refused = xiuhua("evaluation-points", "import", str(path))
    assert refused.exit_code == 1 and "第 3 行" in refused.output and "不在本市" in refused.output
    ws.delete_rows(3)
    book.save(path)
    done = xiuhua("evaluation-points", "import", str(path))
    assert done.exit_code == 0, done.output
    with transaction(city_db) as session:
        (point,) = service.list_points(session)
    assert (point.code, point.unit_code, point.grids) == ("T-1", "U-HW", [grid_code(2, 2)])
    ws.append(["T-1", "公厕一（重复）", "公厕", lon, lat, None])
    book.save(path)
    twice = xiuhua("evaluation-points", "import", str(path))
    assert twice.exit_code == 1 and "第 3 行（T-1）：编号与第 2 行重复" in twice.output


def test_fixed_points_join_an_open_round_only(city_db: Engine, tmp_path: Path) -> None:
    _, round_id = _planned(city_db, tmp_path)
    lon, lat = center(2, 0)
    with transaction(city_db) as session:
        service.save_point(session, load_city(session), service.PointInput(
            "P-MARKET", "测试市场", "集贸市场", shapely.Point(lon, lat)), service.EvaluationSettings())
        assert service.add_fixed_codes(session, round_id, ["P-MARKET", "P-ROAD"], EVALUATOR) == 3
        fixed = {p.code: p.fixed for p in service.round_view(session, EVALUATOR, round_id, {}).points}
        assert fixed == {"P-ROAD": False, "P-PARK": False, "P-MARKET": True}
        with pytest.raises(NotFound, match="P-NONE"):
            service.add_fixed_codes(session, round_id, ["P-NONE"], EVALUATOR)
    assert xiuhua("round", "close", str(round_id)).exit_code == 0
    with transaction(city_db) as session, pytest.raises(ActionRefused):
        service.add_fixed_codes(session, round_id, ["P-MARKET"], EVALUATOR)
