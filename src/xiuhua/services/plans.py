"""Use cases of the work programme (专项行动): plans and their tasks, the import of a plan's
table, progress reports and their review, pauses, a unit's tasks, the progress workbook's
input and what the ``tasks`` score source reads. Each takes a ``Session`` and never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from xiuhua.domain.access import (
    UNIT_STAFF,
    Principal,
    TaskScope,
    can_see_task,
    check_manages_programme,
    leads_task,
)
from xiuhua.domain.assessment import Period
from xiuhua.domain.calendar import STANDARD_DAY_SECONDS, TimeLimit, WorkCalendar, day_start, local_day, local_zone
from xiuhua.domain.choices import Audience, NoticeKind, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import ActionRefused, BatchInvalid, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.notices import TargetKind
from xiuhua.domain.plans import (
    ACTIVE,
    LAGGING,
    AcceptedReport,
    Milestone,
    OrderLine,
    Pause,
    ReportState,
    TaskFacts,
    TaskLine,
    TaskState,
    TaskStatus,
    Thresholds,
    UnitNames,
    UnitProgramme,
    check_pause,
    check_percent,
    check_reason,
    check_report,
    check_resume,
    check_review,
    completed_at,
    depth,
    due_instant,
    figure_status,
    numbering_problem,
    parent_code,
    parse_day,
    parse_deadline,
    parse_person,
    parse_target,
    percent_of,
    split_units,
    task_state,
)
from xiuhua.domain.reports import PlanSheetRow, PlanWorkbookInput, ProgrammeLine, ProgrammeSection
from xiuhua.domain.supervision import OrderLevel, OrderState
from xiuhua.services import supervision
from xiuhua.services.notifications import Notice
from xiuhua.services.photos import check_may_link
from xiuhua.services.projects import late_projects
from xiuhua.services.tabular import cell_text, xlsx_rows
from xiuhua.store import plans as store

THRESHOLDS = Thresholds()
REPORT, NOTE = "report", "note"
HEADERS = ("序号", "任务", "工作内容", "牵头单位", "配合单位", "责任人", "完成时限")
MAX_PLAN_ROWS = 2000


# --- reading tasks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskView:
    """A task (or a grouping node without a lead unit) as pages, the API and files show it."""

    id: int
    plan_id: int
    code: str
    title: str
    content: str
    lead_unit: str | None
    cooperating: frozenset[str]
    responsible: str | None
    responsible_post: str | None
    target_text: str | None
    start: date | None
    deadline: str | None  # the date (ISO) or the time limit as written
    due_at: datetime | None
    state: TaskState | None  # None for a grouping node
    milestones: tuple[tuple[str, date, bool], ...] = ()  # name, due, reached
    paused: bool = False
    progress_value: Fraction = Fraction(0)  # groups: the mean of their tasks

    @property
    def scope(self) -> TaskScope:
        return TaskScope(self.lead_unit, self.cooperating)

    @property
    def depth(self) -> int:
        return depth(self.code)

    @property
    def parent(self) -> str | None:
        return parent_code(self.code)

    @property
    def status(self) -> TaskStatus | None:
        return self.state.status if self.state else None

    @property
    def progress(self) -> float:
        return float(self.progress_value)

    @property
    def is_group(self) -> bool:
        return self.lead_unit is None


def _facts(row: Any, plan_start: date, accepted: Sequence[Any], ms: Sequence[Any],
           ps: Sequence[Any]) -> TaskFacts:
    return TaskFacts(
        start=row.start_date or plan_start, due=row.due_at,
        reports=tuple(AcceptedReport(r.sent_at, r.reviewed_at, Fraction(r.percent),
                                     frozenset(r.milestones or ())) for r in accepted),
        milestones=tuple(Milestone(m.name, m.due) for m in ms),
        pauses=tuple(Pause(p.started_at, p.ended_at) for p in ps),
        closed_at=row.closed_at)


@dataclass(frozen=True)
class Loaded:
    """Tasks with everything the status rule reads, as :func:`load_tasks` found them."""

    rows: list[Any]
    facts: dict[int, TaskFacts]
    cooperating: dict[int, frozenset[str]]
    reports: dict[int, list[Any]]


def load_tasks(session: Session, plan_id: int | None = None) -> Loaded:
    rows = store.tasks(session, plan_id)
    starts = {p.id: p.start_date for p in store.all_plans(session)}
    ids = [r.id for r in rows] if plan_id is not None else None
    coop, ms, ps = store.cooperating(session, ids), store.milestones(session, ids), store.pauses(session, ids)
    reps = store.reports(session, ids)
    facts = {}
    for r in rows:
        if r.lead_unit is None or r.due_at is None:
            continue
        accepted = [x for x in reps.get(r.id, []) if x.kind == REPORT and x.state == ReportState.ACCEPTED]
        facts[r.id] = _facts(r, starts[r.plan_id], accepted, ms.get(r.id, []), ps.get(r.id, []))
    return Loaded(rows, facts, coop, reps)


def _views(loaded: Loaded, at: datetime, thresholds: Thresholds = THRESHOLDS) -> list[TaskView]:
    found = []
    for r in loaded.rows:
        facts = loaded.facts.get(r.id)
        state = task_state(facts, at, thresholds) if facts else None
        reached: set[str] = set()
        for rep in (facts.reports if facts else ()):
            if rep.accepted_at <= at:
                reached |= rep.milestones
        milestones = tuple((m.name, m.due, m.name in reached or (state is not None and state.progress >= 100))
                           for m in (facts.milestones if facts else ()))
        deadline = r.deadline_date.isoformat() if r.deadline_date else r.deadline_limit
        found.append(TaskView(
            r.id, r.plan_id, r.code, r.title, r.content, r.lead_unit, loaded.cooperating.get(r.id, frozenset()),
            r.responsible, r.responsible_post, r.target_text, r.start_date, deadline, r.due_at, state,
            milestones, bool(facts and any(p.covers(at) for p in facts.pauses)),
            state.progress if state else Fraction(0)))
    return _with_group_progress(found)


def _with_group_progress(views: list[TaskView]) -> list[TaskView]:
    result = []
    for v in views:
        if v.is_group:
            under = [w.progress_value for w in views if not w.is_group and w.code.startswith(v.code + ".")]
            if under:
                v = TaskView(**{**v.__dict__, "progress_value": sum(under, Fraction(0)) / len(under)})
        result.append(v)
    return result


@dataclass(frozen=True)
class PlanView:
    id: int
    name: str
    start: date
    tasks: list[TaskView]
    counts: dict[TaskStatus, int] = field(default_factory=dict)


def list_plans(session: Session, principal: Principal, at: datetime,
               unit: str | None = None) -> list[PlanView]:
    """The plans with at least one task ``principal`` may see (the office: every plan);
    ``unit``: only those where that unit leads or cooperates on a task (counts of its tasks)."""
    found = []
    for p in store.all_plans(session):
        view = plan_view(session, principal, p.id, at, unit=unit, missing_ok=True)
        if view is not None and (unit is None or any(t.status is not None for t in view.tasks)):
            found.append(view)
    return found


def plan_view(session: Session, principal: Principal, plan_id: int, at: datetime,
              unit: str | None = None, missing_ok: bool = False) -> Any:
    """A plan's tree as ``principal`` may see it (a unit: the tasks it leads or cooperates on,
    with the grouping nodes above them); ``unit`` filters by a lead or cooperating unit."""
    row = store.plan(session, plan_id)
    if row is None:
        if missing_ok:
            return None
        raise NotFound("计划不存在", code="plan_not_found")
    views = _views(load_tasks(session, plan_id), at)
    shown = [v for v in views if not v.is_group and can_see_task(principal, v.scope)
             and (unit is None or unit == v.lead_unit or unit in v.cooperating)]
    if not shown and not principal.sees_all:  # nothing of it is theirs: no such plan for them
        if missing_ok:
            return None
        raise NotFound("计划不存在", code="plan_not_found")
    parents = {c for v in shown for c in _ancestors(v.code)}
    tree = [v for v in views if v in shown or v.code in parents]
    counts = dict.fromkeys(TaskStatus, 0)
    for v in shown:
        if v.status is not None:
            counts[v.status] += 1
    return PlanView(row.id, row.name, row.start_date, tree, counts)


def _ancestors(code: str) -> list[str]:
    parts = code.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def task_view(session: Session, principal: Principal, plan_id: int, code: str, at: datetime) -> TaskView:
    """One task, if ``principal`` may see it (404 otherwise, as if it did not exist)."""
    row = store.task_by_code(session, plan_id, code)
    if row is None or row.lead_unit is None:
        raise NotFound("任务不存在", code="task_not_found")
    loaded = load_tasks(session, plan_id)
    view = next(v for v in _views(loaded, at) if v.id == row.id)
    if not can_see_task(principal, view.scope):
        raise NotFound("任务不存在", code="task_not_found")
    return view


@dataclass(frozen=True)
class ReportView:
    id: int
    kind: str
    unit_code: str | None
    percent: str | None
    value: str | None
    text: str
    milestones: list[str]
    sent_by: str | None
    sent_at: datetime
    state: ReportState
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    photos: list[str]


def task_reports(session: Session, task: TaskView) -> list[ReportView]:
    rows = store.reports(session, [task.id]).get(task.id, [])
    photos = store.report_photos(session, [r.id for r in rows]) if rows else {}
    return [ReportView(r.id, r.kind, r.unit_code, r.percent, r.value, r.text, list(r.milestones or []),
                       r.sent_by, r.sent_at, ReportState(r.state), r.reviewed_by, r.reviewed_at,
                       r.review_reason, photos.get(r.id, [])) for r in reversed(rows)]


def my_tasks(session: Session, principal: Principal, at: datetime) -> list[TaskView]:
    """The tasks of ``principal``'s unit (led or cooperated on) still running, due soon first."""
    views = [v for v in _views(load_tasks(session), at)
             if not v.is_group and can_see_task(principal, v.scope)
             and v.status not in (TaskStatus.CLOSED, TaskStatus.COMPLETED)]
    return sorted(views, key=lambda v: (v.due_at is None, v.due_at, v.plan_id, v.code))


