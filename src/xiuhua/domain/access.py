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
- the administration pages: administrators only (the navigation table, ``web.pages.NAV``);
- the server's metrics (``GET /metrics``): :func:`check_metrics_reader` (a network or a token);
- key projects and legacy issues: :func:`can_see_project`, :func:`can_see_legacy_issue` (the
  office, leaders and admins all; a unit's staff those their unit leads), managed by the office
  (:func:`manages_programme`); the parties of a legacy issue, personal data, in full only for
  :func:`sees_legacy_parties` (masked for everyone else, as reporters are);
- surveys (问卷调查): :func:`sees_surveys` (results, staff), :func:`manages_surveys` (editor),
  :func:`enters_interviews` (an evaluator's street interview); answering is public;
- plan tasks: :func:`can_see_task` (a unit the tasks it leads or cooperates on); supervision
  orders: :func:`can_see_order` (a unit those addressed to it); managing plans and orders:
  :func:`manages_programme` (the office and admins);
- field evaluation (考评): standards and evaluation points are reference data for staff; rounds
  are planned, recorded, closed and published by evaluators (and admins) (:func:`evaluates`);
  a round's sample only they see until it closes (:func:`sees_round_sample`, 不打招呼), and a
  unit's staff see their own unit's results once it is published (:func:`sees_round_results`);
  the period's self-evaluation report is for the city-wide roles (:func:`sees_self_evaluation`).

Roles combine in one way only: a user has one role and may hold **evaluator** as a second role
(``Principal.extra_roles``, :data:`COMBINABLE_ROLES`), e.g. an inspector who also walks the
evaluation rounds. Only the evaluation rules ask for it (:meth:`Principal.has_role`); every
other rule reads ``role``, so a second role never widens what a user sees of cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from hmac import compare_digest
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Protocol

from xiuhua.domain.choices import Audience, Role, RoundState
from xiuhua.domain.errors import AuthenticationFailed, PermissionDenied
from xiuhua.domain.lifecycle import Actor, Case
from xiuhua.domain.regions import in_district

CENTER_ROLES = frozenset({Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER})
SEE_ALL_ROLES = CENTER_ROLES | {Role.LEADER, Role.OFFICE, Role.ADMIN}
PERSONAL_INFO_ROLES = CENTER_ROLES | {Role.ADMIN}
UNIT_STAFF = frozenset({Role.HANDLER, Role.UNIT_LEADER})
# the work programme (key projects, legacy issues): who sees all of it, and who manages it
PROGRAMME_ROLES = frozenset({Role.OFFICE, Role.LEADER, Role.ADMIN})
PROGRAMME_MANAGERS = frozenset({Role.OFFICE, Role.ADMIN})
COMBINABLE_ROLES = frozenset({Role.EVALUATOR})  # the roles a user may hold besides their own


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
    extra_roles: frozenset[Role] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.extra_roles <= COMBINABLE_ROLES or (self.extra_roles and self.role is Role.PUBLIC):
            raise ValueError(f"extra roles {sorted(self.extra_roles)} cannot be combined with {self.role}")

    def has_role(self, role: Role) -> bool:
        """Whether ``role`` is the user's own role or their second one."""
        return self.role is role or role in self.extra_roles

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


def sees_surveys(principal: Principal) -> bool:
    """Surveys and their results (scores, answers, which carry no personal data): staff."""
    return principal.is_staff


def manages_surveys(principal: Principal) -> bool:
    """Create and edit surveys: the center roles, leaders, the office and admins."""
    return principal.sees_all


def enters_interviews(principal: Principal) -> bool:
    """Enter an answer from a street interview: evaluators (考评员) and those who manage surveys."""
    return principal.role is Role.EVALUATOR or manages_surveys(principal)


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


def evaluates(principal: Principal) -> bool:
    """May ``principal`` plan, record, close and publish field evaluation rounds and edit
    standards and evaluation points? Evaluators (own or second role) and admins."""
    return principal.role is Role.ADMIN or principal.has_role(Role.EVALUATOR)


def sees_evaluation_data(principal: Principal) -> bool:
    """Standards and evaluation points (places) are reference data for every staff member."""
    return principal.is_staff


def sees_round_sample(principal: Principal, state: RoundState) -> bool:
    """A round's sample and its deductions: evaluators and admins always; the center roles,
    leaders and the office once the round is closed (the sample is no longer a secret)."""
    return evaluates(principal) or (state is not RoundState.OPEN and principal.sees_all)


def sees_self_evaluation(principal: Principal) -> bool:
    """A period's self-evaluation report (自评价报告: the city's field scores reported upwards):
    the center roles, leaders, the office and admins (city-wide)."""
    return principal.sees_all


def sees_round_results(principal: Principal, state: RoundState, unit_code: str | None) -> bool:
    """One evaluated unit's results of a round: whoever sees the sample, and the unit's own
    staff once the round is published."""
    if sees_round_sample(principal, state):
        return True
    return (state is RoundState.PUBLISHED and principal.role in UNIT_STAFF
            and unit_code is not None and principal.unit_code == unit_code)


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


# --- GET /metrics: a scraper, not a person -------------------------------------------------


def check_metrics_reader(client: str | None, networks: Iterable[IPv4Network | IPv6Network],
                         presented: str | None, token: str) -> None:
    """Whether a request may read the server's metrics: from an allowed network (the client's
    address), or with the metrics token. Without a token outside those networks: authentication
    failed (401, a token would help); with a wrong one: refused (403). A signed-in user is no
    scraper: the session or a user's token gives no access."""
    try:
        address = ip_address(client) if client else None
    except ValueError:
        address = None
    if address is not None and any(address in net for net in networks):
        return
    if not presented:
        raise AuthenticationFailed("读取监控指标需在允许的网络内（XIUHUA_METRICS_ALLOW）或提供监控令牌",
                                   code="metrics_token_required")
    if not token or not compare_digest(presented.encode(), token.encode()):
        raise PermissionDenied("监控令牌无效", code="metrics_forbidden")


class LedByUnit(Protocol):
    """Anything a lead unit (牵头单位) answers for: a key project, a legacy issue."""

    @property
    def lead_unit(self) -> str: ...


@dataclass(frozen=True)
class LeadUnitScope:
    """A project or legacy issue as far as seeing it goes (its photos, its notifications)."""

    lead_unit: str


def _sees_led_work(principal: Principal, work: LedByUnit) -> bool:
    if principal.role in PROGRAMME_ROLES:
        return True
    return principal.role in UNIT_STAFF and principal.unit_code == work.lead_unit


def can_see_project(principal: Principal, project: LedByUnit) -> bool:
    """A key project (重点项目): the office, leaders and admins see every one; a unit's staff
    those their unit leads; nobody else."""
    return _sees_led_work(principal, project)


def can_see_legacy_issue(principal: Principal, issue: LedByUnit) -> bool:
    """A legacy issue (遗留问题): the office, leaders and admins see every one; a unit's staff
    those their unit leads (with the parties masked, :func:`sees_legacy_parties`)."""
    return _sees_led_work(principal, issue)


def sees_programme(principal: Principal) -> bool:
    """Every key project and legacy issue, and their figures (dashboard tiles)."""
    return principal.role in PROGRAMME_ROLES


def manages_programme(principal: Principal) -> bool:
    """Creates key projects and legacy issues, accepts or returns progress, signs issues off:
    the office (城管委办公室) and administrators."""
    return principal.role in PROGRAMME_MANAGERS


def sees_legacy_parties(principal: Principal) -> bool:
    """The parties of a legacy issue (names, phones: personal data) in full: the office,
    leaders and admins; everyone else who sees the issue reads them masked."""
    return principal.role in PROGRAMME_ROLES


# --- the work programme (专项行动) and supervision orders (督查督办) ---------------------------

@dataclass(frozen=True)
class TaskScope:
    """A plan task as far as seeing it goes: its lead unit and cooperating units."""

    lead_unit: str | None
    cooperating: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OrderScope:
    """A supervision order as far as seeing it goes: the unit it is addressed to."""

    unit_code: str


def check_manages_programme(principal: Principal, what: str) -> None:
    if not manages_programme(principal):
        raise PermissionDenied(f"{principal.role.label}不能{what}（城管委办公室办理）",
                               code="permission_denied")


def can_see_task(principal: Principal, task: TaskScope) -> bool:
    """The office, leaders, the center and admins see every task; a unit's staff the tasks
    their unit leads or cooperates on."""
    if principal.sees_all:
        return True
    unit = principal.unit_code
    return principal.role in UNIT_STAFF and unit is not None and (
        unit == task.lead_unit or unit in task.cooperating)


def leads_task(principal: Principal, task: TaskScope) -> bool:
    """A report on a task comes from its lead unit's staff (a cooperating unit adds notes)."""
    return principal.role in UNIT_STAFF and principal.unit_code == task.lead_unit


def can_see_order(principal: Principal, order: OrderScope) -> bool:
    """The office, leaders, the center and admins see every order; a unit's staff those
    addressed to their unit."""
    if principal.sees_all:
        return True
    return principal.role in UNIT_STAFF and principal.unit_code == order.unit_code
