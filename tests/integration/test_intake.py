"""The one intake use case as a feature that creates cases itself calls it: the system, with no
HTTP principal and no idempotency key (e.g. a field evaluation's deductions), on SQLite and
PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from tests.factories import build_tiny_city, center, grid_code, local
from xiuhua.config import Settings
from xiuhua.domain.choices import Source
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.lifecycle import Actor
from xiuhua.services import photos as photo_service
from xiuhua.services.city import load_city
from xiuhua.services.intake import Report, Reporter, take_report
from xiuhua.services.photos import Upload
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, case_photos, cases

AT = local("2026-10-16 09:00")
EVALUATION = Reporter.system(Actor("evaluator01"), channel="evaluation")


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test")


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def deduction(**fields: object) -> Report:
    lon, lat = center(1, 1)
    return Report(**{"category_code": "06010", "source": Source.EVALUATION, "lon": lon,
                     "lat": lat, "description": "  考评检查发现：暴露垃圾 ", **fields})  # type: ignore[arg-type]


def test_a_deduction_becomes_a_located_case_with_its_photos(city_engine: Engine,
                                                            settings: Settings) -> None:
    with transaction(city_engine) as session:
        earlier = photo_service.store_photo(session, settings, jpeg((200, 0, 0)), "a.jpg",
                                            "evaluator01", AT)
    with transaction(city_engine) as session:
        taken = take_report(session, load_city(session), deduction(
            photos=(earlier, earlier), uploads=(Upload(jpeg((0, 200, 0)), "b.jpg"),)),
            AT, EVALUATION, settings=settings)
    with transaction(city_engine) as session:
        case = load_case(session, taken.case.case_no)
        linked = set(session.execute(select(case_photos.c.photo_id)
                                     .where(case_photos.c.case_no == case.case_no)).scalars())
        audited = session.execute(select(audit_log.c.actor, audit_log.c.detail)
                                  .where(audit_log.c.subject == case.case_no)).one()
    assert taken.tracking_code is None and case.source is Source.EVALUATION
    assert case.location is not None and case.location.grid_code == grid_code(1, 1)
    assert case.description == "考评检查发现：暴露垃圾"
    assert earlier in linked and len(linked) == 2 == len(case.photos)
    assert audited.actor == "evaluator01"
    assert audited.detail == {"action": "report", "event_seq": 1, "channel": "evaluation"}


@pytest.mark.parametrize(("fields", "code"), [
    ({"source": None}, "missing_source"),
    ({"photos": ("ab" * 32,)}, "unknown_photo"),
    ({"lon": None, "lat": None}, "missing_location"),
])
def test_a_refused_system_report_stores_nothing(city_engine: Engine, fields: dict[str, object],
                                                code: str) -> None:
    with pytest.raises(InvalidInput) as refused, transaction(city_engine) as session:
        take_report(session, load_city(session), deduction(**fields), AT, EVALUATION)
    assert refused.value.code == code
    with transaction(city_engine) as session:
        assert session.execute(select(func.count()).select_from(cases)).scalar() == 0
