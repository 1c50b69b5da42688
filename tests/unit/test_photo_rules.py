"""domain.photos: who may see a photo, and so link it — by upload, or by a linked object's own
rule (cases, assessment entries); nobody anonymous."""

from __future__ import annotations

from datetime import UTC, datetime

from xiuhua.domain.access import Principal
from xiuhua.domain.choices import AssignmentKind, Role, Source
from xiuhua.domain.lifecycle import Assignment, Case
from xiuhua.domain.photos import VISIBILITY, EntryScope, Linked, LinkKind, may_see_photo

AT = datetime(2026, 10, 16, 1, 0, tzinfo=UTC)
HANDLER_HW = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
HANDLER_ZF = Principal("handler_zf", Role.HANDLER, unit_code="U-ZF")
SHIFT = Principal("shift01", Role.SHIFT_LEADER)
INSPECTOR = Principal("inspector01", Role.INSPECTOR)


def case_held_by(unit: str) -> Case:
    case = Case(case_no="20261016000001", source=Source.INSPECTOR, category_code="06010",
                urgency="normal", reported_at=AT)
    case.assignments.append(Assignment(seq=1, unit_code=unit, kind=AssignmentKind.DISPATCH, started_at=AT,
                                       limit="4wh", calendar="default", deadline=AT))
    return case


def test_every_kind_of_link_has_its_rule() -> None:
    assert set(VISIBILITY) == set(LinkKind)


def test_uploaders_see_their_photo_and_nobody_anonymous_does() -> None:
    assert may_see_photo(HANDLER_ZF, ["inspector01", "handler_zf"], [])
    assert not may_see_photo(HANDLER_ZF, ["inspector01", None], [])
    assert not may_see_photo(SHIFT, ["inspector01"], [])  # seeing every case is not enough
    assert not may_see_photo(None, [None], [Linked(LinkKind.CASE, case_held_by("U-HW"))])


def test_a_linked_case_is_seen_by_its_own_rule() -> None:
    linked = [Linked(LinkKind.CASE, case_held_by("U-HW"))]
    assert may_see_photo(HANDLER_HW, [None], linked)
    assert may_see_photo(SHIFT, [None], linked)
    assert not may_see_photo(HANDLER_ZF, [None], linked)


def test_assessment_evidence_is_seen_by_the_center_and_the_unit_concerned() -> None:
    linked = [Linked(LinkKind.ASSESSMENT_ENTRY, EntryScope("U-HW"))]
    assert may_see_photo(SHIFT, ["leader01"], linked)
    assert may_see_photo(HANDLER_HW, ["leader01"], linked)
    assert not may_see_photo(HANDLER_ZF, ["leader01"], linked)
    assert not may_see_photo(INSPECTOR, ["leader01"], linked)