# --- creating and importing plans -------------------------------------------------------------


def create_plan(session: Session, principal: Principal, name: str, start: date, at: datetime) -> int:
    check_manages_programme(principal, "创建计划")
    name = (name or "").strip()
    if not name:
        raise InvalidInput("计划名称不能为空", code="invalid_plan")
    return store.insert_plan(session, name[:200], start, principal.login, at)


@dataclass
class _Row:
    number: int
    cells: dict[str, str]
    columns: dict[str, str]  # header -> column letter

    def where(self, header: str) -> str:
        return f"第 {self.number} 行 {self.columns.get(header, '?')} 列（{header}）"


def unit_names(session: Session, city: City) -> UnitNames:
    return UnitNames({u.name: u.code for u in city.units.values() if u.active}, store.aliases(session))


def import_plan(session: Session, principal: Principal, city: City, source: Path | bytes | BinaryIO,
                at: datetime, name: str | None = None, start: date | None = None) -> int:
    """Import a plan from the table offices write (see ``HEADERS``; a title row above the header
    is allowed and names the plan unless ``name`` is given). All or nothing: every problem is
    listed naming its row and column, and nothing is stored."""
    check_manages_programme(principal, "导入计划")
    title, rows = _plan_rows(source)
    start = start or date(local_day(at).year, 1, 1)
    names = unit_names(session, city)
    calendar = city.calendar()
    problems: list[str] = []
    tasks: list[dict[str, Any]] = []
    seen: list[str] = []
    for row in rows:
        task = _task_of(row, seen, names, start, calendar, problems)
        seen.append(row.cells.get("序号", ""))
        if task is not None:
            tasks.append(task)
    if not tasks and not problems:
        problems.append("表中没有任务")
    if problems:
        raise BatchInvalid(f"计划表有 {len(problems)} 处问题，未导入任何内容", problems, code="plan_invalid")
    plan_id = store.insert_plan(session, (name or title or "专项行动计划")[:200], start, principal.login, at)
    for task in tasks:
        coop = task.pop("cooperating")
        store.insert_task(session, {**task, "plan_id": plan_id}, coop)
    return plan_id


