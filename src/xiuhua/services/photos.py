"""Photos: uploads validated by their content (JPEG, PNG, WebP, HEIC), stored by content hash.

Each photo is kept three times under ``data_dir/photos/<id[:2]>/``: the original as uploaded
(staff only: it may carry the GPS position and the camera's metadata), a thumbnail and a public
copy, both re-encoded as JPEG with the EXIF orientation applied and every piece of metadata
stripped (个人信息保护法). The photo id is the SHA-256 of the original bytes, so identical
uploads are one photo. The time and place the photo was taken are read from its EXIF."""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.access import Principal, can_see
from xiuhua.domain.calendar import SHANGHAI
from xiuhua.domain.errors import DomainError, InvalidInput, NotFound, TooLarge
from xiuhua.domain.geo import validate_lonlat
from xiuhua.services.accounts import audit
from xiuhua.store.cases import dialect_name, load_case
from xiuhua.store.city import upsert
from xiuhua.store.tables import case_photos, photos

pillow_heif.register_heif_opener()
# Refuse "decompression bombs" (a small file of enormous dimensions): 60 million pixels covers
# the 50-megapixel cameras of current phones; Pillow raises DecompressionBombError beyond twice.
MAX_PIXELS = 60_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
THUMB_SIZE = 320
PUBLIC_SIZE = 2048
OPENERS = ("JPEG", "PNG", "WEBP", "HEIF")  # the only decoders an upload is offered to
# Pillow format -> content type (MPO: the multi-picture JPEG of many phone cameras; the JPEG
# opener returns it).
CONTENT_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png",
                 "WEBP": "image/webp", "HEIF": "image/heic"}
Variant = Literal["original", "thumb", "public"]
SUFFIXES: dict[Variant, str] = {"original": ".orig", "thumb": ".thumb.jpg", "public": ".public.jpg"}
_PHOTO_ID = re.compile(r"[0-9a-f]{64}")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
UNSUPPORTED = "无法识别的图片：仅支持 JPEG、PNG、WebP、HEIC 格式的照片"
CORRUPT = "图片文件已损坏或不完整，请重新拍摄或上传"
TOO_MANY_PIXELS = f"图片像素过多（超过 {MAX_PIXELS // 1_000_000} 百万像素），请缩小后再上传"


class PhotoTooLarge(TooLarge):
    """The upload is over ``settings.photo_max_bytes`` (answered 413 by the API)."""

    code = "photo_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"照片不能超过 {limit / 2**20:g} MB，请压缩后再上传")


class UnsupportedPhoto(InvalidInput):
    """Not an image of an accepted format, corrupt or truncated, or too many pixels."""

    code = "unsupported_photo"


@dataclass(frozen=True)
class Photo:
    """A stored photo; ``width`` and ``height`` as displayed (EXIF orientation applied)."""

    id: str
    content_type: str
    size: int
    width: int
    height: int
    taken_at: datetime | None
    lon: float | None
    lat: float | None
    uploaded_by: str | None
    uploaded_at: datetime


@dataclass(frozen=True)
class Decoded:
    """What a valid upload yields: its metadata and the two re-encoded copies."""

    content_type: str
    width: int
    height: int
    taken_at: datetime | None
    lon: float | None
    lat: float | None
    thumb: bytes
    public: bytes


# --- storing --------------------------------------------------------------------------------


def store_photo(session: Session, settings: Settings, data: bytes, filename: str | None,
                uploaded_by: str | None, at: datetime) -> str:
    """Validate an upload by its content, store its files and row, and return its id.

    Identical content is one photo: a second upload returns the same id and keeps the first
    row. Raises PhotoTooLarge or UnsupportedPhoto."""
    if len(data) > settings.photo_max_bytes:
        raise PhotoTooLarge(settings.photo_max_bytes)
    photo_id = hashlib.sha256(data).hexdigest()
    known = _row(session, photo_id) is not None
    if not (known and all(photo_path(settings, photo_id, v).exists() for v in SUFFIXES)):
        decoded = decode(data)
        _write_files(settings, photo_id, data, decoded)
        if not known:
            _insert_row(session, photo_id, data, decoded, uploaded_by, at)
    audit(session, at, uploaded_by, "photo_upload", photo_id,
          {"filename": _printable(filename or "")[:255] or None, "size": len(data),
           "duplicate": known})
    return photo_id


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())


