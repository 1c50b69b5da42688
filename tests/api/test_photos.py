"""Photos over HTTP, on SQLite and PostgreSQL: uploads recognised by content, EXIF time and
place, size limits, metadata-free public copies and thumbnails, deduplication, and who may
fetch what. Every image is made here with Pillow."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageCms
from sqlalchemy import func, select, update

from tests.api.conftest import ALL_GRIDS, Api
from tests.api.test_cases_api import dispatched, report
from tests.factories import center
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import InvalidInput
from xiuhua.services import accounts
from xiuhua.services.photos import link_photos
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log, case_photos, cases, photos

pillow_heif.register_heif_opener()
PHOTOS = "/api/v1/photos"
MB = 1024 * 1024
# Where the camera says it was: inside the tiny city's grid (1, 1).
LON, LAT = center(1, 1)
TAKEN = "2026:10:16 08:30:00"  # Shanghai time
TAKEN_UTC = datetime(2026, 10, 16, 0, 30, tzinfo=UTC)


def dms(value: float) -> tuple[float, float, float]:
    """Decimal degrees as EXIF degrees, minutes, seconds."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 5)


def camera_exif(taken: str | None = TAKEN, offset: str | None = None,
                place: tuple[float, float] | None = (LON, LAT),
                orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestCam"
    if taken is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    if place is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(place[0])
        gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(place[1])
    return exif


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48),
                exif: Image.Exif | None = None, colour: tuple[int, int, int] = (200, 120, 40),
                **options: Any) -> bytes:
    buffer = io.BytesIO()
    extra = {"exif": exif.tobytes()} if exif is not None else {}
    Image.new("RGB", size, colour).save(buffer, format=fmt, **extra, **options)
    return buffer.getvalue()


def upload(api: Api, data: bytes, name: str = "scene.jpg", declared: str = "image/jpeg",
           login: str | None = "inspector01") -> Any:
    headers = api.auth(login) if login else {}
    return api.client.post(PHOTOS, files={"file": (name, data, declared)}, headers=headers)


def uploaded(api: Api, data: bytes, login: str = "inspector01") -> str:
    response = upload(api, data, login=login)
    assert response.status_code == 201, response.text
    return str(response.json()["photo_id"])


def fetch(api: Api, photo_id: str, variant: str = "", login: str | None = "inspector01") -> Any:
    path = f"{PHOTOS}/{photo_id}" + (f"/{variant}" if variant else "")
    return api.client.get(path, headers=api.auth(login) if login else {})


def opened(content: bytes) -> Image.Image:
    return Image.open(io.BytesIO(content))


def settings_dir(api: Api) -> Path:
    return Path(api.client.app.state.settings.data_dir)  # type: ignore[attr-defined]


# --- formats, time and place ----------------------------------------------------------------


# MPO: the multi-picture JPEG some phone cameras write (a photo plus a depth or preview image).
MPO = {"save_all": True, "append_images": [Image.new("RGB", (40, 30))]}


@pytest.mark.parametrize(("fmt", "content_type", "options"), [
    ("JPEG", "image/jpeg", {}), ("MPO", "image/jpeg", MPO), ("PNG", "image/png", {}),
    ("WEBP", "image/webp", {}), ("HEIF", "image/heic", {})])
def test_each_format_is_accepted_with_the_time_and_place_it_was_taken(
        api: Api, fmt: str, content_type: str, options: dict[str, Any]) -> None:
    data = image_bytes(fmt, (80, 60), camera_exif(), **options)
    response = upload(api, data, name=f"scene.{fmt.lower()}", declared=content_type)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == content_type
    assert (body["width"], body["height"], body["size"]) == (80, 60, len(data))
    assert datetime.fromisoformat(body["taken_at"]) == TAKEN_UTC
    assert abs(body["lon"] - LON) < 1e-6 and abs(body["lat"] - LAT) < 1e-6
    assert response.headers["location"] == f"{PHOTOS}/{body['photo_id']}"
    original = fetch(api, body["photo_id"])
    assert original.status_code == 200 and original.content == data
    assert original.headers["content-type"] == content_type


def test_the_camera_offset_overrides_shanghai_time_and_missing_exif_is_null(api: Api) -> None:
    abroad = upload(api, image_bytes(exif=camera_exif(offset="-05:00", place=None))).json()
    assert datetime.fromisoformat(abroad["taken_at"]) == datetime(2026, 10, 16, 13, 30, tzinfo=UTC)
    assert abroad["lon"] is None and abroad["lat"] is None
    plain = upload(api, image_bytes(colour=(1, 2, 3))).json()
    assert plain["taken_at"] is None and plain["lon"] is None and plain["lat"] is None
    south_west = camera_exif(place=(LON, LAT))
    gps = south_west.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLatitudeRef] = "W", "S"
    flipped = upload(api, image_bytes(exif=south_west, colour=(4, 5, 6))).json()
    assert abs(flipped["lon"] + LON) < 1e-6 and abs(flipped["lat"] + LAT) < 1e-6