def _plan_rows(source: Path | bytes | BinaryIO) -> tuple[str | None, list[_Row]]:
    title: str | None = None
    header: list[str] | None = None
    found: list[_Row] = []
    for number, values in xlsx_rows(source):
        texts = [cell_text(v) for v in values]
        if header is None:
            if "序号" in texts and "任务" in texts:
                header = texts
                missing = [h for h in HEADERS if h not in header]
                if missing:
                    raise InvalidInput(f"第 {number} 行表头缺少列：{'、'.join(missing)}", code="missing_columns")
            elif any(texts) and title is None:
                title = next(t for t in texts if t)
            continue
        if not any(texts):
            continue
        if len(found) >= MAX_PLAN_ROWS:
            raise InvalidInput(f"计划表超过 {MAX_PLAN_ROWS} 行", code="too_many_rows")
        columns = {h: get_column_letter(i + 1) for i, h in enumerate(header) if h}
        cells = {h: t for h, t in zip(header, texts, strict=False) if h}
        found.append(_Row(number, cells, columns))
    if header is None:
        raise InvalidInput(f"找不到表头（须含：{'、'.join(HEADERS)}）", code="missing_columns")
    return title, found


def _task_of(row: _Row, seen: list[str], names: UnitNames, plan_start: date, calendar: WorkCalendar,
             problems: list[str]) -> dict[str, Any] | None:
    c = row.cells
    code = c.get("序号", "").strip()
    before = len(problems)
    why = numbering_problem(code, seen)
    if why:
        problems.append(f"{row.where('序号')}：{why}")
    if not c.get("任务", "").strip():
        problems.append(f"{row.where('任务')}：任务名称不能为空")
    lead_names = split_units(c.get("牵头单位", ""))
    if not lead_names and not c.get("完成时限", "").strip():
        return None if len(problems) > before else _group(code, c)  # a section or grouping row
    lead = _units(row, "牵头单位", lead_names, names, problems)
    coop = _units(row, "配合单位", split_units(c.get("配合单位", "")), names, problems)
    if len(lead) != 1 and len(problems) == before:
        problems.append(f"{row.where('牵头单位')}：须填写一个牵头单位")
    start = _start(row, plan_start, problems)
    deadline = _deadline(row, problems)
    if len(problems) > before or start is None or deadline is None:
        return None
    if isinstance(deadline, date) and deadline < start:
        problems.append(f"{row.where('完成时限')}：完成时限早于开始时间")
        return None
    due = due_instant(start, deadline, calendar)
    person, post = parse_person(c.get("责任人", "")) if c.get("责任人") else (None, None)
    target = c.get("目标") or None
    parsed = parse_target(target) if target else None
    return {"code": code, "title": c["任务"].strip(), "content": c.get("工作内容", ""),
            "lead_unit": lead[0], "cooperating": [u for u in coop if u != lead[0]],
            "responsible": person, "responsible_post": post, "target_text": target,
            "target_value": str(parsed[0]) if parsed else None, "target_unit": parsed[1] if parsed else None,
            "start_date": start, "deadline_date": deadline if isinstance(deadline, date) else None,
            "deadline_limit": str(deadline) if isinstance(deadline, TimeLimit) else None, "due_at": due}


