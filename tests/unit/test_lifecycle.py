"""The case lifecycle (七步闭环): who may do what, from which state, and how the clock runs.

Dates are in October 2026 (Asia/Shanghai): Thursday 10-15, Friday 10-16, Monday 10-19,
Tuesday 10-20. Working time is 08:30–12:00 and 13:30–17:30 on working days.
"""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError, replace
from datetime import date, datetime
from typing import Any

import pytest

from tests.factories import local
from xiuhua.domain.calendar import WorkCalendar
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
from xiuhua.domain.lifecycle import (
    SYSTEM,
    Actor,
    Case,
    Command,
    LifecycleConfig,
    Location,
    Permissions,
    ReportData,
    Rules,
    allowed_actions,
    apply,
    overdue_at,
    recomputed_deadline,
    report,
)
from xiuhua.domain.taxonomy import Taxonomy, parse_taxonomy_csv
from xiuhua.services.city import shipped_taxonomy_text

S = CaseStatus
A = Action
TAXONOMY = Taxonomy.of(parse_taxonomy_csv(shipped_taxonomy_text()))
GRID = "370181001001001"
GRID_WITHOUT_INSPECTOR = "370181001001002"
LOCATION = Location(117.0005, 36.6495, GRID, "370181001001", "370181001")
UNITS = frozenset({"U-HW", "U-ZF", "U-JD1"})
INSPECTORS = {GRID: "inspector01"}

EXPOSED_GARBAGE = "06010"  # 暴露垃圾: 4wh normal, 2wh urgent
ILLEGAL_BUILDING = "06001"  # 私搭乱建: 15wd normal
BEGGING = "09003"  # 流浪乞讨: not open to public reports

INSPECTOR = Actor("inspector01", Role.INSPECTOR)
ACCEPTOR = Actor("acceptor01", Role.ACCEPTOR)
SHIFT_LEADER = Actor("shift01", Role.SHIFT_LEADER)
DISPATCHER = Actor("dispatch01", Role.DISPATCHER)
HANDLER = Actor("handler_hw", Role.HANDLER, "U-HW")
UNIT_LEADER = Actor("leader_hw", Role.UNIT_LEADER, "U-HW")
OTHER_HANDLER = Actor("handler_zf", Role.HANDLER, "U-ZF")
LEADER = Actor("mayor", Role.LEADER)
PUBLIC = Actor(None, Role.PUBLIC)

# The spec's table, written out here so the tests do not read the module's own copy.
SPEC_FROM: dict[Action, set[CaseStatus]] = {
    A.AMEND: {S.REPORTED, S.FILED},
    A.REQUEST_VERIFY: {S.REPORTED},
    A.VERIFY: {S.REPORTED},
    A.FILE: {S.REPORTED},
    A.CANCEL: {S.REPORTED, S.FILED},
    A.DISPATCH: {S.FILED},
    A.RETURN: {S.DISPATCHED},
    A.REQUEST_EXTENSION: {S.DISPATCHED},
    A.EXTEND: {S.DISPATCHED},
    A.REJECT_EXTENSION: {S.DISPATCHED},
    A.REQUEST_SUSPENSION: {S.DISPATCHED},
    A.REJECT_SUSPENSION: {S.DISPATCHED},
    A.SUSPEND: {S.DISPATCHED},
    A.RESUME: {S.SUSPENDED},
    A.FEEDBACK: {S.DISPATCHED},
    A.CHECK_FAIL: {S.HANDLED},
    A.CHECK_PASS: {S.HANDLED},
    A.CLOSE: {S.CHECKED},
    A.SUPERVISE: {S.REPORTED, S.FILED, S.DISPATCHED, S.SUSPENDED, S.HANDLED, S.CHECKED},
    A.RATE: {S.CLOSED},
    A.RECOMPUTE_DEADLINE: {S.DISPATCHED},
}
SPEC_TO: dict[Action, CaseStatus | None] = {  # None: the case stays where it was
    A.AMEND: None, A.REQUEST_VERIFY: S.REPORTED, A.VERIFY: S.REPORTED, A.FILE: S.FILED, A.CANCEL: S.CANCELLED,
    A.DISPATCH: S.DISPATCHED, A.RETURN: S.FILED, A.REQUEST_EXTENSION: S.DISPATCHED,
    A.EXTEND: S.DISPATCHED, A.REJECT_EXTENSION: S.DISPATCHED,
    A.REQUEST_SUSPENSION: S.DISPATCHED, A.REJECT_SUSPENSION: S.DISPATCHED, A.SUSPEND: S.SUSPENDED,
    A.RESUME: S.DISPATCHED, A.FEEDBACK: S.HANDLED, A.CHECK_FAIL: S.DISPATCHED,
    A.CHECK_PASS: S.CHECKED, A.CLOSE: S.CLOSED, A.SUPERVISE: None, A.RATE: S.CLOSED,
    A.RECOMPUTE_DEADLINE: None,
}
SPEC_ROLES: dict[Action, set[Role]] = {
    A.REPORT: {Role.INSPECTOR, Role.ACCEPTOR, Role.PUBLIC},
    A.AMEND: {Role.ACCEPTOR, Role.SHIFT_LEADER},
    A.REQUEST_VERIFY: {Role.ACCEPTOR, Role.SHIFT_LEADER},
    A.VERIFY: {Role.INSPECTOR},
    A.FILE: {Role.SHIFT_LEADER},
    A.CANCEL: {Role.SHIFT_LEADER},
    A.DISPATCH: {Role.DISPATCHER},
    A.RETURN: {Role.HANDLER, Role.UNIT_LEADER},
    A.REQUEST_EXTENSION: {Role.HANDLER, Role.UNIT_LEADER},
    A.EXTEND: {Role.SHIFT_LEADER},
    A.REJECT_EXTENSION: {Role.SHIFT_LEADER},
    A.REQUEST_SUSPENSION: {Role.HANDLER, Role.UNIT_LEADER},
    A.REJECT_SUSPENSION: {Role.SHIFT_LEADER},
    A.SUSPEND: {Role.SHIFT_LEADER},
    A.RESUME: {Role.SHIFT_LEADER},
    A.FEEDBACK: {Role.HANDLER, Role.UNIT_LEADER},
    A.CHECK_FAIL: {Role.INSPECTOR},
    A.CHECK_PASS: {Role.INSPECTOR},
    A.CLOSE: {Role.SHIFT_LEADER},
    A.SUPERVISE: {Role.SHIFT_LEADER, Role.LEADER, Role.OFFICE},
    A.RATE: {Role.PUBLIC, Role.ACCEPTOR},
    A.RECOMPUTE_DEADLINE: set(),  # the system only (xiuhua calendar recompute)
}


def make_rules(**changes: Any) -> Rules:
    rules = Rules(taxonomy=TAXONOMY, calendars={"default": WorkCalendar("default")},
                  unit_exists=UNITS.__contains__, inspector_for=INSPECTORS.get)
    return replace(rules, **changes)


