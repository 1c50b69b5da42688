"""The case lifecycle (七步闭环): states, actions, who may do what, and the transition rules.

Plain Python: a :class:`Case` aggregate is changed only by :func:`apply` (and created by
:func:`report`), which check permission, state, time and inputs before touching anything, so a
refused action changes nothing. Every accepted action appends one immutable :class:`Event` and
bumps the case version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from xiuhua.domain.calendar import TimeLimit, WorkCalendar
from xiuhua.domain.choices import (
    Action,
    AssignmentEnd,
    AssignmentKind,
    CancelReason,
    CaseStatus,
    Rating,
    Role,
    Source,
    TaskKind,
)
from xiuhua.domain.errors import ActionRefused, InvalidInput, PermissionDenied, StaleVersion
from xiuhua.domain.taxonomy import DEFAULT_URGENCY, Taxonomy

S = CaseStatus
_T = TypeVar("_T")
OPEN_STATES = frozenset(s for s in CaseStatus if s.is_open)

# Where each action may start. ``report`` creates a case and has no "from" state.
FROM_STATES: dict[Action, frozenset[CaseStatus]] = {
    Action.AMEND: frozenset({S.REPORTED, S.FILED}),
    Action.REQUEST_VERIFY: frozenset({S.REPORTED}),
    Action.VERIFY: frozenset({S.REPORTED}),
    Action.FILE: frozenset({S.REPORTED}),
    Action.CANCEL: frozenset({S.REPORTED, S.FILED}),
    Action.DISPATCH: frozenset({S.FILED}),
    Action.RETURN: frozenset({S.DISPATCHED}),
    Action.REQUEST_EXTENSION: frozenset({S.DISPATCHED}),
    Action.EXTEND: frozenset({S.DISPATCHED}),
    Action.REJECT_EXTENSION: frozenset({S.DISPATCHED}),
    Action.REQUEST_SUSPENSION: frozenset({S.DISPATCHED}),
    Action.REJECT_SUSPENSION: frozenset({S.DISPATCHED}),
    Action.SUSPEND: frozenset({S.DISPATCHED}),
    Action.RESUME: frozenset({S.SUSPENDED}),
    Action.FEEDBACK: frozenset({S.DISPATCHED}),
    Action.CHECK_FAIL: frozenset({S.HANDLED}),
    Action.CHECK_PASS: frozenset({S.HANDLED}),
    Action.CLOSE: frozenset({S.CHECKED}),
    Action.SUPERVISE: OPEN_STATES,
    Action.RATE: frozenset({S.CLOSED}),
    Action.RECOMPUTE_DEADLINE: frozenset({S.DISPATCHED}),
}

R = Role
DEFAULT_PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.REPORT: frozenset({R.INSPECTOR, R.ACCEPTOR, R.PUBLIC}),
    Action.AMEND: frozenset({R.ACCEPTOR, R.SHIFT_LEADER}),
    Action.REQUEST_VERIFY: frozenset({R.ACCEPTOR, R.SHIFT_LEADER}),
    Action.VERIFY: frozenset({R.INSPECTOR}),
    Action.FILE: frozenset({R.SHIFT_LEADER}),
    Action.CANCEL: frozenset({R.SHIFT_LEADER}),
    Action.DISPATCH: frozenset({R.DISPATCHER}),
    Action.RETURN: frozenset({R.HANDLER, R.UNIT_LEADER}),
    Action.REQUEST_EXTENSION: frozenset({R.HANDLER, R.UNIT_LEADER}),
    Action.EXTEND: frozenset({R.SHIFT_LEADER}),
    Action.REJECT_EXTENSION: frozenset({R.SHIFT_LEADER}),
    Action.REQUEST_SUSPENSION: frozenset({R.HANDLER, R.UNIT_LEADER}),
    Action.REJECT_SUSPENSION: frozenset({R.SHIFT_LEADER}),
    Action.SUSPEND: frozenset({R.SHIFT_LEADER}),
    Action.RESUME: frozenset({R.SHIFT_LEADER}),
    Action.FEEDBACK: frozenset({R.HANDLER, R.UNIT_LEADER}),
    Action.CHECK_FAIL: frozenset({R.INSPECTOR}),
    Action.CHECK_PASS: frozenset({R.INSPECTOR}),
    Action.CLOSE: frozenset({R.SHIFT_LEADER}),
    Action.SUPERVISE: frozenset({R.SHIFT_LEADER, R.LEADER, R.OFFICE}),
    Action.RATE: frozenset({R.PUBLIC, R.ACCEPTOR}),
    Action.RECOMPUTE_DEADLINE: frozenset(),
}
# Actions only the system takes (``xiuhua calendar recompute``): no role may be granted them.
SYSTEM_ACTIONS = frozenset({Action.RECOMPUTE_DEADLINE})
# Roles that act for a handling unit: they may act only on cases their own unit holds.
UNIT_ROLES = frozenset({R.HANDLER, R.UNIT_LEADER})


@dataclass(frozen=True)
class Permissions:
    """The one table that decides which role may take which action (editable by a city)."""

    table: Mapping[Action, frozenset[Role]] = field(
        default_factory=lambda: dict(DEFAULT_PERMISSIONS))

    def allows(self, role: Role, action: Action) -> bool:
        return action not in SYSTEM_ACTIONS and role in self.table.get(action, frozenset())

    def actions_for(self, role: Role) -> list[Action]:
        return [a for a in Action if self.allows(role, a)]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, list[str]]) -> Permissions:
        try:
            table = {Action(a): frozenset(Role(r) for r in roles) for a, roles in raw.items()}
        except ValueError as exc:
            raise InvalidInput(f"权限表有误：{exc}", code="invalid_permissions") from exc
        return cls({**DEFAULT_PERMISSIONS, **table})


@dataclass(frozen=True)
class Location:
    """A located point: WGS84 lon/lat and the regions that contain it."""

    lon: float
    lat: float
    grid_code: str
    community_code: str
    street_code: str


@dataclass(frozen=True)
class Event:
    seq: int
    action: Action
    at: datetime
    actor: str | None = None
    note: str | None = None
    photos: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Assignment:
    """What ``dispatch`` (or ``check_fail`` rework) opens for a unit, with its deadline.

    ``deadline_log`` records (since, deadline) pairs: the deadline as it stood from that instant
    on, ``None`` while suspended; assessment reads "the deadline as it stood at t" from it.
    """

    seq: int
    unit_code: str
    kind: AssignmentKind
    started_at: datetime
    limit: str
    calendar: str
    deadline: datetime
    ended: AssignmentEnd = AssignmentEnd.OPEN
    ended_at: datetime | None = None
    suspended_at: datetime | None = None
    remaining_seconds: int | None = None
    extension_requested: str | None = None
    suspension_requested: str | None = None  # the unit's reason, until suspended or refused
    deadline_log: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    @property
    def handled_at(self) -> datetime | None:
        return self.ended_at if self.ended is AssignmentEnd.HANDLED else None

    @property
    def on_time(self) -> bool | None:
        """Handled at or before the deadline; ``None`` unless handled."""
        if self.ended is not AssignmentEnd.HANDLED or self.ended_at is None:
            return None
        return self.ended_at <= self.deadline

    @property
    def is_open(self) -> bool:
        return self.ended is AssignmentEnd.OPEN

    def deadline_at(self, t: datetime) -> datetime | None:
        """The deadline as it stood at instant ``t`` (``None`` if suspended or not started)."""
        current: datetime | None = None
        for since, deadline in self.deadline_log:
            if since > t:
                break
            current = deadline
        return current


@dataclass
class InspectorTask:
    """A 核实 (verify) or 核查 (check) task for the inspector of the grid."""

    seq: int
    kind: TaskKind
    inspector: str | None
    opened_at: datetime
    deadline: datetime
    done_at: datetime | None = None
    result: str | None = None  # done / passed / failed / cancelled

    @property
    def is_open(self) -> bool:
        return self.done_at is None


@dataclass
class Case:
    case_no: str
    source: Source
    category_code: str
    urgency: str
    reported_at: datetime
    status: CaseStatus = S.REPORTED
    version: int = 0
    location: Location | None = None
    address: str | None = None
    description: str | None = None
    component_code: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: tuple[str, ...] = ()
    filed_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: CancelReason | None = None
    duplicate_of: str | None = None
    rating: Rating | None = None
    updated_at: datetime | None = None
    assignments: list[Assignment] = field(default_factory=list)
    tasks: list[InspectorTask] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def open_assignment(self) -> Assignment | None:
        last = self.assignments[-1] if self.assignments else None
        return last if last is not None and last.is_open else None

    @property
    def holder(self) -> str | None:
        """The unit holding the case: the open assignment's, or the one that handled it last."""
        if self.status in (S.DISPATCHED, S.SUSPENDED, S.HANDLED, S.CHECKED) and self.assignments:
            return self.assignments[-1].unit_code
        return None

    @property
    def last_unit(self) -> str | None:
        return self.assignments[-1].unit_code if self.assignments else None

    def open_task(self, kind: TaskKind) -> InspectorTask | None:
        return next((t for t in reversed(self.tasks) if t.kind is kind and t.is_open), None)