def _group(code: str, c: dict[str, str]) -> dict[str, Any]:
    return {"code": code, "title": c["任务"].strip(), "content": c.get("工作内容", ""), "lead_unit": None,
            "cooperating": []}


def _units(row: _Row, header: str, written: list[str], names: UnitNames, problems: list[str]) -> list[str]:
    codes = []
    for name in written:
        code = names.code_for(name)
        if code is None:
            problems.append(f"{row.where(header)}：未知单位“{name}”（可在单位别名中添加）")
        else:
            codes.append(code)
    return codes


def _start(row: _Row, plan_start: date, problems: list[str]) -> date | None:
    text = row.cells.get("开始时间", "").strip()
    if not text:
        return plan_start
    day = parse_day(text[:10]) if len(text) >= 10 else parse_day(text)
    if day is None:
        problems.append(f"{row.where('开始时间')}：“{text}”不是日期")
    return day


def _deadline(row: _Row, problems: list[str]) -> date | TimeLimit | None:
    text = row.cells.get("完成时限", "").strip()
    if not text:
        problems.append(f"{row.where('完成时限')}：完成时限不能为空")
        return None
    try:
        return parse_deadline(text[:10] if parse_day(text[:10]) else text)
    except InvalidInput as e:
        problems.append(f"{row.where('完成时限')}：{e.message}")
        return None


def set_alias(session: Session, principal: Principal, city: City, alias: str, unit_code: str | None) -> None:
    """Add, change or remove (``unit_code`` None) a name plans may use for a unit."""
    check_manages_programme(principal, "维护单位别名")
    if unit_code is not None and unit_code not in city.units:
        raise InvalidInput(f"单位“{unit_code}”不存在", code="unknown_unit")
    store.set_alias(session, alias.strip(), unit_code)


# --- progress, review, pauses -----------------------------------------------------------------


def _number(text: str | None, what: str) -> Fraction | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(f"{what}须为数字", code="invalid_progress") from None
    if not value.is_finite():
        raise InvalidInput(f"{what}须为数字", code="invalid_progress")
    return Fraction(value)


def report_progress(session: Session, principal: Principal, plan_id: int, code: str, at: datetime, *,
                    text: str, percent: str | None = None, value: str | None = None,
                    milestones: Sequence[str] = (), photo_ids: Sequence[str] = ()) -> int:
    """A progress report by the lead unit (percent, or a value towards the target), or a note by
    a cooperating unit (text and photos only). Only the office's acceptance makes it count."""
    task = task_view(session, principal, plan_id, code, at)
    check_report(task.paused, task.status is TaskStatus.CLOSED)
    body = check_reason(text, "进度说明") if text else ""
    if not body:
        raise InvalidInput("进度说明不能为空", code="text_required")
    lead = leads_task(principal, task.scope)
    cooperating = principal.unit_code in task.cooperating and principal.role in UNIT_STAFF
    if not lead and (not cooperating or percent or value or milestones):
        raise PermissionDenied("只有牵头单位报送进度，配合单位可添加说明", code="permission_denied")
    photos = check_may_link(session, principal, photo_ids)
    row: dict[str, Any] = {"task_id": task.id, "unit_code": principal.unit_code, "text": body[:4000],
                           "sent_by": principal.login, "sent_at": at, "state": ReportState.SENT.value,
                           "milestones": []}
    if lead:
        pct = _report_percent(session, task, percent, value)
        known = {m[0] for m in task.milestones}
        unknown = [m for m in milestones if m not in known]
        if unknown:
            raise InvalidInput(f"没有这些节点：{'、'.join(unknown)}", code="unknown_milestone")
        row |= {"kind": REPORT, "percent": _fraction_text(pct), "value": value or None,
                "milestones": list(dict.fromkeys(milestones))}
    else:
        row |= {"kind": NOTE}
    return store.insert_report(session, row, photos)


