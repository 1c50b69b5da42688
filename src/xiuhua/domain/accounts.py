"""Sign-in rules: when repeated login failures lock an (account, address) pair, block an
address or slow an account down, the one answer every refused login gets, and how long an
access token may live.

The policy (:data:`POLICY`):

- five failures within 15 minutes for one account from one source address lock that
  (account, address) pair for 15 minutes: its owner elsewhere is not locked out;
- twenty failures from one source address, whatever the accounts, within 15 minutes block that
  address for 15 minutes;
- fifty failures for one account within an hour, from all addresses, slow that account's
  attempts down by 3 seconds and raise an alert (an audit row, at most one an hour), except for
  attempts from an address that signed in to that account successfully within the last 30 days
  (its owner's own office or phone).

An attempt refused by a lock is not counted as a failure (its password is not checked); the
failure of an unknown login counts like any other, so a lock tells nothing of which accounts
exist, and neither does the answer: every failure gets the same message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from xiuhua.domain.errors import AuthenticationFailed, InvalidInput

LOGIN_REFUSED = "用户名或密码错误（连续失败多次后须等待 15 分钟再试）"


def login_refused() -> AuthenticationFailed:
    """The one answer to every refused login: unknown user, wrong password, disabled account,
    locked pair or blocked address."""
    return AuthenticationFailed(LOGIN_REFUSED, code="login_failed")


@dataclass(frozen=True)
class LoginPolicy:
    """Thresholds and windows of the login throttle (see the module's docstring)."""

    pair_limit: int = 5
    pair_window: timedelta = timedelta(minutes=15)
    pair_lockout: timedelta = timedelta(minutes=15)
    address_limit: int = 20
    address_window: timedelta = timedelta(minutes=15)
    address_lockout: timedelta = timedelta(minutes=15)
    account_limit: int = 50
    account_window: timedelta = timedelta(hours=1)
    account_delay_s: float = 3.0
    known_address_for: timedelta = timedelta(days=30)

    @property
    def lookback(self) -> timedelta:
        """How far back the failures that decide an attempt go."""
        return max(self.pair_window + self.pair_lockout,
                   self.address_window + self.address_lockout, self.account_window)


POLICY = LoginPolicy()


@dataclass(frozen=True)
class LoginHistory:
    """What is known of recent attempts when someone tries to sign in (failures at most
    :attr:`LoginPolicy.lookback` old)."""

    pair: Sequence[datetime]  # failures of this account from this address
    address: Sequence[datetime]  # failures from this address, any account
    account: int  # failures of this account from any address within the account window
    known_address: bool  # this address signed in to this account lately


class Refusal(StrEnum):
    PAIR_LOCKED = "pair_locked"
    ADDRESS_BLOCKED = "address_blocked"


@dataclass(frozen=True)
class LoginGate:
    """The decision before a password is checked: refused (until when), or checked after a
    delay; ``under_attack`` when the account is over its hourly failure limit."""

    refused: Refusal | None = None
    until: datetime | None = None
    delay_s: float = 0.0
    under_attack: bool = False


def locked_until(failures: Sequence[datetime], limit: int, window: timedelta,
                 lockout: timedelta) -> datetime | None:
    """When the last lock these failures set ends (None if none did): ``limit`` failures within
    ``window`` lock for ``lockout`` from the last of them; failures during a lock, if any were
    recorded, start no new count."""
    end: datetime | None = None
    run: list[datetime] = []
    for at in sorted(failures):
        if end is not None and at < end:
            continue
        run = [t for t in run if at - t < window] + [at]
        if len(run) >= limit:
            end, run = at + lockout, []
    return end


def login_gate(history: LoginHistory, at: datetime, policy: LoginPolicy = POLICY) -> LoginGate:
    """Whether an attempt at ``at`` may have its password checked, and after what delay."""
    under_attack = history.account >= policy.account_limit
    pair = locked_until(history.pair, policy.pair_limit, policy.pair_window, policy.pair_lockout)
    if pair is not None and at < pair:
        return LoginGate(Refusal.PAIR_LOCKED, pair, under_attack=under_attack)
    address = locked_until(history.address, policy.address_limit, policy.address_window,
                           policy.address_lockout)
    if address is not None and at < address:
        return LoginGate(Refusal.ADDRESS_BLOCKED, address, under_attack=under_attack)
    delay = policy.account_delay_s if under_attack and not history.known_address else 0.0
    return LoginGate(delay_s=delay, under_attack=under_attack)


def should_alert(account_failures: int, last_alert: datetime | None, at: datetime,
                 policy: LoginPolicy = POLICY) -> bool:
    """Whether a failure that brought the account to ``account_failures`` within the hour
    raises an alert (at most one per account window)."""
    return account_failures >= policy.account_limit and (
        last_alert is None or at - last_alert >= policy.account_window)


# --- access tokens ----------------------------------------------------------------------------

_LIFETIME = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_TOKEN_LIFETIME = timedelta(days=3660)


def parse_lifetime(text: str) -> timedelta:
    """A token's lifetime written as ``90d`` (days), ``12h`` (hours) or ``4w`` (weeks)."""
    found = _LIFETIME.match(text)
    if found is None or int(found.group(1)) == 0:
        raise InvalidInput(f"有效期“{text}”格式不正确，应为如 90d（天）、12h（小时）、4w（周）",
                           code="invalid_expiry")
    lifetime = int(found.group(1)) * _UNITS[found.group(2).lower()]
    if lifetime > MAX_TOKEN_LIFETIME:
        raise InvalidInput("有效期不能超过 10 年", code="invalid_expiry")
    return lifetime