RULES = make_rules()


def new_case(when: str = "2026-10-15 08:00", *, source: Source = Source.INSPECTOR,
             category: str = EXPOSED_GARBAGE, actor: Actor = INSPECTOR,
             rules: Rules = RULES, **fields: Any) -> Case:
    fields.setdefault("location", LOCATION)
    data = ReportData(case_no="20261015000001", source=source, category_code=category,
                      at=local(when), **fields)
    return report(data, rules, actor)


def act(case: Case, action: Action, when: str, actor: Actor = SYSTEM, *,
        rules: Rules = RULES, **fields: Any) -> Case:
    apply(case, Command(action, local(when), actor, **fields), rules)
    return case


def dispatched(when: str = "2026-10-15 08:30", unit: str = "U-HW", **fields: Any) -> Case:
    """Reported 07:50 and filed 08:00 on the day of ``when``, then dispatched at ``when``."""
    day = when[:10]
    case = new_case(f"{day} 07:50", category=fields.pop("category", EXPOSED_GARBAGE),
                    urgency=fields.pop("urgency", "normal"))
    act(case, A.FILE, f"{day} 08:00", SHIFT_LEADER)
    return act(case, A.DISPATCH, when, DISPATCHER, unit=unit, **fields)


def in_state(status: CaseStatus) -> Case:
    """A case brought to ``status`` by 09:20 on Thursday 2026-10-15 (dispatched at 08:30,
    deadline 14:00, return window open until 10:30)."""
    case = new_case("2026-10-15 08:00")
    if status is S.CANCELLED:
        return act(case, A.CANCEL, "2026-10-15 08:10", SHIFT_LEADER, reason="invalid")
    steps = [(S.FILED, A.FILE, "08:10", SHIFT_LEADER, {}),
             (S.DISPATCHED, A.DISPATCH, "08:30", DISPATCHER, {"unit": "U-HW"})]
    if status is S.SUSPENDED:
        steps.append((S.SUSPENDED, A.SUSPEND, "09:00", SHIFT_LEADER, {"reason": "等待施工许可"}))
    else:
        steps += [(S.HANDLED, A.FEEDBACK, "09:00", HANDLER, {"note": "已清运"}),
                  (S.CHECKED, A.CHECK_PASS, "09:10", INSPECTOR, {}),
                  (S.CLOSED, A.CLOSE, "09:20", SHIFT_LEADER, {})]
    for reached, action, clock, actor, fields in steps:
        if case.status is status:
            break
        act(case, action, f"2026-10-15 {clock}", actor, **fields)
        assert case.status is reached
    assert case.status is status
    return case


COMPLETE_FIELDS: dict[Action, dict[str, Any]] = {
    A.AMEND: {"description": "垃圾堆在路口东侧"},
    A.CANCEL: {"reason": "invalid"},
    A.DISPATCH: {"unit": "U-HW"},
    A.RETURN: {"reason": "不属于本单位职责"},
    A.REQUEST_EXTENSION: {"limit": "2wh", "reason": "需调用大型车辆"},
    A.SUSPEND: {"reason": "等待施工许可"},
    A.REQUEST_SUSPENSION: {"reason": "等待燃气公司停气"},
    A.FEEDBACK: {"note": "已清运", "photos": ("p-after",)},
    A.RATE: {"value": "satisfied"},
}


def complete_command(action: Action, when: str, actor: Actor = SYSTEM) -> Command:
    """A command carrying every input ``action`` needs to succeed."""
    return Command(action, local(when), actor, **COMPLETE_FIELDS.get(action, {}))


def prepare(case: Case, action: Action) -> Case:
    """Meet the preconditions an action has beyond the case's state."""
    if action in (A.EXTEND, A.REJECT_EXTENSION) and case.status is S.DISPATCHED:
        act(case, A.REQUEST_EXTENSION, "2026-10-15 09:30", HANDLER, limit="2wh")
    if action is A.REJECT_SUSPENSION and case.status is S.DISPATCHED:
        act(case, A.REQUEST_SUSPENSION, "2026-10-15 09:30", HANDLER, reason="等待停气")
    return case


def refused(case: Case, cmd: Command, rules: Rules = RULES) -> ActionRefused | InvalidInput:
    """Apply ``cmd`` expecting a refusal that leaves the case exactly as it was."""
    before = copy.deepcopy(case)
    with pytest.raises((ActionRefused, InvalidInput)) as info:
        apply(case, cmd, rules)
    assert case == before
    return info.value


def home_state(action: Action) -> CaseStatus:
    return S.DISPATCHED if action is A.SUPERVISE else min(
        SPEC_FROM[action], key=list(CaseStatus).index)


# --- reporting -------------------------------------------------------------------------------


def test_a_report_creates_a_reported_case_with_one_event() -> None:
    case = new_case(note="路口有垃圾", photos=("p1", "p2"))
    assert case.status is S.REPORTED
    assert case.version == 1
    [event] = case.events
    assert (event.seq, event.action, event.at, event.actor) == (
        1, A.REPORT, local("2026-10-15 08:00"), "inspector01")
    assert event.note == "路口有垃圾"
    assert event.photos == ("p1", "p2")
    assert event.data == {"source": "inspector"}
    assert case.tasks == []


def test_a_public_report_opens_a_verify_task_for_the_grids_inspector_due_in_1_working_hour(
) -> None:
    case = new_case("2026-10-15 11:30", source=Source.PUBLIC, actor=PUBLIC)
    [task] = case.tasks
    assert task.kind is TaskKind.VERIFY
    assert task.inspector == "inspector01"
    assert task.opened_at == local("2026-10-15 11:30")
    assert task.deadline == local("2026-10-15 14:00")  # 30 min before lunch, 30 min after
    assert task.is_open


def test_the_acceptor_may_pick_the_inspector_of_a_verify_task() -> None:
    case = new_case(source=Source.HOTLINE, actor=ACCEPTOR)
    assert case.tasks == []
    case = new_case(source=Source.PUBLIC, actor=ACCEPTOR, inspector="inspector02")
    assert case.tasks[0].inspector == "inspector02"


def test_a_public_report_in_a_grid_without_inspector_opens_an_unassigned_task() -> None:
    loc = replace(LOCATION, grid_code=GRID_WITHOUT_INSPECTOR)
    case = new_case(source=Source.PUBLIC, actor=PUBLIC, location=loc)
    assert case.tasks[0].inspector is None


def test_the_verify_task_limit_is_configurable() -> None:
    rules = make_rules(config=LifecycleConfig(verify_limit="2wh"))
    case = new_case("2026-10-15 08:30", source=Source.PUBLIC, actor=PUBLIC, rules=rules)
    assert case.tasks[0].deadline == local("2026-10-15 10:30")


