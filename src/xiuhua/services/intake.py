"""上报: the one intake use case. Every report becomes a case here, whichever way it came: the
REST API (``POST /api/v1/cases``), the report page, the public portal, the public API,
Open311, and the features that create cases themselves (e.g. from field-evaluation
deductions). The entrances only translate their wire format into one :class:`Report` and say
who reports (:class:`Reporter`); this module does the rest once: who may report and with which
source, the photo limit, the idempotency claim, validation and location (by the domain's
lifecycle rules), storing the uploaded photos, numbering and saving the case with its first
event, linking the photos, the public's tracking code and the audit row. (A report raises no
notification today: deadline notices come from the sweeper. One that a report should raise is
raised here, once.)

The signature, for every caller::

    take_report(session, city, report, at, by, *, settings=None, claim=None, reader=None)

- ``session``: the unit of work; the function writes in it and never commits (the caller's
  boundary does: the request, or ``store.db.transaction`` in a command or a job).
- ``city``: the city snapshot (``services.city``).
- ``report``: :class:`Report`, the fields of the case as reported: category, source, a point
  (lon/lat in ``coord_sys``, optionally the grid it must lie in) or an address, description,
  urgency, component, reporter, photos already stored (``photos``, by id) and files sent with
  the report (``uploads``: stored here), a first note.
- ``at``: the instant of the report (aware).
- ``by``: :class:`Reporter`: ``Reporter.user(principal, client)`` for a signed-in user,
  ``Reporter.public(client)`` for an anonymous citizen (the case gets a tracking code), or
  ``Reporter.system(actor)`` for a case the system creates (no HTTP principal; an actor without
  a role is trusted, its login, if any, named on the event and the audit row; the report names
  its ``source``, e.g. ``Source.EVALUATION``; its photos need only exist).
- ``settings``: where uploaded files are stored (needed only with ``uploads``).
- ``claim``: an idempotency key (:class:`Claim`), or None. Returns :class:`Taken` (the case,
  its tracking code, the answer remembered for the claim) or, for a retry of a claimed key,
  the first request's :class:`~xiuhua.services.idempotency.StoredResponse`.
- ``reader``: a session to check the report with before the write transaction begins (only
  without a claim; closed when done: on SQLite an open read holds back checkpoints).

For example, a case from a field evaluation's deduction::

    taken = take_report(session, city, Report(
        category_code="06010", source=Source.EVALUATION, lon=lon, lat=lat,
        description="考评检查发现：暴露垃圾", photos=(photo_id,)),
        at, Reporter.system(Actor("evaluator01"), channel="evaluation"))
    taken.case.case_no

The history import (``xiuhua import cases``) is a replay with its own rules and does not come
through here; it builds the domain's :class:`~xiuhua.domain.lifecycle.ReportData` (a report
located and numbered) itself, as :func:`report_data` does from a :class:`Report`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, overload

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.access import Principal, can_see
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action, Role, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput, PermissionDenied
from xiuhua.domain.geo import CoordSys
from xiuhua.domain.lifecycle import SYSTEM, Actor, Case, ReportData, report
from xiuhua.domain.photos import check_photo_count
from xiuhua.domain.taxonomy import DEFAULT_URGENCY
from xiuhua.services import idempotency
from xiuhua.services import photos as photo_service
from xiuhua.services.accounts import audit
from xiuhua.services.cases import check_component, clean_text, locate_input
from xiuhua.services.idempotency import StoredResponse
from xiuhua.services.photos import Upload
from xiuhua.services.public import PUBLIC, assign_tracking_code
from xiuhua.store.cases import next_case_no, save_case


@dataclass(frozen=True)
class Report:
    """One report, as every entrance gives it (the interchange format's case fields).

    ``source`` None: the reporter's own (:func:`report_source`). Texts are taken as sent
    (blank is none). ``photos``: ids of photos stored before, which the reporter must see;
    ``uploads``: files sent with the report. ``note``: a first note, seen by staff only."""

    category_code: str
    source: Source | None = None
    lon: float | None = None
    lat: float | None = None
    coord_sys: CoordSys = CoordSys.WGS84
    grid_code: str | None = None
    address: str | None = None
    description: str | None = None
    urgency: str = DEFAULT_URGENCY
    component_code: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: tuple[str, ...] = ()
    uploads: tuple[Upload, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Reporter:
    """Who reports: the lifecycle's ``actor``; the signed-in ``principal`` (None for the public
    and the system); whether the case gets a tracking code (``tracked``: the anonymous public);
    and what the audit row names: the client's address, the channel (``web``, ``portal``,
    ``open311`` …) and an Open311 client's key name."""

    actor: Actor
    principal: Principal | None = None
    tracked: bool = False
    client: str | None = None
    channel: str | None = None
    api_key: str | None = None

    @classmethod
    def user(cls, principal: Principal, client: str | None = None,
             channel: str | None = None) -> Reporter:
        return cls(principal.actor, principal, client=client, channel=channel)

    @classmethod
    def public(cls, client: str | None = None, channel: str = "portal",
               api_key: str | None = None) -> Reporter:
        return cls(PUBLIC, None, True, client, channel, api_key)

    @classmethod
    def system(cls, actor: Actor = SYSTEM, channel: str | None = None) -> Reporter:
        return cls(actor, None, client=None, channel=channel)

    @property
    def is_system(self) -> bool:
        return self.principal is None and not self.tracked


