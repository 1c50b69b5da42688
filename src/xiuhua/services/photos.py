"""Photos: uploads validated by their content (JPEG, PNG, WebP, HEIC), stored by content hash.

Each photo is kept three times under ``data_dir/photos/<id[:2]>/``: the original as uploaded
(staff only: it may carry the GPS position and the camera's metadata), a thumbnail and a public
copy, both re-encoded as JPEG with the EXIF orientation applied and every piece of metadata
stripped (个人信息保护法). The photo id is the SHA-256 of the original bytes, so identical
uploads are one photo; every uploader is recorded (``photo_uploads``). The time and place the
photo was taken are read from its EXIF.

Who may see a photo, and so link it to a case, an assessment entry …: ``domain.photos``, with
the objects a photo is linked to loaded here (:data:`LINKED`, one loader per kind). The public
reaches a photo only by its random ``public_id``, and only its public copy.

Memory: an image is refused by its header's dimensions before any pixel is decoded (JPEG and
HEIC up to 64 megapixels, for today's 50-megapixel phone cameras; PNG and WebP, which are
screenshots and graphics rather than camera photos and cannot be decoded at a reduced scale, up
to 25); a JPEG is decoded at the smallest scale that still gives the public copy its size; the
decoded pixels are reduced in place at once; one large image at a time per process
(:data:`DECODING`), and the freed memory is handed back to the system afterwards (glibc's
``malloc_trim``). Files written for an upload whose transaction does not commit (a refused
report, a refused action) are removed at once; :func:`sweep_orphans` removes the rest."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import math
import os
import platform
import re
import secrets
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from io import BytesIO
from pathlib import Path
from typing import IO, Any, Literal

import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import Engine, delete, event, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from xiuhua.config import Settings
from xiuhua.domain.access import LeadUnitScope, Principal, TaskScope
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import RoundState
from xiuhua.domain.errors import DomainError, InvalidInput, NotFound, TooLarge
from xiuhua.domain.geo import validate_lonlat
from xiuhua.domain.photos import (
    DeductionScope,
    EntryScope,
    Linked,
    LinkKind,
    check_photo_count,
    may_see_photo,
    unknown_photos,
)
from xiuhua.services.accounts import audit
from xiuhua.store import legacy as legacy_store
from xiuhua.store import plans as plans_store
from xiuhua.store import projects as projects_store
from xiuhua.store.cases import dialect_name, load_case
from xiuhua.store.city import upsert
from xiuhua.store.db import transaction
from xiuhua.store.evaluation import photo_deductions
from xiuhua.store.tables import (
    assessment_entries,
    case_photos,
    legacy_progress_photos,
    photo_uploads,
    photos,
    plan_progress_photos,
    project_progress_photos,
    round_deduction_photos,
)

pillow_heif.register_heif_opener()
# Refuse "decompression bombs" (a small file of enormous dimensions) by the dimensions in the
# header, per format: 64 million pixels covers the 50-megapixel cameras of current phones
# (JPEG, HEIC); PNG and WebP are decoded whole, 4 bytes a pixel at most, so 25 million (100 MB).
MAX_PIXELS = {"JPEG": 64_000_000, "MPO": 64_000_000, "HEIF": 64_000_000,
              "PNG": 25_000_000, "WEBP": 25_000_000}
# Pillow's own guard (DecompressionBombError beyond twice this) for any decoder; its warning
# above it is ours to give (the limits above), not the log's.
Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS.values())
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
# Images of more pixels than this are decoded one at a time per process, memory handed back after.
LARGE_PIXELS = 4_000_000
DECODING = threading.Lock()
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
# Unlinked photos and stray files are kept this long (an upload waits for its report or action).
ORPHAN_GRACE = timedelta(hours=24)


def too_many_pixels(image_format: str) -> str:
    limit = MAX_PIXELS.get(image_format, min(MAX_PIXELS.values())) // 1_000_000
    name = {"MPO": "JPEG", "HEIF": "HEIC", "WEBP": "WebP"}.get(image_format, image_format)
    return f"图片像素过多（{name} 图片不能超过 {limit} 百万像素），请缩小后再上传"


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
    uploaded_by: str | None  # the first uploader
    uploaded_at: datetime
    public_id: str  # the public copy's address, unrelated to the content


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


@dataclass(frozen=True)
class Upload:
    """A photo file sent with a report or a form: its content, or the file to read it from (read
    only once the report is found valid, at most one byte past the size limit)."""

    data: bytes | IO[bytes]
    filename: str | None = None

    def content(self, settings: Settings) -> bytes:
        if isinstance(self.data, bytes):
            return self.data
        return self.data.read(settings.photo_max_bytes + 1)


def store_uploads(session: Session, settings: Settings, uploads: Sequence[Upload],
                  uploaded_by: str | None, at: datetime) -> list[str]:
    """The photo files of one report, step or progress entry (at most ``MAX_PHOTOS``), each
    validated and stored as :func:`store_photo` does; their ids, in order."""
    check_photo_count(len(uploads))
    return [store_photo(session, settings, u.content(settings), u.filename, uploaded_by, at)
            for u in uploads]


def store_photo(session: Session, settings: Settings, data: bytes, filename: str | None,
                uploaded_by: str | None, at: datetime) -> str:
    """Validate an upload by its content, store its files and row, record its uploader
    (``None``: someone anonymous) and return its id.

    Identical content is one photo: a second upload returns the same id and keeps the first
    row. Files written for a new photo are removed again if the transaction does not commit.
    Raises PhotoTooLarge or UnsupportedPhoto."""
    if len(data) > settings.photo_max_bytes:
        raise PhotoTooLarge(settings.photo_max_bytes)
    photo_id = hashlib.sha256(data).hexdigest()
    known = _row(session, photo_id) is not None
    if not (known and all(photo_path(settings, photo_id, v).exists() for v in SUFFIXES)):
        decoded = decode(data)
        written = _write_files(settings, photo_id, data, decoded)
        if not known:
            _insert_row(session, photo_id, data, decoded, uploaded_by, at)
            discard_unless_committed(session, written)
    _record_upload(session, photo_id, uploaded_by, at)
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
        uploaded_by=uploaded_by, uploaded_at=at, public_id=secrets.token_urlsafe(16),
    ).on_conflict_do_nothing(index_elements=["id"]))


def _record_upload(session: Session, photo_id: str, uploaded_by: str | None,
                   at: datetime) -> None:
    """One row per uploader (a login once; each anonymous upload, with its report)."""
    if uploaded_by is not None and session.execute(select(photo_uploads.c.id).where(
            photo_uploads.c.photo_id == photo_id,
            photo_uploads.c.uploaded_by == uploaded_by).limit(1)).first():
        return
    session.execute(photo_uploads.insert().values(photo_id=photo_id, uploaded_by=uploaded_by,
                                                  uploaded_at=at))


def _write_files(settings: Settings, photo_id: str, data: bytes,
                 decoded: Decoded) -> list[Path]:
    """Write the missing files of a photo; the paths written."""
    contents: dict[Variant, bytes] = {"original": data, "thumb": decoded.thumb,
                                      "public": decoded.public}
    written = []
    for variant, content in contents.items():
        path = photo_path(settings, photo_id, variant)
        if not path.exists():
            write_atomically(path, content)
            written.append(path)
    return written


def write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file in the same directory, then rename it into place: readers
    never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# --- files of uploads that did not commit ---------------------------------------------------

TEMP_PREFIX = ".tmp-"
# Keys in Session.info: files written per (sub)transaction, and the transactions committed.
_PENDING = "xiuhua.photos.uncommitted_files"
_COMMITTED = "xiuhua.photos.committed_transactions"


def discard_unless_committed(session: Session, paths: Iterable[Path]) -> None:
    """Remove these files when the current transaction (or savepoint) ends without
    committing (a refused report or action: the original, with its GPS position, must not
    stay behind). A savepoint's files pass to its parent when it is released."""
    current = session.get_nested_transaction() or session.get_transaction()
    if current is not None:
        session.info.setdefault(_PENDING, {}).setdefault(current, []).extend(paths)


