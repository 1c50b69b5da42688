"""Photo files without a database: reading EXIF time and place, where files go, atomic
writes, and an upload cut off at its size limit."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from xiuhua.api.photos import bounded_body
from xiuhua.config import Settings
from xiuhua.domain.errors import NotFound
from xiuhua.services.photos import (
    PhotoTooLarge,
    dms_degrees,
    exif_position,
    parse_exif_time,
    photo_path,
    write_atomically,
)


@pytest.mark.parametrize(("text", "offset", "expected"), [
    ("2026:10:16 08:30:00", None, datetime(2026, 10, 16, 0, 30, tzinfo=UTC)),  # Shanghai
    ("2026:10:16 08:30:00", "+09:00", datetime(2026, 10, 15, 23, 30, tzinfo=UTC)),
    ("2026:10:16 08:30:00", "-05:30", datetime(2026, 10, 16, 14, 0, tzinfo=UTC)),
    ("2026:10:16 08:30:00", "+25:00", datetime(2026, 10, 16, 0, 30, tzinfo=UTC)),  # nonsense
    (b"2026:10:16 08:30:00\x00", b"+08:00\x00", datetime(2026, 10, 16, 0, 30, tzinfo=UTC)),
    ("0000:00:00 00:00:00", None, None),
    ("    :  :     :  :  ", None, None),
    ("", None, None),
    (None, None, None),
    (20261016, None, None),
])
def test_exif_times_are_local_unless_the_camera_says_otherwise(
        text: object, offset: object, expected: datetime | None) -> None:
    assert parse_exif_time(text, offset) == expected


def rational(value: float) -> IFDRational:
    fraction = Fraction(value).limit_denominator(100_000)
    return IFDRational(fraction.numerator, fraction.denominator)


def test_degrees_minutes_seconds_become_signed_decimal_degrees() -> None:
    dms = (rational(36), rational(38), rational(59.5551))
    assert math.isclose(dms_degrees(dms, "N", "S") or 0, 36 + 38 / 60 + 59.5551 / 3600)
    assert math.isclose(dms_degrees(dms, "S", "S") or 0, -(36 + 38 / 60 + 59.5551 / 3600))
    assert dms_degrees((rational(117), rational(0), IFDRational(1, 0)), "E", "W") is None
    assert dms_degrees((36.0, -1.0, 0.0), "N", "S") is None
    assert dms_degrees((36.0, 38.0), "N", "S") is None
    assert dms_degrees(None, "N", "S") is None
    assert dms_degrees("36 38 59", "N", "S") is None


def exif_at(lon: tuple[float, float, float], lat: tuple[float, float, float]) -> Image.Exif:
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", lon
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", lat
    return exif


def test_gps_positions_without_a_fix_or_out_of_range_are_ignored() -> None:
    lon, lat = exif_position(exif_at((117.0, 0.0, 36.0), (36.0, 39.0, 0.0)))
    assert lon is not None and math.isclose(lon, 117.01)
    assert lat is not None and math.isclose(lat, 36.65)
    assert exif_position(exif_at((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))) == (None, None)
    assert exif_position(exif_at((117.0, 0.0, 0.0), (95.0, 0.0, 0.0))) == (None, None)
    assert exif_position(Image.Exif()) == (None, None)


def test_files_are_kept_by_content_hash_and_ids_cannot_escape(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="x")
    photo_id = "ab" + "0" * 62
    assert photo_path(settings, photo_id, "thumb") == (
        tmp_path / "photos" / "ab" / f"{photo_id}.thumb.jpg")
    for bad in ("..", "../../etc/passwd", "AB" + "0" * 62, "ab" * 33):
        with pytest.raises(NotFound):
            photo_path(settings, bad, "original")


def test_atomic_writes_replace_whole_files_and_leave_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "photos" / "ab" / "photo.orig"
    write_atomically(target, b"first")
    write_atomically(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["photo.orig"]


def test_an_upload_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    read: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            read.append(1)
            yield b"x" * 1000

    with pytest.raises(PhotoTooLarge) as refused:
        _run(_total(bounded_body(endless(), 10_500, 10_000)))
    assert len(read) == 11 and refused.value.code == "photo_too_large"
    assert _run(_total(bounded_body(_chunks(10), 10_000, 10_000))) == 10_000


async def _chunks(count: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"x" * 1000


def _run(coro: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine on a fresh loop in its own thread: a browser test on the same worker
    may have left an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _total(stream: AsyncIterator[bytes]) -> int:
    return sum([len(chunk) async for chunk in stream])