def _insert_row(session: Session, photo_id: str, data: bytes, decoded: Decoded,
                uploaded_by: str | None, at: datetime) -> None:
    """Insert the row unless a concurrent upload of the same content did first."""
    dialect_insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    session.execute(dialect_insert(photos).values(
        id=photo_id, content_type=decoded.content_type, size=len(data), width=decoded.width,
        height=decoded.height, taken_at=decoded.taken_at, lon=decoded.lon, lat=decoded.lat,
        uploaded_by=uploaded_by, uploaded_at=at).on_conflict_do_nothing(index_elements=["id"]))


def _write_files(settings: Settings, photo_id: str, data: bytes, decoded: Decoded) -> None:
    contents: dict[Variant, bytes] = {"original": data, "thumb": decoded.thumb,
                                      "public": decoded.public}
    for variant, content in contents.items():
        path = photo_path(settings, photo_id, variant)
        if not path.exists():
            write_atomically(path, content)


def write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file in the same directory, then rename it into place: readers
    never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def link_photos(session: Session, case_no: str, photo_ids: Sequence[str]) -> None:
    """Attach stored photos to a case (idempotent); unknown ids raise ``unknown_photo``."""
    ids = list(dict.fromkeys(photo_ids))
    if not ids:
        return
    known = set(session.execute(select(photos.c.id).where(photos.c.id.in_(ids))).scalars())
    missing = [i for i in ids if i not in known]
    if missing:
        raise InvalidInput(f"照片不存在，请先上传：{'、'.join(missing)}", code="unknown_photo")
    upsert(session, case_photos, [{"case_no": case_no, "photo_id": i} for i in ids],
           ["case_no", "photo_id"])


# --- reading and serving --------------------------------------------------------------------


def photo_path(settings: Settings, photo_id: str, variant: Variant) -> Path:
    """Where one variant of a photo is kept (whether or not it exists)."""
    if not _PHOTO_ID.fullmatch(photo_id):
        raise NotFound("照片不存在", code="photo_not_found")
    return settings.data_dir / "photos" / photo_id[:2] / f"{photo_id}{SUFFIXES[variant]}"


def get_photo(session: Session, photo_id: str) -> Photo:
    row = _row(session, photo_id)
    if row is None:
        raise NotFound("照片不存在", code="photo_not_found")
    return Photo(row.id, row.content_type, row.size, row.width, row.height, row.taken_at,
                 row.lon, row.lat, row.uploaded_by, row.uploaded_at)


def _row(session: Session, photo_id: str) -> Any:
    return session.execute(select(photos).where(photos.c.id == photo_id)).first()


def may_see(session: Session, principal: Principal, photo: Photo) -> bool:
    """Staff see a photo of a case they may see; the uploader sees it until it is linked."""
    case_nos = session.execute(select(case_photos.c.case_no)
                               .where(case_photos.c.photo_id == photo.id)).scalars().all()
    if not case_nos:
        return photo.uploaded_by is not None and photo.uploaded_by == principal.login
    return principal.sees_all or any(can_see(principal, load_case(session, no)) for no in case_nos)


def stored_file(settings: Settings, photo: Photo, variant: Variant) -> Path:
    path = photo_path(settings, photo.id, variant)
    if not path.is_file():
        raise NotFound("照片文件不存在", code="photo_file_missing")
    return path


def media_type(photo: Photo, variant: Variant) -> str:
    return photo.content_type if variant == "original" else "image/jpeg"


def public_photo_path(session: Session, settings: Settings, photo_id: str) -> Path:
    """The public copy (no metadata) of a stored photo. Who may see it is the caller's
    decision: for the public, ``services.public.is_public_photo``."""
    return stored_file(settings, get_photo(session, photo_id), "public")


# --- decoding -------------------------------------------------------------------------------


