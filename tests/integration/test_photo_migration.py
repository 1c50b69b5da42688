"""Migration 0006 on a database with photos: each gets a public id, its uploader is recorded;
and the operator's ``assess deduct --photo``."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, text

from tests.factories import build_tiny_city, cli_database, xiuhua
from xiuhua.config import Settings
from xiuhua.services.photos import store_photo
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.migrate import upgrade


def test_photos_stored_before_get_a_public_id_and_their_uploader(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    at = datetime(2026, 10, 16, 1, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for n, who in ((1, "inspector01"), (2, None)):
            conn.execute(text(
                "INSERT INTO photos (id, content_type, size, width, height, uploaded_by, uploaded_at)"
                " VALUES (:id, 'image/jpeg', 10, 4, 3, :who, :at)"), {"id": f"{n}" * 64, "who": who,
                                                                     "at": at})
    upgrade(engine, "0006")
    with engine.connect() as conn:
        public = conn.execute(text("SELECT public_id FROM photos ORDER BY id")).scalars().all()
        uploads = conn.execute(text("SELECT photo_id, uploaded_by FROM photo_uploads "
                                    "ORDER BY photo_id")).all()
    engine.dispose()
    assert len(set(public)) == 2 and all(p and len(p) >= 20 for p in public)
    assert [tuple(u) for u in uploads] == [("1" * 64, "inspector01"), ("2" * 64, None)]


def test_the_operator_deducts_with_an_existing_photo_only(
        sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``xiuhua assess deduct --photo`` runs as the operator (the server's own account, who
    reads every file anyway): the photo must exist, whoever uploaded it."""
    build_tiny_city(sqlite_engine)
    settings = Settings(data_dir=tmp_path / "data", secret_key="test")
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (5, 6, 7)).save(buffer, format="JPEG")
    with transaction(sqlite_engine) as session:
        photo_id = store_photo(session, settings, buffer.getvalue(), "a.jpg", "handler_zf",
                               datetime.now(UTC))
    for _ in cli_database(sqlite_engine, tmp_path / "data", monkeypatch):
        args = ["assess", "deduct", "--unit", "U-HW", "--date", "2026-10-20", "--item", "抽查",
                "--points", "1", "--photo"]
        missing = xiuhua(*args, "f" * 64)
        assert missing.exit_code == 1 and "不存在" in missing.output
        done = xiuhua(*args, photo_id)
        assert done.exit_code == 0, done.output
