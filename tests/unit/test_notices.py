"""domain.notices: a notification is read by the people it is addressed to (a unit, the center,
a user, a role) who may also see its target by the rule of the target's kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from xiuhua.domain.access import Principal
from xiuhua.domain.choices import AssignmentKind, Audience, NoticeKind, Role, Source
from xiuhua.domain.lifecycle import Assignment, Case
from xiuhua.domain.notices import (
    LINKS,
    TITLES,
    VISIBILITY,
    TargetKind,
    is_recipient,
    link,
    may_read,
    notice_title,
)

AT = datetime(2026, 10, 16, 1, 0, tzinfo=UTC)
HANDLER_HW = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
HANDLER_ZF = Principal("handler_zf", Role.HANDLER, unit_code="U-ZF")
SHIFT = Principal("shift01", Role.SHIFT_LEADER)
ADMIN = Principal("admin01", Role.ADMIN)
ADMIN2 = Principal("admin02", Role.ADMIN)
INSPECTOR = Principal("inspector01", Role.INSPECTOR)
CITIZEN = Principal("citizen01", Role.PUBLIC)


def case_held_by(unit: str) -> Case:
    case = Case(case_no="20261016000001", source=Source.INSPECTOR, category_code="06010",
                urgency="normal", reported_at=AT)
    case.assignments.append(Assignment(seq=1, unit_code=unit, kind=AssignmentKind.DISPATCH,
                                       started_at=AT, limit="4wh", calendar="default",
                                       deadline=AT))
    return case


def test_every_kind_of_target_has_a_rule_a_title_and_a_link() -> None:
    assert set(VISIBILITY) == set(TITLES) == set(LINKS) == set(TargetKind)


def test_a_units_notice_is_for_that_units_staff_only() -> None:
    case = case_held_by("U-HW")
    assert may_read(HANDLER_HW, Audience.UNIT, "U-HW", TargetKind.CASE, case)
    assert not may_read(HANDLER_ZF, Audience.UNIT, "U-HW", TargetKind.CASE, case)
    assert not may_read(SHIFT, Audience.UNIT, "U-HW", TargetKind.CASE, case)


def test_the_centers_notice_is_for_the_center_leaders_and_admins() -> None:
    case = case_held_by("U-HW")
    for reader in (SHIFT, ADMIN, Principal("leader01", Role.LEADER)):
        assert may_read(reader, Audience.CENTER, "", TargetKind.CASE, case)
    for reader in (HANDLER_HW, INSPECTOR, CITIZEN):
        assert not may_read(reader, Audience.CENTER, "", TargetKind.CASE, case)


def test_a_personal_notice_needs_the_target_to_be_visible_too() -> None:
    """Addressed to a handler by login, a case notice still follows ``can_see``: a case their
    unit never held stays hidden."""
    assert may_read(HANDLER_HW, Audience.USER, "handler_hw", TargetKind.CASE,
                    case_held_by("U-HW"))
    assert not may_read(HANDLER_HW, Audience.USER, "handler_hw", TargetKind.CASE,
                        case_held_by("U-ZF"))
    assert not may_read(HANDLER_ZF, Audience.USER, "handler_hw", TargetKind.CASE,
                        case_held_by("U-ZF"))
    assert not may_read(HANDLER_HW, Audience.USER, "handler_hw", TargetKind.CASE, None)


def test_login_alerts_go_to_every_admin_and_no_one_else() -> None:
    for reader in (ADMIN, ADMIN2):
        assert may_read(reader, Audience.ROLE, "admin", TargetKind.ACCOUNT, "handler_hw")
    for reader in (SHIFT, HANDLER_HW, INSPECTOR, CITIZEN):
        assert not may_read(reader, Audience.ROLE, "admin", TargetKind.ACCOUNT, "handler_hw")


@pytest.mark.parametrize("role", list(Role))
def test_everyone_on_the_staff_reads_what_is_addressed_to_them_or_their_role(role: Role) -> None:
    user = Principal("someone", role)
    staff = role is not Role.PUBLIC
    assert is_recipient(user, Audience.USER, "someone") is staff
    assert is_recipient(user, Audience.ROLE, role.value) is staff
    assert not is_recipient(user, Audience.USER, "someone_else")
    assert not is_recipient(user, Audience.ROLE, "nobody")


def test_titles_and_links_are_chinese_and_point_at_the_target() -> None:
    assert notice_title(NoticeKind.OVERDUE, TargetKind.CASE, "20261016000001") == (
        "超期：案件 20261016000001")
    assert notice_title(NoticeKind.LOGIN_ALERT, TargetKind.ACCOUNT, "handler_hw") == (
        "登录告警：账号 handler_hw")
    assert link(TargetKind.CASE, "20261016000001") == "/cases/20261016000001"
    assert link(TargetKind.ACCOUNT, "handler_hw") == "/admin/users"
