"""Who may see a stored photo, and so link it to something (个人信息保护: an original may carry
the GPS position where it was taken).

A photo's id is the hash of its bytes, so it is no secret and never a capability: knowing it
gives nothing. A signed-in person sees a photo when

- they uploaded it (every uploader is recorded: identical bytes are one photo), or
- they may see an object the photo is linked to, by the rule of that object's kind
  (:data:`VISIBILITY`: a case by ``access.can_see``, an assessment entry by its unit).

Linking a photo to anything (a report, a case action, an assessment entry …) requires seeing
it, so nobody can pull someone else's photo into an object they see. Nobody anonymous sees
an original: the public reaches only the metadata-free public copy of a photo of a public
step, by its separate public id.

A new kind of object (progress reports, inspections …) adds a :class:`LinkKind` member, a rule
here and a loader in ``services.photos.LINKED``; every linking path then uses it as it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from xiuhua.domain.access import (
    UNIT_STAFF,
    Principal,
    can_see,
    can_see_legacy_issue,
    can_see_project,
    can_see_task,
    sees_round_results,
)
from xiuhua.domain.choices import RoundState
from xiuhua.domain.errors import InvalidInput

MAX_PHOTOS = 9  # photos of one report or one step


def check_photo_count(count: int) -> None:
    """At most :data:`MAX_PHOTOS` photos go with one report, step or progress entry."""
    if count > MAX_PHOTOS:
        raise InvalidInput(f"照片最多 {MAX_PHOTOS} 张", code="too_many_photos")


class LinkKind(StrEnum):
    """What a photo can be linked to."""

    CASE = "case"  # a report or a step of a case (核实, 处置反馈, 核查 …)
    ASSESSMENT_ENTRY = "assessment_entry"  # the evidence of a deduction or bonus (考核检查)
    PROJECT_PROGRESS = "project_progress"  # a key project's progress report (its project's rule)
    LEGACY_PROGRESS = "legacy_progress"  # a legacy issue's progress entry or sign-off evidence
    PLAN_PROGRESS = "plan_progress"  # a progress report or note on a plan task (专项行动)
    ROUND_DEDUCTION = "round_deduction"  # a deduction of a field evaluation round (考评检查)


@dataclass(frozen=True)
class EntryScope:
    """An assessment entry as far as seeing its evidence goes: the unit it concerns."""

    unit_code: str


def can_see_entry(principal: Principal, entry: EntryScope) -> bool:
    """The center roles, leaders and admins see every entry; a unit's staff those of their
    unit (the deduction they may answer for); nobody else."""
    if principal.sees_all:
        return True
    return principal.role in UNIT_STAFF and principal.unit_code == entry.unit_code


@dataclass(frozen=True)
class DeductionScope:
    """A round's deduction as far as seeing its photos goes: the round's state and the point's
    evaluated unit (``access.sees_round_results``)."""

    state: RoundState
    unit_code: str | None


def can_see_deduction(principal: Principal, deduction: DeductionScope) -> bool:
    return sees_round_results(principal, deduction.state, deduction.unit_code)


# One rule per kind: may this person see this object (as its kind's loader yields it)?
VISIBILITY: dict[LinkKind, Callable[[Principal, Any], bool]] = {
    LinkKind.CASE: can_see,
    LinkKind.ASSESSMENT_ENTRY: can_see_entry,
    LinkKind.PROJECT_PROGRESS: can_see_project,
    LinkKind.LEGACY_PROGRESS: can_see_legacy_issue,
    LinkKind.PLAN_PROGRESS: can_see_task,  # the task's scope (access.TaskScope)
    LinkKind.ROUND_DEDUCTION: can_see_deduction,
}


@dataclass(frozen=True)
class Linked:
    """An object a photo is linked to: its kind and the object as that kind's rule takes it."""

    kind: LinkKind
    subject: Any


def may_see_photo(principal: Principal | None, uploaders: Iterable[str | None],
                  linked: Iterable[Linked]) -> bool:
    """Whether ``principal`` (None: someone anonymous) may see the photo (its original, its
    thumbnail) and link it to something. ``linked`` may be lazy: it is read only as far as
    needed."""
    if principal is None:
        return False
    if principal.login in set(uploaders):
        return True
    return any(VISIBILITY[link.kind](principal, link.subject) for link in linked)


def unknown_photos(ids: Iterable[str], code: str = "unknown_photo") -> InvalidInput:
    """The refusal for photos that do not exist or that the actor may not see: the same
    answer for both, so that it tells nothing about other people's photos."""
    return InvalidInput(f"照片不存在，请先上传：{'、'.join(ids)}", code=code)