@event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    if _PENDING in session.info:  # fired for a released savepoint too: the innermost one
        current = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_COMMITTED, set()).add(current)


@event.listens_for(Session, "after_transaction_end")
def _settle_files(session: Session, trans: SessionTransaction) -> None:
    pending: dict[SessionTransaction, list[Path]] | None = session.info.get(_PENDING)
    if not pending:
        return
    files = pending.pop(trans, [])
    committed = trans in session.info.get(_COMMITTED, set())
    session.info.get(_COMMITTED, set()).discard(trans)
    if committed and trans.parent is not None:
        pending.setdefault(trans.parent, []).extend(files)
    elif not committed:
        for path in files:
            path.unlink(missing_ok=True)
    if not pending:
        session.info.pop(_PENDING, None)
        session.info.pop(_COMMITTED, None)


# --- who may see a photo, and linking it ----------------------------------------------------


def _linked_cases(session: Session, photo_id: str) -> Iterator[object]:
    case_nos = session.execute(select(case_photos.c.case_no)
                               .where(case_photos.c.photo_id == photo_id)).scalars().all()
    return (load_case(session, no) for no in case_nos)


def _linked_entries(session: Session, photo_id: str) -> Iterator[object]:
    units = session.execute(select(assessment_entries.c.unit_code).distinct()
                            .where(assessment_entries.c.photo_id == photo_id)).scalars().all()
    return (EntryScope(unit) for unit in units)