@pytest.mark.parametrize(("fields", "code"), [
    ({"category": "06999"}, "unknown_category"),
    ({"urgency": "extreme"}, "invalid_urgency"),
    ({"location": None}, "missing_location"),
    ({"location": None, "address": "   "}, "missing_location"),
    ({"category": BEGGING, "actor": PUBLIC}, "not_public_category"),
])
def test_a_bad_report_is_refused(fields: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        new_case(**fields)
    assert info.value.code == code


def test_an_address_is_enough_to_report_and_an_inactive_category_is_refused() -> None:
    case = new_case(location=None, address="历下区泉城路 1 号")
    assert case.location is None
    retired = replace(TAXONOMY.matter(ILLEGAL_BUILDING), active=False)
    taxonomy = Taxonomy({**TAXONOMY.classes, (retired.kind, retired.code): retired})
    with pytest.raises(InvalidInput, match="已停用"):
        new_case(category=ILLEGAL_BUILDING, rules=make_rules(taxonomy=taxonomy))


def test_report_is_refused_through_apply_and_with_a_naive_time() -> None:
    case = new_case()
    assert refused(case, complete_command(A.REPORT, "2026-10-15 09:00")).code == "action_refused"
    naive = Command(A.FILE, datetime(2026, 10, 15, 9, 0), SHIFT_LEADER)
    assert refused(case, naive).code == "naive_datetime"
    with pytest.raises(InvalidInput):
        report(ReportData("X", Source.INSPECTOR, EXPOSED_GARBAGE, datetime(2026, 10, 15),
                          location=LOCATION), RULES, INSPECTOR)


# --- state x action and role x action ------------------------------------------------------


@pytest.mark.parametrize("status", list(CaseStatus))
@pytest.mark.parametrize("action", [a for a in Action if a is not A.REPORT])
def test_every_action_is_accepted_only_from_the_states_of_the_table(
        status: CaseStatus, action: Action) -> None:
    case = prepare(in_state(status), action)
    cmd = complete_command(action, "2026-10-15 10:00")
    if status not in SPEC_FROM[action]:
        assert refused(case, cmd).code == "invalid_state"
    elif action is A.SUPERVISE and status in (S.REPORTED, S.FILED):
        assert refused(case, cmd).code == "no_holder"  # no unit holds it yet
    else:
        version = case.version
        event = apply(case, cmd, RULES)
        assert case.status is (SPEC_TO[action] or status)
        assert (event.action, event.seq, case.version) == (action, version + 1, version + 1)
        assert case.events[-1] is event


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_every_role_may_take_exactly_the_actions_of_the_permission_table(
        role: Role, action: Action) -> None:
    actor = Actor(f"{role.value}01", role, "U-HW" if role in (Role.HANDLER, Role.UNIT_LEADER)
                  else None)
    allowed = role in SPEC_ROLES[action]
    if action is A.REPORT:
        if allowed:
            assert new_case(actor=actor).status is S.REPORTED
        else:
            with pytest.raises(PermissionDenied):
                new_case(actor=actor)
        return
    case = prepare(in_state(home_state(action)), action)
    cmd = complete_command(action, "2026-10-15 10:00", actor)
    if allowed:
        apply(case, cmd, RULES)
        assert case.events[-1].actor == actor.login
    else:
        error = refused(case, cmd)
        assert isinstance(error, PermissionDenied)
        assert error.code == "permission_denied"


def test_a_city_may_edit_the_permission_table() -> None:
    rules = make_rules(permissions=Permissions.from_mapping({"file": ["acceptor", "shift_leader"]}))
    case = act(new_case(), A.FILE, "2026-10-15 08:10", ACCEPTOR, rules=rules)
    assert case.status is S.FILED
    assert rules.permissions.allows(Role.DISPATCHER, A.DISPATCH)  # the rest stays default
    with pytest.raises(InvalidInput) as info:
        Permissions.from_mapping({"file": ["janitor"]})
    assert info.value.code == "invalid_permissions"


def test_the_system_replaying_history_is_not_bound_by_roles() -> None:
    case = in_state(S.DISPATCHED)
    act(case, A.FEEDBACK, "2026-10-15 10:00", SYSTEM)
    assert case.status is S.HANDLED
    assert case.events[-1].actor is None


# --- handling units act only on their own cases ----------------------------------------------


def test_a_handler_of_another_unit_is_refused() -> None:
    case = in_state(S.DISPATCHED)
    for actor in (OTHER_HANDLER, Actor("zf_lead", Role.UNIT_LEADER, "U-ZF"),
                  Actor("nobody", Role.HANDLER, None)):
        error = refused(case, complete_command(A.FEEDBACK, "2026-10-15 10:00", actor))
        assert error.code == "not_your_case"
    act(case, A.FEEDBACK, "2026-10-15 10:00", UNIT_LEADER, note="已清运")
    assert case.status is S.HANDLED


def test_a_handler_without_a_unit_acts_on_no_case_even_where_the_city_lets_handlers_amend(
) -> None:
    rules = make_rules(permissions=Permissions.from_mapping({"amend": ["handler"]}))
    case = new_case()
    cmd = complete_command(A.AMEND, "2026-10-15 09:00", Actor("h", Role.HANDLER, None))
    assert refused(case, cmd, rules).code == "not_your_case"
    assert allowed_actions(case, Actor("h", Role.HANDLER, None), rules) == []


# --- refusals change nothing ---------------------------------------------------------------


REFUSALS: list[tuple[str, CaseStatus, Action, Actor, dict[str, Any], str]] = [
    # (what, state, action, actor, command fields, error code)
    ("wrong role", S.REPORTED, A.FILE, INSPECTOR, {}, "permission_denied"),
    ("wrong state", S.REPORTED, A.DISPATCH, DISPATCHER, {"unit": "U-HW"}, "invalid_state"),
    ("stale version", S.REPORTED, A.FILE, SHIFT_LEADER, {"expected_version": 0},
     "stale_version"),
    ("other unit", S.DISPATCHED, A.FEEDBACK, OTHER_HANDLER, {}, "not_your_case"),
    ("unknown unit", S.FILED, A.DISPATCH, DISPATCHER, {"unit": "U-NOPE"}, "unknown_unit"),
    ("no unit", S.FILED, A.DISPATCH, DISPATCHER, {}, "missing_unit"),
    ("bad limit", S.FILED, A.DISPATCH, DISPATCHER, {"unit": "U-HW", "limit": "4x"},
     "invalid_time_limit"),
    ("no reason", S.DISPATCHED, A.RETURN, HANDLER, {}, "missing_reason"),
    ("no reason", S.DISPATCHED, A.SUSPEND, SHIFT_LEADER, {"reason": "  "}, "missing_reason"),
    ("no extension asked", S.DISPATCHED, A.EXTEND, SHIFT_LEADER, {}, "no_extension_request"),
    ("no extension asked", S.DISPATCHED, A.REJECT_EXTENSION, SHIFT_LEADER, {},
     "no_extension_request"),
    ("no limit", S.DISPATCHED, A.REQUEST_EXTENSION, HANDLER, {}, "missing_limit"),
    ("bad cancel reason", S.REPORTED, A.CANCEL, SHIFT_LEADER, {"reason": "boring"},
     "invalid_reason"),
    ("duplicate of nothing", S.FILED, A.CANCEL, SHIFT_LEADER, {"reason": "duplicate"},
     "missing_duplicate_of"),
    ("duplicate of itself", S.FILED, A.CANCEL, SHIFT_LEADER,
     {"reason": "duplicate", "duplicate_of": "20261015000001"}, "invalid_duplicate_of"),
    ("bad rating", S.CLOSED, A.RATE, PUBLIC, {"value": "great"}, "invalid_rating"),
    ("nothing amended", S.REPORTED, A.AMEND, ACCEPTOR, {"category_code": EXPOSED_GARBAGE},
     "nothing_to_amend"),
    ("amend half valid", S.FILED, A.AMEND, ACCEPTOR,
     {"category_code": ILLEGAL_BUILDING, "urgency": "extreme"}, "invalid_urgency"),
    ("amend unknown class", S.FILED, A.AMEND, ACCEPTOR, {"category_code": "06999"},
     "unknown_category"),
    ("no holder to supervise", S.FILED, A.SUPERVISE, LEADER, {}, "no_holder"),
]


@pytest.mark.parametrize(("what", "status", "action", "actor", "fields", "code"), REFUSALS,
                         ids=[f"{r[2].value}-{r[0]}" for r in REFUSALS])
def test_a_refused_action_leaves_the_case_exactly_as_it_was(
        what: str, status: CaseStatus, action: Action, actor: Actor, fields: dict[str, Any],
        code: str) -> None:
    case = in_state(status)
    error = refused(case, Command(action, local("2026-10-15 10:00"), actor, **fields))
    assert error.code == code
    assert error.message  # a Chinese sentence for the user
    assert not error.message.isascii()


def test_a_refusal_met_halfway_through_an_action_leaves_its_assignments_and_tasks_as_they_were(
) -> None:
    no_calendars = make_rules(calendars={})  # the calendar is looked up after changes began
    case = dispatched()
    error = refused(case, Command(A.FEEDBACK, local("2026-10-15 11:00"), HANDLER), no_calendars)
    assert error.code == "unknown_calendar"
    assert case.assignments[0].is_open and case.status is S.DISPATCHED
    act(case, A.FEEDBACK, "2026-10-15 11:00", HANDLER)
    error = refused(case, Command(A.CHECK_FAIL, local("2026-10-15 11:30"), INSPECTOR), no_calendars)
    assert error.code == "unknown_calendar"
    assert case.tasks[0].is_open and len(case.assignments) == 1


def test_a_stale_version_is_refused_and_the_current_one_accepted() -> None:
    case = new_case()
    with pytest.raises(StaleVersion):
        apply(case, Command(A.FILE, local("2026-10-15 09:00"), SHIFT_LEADER,
                            expected_version=2), RULES)
    apply(case, Command(A.FILE, local("2026-10-15 09:00"), SHIFT_LEADER,
                        expected_version=1), RULES)
    assert case.version == 2


def test_time_going_backwards_is_refused_but_the_same_instant_is_accepted() -> None:
    case = new_case("2026-10-15 09:00")
    error = refused(case, Command(A.FILE, local("2026-10-15 08:59"), SHIFT_LEADER))
    assert error.code == "time_out_of_order"
    act(case, A.FILE, "2026-10-15 09:00", SHIFT_LEADER)
    assert case.filed_at == local("2026-10-15 09:00")


def test_events_are_immutable() -> None:
    event = new_case().events[0]
    with pytest.raises(FrozenInstanceError):
        event.note = "改写历史"


# --- amend, verify, file, cancel -------------------------------------------------------------


def test_amend_corrects_the_case_before_dispatch_and_keeps_the_old_values() -> None:
    case = act(new_case(), A.FILE, "2026-10-15 08:10", SHIFT_LEADER)
    new_loc = replace(LOCATION, lon=117.0015, grid_code="370181001001002")
    act(case, A.AMEND, "2026-10-15 08:20", ACCEPTOR, category_code=ILLEGAL_BUILDING,
        urgency="urgent", location=new_loc, component_code="37018101001000001")
    assert (case.category_code, case.urgency, case.location) == (ILLEGAL_BUILDING, "urgent",
                                                                 new_loc)
    data = case.events[-1].data
    assert data["old"] == {
        "category_code": EXPOSED_GARBAGE, "urgency": "normal", "component_code": None,
        "location": {"lon": 117.0005, "lat": 36.6495, "grid_code": GRID}}
    assert data["new"]["category_code"] == ILLEGAL_BUILDING
    assert data["new"]["location"]["grid_code"] == "370181001001002"
    act(case, A.DISPATCH, "2026-10-15 08:30", DISPATCHER, unit="U-ZF")
    assert case.assignments[0].limit == "4wh"  # 私搭乱建, urgent


def test_amending_the_location_of_an_unlocated_public_report_finds_its_inspector() -> None:
    case = new_case(source=Source.PUBLIC, actor=PUBLIC, location=None, address="泉城路")
    assert case.tasks[0].inspector is None
    act(case, A.AMEND, "2026-10-15 08:10", ACCEPTOR, location=LOCATION)
    assert case.tasks[0].inspector == "inspector01"


def test_verify_completes_the_verify_task() -> None:
    case = new_case(source=Source.PUBLIC, actor=PUBLIC)
    act(case, A.VERIFY, "2026-10-15 08:40", INSPECTOR, note="属实", photos=("v1",))
    [task] = case.tasks
    assert (task.done_at, task.result) == (local("2026-10-15 08:40"), "done")
    assert case.status is S.REPORTED
    assert case.events[-1].photos == ("v1",)


def test_the_acceptor_sends_a_report_for_verification_to_the_grids_inspector() -> None:
    case = new_case(source=Source.HOTLINE, actor=ACCEPTOR)
    assert case.tasks == []
    act(case, A.REQUEST_VERIFY, "2026-10-15 11:30", ACCEPTOR)
    [task] = case.tasks
    assert (task.kind, task.inspector, task.deadline) == (
        TaskKind.VERIFY, "inspector01", local("2026-10-15 14:00"))
    assert case.status is S.REPORTED
    assert case.events[-1].data == {"inspector": "inspector01"}


def test_sending_for_verification_to_another_inspector_hands_the_task_over() -> None:
    case = new_case(source=Source.PUBLIC, actor=PUBLIC)  # task for inspector01
    error = refused(case, Command(A.REQUEST_VERIFY, local("2026-10-15 08:10"), ACCEPTOR))
    assert error.code == "verify_pending"
    act(case, A.REQUEST_VERIFY, "2026-10-15 08:20", ACCEPTOR, inspector="inspector02")
    first, second = case.tasks
    assert (first.result, first.done_at) == ("reassigned", local("2026-10-15 08:20"))
    assert (second.inspector, second.is_open) == ("inspector02", True)


def test_an_unlocated_report_goes_for_verification_only_to_a_named_inspector() -> None:
    case = new_case(location=None, address="泉城路 1 号", source=Source.HOTLINE, actor=ACCEPTOR)
    error = refused(case, Command(A.REQUEST_VERIFY, local("2026-10-15 08:10"), ACCEPTOR))
    assert error.code == "no_inspector"
    act(case, A.REQUEST_VERIFY, "2026-10-15 08:20", ACCEPTOR, inspector="inspector02")
    assert case.tasks[0].inspector == "inspector02"


def test_filing_needs_a_located_case() -> None:
    case = new_case(location=None, address="泉城路 1 号")
    assert refused(case, Command(A.FILE, local("2026-10-15 08:10"), SHIFT_LEADER)).code \
        == "not_located"
    act(case, A.AMEND, "2026-10-15 08:20", ACCEPTOR, location=LOCATION)
    act(case, A.FILE, "2026-10-15 08:30", SHIFT_LEADER)
    assert (case.status, case.filed_at) == (S.FILED, local("2026-10-15 08:30"))


def test_filing_an_unverified_public_report_supersedes_its_verify_task() -> None:
    case = new_case(source=Source.PUBLIC, actor=PUBLIC)
    act(case, A.FILE, "2026-10-15 08:10", SHIFT_LEADER)
    assert case.tasks[0].result == "superseded"
    assert not case.tasks[0].is_open


def test_cancelling_a_duplicate_names_the_original_and_ends_open_tasks() -> None:
    case = new_case(source=Source.PUBLIC, actor=PUBLIC)
    act(case, A.CANCEL, "2026-10-15 08:10", SHIFT_LEADER, reason="duplicate",
        duplicate_of="20261014000007")
    assert (case.status, case.cancel_reason, case.duplicate_of) == (
        S.CANCELLED, CancelReason.DUPLICATE, "20261014000007")
    assert case.cancelled_at == local("2026-10-15 08:10")
    assert case.tasks[0].result == "cancelled"
    assert case.events[-1].data == {"reason": "duplicate", "duplicate_of": "20261014000007"}


def test_a_duplicate_of_is_ignored_unless_the_reason_is_duplicate() -> None:
    case = act(new_case(), A.CANCEL, "2026-10-15 08:10", SHIFT_LEADER, reason="out_of_scope",
               duplicate_of="20261014000007")
    assert (case.cancel_reason, case.duplicate_of) == (CancelReason.OUT_OF_SCOPE, None)


# --- dispatch and deadlines ------------------------------------------------------------------


def test_a_case_dispatched_friday_1700_with_a_4_working_hour_limit_is_due_monday_noon() -> None:
    case = dispatched("2026-10-16 17:00")
    [assignment] = case.assignments
    assert (assignment.unit_code, assignment.kind, assignment.limit) == (
        "U-HW", AssignmentKind.DISPATCH, "4wh")
    assert assignment.deadline == local("2026-10-19 12:00")
    assert case.open_assignment is assignment
    assert case.holder == "U-HW"
    assert case.events[-1].data == {"unit": "U-HW", "limit": "4wh"}


def test_an_urgent_case_gets_the_urgent_limit_and_the_dispatcher_may_set_another() -> None:
    assert dispatched(urgency="urgent").assignments[0].deadline == local("2026-10-15 10:30")
    case = dispatched(limit="1wd")
    assert case.assignments[0].limit == "1wd"
    assert case.assignments[0].deadline == local("2026-10-15 17:30")  # one working day


def test_a_working_day_limit_skips_the_national_day_holiday() -> None:
    case = dispatched("2026-09-30 16:30", limit="1wd")  # Wednesday before 10-01..10-07
    assert case.assignments[0].deadline == local("2026-10-08 16:30")


def test_the_saturday_make_up_workday_after_national_day_counts() -> None:
    case = dispatched("2026-10-09 16:30")  # Friday; Saturday 10-10 is a 调休 workday
    assert case.assignments[0].deadline == local("2026-10-10 11:30")


def test_dispatch_with_a_natural_limit_counts_nights_and_weekends() -> None:
    case = dispatched("2026-10-16 17:00", limit="24h")
    assert case.assignments[0].deadline == local("2026-10-17 17:00")


def test_an_unknown_calendar_on_a_class_is_refused_at_dispatch() -> None:
    odd = replace(TAXONOMY.matter(EXPOSED_GARBAGE), calendar="night-shift")
    rules = make_rules(taxonomy=Taxonomy({**TAXONOMY.classes, (odd.kind, odd.code): odd}))
    case = act(new_case(rules=rules), A.FILE, "2026-10-15 08:10", SHIFT_LEADER, rules=rules)
    error = refused(case, complete_command(A.DISPATCH, "2026-10-15 08:30", DISPATCHER), rules)
    assert error.code == "unknown_calendar"


# --- return (回退) ---------------------------------------------------------------------------


def test_a_handler_may_return_a_case_within_2_working_hours_of_dispatch_but_not_after() -> None:
    late = dispatched("2026-10-16 17:00")  # window: 30 min on Friday + 90 min on Monday
    error = refused(late, Command(A.RETURN, local("2026-10-19 10:01"), HANDLER, reason="非本单位"))
    assert error.code == "return_window_closed"
    case = dispatched("2026-10-16 17:00")
    act(case, A.RETURN, "2026-10-19 10:00", HANDLER, reason="非本单位职责")
    [assignment] = case.assignments
    assert (assignment.ended, assignment.ended_at) == (AssignmentEnd.RETURNED,
                                                       local("2026-10-19 10:00"))
    assert assignment.on_time is None and assignment.handled_at is None
    assert case.status is S.FILED
    assert case.open_assignment is None and case.holder is None
    assert case.events[-1].data == {"reason": "非本单位职责"}


def test_a_returned_case_may_be_dispatched_again_to_another_unit() -> None:
    case = act(dispatched(), A.RETURN, "2026-10-15 09:00", HANDLER, reason="应由执法局处理")
    act(case, A.DISPATCH, "2026-10-15 09:10", DISPATCHER, unit="U-ZF")
    assert [a.unit_code for a in case.assignments] == ["U-HW", "U-ZF"]
    assert case.holder == "U-ZF"
    assert refused(case, Command(A.FEEDBACK, local("2026-10-15 09:20"), HANDLER)).code \
        == "not_your_case"


def test_the_return_window_is_configurable() -> None:
    rules = make_rules(config=LifecycleConfig(return_window="4wh"))
    case = dispatched("2026-10-16 17:00")
    act(case, A.RETURN, "2026-10-19 12:00", HANDLER, rules=rules, reason="非本单位职责")
    assert case.status is S.FILED


# --- extension (延期) ------------------------------------------------------------------------


def test_an_approved_extension_moves_the_deadline_by_the_extension_from_the_old_deadline(
) -> None:
    case = dispatched()  # Thursday 08:30 + 4wh = 14:00
    assert case.assignments[0].deadline == local("2026-10-15 14:00")
    act(case, A.REQUEST_EXTENSION, "2026-10-15 10:00", HANDLER, limit="4wh", reason="需吊车")
    assert case.assignments[0].extension_requested == "4wh"
    act(case, A.EXTEND, "2026-10-15 11:00", SHIFT_LEADER)
    assignment = case.assignments[0]
    assert assignment.deadline == local("2026-10-16 09:00")  # 14:00 + 3.5 h + 0.5 h
    assert assignment.extension_requested is None
    assert case.status is S.DISPATCHED
    assert case.events[-1].data == {"limit": "4wh"}


def test_the_shift_leader_may_approve_a_different_extension() -> None:
    case = dispatched()
    act(case, A.REQUEST_EXTENSION, "2026-10-15 10:00", HANDLER, limit="1wd")
    act(case, A.EXTEND, "2026-10-15 11:00", SHIFT_LEADER, limit="2wh")
    assert case.assignments[0].deadline == local("2026-10-15 16:00")


def test_an_extension_is_requested_and_approved_only_before_the_deadline() -> None:
    case = dispatched()
    error = refused(case, Command(A.REQUEST_EXTENSION, local("2026-10-15 14:01"), HANDLER,
                                  limit="2wh"))
    assert error.code == "after_deadline"
    act(case, A.REQUEST_EXTENSION, "2026-10-15 14:00", HANDLER, limit="2wh")  # at is on time
    for action in (A.EXTEND, A.REJECT_EXTENSION):
        error = refused(case, Command(action, local("2026-10-15 14:01"), SHIFT_LEADER))
        assert error.code == "after_deadline"


def test_a_rejected_extension_keeps_the_deadline_and_one_request_is_pending_at_a_time() -> None:
    case = dispatched()
    act(case, A.REQUEST_EXTENSION, "2026-10-15 10:00", UNIT_LEADER, limit="1wd")
    error = refused(case, Command(A.REQUEST_EXTENSION, local("2026-10-15 10:05"), HANDLER,
                                  limit="2wh"))
    assert error.code == "extension_pending"
    act(case, A.REJECT_EXTENSION, "2026-10-15 11:00", SHIFT_LEADER, reason="可当日完成")
    assert case.assignments[0].deadline == local("2026-10-15 14:00")
    assert case.assignments[0].extension_requested is None
    act(case, A.REQUEST_EXTENSION, "2026-10-15 11:10", HANDLER, limit="2wh")
    assert case.assignments[0].extension_requested == "2wh"


# --- suspension (挂账) -----------------------------------------------------------------------


def test_a_unit_asks_for_suspension_and_the_shift_leader_suspends_with_its_reason() -> None:
    case = dispatched()  # due Thursday 14:00
    act(case, A.REQUEST_SUSPENSION, "2026-10-15 09:30", HANDLER, reason="等待燃气公司停气")
    assignment = case.assignments[0]
    assert assignment.suspension_requested == "等待燃气公司停气"
    assert case.status is S.DISPATCHED  # the clock runs until the shift leader decides
    error = refused(case, Command(A.REQUEST_SUSPENSION, local("2026-10-15 09:40"), UNIT_LEADER,
                                  reason="再次申请"))
    assert error.code == "suspension_pending"
    act(case, A.SUSPEND, "2026-10-15 10:00", SHIFT_LEADER, reason="等待燃气公司停气")
    assert case.status is S.SUSPENDED
    assert case.assignments[0].suspension_requested is None


def test_a_refused_suspension_request_keeps_the_clock_running() -> None:
    case = dispatched()
    act(case, A.REQUEST_SUSPENSION, "2026-10-15 09:30", HANDLER, reason="人手不足")
    act(case, A.REJECT_SUSPENSION, "2026-10-15 10:00", SHIFT_LEADER, reason="不属于挂账情形")
    assert case.assignments[0].suspension_requested is None
    assert case.assignments[0].deadline == local("2026-10-15 14:00")
    assert case.status is S.DISPATCHED
    error = refused(case, Command(A.REJECT_SUSPENSION, local("2026-10-15 10:10"), SHIFT_LEADER))
    assert error.code == "no_suspension_request"


def test_a_suspension_request_needs_a_reason_and_comes_before_the_deadline() -> None:
    case = dispatched()
    assert refused(case, Command(A.REQUEST_SUSPENSION, local("2026-10-15 09:30"),
                                 HANDLER)).code == "missing_reason"
    assert refused(case, Command(A.REQUEST_SUSPENSION, local("2026-10-15 14:01"), HANDLER,
                                 reason="等待")).code == "after_deadline"


def test_suspension_on_thursday_with_3_working_hours_left_resumed_tuesday_0900_is_due_at_noon(
) -> None:
    case = dispatched()  # due Thursday 14:00
    act(case, A.SUSPEND, "2026-10-15 09:30", SHIFT_LEADER, reason="等待燃气公司停气")
    assignment = case.assignments[0]
    assert case.status is S.SUSPENDED
    assert (assignment.suspended_at, assignment.remaining_seconds) == (
        local("2026-10-15 09:30"), 3 * 3600)
    assert case.open_assignment is assignment and case.holder == "U-HW"
    act(case, A.RESUME, "2026-10-20 09:00", SHIFT_LEADER)
    assert case.status is S.DISPATCHED
    assignment = case.assignments[0]
    assert assignment.deadline == local("2026-10-20 12:00")
    assert (assignment.suspended_at, assignment.remaining_seconds) == (None, None)


def test_a_case_is_suspended_only_before_its_deadline_and_with_a_reason() -> None:
    case = dispatched()
    error = refused(case, Command(A.SUSPEND, local("2026-10-15 14:01"), SHIFT_LEADER,
                                  reason="等待"))
    assert error.code == "after_deadline"
    act(case, A.SUSPEND, "2026-10-15 14:00", SHIFT_LEADER, note="等待许可")  # the note will do
    act(case, A.RESUME, "2026-10-15 15:00", SHIFT_LEADER)
    assert case.assignments[0].deadline == local("2026-10-15 15:00")  # nothing was left


def test_a_suspension_with_a_natural_limit_keeps_the_remaining_natural_time() -> None:
    case = dispatched("2026-10-16 17:00", limit="24h")  # due Saturday 17:00
    act(case, A.SUSPEND, "2026-10-17 07:00", SHIFT_LEADER, reason="暴雨")
    act(case, A.RESUME, "2026-10-19 09:00", SHIFT_LEADER)
    assert case.assignments[0].deadline == local("2026-10-19 19:00")


def test_no_handling_action_is_taken_while_suspended() -> None:
    case = in_state(S.SUSPENDED)
    for action, actor in ((A.FEEDBACK, HANDLER), (A.RETURN, HANDLER),
                          (A.REQUEST_EXTENSION, HANDLER), (A.SUSPEND, SHIFT_LEADER)):
        assert refused(case, complete_command(action, "2026-10-15 09:30", actor)).code \
            == "invalid_state"


# --- feedback, check, rework, close ------------------------------------------------------------


def test_feedback_at_the_deadline_is_on_time_and_opens_a_check_task() -> None:
    case = dispatched()
    act(case, A.FEEDBACK, "2026-10-15 14:00", HANDLER, note="已清运", photos=("after",))
    assignment = case.assignments[0]
    assert (assignment.ended, assignment.handled_at, assignment.on_time) == (
        AssignmentEnd.HANDLED, local("2026-10-15 14:00"), True)
    assert case.status is S.HANDLED and case.open_assignment is None
    assert case.holder == "U-HW"
    [task] = case.tasks
    assert (task.kind, task.inspector, task.deadline) == (
        TaskKind.CHECK, "inspector01", local("2026-10-15 16:00"))


def test_feedback_after_the_deadline_is_late() -> None:
    case = act(dispatched(), A.FEEDBACK, "2026-10-15 14:01", HANDLER)
    assert case.assignments[0].on_time is False


def test_feedback_may_name_the_checking_inspector_and_replaying_its_event_gives_the_same_task(
) -> None:
    case = act(dispatched(), A.FEEDBACK, "2026-10-15 11:00", HANDLER, inspector="inspector02")
    [task] = case.tasks
    assert (task.kind, task.inspector) == (TaskKind.CHECK, "inspector02")
    event = case.events[-1]
    assert event.data == {"inspector": "inspector02"}
    replayed = act(dispatched(), A.FEEDBACK, "2026-10-15 11:00", HANDLER, **event.data)
    assert replayed == case
    plain = act(dispatched(), A.FEEDBACK, "2026-10-15 11:00", HANDLER)
    assert plain.events[-1].data == {}  # no inspector named: the grid's own checks
    assert plain.tasks[0].inspector == "inspector01"


def test_rework_gets_a_new_assignment_with_the_same_limit_counted_from_the_check() -> None:
    case = dispatched(limit="1wd")
    act(case, A.FEEDBACK, "2026-10-15 11:00", HANDLER, note="已清运")
    act(case, A.CHECK_FAIL, "2026-10-15 13:00", INSPECTOR, note="仍有残留")
    first, rework = case.assignments
    assert first.ended is AssignmentEnd.HANDLED and first.on_time
    assert (rework.kind, rework.unit_code, rework.limit, rework.started_at) == (
        AssignmentKind.REWORK, "U-HW", "1wd", local("2026-10-15 13:00"))
    assert rework.deadline == local("2026-10-16 12:00")  # 4 h this afternoon, 3.5 h on Friday
    assert case.status is S.DISPATCHED and case.open_assignment is rework
    assert case.tasks[0].result == "failed"
    assert case.events[-1].data == {"unit": "U-HW", "limit": "1wd"}


def test_check_pass_then_close_closes_the_case() -> None:
    case = act(dispatched(), A.FEEDBACK, "2026-10-15 11:00", HANDLER)
    act(case, A.CHECK_PASS, "2026-10-15 11:30", INSPECTOR)
    assert (case.status, case.tasks[0].result) == (S.CHECKED, "passed")
    assert refused(case, complete_command(A.RATE, "2026-10-15 11:40", PUBLIC)).code \
        == "invalid_state"
    act(case, A.CLOSE, "2026-10-15 11:45", SHIFT_LEADER)
    assert (case.status, case.closed_at, case.holder) == (S.CLOSED, local("2026-10-15 11:45"),
                                                           None)


# --- supervise and rate ----------------------------------------------------------------------


def test_supervision_notifies_the_unit_holding_the_case() -> None:
    case = in_state(S.SUSPENDED)
    act(case, A.SUPERVISE, "2026-10-15 10:00", LEADER, note="请加快处置")
    assert case.status is S.SUSPENDED
    assert case.events[-1].data == {"unit": "U-HW"}


def test_a_case_is_rated_only_once() -> None:
    case = in_state(S.CLOSED)
    act(case, A.RATE, "2026-10-16 10:00", PUBLIC, value="basically_satisfied")
    assert case.rating is Rating.BASICALLY_SATISFIED
    assert refused(case, Command(A.RATE, local("2026-10-16 11:00"), ACCEPTOR,
                                 value="dissatisfied")).code == "already_rated"


# --- overdue_at -----------------------------------------------------------------------------


def test_overdue_at_follows_the_deadline_and_stops_when_handled() -> None:
    case = dispatched()  # due Thursday 14:00
    act(case, A.FEEDBACK, "2026-10-16 10:00", HANDLER)
    a = case.assignments[0]
    assert not overdue_at(a, local("2026-10-15 08:30"))  # not started before t
    assert not overdue_at(a, local("2026-10-15 14:00"))  # on time at the deadline
    assert overdue_at(a, local("2026-10-15 14:01"))
    assert overdue_at(a, local("2026-10-16 10:00"))  # handled at t, not before t
    assert not overdue_at(a, local("2026-10-16 10:01"))
    assert not overdue_at(a, local("2026-10-15 08:00"))


def test_overdue_at_across_a_suspension() -> None:
    case = dispatched()  # due Thursday 14:00
    act(case, A.SUSPEND, "2026-10-15 09:30", SHIFT_LEADER, reason="等待")
    act(case, A.RESUME, "2026-10-20 09:00", SHIFT_LEADER)  # due Tuesday 12:00
    a = case.assignments[0]
    assert not overdue_at(a, local("2026-10-15 09:30"))
    assert not overdue_at(a, local("2026-10-16 15:00"))  # past the old deadline, suspended
    assert not overdue_at(a, local("2026-10-20 12:00"))
    assert overdue_at(a, local("2026-10-20 12:01"))
    assert a.deadline_at(local("2026-10-16 15:00")) is None
    assert a.deadline_at(local("2026-10-15 09:00")) == local("2026-10-15 14:00")


def test_overdue_at_across_an_extension() -> None:
    case = dispatched()  # due Thursday 14:00
    act(case, A.REQUEST_EXTENSION, "2026-10-15 10:00", HANDLER, limit="4wh")
    act(case, A.EXTEND, "2026-10-15 13:55", SHIFT_LEADER)  # due Friday 09:00
    a = case.assignments[0]
    assert a.deadline_at(local("2026-10-15 13:54")) == local("2026-10-15 14:00")
    assert not overdue_at(a, local("2026-10-15 14:30"))
    assert not overdue_at(a, local("2026-10-16 09:00"))
    assert overdue_at(a, local("2026-10-16 09:01"))


def test_a_returned_assignment_is_not_overdue_after_its_return() -> None:
    case = act(dispatched(urgency="urgent"), A.RETURN, "2026-10-15 10:30", HANDLER,
               reason="非本单位")  # due 10:30, returned at 10:30
    a = case.assignments[0]
    assert not overdue_at(a, local("2026-10-15 10:31"))


def test_the_first_assignment_of_a_reworked_case_stops_being_overdue_when_handled() -> None:
    case = act(dispatched(), A.FEEDBACK, "2026-10-15 15:00", HANDLER)  # late
    act(case, A.CHECK_FAIL, "2026-10-15 15:30", INSPECTOR)  # rework due Friday 10:30
    first, rework = case.assignments
    assert overdue_at(first, local("2026-10-15 14:30"))
    assert not overdue_at(first, local("2026-10-15 15:01"))
    assert not overdue_at(rework, local("2026-10-16 10:30"))
    assert overdue_at(rework, local("2026-10-16 10:31"))


# --- allowed_actions -----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "actor", "expected"), [
    (S.REPORTED, SHIFT_LEADER, [A.AMEND, A.REQUEST_VERIFY, A.FILE, A.CANCEL]),
    (S.REPORTED, INSPECTOR, [A.VERIFY]),
    (S.REPORTED, ACCEPTOR, [A.AMEND, A.REQUEST_VERIFY]),
    (S.FILED, DISPATCHER, [A.DISPATCH]),
    (S.DISPATCHED, HANDLER, [A.RETURN, A.REQUEST_EXTENSION, A.REQUEST_SUSPENSION, A.FEEDBACK]),
    (S.DISPATCHED, OTHER_HANDLER, []),
    (S.DISPATCHED, SHIFT_LEADER, [A.SUSPEND, A.SUPERVISE]),
    (S.DISPATCHED, LEADER, [A.SUPERVISE]),
    (S.SUSPENDED, SHIFT_LEADER, [A.RESUME, A.SUPERVISE]),
    (S.SUSPENDED, UNIT_LEADER, []),
    (S.HANDLED, INSPECTOR, [A.CHECK_FAIL, A.CHECK_PASS]),
    (S.CHECKED, SHIFT_LEADER, [A.CLOSE, A.SUPERVISE]),
    (S.CLOSED, PUBLIC, [A.RATE]),
    (S.CLOSED, SHIFT_LEADER, []),
    (S.CANCELLED, SHIFT_LEADER, []),
])
def test_allowed_actions_lists_what_this_actor_may_do_now(
        status: CaseStatus, actor: Actor, expected: list[Action]) -> None:
    assert allowed_actions(in_state(status), actor, RULES) == expected