def decode(data: bytes) -> Decoded:
    """Validate an image by its content and derive its metadata, thumbnail and public copy."""
    if not data:
        raise UnsupportedPhoto("文件为空，请选择照片")
    try:
        with Image.open(BytesIO(data), formats=OPENERS) as probe:
            probe.verify()
        with Image.open(BytesIO(data), formats=OPENERS) as image:
            return _decoded(image, data)
    except DomainError:
        raise
    except UnidentifiedImageError:
        raise UnsupportedPhoto(UNSUPPORTED) from None
    except Image.DecompressionBombError:
        raise UnsupportedPhoto(TOO_MANY_PIXELS) from None
    except Exception:  # a corrupt file can make a decoder fail in many ways
        raise UnsupportedPhoto(CORRUPT) from None


def _decoded(image: Image.Image, data: bytes) -> Decoded:
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise UnsupportedPhoto(TOO_MANY_PIXELS)
    exif = image.getexif()
    if exif.get(ExifTags.Base.Orientation) in (5, 6, 7, 8):  # turned a quarter
        width, height = height, width
    lon, lat = exif_position(exif)
    image.draft("RGB", (PUBLIC_SIZE, PUBLIC_SIZE))  # JPEG: decode big photos at a lower scale
    image.load()
    upright = ImageOps.exif_transpose(image)
    return Decoded(content_type=_content_type(image, data), width=width, height=height,
                   taken_at=exif_taken_at(exif), lon=lon, lat=lat,
                   thumb=clean_jpeg(upright, THUMB_SIZE, quality=80),
                   public=clean_jpeg(upright, PUBLIC_SIZE, quality=85))


def _content_type(image: Image.Image, data: bytes) -> str:
    if image.format == "HEIF":
        return pillow_heif.get_file_mimetype(data) or CONTENT_TYPES["HEIF"]
    return CONTENT_TYPES[str(image.format)]


def clean_jpeg(image: Image.Image, size: int, quality: int) -> bytes:
    """A JPEG copy no larger than ``size`` pixels a side, in sRGB, without any metadata."""
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    rgb = _to_rgb(copy)
    rgb.info = {}  # no EXIF, XMP, ICC profile or comment follows the pixels
    buffer = BytesIO()
    rgb.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels: transparency over white, colours converted to sRGB from any ICC profile."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unusable profile: keep the pixel values as they are
    return image.convert("RGB")


# --- EXIF -----------------------------------------------------------------------------------


def exif_taken_at(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal, in OffsetTimeOriginal's zone if given, else China Standard Time."""
    tags = exif.get_ifd(ExifTags.IFD.Exif)
    return parse_exif_time(tags.get(ExifTags.Base.DateTimeOriginal),
                           tags.get(ExifTags.Base.OffsetTimeOriginal))


def parse_exif_time(value: object, offset: object = None) -> datetime | None:
    """``2026:10:16 08:30:00`` (+ ``+09:00``) as an aware UTC datetime; None if unreadable."""
    text = _text(value)
    try:
        local = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone: tzinfo = _zone(_text(offset)) or SHANGHAI
    return local.replace(tzinfo=zone).astimezone(UTC)


def _zone(text: str) -> timezone | None:
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    minutes = int(match[2]) * 60 + int(match[3])
    if minutes > 14 * 60 or int(match[3]) >= 60:
        return None
    return timezone(timedelta(minutes=-minutes if match[1] == "-" else minutes))


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else ""


def exif_position(exif: Image.Exif) -> tuple[float | None, float | None]:
    """The GPS position (WGS-84) as decimal (lon, lat); (None, None) if absent or unusable."""
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    lat = dms_degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lon = dms_degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef),
                      "W")
    if lon is None or lat is None or (lon == 0 and lat == 0):  # 0/0: a receiver without a fix
        return None, None
    try:
        return validate_lonlat(lon, lat)
    except InvalidInput:
        return None, None


def dms_degrees(dms: object, ref: object, negative: str) -> float | None:
    """Degrees, minutes, seconds (EXIF rationals) and a hemisphere reference as signed degrees."""
    try:
        degrees, minutes, seconds = (float(part) for part in dms)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not all(math.isfinite(v) and v >= 0 for v in (degrees, minutes, seconds)):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    return -value if _text(ref).upper() == negative else value