def _report_percent(session: Session, task: TaskView, percent: str | None, value: str | None) -> Fraction:
    pct = _number(percent, "完成百分比")
    if pct is not None:
        return check_percent(pct)
    got = _number(value, "完成量")
    if got is None:
        raise InvalidInput("请填写完成百分比或完成量", code="invalid_progress")
    row = store.task(session, task.id)
    target = Fraction(Decimal(row.target_value)) if row.target_value else None
    return percent_of(got, target)


def _fraction_text(value: Fraction) -> str:
    return str(Decimal(value.numerator) / Decimal(value.denominator))


def review_report(session: Session, principal: Principal, plan_id: int, report_id: int, accept: bool,
                  at: datetime, reason: str | None = None) -> None:
    """The office accepts a report, or returns it with a reason; only accepted ones count."""
    check_manages_programme(principal, "审核进度报告")
    row = store.report(session, report_id)
    task = store.task(session, row.task_id) if row is not None else None
    if row is None or task is None or task.plan_id != plan_id:
        raise NotFound("进度报告不存在", code="report_not_found")
    if row.kind != REPORT:
        raise InvalidInput("配合单位的说明无需审核", code="note_not_reviewed")
    check_review(ReportState(row.state))
    text = None if accept else check_reason(reason, "退回")
    state = ReportState.ACCEPTED if accept else ReportState.RETURNED
    store.review(session, report_id, state.value, principal.login, at, text or (reason or None))


def pause_task(session: Session, principal: Principal, plan_id: int, code: str, reason: str,
               at: datetime) -> None:
    """Only the office pauses a task, with a reason; its figures keep its status at the pause."""
    check_manages_programme(principal, "暂停任务")
    task = task_view(session, principal, plan_id, code, at)
    check_pause(task.paused, task.status is TaskStatus.CLOSED)
    store.insert_pause(session, task.id, at, check_reason(reason, "暂停"), principal.login)


def close_task(session: Session, principal: Principal, plan_id: int, code: str, at: datetime) -> None:
    """销号: the office signs a completed task off (status ``closed`` from then on)."""
    check_manages_programme(principal, "任务销号")
    task = task_view(session, principal, plan_id, code, at)
    if task.status is not TaskStatus.COMPLETED:
        raise ActionRefused("只有已完成的任务可以销号", code="task_not_completed")
    store.close_task(session, task.id, at, principal.login)


def resume_task(session: Session, principal: Principal, plan_id: int, code: str, at: datetime) -> None:
    check_manages_programme(principal, "恢复任务")
    task = task_view(session, principal, plan_id, code, at)
    check_resume(task.paused)
    store.end_pause(session, task.id, at, principal.login)


# --- the progress workbook, the circular's section, the score source ----------------------------


def workbook_input(session: Session, principal: Principal, plan_id: int, at: datetime,
                   unit_names: dict[str, str]) -> PlanWorkbookInput:
    """What the progress workbook shows: a sheet per section (top-level node), a summary."""
    plan = plan_view(session, principal, plan_id, at)
    rows = []
    for v in plan.tasks:
        lag = v.state.lag_decimal if v.state else None
        rows.append(PlanSheetRow(
            v.code, v.title, v.content, unit_names.get(v.lead_unit or "", v.lead_unit or ""),
            "、".join(unit_names.get(c, c) for c in sorted(v.cooperating)),
            " ".join(x for x in (v.responsible, v.responsible_post) if x), v.deadline or "",
            v.progress, v.status, float(lag) if lag is not None else None))
    return PlanWorkbookInput(plan.name, at, tuple(rows))


def lagging_tasks(session: Session, at: datetime) -> list[TaskView]:
    """Every task lagging at ``at``, the most lagging first (the circular's section)."""
    views = [v for v in _views(load_tasks(session), at) if v.status in LAGGING]
    return sorted(views, key=lambda v: -(v.state.lag or 0) if v.state else 0)


