"""The access rules per kind of object (domain/access.py), for every role."""

from __future__ import annotations

import pytest

from xiuhua.domain.access import (
    Principal,
    notice_audience,
    sees_assessment,
    sees_dashboard,
    whose_tasks,
)
from xiuhua.domain.choices import Audience, Role
from xiuhua.domain.errors import PermissionDenied

CENTER_AND_LEADERS = {Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.LEADER, Role.OFFICE,
                      Role.ADMIN}


def person(role: Role) -> Principal:
    unit = "U-HW" if role in (Role.HANDLER, Role.UNIT_LEADER) else None
    return Principal(f"{role.value}01", role, unit_code=unit)


@pytest.mark.parametrize("role", list(Role))
def test_assessment_figures_are_for_staff_only(role: Role) -> None:
    assert sees_assessment(person(role)) is (role is not Role.PUBLIC)


@pytest.mark.parametrize("role", list(Role))
def test_the_dashboard_is_for_the_center_leaders_and_admins(role: Role) -> None:
    assert sees_dashboard(person(role)) is (role in CENTER_AND_LEADERS)


@pytest.mark.parametrize("role", list(Role))
def test_notifications_are_ones_own(role: Role) -> None:
    user = person(role)
    expected: set[tuple[Audience, str]] = set()
    if role is not Role.PUBLIC:
        expected = {(Audience.USER, user.login), (Audience.ROLE, role.value)}
    if role in (Role.HANDLER, Role.UNIT_LEADER):
        expected.add((Audience.UNIT, "U-HW"))
    if role in CENTER_AND_LEADERS:
        expected.add((Audience.CENTER, ""))
    assert notice_audience(user) == expected


def test_unit_staff_without_a_unit_have_no_unit_notifications() -> None:
    assert notice_audience(Principal("h", Role.HANDLER)) == {
        (Audience.USER, "h"), (Audience.ROLE, "handler")}


@pytest.mark.parametrize("role", list(Role))
def test_inspectors_list_their_own_tasks_and_the_center_anyones(role: Role) -> None:
    user = person(role)
    if role is Role.INSPECTOR:
        assert whose_tasks(user, "someone_else") == user.login
    elif role in CENTER_AND_LEADERS:
        assert whose_tasks(user, "inspector02") == "inspector02"
        assert whose_tasks(user, None) is None
    else:
        with pytest.raises(PermissionDenied):
            whose_tasks(user, None)