def _linked_project_reports(session: Session, photo_id: str) -> Iterator[object]:
    return (LeadUnitScope(u) for u in projects_store.lead_units_of_photo(session, photo_id))


def _linked_legacy_entries(session: Session, photo_id: str) -> Iterator[object]:
    return (LeadUnitScope(u) for u in legacy_store.lead_units_of_photo(session, photo_id))


def _linked_deductions(session: Session, photo_id: str) -> Iterator[object]:
    return (DeductionScope(RoundState(r.state), r.unit_code) for r in photo_deductions(session, photo_id))


# Per kind of object: the objects a photo is linked to, as the kind's rule takes them
# (domain.photos.VISIBILITY), loaded lazily; and the column naming the photo (orphan sweep).
def _linked_plan_tasks(session: Session, photo_id: str) -> Iterator[object]:
    task_ids = plans_store.tasks_of_photo(session, photo_id)
    if not task_ids:
        return iter(())
    coop = plans_store.cooperating(session, task_ids)
    return (TaskScope(t.lead_unit, coop.get(t.id, frozenset())) for t in plans_store.tasks(session, ids=task_ids))


LINKED: dict[LinkKind, Callable[[Session, str], Iterator[object]]] = {
    LinkKind.CASE: _linked_cases,
    LinkKind.ASSESSMENT_ENTRY: _linked_entries,
    LinkKind.PROJECT_PROGRESS: _linked_project_reports,
    LinkKind.LEGACY_PROGRESS: _linked_legacy_entries,
    LinkKind.PLAN_PROGRESS: _linked_plan_tasks,
    LinkKind.ROUND_DEDUCTION: _linked_deductions,
}
LINK_COLUMNS = {LinkKind.CASE: case_photos.c.photo_id,
                LinkKind.ASSESSMENT_ENTRY: assessment_entries.c.photo_id,
                LinkKind.PROJECT_PROGRESS: project_progress_photos.c.photo_id,
                LinkKind.LEGACY_PROGRESS: legacy_progress_photos.c.photo_id,
                LinkKind.PLAN_PROGRESS: plan_progress_photos.c.photo_id,
                LinkKind.ROUND_DEDUCTION: round_deduction_photos.c.photo_id}


def _links(session: Session, photo_id: str) -> Iterator[Linked]:
    for kind, load in LINKED.items():
        for subject in load(session, photo_id):
            yield Linked(kind, subject)


def uploaders(session: Session, photo_id: str) -> list[str | None]:
    return list(session.execute(select(photo_uploads.c.uploaded_by)
                                .where(photo_uploads.c.photo_id == photo_id)).scalars())


def may_see(session: Session, principal: Principal | None, photo_id: str) -> bool:
    """The rule of ``domain.photos.may_see_photo`` on what the database knows of the photo."""
    return may_see_photo(principal, uploaders(session, photo_id), _links(session, photo_id))


