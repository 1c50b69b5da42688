"""Backups (`xiuhua backup DIR`) and restores (`xiuhua restore DIR [--force]`).

A backup directory holds the database, the photos and a manifest:

- SQLite: ``xiuhua.db``, a copy made with SQLite's online backup API in one step (a read
  transaction: writers of a WAL database go on meanwhile, and the copy is the database as it
  was at one instant);
- PostgreSQL: ``xiuhua.dump``, ``pg_dump --format=custom`` of a snapshot exported by a
  repeatable-read transaction, which also counts the rows, so the counts are those of the dump;
- ``photos/``: the photo files (``XIUHUA_DATA_DIR/photos``), copied after the database: a file
  whose row came later is harmless (the sweeper removes it), a row never lacks its file;
- ``manifest.json``, written last (a directory without one is an unfinished backup): when,
  the backend, the schema revision, rows per table and the SHA-256 of every file.

A restore checks every checksum first, refuses a target database that already holds a city
(or a photo directory with files) unless forced, loads the database (SQLite's backup API in the
other direction; ``pg_restore`` in one transaction after dropping the target's tables), checks
the row counts against the manifest and puts the photos in place. The caller then migrates the
database to the code's revision (``xiuhua restore`` does)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from xiuhua import __version__
from xiuhua.domain.errors import InvalidInput
from xiuhua.store.backup import drop_all_tables, has_city_data, schema_revision, table_counts

MANIFEST = "manifest.json"
FORMAT = "xiuhua-backup/1"
DATABASE_FILES = {"sqlite": "xiuhua.db", "postgresql": "xiuhua.dump"}
PHOTOS = "photos"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says about one backup."""

    created_at: datetime
    backend: str
    revision: str | None
    counts: Mapping[str, int]
    files: Mapping[str, str]  # path inside the backup -> SHA-256
    xiuhua_version: str = __version__

    @property
    def database_file(self) -> str:
        return DATABASE_FILES[self.backend]

    @property
    def photo_files(self) -> int:
        return sum(1 for name in self.files if name.startswith(PHOTOS + "/"))

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "created_at": self.created_at.isoformat(),
                "xiuhua_version": self.xiuhua_version, "backend": self.backend,
                "database_file": self.database_file, "revision": self.revision,
                "counts": dict(self.counts), "photos": self.photo_files, "files": dict(self.files)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        if data.get("format") != FORMAT or data.get("backend") not in DATABASE_FILES:
            raise ValueError("unknown format")
        return cls(datetime.fromisoformat(data["created_at"]), data["backend"], data["revision"],
                   {str(k): int(v) for k, v in data["counts"].items()},
                   {str(k): str(v) for k, v in data["files"].items()},
                   str(data.get("xiuhua_version", "")))

    def __str__(self) -> str:
        return (f"备份时间 {self.created_at.isoformat(timespec='seconds')}，数据库版本 "
                f"{self.revision or '无'}，案件 {self.counts.get('cases', 0)} 件，"
                f"照片文件 {self.photo_files} 个")


def read_manifest(source: Path) -> Manifest:
    """The manifest of the backup in ``source`` (refused when missing or unreadable)."""
    path = source / MANIFEST
    if not path.is_file():
        raise InvalidInput(f"{source} 不是完整的备份：缺少 {MANIFEST}（备份未完成或目录有误）",
                           code="backup_not_found")
    try:
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"{path} 无法读取：{exc}", code="backup_corrupt") from None


# --- backing up -----------------------------------------------------------------------------


