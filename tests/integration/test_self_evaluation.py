"""The self-evaluation report (自评价报告) on a real database (SQLite and PostgreSQL): two published
rounds against a standard, the November one with deductions (one with a photo), written by
``xiuhua round self-report`` and read back with python-docx: the headings with this period's and
the last one's scores, the worst point with its deductions and photo, the rectification."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document
from PIL import Image
from sqlalchemy import Engine

from tests.factories import build_tiny_city, cli_database, local, xiuhua
from tests.integration.test_evaluation import EVALUATOR, ROWS, geojson, sheet
from xiuhua.config import get_settings
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import PermissionDenied
from xiuhua.services import evaluation as service
from xiuhua.services.city import load_city
from xiuhua.services.evaluation import PhotoAt
from xiuhua.services.photos import store_photo
from xiuhua.store.db import transaction


@pytest.fixture
def city_db(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    build_tiny_city(engine)
    yield from cli_database(engine, tmp_path / "data", monkeypatch)


def _jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (32, 24), (200, 60, 40)).save(out, format="JPEG")
    return out.getvalue()


def _round(engine: Engine, standard_id: int, month: str, deduct: bool) -> None:
    """A round of ``month`` (both points), with deductions on the road when ``deduct``, closed
    and published in its month."""
    at = local(f"{month}-10 10:00")
    with transaction(engine) as session:
        city = load_city(session)
        round_id = service.plan_round(session, standard_id, month, 7, 1, (), at, EVALUATOR)
        points = {p.code: p.point_id for p in service.round_view(session, EVALUATOR, round_id, {}).points}
        items = {i.description: i.id or 0 for i in service.get_standard(session, standard_id).items}
        if deduct:
            photo = store_photo(session, get_settings(), _jpeg(), "road.jpg", EVALUATOR.login, at)
            service.record_deduction(session, EVALUATOR, round_id, points["P-ROAD"], items["路面有垃圾"], 3,
                                     None, [PhotoAt(photo)], at)
            service.record_deduction(session, EVALUATOR, round_id, points["P-ROAD"], items["路面积水"], 1,
                                     None, [], at)
        for point_id in points.values():
            service.finish_point(session, EVALUATOR, round_id, point_id, at)
        service.close_round(session, city, round_id, at, EVALUATOR)
        service.publish_round(session, round_id, at, EVALUATOR)


def test_the_self_evaluation_report_shows_headings_worst_points_and_rectification(
        city_db: Engine, tmp_path: Path) -> None:
    with transaction(city_db) as session:
        standard_id = service.import_standard(session, load_city(session), sheet(ROWS), "省考评标准", 2026,
                                              local("2026-10-01 09:00"))
    assert xiuhua("evaluation-points", "import", str(geojson(tmp_path / "points.geojson"))).exit_code == 0
    _round(city_db, standard_id, "2026-10", deduct=False)
    _round(city_db, standard_id, "2026-11", deduct=True)

    out = tmp_path / "自评价.docx"
    done = xiuhua("round", "self-report", "--period", "2026-11", "--standard", str(standard_id), "--out", str(out))
    assert done.exit_code == 0, done.output
    doc = Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in doc.tables[0].rows}
    # 干净 applies to the road only: 20 points, 3 × 1 + 1 × 2 deducted → 75; October had none
    assert rows["干净"] == ["干净", "75.00", "100.00", "下降 25.00 分", "1"]
    assert rows["整洁"] == ["整洁", "100.00", "100.00", "持平", "1"]  # the park's heading
    assert rows["安全"][1:3] == ["100.00", "100.00"] and rows["安全"][4] == "2"  # every kind
    assert "对照“省考评标准”开展实地自查考评" in text and "较上期下降" in text
    assert "1. 测试路（" in text and "主次干道）：80.00 分" in text  # the road: 25 points, 5 deducted
    assert "路面有垃圾 ×3（−3 分）" in text and "路面积水 ×1（−2 分）" in text
    assert "测试公园" not in text  # no deduction: not among the worst
    assert len(doc.inline_shapes) == 1  # the deduction's photo
    assert "扣分问题 2 个" in text and "已整改 0 个" in text and "整改率 0.0%" in text


def test_only_the_city_wide_roles_get_the_report(city_db: Engine) -> None:
    with transaction(city_db) as session:
        city = load_city(session)
        standard_id = service.import_standard(session, city, sheet(ROWS), "标准", 2026, local("2026-11-01 09:00"))
        at = local("2026-12-01 09:00")
        found = service.self_evaluation_input(session, get_settings(), city, "2026-11", standard_id, at,
                                              Principal("leader01", Role.LEADER))
        assert found.score is None and found.worst == () and found.rectification_rate is None
        for outsider in (Principal("eval01", Role.EVALUATOR), Principal("h", Role.HANDLER, unit_code="U-HW")):
            with pytest.raises(PermissionDenied):
                service.self_evaluation_input(session, get_settings(), city, "2026-11", standard_id, at, outsider)