@dataclass(frozen=True)
class Claim:
    """An idempotency key (:mod:`xiuhua.services.idempotency`) guarding one report: claimed in
    ``scope`` for a request that hashes to ``fingerprint``; ``answer`` builds from the stored
    case (and its tracking code) the body a retry gets back, with ``status``."""

    scope: str
    key: str
    fingerprint: str
    answer: Callable[[Case, str | None], dict[str, Any]]
    status: int = 201


@dataclass(frozen=True)
class Taken:
    """A report stored: the ``case`` (with its ``tracking_code`` for the public) and the
    ``answer`` remembered for its claim, if it had one."""

    case: Case
    tracking_code: str | None = None
    answer: dict[str, Any] | None = None


@overload
def take_report(session: Session, city: City, given: Report, at: datetime, by: Reporter, *,
                settings: Settings | None = None, claim: None = None,
                reader: Session | None = None) -> Taken: ...


@overload
def take_report(session: Session, city: City, given: Report, at: datetime, by: Reporter, *,
                settings: Settings | None = None, claim: Claim | None,
                reader: Session | None = None) -> Taken | StoredResponse: ...


def take_report(session: Session, city: City, given: Report, at: datetime, by: Reporter, *,
                settings: Settings | None = None, claim: Claim | None = None,
                reader: Session | None = None) -> Taken | StoredResponse:
    """上报 (see the module's docstring): the case stored in ``session``, uncommitted; with a
    claim already used by an earlier request, that request's response (nothing done)."""
    checked = checked_report(city, given, by)
    prepared = None
    if claim is None:
        prepared = prepare_report(reader or session, city, checked, at, by.actor)
        if reader is not None and reader is not session:
            reader.close()  # done reading before the write begins
    else:
        earlier = idempotency.claim(session, claim.scope, claim.key, claim.fingerprint, at)
        if earlier is not None:
            return earlier
        prepared = prepare_report(session, city, checked, at, by.actor)
    # photos: those named checked before any file is stored (a refused report keeps none)
    named = linkable_photos(session, by, checked.photos)
    if checked.uploads:
        if settings is None:
            raise TypeError("take_report: uploads need the settings (where photos are stored)")
        stored = photo_service.store_uploads(session, settings, checked.uploads,
                                             None if by.tracked else by.actor.login, at)
        checked = replace(checked, photos=tuple(dict.fromkeys([*named, *stored])))
        prepared = prepare_report(session, city, checked, at, by.actor)
    case, code = store_prepared(session, prepared, by, at)
    answer = None
    if claim is not None:
        answer = claim.answer(case, code)
        idempotency.remember(session, claim.scope, claim.key, claim.status, answer)
    return Taken(case, code, answer)


def checked_report(city: City, given: Report, by: Reporter) -> Report:
    """The report as the rest of the intake takes it, after the checks that need no database:
    the reporter may report, the source is decided, the photo limit kept; texts cleaned."""
    if by.principal is not None:
        require_reporter(city, by.principal)
    photos = tuple(dict.fromkeys(given.photos))
    check_photo_count(len(photos) + len(given.uploads))
    return replace(
        given, source=source_of(by, given.source), photos=photos,
        address=clean_text(given.address), description=clean_text(given.description),
        reporter_name=clean_text(given.reporter_name),
        reporter_phone=clean_text(given.reporter_phone), note=clean_text(given.note))


