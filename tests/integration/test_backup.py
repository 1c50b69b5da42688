"""`xiuhua backup DIR` and `xiuhua restore DIR [--force]` on SQLite and PostgreSQL: a restore
into a fresh database exports the same cases and serves the same photos; a backup taken while a
writer is busy is one consistent instant; a non-empty target is refused without --force; a
damaged backup is refused before anything is touched."""

from __future__ import annotations

import io
import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from tests.factories import SHIFT, act, build_tiny_city, center, cli_database, report, xiuhua
from tests.integration.databases import empty_database
from xiuhua.config import Settings
from xiuhua.domain.choices import Action
from xiuhua.domain.errors import InvalidInput
from xiuhua.services.backup import MANIFEST, Manifest, backup, read_manifest, restore
from xiuhua.services.interchange import export_cases
from xiuhua.services.photos import attach_to_case, store_photo
from xiuhua.store.db import transaction
from xiuhua.store.migrate import current_revision, head_revision, upgrade
from xiuhua.store.tables import case_events, cases

AT = datetime(2026, 10, 16, 1, 0, tzinfo=UTC)


def jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def city_with_cases(engine: Engine, data_dir: Path) -> None:
    """The tiny city, three cases (one filed) and a photo on one of them."""
    build_tiny_city(engine)
    numbers = [report(engine, AT + timedelta(minutes=n), lon=center(0, n)[0], lat=center(0, n)[1])
               for n in range(3)]
    act(engine, numbers[0], Action.FILE, AT + timedelta(hours=1), SHIFT)
    settings = Settings(data_dir=data_dir, secret_key="test")
    with transaction(engine) as session:
        photo = store_photo(session, settings, jpeg((200, 30, 30)), "a.jpg", "inspector01", AT)
        attach_to_case(session, numbers[1], [photo])


def exported(engine: Engine) -> str:
    out = io.StringIO()
    export_cases(engine, out)
    return out.getvalue()


