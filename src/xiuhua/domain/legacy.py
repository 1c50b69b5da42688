"""Legacy issues (遗留问题化解台账): long-standing problems (办证, 延期交房, 协议事项落实, 闲置用地
盘活 …) each with a lead official (包案领导) and lead unit, a plan (一案一策) of steps with due
dates, a target (``resolved``, or ``clear_progress``: 取得明显进展) with a target date (by
default the end of the year it was entered), and a progress log.

Status: ``not_started`` → ``in_progress`` → ``clear_progress`` → ``resolved``, moved by
progress entries of the lead unit or the office (never back to ``not_started``, and never
back once ``resolved``); ``closed`` (销号) only by the office, with evidence, once the target is
reached. An issue is **overdue** when its target date has passed and the target is not reached.

The parties (当事人: names, phones) are personal data: read in full by the office, leaders and
admins only (``access.sees_legacy_parties``), masked as reporters are for everyone else
(:func:`masked_parties`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from xiuhua.domain.access import Principal, mask_name, mask_phone, sees_legacy_parties
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import LegacyStatus, LegacyTarget
from xiuhua.domain.errors import ActionRefused, InvalidInput

ORDER = (LegacyStatus.NOT_STARTED, LegacyStatus.IN_PROGRESS, LegacyStatus.CLEAR_PROGRESS,
         LegacyStatus.RESOLVED, LegacyStatus.CLOSED)
REPORTABLE = frozenset({LegacyStatus.IN_PROGRESS, LegacyStatus.CLEAR_PROGRESS,
                        LegacyStatus.RESOLVED})
MAX_STEPS = 20
MAX_PARTIES = 20


@dataclass(frozen=True)
class Party:
    """A party to the issue (当事人): personal data."""

    name: str
    phone: str | None = None
    note: str | None = None  # e.g. 业主代表, 开发企业


@dataclass(frozen=True)
class Step:
    """One step of the plan (一案一策): what, by when, and when done."""

    seq: int
    content: str
    due: date
    done_on: date | None = None


@dataclass(frozen=True)
class LegacyIssue:
    id: int
    title: str
    lead_unit: str
    status: LegacyStatus
    target: LegacyTarget
    target_date: date
    steps: tuple[Step, ...] = ()
    parties: tuple[Party, ...] = ()


def default_target_date(at: datetime) -> date:
    """The end of the (local) year the issue is entered in."""
    return date(at.astimezone(local_zone()).year, 12, 31)


def check_plan(steps: Sequence[Step], parties: Sequence[Party]) -> None:
    if len(steps) > MAX_STEPS:
        raise InvalidInput(f"化解方案最多 {MAX_STEPS} 个步骤", code="legacy_steps")
    if len(parties) > MAX_PARTIES:
        raise InvalidInput(f"当事人最多 {MAX_PARTIES} 个", code="legacy_parties")
    if any(not s.content.strip() for s in steps):
        raise InvalidInput("化解方案的步骤须填写内容", code="legacy_steps")
    if any(not p.name.strip() for p in parties):
        raise InvalidInput("当事人须填写姓名或名称", code="legacy_parties")


def reached(issue: LegacyIssue) -> bool:
    """Has the issue reached its target (resolved; or at least clear progress when that is
    the target)?"""
    return ORDER.index(issue.status) >= ORDER.index(LegacyStatus(issue.target.value))


def overdue(issue: LegacyIssue, today: date) -> bool:
    """Past the target date and the target not reached (a closed issue never is)."""
    return issue.status is not LegacyStatus.CLOSED and today > issue.target_date \
        and not reached(issue)


def step_overdue(step: Step, today: date) -> bool:
    return step.done_on is None and today > step.due


@dataclass(frozen=True)
class ProgressEntry:
    """A progress entry: a note, optionally a new status and a step of the plan done."""

    note: str
    status: LegacyStatus | None = None
    step_done: int | None = None


def record(issue: LegacyIssue, entry: ProgressEntry, today: date) -> LegacyIssue:
    """The issue after the entry: the status moves forward (never back, never to
    ``not_started`` or ``closed``: sign-off is the office's); a step is marked done. The
    first entry starts the issue (``in_progress``)."""
    if issue.status is LegacyStatus.CLOSED:
        raise ActionRefused("该遗留问题已销号，不能再登记进展", code="legacy_closed")
    if not entry.note.strip():
        raise InvalidInput("请填写进展情况", code="legacy_note")
    status = entry.status or (LegacyStatus.IN_PROGRESS if issue.status is
                              LegacyStatus.NOT_STARTED else issue.status)
    if status not in REPORTABLE:
        raise InvalidInput(f"进展不能将状态设为“{status.label}”", code="legacy_status")
    if ORDER.index(status) < ORDER.index(issue.status):
        raise ActionRefused(f"状态已为“{issue.status.label}”，不能退回“{status.label}”",
                            code="legacy_status_back")
    return replace(issue, status=status, steps=_done(issue.steps, entry.step_done, today))


def _done(steps: tuple[Step, ...], seq: int | None, today: date) -> tuple[Step, ...]:
    if seq is None:
        return steps
    if seq not in {s.seq for s in steps}:
        raise InvalidInput(f"化解方案没有第 {seq} 步", code="legacy_step")
    return tuple(replace(s, done_on=s.done_on or today) if s.seq == seq else s for s in steps)


def sign_off(issue: LegacyIssue, evidence: str, photos: Sequence[str]) -> LegacyIssue:
    """销号: the office closes an issue that reached its target, with evidence (a note of what
    proves it, and any photos)."""
    if issue.status is LegacyStatus.CLOSED:
        raise ActionRefused("该遗留问题已销号", code="legacy_closed")
    if not reached(issue):
        raise ActionRefused(f"尚未达到化解目标（{issue.target.label}），不能销号",
                            code="legacy_target_not_reached")
    if not evidence.strip():
        raise InvalidInput("销号须写明佐证材料", code="legacy_evidence")
    return replace(issue, status=LegacyStatus.CLOSED)


def masked_parties(principal: Principal, parties: Sequence[Party]) -> list[Party]:
    """The parties as ``principal`` may read them: in full for the office, leaders and
    admins; names and phones masked (张**, 138****1234) for everyone else."""
    if sees_legacy_parties(principal):
        return list(parties)
    return [Party(mask_name(p.name) or "", mask_phone(p.phone), p.note) for p in parties]
