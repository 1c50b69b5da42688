"""The login throttle's policy and token lifetimes, as pure rules (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from xiuhua.domain.accounts import (
    POLICY,
    LoginHistory,
    Refusal,
    locked_until,
    login_gate,
    parse_lifetime,
    should_alert,
)
from xiuhua.domain.errors import InvalidInput

T0 = datetime(2026, 10, 16, 1, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def minutes(*offsets: float) -> list[datetime]:
    return [T0 + m * MIN for m in offsets]


def history(pair: list[datetime] | None = None, address: list[datetime] | None = None,
            account: int = 0, known: bool = False) -> LoginHistory:
    pair = pair or []
    return LoginHistory(pair=pair, address=(address or []) + pair, account=account,
                        known_address=known)


def test_five_failures_within_fifteen_minutes_lock_for_fifteen_minutes_from_the_fifth() -> None:
    failures = minutes(0, 1, 2, 3, 10)
    assert locked_until(failures[:4], 5, 15 * MIN, 15 * MIN) is None
    assert locked_until(failures, 5, 15 * MIN, 15 * MIN) == T0 + 25 * MIN
    assert locked_until(minutes(0, 5, 10, 14, 15), 5, 15 * MIN, 15 * MIN) is None  # 15 min apart
    assert locked_until(minutes(0, 4, 8, 12, 16, 20, 24), 5, 15 * MIN, 15 * MIN) is None


def test_failures_recorded_during_a_lock_start_no_new_count() -> None:
    failures = minutes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)  # the last five fell in the lock
    assert locked_until(failures, 5, 15 * MIN, 15 * MIN) == T0 + 19 * MIN


def test_a_locked_pair_is_refused_until_its_lock_ends_and_the_owner_elsewhere_is_not() -> None:
    locked = history(pair=minutes(0, 1, 2, 3, 4))
    gate = login_gate(locked, T0 + 10 * MIN)
    assert gate.refused is Refusal.PAIR_LOCKED and gate.until == T0 + 19 * MIN
    assert login_gate(locked, T0 + 19 * MIN).refused is None
    elsewhere = history(address=[], account=5)  # the same account's failures, other address
    assert login_gate(elsewhere, T0 + 10 * MIN).refused is None


def test_twenty_failures_from_one_address_across_accounts_block_it() -> None:
    spread = minutes(*[i * 0.5 for i in range(20)])  # over 9.5 minutes, four accounts
    assert login_gate(history(address=spread[:19]), T0 + 10 * MIN).refused is None
    gate = login_gate(history(address=spread), T0 + 10 * MIN)
    assert gate.refused is Refusal.ADDRESS_BLOCKED and gate.until == T0 + 24.5 * MIN
    assert login_gate(history(address=spread), T0 + 24.5 * MIN).refused is None


def test_an_account_under_attack_is_slowed_down_except_from_an_address_it_signed_in_from() -> None:
    assert login_gate(history(account=49), T0).delay_s == 0
    attacked = login_gate(history(account=50), T0)
    assert attacked.under_attack and attacked.delay_s == POLICY.account_delay_s == 3.0
    owner = login_gate(history(account=50, known=True), T0)
    assert owner.under_attack and owner.delay_s == 0 and owner.refused is None


def test_an_attack_alerts_once_an_hour() -> None:
    assert not should_alert(49, None, T0)
    assert should_alert(50, None, T0)
    assert not should_alert(80, T0, T0 + 59 * MIN)
    assert should_alert(80, T0, T0 + 60 * MIN)


@pytest.mark.parametrize(("text", "lifetime"), [
    ("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), (" 4W ", timedelta(weeks=4)),
])
def test_token_lifetimes(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "90", "0d", "-1d", "1y", "1.5d", "99999d", "d90"])
def test_bad_token_lifetimes_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(InvalidInput, match="有效期") as caught:
        parse_lifetime(text)
    assert caught.value.code == "invalid_expiry"