@dataclass(frozen=True)
class LifecycleConfig:
    return_window: str = "2wh"
    verify_limit: str = "1wh"
    check_limit: str = "2wh"
    task_calendar: str = "default"


@dataclass(frozen=True)
class Rules:
    """What the lifecycle needs to know about the city, gathered by the service layer."""

    taxonomy: Taxonomy
    calendars: Mapping[str, WorkCalendar]
    unit_exists: Callable[[str], bool]
    inspector_for: Callable[[str], str | None]  # grid code -> inspector login
    permissions: Permissions = field(default_factory=Permissions)
    config: LifecycleConfig = field(default_factory=LifecycleConfig)

    def calendar(self, name: str) -> WorkCalendar:
        found = self.calendars.get(name)
        if found is None:
            raise InvalidInput(f"未知的工作日历“{name}”", code="unknown_calendar")
        return found


@dataclass(frozen=True)
class Actor:
    """Who acts. ``role=None`` is the system replaying trusted history (import, demo)."""

    login: str | None = None
    role: Role | None = None
    unit_code: str | None = None


SYSTEM = Actor()


@dataclass(frozen=True)
class Command:
    """One lifecycle action with the fields it may carry (the interchange/API event keys)."""

    action: Action
    at: datetime
    actor: Actor = SYSTEM
    expected_version: int | None = None
    note: str | None = None
    photos: tuple[str, ...] = ()
    unit: str | None = None
    limit: str | None = None
    reason: str | None = None
    duplicate_of: str | None = None
    value: str | None = None
    inspector: str | None = None
    # amend
    category_code: str | None = None
    urgency: str | None = None
    location: Location | None = None
    component_code: str | None = None
    address: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ReportData:
    case_no: str
    source: Source
    category_code: str
    at: datetime
    urgency: str = DEFAULT_URGENCY
    location: Location | None = None
    address: str | None = None
    description: str | None = None
    component_code: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: tuple[str, ...] = ()
    note: str | None = None
    inspector: str | None = None