def check_may_link(session: Session, principal: Principal | None, photo_ids: Iterable[str],
                   code: str = "unknown_photo",
                   refuse: Callable[[list[str]], DomainError] | None = None) -> list[str]:
    """The ids, each once, if every one is a stored photo that ``principal`` may see (None:
    someone anonymous, who sees none). Otherwise refused (``refuse``, default 422 ``code``),
    alike for photos that do not exist and those of others. Every path that links a photo to
    anything calls this first."""
    ids = list(dict.fromkeys(photo_ids))
    if not ids:
        return ids
    known = set(session.execute(select(photos.c.id).where(photos.c.id.in_(ids))).scalars())
    refused = [i for i in ids if i not in known or not may_see(session, principal, i)]
    if refused:
        raise refuse(refused) if refuse else unknown_photos(refused, code)
    return ids


def check_exists(session: Session, photo_ids: Iterable[str],
                 refuse: Callable[[list[str]], DomainError] | None = None) -> list[str]:
    """For the operator on the command line (trusted: the server's own account, who could
    read every file anyway): the photos must exist, nothing more."""
    ids = list(dict.fromkeys(photo_ids))
    known = set(session.execute(select(photos.c.id).where(photos.c.id.in_(ids))).scalars())
    missing = [i for i in ids if i not in known]
    if missing:
        raise refuse(missing) if refuse else unknown_photos(missing)
    return ids


def link_photos(session: Session, principal: Principal | None, case_no: str,
                photo_ids: Sequence[str]) -> None:
    """Attach photos ``principal`` may see to a case (idempotent); others are refused."""
    attach_to_case(session, case_no, check_may_link(session, principal, photo_ids))


def attach_to_case(session: Session, case_no: str, photo_ids: Sequence[str]) -> None:
    """Attach photos to a case, unchecked: only for photos just uploaded by the same request
    (an anonymous report's own files) or checked by :func:`check_may_link`."""
    ids = list(dict.fromkeys(photo_ids))
    if ids:
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
                 row.lon, row.lat, row.uploaded_by, row.uploaded_at, row.public_id)


def _row(session: Session, photo_id: str) -> Any:
    return session.execute(select(photos).where(photos.c.id == photo_id)).first()


def visible_photo(session: Session, principal: Principal, photo_id: str) -> Photo:
    """The photo if ``principal`` may see it; otherwise it does not exist for them."""
    photo = get_photo(session, photo_id)
    if not may_see(session, principal, photo.id):
        raise NotFound("照片不存在", code="photo_not_found")
    return photo


def public_ids(session: Session, photo_ids: Iterable[str]) -> dict[str, str]:
    """photo id → public id, for the photos of a public answer."""
    ids = list(dict.fromkeys(photo_ids))
    if not ids:
        return {}
    rows = session.execute(select(photos.c.id, photos.c.public_id).where(photos.c.id.in_(ids)))
    return {row.id: row.public_id for row in rows}


def photo_by_public_id(session: Session, public_id: str) -> Photo:
    found = session.execute(select(photos.c.id).where(photos.c.public_id == public_id)).scalar()
    if found is None:
        raise NotFound("照片不存在", code="photo_not_found")
    return get_photo(session, found)


def stored_file(settings: Settings, photo: Photo, variant: Variant) -> Path:
    path = photo_path(settings, photo.id, variant)
    if not path.is_file():
        raise NotFound("照片文件不存在", code="photo_file_missing")
    return path


def media_type(photo: Photo, variant: Variant) -> str:
    return photo.content_type if variant == "original" else "image/jpeg"


# --- sweeping orphans -----------------------------------------------------------------------


@dataclass(frozen=True)
class OrphanSweep:
    """What one sweep removed: photos never linked within the grace period (rows and files)
    and stray files without a row (an upload whose process died before committing)."""

    photos: int = 0
    files: int = 0


def sweep_orphans(engine: Engine, data_dir: Path, now: datetime,
                  grace: timedelta = ORPHAN_GRACE) -> OrphanSweep:
    """Remove the photos uploaded before ``now - grace`` and linked to nothing, and the files
    older than that without a photo row."""
    cutoff = now - grace
    with transaction(engine) as session:
        unlinked = [~exists().where(column == photos.c.id) for column in LINK_COLUMNS.values()]
        stale = list(session.execute(select(photos.c.id).where(
            photos.c.uploaded_at < cutoff, *unlinked)).scalars())
        if stale:
            session.execute(delete(photo_uploads).where(photo_uploads.c.photo_id.in_(stale)))
            session.execute(delete(photos).where(photos.c.id.in_(stale)))
    removed = sum(_unlink(path) for photo_id in stale for path in _files_of(data_dir, photo_id))
    return OrphanSweep(photos=len(stale), files=removed + _stray_files(engine, data_dir, cutoff))