def paused_tasks(session: Session, at: datetime) -> list[TaskView]:
    return [v for v in _views(load_tasks(session), at) if v.status is TaskStatus.PAUSED]


def period_programme(session: Session, city: City, period: Period,
                     at: datetime | None) -> dict[str, UnitProgramme]:
    """The ``tasks`` source's input for an assessment period (``services.assessment.LOADERS``)."""
    return programme_by_unit(session, city.calendar(), period.start, period.end, period.cutoff(at))


def programme_by_unit(session: Session, calendar: WorkCalendar, start: datetime, end: datetime,
                      cutoff: datetime) -> dict[str, UnitProgramme]:
    """What the ``tasks`` source reads of each lead unit for a period [start, end) counted up to
    ``cutoff``: its tasks (due in the period: deadline in (start, cutoff]; the status at the
    cutoff, a paused one's when paused), the orders addressed to it due then, and the tasks it
    cooperates on (listed, not scored). ``PeriodData.loaded["tasks"]``."""
    loaded = load_tasks(session)
    upto = min(end, cutoff)
    tasks: dict[str, list[TaskLine]] = defaultdict(list)
    coop: dict[str, list[TaskLine]] = defaultdict(list)
    for r in loaded.rows:
        facts = loaded.facts.get(r.id)
        if facts is None:
            continue
        done = completed_at(facts, upto)
        line = TaskLine(r.plan_id, r.code, r.title, start < facts.due <= upto,
                        done is not None and done <= facts.due, figure_status(facts, upto, THRESHOLDS))
        tasks[r.lead_unit].append(line)
        for unit in loaded.cooperating.get(r.id, ()):
            coop[unit].append(line)
    orders: dict[str, list[OrderLine]] = defaultdict(list)
    for o in supervision.all_orders(session, calendar, upto):
        if start < o.due_at <= upto:
            counted = o.facts.accepted_at is not None and o.facts.accepted_at <= upto and o.on_time
            orders[o.unit_code].append(OrderLine(o.id, o.number, o.title, counted))
    units = set(tasks) | set(orders) | set(coop)
    return {u: UnitProgramme(tuple(tasks[u]), tuple(orders[u]), tuple(coop[u])) for u in units}


def programme_section(session: Session, city: City, at: datetime) -> ProgrammeSection:
    """The circular's 重点任务推进情况 at ``at``: lagging tasks (most lagging first), red orders by
    unit, paused tasks, and the key projects yellow or red then (``services.projects``)."""
    names = {u.code: u.name for u in city.units.values()}
    views = _views(load_tasks(session), at)
    lagging = sorted((v for v in views if v.status in LAGGING), key=lambda v: -(v.state.lag or 0) if v.state else 0)
    red = [o for o in supervision.all_orders(session, city.calendar(), at)
           if o.level is OrderLevel.RED and o.state is not OrderState.SIGNED_OFF]
    return ProgrammeSection(
        lagging_tasks=tuple(ProgrammeLine(names.get(v.lead_unit or "", ""), f"{v.code} {v.title}", _lag_text(v))
                            for v in lagging),
        late_projects=tuple(ProgrammeLine(p.lead_unit_name, p.name, f"{p.colour.label}：{p.reason}")
                            for p in late_projects(session, at)),
        red_orders=tuple(ProgrammeLine(names.get(o.unit_code, o.unit_code), f"{o.number} {o.title}", o.state.label)
                         for o in sorted(red, key=lambda o: (names.get(o.unit_code, ""), o.id))),
        paused_tasks=tuple(ProgrammeLine(names.get(v.lead_unit or "", ""), f"{v.code} {v.title}", "已暂停")
                           for v in views if v.status is TaskStatus.PAUSED))


def _lag_text(view: TaskView) -> str:
    lag = view.state.lag_decimal if view.state else None
    label = view.status.label if view.status else ""
    return f"{label}，滞后 {lag} 个百分点" if lag is not None and lag > 0 else label


# --- the sweeper's notices ----------------------------------------------------------------------

NOTICE_WORKING_DAYS = 3


