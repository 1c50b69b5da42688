"""Supervision orders (督查督办单): one matter, one addressed unit, a deadline in working time.

An order is raised by the office from a plan task, a case (which also records the case's
``supervise`` action: the two count once), a project, a legacy issue, or free-standing. Its
level (:func:`order_level`): ``blue`` at issue, ``yellow`` when there is no accepted reply by
half the limit, ``red`` at the deadline without an accepted reply (the fractions are
configurable, :class:`Escalation`); the office may raise it by hand, never lower it.

The unit replies (text, files); the office accepts the reply or returns it with a reason, and
signs the order off (销号) once a reply is accepted. **Only an accepted reply counts as a
reply**, and it is on time when it was sent before the deadline (:func:`replied_on_time`).

Each order has a document number per year, ``督办〔2026〕17号`` (:func:`document_number`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from xiuhua.domain.calendar import TimeLimit, WorkCalendar
from xiuhua.domain.choices import LabelledEnum
from xiuhua.domain.errors import ActionRefused, InvalidInput


class OrderLevel(LabelledEnum):
    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return list(OrderLevel).index(self)


class OrderState(LabelledEnum):
    ISSUED = "issued"  # waiting for the unit's reply
    REPLIED = "replied"  # a reply waits for the office
    RETURNED = "returned"  # the reply was returned: the unit replies again
    ACCEPTED = "accepted"  # the reply was accepted: the office may sign off
    SIGNED_OFF = "signed_off"  # 销号


class OrderOrigin(LabelledEnum):
    TASK = "task"
    CASE = "case"
    PROJECT = "project"
    LEGACY = "legacy"
    FREE = "free"


class OrderAction(LabelledEnum):
    REPLY = "reply"
    ACCEPT = "accept"
    RETURN = "return"
    SIGNOFF = "signoff"
    RAISE = "raise"


# Where each action may start: one table, as domain.lifecycle does for cases.
FROM_STATES: dict[OrderAction, frozenset[OrderState]] = {
    OrderAction.REPLY: frozenset({OrderState.ISSUED, OrderState.RETURNED}),
    OrderAction.ACCEPT: frozenset({OrderState.REPLIED}),
    OrderAction.RETURN: frozenset({OrderState.REPLIED}),
    OrderAction.SIGNOFF: frozenset({OrderState.ACCEPTED}),
    OrderAction.RAISE: frozenset({OrderState.ISSUED, OrderState.REPLIED, OrderState.RETURNED}),
}
AFTER: dict[OrderAction, OrderState] = {
    OrderAction.REPLY: OrderState.REPLIED,
    OrderAction.ACCEPT: OrderState.ACCEPTED,
    OrderAction.RETURN: OrderState.RETURNED,
    OrderAction.SIGNOFF: OrderState.SIGNED_OFF,
}


def next_state(state: OrderState, action: OrderAction) -> OrderState:
    """The state after ``action``, or ActionRefused when it may not start from ``state``."""
    if state not in FROM_STATES[action]:
        raise ActionRefused(f"督办单{state.label}，不能{action.label}", code="order_action_refused")
    return AFTER.get(action, state)


@dataclass(frozen=True)
class Escalation:
    """When the level rises without an accepted reply, as fractions of the limit."""

    yellow_at: Fraction = Fraction(1, 2)
    red_at: Fraction = Fraction(1)

    def __post_init__(self) -> None:
        if not 0 < self.yellow_at <= self.red_at <= 1:
            raise InvalidInput("督办升级时点须满足 0 < 黄色 ≤ 红色 ≤ 1", code="invalid_escalation")


@dataclass(frozen=True)
class OrderFacts:
    """What the level and timeliness rules read of an order."""

    issued_at: datetime
    limit: TimeLimit
    due: datetime  # issued_at + limit by the calendar
    accepted_reply_sent: datetime | None = None  # the accepted reply's sending
    accepted_at: datetime | None = None  # when it was accepted
    raised: OrderLevel = OrderLevel.BLUE  # by hand


def order_due(issued_at: datetime, limit: TimeLimit, calendar: WorkCalendar) -> datetime:
    return calendar.deadline(issued_at, limit)


def escalation_instants(facts: OrderFacts, calendar: WorkCalendar,
                        escalation: Escalation = Escalation()) -> tuple[datetime, datetime]:
    """The instants the order turns yellow and red without an accepted reply."""
    def at(part: Fraction) -> datetime:
        seconds = int(facts.limit.seconds * part)
        return calendar.add(facts.issued_at, seconds, facts.limit.working)
    return at(escalation.yellow_at), at(escalation.red_at)


def order_level(facts: OrderFacts, at: datetime, calendar: WorkCalendar,
                escalation: Escalation = Escalation()) -> OrderLevel:
    """The level at ``at``: the escalation without an accepted reply, or the level raised by
    hand, whichever is higher."""
    yellow, red = escalation_instants(facts, calendar, escalation)
    answered = facts.accepted_at if facts.accepted_at is not None and facts.accepted_at <= at else None
    level = OrderLevel.BLUE
    if at >= yellow and (answered is None or answered > yellow):
        level = OrderLevel.YELLOW
    if at >= red and (answered is None or answered > red):
        level = OrderLevel.RED
    return max(level, facts.raised, key=lambda v: v.rank)


def check_raise(current: OrderLevel, to: OrderLevel) -> None:
    if to.rank <= current.rank:
        raise ActionRefused(f"督办等级只能提高（当前{current.label}）", code="order_level_not_higher")


def replied_on_time(facts: OrderFacts) -> bool:
    """An accepted reply sent before the deadline."""
    return facts.accepted_reply_sent is not None and facts.accepted_reply_sent < facts.due


def document_number(year: int, serial: int) -> str:
    """督办〔2026〕17号"""
    return f"督办〔{year}〕{serial}号"


def check_text(text: str | None, what: str) -> str:
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"{what}不能为空", code="text_required")
    return value