def _files_of(data_dir: Path, photo_id: str) -> list[Path]:
    return [data_dir / "photos" / photo_id[:2] / f"{photo_id}{suffix}"
            for suffix in SUFFIXES.values()]


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def _stray_files(engine: Engine, data_dir: Path, cutoff: datetime) -> int:
    """Files older than ``cutoff`` whose photo has no row (or temporary files left behind)."""
    root = data_dir / "photos"
    if not root.is_dir():
        return 0
    old = cutoff.timestamp()
    candidates: dict[str, list[Path]] = {}
    for path in root.glob("*/*"):
        if path.is_file() and path.stat().st_mtime < old:
            candidates.setdefault(path.name.split(".", 1)[0], []).append(path)
    removed = sum(_unlink(p) for p in candidates.pop("", []))  # ".tmp-…" files
    with transaction(engine) as session:
        for chunk in _chunks(list(candidates), 500):
            for known in session.execute(select(photos.c.id).where(photos.c.id.in_(chunk))
                                         ).scalars():
                candidates.pop(known, None)
    return removed + sum(_unlink(p) for paths in candidates.values() for p in paths)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- decoding -------------------------------------------------------------------------------


def decode(data: bytes) -> Decoded:
    """Validate an image by its content and derive its metadata, thumbnail and public copy."""
    if not data:
        raise UnsupportedPhoto("文件为空，请选择照片")
    try:
        with Image.open(BytesIO(data), formats=OPENERS) as probe:
            _check_pixels(probe)  # from the header, before any pixel is decoded
            probe.verify()
        with Image.open(BytesIO(data), formats=OPENERS) as image:
            return _decoded(image, data)
    except DomainError:
        raise
    except UnidentifiedImageError:
        raise UnsupportedPhoto(UNSUPPORTED) from None
    except Image.DecompressionBombError:
        raise UnsupportedPhoto(too_many_pixels("")) from None
    except Exception:  # a corrupt file can make a decoder fail in many ways
        raise UnsupportedPhoto(CORRUPT) from None


def _check_pixels(image: Image.Image) -> None:
    image_format = str(image.format)
    width, height = image.size
    if width * height > MAX_PIXELS.get(image_format, min(MAX_PIXELS.values())):
        raise UnsupportedPhoto(too_many_pixels(image_format))


def _decoded(image: Image.Image, data: bytes) -> Decoded:
    _check_pixels(image)
    width, height = image.size
    exif = image.getexif()
    if exif.get(ExifTags.Base.Orientation) in (5, 6, 7, 8):  # turned a quarter
        width, height = height, width
    lon, lat = exif_position(exif)
    with decoding(width * height):
        image.draft("RGB", (PUBLIC_SIZE, PUBLIC_SIZE))  # JPEG: decoded at a lower scale
        image.load()
        # in place: the full-size pixels are let go before the copies are made
        image.thumbnail((PUBLIC_SIZE, PUBLIC_SIZE), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(image)
        public = clean_jpeg(upright, PUBLIC_SIZE, quality=85)
        thumb = clean_jpeg(upright, THUMB_SIZE, quality=80)
    return Decoded(content_type=_content_type(image, data), width=width, height=height,
                   taken_at=exif_taken_at(exif), lon=lon, lat=lat, thumb=thumb, public=public)


@contextmanager
def decoding(pixels: int) -> Iterator[None]:
    """Decode an image of this many pixels: a large one alone in the process (:data:`DECODING`)
    and its memory handed back to the system when done."""
    if pixels <= LARGE_PIXELS:
        yield
        return
    with DECODING:
        try:
            yield
        finally:
            release_memory()


def _load_trim() -> Callable[[int], int] | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _load_trim()


def release_memory() -> None:
    """Give freed heap memory back to the system (glibc keeps large freed blocks otherwise: a
    decoded image's pages would stay in the process's resident set)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


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
    zone: tzinfo = _zone(_text(offset)) or local_zone()
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
