"""Settings from the environment (XIUHUA_*), defaulting to the embedded SQLite database in ./var."""

from __future__ import annotations

import secrets
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xiuhua.domain.calendar import use_local_zone
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import CoordSys

LOG_FORMATS = ("text", "json")


def parse_networks(text: str) -> list[IPv4Network | IPv6Network]:
    """Comma-separated networks (``10.0.0.0/8``) or addresses (``10.0.0.5``)."""
    return [ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


# Statutory working time in China is kept in China Standard Time; these names all denote it.
CHINA_STANDARD_TIME = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIUHUA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    timezone: str = "Asia/Shanghai"
    sql_echo: bool = False
    secret_key: str = ""
    cookie_secure: bool = False
    photo_max_bytes: int = 10 * 1024 * 1024
    public_rate_limit: int = 20  # public reports per client address per window
    public_rate_window_seconds: int = 3600
    # An optional base map for the web map, e.g. 天地图 with a key; its coordinate system
    # (wgs84, gcj02 for 高德/腾讯, bd09 for 百度) decides how vector layers are shifted.
    map_tile_url: str = ""
    map_tile_coord_sys: str = "wgs84"
    map_tile_attribution: str = ""
    # The address citizens and 311 apps use, e.g. https://cg.example.gov.cn (or with a path
    # prefix behind a proxy); every absolute URL the server writes starts with it. Unset, the
    # request's own Host header is used (fine for the demo, to be set in production).
    public_base_url: str = ""
    # Host names the server answers to, comma-separated ("cg.example.gov.cn,*.example.gov.cn");
    # any other Host header gets 400. "*" (the default) accepts every host.
    trusted_hosts: str = "*"
    # GET /metrics (Prometheus): answered to clients in these networks (comma-separated CIDR;
    # the address uvicorn sees, i.e. X-Forwarded-For only from FORWARDED_ALLOW_IPS) or to
    # requests with "Authorization: Bearer <XIUHUA_METRICS_TOKEN>" (unset: no token works).
    metrics_allow: str = "127.0.0.1/32,::1/128"
    metrics_token: str = ""
    # Server logs: "text" (one line per record) or "json" (one JSON object per line); both carry
    # the request id (X-Request-ID) of the request a record belongs to.
    log_format: str = "text"
    # Where `xiuhua backup` writes (DIR under it, e.g. by date); `xiuhua doctor` reads the newest
    # manifest.json there and fails when it is older than backup_max_age_hours.
    backup_dir: Path | None = None
    backup_max_age_hours: float = 26.0

    @field_validator("timezone")
    @classmethod
    def _china_time(cls, value: str) -> str:
        if value not in CHINA_STANDARD_TIME:
            raise ValueError(f"XIUHUA_TIMEZONE must be China Standard Time "
                             f"({', '.join(sorted(CHINA_STANDARD_TIME))}), not {value!r}")
        return value

    @field_validator("map_tile_coord_sys")
    @classmethod
    def _coord_sys(cls, value: str) -> str:
        try:
            return CoordSys.parse(value).value
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
                or parts.fragment or parts.username or parts.password:
            raise ValueError("XIUHUA_PUBLIC_BASE_URL must be an http(s) address such as "
                             f"https://cg.example.gov.cn, not {value!r}")
        return value.rstrip("/")

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"XIUHUA_METRICS_ALLOW must list networks such as "
                             f"127.0.0.1/32,10.0.0.0/8: {exc}") from None
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in LOG_FORMATS:
            raise ValueError(f"XIUHUA_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {value!r}")
        return value

    @property
    def metrics_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks of XIUHUA_METRICS_ALLOW."""
        return parse_networks(self.metrics_allow)

    @property
    def trusted_host_list(self) -> list[str]:
        """The host names of XIUHUA_TRUSTED_HOSTS (["*"] when it is empty)."""
        hosts = [h.strip().lower() for h in self.trusted_hosts.split(",") if h.strip()]
        return hosts or ["*"]

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xiuhua.db').as_posix()}"


    def session_secret(self) -> str:
        """XIUHUA_SECRET_KEY, or a random key kept in the data directory (created once)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48), encoding="ascii")
            path.chmod(0o600)
        return path.read_text(encoding="ascii").strip()


@lru_cache
def get_settings() -> Settings:
    """The settings, read once; installs the ``timezone`` setting as the city's local zone
    (``domain.calendar.local_zone``), the one place code reads local time from."""
    settings = Settings()
    use_local_zone(settings.timezone)
    return settings