def _refuse(message: str, code: str = "action_refused") -> ActionRefused:
    return ActionRefused(message, code=code)


def _check_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput("时间必须带时区", code="naive_datetime")


def _check_permission(rules: Rules, actor: Actor, action: Action) -> None:
    if actor.role is None:
        return
    if not rules.permissions.allows(actor.role, action):
        raise PermissionDenied(
            f"{actor.role.label}无权执行“{action.label}”操作", code="permission_denied")


def report(data: ReportData, rules: Rules, actor: Actor = SYSTEM) -> Case:
    """上报: create a case in ``reported``; a public report opens a 核实 task."""
    _check_aware(data.at)
    _check_permission(rules, actor, Action.REPORT)
    matter = rules.taxonomy.matter(data.category_code)
    if not matter.active:
        raise InvalidInput(f"事项“{matter.name}”已停用", code="inactive_category")
    if actor.role is Role.PUBLIC and not matter.public_reportable:
        raise InvalidInput(f"事项“{matter.name}”不接受公众上报", code="not_public_category")
    matter.limit_for(data.urgency)
    if data.location is None and not (data.address or "").strip():
        raise InvalidInput("上报须提供位置坐标或地址", code="missing_location")
    case = Case(
        case_no=data.case_no, source=data.source, category_code=data.category_code,
        urgency=data.urgency, reported_at=data.at, location=data.location,
        address=data.address, description=data.description,
        component_code=data.component_code, reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone, photos=data.photos,
    )
    if data.source is Source.PUBLIC:
        _open_task(case, rules, TaskKind.VERIFY, data.at, data.inspector)
    _record(case, Command(Action.REPORT, data.at, actor, note=data.note, photos=data.photos),
            {"source": data.source.value})
    return case


