"""Random histories of a case: whatever roles act in whatever order and at whatever time, the
case stays consistent and every refusal leaves it exactly as it was.

The machine keeps its own model (status from the spec's table, the time granted to each
assignment) and compares the aggregate with it after every step.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.factories import local
from tests.unit.test_lifecycle import (
    EXPOSED_GARBAGE,
    ILLEGAL_BUILDING,
    LOCATION,
    RULES,
    SPEC_FROM,
    SPEC_ROLES,
    SPEC_TO,
    complete_command,
)
from xiuhua.domain.calendar import TimeLimit
from xiuhua.domain.choices import Action, AssignmentEnd, CaseStatus, Role, Source, TaskKind
from xiuhua.domain.errors import ActionRefused, InvalidInput
from xiuhua.domain.lifecycle import (
    Actor,
    Assignment,
    Case,
    Command,
    ReportData,
    allowed_actions,
    apply,
    overdue_at,
    report,
)

S = CaseStatus
A = Action
START = local("2026-09-28 08:00")  # a Monday: histories cross National Day and its 调休 Saturday
CASE_NO = "20260928000001"
ACTIONS = [a for a in Action if a is not A.REPORT]
UNIT_ROLES = (Role.HANDLER, Role.UNIT_LEADER)
# Refusals that allowed_actions promises not to meet (it checks role, state, unit, case).
NOT_ALLOWED_CODES = {"permission_denied", "not_your_case", "invalid_state", "no_holder",
                     "already_rated", "not_located", "extension_pending",
                     "no_extension_request"}

# The step that moves a case towards its close, drawn more often so histories get there.
FORWARD = {S.REPORTED: A.FILE, S.FILED: A.DISPATCH, S.DISPATCHED: A.FEEDBACK,
           S.SUSPENDED: A.RESUME, S.HANDLED: A.CHECK_PASS, S.CHECKED: A.CLOSE,
           S.CLOSED: A.RATE}
STEP_MINUTES = st.sampled_from([0, 0, 1, 10, 30, 60, 90, 120, 240, 480, 1080, 1440, -5])
MOSTLY = st.sampled_from([True, True, True, False])
FIELDS = st.fixed_dictionaries({
    "note": st.sampled_from([None, "现场已处理"]),
    "reason": st.sampled_from([None, "invalid", "duplicate", "out_of_scope", "非本单位职责", " "]),
    "duplicate_of": st.sampled_from([None, "20260901000001", CASE_NO]),
    "unit": st.sampled_from([None, "U-HW", "U-ZF", "U-NOPE"]),
    "limit": st.sampled_from([None, "1wh", "2wh", "1wd", "bogus"]),
    "value": st.sampled_from([None, "satisfied", "dissatisfied", "great"]),
    "category_code": st.sampled_from([None, EXPOSED_GARBAGE, ILLEGAL_BUILDING, "06999"]),
    "urgency": st.sampled_from([None, "normal", "urgent", "extreme"]),
    "location": st.sampled_from([None, LOCATION, replace(LOCATION, grid_code="370181001001002")]),
})


def granted_seconds(a: Assignment) -> int:
    """Counted time between the assignment's start and its deadline, suspensions left out
    (while suspended: the time counted so far plus the time left)."""
    calendar = RULES.calendar(a.calendar)
    working = TimeLimit.parse(a.limit).working
    total, running_since = 0, None
    for since, deadline in a.deadline_log:
        if deadline is None and running_since is not None:
            total += calendar.counted_seconds(running_since, since, working)
            running_since = None
        elif deadline is not None and running_since is None:
            running_since = since
    if running_since is None:  # suspended: the time left waits for the resumption
        return total + (a.remaining_seconds or 0)
    return total + calendar.counted_seconds(running_since, a.deadline, working)


class CaseHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.case: Case | None = None
        self.now = START
        self.model = S.REPORTED
        self.granted: dict[int, int] = {}  # assignment seq -> limit + approved extensions

    @initialize(source=st.sampled_from(list(Source)), located=MOSTLY,
                category=st.sampled_from([EXPOSED_GARBAGE, ILLEGAL_BUILDING]),
                urgency=st.sampled_from(["normal", "urgent"]))
    def report_case(self, source: Source, located: bool, category: str, urgency: str) -> None:
        self.case = report(ReportData(
            CASE_NO, source, category, START, urgency=urgency,
            location=LOCATION if located else None, address="泉城路 1 号"), RULES)

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        case = self.current
        admitted = [a for a in ACTIONS if case.status in SPEC_FROM[a]]
        side_steps = [a for a in admitted if a is not A.CANCEL]  # cancelling ends the history
        likely = side_steps * 2 + [FORWARD[case.status]] * len(admitted) if admitted else ACTIONS
        action = data.draw(st.sampled_from(likely if data.draw(MOSTLY) else ACTIONS),
                           label="action")
        actor = self.draw_actor(data, action)
        cmd = self.draw_command(data, action, actor)
        allowed = action in allowed_actions(case, actor, RULES)
        before = copy.deepcopy(case)
        try:
            event = apply(case, cmd, RULES)
        except (ActionRefused, InvalidInput) as error:
            assert case == before, f"{action} refused ({error.code}) but changed the case"
            self.check_refusal(before, cmd, allowed, error)
            return
        self.check_accepted(before, cmd, allowed)
        assert (event.action, event.at, event.actor) == (action, cmd.at, actor.login)
        self.follow(before, cmd)

    # --- drawing commands ----------------------------------------------------------------

    def draw_actor(self, data: st.DataObject, action: Action) -> Actor:
        fitting = sorted(SPEC_ROLES[action]) or [None]  # a system-only action: the system
        role = data.draw(st.sampled_from(fitting if data.draw(MOSTLY) else [*Role, None]),
                         label="role")
        if role not in UNIT_ROLES:
            return Actor(None if role is None else f"{role}01", role)
        unit = data.draw(st.sampled_from([self.current.holder or "U-HW", "U-ZF", None]),
                         label="unit")
        return Actor(f"{role}01", role, unit)

    def draw_command(self, data: st.DataObject, action: Action, actor: Actor) -> Command:
        at = self.now + timedelta(minutes=data.draw(STEP_MINUTES, label="minutes"))
        version = data.draw(st.sampled_from([None, None, None, 0, 0, -1]), label="version")
        expected = None if version is None else self.current.version + version
        if data.draw(MOSTLY, label="complete"):
            cmd = replace(complete_command(action, "2026-01-01 00:00", actor), at=at)
        else:
            cmd = Command(action, at, actor, **data.draw(FIELDS, label="fields"))
        return replace(cmd, expected_version=expected)

    # --- checking one step ---------------------------------------------------------------

    def check_refusal(self, before: Case, cmd: Command, allowed: bool,
                      error: ActionRefused | InvalidInput) -> None:
        in_order = cmd.at >= before.events[-1].at
        fresh = cmd.expected_version in (None, before.version)
        if allowed and in_order and fresh:
            assert error.code not in NOT_ALLOWED_CODES, (cmd.action, error.code)

    def check_accepted(self, before: Case, cmd: Command, allowed: bool) -> None:
        assert allowed, f"{cmd.action} accepted although allowed_actions left it out"
        assert before.status in SPEC_FROM[cmd.action]
        assert cmd.actor.role is None or cmd.actor.role in SPEC_ROLES[cmd.action]
        if cmd.actor.role in UNIT_ROLES:
            assert before.holder is not None and cmd.actor.unit_code == before.holder
        assert cmd.at >= before.events[-1].at
        assert cmd.expected_version in (None, before.version)

    def follow(self, before: Case, cmd: Command) -> None:
        """Advance the model after an accepted command."""
        case = self.current
        self.now = cmd.at
        self.model = SPEC_TO[cmd.action] or before.status
        assert case.status is self.model
        last = case.assignments[-1] if case.assignments else None
        if cmd.action in (A.DISPATCH, A.CHECK_FAIL):
            assert last is not None and last.seq == len(before.assignments) + 1
            self.granted[last.seq] = TimeLimit.parse(last.limit).seconds
        if cmd.action is A.EXTEND:
            assert last is not None
            self.granted[last.seq] += TimeLimit.parse(case.events[-1].data["limit"]).seconds
        if cmd.action is A.CHECK_FAIL:
            assert last is not None and last.unit_code == before.assignments[-1].unit_code
            assert last.limit == before.assignments[-1].limit and last.started_at == cmd.at

    # --- invariants ----------------------------------------------------------------------

    @property
    def current(self) -> Case:
        assert self.case is not None
        return self.case

    @invariant()
    def status_version_and_events_agree(self) -> None:
        case = self.current
        assert case.status in set(CaseStatus) and case.status is self.model
        assert case.version == len(case.events)
        assert [e.seq for e in case.events] == list(range(1, len(case.events) + 1))
        assert case.events[0].action is A.REPORT
        times = [e.at for e in case.events]
        assert times == sorted(times)
        assert case.updated_at == times[-1]

    @invariant()
    def one_open_assignment_exactly_while_dispatched_or_suspended(self) -> None:
        case = self.current
        open_ones = [a for a in case.assignments if a.is_open]
        assert len(open_ones) <= 1
        assert bool(open_ones) == (case.status in (S.DISPATCHED, S.SUSPENDED))
        if open_ones:
            assert open_ones[0] is case.assignments[-1] is case.open_assignment
            assert (open_ones[0].suspended_at is not None) == (case.status is S.SUSPENDED)
        if case.status in (S.DISPATCHED, S.SUSPENDED, S.HANDLED, S.CHECKED):
            assert case.holder == case.assignments[-1].unit_code

    @invariant()
    def assignments_keep_their_time(self) -> None:
        for a in self.current.assignments:
            assert a.on_time == (a.ended_at <= a.deadline if a.ended is AssignmentEnd.HANDLED
                                 else None)
            assert a.deadline_log[0][0] == a.started_at
            assert granted_seconds(a) == self.granted[a.seq]
            if a.ended_at is not None:
                assert a.ended_at >= a.started_at

    @invariant()
    def overdue_now_follows_the_current_deadline(self) -> None:
        a = self.current.open_assignment
        if a is None or self.now <= a.started_at:
            return
        expected = a.suspended_at is None and a.deadline < self.now
        assert overdue_at(a, self.now) == expected

    @invariant()
    def inspector_tasks_match_the_state(self) -> None:
        case = self.current
        open_checks = [t for t in case.tasks if t.kind is TaskKind.CHECK and t.is_open]
        assert len(open_checks) == (case.status is S.HANDLED)
        if case.status is not S.REPORTED:
            assert not any(t.is_open for t in case.tasks if t.kind is TaskKind.VERIFY)

    @invariant()
    def closed_cases_passed_their_check_first(self) -> None:
        case = self.current
        actions = [e.action for e in case.events]
        if case.status is S.CLOSED:
            close = actions.index(A.CLOSE)
            handling = [a for a in actions[:close] if a in (A.FEEDBACK, A.CHECK_FAIL, A.CHECK_PASS)]
            assert handling[-2:] == [A.FEEDBACK, A.CHECK_PASS]
            assert case.closed_at == case.events[close].at
        assert (case.rating is not None) == (A.RATE in actions)
        assert actions.count(A.RATE) <= 1


CaseHistory.TestCase.settings = settings(
    derandomize=True, deadline=None, max_examples=250, stateful_step_count=40)
test_case_history = CaseHistory.TestCase

