"""The ``timezone`` setting is the one place local time comes from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from xiuhua.config import Settings, get_settings
from xiuhua.domain.calendar import local_day, local_zone, use_local_zone


@pytest.fixture
def restore_zone() -> Iterator[None]:
    yield
    get_settings.cache_clear()
    use_local_zone("Asia/Shanghai")


def test_reading_the_settings_installs_the_configured_zone(monkeypatch: pytest.MonkeyPatch,
                                                         restore_zone: None) -> None:
    monkeypatch.setenv("XIUHUA_TIMEZONE", "Asia/Chongqing")
    get_settings.cache_clear()
    get_settings()
    assert local_zone().key == "Asia/Chongqing"
    # 16:30 UTC is half past midnight the next day in China Standard Time.
    assert local_day(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)).isoformat() == "2027-01-01"


def test_a_zone_other_than_china_standard_time_is_refused() -> None:
    with pytest.raises(ValueError, match="China Standard Time"):
        Settings(timezone="Europe/Berlin")