def apply(case: Case, cmd: Command, rules: Rules) -> Event:
    """Apply one action to the case, or raise without changing anything."""
    _check_aware(cmd.at)
    if cmd.action is Action.REPORT:
        raise _refuse("案件已存在，不能重复上报")
    _check_permission(rules, cmd.actor, cmd.action)
    if cmd.expected_version is not None and cmd.expected_version != case.version:
        raise StaleVersion(
            f"案件已被他人更新（当前版本 {case.version}，提交版本 {cmd.expected_version}），请刷新后重试")
    if case.status not in FROM_STATES[cmd.action]:
        raise _refuse(f"案件当前状态为“{case.status.label}”，不能{cmd.action.label}",
                      code="invalid_state")
    if case.events and cmd.at < case.events[-1].at:
        raise _refuse("操作时间早于案件的上一步操作", code="time_out_of_order")
    _check_unit_scope(case, cmd)
    _check_case(case, cmd.action)
    probe = _clone(case)
    data = _HANDLERS[cmd.action](probe, cmd, rules)
    event = _record(probe, cmd, data)
    _commit(case, probe)
    return event


def _holds(case: Case, actor: Actor) -> bool:
    """A unit role acts only on a case its own unit holds; other roles are not unit-bound."""
    if actor.role not in UNIT_ROLES:
        return True
    return case.holder is not None and case.holder == actor.unit_code


def _check_unit_scope(case: Case, cmd: Command) -> None:
    if not _holds(case, cmd.actor):
        raise PermissionDenied("本单位未承办该案件", code="not_your_case")


def _check_case(case: Case, action: Action) -> None:
    """Preconditions on the case itself (beyond its state) that an action needs."""
    check = _CASE_CHECKS.get(action)
    if check is not None:
        check(case)


def _twin(obj: _T) -> _T:
    """A shallow copy of a plain dataclass instance (no ``__init__``: 3x faster than
    :func:`dataclasses.replace`; ``apply`` copies a case before every action)."""
    twin = object.__new__(type(obj))
    twin.__dict__ = obj.__dict__.copy()
    return twin


def _clone(case: Case) -> Case:
    """The probe an action changes: new lists, copies of the mutable assignments and tasks
    (with their own deadline logs); events and locations are immutable and shared."""
    probe = _twin(case)
    probe.assignments = []
    for a in case.assignments:
        copied = _twin(a)
        copied.deadline_log = list(a.deadline_log)
        probe.assignments.append(copied)
    probe.tasks = [_twin(t) for t in case.tasks]
    probe.events = list(case.events)
    return probe


def _commit(case: Case, probe: Case) -> None:
    case.__dict__.update(probe.__dict__)


def _record(case: Case, cmd: Command, data: Mapping[str, Any]) -> Event:
    event = Event(
        seq=len(case.events) + 1, action=cmd.action, at=cmd.at, actor=cmd.actor.login,
        note=cmd.note, photos=cmd.photos, data={k: v for k, v in data.items() if v is not None},
    )
    case.events.append(event)
    case.version += 1
    case.updated_at = cmd.at
    return event


def _open_task(case: Case, rules: Rules, kind: TaskKind, at: datetime,
               inspector: str | None = None) -> InspectorTask:
    limit = TimeLimit.parse(
        rules.config.verify_limit if kind is TaskKind.VERIFY else rules.config.check_limit)
    calendar = rules.calendar(rules.config.task_calendar)
    if inspector is None and case.location is not None:
        inspector = rules.inspector_for(case.location.grid_code)
    task = InspectorTask(seq=len(case.tasks) + 1, kind=kind, inspector=inspector,
                         opened_at=at, deadline=calendar.deadline(at, limit))
    case.tasks.append(task)
    return task


