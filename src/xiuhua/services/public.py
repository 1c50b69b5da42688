"""Public participation: citizens report a problem (anonymously or with a phone number), follow
their case with a tracking code, and rate it once closed.

What the public sees of a case is decided here, once, for the portal and for Open311: the
public events (report, file, dispatch, feedback, check_pass, close, cancel, rate), the notes of
feedback, close and cancel, the names of units — never who acted, who reported, or the notes of
internal steps (returns, suspensions, extensions)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xiuhua.domain.calendar import TimeLimit, local_zone
from xiuhua.domain.choices import Action, CancelReason, CaseStatus, Rating, Role, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput, NotFound
from xiuhua.domain.lifecycle import Actor, Case, Command, Event
from xiuhua.domain.taxonomy import URGENCY_LABELS, CaseClass, ClassKind
from xiuhua.services import photos as photo_service
from xiuhua.services.accounts import audit
from xiuhua.services.cases import act_on_case, clean_text
from xiuhua.store.cases import iter_cases, load_case
from xiuhua.store.tables import audit_log, case_photos, cases, categories

PUBLIC = Actor(role=Role.PUBLIC)
# Tracking codes: 10 characters without 0/O, 1/I/L — easy to read out and to type.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
_CODE_RE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")

PUBLIC_ACTIONS = frozenset({Action.REPORT, Action.FILE, Action.DISPATCH, Action.FEEDBACK,
                            Action.CHECK_PASS, Action.CLOSE, Action.CANCEL, Action.RATE})
PUBLIC_NOTES = frozenset({Action.FEEDBACK, Action.CLOSE, Action.CANCEL})
# Actions that leave the case in the state they found it in.
_SAME_STATE = frozenset({Action.AMEND, Action.REQUEST_VERIFY, Action.VERIFY, Action.SUPERVISE,
                         Action.RATE, Action.REQUEST_EXTENSION, Action.EXTEND,
                         Action.REJECT_EXTENSION, Action.REQUEST_SUSPENSION,
                         Action.REJECT_SUSPENSION, Action.RECOMPUTE_DEADLINE})


# --- categories -----------------------------------------------------------------------------


def public_categories(city: City) -> list[CaseClass]:
    """Matter classes the public may report now (active and public-reportable)."""
    return [c for c in city.taxonomy.matters() if c.public_reportable and c.active]


def publicly_visible() -> ColumnElement[bool]:
    """Cases the public may look at: those of public-reportable classes (in any state, from
    any source) and every case reported by the public (it has a tracking code)."""
    public_codes = select(categories.c.code).where(categories.c.kind == ClassKind.MATTER.value,
                                                   categories.c.public_reportable.is_(True))
    return or_(cases.c.category_code.in_(public_codes), cases.c.tracking_code.is_not(None))


@dataclass(frozen=True)
class CaseQuery:
    """Filters on publicly visible cases (all optional); ``open`` False means closed or cancelled."""

    case_nos: tuple[str, ...] | None = None
    category_codes: tuple[str, ...] | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    open: bool | None = None
    offset: int = 0
    limit: int = 1000

    def conditions(self) -> list[ColumnElement[bool]]:
        c = cases.c
        bounds = [(c.reported_at, self.reported_from, self.reported_to),
                  (c.updated_at, self.updated_from, self.updated_to)]
        found: list[ColumnElement[bool]] = [publicly_visible()]
        found += [column >= low for column, low, _ in bounds if low is not None]
        found += [column <= high for column, _, high in bounds if high is not None]
        if self.case_nos is not None:
            found.append(c.case_no.in_(self.case_nos))
        if self.category_codes is not None:
            found.append(c.category_code.in_(self.category_codes))
        if self.open is not None:
            done = c.status.in_([CaseStatus.CLOSED.value, CaseStatus.CANCELLED.value])
            found.append(~done if self.open else done)
        return found


def find_public_cases(session: Session, query: CaseQuery) -> list[Case]:
    """Publicly visible cases matching the query, the latest report first."""
    nos = session.execute(select(cases.c.case_no).where(*query.conditions())
                          .order_by(cases.c.reported_at.desc(), cases.c.case_no.desc())
                          .offset(query.offset).limit(query.limit)).scalars().all()
    if not nos:
        return []
    found = {c.case_no: c for c in iter_cases(session, cases.c.case_no.in_(nos))}
    return [found[no] for no in nos]


# --- reporting ------------------------------------------------------------------------------


CITIZEN_LABEL = "市民（公众上报）"


def anonymous_actors(session: Session, case: Case) -> dict[int, str]:
    """Who took the case's steps that name no user, by event ``seq``: a citizen's report (through
    the portal, or the Open311 client's key name), a citizen's rating; the rest is the system's."""
    found: dict[int, str] = {}
    for event in case.events:
        if event.actor is not None:
            continue
        if event.action is Action.REPORT and case.source is Source.PUBLIC:
            found[event.seq] = _reporting_client(session, case.case_no, event.at) or CITIZEN_LABEL
        elif event.action is Action.RATE:
            found[event.seq] = "市民（公众评价）"
    return found


def _reporting_client(session: Session, case_no: str, at: datetime) -> str | None:
    """The Open311 client a public report came through (its API key's name), from the audit
    row written with the report (at the same instant: an index range)."""
    rows = session.execute(select(audit_log.c.detail).where(
        audit_log.c.at == at, audit_log.c.kind == "case_action", audit_log.c.subject == case_no))
    for (detail,) in rows:
        if detail.get("action") == Action.REPORT.value and detail.get("channel") == "open311":
            return f"Open311 客户端“{detail.get('api_key') or '未命名'}”"
    return None


def new_tracking_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def assign_tracking_code(session: Session, case_no: str, attempts: int = 5) -> str:
    """Give the case a fresh random tracking code (unique: retried on a collision)."""
    for _ in range(attempts):
        code = new_tracking_code()
        try:
            with session.begin_nested():
                session.execute(update(cases).where(cases.c.case_no == case_no)
                                .values(tracking_code=code))
            return code
        except IntegrityError:
            continue
    raise InvalidInput("查询码生成失败，请重试", code="tracking_code_exhausted")


def normalize_tracking_code(text: str) -> str:
    """A tracking code as typed (any case, spaces or dashes) → its canonical form."""
    code = re.sub(r"[\s-]", "", text).upper()
    if not _CODE_RE.fullmatch(code):
        raise NotFound("查询码不存在，请核对后重试", code="tracking_code_not_found")
    return code


def case_no_for_code(session: Session, text: str) -> str:
    code = normalize_tracking_code(text)
    found = session.execute(select(cases.c.case_no)
                            .where(cases.c.tracking_code == code)).scalar()
    if found is None:
        raise NotFound("查询码不存在，请核对后重试", code="tracking_code_not_found")
    return str(found)


# --- the public view of a case --------------------------------------------------------------


@dataclass(frozen=True)
class PublicEvent:
    """A public step; ``photos`` are public ids (never the content hash: ``services.photos``)."""

    action: Action
    at: datetime
    unit_name: str | None = None
    note: str | None = None
    reason: CancelReason | None = None
    rating: Rating | None = None
    photos: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublicCase:
    """The public view of a case; ``photos`` are public ids."""

    tracking_code: str
    case: Case
    category_name: str
    status_note: str
    events: list[PublicEvent]
    photos: list[str]

    @property
    def can_rate(self) -> bool:
        return self.case.status is CaseStatus.CLOSED and self.case.rating is None


def public_event(city: City, event: Event) -> PublicEvent:
    reason = event.data.get("reason") if event.action is Action.CANCEL else None
    value = event.data.get("value") if event.action is Action.RATE else None
    return PublicEvent(
        action=event.action, at=event.at,
        unit_name=city.unit_name(event.data.get("unit")) if event.action is Action.DISPATCH
        else None,
        note=event.note if event.action in PUBLIC_NOTES else None,
        reason=CancelReason(reason) if reason else None,
        rating=Rating(value) if value else None, photos=event.photos,
    )


def public_events(city: City, case: Case) -> list[PublicEvent]:
    return [public_event(city, e) for e in case.events if e.action in PUBLIC_ACTIONS]


def public_photos(case: Case) -> list[str]:
    """Photos of the public events, in order, each once."""
    seen: dict[str, None] = {}
    for event in case.events:
        if event.action in PUBLIC_ACTIONS and event.action is not Action.RATE:
            seen.update(dict.fromkeys(event.photos))
    return list(seen)


def status_note(city: City, case: Case) -> str:
    """The status in Chinese, with the public note of the step that led to it."""
    text = case.status.label
    if case.status is CaseStatus.CANCELLED and case.cancel_reason is not None:
        extra = f"，原案件 {case.duplicate_of}" if case.duplicate_of else ""
        text += f"（{case.cancel_reason.label}{extra}）"
    last = next((e for e in reversed(case.events) if e.action not in _SAME_STATE), None)
    if last is not None and last.action in PUBLIC_NOTES and (last.note or "").strip():
        text += f"：{(last.note or '').strip()}"
    return text


def agency_name(city: City, case: Case) -> str | None:
    """The unit holding the case, or the last one that held it."""
    return city.unit_name(case.holder or case.last_unit)


def limit_label(text: str) -> str:
    limit = TimeLimit.parse(text)
    return f"{limit.text[:-len(limit.unit.value)]} {limit.unit.label}"


def service_notice(city: City, case: Case) -> str | None:
    """What the city will do next, with the handling deadline when there is one."""
    open_a = case.open_assignment
    if open_a is not None and open_a.suspended_at is None:
        due = open_a.deadline.astimezone(local_zone())
        return f"处置时限 {limit_label(open_a.limit)}，应于 {due:%Y-%m-%d %H:%M} 前处置完毕"
    if case.status is CaseStatus.REPORTED:
        matter = city.taxonomy.matter(case.category_code)
        limit = matter.limits.get(case.urgency)
        urgency = URGENCY_LABELS.get(case.urgency, case.urgency)
        tail = f"；此类问题（{urgency}）派遣后处置时限为 {limit_label(limit)}" if limit else ""
        return f"已受理，核实后立案派遣{tail}"
    if case.status is CaseStatus.FILED:
        return "已立案，等待派遣处置单位"
    return None


def public_view(session: Session, city: City, text: str) -> PublicCase:
    """The public history of the case with this tracking code (photos by their public ids)."""
    code = normalize_tracking_code(text)
    case = load_case(session, case_no_for_code(session, code))
    category = city.taxonomy.classes.get((ClassKind.MATTER, case.category_code))
    photos = public_photos(case)
    names = photo_service.public_ids(session, photos)
    events = [replace(e, photos=tuple(names[p] for p in e.photos if p in names))
              for e in public_events(city, case)]
    return PublicCase(
        tracking_code=code, case=case,
        category_name=category.name if category else case.category_code,
        status_note=status_note(city, case), events=events,
        photos=[names[p] for p in photos if p in names],
    )


# --- rating ---------------------------------------------------------------------------------


def rate_case(session: Session, city: City, text: str, value: Rating, at: datetime,
              comment: str | None = None, client: str | None = None) -> PublicCase:
    """评价: the citizen rates the closed case once."""
    case_no = case_no_for_code(session, text)
    act_on_case(session, city, case_no,
                Command(Action.RATE, at, PUBLIC, value=value.value, note=clean_text(comment)))
    audit(session, at, None, "case_action", case_no,
          {"action": Action.RATE.value, "value": value.value}, client)
    return public_view(session, city, text)


# --- photos ---------------------------------------------------------------------------------


def public_photo_ids(session: Session, case: Case) -> list[str]:
    """The public ids of the photos of the public events (Open311 ``media_url``)."""
    photos = public_photos(case)
    names = photo_service.public_ids(session, photos)
    return [names[p] for p in photos if p in names]


def public_photo(session: Session, public_id: str) -> photo_service.Photo:
    """The photo with this public id, if the public sees it (a public step of a case the
    public may look at); otherwise it does not exist."""
    photo = photo_service.photo_by_public_id(session, public_id)
    if not is_public_photo(session, photo.id):
        raise NotFound("照片不存在", code="photo_not_found")
    return photo


def is_public_photo(session: Session, photo_id: str) -> bool:
    """Whether the photo belongs to a public event of a case the public may look at."""
    rows = session.execute(
        select(case_photos.c.case_no).join(cases, cases.c.case_no == case_photos.c.case_no)
        .where(case_photos.c.photo_id == photo_id, publicly_visible())).scalars().all()
    return any(photo_id in public_photos(load_case(session, no)) for no in rows)
