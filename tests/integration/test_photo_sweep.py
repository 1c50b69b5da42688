"""Orphaned photos (issue 11, finding 8): photos never linked to anything are removed, rows and
files, a day after their upload; files without a row are removed too; and the deadline sweeper
runs that sweep. Also the pixel limits and the one-at-a-time decoding of large images."""

from __future__ import annotations

import io
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from tests.factories import build_tiny_city, local, report
from xiuhua.config import Settings
from xiuhua.domain.errors import InvalidInput
from xiuhua.services import photos as service
from xiuhua.services.sweeper import run_sweeper
from xiuhua.store.db import transaction
from xiuhua.store.tables import assessment_entries, photo_uploads, photos

UPLOADED = local("2026-10-16 09:00")


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def stored(engine: Engine, settings: Settings, colour: tuple[int, int, int]) -> str:
    with transaction(engine) as session:
        return service.store_photo(session, settings, jpeg(colour), "a.jpg", "inspector01",
                                   UPLOADED)


def files(settings: Settings) -> set[str]:
    return {p.name for p in (settings.data_dir / "photos").rglob("*") if p.is_file()}


def aged(path: Path, days: float = 2) -> None:
    old = (UPLOADED - timedelta(days=days)).timestamp()
    os.utime(path, (old, old))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test")


def test_unlinked_photos_and_stray_files_are_swept_after_a_day(engine: Engine,
                                                               settings: Settings) -> None:
    build_tiny_city(engine)
    linked, entry_photo, orphan = (stored(engine, settings, c)
                                   for c in ((1, 1, 1), (2, 2, 2), (3, 3, 3)))
    case_no = report(engine, UPLOADED, address="测试路 1 号")
    with transaction(engine) as session:
        service.attach_to_case(session, case_no, [linked])
        session.execute(assessment_entries.insert().values(
            kind="deduction", unit_code="U-HW", day=UPLOADED.date(), item="抽查", points=1,
            photo_id=entry_photo, period="2026-10", booked_period="2026-10",
            entered_at=UPLOADED))
    stray = settings.data_dir / "photos" / "ab" / f"{'ab' * 32}.orig"
    service.write_atomically(stray, b"left by a process that died before committing")
    temp = settings.data_dir / "photos" / "ab" / ".tmp-left-behind"
    temp.write_bytes(b"partial")
    fresh_stray = settings.data_dir / "photos" / "cd" / f"{'cd' * 32}.orig"
    service.write_atomically(fresh_stray, b"being uploaded right now")
    for path in (stray, temp):
        aged(path)
    for path in (settings.data_dir / "photos").rglob(f"{orphan}*"):
        aged(path)

    early = service.sweep_orphans(engine, settings.data_dir, UPLOADED + timedelta(hours=23))
    assert early.photos == 0 and early.files == 2  # the old stray file and temporary file
    assert not stray.exists() and not temp.exists() and fresh_stray.exists()
    assert len(files(settings)) == 3 * 3 + 1

    late = service.sweep_orphans(engine, settings.data_dir, UPLOADED + timedelta(hours=25))
    assert (late.photos, late.files) == (1, 3)
    with transaction(engine) as session:
        assert set(session.execute(select(photos.c.id)).scalars()) == {linked, entry_photo}
        assert orphan not in set(session.execute(select(photo_uploads.c.photo_id)).scalars())
    assert not any(name.startswith(orphan) for name in files(settings))
    assert sum(name.startswith((linked, entry_photo)) for name in files(settings)) == 6


class OneRound:
    """A stop event that stops the sweeper after its first round."""

    def __init__(self) -> None:
        self.done = threading.Event()

    def is_set(self) -> bool:
        return self.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        self.done.set()
        return True


def test_the_deadline_sweeper_also_sweeps_orphaned_photos(engine: Engine,
                                                         settings: Settings) -> None:
    build_tiny_city(engine)
    orphan = stored(engine, settings, (9, 9, 9))
    run_sweeper(engine, lambda: UPLOADED + timedelta(days=2), 60, OneRound(),
                data_dir=settings.data_dir)
    with transaction(engine) as session:
        assert session.execute(select(photos.c.id).where(photos.c.id == orphan)).first() is None
    assert files(settings) == set()


# --- decoding limits -------------------------------------------------------------------------


def image(fmt: str, size: tuple[int, int], mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=fmt)
    return buffer.getvalue()


def test_png_and_webp_stop_at_25_megapixels() -> None:
    accepted = service.decode(image("PNG", (5000, 5000)))  # 25 MP exactly
    assert (accepted.width, accepted.height) == (5000, 5000)
    for fmt, size in (("PNG", (5001, 5000)), ("WEBP", (5001, 5000))):
        with pytest.raises(InvalidInput) as refused:
            service.decode(image(fmt, size))
        assert "不能超过 25 百万像素" in refused.value.message, fmt


def test_phone_camera_jpegs_are_decoded_at_a_reduced_scale_up_to_64_megapixels() -> None:
    assert service.MAX_PIXELS["JPEG"] == service.MAX_PIXELS["HEIF"] == 64_000_000
    photo = service.decode(image("JPEG", (8160, 6120)))  # a 50 MP phone photo
    assert (photo.width, photo.height) == (8160, 6120)
    assert Image.open(io.BytesIO(photo.public)).size == (2048, 1536)
    with pytest.raises(InvalidInput) as refused, pytest.warns(Image.DecompressionBombWarning):
        service.decode(image("JPEG", (8001, 8001)))  # (Pillow's warning: silenced in services)
    assert "不能超过 64 百万像素" in refused.value.message


def test_a_large_image_is_decoded_alone() -> None:
    with service.decoding(service.LARGE_PIXELS + 1):
        assert service.DECODING.locked()
    assert not service.DECODING.locked()
    with service.decoding(service.LARGE_PIXELS):
        assert not service.DECODING.locked()
