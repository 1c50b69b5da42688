"""Legacy issues (遗留问题化解台账): the office enters an issue with its plan (一案一策), the lead
unit (or the office) logs progress with photos, the office signs it off (销号) with evidence
(``domain.legacy``). The parties are shown masked to everyone but the office, leaders and
admins; the sweeper tells the lead unit and the office of an issue past its target date."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.access import (
    UNIT_STAFF,
    Principal,
    can_see_legacy_issue,
    manages_programme,
    sees_programme,
)
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import (
    Audience,
    LegacyCategory,
    LegacyStatus,
    LegacyTarget,
    NoticeKind,
    Role,
    UnitKind,
)
from xiuhua.domain.errors import InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.geo import validate_lonlat
from xiuhua.domain.legacy import (
    LegacyIssue,
    Party,
    ProgressEntry,
    Step,
    check_plan,
    default_target_date,
    masked_parties,
    overdue,
    record,
    sign_off,
)
from xiuhua.domain.notices import TargetKind
from xiuhua.domain.photos import check_photo_count
from xiuhua.services.accounts import audit
from xiuhua.services.notifications import Notice
from xiuhua.services.photos import check_may_link
from xiuhua.store import city as city_store
from xiuhua.store import legacy as store
from xiuhua.store.tables import legacy_issues


@dataclass(frozen=True)
class IssueInput:
    """A new legacy issue as the office enters it."""

    title: str
    category: LegacyCategory
    lead_unit: str
    description: str | None = None
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    parties: Sequence[Party] = ()
    lead_official: str | None = None  # 包案领导, e.g. 张三（副市长）
    target: LegacyTarget = LegacyTarget.RESOLVED
    target_date: date | None = None  # default: the end of this year
    steps: Sequence[Step] = ()


@dataclass(frozen=True)
class EntryView:
    id: int
    kind: str  # progress / signoff
    note: str
    status: LegacyStatus
    step_done: int | None
    author: str | None
    at: datetime
    photos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IssueView:
    """An issue as ``viewer`` may read it: parties masked unless they may read them."""

    issue: LegacyIssue
    category: LegacyCategory
    description: str | None
    address: str | None
    lon: float | None
    lat: float | None
    parties: list[Party]
    lead_official: str | None
    lead_unit_name: str
    overdue: bool
    created_at: datetime
    closed_at: datetime | None
    entries: list[EntryView] = field(default_factory=list)


def _today(at: datetime) -> date:
    return at.astimezone(local_zone()).date()


def _view(row: Any, steps: Sequence[Step], viewer: Principal, names: dict[str, str],
          at: datetime) -> IssueView:
    issue = store.to_issue(row, steps)
    return IssueView(issue, LegacyCategory(row.category), row.description, row.address, row.lon,
                     row.lat, masked_parties(viewer, issue.parties), row.lead_official,
                     names.get(row.lead_unit, row.lead_unit), overdue(issue, _today(at)),
                     row.created_at, row.closed_at)


def _names(session: Session) -> dict[str, str]:
    return {code: u.name for code, u in city_store.load_units(session).items()}


def _require_manager(principal: Principal, what: str) -> None:
    if not manages_programme(principal):
        raise PermissionDenied(f"{principal.role.label}无权{what}", code="permission_denied")


# --- entering an issue ------------------------------------------------------------------------


def _check_input(session: Session, data: IssueInput) -> None:
    if not data.title.strip():
        raise InvalidInput("请填写问题名称", code="legacy_title")
    unit = city_store.load_units(session).get(data.lead_unit)
    if unit is None or not unit.active or unit.kind == UnitKind.CENTER.value:
        raise InvalidInput(f"责任单位“{data.lead_unit}”不存在", code="unknown_unit")
    check_plan(data.steps, data.parties)
    if len({s.seq for s in data.steps}) != len(data.steps):
        raise InvalidInput("化解方案的步骤序号重复", code="legacy_steps")
    if (data.lon is None) != (data.lat is None):
        raise InvalidInput("位置须同时给出经度和纬度", code="invalid_location")
    if data.lon is not None and data.lat is not None:
        validate_lonlat(data.lon, data.lat)


def create_issue(session: Session, principal: Principal, data: IssueInput, now: datetime,
                 client: str | None = None) -> int:
    """The office (or an admin) enters a legacy issue with its plan; its id."""
    _require_manager(principal, "登记遗留问题")
    _check_input(session, data)
    steps = [Step(i, s.content.strip(), s.due) for i, s in enumerate(data.steps, start=1)]
    issue_id = store.insert_issue(session, {
        "title": data.title.strip(), "category": data.category.value,
        "description": data.description, "address": data.address, "lon": data.lon,
        "lat": data.lat, "lead_official": data.lead_official, "lead_unit": data.lead_unit,
        "parties": [{"name": p.name.strip(), "phone": p.phone, "note": p.note}
                    for p in data.parties],
        "target": data.target.value,
        "target_date": data.target_date or default_target_date(now),
        "status": LegacyStatus.NOT_STARTED.value, "created_by": principal.login,
        "created_at": now, "closed_by": None, "closed_at": None}, steps)
    audit(session, now, principal.login, "legacy_create", str(issue_id),
          {"title": data.title, "lead_unit": data.lead_unit}, client)
    return issue_id


# --- reading ----------------------------------------------------------------------------------


def _scope(principal: Principal) -> list[Any]:
    if sees_programme(principal):
        return []
    if principal.role in UNIT_STAFF and principal.unit_code:
        return [legacy_issues.c.lead_unit == principal.unit_code]
    raise PermissionDenied(f"遗留问题台账不对{principal.role.label}开放", code="permission_denied")


def list_issues(session: Session, principal: Principal, at: datetime, *,
                status: LegacyStatus | None = None, unit: str | None = None) -> list[IssueView]:
    """The ledger as ``principal`` may read it (the office, leaders and admins every issue; a
    unit's staff those their unit leads, parties masked), by target date."""
    where = _scope(principal)
    if status is not None:
        where.append(legacy_issues.c.status == status.value)
    if unit:
        where.append(legacy_issues.c.lead_unit == unit)
    rows = store.issue_rows(session, *where)
    steps = store.steps_of(session, [r.id for r in rows])
    names = _names(session)
    return [_view(r, steps.get(r.id, []), principal, names, at) for r in rows]


def _visible(session: Session, principal: Principal, issue_id: int) -> Any:
    row = store.issue_row(session, issue_id)
    if row is None or not can_see_legacy_issue(principal, store.to_issue(row)):
        raise NotFound(f"遗留问题 {issue_id} 不存在", code="legacy_issue_not_found")
    return row


def issue_detail(session: Session, principal: Principal, issue_id: int, at: datetime
                 ) -> IssueView:
    """One issue with its plan and progress log (newest first), as ``principal`` may read
    it; an issue out of their sight does not exist for them."""
    row = _visible(session, principal, issue_id)
    view = _view(row, store.steps_of(session, [issue_id]).get(issue_id, []), principal,
                 _names(session), at)
    rows = store.entries(session, issue_id)
    photos = store.photos_of(session, [r.id for r in rows])
    entries = [EntryView(r.id, r.kind, r.note, LegacyStatus(r.status), r.step_done, r.author,
                         r.at, photos.get(r.id, [])) for r in rows]
    return IssueView(**{**view.__dict__, "entries": entries})


# --- progress and sign-off --------------------------------------------------------------------


def may_log(principal: Principal, issue: LegacyIssue) -> bool:
    """The lead unit's staff and the office log progress."""
    if manages_programme(principal):
        return True
    return principal.role in UNIT_STAFF and principal.unit_code == issue.lead_unit


def _load(session: Session, principal: Principal, issue_id: int) -> LegacyIssue:
    row = _visible(session, principal, issue_id)
    return store.to_issue(row, store.steps_of(session, [issue_id]).get(issue_id, []))


def _photos(session: Session, principal: Principal, photo_ids: Sequence[str]) -> list[str]:
    check_photo_count(len(photo_ids))
    return check_may_link(session, principal, photo_ids)


def log_progress(session: Session, principal: Principal, issue_id: int, entry: ProgressEntry,
                 photo_ids: Sequence[str], now: datetime, client: str | None = None) -> int:
    """A progress entry by the lead unit or the office: a note, optionally a new status and
    a step of the plan done, and photos. The entry's id."""
    issue = _load(session, principal, issue_id)
    if not may_log(principal, issue):
        raise PermissionDenied("只有责任单位和城管委办公室可以登记进展", code="permission_denied")
    after = record(issue, entry, _today(now))
    ids = _photos(session, principal, photo_ids)
    store.set_status(session, issue_id, {"status": after.status.value})
    store.save_steps(session, issue_id, after.steps)
    entry_id = store.insert_entry(session, {
        "issue_id": issue_id, "kind": "progress", "note": entry.note.strip(),
        "status": after.status.value, "step_done": entry.step_done, "author": principal.login,
        "at": now}, ids)
    audit(session, now, principal.login, "legacy_progress", str(issue_id),
          {"entry": entry_id, "status": after.status.value}, client)
    return entry_id


def sign_off_issue(session: Session, principal: Principal, issue_id: int, evidence: str,
                   photo_ids: Sequence[str], now: datetime, client: str | None = None) -> int:
    """销号: the office closes an issue that reached its target, with evidence; the entry's id."""
    _require_manager(principal, "销号")
    issue = _load(session, principal, issue_id)
    after = sign_off(issue, evidence, photo_ids)
    ids = _photos(session, principal, photo_ids)
    store.set_status(session, issue_id, {"status": after.status.value, "closed_by": principal.login,
                                         "closed_at": now})
    entry_id = store.insert_entry(session, {
        "issue_id": issue_id, "kind": "signoff", "note": evidence.strip(),
        "status": after.status.value, "step_done": None, "author": principal.login,
        "at": now}, ids)
    audit(session, now, principal.login, "legacy_signoff", str(issue_id), {"entry": entry_id},
          client)
    return entry_id


# --- figures and the sweeper -------------------------------------------------------------------


def status_counts(session: Session, principal: Principal, at: datetime) -> dict[str, int]:
    """Issues by status (the dashboard tile), every status present, and ``overdue``."""
    views = list_issues(session, principal, at)
    counts = Counter(v.issue.status.value for v in views)
    found = {s.value: counts.get(s.value, 0) for s in LegacyStatus}
    found["overdue"] = sum(v.overdue for v in views)
    return found


def overdue_notices(session: Session, now: datetime) -> list[Notice]:
    """For the sweeper: an issue past its target date, target not reached: its lead unit and
    the office are told (once)."""
    found = []
    today = _today(now)
    names = _names(session)
    for row in store.issue_rows(session, legacy_issues.c.target_date < today,
                                legacy_issues.c.status != LegacyStatus.CLOSED.value):
        issue = store.to_issue(row)
        if not overdue(issue, today):
            continue
        message = (f"遗留问题“{issue.title}”已过化解目标日期 {issue.target_date:%Y-%m-%d}，"
                   f"目前{issue.status.label}，请加快化解")
        found.append(Notice(now, NoticeKind.LEGACY_OVERDUE, TargetKind.LEGACY_ISSUE,
                            str(issue.id), Audience.UNIT, message, unit_code=issue.lead_unit,
                            recipient=issue.lead_unit))
        found.append(Notice(now, NoticeKind.LEGACY_OVERDUE, TargetKind.LEGACY_ISSUE,
                            str(issue.id), Audience.ROLE,
                            f"{names.get(issue.lead_unit, issue.lead_unit)}：{message}",
                            unit_code=issue.lead_unit, recipient=Role.OFFICE.value))
    return found


# --- the demo city ------------------------------------------------------------------------------

# title, category, lead unit, lead official, target, final status, parties
DEMO_ISSUES: tuple[tuple[str, LegacyCategory, str, str, LegacyTarget, LegacyStatus,
                         tuple[Party, ...]], ...] = (
    ("幸福里小区不动产权证办理", LegacyCategory.CERTIFICATE, "ZJJ", "王志强（副市长）",
     LegacyTarget.RESOLVED, LegacyStatus.CLOSED, (Party("刘建华", "13805311234", "业主代表"),)),
    ("锦绣家园延期交房", LegacyCategory.DELIVERY, "ZJJ", "王志强（副市长）",
     LegacyTarget.RESOLVED, LegacyStatus.RESOLVED, (Party("陈玉梅", "13953125678", "业主代表"),
                                                    Party("X市锦绣置业有限公司", None, "开发企业"))),
    ("东城街道拆迁安置协议落实", LegacyCategory.AGREEMENT, "JD002", "李红（市政府秘书长）",
     LegacyTarget.CLEAR_PROGRESS, LegacyStatus.CLEAR_PROGRESS, (Party("赵德顺", "15866001122"),)),
    ("北园闲置用地盘活", LegacyCategory.IDLE_LAND, "ZJJ", "李红（市政府秘书长）",
     LegacyTarget.CLEAR_PROGRESS, LegacyStatus.IN_PROGRESS, ()),
    ("和平小区供暖管网移交", LegacyCategory.AGREEMENT, "ZJJ", "张伟（住建局局长）",
     LegacyTarget.RESOLVED, LegacyStatus.IN_PROGRESS, (Party("孙丽", "18653109876", "业主代表"),)),
    ("滨河花园商铺办证", LegacyCategory.CERTIFICATE, "ZJJ", "张伟（住建局局长）",
     LegacyTarget.RESOLVED, LegacyStatus.NOT_STARTED, (Party("周海涛", "13706415566"),)),
    ("城关街道农贸市场占道遗留", LegacyCategory.OTHER, "CGZF", "刘强（执法局局长）",
     LegacyTarget.RESOLVED, LegacyStatus.RESOLVED, (Party("吴桂兰", "13589012345", "摊主代表"),)),
    ("南湖片区垃圾中转站选址", LegacyCategory.OTHER, "HWZX", "马军（环卫中心主任）",
     LegacyTarget.CLEAR_PROGRESS, LegacyStatus.IN_PROGRESS, ()),
    ("文昌路绿地被占用清退", LegacyCategory.IDLE_LAND, "YLZX", "郑芳（园林中心主任）",
     LegacyTarget.RESOLVED, LegacyStatus.CLEAR_PROGRESS, (Party("X市文昌物业公司", None, "占用单位"),)),
    ("龙山街道排水设施移交", LegacyCategory.AGREEMENT, "PSC", "黄涛（排水处处长）",
     LegacyTarget.RESOLVED, LegacyStatus.IN_PROGRESS, ()),
    ("新华小区延期交房（二期）", LegacyCategory.DELIVERY, "ZJJ", "王志强（副市长）",
     LegacyTarget.CLEAR_PROGRESS, LegacyStatus.NOT_STARTED, (Party("何静", "13012345678", "业主代表"),)),
    ("西城街道回迁房办证", LegacyCategory.CERTIFICATE, "JD003", "李红（市政府秘书长）",
     LegacyTarget.RESOLVED, LegacyStatus.IN_PROGRESS, (Party("冯国庆", "13687654321"),)),
)
STEPS = ("摸清底数，建立台账", "召开协调会，明确责任分工", "落实资金和手续", "组织实施并验收")


def build_demo_legacy(session: Session, now: datetime) -> int:
    """About a dozen legacy issues of X市 in every status, each with a four-step plan and a
    progress log over the past months (one closed with evidence, one overdue from last
    year). The number entered."""
    office = Principal("demo", Role.ADMIN, "演示数据")
    today = _today(now)
    units = city_store.load_units(session)
    made = 0
    for n, (title, category, unit, official, target, final, parties) in enumerate(DEMO_ISSUES):
        if unit not in units:
            continue
        entered = now - timedelta(days=150 - 5 * n)
        steps = [Step(i, text, today + timedelta(days=30 * (i - 3))) for i, text in
                 enumerate(STEPS, start=1)]
        target_date = date(today.year - 1, 12, 31) if n == 10 else None
        issue_id = create_issue(session, office, IssueInput(
            title, category, unit, f"{title}：群众反映强烈的历史遗留问题", f"X市{title[:4]}",
            116.975 + 0.003 * (n % 6), 36.61 - 0.005 * (n // 6), parties, official, target,
            target_date, steps), entered)
        _demo_log(session, issue_id, unit, final, entered, now)
        made += 1
    return made


def _demo_log(session: Session, issue_id: int, unit: str, final: LegacyStatus, entered: datetime,
              now: datetime) -> None:
    order = [LegacyStatus.IN_PROGRESS, LegacyStatus.CLEAR_PROGRESS, LegacyStatus.RESOLVED]
    if final is LegacyStatus.NOT_STARTED:
        return
    upto = order.index(final) + 1 if final in order else len(order)
    staff = Principal(f"handler_{unit.lower()}", Role.HANDLER, unit_code=unit)
    at = entered
    for i, status in enumerate(order[:upto], start=1):
        at = min(at + timedelta(days=30), now)
        log_progress(session, staff, issue_id, ProgressEntry(
            f"第 {i} 次推进：{status.label}", status, step_done=min(i, 4)), [], at)
    if final is LegacyStatus.CLOSED:
        sign_off_issue(session, Principal("demo", Role.ADMIN, "演示数据"), issue_id,
                       "不动产权证书已全部发放，业主签收表存档", [], min(at + timedelta(days=3), now))