def require_reporter(city: City, user: Principal) -> None:
    """A signed-in user may report only if the city's permissions let their role."""
    if not city.rules.permissions.allows(user.role, Action.REPORT):
        raise PermissionDenied(f"{user.role.label}无权执行“{Action.REPORT.label}”操作",
                               code="permission_denied")


def source_of(by: Reporter, requested: Source | None) -> Source:
    """The source of a report: the system names it; the others by :func:`report_source`."""
    if not by.is_system:
        return report_source(by.actor.role, requested)
    if requested is None:
        raise InvalidInput("系统生成的案件须指明来源", code="missing_source")
    return requested


def report_source(role: Role | None, requested: Source | None) -> Source:
    """The source of a report by ``role``: the public reports only as the public; staff may
    name the channel (hotline, video …) and default to their own (inspectors) or the hotline."""
    if role is Role.PUBLIC:
        if requested not in (None, Source.PUBLIC):
            raise InvalidInput("公众上报的来源只能是 public（公众举报）", code="invalid_source")
        return Source.PUBLIC
    if requested is not None:
        return requested
    return Source.INSPECTOR if role is Role.INSPECTOR else Source.HOTLINE


def linkable_photos(session: Session, by: Reporter, ids: tuple[str, ...]) -> list[str]:
    """Photos named by id: a user must see each (uploaded, or of something they see); someone
    anonymous sees none, so any id is refused (a citizen's photos come as files with the
    report); the system's must exist."""
    if by.is_system:
        return photo_service.check_exists(session, ids) if ids else []
    code = "unknown_photo" if by.principal is not None else "invalid_photo"
    return photo_service.check_may_link(session, by.principal, ids, code=code)


def report_data(city: City, data: Report, case_no: str, at: datetime) -> ReportData:
    """The report located, in the domain's terms (the source decided: :func:`checked_report`)."""
    return ReportData(
        case_no=case_no, source=data.source or Source.INSPECTOR,
        category_code=data.category_code, at=at, urgency=data.urgency,
        location=locate_input(city, data.lon, data.lat, data.coord_sys, data.grid_code),
        address=data.address, description=data.description,
        component_code=data.component_code, reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone, photos=data.photos, note=data.note,
    )


def prepare_report(session: Session, city: City, data: Report, at: datetime,
                   actor: Actor = SYSTEM) -> Case:
    """A report checked by the rules and located, not yet numbered: it only reads, so it can
    run before the write transaction (on SQLite, before taking the one write lock)."""
    check_component(session, data.component_code)
    return report(report_data(city, data, "", at), city.rules, actor)


def store_report(bind: Session | Connection, prepared: Case) -> Case:
    """Number a prepared report (the next number of its local day) and store it: the short
    write at the end of 上报."""
    day = prepared.reported_at.astimezone(local_zone()).strftime("%Y%m%d")
    case = replace(prepared, case_no=next_case_no(bind, day))
    save_case(bind, case, 0, 0)
    return case


def store_prepared(session: Session, prepared: Case, by: Reporter,
                   at: datetime) -> tuple[Case, str | None]:
    """The prepared report numbered and stored, the public's tracking code given, its photos
    (checked by :func:`linkable_photos`, or stored by this report) linked, and audited (the
    public's rows name no event: its event names no actor either). A district's center staff
    report in their district only (a case elsewhere is the city center's or another district's)."""
    user = by.principal
    if user is not None and user.district_scope is not None and not can_see(user, prepared):
        raise InvalidInput("该位置不在本区（县）范围内：请转市级监督中心受理", code="outside_district")
    conn = session.connection()  # its statements on the session's transaction, minus ORM work
    case = store_report(conn, prepared)
    code = assign_tracking_code(session, case.case_no) if by.tracked else None
    photo_service.attach_to_case(session, case.case_no, case.photos)
    detail: dict[str, Any] = {"action": Action.REPORT.value}
    if not by.tracked:
        detail["event_seq"] = case.events[-1].seq
    detail.update({k: v for k, v in (("channel", by.channel), ("api_key", by.api_key)) if v})
    audit(conn, at, by.actor.login, "case_action", case.case_no, detail, by.client)
    return case, code
