"""`xiuhua doctor`: what a production setup needs, checked one line at a time, each with its
explanation and its fix in Chinese. A failure means something is wrong now (users cannot sign
in, links can be forged, deadlines or backups are off); a warning something to look at.

The checks: the settings (public address, secure cookies behind HTTPS, the session key, the time
zone), the schema revision, the work calendar's provisional years, the newest backup's age and
the free disk space."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from xiuhua.config import Settings
from xiuhua.domain.calendar import local_zone
from xiuhua.services.backup import newest_manifest
from xiuhua.services.calendars import day_calendar, provisional_next_year
from xiuhua.store.db import read_transaction
from xiuhua.store.migrate import current_revision, head_revision

GIB = 1 << 30
MIN_FREE_BYTES = 1 * GIB
MIN_FREE_SHARE = 0.05


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"

    @property
    def label(self) -> str:
        return {"ok": "正常", "warn": "提示", "fail": "失败"}[self.value]


@dataclass(frozen=True)
class Finding:
    """One check's outcome: what was found (Chinese) and, unless all is well, the fix."""

    check: str
    level: Level
    message: str
    fix: str = ""


def diagnose(settings: Settings, engine: Engine, now: datetime | None = None) -> list[Finding]:
    """Every check, in the order printed."""
    now = now or datetime.now(UTC)
    found = [*settings_findings(settings), timezone_finding(settings, now)]
    schema = schema_finding(engine)
    found.append(schema)
    if schema.level is Level.OK:
        found += calendar_findings(engine, now)
    else:
        found.append(Finding("工作日历", Level.WARN, "数据库版本不对，未检查工作日历",
                             "先处理上面的数据库版本问题，再运行 xiuhua doctor"))
    found += [backup_finding(settings, now), disk_finding(settings.data_dir)]
    return found


def failed(findings: list[Finding]) -> bool:
    return any(f.level is Level.FAIL for f in findings)


# --- settings -------------------------------------------------------------------------------


def settings_findings(settings: Settings) -> list[Finding]:
    found = [_base_url(settings), _cookies(settings)]
    if not settings.secret_key and not settings.effective_database_url.startswith("sqlite"):
        found.append(Finding(
            "会话密钥", Level.WARN,
            "未设置 XIUHUA_SECRET_KEY：每台主机各自生成密钥，用户被分到另一台主机时会掉线",
            "在所有主机上设置相同的 XIUHUA_SECRET_KEY（python3 -c \"import secrets; "
            "print(secrets.token_urlsafe(48))\"）"))
    return found


def _base_url(settings: Settings) -> Finding:
    url = settings.public_base_url
    if not url:
        return Finding("公开地址", Level.FAIL,
                       "未设置 XIUHUA_PUBLIC_BASE_URL：二维码、Open311 和照片链接取自请求的 Host 头，可被伪造",
                       "设置 XIUHUA_PUBLIC_BASE_URL=https://市民和应用访问的地址（如 https://cg.example.gov.cn）")
    if not url.startswith("https://"):
        return Finding("公开地址", Level.WARN,
                       f"公开地址 {url} 不是 HTTPS：手机浏览器只在 HTTPS 下提供定位，登录信息明文传输",
                       "为站点配置 HTTPS 证书（见 docs/deploy.md 第 6 节），并把地址改为 https://…")
    return Finding("公开地址", Level.OK, f"公开地址 {url}")


def _cookies(settings: Settings) -> Finding:
    https = settings.public_base_url.startswith("https://")
    if https and not settings.cookie_secure:
        return Finding("安全 Cookie", Level.FAIL,
                       "站点经 HTTPS 访问，但会话 Cookie 未标记 Secure，可能经明文 HTTP 发送而被窃取",
                       "设置 XIUHUA_COOKIE_SECURE=true")
    if settings.cookie_secure and settings.public_base_url and not https:
        return Finding("安全 Cookie", Level.FAIL,
                       "XIUHUA_COOKIE_SECURE=true，但公开地址是 HTTP：浏览器不会发回 Cookie，用户无法登录",
                       "为站点配置 HTTPS 并把 XIUHUA_PUBLIC_BASE_URL 改为 https://…，"
                       "或在测试环境关闭 XIUHUA_COOKIE_SECURE")
    if not settings.cookie_secure:
        return Finding("安全 Cookie", Level.WARN,
                       "会话 Cookie 未标记 Secure（XIUHUA_COOKIE_SECURE 未开启）",
                       "生产环境经 HTTPS 访问时设置 XIUHUA_COOKIE_SECURE=true")
    return Finding("安全 Cookie", Level.OK, "会话 Cookie 只经 HTTPS 发送")