def photo_files(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "photos"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def fresh(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the same backend, not even migrated."""
    with empty_database(engine, tmp_path) as other:
        yield other


def test_a_restore_into_a_fresh_database_exports_the_same_cases(
        engine: Engine, fresh: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    city_with_cases(engine, data)
    before = exported(engine)
    for _ in cli_database(engine, data, monkeypatch):
        done = xiuhua("backup", str(tmp_path / "bk"))
        assert done.exit_code == 0, done.output
        assert "已备份到" in done.output and "案件 3 件" in done.output
    manifest = json.loads((tmp_path / "bk" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["backend"] == engine.dialect.name and manifest["revision"] == head_revision()
    assert manifest["counts"]["cases"] == 3 and manifest["photos"] == 3  # original, thumb, public
    assert all(len(digest) == 64 for digest in manifest["files"].values())

    restored_data = tmp_path / "restored"
    for _ in cli_database(fresh, restored_data, monkeypatch):
        done = xiuhua("restore", str(tmp_path / "bk"))
        assert done.exit_code == 0, done.output
        assert "已从" in done.output
    assert exported(fresh) == before
    assert photo_files(restored_data) == photo_files(data)


def test_a_non_empty_target_is_refused_without_force(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    city_with_cases(engine, data)
    backup(engine, data, tmp_path / "bk")
    late = report(engine, AT + timedelta(hours=3), lon=center(1, 1)[0], lat=center(1, 1)[1])
    for _ in cli_database(engine, data, monkeypatch):
        refused = xiuhua("restore", str(tmp_path / "bk"))
        assert refused.exit_code == 1
        assert "restore_target_not_empty" in refused.output and "--force" in refused.output
        with transaction(engine) as session:
            assert session.execute(select(func.count()).select_from(cases)).scalar() == 4
        again = xiuhua("backup", str(tmp_path / "bk"))
        assert again.exit_code == 1 and "backup_target_not_empty" in again.output
        forced = xiuhua("restore", str(tmp_path / "bk"), "--force")
        assert forced.exit_code == 0, forced.output
    engine.dispose()
    with transaction(engine) as session:
        numbers = set(session.execute(select(cases.c.case_no)).scalars())
    assert len(numbers) == 3 and late not in numbers


def test_a_damaged_backup_is_refused_before_anything_changes(
        engine: Engine, fresh: Engine, tmp_path: Path) -> None:
    data = tmp_path / "data"
    city_with_cases(engine, data)
    manifest = backup(engine, data, tmp_path / "bk")
    photo = next(name for name in manifest.files if name.startswith("photos/"))
    (tmp_path / "bk" / photo).write_bytes(b"not the photo")
    with pytest.raises(InvalidInput, match="已损坏") as refused:
        restore(fresh, tmp_path / "restored", tmp_path / "bk")
    assert refused.value.code == "backup_corrupt"
    assert not (tmp_path / "restored").exists()
    (tmp_path / "bk" / MANIFEST).unlink()
    with pytest.raises(InvalidInput, match=r"manifest\.json"):
        read_manifest(tmp_path / "bk")


def test_a_backup_while_a_writer_is_busy_is_one_consistent_instant(
        engine: Engine, fresh: Engine, tmp_path: Path) -> None:
    """A writer reports cases (each a case row and its events, in one transaction) while two
    backups are taken: each restores to a database where every case has its report event and
    the counts are the manifest's."""
    data = tmp_path / "data"
    build_tiny_city(engine)
    stop, written = threading.Event(), [0]

    def writer() -> None:
        n = 0
        while not stop.is_set():
            lon, lat = center(n % 3, (n // 3) % 3)
            report(engine, AT + timedelta(seconds=n), lon=lon, lat=lat)
            n += 1
            written[0] = n

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        manifests: list[Manifest] = []
        for name in ("bk1", "bk2"):
            enough = 5 + (manifests[-1].counts["cases"] if manifests else 0)
            while written[0] < enough and thread.is_alive():
                stop.wait(0.01)
            manifests.append(backup(engine, data, tmp_path / name))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert 0 < manifests[0].counts["cases"] < manifests[1].counts["cases"] <= written[0]
    for name, manifest in (("bk1", manifests[0]), ("bk2", manifests[1])):
        restore(fresh, tmp_path / f"data-{name}", tmp_path / name, force=True)
        with transaction(fresh) as session:
            total = session.execute(select(func.count()).select_from(cases)).scalar()
            reported = session.execute(select(func.count(func.distinct(case_events.c.case_no)))).scalar()
        assert total == reported == manifest.counts["cases"]
        assert manifest.counts["case_events"] >= total


def test_backup_and_restore_are_documented() -> None:
    deploy = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text(encoding="utf-8")
    section = deploy.split("## 9. Backups", 1)[1].split("\n## ", 1)[0]
    assert "xiuhua backup" in section and "xiuhua restore" in section and "--force" in section
    assert shutil.which("pg_dump") is not None or "postgresql-client" in section


def test_a_backup_before_an_upgrade_keeps_the_old_schema_and_its_restore_migrates(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upgrading (docs/deploy.md section 10): the new code is installed, then the backup is
    taken; it must be the database as it was (not migrated first), and restoring it upgrades."""
    with empty_database(engine, tmp_path / "old") as old, empty_database(engine, tmp_path / "new") as new:
        upgrade(old, "0007")
        for _ in cli_database(old, tmp_path / "data", monkeypatch):
            done = xiuhua("backup", str(tmp_path / "bk"))
            assert done.exit_code == 0, done.output
        assert read_manifest(tmp_path / "bk").revision == "0007" and current_revision(old) == "0007"
        for _ in cli_database(new, tmp_path / "restored", monkeypatch):
            done = xiuhua("restore", str(tmp_path / "bk"))
            assert done.exit_code == 0, done.output
        assert current_revision(new) == head_revision()
