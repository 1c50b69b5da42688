"""`xiuhua doctor`: a production-ready setup passes; each thing an operator gets wrong fails (or
warns) with a Chinese explanation and its fix, and the command exits 1 on a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.factories import build_tiny_city, cli_database, xiuhua
from xiuhua.config import Settings
from xiuhua.services.backup import backup
from xiuhua.services.doctor import GIB, Finding, Level, diagnose, disk_finding, failed
from xiuhua.store.migrate import head_revision

NOW = datetime(2026, 10, 16, 2, 0, tzinfo=UTC)  # a Friday in October: 2026 is official, 2027 not due


def ready(tmp_path: Path, **changes: Any) -> Settings:
    """The settings of a careful production setup (then ``changes``)."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "secret_key": "s" * 48, "cookie_secure": True,
        "public_base_url": "https://cg.example.gov.cn", "backup_dir": tmp_path / "backups"}
    return Settings(**{**values, **changes})


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


@pytest.fixture
def city(engine: Engine, tmp_path: Path) -> Engine:
    build_tiny_city(engine)
    backup(engine, tmp_path / "data", tmp_path / "backups" / "2026-10-15", now=NOW - timedelta(hours=20))
    return engine


def test_a_careful_setup_passes_every_check(city: Engine, tmp_path: Path) -> None:
    findings = diagnose(ready(tmp_path), city, NOW)
    assert [f for f in findings if f.level is not Level.OK] == []
    assert not failed(findings)
    checks = by_check(findings)
    assert set(checks) == {"公开地址", "安全 Cookie", "时区", "数据库版本", "工作日历", "备份", "磁盘空间"}
    assert "20.0 小时前" in checks["备份"].message and head_revision() in checks["数据库版本"].message


def test_settings_that_break_a_production_site_fail_with_their_fix(city: Engine, tmp_path: Path) -> None:
    plain_cookies = by_check(diagnose(ready(tmp_path, cookie_secure=False), city, NOW))["安全 Cookie"]
    assert plain_cookies.level is Level.FAIL and "XIUHUA_COOKIE_SECURE=true" in plain_cookies.fix
    over_http = by_check(diagnose(ready(tmp_path, public_base_url="http://cg.example.gov.cn"), city, NOW))
    assert over_http["安全 Cookie"].level is Level.FAIL and "无法登录" in over_http["安全 Cookie"].message
    assert over_http["公开地址"].level is Level.WARN and "定位" in over_http["公开地址"].message
    unset = by_check(diagnose(ready(tmp_path, public_base_url=""), city, NOW))["公开地址"]
    assert unset.level is Level.FAIL and "XIUHUA_PUBLIC_BASE_URL" in unset.fix and "伪造" in unset.message


def test_an_old_or_missing_backup_fails(city: Engine, tmp_path: Path) -> None:
    later = by_check(diagnose(ready(tmp_path), city, NOW + timedelta(days=2)))["备份"]
    assert later.level is Level.FAIL and "68 小时前" in later.message and "xiuhua backup" in later.fix
    empty = by_check(diagnose(ready(tmp_path, backup_dir=tmp_path / "none"), city, NOW))["备份"]
    assert empty.level is Level.FAIL and "manifest.json" in empty.message
    unset = by_check(diagnose(ready(tmp_path, backup_dir=None), city, NOW))["备份"]
    assert unset.level is Level.WARN and "XIUHUA_BACKUP_DIR" in unset.fix


def test_provisional_calendar_years_fail_this_year_and_warn_next_year(city: Engine, tmp_path: Path) -> None:
    november = [f for f in diagnose(ready(tmp_path), city, datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
                if f.check == "工作日历"]
    assert [(f.level, "2027" in f.message) for f in november] == [(Level.WARN, True)]
    assert "xiuhua calendar import" in november[0].fix
    later = [f for f in diagnose(ready(tmp_path, backup_dir=None), city, datetime(2031, 3, 2, tzinfo=UTC))
             if f.check == "工作日历"]
    assert later[0].level is Level.FAIL and "2031 年放假安排尚未导入" in later[0].message


def test_a_database_behind_the_code_fails_and_names_xiuhua_init(city: Engine, tmp_path: Path) -> None:
    with city.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    checks = by_check(diagnose(ready(tmp_path), city, NOW))
    assert checks["数据库版本"].level is Level.FAIL and "0007" in checks["数据库版本"].message
    assert "xiuhua init" in checks["数据库版本"].fix and checks["工作日历"].level is Level.WARN


def test_little_free_disk_space_fails(tmp_path: Path) -> None:
    low = disk_finding(tmp_path / "data", usage=lambda _: (100 * GIB, 99.5 * GIB, GIB // 2))
    assert low.level is Level.FAIL and "0.5 GiB" in low.message and "1 GiB" in low.fix
    assert disk_finding(tmp_path / "data").level is Level.OK


def test_the_command_prints_each_check_with_its_fix_and_exits_1_on_a_failure(
        city: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIUHUA_PUBLIC_BASE_URL", "https://cg.example.gov.cn")
    monkeypatch.setenv("XIUHUA_COOKIE_SECURE", "false")
    monkeypatch.setenv("XIUHUA_BACKUP_DIR", str(tmp_path / "backups"))
    for _ in cli_database(city, tmp_path / "data", monkeypatch):
        done = xiuhua("doctor")
    assert done.exit_code == 1, done.output
    assert "✗ [失败] 安全 Cookie" in done.output and "处理：设置 XIUHUA_COOKIE_SECURE=true" in done.output
    assert "✓ [正常] 时区" in done.output and "✓ [正常] 数据库版本" in done.output
    assert done.output.strip().splitlines()[-1].startswith("共 ")