def test_allowed_actions_follows_pending_extensions_ratings_and_locations() -> None:
    case = in_state(S.DISPATCHED)
    act(case, A.REQUEST_EXTENSION, "2026-10-15 09:30", HANDLER, limit="2wh")
    assert A.REQUEST_EXTENSION not in allowed_actions(case, HANDLER, RULES)
    assert allowed_actions(case, SHIFT_LEADER, RULES) == [
        A.EXTEND, A.REJECT_EXTENSION, A.SUSPEND, A.SUPERVISE]
    closed = act(in_state(S.CLOSED), A.RATE, "2026-10-15 10:00", ACCEPTOR, value="satisfied")
    assert allowed_actions(closed, PUBLIC, RULES) == []
    unlocated = new_case(location=None, address="泉城路")
    assert A.FILE not in allowed_actions(unlocated, SHIFT_LEADER, RULES)


def test_the_system_may_take_every_action_of_the_state() -> None:
    assert allowed_actions(in_state(S.DISPATCHED), SYSTEM, RULES) == [
        A.RETURN, A.REQUEST_EXTENSION, A.REQUEST_SUSPENSION, A.SUSPEND, A.FEEDBACK, A.SUPERVISE,
        A.RECOMPUTE_DEADLINE]


# --- recomputing a deadline after the calendar changed ---------------------------------------

