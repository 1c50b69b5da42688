"""Who may see what (data scope) and what personal information they may read.

- the supervision/command center roles, leaders and admins see every case;
- handling-unit staff see the cases their unit holds or has held;
- inspectors see cases in their assigned grids and those they hold a 核实/核查 task for;
- the public sees only public case views (by tracking code), never personal information.
A case outside one's scope is answered as if it did not exist (404).

People's assessment figures (inspectors and command-center staff, by name) are for the center
roles, leaders and admins; an inspector sees their own row only; unit staff see the units' and
regions' figures only (:func:`sees_person_figures`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xiuhua.domain.choices import Role
from xiuhua.domain.lifecycle import Actor, Case

CENTER_ROLES = frozenset({Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER})
SEE_ALL_ROLES = CENTER_ROLES | {Role.LEADER, Role.ADMIN}
PERSONAL_INFO_ROLES = CENTER_ROLES | {Role.ADMIN}
UNIT_STAFF = frozenset({Role.HANDLER, Role.UNIT_LEADER})


@dataclass(frozen=True)
class Principal:
    """A signed-in user: login, role, unit and (for inspectors) posted grids."""

    login: str
    role: Role
    name: str = ""
    unit_code: str | None = None
    grids: frozenset[str] = field(default_factory=frozenset)

    @property
    def actor(self) -> Actor:
        return Actor(self.login, self.role, self.unit_code)

    @property
    def sees_all(self) -> bool:
        return self.role in SEE_ALL_ROLES

    @property
    def sees_personal_info(self) -> bool:
        return self.role in PERSONAL_INFO_ROLES


def can_see(principal: Principal, case: Case) -> bool:
    if principal.sees_all:
        return True
    if principal.role in UNIT_STAFF:
        return any(a.unit_code == principal.unit_code for a in case.assignments)
    if principal.role is Role.INSPECTOR:
        in_grid = case.location is not None and case.location.grid_code in principal.grids
        return in_grid or any(t.inspector == principal.login for t in case.tasks)
    return False


PEOPLE_SUBJECTS = ("inspectors", "staff")  # assessment subjects that are persons, by login


def sees_person_figures(principal: Principal, subject: str, login: str | None) -> bool:
    """May ``principal`` see the assessment figures of the person ``login`` (a subject in
    PEOPLE_SUBJECTS)? The center roles, leaders and admins see everyone's; an inspector their
    own; nobody else any. The JSON, the workbook, the circular and the page all apply this."""
    if principal.sees_all:
        return True
    return subject == "inspectors" and principal.role is Role.INSPECTOR and login == principal.login


def mask_phone(phone: str | None) -> str | None:
    """138****1234: keep the first three and last four digits."""
    if not phone:
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_name(name: str | None) -> str | None:
    """张** : keep the family name only."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
