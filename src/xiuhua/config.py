"""Settings from the environment (XIUHUA_*), defaulting to the embedded SQLite database in ./var."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Statutory working time in China is kept in China Standard Time; these names all denote it.
CHINA_STANDARD_TIME = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIUHUA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    timezone: str = "Asia/Shanghai"
    sql_echo: bool = False

    @field_validator("timezone")
    @classmethod
    def _china_time(cls, value: str) -> str:
        if value not in CHINA_STANDARD_TIME:
            raise ValueError(f"XIUHUA_TIMEZONE must be China Standard Time "
                             f"({', '.join(sorted(CHINA_STANDARD_TIME))}), not {value!r}")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xiuhua.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