def backup(engine: Engine, data_dir: Path, target: Path, now: datetime | None = None) -> Manifest:
    """Write a backup of the database of ``engine`` and the photos under ``data_dir`` into the
    new or empty directory ``target``."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"备份目录 {target} 已存在且不为空：请指定新的目录（如按日期命名）",
                           code="backup_target_not_empty")
    target.mkdir(parents=True, exist_ok=True)
    backend = engine.dialect.name
    database = target / DATABASE_FILES.get(backend, "database")
    if backend == "sqlite":
        counts, revision = _sqlite_backup(engine, database)
    elif backend == "postgresql":
        counts, revision = _pg_backup(engine, database)
    else:  # pragma: no cover - only the two backends exist
        raise InvalidInput(f"不支持备份 {backend} 数据库", code="backup_unsupported")
    files = {database.name: _sha256(database)}
    files.update(_copy_photos(data_dir / PHOTOS, target / PHOTOS))
    manifest = Manifest(now or datetime.now(UTC), backend, revision, counts, files)
    _write_json(target / MANIFEST, manifest.to_json())
    return manifest


def _sqlite_backup(engine: Engine, copy: Path) -> tuple[dict[str, int], str | None]:
    source = sqlite3.connect(_sqlite_path(engine), timeout=30)
    destination = sqlite3.connect(copy)
    try:
        with destination:
            source.backup(destination)  # all pages in one step: one consistent snapshot
    finally:
        destination.close()
        source.close()
    return _sqlite_summary(copy)


def _sqlite_summary(path: Path) -> tuple[dict[str, int], str | None]:
    reader = create_engine(f"sqlite:///{path}")
    try:
        with reader.connect() as conn:
            return table_counts(conn), schema_revision(conn)
    finally:
        reader.dispose()


def _sqlite_path(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise InvalidInput("内存数据库无法备份", code="backup_unsupported")
    return database


def _pg_backup(engine: Engine, dump: Path) -> tuple[dict[str, int], str | None]:
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts, revision = table_counts(conn), schema_revision(conn)
            _pg_tool(engine, ["pg_dump", "--format=custom", f"--snapshot={snapshot}",
                              "--no-owner", "--no-privileges", f"--file={dump}"])
    return counts, revision


def _pg_tool(engine: Engine, args: list[str]) -> None:
    """Run pg_dump / pg_restore on the database of ``engine`` (the password in PGPASSWORD,
    not on the command line)."""
    url: URL = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    try:
        done = subprocess.run([*args, f"--dbname={target}"], env=env, capture_output=True,
                              text=True, check=False)
    except FileNotFoundError:
        raise InvalidInput(f"找不到 {args[0]}：请安装与数据库同版本的 PostgreSQL 客户端工具"
                           "（Debian：postgresql-client）", code="pg_tools_missing") from None
    if done.returncode != 0:
        raise InvalidInput(f"{args[0]} 失败：{done.stderr.strip()[-2000:]}", code="pg_tool_failed")


def _copy_photos(source: Path, target: Path) -> dict[str, str]:
    """Copy the photo files (not the temporary ones of uploads in progress); their checksums."""
    files: dict[str, str] = {}
    for path in _photo_files(source):
        relative = path.relative_to(source)
        copy = target / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        files[f"{PHOTOS}/{relative.as_posix()}"] = _copy_hashing(path, copy)
    return files


def _photo_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp"):
                yield path


def _copy_hashing(source: Path, target: Path) -> str:
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    shutil.copystat(source, target)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


# --- restoring ------------------------------------------------------------------------------


def verify(source: Path) -> Manifest:
    """The manifest, once every file it lists is present with its checksum."""
    manifest = read_manifest(source)
    bad = [name for name, digest in manifest.files.items()
           if not (source / name).is_file() or _sha256(source / name) != digest]
    if bad:
        listed = "、".join(bad[:5]) + ("等" if len(bad) > 5 else "")
        raise InvalidInput(f"备份 {source} 已损坏：{len(bad)} 个文件缺失或校验和不符（{listed}）",
                           code="backup_corrupt")
    return manifest


def restore(engine: Engine, data_dir: Path, source: Path, force: bool = False) -> Manifest:
    """Load the backup in ``source`` into the database of ``engine`` and ``data_dir/photos``.
    A target holding a city's data (or photo files) is refused unless ``force``."""
    manifest = verify(source)
    if manifest.backend != engine.dialect.name:
        raise InvalidInput(f"这是 {manifest.backend} 数据库的备份，不能恢复到 {engine.dialect.name} "
                           "数据库（不同数据库之间请用 xiuhua export cases / import cases）",
                           code="backup_backend_mismatch")
    photos = data_dir / PHOTOS
    if not force:
        _check_empty(engine, photos)
    database = source / manifest.database_file
    if manifest.backend == "sqlite":
        _sqlite_restore(engine, database)
    else:
        _pg_restore(engine, database)
    _check_counts(engine, manifest)
    _replace_photos(source / PHOTOS, photos)
    return manifest


def _check_empty(engine: Engine, photos: Path) -> None:
    with engine.connect() as conn:
        holds_city = has_city_data(conn)
    if holds_city or any(_photo_files(photos)):
        what = "数据库已有数据（区域、单位、用户或案件）" if holds_city else f"照片目录 {photos} 已有文件"
        raise InvalidInput(f"恢复目标不为空：{what}。确认要用备份覆盖时，加 --force",
                           code="restore_target_not_empty")


def _sqlite_restore(engine: Engine, database: Path) -> None:
    engine.dispose()  # no pooled connection keeps the old pages
    target = _sqlite_path(engine)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(database)
    destination = sqlite3.connect(target, timeout=30)
    try:
        with destination:
            source.backup(destination)  # replaces every page, in one transaction
    finally:
        destination.close()
        source.close()


def _pg_restore(engine: Engine, dump: Path) -> None:
    with engine.begin() as conn:
        drop_all_tables(conn)
    engine.dispose()
    _pg_tool(engine, ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                      "--single-transaction", str(dump)])


def _check_counts(engine: Engine, manifest: Manifest) -> None:
    with engine.connect() as conn:
        counts = table_counts(conn)
    wrong = [f"{name}（备份 {n} 行，恢复后 {counts.get(name, 0)} 行）"
             for name, n in manifest.counts.items() if counts.get(name, 0) != n]
    if wrong:
        raise InvalidInput(f"恢复后行数与备份清单不符：{'、'.join(wrong)}", code="restore_mismatch")


def _replace_photos(source: Path, photos: Path) -> None:
    """Put the backup's photos in place of ``photos`` (copied beside it, then swapped)."""
    incoming = photos.with_name(f".{photos.name}.restoring")
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    for path in _photo_files(source):
        copy = incoming / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    if photos.exists():
        old = photos.with_name(f".{photos.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(photos, old)
        shutil.rmtree(old, ignore_errors=True)
    os.replace(incoming, photos)


# --- the newest backup (xiuhua doctor) ------------------------------------------------------


def newest_manifest(root: Path) -> tuple[Path, Manifest] | None:
    """The most recent complete backup in ``root`` or its direct subdirectories."""
    found: list[tuple[Path, Manifest]] = []
    for folder in (root, *(p for p in root.iterdir() if p.is_dir())) if root.is_dir() else ():
        try:
            found.append((folder, read_manifest(folder)))
        except InvalidInput:
            continue
    return max(found, key=lambda pair: pair[1].created_at, default=None)