# Friday 2026-10-16 made a day off (say, an imported notice): it changes counted time.
FRIDAY_OFF = make_rules(calendars={"default": WorkCalendar(overrides={date(2026, 10, 16): False})})


def test_a_deadline_crossing_a_changed_day_is_replayed_on_the_new_calendar() -> None:
    case = dispatched("2026-10-15 16:00")  # 4wh: Thu 1.5 h + Fri 2.5 h -> Fri 11:00
    assert case.assignments[-1].deadline == local("2026-10-16 11:00")
    assert recomputed_deadline(case, FRIDAY_OFF.calendars) == local("2026-10-19 11:00")
    assert recomputed_deadline(case, RULES.calendars) == local("2026-10-16 11:00")  # unchanged


def test_a_deadline_not_crossing_the_changed_day_stays() -> None:
    case = dispatched("2026-10-15 08:30")  # due Thursday 14:00
    assert recomputed_deadline(case, FRIDAY_OFF.calendars) == case.assignments[-1].deadline


def test_extensions_and_suspensions_are_replayed_on_the_new_calendar() -> None:
    case = dispatched("2026-10-14 08:30")  # due Wed 14:00
    act(case, A.REQUEST_EXTENSION, "2026-10-14 09:00", HANDLER, limit="1wd")
    act(case, A.EXTEND, "2026-10-14 09:10", SHIFT_LEADER)  # + 7.5 h: Thu 14:00
    act(case, A.SUSPEND, "2026-10-14 10:00", SHIFT_LEADER, reason="等待施工许可")
    assert recomputed_deadline(case, FRIDAY_OFF.calendars) is None  # suspended: nothing to move
    act(case, A.RESUME, "2026-10-15 16:00", SHIFT_LEADER)  # 10 h left: Thu 1.5 h, Fri, Mon 1 h
    assert case.assignments[-1].deadline == local("2026-10-19 09:30")
    assert recomputed_deadline(case, FRIDAY_OFF.calendars) == local("2026-10-20 09:30")


def test_the_recompute_step_moves_the_deadline_and_logs_it() -> None:
    case = dispatched("2026-10-15 16:00")
    event = act(case, A.RECOMPUTE_DEADLINE, "2026-10-15 17:00", rules=FRIDAY_OFF).events[-1]
    assignment = case.assignments[-1]
    assert assignment.deadline == local("2026-10-19 11:00") and case.status is S.DISPATCHED
    assert assignment.deadline_log[-1] == (local("2026-10-15 17:00"), local("2026-10-19 11:00"))
    assert assignment.deadline_at(local("2026-10-15 16:30")) == local("2026-10-16 11:00")
    assert event.data["unit"] == "U-HW"
    assert datetime.fromisoformat(event.data["from"]) == local("2026-10-16 11:00")
    assert datetime.fromisoformat(event.data["to"]) == local("2026-10-19 11:00")
    for role in Role:  # no role may be granted it, whatever the city's table says
        table = Permissions({A.RECOMPUTE_DEADLINE: frozenset(Role)})
        assert not table.allows(role, A.RECOMPUTE_DEADLINE)