def _close_task(case: Case, kind: TaskKind, at: datetime, result: str) -> None:
    task = case.open_task(kind)
    if task is not None:
        task.done_at = at
        task.result = result


# --- handlers: each validates, mutates the probe copy and returns the event's data ---------


def _amend(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if cmd.category_code is not None and cmd.category_code != case.category_code:
        matter = rules.taxonomy.matter(cmd.category_code)
        if not matter.active:
            raise InvalidInput(f"事项“{matter.name}”已停用", code="inactive_category")
        old["category_code"], new["category_code"] = case.category_code, cmd.category_code
        case.category_code = cmd.category_code
    if cmd.urgency is not None and cmd.urgency != case.urgency:
        old["urgency"], new["urgency"] = case.urgency, cmd.urgency
        case.urgency = cmd.urgency
    rules.taxonomy.matter(case.category_code).limit_for(case.urgency)
    if cmd.location is not None and cmd.location != case.location:
        old["location"] = _location_dict(case.location)
        new["location"] = _location_dict(cmd.location)
        case.location = cmd.location
        verify = case.open_task(TaskKind.VERIFY)
        if verify is not None and verify.inspector is None:
            verify.inspector = rules.inspector_for(cmd.location.grid_code)
    for name in ("component_code", "address", "description"):
        value = getattr(cmd, name)
        if value is not None and value != getattr(case, name):
            old[name], new[name] = getattr(case, name), value
            setattr(case, name, value)
    if not new:
        raise InvalidInput("修改内容与原值相同，无需修改", code="nothing_to_amend")
    return {"old": old, "new": new}


def _location_dict(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"lon": loc.lon, "lat": loc.lat, "grid_code": loc.grid_code}


def _verify(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    task = case.open_task(TaskKind.VERIFY)
    if task is None:
        task = _open_task(case, rules, TaskKind.VERIFY, cmd.at, cmd.actor.login)
    task.done_at = cmd.at
    task.result = "done"
    return {}


def _request_verify(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    """送核实: open a 核实 task for the inspector picked, else the grid's; a task already open
    for someone else is handed over (closed as ``reassigned``)."""
    grid = case.location.grid_code if case.location is not None else None
    inspector = cmd.inspector or (rules.inspector_for(grid) if grid is not None else None)
    if inspector is None:
        raise InvalidInput("案件尚未定位且未指定监督员，请先补充位置或指定核实的监督员",
                           code="no_inspector")
    current = case.open_task(TaskKind.VERIFY)
    if current is not None:
        if current.inspector == inspector:
            raise _refuse("该监督员已有此案件的核实任务", code="verify_pending")
        current.done_at, current.result = cmd.at, "reassigned"
    _open_task(case, rules, TaskKind.VERIFY, cmd.at, inspector)
    return {"inspector": inspector}


def _file(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    case.status = S.FILED
    case.filed_at = cmd.at
    _close_task(case, TaskKind.VERIFY, cmd.at, "superseded")
    return {}


def _cancel(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    try:
        reason = CancelReason(cmd.reason or "")
    except ValueError:
        raise InvalidInput("作废原因须为 invalid（无效）、duplicate（重复）或 out_of_scope（不属于受理范围）",
                           code="invalid_reason") from None
    if reason is CancelReason.DUPLICATE:
        if not cmd.duplicate_of:
            raise InvalidInput("重复案件须注明重复的案件号（duplicate_of）", code="missing_duplicate_of")
        if cmd.duplicate_of == case.case_no:
            raise InvalidInput("案件不能与自身重复", code="invalid_duplicate_of")
    case.status = S.CANCELLED
    case.cancelled_at = cmd.at
    case.cancel_reason = reason
    case.duplicate_of = cmd.duplicate_of if reason is CancelReason.DUPLICATE else None
    for task in case.tasks:
        if task.is_open:
            task.done_at, task.result = cmd.at, "cancelled"
    return {"reason": reason.value, "duplicate_of": case.duplicate_of}


def _limit_for_dispatch(case: Case, cmd: Command, rules: Rules) -> tuple[TimeLimit, str]:
    matter = rules.taxonomy.matter(case.category_code)
    if cmd.limit is not None:
        return TimeLimit.parse(cmd.limit), matter.calendar
    return matter.limit_for(case.urgency), matter.calendar


def _new_assignment(case: Case, rules: Rules, unit: str, kind: AssignmentKind, at: datetime,
                    limit: TimeLimit, calendar_name: str) -> Assignment:
    deadline = rules.calendar(calendar_name).deadline(at, limit)
    assignment = Assignment(
        seq=len(case.assignments) + 1, unit_code=unit, kind=kind, started_at=at,
        limit=limit.text, calendar=calendar_name, deadline=deadline,
        deadline_log=[(at, deadline)],
    )
    case.assignments.append(assignment)
    return assignment


def _dispatch(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    if not cmd.unit:
        raise InvalidInput("派遣须指定处置单位", code="missing_unit")
    if not rules.unit_exists(cmd.unit):
        raise InvalidInput(f"未知的处置单位“{cmd.unit}”", code="unknown_unit")
    limit, calendar_name = _limit_for_dispatch(case, cmd, rules)
    _new_assignment(case, rules, cmd.unit, AssignmentKind.DISPATCH, cmd.at, limit, calendar_name)
    case.status = S.DISPATCHED
    return {"unit": cmd.unit, "limit": limit.text}


def _open(case: Case) -> Assignment:
    assignment = case.open_assignment
    if assignment is None:  # guarded by the state table; kept as a clear error
        raise _refuse("案件没有进行中的派遣", code="no_open_assignment")
    return assignment


def _before_deadline(assignment: Assignment, at: datetime, what: str) -> None:
    if at > assignment.deadline:
        raise _refuse(f"已超过处置时限，不能{what}", code="after_deadline")


def _reason(cmd: Command, what: str) -> str:
    reason = (cmd.reason or cmd.note or "").strip()
    if not reason:
        raise InvalidInput(f"{what}须填写原因", code="missing_reason")
    return reason


def return_window_closes(assignment: Assignment, rules: Rules) -> datetime:
    """The last instant the unit may return the assignment (the return window after dispatch)."""
    window = TimeLimit.parse(rules.config.return_window)
    return rules.calendar(assignment.calendar).deadline(assignment.started_at, window)


def _return(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    if cmd.at > return_window_closes(assignment, rules):
        raise _refuse(f"已超过回退时限（派遣后 {rules.config.return_window}），不能回退",
                      code="return_window_closed")
    reason = _reason(cmd, "回退")
    assignment.ended, assignment.ended_at = AssignmentEnd.RETURNED, cmd.at
    assignment.extension_requested = assignment.suspension_requested = None
    case.status = S.FILED
    return {"reason": reason}


def _request_extension(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    _before_deadline(assignment, cmd.at, "申请延期")
    if not cmd.limit:
        raise InvalidInput("申请延期须填写延长时限（limit）", code="missing_limit")
    limit = TimeLimit.parse(cmd.limit)
    assignment.extension_requested = limit.text
    return {"limit": limit.text, "reason": cmd.reason}


def _pending_extension(assignment: Assignment) -> str:
    if assignment.extension_requested is None:
        raise _refuse("没有待审批的延期申请", code="no_extension_request")
    return assignment.extension_requested


def _extend(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    requested = _pending_extension(assignment)
    _before_deadline(assignment, cmd.at, "批准延期")
    limit = TimeLimit.parse(cmd.limit or requested)
    calendar = rules.calendar(assignment.calendar)
    assignment.deadline = calendar.deadline(assignment.deadline, limit)
    assignment.deadline_log.append((cmd.at, assignment.deadline))
    assignment.extension_requested = None
    return {"limit": limit.text}


def _reject_extension(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    _before_deadline(assignment, cmd.at, "驳回延期")
    assignment.extension_requested = None
    return {"reason": cmd.reason}


def _request_suspension(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    _before_deadline(assignment, cmd.at, "申请挂账")
    assignment.suspension_requested = _reason(cmd, "申请挂账")
    return {"reason": assignment.suspension_requested}


def _reject_suspension(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    _open(case).suspension_requested = None
    return {"reason": cmd.reason}


def _suspend(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    _before_deadline(assignment, cmd.at, "挂账")
    reason = _reason(cmd, "挂账")
    working = TimeLimit.parse(assignment.limit).working
    calendar = rules.calendar(assignment.calendar)
    assignment.remaining_seconds = calendar.counted_seconds(cmd.at, assignment.deadline, working)
    assignment.suspended_at = cmd.at
    assignment.suspension_requested = None
    assignment.deadline_log.append((cmd.at, None))
    case.status = S.SUSPENDED
    return {"reason": reason}


def _resume(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    working = TimeLimit.parse(assignment.limit).working
    calendar = rules.calendar(assignment.calendar)
    remaining = assignment.remaining_seconds or 0
    assignment.deadline = (calendar.add(cmd.at, remaining, working) if remaining > 0
                           else max(cmd.at, assignment.deadline))
    assignment.deadline_log.append((cmd.at, assignment.deadline))
    assignment.suspended_at = None
    assignment.remaining_seconds = None
    case.status = S.DISPATCHED
    return {}


def recomputed_deadline(case: Case, calendars: Mapping[str, WorkCalendar]) -> datetime | None:
    """The open, running assignment's deadline as today's calendar gives it, or ``None``.

    The deadline is replayed from the dispatch: the limit counted from the start, each
    approved extension counted from the deadline it extended, each suspension keeping the
    counted time left and each resumption counting it again. Where no changed day lies in
    the counted time this is the stored deadline; natural-time limits never move.
    """
    assignment = case.open_assignment
    if assignment is None or assignment.suspended_at is not None:
        return None
    calendar = calendars.get(assignment.calendar)
    if calendar is None:
        raise InvalidInput(f"未知的工作日历“{assignment.calendar}”", code="unknown_calendar")
    limit = TimeLimit.parse(assignment.limit)
    deadline = calendar.deadline(assignment.started_at, limit)
    remaining = 0
    for event in _assignment_events(case):
        if event.action is Action.EXTEND:
            deadline = calendar.deadline(deadline, TimeLimit.parse(str(event.data["limit"])))
        elif event.action is Action.SUSPEND:
            remaining = calendar.counted_seconds(event.at, deadline, limit.working)
        elif event.action is Action.RESUME:
            deadline = (calendar.add(event.at, remaining, limit.working) if remaining > 0
                        else max(event.at, deadline))
    return deadline


def _assignment_events(case: Case) -> list[Event]:
    """The events since the open assignment was opened (by the last dispatch or rework)."""
    opened = max((i for i, e in enumerate(case.events)
                   if e.action in (Action.DISPATCH, Action.CHECK_FAIL)), default=-1)
    return case.events[opened + 1:]


def _recompute_deadline(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    """The deadline as today's calendar gives it (the system's step after a calendar change;
    a replayed history records it even where the calendar already agrees)."""
    assignment = _open(case)
    deadline = recomputed_deadline(case, rules.calendars) or assignment.deadline
    previous, assignment.deadline = assignment.deadline, deadline
    assignment.deadline_log.append((cmd.at, deadline))
    return {"unit": assignment.unit_code, "from": previous.isoformat(),
            "to": deadline.isoformat()}


def _feedback(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    assignment = _open(case)
    assignment.ended, assignment.ended_at = AssignmentEnd.HANDLED, cmd.at
    assignment.extension_requested = assignment.suspension_requested = None
    case.status = S.HANDLED
    _open_task(case, rules, TaskKind.CHECK, cmd.at, cmd.inspector)
    return {"inspector": cmd.inspector}


def _check_fail(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    last = case.assignments[-1]
    limit = TimeLimit.parse(last.limit)
    _close_task(case, TaskKind.CHECK, cmd.at, "failed")
    _new_assignment(case, rules, last.unit_code, AssignmentKind.REWORK, cmd.at, limit,
                    last.calendar)
    case.status = S.DISPATCHED
    return {"unit": last.unit_code, "limit": limit.text}


def _check_pass(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    _close_task(case, TaskKind.CHECK, cmd.at, "passed")
    case.status = S.CHECKED
    return {}


def _close(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    case.status = S.CLOSED
    case.closed_at = cmd.at
    return {}


def _supervise(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    return {"unit": case.holder}


def _rate(case: Case, cmd: Command, rules: Rules) -> dict[str, Any]:
    try:
        case.rating = Rating(cmd.value or "")
    except ValueError:
        raise InvalidInput("评价须为 satisfied（满意）、basically_satisfied（基本满意）或 "
                           "dissatisfied（不满意）", code="invalid_rating") from None
    return {"value": case.rating.value}


# --- preconditions on the case (shared by apply and allowed_actions) ------------------------


def _located(case: Case) -> None:
    if case.location is None:
        raise _refuse("案件尚未定位到单元网格，请先补充位置后再立案", code="not_located")


def _no_pending_extension(case: Case) -> None:
    if _open(case).extension_requested is not None:
        raise _refuse("已有待审批的延期申请", code="extension_pending")


def _has_pending_extension(case: Case) -> None:
    _pending_extension(_open(case))


def _no_pending_suspension(case: Case) -> None:
    if _open(case).suspension_requested is not None:
        raise _refuse("已有待审批的挂账申请", code="suspension_pending")


def _has_pending_suspension(case: Case) -> None:
    if _open(case).suspension_requested is None:
        raise _refuse("没有待审批的挂账申请", code="no_suspension_request")


def _held(case: Case) -> None:
    if case.holder is None:
        raise _refuse("案件尚未派遣到处置单位，无督办对象", code="no_holder")


def _not_rated(case: Case) -> None:
    if case.rating is not None:
        raise _refuse("该案件已评价，每个案件只能评价一次", code="already_rated")


_CASE_CHECKS: dict[Action, Callable[[Case], None]] = {
    Action.FILE: _located,
    Action.REQUEST_EXTENSION: _no_pending_extension,
    Action.EXTEND: _has_pending_extension,
    Action.REJECT_EXTENSION: _has_pending_extension,
    Action.REQUEST_SUSPENSION: _no_pending_suspension,
    Action.REJECT_SUSPENSION: _has_pending_suspension,
    Action.SUPERVISE: _held,
    Action.RATE: _not_rated,
}

_HANDLERS: dict[Action, Callable[[Case, Command, Rules], dict[str, Any]]] = {
    Action.AMEND: _amend,
    Action.REQUEST_VERIFY: _request_verify,
    Action.VERIFY: _verify,
    Action.FILE: _file,
    Action.CANCEL: _cancel,
    Action.DISPATCH: _dispatch,
    Action.RETURN: _return,
    Action.REQUEST_EXTENSION: _request_extension,
    Action.EXTEND: _extend,
    Action.REJECT_EXTENSION: _reject_extension,
    Action.REQUEST_SUSPENSION: _request_suspension,
    Action.REJECT_SUSPENSION: _reject_suspension,
    Action.SUSPEND: _suspend,
    Action.RESUME: _resume,
    Action.FEEDBACK: _feedback,
    Action.CHECK_FAIL: _check_fail,
    Action.CHECK_PASS: _check_pass,
    Action.CLOSE: _close,
    Action.SUPERVISE: _supervise,
    Action.RATE: _rate,
    Action.RECOMPUTE_DEADLINE: _recompute_deadline,
}


def overdue_at(assignment: Assignment, t: datetime) -> bool:
    """The one overdue rule: started before t, not ended before t, not suspended at t,
    and its deadline as it stood at t is before t."""
    if assignment.started_at >= t:
        return False
    if assignment.ended_at is not None and assignment.ended_at < t:
        return False
    deadline = assignment.deadline_at(t)
    return deadline is not None and deadline < t


def allowed_actions(case: Case, actor: Actor, rules: Rules) -> list[Action]:
    """Actions that the role, state, unit and case preconditions admit for this actor now;
    time rules (deadlines, the return window) and the command's inputs are checked on apply."""
    result = []
    for action, states in FROM_STATES.items():
        if case.status not in states or not _holds(case, actor):
            continue
        if actor.role is not None and not rules.permissions.allows(actor.role, action):
            continue
        try:
            _check_case(case, action)
        except ActionRefused:
            continue
        result.append(action)
    return result