def programme_notices(session: Session, calendar: WorkCalendar, now: datetime) -> list[Notice]:
    """What the sweeper tells units at ``now``: a task's deadline or a milestone within
    :data:`NOTICE_WORKING_DAYS` working days (the lead unit; each once), and a supervision
    order that rose to yellow or red (the addressed unit and the office; once per level)."""
    soon = calendar.add(now, NOTICE_WORKING_DAYS * STANDARD_DAY_SECONDS, True)
    found: list[Notice] = []
    for v in _views(load_tasks(session), now):
        if v.is_group or v.lead_unit is None or v.status not in ACTIVE | {TaskStatus.NOT_STARTED}:
            continue
        key = f"{v.plan_id}:{v.code}"
        if v.due_at is not None and now < v.due_at <= soon:
            found.append(_unit_notice(now, NoticeKind.WARNING, TargetKind.PLAN_TASK, key, v.lead_unit, 0,
                                      f"专项任务 {v.code} {v.title} 将于 {_local(v.due_at)} 到期，"
                                      f"当前已采纳进度 {v.progress:.1f}%"))
        for i, (name, due, reached) in enumerate(v.milestones, 1):
            ends = due_instant(due, due, calendar)
            if not reached and now < ends <= soon:
                found.append(_unit_notice(now, NoticeKind.WARNING, TargetKind.PLAN_TASK, key, v.lead_unit, i,
                                          f"专项任务 {v.code} 的节点“{name}”将于 {due} 到期"))
    for o in supervision.all_orders(session, calendar, now):
        if o.level is not OrderLevel.BLUE and o.state is not OrderState.SIGNED_OFF:
            text = f"督办单 {o.number}“{o.title}”已升为{o.level.label}督办，请于 {_local(o.due_at)} 前回复"
            found.append(_unit_notice(now, NoticeKind.SUPERVISE, TargetKind.SUPERVISION_ORDER, str(o.id),
                                      o.unit_code, o.level.rank, text))
            found.append(Notice(now, NoticeKind.SUPERVISE, TargetKind.SUPERVISION_ORDER, str(o.id), Audience.ROLE,
                                text, o.level.rank, o.unit_code, Role.OFFICE.value))
    return found


def _unit_notice(now: datetime, kind: NoticeKind, target: TargetKind, key: str, unit: str, seq: int,
                 message: str) -> Notice:
    return Notice(now, kind, target, key, Audience.UNIT, message, seq, unit, unit)


def _local(moment: datetime) -> str:
    return moment.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


# --- the demo city's programme ------------------------------------------------------------------

# (section, title, lead unit, cooperating, the status it should have now, months run, months left)
_DEMO_TASKS: tuple[tuple[int, str, str, tuple[str, ...], str, int, int], ...] = (
    (1, "城区主干道提升改造", "ZJJ", ("CGZF", "JJDD"), "on_track", 5, 3),
    (1, "老旧小区改造 12 个", "ZJJ", ("JD001",), "lagging", 5, 4),
    (1, "雨污分流管网改造", "PSC", ("ZJJ",), "seriously_lagging", 5, 2),
    (1, "口袋公园建设 8 处", "YLZX", ("JD002",), "completed", 5, 0),
    (1, "智慧路灯改造", "LDS", ("GDGS",), "on_track", 4, 4),
    (1, "公厕新建改建 20 座", "HWZX", ("ZJJ",), "closed", 5, 0),
    (1, "垃圾转运站升级", "HWZX", (), "lagging", 4, 3),
    (1, "背街小巷硬化亮化", "ZJJ", ("LDS", "JD001"), "paused", 4, 4),
    (1, "城市绿道贯通工程", "YLZX", (), "not_started", -1, 8),
    (1, "供水管网更新", "GSGS", ("ZJJ",), "seriously_lagging", 6, -1),
    (1, "停车场建设 5 处", "JJDD", ("ZJJ", "CGZF"), "on_track", 3, 5),
    (1, "农贸市场提升改造", "SJJ", ("CGZF",), "completed", 4, 1),
    (2, "占道经营专项整治", "CGZF", ("SJJ", "JD001", "JD002"), "on_track", 5, 2),
    (2, "违法建设治理", "CGZF", ("ZJJ",), "seriously_lagging", 5, 3),
    (2, "渣土车辆专项治理", "CGZF", ("JJDD",), "lagging", 5, 3),
    (2, "户外广告规范整治", "CGZF", ("SWJ",), "completed", 5, 1),
    (2, "垃圾分类示范片区创建", "HWZX", ("JD002",), "on_track", 5, 4),
    (2, "门前三包责任落实", "SJJ", ("CGZF",), "lagging", 4, 2),
    (2, "共享单车停放治理", "JJDD", ("CGZF",), "on_track", 3, 3),
    (2, "油烟噪音扬尘治理", "CGZF", ("SJJ",), "paused", 5, 2),
    (2, "园林绿化养护提质", "YLZX", (), "closed", 6, 0),
    (2, "城市家具清洗维护", "HWZX", ("LDS",), "not_started", -1, 6),
    (2, "积水点排查整治", "PSC", (), "seriously_lagging", 6, -1),
    (2, "夜市规范管理", "SWJ", ("CGZF", "SJJ"), "on_track", 4, 2),
    (2, "商圈环境秩序提升", "SWJ", ("CGZF",), "lagging", 5, 3),
)
_DEMO_OFFSETS = {"on_track": 0, "lagging": -18, "seriously_lagging": -42, "paused": -12}


