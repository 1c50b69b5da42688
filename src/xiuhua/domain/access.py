"""Who may see what (data scope) and what personal information they may read.

- the supervision/command center roles, leaders and admins see every case; a center role
  scoped to a district (区级指挥中心: the user's district) sees that district's cases only
  (those whose grid lies in the district) and acts on them only, while the city center (no
  district) sees, files, supervises and acts city-wide, and so takes a district's case over
  simply by acting on it;
- handling-unit staff see the cases their unit holds or has held;
- inspectors see cases in their assigned grids and those they hold a 核实/核查 task for;
- the public sees only public case views (by tracking code), never personal information.
A case outside one's scope is answered as if it did not exist (404).

People's assessment figures (inspectors and command-center staff, by name) are for the center
roles, leaders and admins; an inspector sees their own row only; unit staff see the units' and
regions' figures only (:func:`sees_person_figures`).

One rule per kind of object, used by every route that shows or changes one (the route walk,
tests/api/test_route_access.py, holds each route to its rule):

- the staff pages: :attr:`Principal.is_staff` (a public account uses the public portal);
- cases: :func:`can_see`; people's assessment figures: :func:`sees_person_figures`;
- a period's assessment figures, workbook and circular: :func:`sees_assessment` (staff);
- the leaders' dashboard: :func:`sees_dashboard`;
- notifications: :func:`notice_audience` (one's own: one's unit's or the center's, personal
  and one's role's) and the rule of their target's kind (``domain.notices.VISIBILITY``);
- inspectors' 核实/核查 tasks: :func:`whose_tasks` (one's own; the center anyone's);
- photos: ``domain.photos.may_see_photo`` (the uploader, or by the rule of what they link to);
- the administration pages: administrators only (the navigation table, ``web.pages.NAV``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xiuhua.domain.choices import Audience, Role
from xiuhua.domain.errors import PermissionDenied
from xiuhua.domain.lifecycle import Actor, Case
from xiuhua.domain.regions import in_district

CENTER_ROLES = frozenset({Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER})
SEE_ALL_ROLES = CENTER_ROLES | {Role.LEADER, Role.OFFICE, Role.ADMIN}
PERSONAL_INFO_ROLES = CENTER_ROLES | {Role.ADMIN}
UNIT_STAFF = frozenset({Role.HANDLER, Role.UNIT_LEADER})


@dataclass(frozen=True)
class Principal:
    """A signed-in user: login, role, unit, (for inspectors) posted grids and (for a district
    command center's staff) district."""

    login: str
    role: Role
    name: str = ""
    unit_code: str | None = None
    grids: frozenset[str] = field(default_factory=frozenset)
    district: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.login, self.role, self.unit_code)

    @property
    def is_staff(self) -> bool:
        """Every role but the public's (a citizens' app signs in with a public account): the
        staff pages, reference data aside, are for staff only."""
        return self.role is not Role.PUBLIC

    @property
    def sees_all(self) -> bool:
        """Sees every case and the city-wide figures: a district's center staff do not."""
        return self.role in SEE_ALL_ROLES and self.district_scope is None

    @property
    def district_scope(self) -> str | None:
        """The district a center role is confined to (None: city-wide or not a center role)."""
        return self.district if self.district and self.role in CENTER_ROLES else None

    @property
    def sees_personal_info(self) -> bool:
        return self.role in PERSONAL_INFO_ROLES


def can_see(principal: Principal, case: Case) -> bool:
    if principal.sees_all:
        return True
    if principal.district_scope is not None:
        return case.location is not None and in_district(case.location.grid_code,
                                                         principal.district_scope)
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


def sees_assessment(principal: Principal) -> bool:
    """May ``principal`` read a period's assessment figures (units', regions'; people's as
    :func:`sees_person_figures`), its workbook and circular? Staff only: a public account sees
    the published rankings of the public portal, never the running figures."""
    return principal.is_staff


def sees_dashboard(principal: Principal) -> bool:
    """The leaders' dashboard (领导驾驶舱) is for the center roles, leaders and admins."""
    return principal.sees_all


def notice_audience(principal: Principal) -> frozenset[tuple[Audience, str]]:
    """The notifications that are ``principal``'s own, as (audience, recipient) pairs: unit
    staff read their unit's, the center roles, leaders and admins the center's; every staff
    member reads those addressed to them by login and to their role. A public account reads
    none (empty). Whether a notification shows also depends on its target
    (``domain.notices.may_read``)."""
    if not principal.is_staff:
        return frozenset()
    own = {(Audience.USER, principal.login), (Audience.ROLE, principal.role.value)}
    if principal.role in UNIT_STAFF and principal.unit_code:
        own.add((Audience.UNIT, principal.unit_code))
    if principal.role in SEE_ALL_ROLES:  # a district's center too: may_read filters by case
        own.add((Audience.CENTER, ""))
    return frozenset(own)


def whose_tasks(principal: Principal, inspector: str | None) -> str | None:
    """Whose open 核实/核查 tasks ``principal`` may list (None: everyone's): an inspector
    their own, whatever they ask for; the center, leaders and admins anyone's."""
    if principal.role is Role.INSPECTOR:
        return principal.login
    if principal.role in SEE_ALL_ROLES:  # a district's center: in its district (tasks.py)
        return inspector
    raise PermissionDenied(f"{principal.role.label}没有核实、核查任务", code="permission_denied")


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
