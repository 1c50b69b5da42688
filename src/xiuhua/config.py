"""Settings from the environment (XIUHUA_*), defaulting to the embedded SQLite database in ./var."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIUHUA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    timezone: str = "Asia/Shanghai"
    sql_echo: bool = False

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xiuhua.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