def build_demo_programme(session: Session, city: City, now: datetime) -> int:
    """X市's 双十 plan: two sections, 25 tasks in every status with months of accepted (and a few
    returned or waiting) reports and cooperating units' notes; then its supervision orders in
    every level and state (:func:`~xiuhua.services.supervision.build_demo_orders`). The plan's id."""
    office = Principal("office01", Role.OFFICE)
    today = local_day(now)
    known = set(city.units)
    plan_id = store.insert_plan(session, f"{today.year}年城市建设管理“双十”专项行动", date(today.year, 1, 1),
                                office.login, now)
    for code, title in ((1, "十大建设项目"), (2, "十大管理行动")):
        store.insert_task(session, {"plan_id": plan_id, "code": str(code), "title": title, "content": ""}, [])
    serial = {1: 0, 2: 0}
    for section, title, lead, coop, status, ran, left in _DEMO_TASKS:
        unit = lead if lead in known else next(iter(sorted(known)))
        serial[section] += 1
        task_code = f"{section}.{serial[section]}"
        start = today - timedelta(days=30 * ran)
        deadline = today + timedelta(days=30 * left) if left else today - timedelta(days=3)
        milestone = start + (deadline - start) / 2
        store.insert_task(session, {
            "plan_id": plan_id, "code": task_code, "title": title, "content": f"{title}，按方案节点推进。",
            "lead_unit": unit, "responsible": "局长", "responsible_post": None, "start_date": start,
            "deadline_date": deadline, "due_at": due_instant(start, deadline, city.calendar())},
            [c for c in coop if c in known and c != unit], [("完成过半", milestone)])
        _demo_history(session, city, office, plan_id, task_code, status, start, deadline, now)
    supervision.build_demo_orders(session, city, office, plan_id, now)
    return plan_id


def _demo_history(session: Session, city: City, office: Principal, plan_id: int, code: str, status: str,
                  start: date, deadline: date, now: datetime) -> None:
    """Monthly reports by the lead unit, each accepted the next day, reaching the progress that
    gives the task ``status`` now."""
    if status == "not_started":
        return
    row = store.task_by_code(session, plan_id, code)
    lead = Principal(f"handler_{row.lead_unit.lower()}", Role.HANDLER, unit_code=row.lead_unit)
    begins, due = day_start(start), row.due_at
    total = (due - begins).total_seconds()
    elapsed_now = min(1.0, (now - begins).total_seconds() / total)
    final = 100.0 if status in ("completed", "closed") else max(
        0.0, min(95.0, elapsed_now * 100 + _DEMO_OFFSETS.get(status, 0)))
    months = max(1, int((now - begins).days // 30))
    for i in range(1, months + 1):
        sent = begins + timedelta(days=30 * i - 2, hours=10)
        if sent >= now - timedelta(days=2):
            sent = now - timedelta(days=2, hours=-1)
        percent = round(final * i / months, 1)
        text = f"第 {i} 个月：按计划推进，累计完成 {percent}%。"
        report = report_progress(session, lead, plan_id, code, sent, text=text, percent=str(percent),
                                 milestones=("完成过半",) if percent >= 50 else ())
        review_report(session, office, plan_id, report, True, sent + timedelta(days=1))
        if i == months - 1 and status == "lagging":
            wrong = report_progress(session, lead, plan_id, code, sent + timedelta(days=2), text="数据待核实",
                                    percent=str(min(99, percent + 30)))
            review_report(session, office, plan_id, wrong, False, sent + timedelta(days=3),
                          "进度数据与现场不符，请核实")
    coop = store.cooperating(session, [row.id]).get(row.id, frozenset())
    for unit in sorted(coop)[:1]:
        note = Principal(f"handler_{unit.lower()}", Role.HANDLER, unit_code=unit)
        report_progress(session, note, plan_id, code, begins + timedelta(days=20), text="已按分工配合推进。")
    if status == "on_track":
        report_progress(session, lead, plan_id, code, now - timedelta(hours=20), text="本周新进展，待审核。",
                        percent=str(min(99.0, final + 3)))
    if status == "paused":
        pause_task(session, office, plan_id, code, "受汛期影响暂缓施工", now - timedelta(days=1))
    if status == "closed":
        close_task(session, office, plan_id, code, now - timedelta(hours=1))