def test_the_format_is_recognised_by_content_not_by_name(api: Api) -> None:
    png = image_bytes("PNG")
    response = upload(api, png, name="scene.jpg", declared="image/jpeg")
    assert response.status_code == 201 and response.json()["content_type"] == "image/png"
    assert fetch(api, response.json()["photo_id"]).headers["content-type"] == "image/png"
    text = upload(api, "这不是照片\n".encode(), name="scene.jpg", declared="image/jpeg")
    assert text.status_code == 422
    assert text.headers["content-type"].startswith("application/problem+json")
    assert text.json()["code"] == "unsupported_photo" and "JPEG" in text.json()["detail"]


def truncated_jpeg() -> bytes:
    noisy = Image.effect_noise((400, 300), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()[: buffer.tell() // 2]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header announces enormous dimensions (a "decompression bomb")."""
    data = bytearray(image_bytes("PNG", (1, 1)))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def sparse_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


REFUSED: dict[str, tuple[bytes, str]] = {  # what -> (content, words of the message)
    "pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "JPEG"),
    "empty": (b"", "为空"),
    "truncated": (truncated_jpeg(), "损坏"),
    "bomb header": (png_claiming(30_000, 30_000), "像素过多"),
    "sparse bomb": (sparse_png(9_000, 8_000), "像素过多"),
    "gif": (image_bytes("GIF"), "JPEG"),
    "bmp": (image_bytes("BMP"), "JPEG"),
}


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_other_content_is_refused_with_a_clear_message(api: Api) -> None:
    for what, (data, words) in REFUSED.items():
        response = upload(api, data)
        assert response.status_code == 422, (what, response.text)
        assert response.json()["code"] == "unsupported_photo", what
        assert words in response.json()["detail"], (what, response.json()["detail"])
    with transaction(api.engine) as session:
        assert session.scalar(select(func.count()).select_from(photos)) == 0
    assert not (settings_dir(api) / "photos").exists()


# --- size ---------------------------------------------------------------------------------


def test_a_photo_over_10_mb_is_refused_with_413(api: Api) -> None:
    response = upload(api, b"\xff" * (10 * MB + 1))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "photo_too_large" and "10 MB" in response.json()["detail"]
    assert not (settings_dir(api) / "photos").exists()


def test_an_oversized_body_is_cut_off_without_a_content_length(api: Api) -> None:
    boundary = "xiuhua-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(40):  # 20 MB
            yield b"\0" * (MB // 2)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = api.client.post(PHOTOS, content=chunks(), headers={
        **api.auth("inspector01"), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413 and response.json()["code"] == "photo_too_large"
    assert "content-length" not in {k.lower() for k in response.request.headers}


# --- copies without metadata ----------------------------------------------------------------


def test_thumbnail_and_public_copy_are_upright_small_and_carry_no_metadata(api: Api) -> None:
    # A photo taken with the camera on its side: stored 1000×600, shown 600×1000; with XMP and
    # a comment besides the EXIF.
    data = image_bytes("JPEG", (1000, 600), camera_exif(orientation=6), comment=b"13800000000",
                       xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    assert {"comment", "xmp"} <= set(opened(data).info)
    body = upload(api, data).json()
    assert (body["width"], body["height"]) == (600, 1000)
    thumb, copy = fetch(api, body["photo_id"], "thumb"), fetch(api, body["photo_id"], "public")
    for response, size in ((thumb, (192, 320)), (copy, (600, 1000))):
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        image = opened(response.content)
        assert image.format == "JPEG" and image.size == size
        assert len(image.getexif()) == 0 and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info)
    original = opened(fetch(api, body["photo_id"]).content)
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # staff keep the camera's record


def test_transparent_profiled_and_heic_photos_get_plain_jpeg_copies(api: Api) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (800, 400), (0, 0, 0, 0)).save(buffer, format="PNG")
    thumb = opened(fetch(api, uploaded(api, buffer.getvalue()), "thumb").content)
    assert thumb.size == (320, 160) and thumb.getpixel((5, 5)) == (255, 255, 255)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    profiled = uploaded(api, image_bytes("JPEG", icc_profile=srgb, colour=(9, 9, 9)))
    assert "icc_profile" not in opened(fetch(api, profiled, "public").content).info
    heic = uploaded(api, image_bytes("HEIF", (640, 480), camera_exif()))
    copy = opened(fetch(api, heic, "public").content)
    assert copy.format == "JPEG" and copy.size == (640, 480) and len(copy.getexif()) == 0


# --- deduplication --------------------------------------------------------------------------


def test_identical_uploads_are_one_photo(api: Api) -> None:
    data = image_bytes(exif=camera_exif())
    first = upload(api, data, login="inspector01")
    again = upload(api, data, name="copy.jpg", login="acceptor01")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    photo_id = first.json()["photo_id"]
    with transaction(api.engine) as session:
        row = session.execute(select(photos)).one()
        uploads = session.scalars(select(audit_log.c.actor).where(
            audit_log.c.kind == "photo_upload", audit_log.c.subject == photo_id)).all()
    assert row.id == photo_id and row.uploaded_by == "inspector01"
    assert sorted(uploads) == ["acceptor01", "inspector01"]
    folder = settings_dir(api) / "photos" / photo_id[:2]
    assert (folder / f"{photo_id}.orig").read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{photo_id}.orig", f"{photo_id}.public.jpg", f"{photo_id}.thumb.jpg"]


# --- who may fetch what ---------------------------------------------------------------------


def test_upload_needs_a_signed_in_staff_member(api: Api) -> None:
    assert upload(api, image_bytes(), login=None).status_code == 401
    with transaction(api.engine) as session:
        accounts.add_user(session, "citizen01", Role.PUBLIC, api.clock())
        api.tokens["citizen01"] = accounts.issue_token(session, "citizen01", api.clock())
    refused = upload(api, image_bytes(), login="citizen01")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_malformed_upload_requests_are_refused(api: Api) -> None:
    headers = api.auth("inspector01")
    missing = api.client.post(PHOTOS, files={"other": ("a.jpg", image_bytes(), "image/jpeg")},
                              headers=headers)
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_request"
    raw = api.client.post(PHOTOS, content=image_bytes(), headers={
        **headers, "Content-Type": "image/jpeg"})
    assert raw.status_code == 415
    broken = api.client.post(PHOTOS, content=b"--x\r\nno headers", headers={
        **headers, "Content-Type": "multipart/form-data"})
    assert broken.status_code == 400 and "multipart" in broken.json()["detail"]


def test_the_uploader_sees_an_unattached_photo_and_nobody_else(api: Api) -> None:
    photo_id = uploaded(api, image_bytes(), login="inspector02")
    for variant in ("", "thumb", "public"):
        assert fetch(api, photo_id, variant, "inspector02").status_code == 200
        assert fetch(api, photo_id, variant, "admin01").status_code == 404
        assert fetch(api, photo_id, variant, "handler_hw").status_code == 404
    assert fetch(api, photo_id, "", None).status_code == 401
    assert fetch(api, photo_id, "public", None).status_code == 401
    assert fetch(api, "0" * 64, "", "inspector02").status_code == 404
    assert fetch(api, "..", "", "inspector02").status_code == 404


def test_photos_of_a_case_follow_who_may_see_the_case(api: Api) -> None:
    photo_id = uploaded(api, image_bytes(exif=camera_exif()), login="inspector01")
    case_no = dispatched(api, "U-HW", (1, 1), photos=[photo_id])  # reported by inspector01
    with transaction(api.engine) as session:
        assert session.execute(select(case_photos.c.case_no)).scalars().all() == [case_no]
    for login in ("handler_hw", "leader_hw", "dispatcher01", "inspector01"):
        for variant in ("", "thumb", "public"):
            assert fetch(api, photo_id, variant, login).status_code == 200, (login, variant)
    for login in ("handler_zf", "inspector02"):  # another unit; an inspector of another grid
        for variant in ("", "thumb", "public"):
            assert fetch(api, photo_id, variant, login).status_code == 404, (login, variant)
    for variant in ("", "thumb", "public"):
        assert fetch(api, photo_id, variant, None).status_code == 401


def public_id_of(api: Api, photo_id: str) -> str:
    with transaction(api.engine) as session:
        return str(session.execute(select(photos.c.public_id)
                                   .where(photos.c.id == photo_id)).scalar_one())


def test_the_public_copy_is_anonymous_only_by_its_public_id_for_cases_the_public_sees(
        api: Api) -> None:
    photo_id = uploaded(api, image_bytes(exif=camera_exif()))
    public_id = public_id_of(api, photo_id)
    assert len(public_id) >= 20 and public_id not in photo_id
    # 流浪乞讨 is not reported by the public: its cases are not public without a tracking code.
    case_no = report(api, "inspector01", (1, 1), category_code="09003", photos=[photo_id])
    assert api.client.get(f"/api/v1/public/photos/{public_id}").status_code == 404
    with transaction(api.engine) as session:
        session.execute(update(cases).where(cases.c.case_no == case_no)
                        .values(tracking_code="ABCDEFGH23"))
    public = api.client.get(f"/api/v1/public/photos/{public_id}")
    assert public.status_code == 200 and public.headers["content-type"] == "image/jpeg"
    assert len(opened(public.content).getexif()) == 0
    assert photo_id not in public.headers["content-disposition"]
    for variant in ("", "thumb", "public"):  # by the content hash: staff only
        assert fetch(api, photo_id, variant, None).status_code == 401
    assert api.client.get(f"/api/v1/public/photos/{photo_id}").status_code in (404, 422)


def test_linking_photos_is_idempotent_and_refuses_unknown_ids(api: Api) -> None:
    photo_id = uploaded(api, image_bytes())  # by inspector01
    case_no = report(api)
    inspector = Principal("inspector01", Role.INSPECTOR, grids=frozenset(ALL_GRIDS))
    with transaction(api.engine) as session:
        link_photos(session, inspector, case_no, [photo_id, photo_id])
        link_photos(session, inspector, case_no, [photo_id])
        assert session.scalar(select(func.count()).select_from(case_photos)) == 1
        with pytest.raises(InvalidInput) as refused:
            link_photos(session, inspector, case_no, ["f" * 64])
    assert refused.value.code == "unknown_photo"
