"""Migration 0006 on a database with photos: each gets a public id, its uploader is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from xiuhua.store.db import make_engine
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