def timezone_finding(settings: Settings, now: datetime) -> Finding:
    try:
        offset = now.astimezone(ZoneInfo(settings.timezone)).utcoffset()
    except (KeyError, ValueError, OSError) as exc:  # no tzdata for the zone
        return Finding("时区", Level.FAIL, f"无法加载时区 {settings.timezone}：{exc}",
                       "安装时区数据（Debian：apt-get install tzdata，或 pip install tzdata）")
    if offset != timedelta(hours=8):
        return Finding("时区", Level.FAIL, f"时区 {settings.timezone} 的偏移为 {offset}，不是北京时间",
                       "设置 XIUHUA_TIMEZONE=Asia/Shanghai，并更新时区数据")
    return Finding("时区", Level.OK, f"时区 {settings.timezone}（UTC+08:00），工作时间按北京时间计算")


# --- the database ---------------------------------------------------------------------------


def schema_finding(engine: Engine) -> Finding:
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        return Finding("数据库版本", Level.FAIL, f"数据库文件 {database} 不存在",
                       "运行 xiuhua init（或检查 XIUHUA_DATA_DIR、XIUHUA_DATABASE_URL）")
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return Finding("数据库版本", Level.FAIL, f"无法连接数据库：{str(exc).splitlines()[0]}",
                       "检查 XIUHUA_DATABASE_URL、数据库服务和网络")
    head = head_revision()
    if current is None:
        return Finding("数据库版本", Level.FAIL, "数据库尚未初始化", "运行 xiuhua init")
    if current != head:
        return Finding("数据库版本", Level.FAIL,
                       f"数据库版本 {current}，本程序需要 {head}：未升级的数据库可能导致请求出错",
                       "先备份（xiuhua backup DIR），再在一台主机上运行 xiuhua init，然后重启服务")
    return Finding("数据库版本", Level.OK, f"数据库已是最新版本（{head}）")


def calendar_findings(engine: Engine, now: datetime) -> list[Finding]:
    with read_transaction(engine) as session:
        calendar = day_calendar(session)
    year = now.astimezone(local_zone()).year
    found = []
    if not calendar.is_official_year(year):
        found.append(Finding(
            "工作日历", Level.FAIL,
            f"{year} 年放假安排尚未导入：时限和考核按推定的节假日计算，可能与国务院办公厅通知不符",
            f"用 xiuhua calendar import 导入 {year} 年的放假安排（模板见 管理 → 工作日历）"))
    upcoming = provisional_next_year(calendar, now)
    if upcoming is not None:
        found.append(Finding(
            "工作日历", Level.WARN,
            f"{upcoming} 年放假安排尚未导入：跨年的时限暂按推定的节假日计算",
            f"国务院办公厅公布后，用 xiuhua calendar import 导入 {upcoming} 年的放假安排"))
    return found or [Finding("工作日历", Level.OK, f"{year} 年放假安排已导入（正式）")]


# --- files ----------------------------------------------------------------------------------


def backup_finding(settings: Settings, now: datetime) -> Finding:
    root = settings.backup_dir
    if root is None:
        return Finding("备份", Level.WARN, "未设置 XIUHUA_BACKUP_DIR，无法检查最近一次备份",
                       "每晚运行 xiuhua backup $XIUHUA_BACKUP_DIR/$(date +%F)，并设置 XIUHUA_BACKUP_DIR")
    newest = newest_manifest(root)
    if newest is None:
        return Finding("备份", Level.FAIL, f"{root} 中没有完整的备份（manifest.json）",
                       f"运行 xiuhua backup {root}/$(date +%F)，并用 cron 或 systemd 定时器每晚执行")
    folder, manifest = newest
    hours = (now - manifest.created_at).total_seconds() / 3600
    if hours > settings.backup_max_age_hours:
        return Finding("备份", Level.FAIL,
                       f"最近一次备份 {folder} 是 {hours:.0f} 小时前（超过 {settings.backup_max_age_hours:g} 小时）",
                       "检查定时备份任务是否在运行（journalctl、cron 日志），并立即运行一次 xiuhua backup")
    return Finding("备份", Level.OK, f"最近一次备份 {folder}：{hours:.1f} 小时前，{manifest}")


def disk_finding(data_dir: Path, usage: Callable[[Path], tuple[int, int, int]] | None = None) -> Finding:
    """Free space where the photos (and a SQLite database) live."""
    probe = data_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    total, _, free = (usage or _usage)(probe)
    share = free / total if total else 0.0
    text = f"{data_dir} 所在磁盘剩余 {free / GIB:.1f} GiB（{share:.0%}）"
    if free < MIN_FREE_BYTES or share < MIN_FREE_SHARE:
        return Finding("磁盘空间", Level.FAIL,
                       f"{text}：空间不足时照片上传和数据库写入会失败",
                       "清理或扩容磁盘（至少保留 1 GiB 且 5% 以上）；旧备份请移到其他磁盘")
    return Finding("磁盘空间", Level.OK, text)


def _usage(path: Path) -> tuple[int, int, int]:
    found = shutil.disk_usage(path)
    return found.total, found.used, found.free
