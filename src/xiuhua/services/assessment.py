"""Use cases of the assessment: assess a period, list the cases behind a figure, enter
deductions and bonus points, set the reward bands, and publish (freeze) a period.

The formulas live in :mod:`xiuhua.domain.assessment`; this module pulls what a period needs
from the store (:mod:`xiuhua.store.assessment`) and keeps the published figures frozen: a manual
entry dated in a published period is booked into the next open month as an adjustment, and so is
every count of a published period that later changes (a correction, e.g. after an import of case
history): the published value, the value now and why, listed in that month's figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xiuhua.config import get_settings
from xiuhua.domain.access import (
    PEOPLE_SUBJECTS,
    UNIT_STAFF,
    Principal,
    sees_assessment,
    sees_person_figures,
)
from xiuhua.domain.assessment import (
    ASSESSED_ACTIONS,
    HISTORY_ACTIONS,
    MAX_BAND_AMOUNT,
    MAX_BAND_RANK,
    MEASURES,
    MIN_YEAR,
    NEEDS_HISTORY,
    Assessment,
    AssessmentConfig,
    Entry,
    Measure,
    Period,
    PeriodData,
    PeriodGroups,
    RegionRecord,
    RewardBand,
    Subject,
    Timeliness,
    action_placings,
    assess,
    assessed_kind,
    by_months,
    count_groups,
    item_row,
    month_label,
    parse_config,
    scoped_figures,
    summarize,
)
from xiuhua.domain.calendar import day_start, local_day, local_zone
from xiuhua.domain.choices import AssessedKind, RegionLevel, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.errors import (
    ActionRefused,
    BatchInvalid,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from xiuhua.domain.evaluation import EVALUATION
from xiuhua.domain.plans import TASKS
from xiuhua.domain.reports import REPORT_FORMATS, ReportInput, city_row, source_sections
from xiuhua.domain.surveys import SURVEY
from xiuhua.services import evaluation as field_evaluation
from xiuhua.services import photos as photo_service
from xiuhua.services import plans
from xiuhua.services import surveys as survey_service
from xiuhua.services.accounts import audit
from xiuhua.services.city import load_city
from xiuhua.services.tabular import read_csv, read_text
from xiuhua.store import assessment as store
from xiuhua.store.db import transaction
from xiuhua.store.tables import units

CONFIG_FILE = "assessment.toml"
ENTRY_KINDS = {"deduction": "扣分", "bonus": "加分"}
MAX_POINTS = Decimal(100)


def shipped_config_text() -> str:
    return resources.files("xiuhua.data").joinpath(CONFIG_FILE).read_text(encoding="utf-8")


def load_config(data_dir: Path | None = None) -> AssessmentConfig:
    """``assessment.toml`` of the data directory if there is one, else the shipped defaults."""
    path = data_dir / CONFIG_FILE if data_dir is not None else None
    if path is not None and path.is_file():
        return parse_config(read_text(path))
    return parse_config(shipped_config_text())


# --- assessing ------------------------------------------------------------------------------


def listed_units(city: City) -> dict[str, str]:
    """The handling units every circular lists (active, not the command center)."""
    return {u.code: u.name for u in city.units.values() if u.active and u.kind != UnitKind.CENTER}


def unit_kinds(city: City) -> dict[str, AssessedKind]:
    """Every assessed unit's kind (a street office by its region: street or development zone)."""
    found = {}
    for u in city.units.values():
        region = city.regions.get(u.region_code) if u.region_code else None
        kind = assessed_kind(u.kind, region.kind if region is not None else None)
        if kind is not None:
            found[u.code] = kind
    return found


# What a score source needs beyond the case counts, by source name: a loader gives its input by
# unit code for a period (as it stands at ``at`` while it runs); ``PeriodData.loaded``.
Loader = Callable[[Session, City, Period, datetime | None], Mapping[str, Any]]
LOADERS: dict[str, Loader] = {
    SURVEY: survey_service.period_scores,
    TASKS: plans.period_programme,
    EVALUATION: field_evaluation.period_evidence,
}


def source_inputs(session: Session, city: City, period: Period, at: datetime | None,
                  config: AssessmentConfig | None) -> dict[str, Mapping[str, Any]]:
    """The inputs of the configured sources that have a loader (none without ``[[sources]]``)."""
    if config is None or config.sources is None:
        return {}
    return {s.name: LOADERS[s.name](session, city, period, at) for s in config.sources if s.name in LOADERS}


def period_meta(session: Session, city: City, period: Period, at: datetime | None,
                config: AssessmentConfig | None = None) -> PeriodData:
    """What names and lists the period's subjects, without its cases (with the configured
    sources' inputs when ``config`` is given)."""
    return PeriodData(
        period=period, cases={}, assignments={}, events=[], history={},
        units=listed_units(city),
        regions={code: RegionRecord(code, r.level, r.name, r.area_m2) for code, r in city.regions.items()},
        category_names={c.code: c.name for c in city.taxonomy.matters()},
        people=store.people(session),
        calendars=city.calendars,
        entries=[Entry(r.unit_code, r.kind, r.points)
                 for r in store.entries_booked(session, period.months())],
        reward_bands=store.reward_bands(session, period.label),
        as_of=at,
        unit_kinds=unit_kinds(city),
        loaded=source_inputs(session, city, period, at, config),
    )


def period_data(session: Session, city: City, period: Period, at: datetime | None = None,
                only: Any = None, config: AssessmentConfig | None = None) -> PeriodData:
    """What the period needs, case by case; a period still running at ``at`` is counted as it
    stands then. With ``only`` (a query of case numbers), those cases alone: each case's items
    depend on that case alone, so the figures they count are whole."""
    start, end = period.start, period.end
    touched = only if only is not None else store.touched_cases(ASSESSED_ACTIONS, start, end)
    return replace(
        period_meta(session, city, period, at, config),
        cases=store.case_records(session, touched),
        assignments=store.case_assignments(session, touched),
        events=store.period_events(session, ASSESSED_ACTIONS, start, end, only),
        history=store.history_events(session, HISTORY_ACTIONS, NEEDS_HISTORY, start, end, only),
    )


def subject_cases(city: City, period: Period, subject: str, code: str) -> Any:
    """The cases that can count for one subject's figures (a unit's, a region's, a person's)."""
    cities = [c for c, r in city.regions.items() if r.level is RegionLevel.CITY]
    touched = store.touched_cases(ASSESSED_ACTIONS, period.start, period.end)
    return store.subject_cases(touched, subject, code, period.start, period.end, whole_city=cities == [code])


def compute(session: Session, city: City, period: Period, config: AssessmentConfig,
            at: datetime | None = None, only: Any = None) -> tuple[Assessment, PeriodData]:
    """The period counted item by item, over the cases ``only`` if given: what a drill-down
    lists."""
    data = period_data(session, city, period, at, only, config)
    return assess(data, config), data


def period_groups(session: Session, city: City, meta: PeriodData, config: AssessmentConfig) -> PeriodGroups:
    """The period's events and assignments grouped by the database, up to its cutoff."""
    timeliness = Timeliness(city.calendars)

    def seconds(calendar: str, limit: str) -> int:
        return timeliness.limit(calendar, limit)[1].seconds

    return store.period_counts(
        session, meta.period.start, meta.cutoff,
        dispatch_seconds=seconds(config.center_calendar, config.dispatch_limit),
        filing_seconds=seconds(config.center_calendar, config.filing_limit),
        check_seconds=seconds(config.task_calendar, config.check_limit))


def overdue(session: Session, city: City, period: Period, config: AssessmentConfig,
            at: datetime | None = None) -> tuple[Assessment, PeriodData]:
    """The period counted item by item over the cases that can be overdue at its end (those
    with an assignment not ended before it): every unit's ``overdue_unhandled`` items."""
    return compute(session, city, period, config, at, store.open_cases(period.start, period.cutoff(at)))


def counted(session: Session, city: City, period: Period, config: AssessmentConfig,
            at: datetime | None = None) -> Assessment:
    """The period's figures from its grouped rows: the same counts as :func:`compute`, without
    reading the period's cases one by one."""
    meta = period_meta(session, city, period, at, config)
    groups = period_groups(session, city, meta, config)
    return summarize(meta, config, *count_groups(groups, meta, config))


def live_figures(session: Session, city: City, period: Period, config: AssessmentConfig,
                 at: datetime | None = None) -> dict[str, Any]:
    """The period's figures as the data stand, with its manual entries and adjustments and the
    corrections of published periods booked into it."""
    result = counted(session, city, period, config, at)
    if period.kind != "month" and config.by_months:
        result.units = by_months(result.units, monthly_scores(session, city, period, config, at), config,
                                 store.reward_bands(session, period.label))
    entries = [entry_view(r, city) for r in store.entries_booked(session, period.months())]
    return {**result.figures(), "entries": entries,
            "adjustments": [e for e in entries if e["adjusts"] is not None],
            "corrections": [correction_view(r) for r in store.corrections_booked(session, period.months())]}


def monthly_scores(session: Session, city: City, period: Period, config: AssessmentConfig,
                   at: datetime | None) -> dict[str, dict[str, Decimal | None]]:
    """The composite of each unit in each month of the period that has begun at ``at`` (a
    published month's frozen, the others' as the data stand)."""
    months = [Period.parse(m) for m in period.months()]
    found = {}
    for month in months:
        if at is not None and month.start > at:
            break
        units = assess_period(session, city, month.label, config, at)["units"]
        found[month.label] = {u["unit_code"]: Decimal(str(u["score"])) if u["score"] is not None else None
                              for u in units}
    return found


def assess_period(session: Session, city: City, period_text: str, config: AssessmentConfig,
                  at: datetime | None = None) -> dict[str, Any]:
    """The period's JSON: the frozen figures once published, else computed from the data; a
    period still running at ``at`` is counted up to ``at`` (``complete`` is then false)."""
    period = Period.parse(period_text)
    frozen = store.publication(session, period.label)
    if frozen is not None:
        return {**frozen.figures, **_published_flags(frozen)}
    return {**live_figures(session, city, period, config, at), "published": False,
            "published_at": None, "published_by": None}


def period_figures(session: Session, city: City, period_text: str, config: AssessmentConfig,
                   at: datetime | None, viewer: Principal | None) -> dict[str, Any]:
    """:func:`assess_period` as ``viewer`` may see it (people's rows: :func:`scoped_figures`;
    None: all, for the CLI): what the API and the page show."""
    return scoped_figures(assess_period(session, city, period_text, config, at), viewer)


def published_rankings(session: Session, period_text: str | None = None) -> dict[str, Any] | None:
    """The frozen figures of a published month (the latest one unless named) with the list of
    published months (``published_months``); None when no month is published. What the public
    may see of them is the caller's choice (no people: units and regions only)."""
    months = [p for p in store.published_periods(session) if Period.parse(p).kind == "month"]
    if not months:
        return None
    label = Period.parse(period_text).label if period_text else months[0]
    if label not in months:
        raise NotFound(f"考核周期 {label} 尚未发布", code="period_not_published")
    row = store.publication(session, label)
    return {**row.figures, **_published_flags(row), "published_months": months}


def _published_flags(row: Any) -> dict[str, Any]:
    return {"published": True, "published_at": row.published_at.astimezone(local_zone()).isoformat(),
            "published_by": row.published_by}


# --- reports --------------------------------------------------------------------------------


def report_input(session: Session, city: City, period_text: str, fmt: str, config: AssessmentConfig,
                 at: datetime, viewer: Principal | None = None) -> ReportInput:
    """What the workbook (``xlsx``) or the circular (``docx``) of a period shows, with the
    people's figures ``viewer`` may see (:func:`scoped_figures`; None: all, for the CLI)."""
    period = Period.parse(period_text)
    if fmt not in REPORT_FORMATS:
        raise InvalidInput(f"未知的报表格式“{fmt}”，可选：{'、'.join(REPORT_FORMATS)}", code="invalid_format")
    figures = assess_period(session, city, period.label, config, at)
    found = ReportInput(fmt, period, scoped_figures(figures, viewer), at, sources=source_sections(figures))
    if fmt == "xlsx":
        return replace(found, trend=report_trend(session, city, period, config, at, {period.label: figures}))
    before = period.shift(-1)
    previous = assess_period(session, city, before.label, config, at) if before.first_month >= MIN_YEAR * 12 else None
    return replace(found, previous=city_row(previous) if previous is not None else None,
                   overdue=tuple(overdue_items(session, city, period, config, at)),
                   center_name=next((u.name for u in city.units.values() if u.kind == UnitKind.CENTER and u.active),
                                    None),
                   category_names={c.code: c.name for c in city.taxonomy.matters()},
                   unit_names={u.code: u.name for u in city.units.values()},
                   programme=plans.programme_section(session, city, period.cutoff(at)))


TREND_MONTHS = 12


def trend_months(period: Period, at: datetime | None) -> list[Period]:
    """The 12 months up to the period's last one, without months not yet begun at ``at``."""
    last = period.first_month + len(period.months()) - 1
    months = [Period.of("month", last - i) for i in range(TREND_MONTHS - 1, -1, -1)]
    return [m for m in months if m.first_month >= MIN_YEAR * 12 and (at is None or m.start <= at)]


def report_trend(session: Session, city: City, period: Period, config: AssessmentConfig, at: datetime | None,
                 known: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[dict[str, Any], ...]:
    """The city's figures month by month (published months are read frozen, not recomputed;
    ``known`` figures are reused)."""
    done = known or {}
    return tuple({**city_row(done.get(m.label) or assess_period(session, city, m.label, config, at)),
                  "month": m.label} for m in trend_months(period, at))


def overdue_items(session: Session, city: City, period: Period, config: AssessmentConfig,
                  at: datetime | None) -> list[dict[str, Any]]:
    """The (case, assignment) rows behind every unit's ``overdue_unhandled``."""
    result, data = overdue(session, city, period, config, at)
    return [item_row(item, data) for unit in result.units
            for item in result.items("units", unit.unit_code, "overdue_unhandled")]


def publish(session: Session, city: City, period_text: str, config: AssessmentConfig,
            at: datetime, actor: str | None, client: str | None = None) -> dict[str, Any]:
    """Freeze a period that has ended: its figures never change afterwards."""
    period = Period.parse(period_text)
    if store.publication(session, period.label) is not None:
        raise ActionRefused(f"考核周期 {period.label} 已发布，发布后的数据不再改变", code="already_published")
    if at < period.end:
        raise ActionRefused(f"考核周期 {period.label} 尚未结束（截至 {_local(period.end)}），不能发布",
                            code="period_not_ended")
    figures = live_figures(session, city, period, config)
    store.insert_publication(session, {"period": period.label, "starts_at": period.start,
                                       "ends_at": period.end, "published_at": at,
                                       "published_by": actor, "figures": figures})
    audit(session, at, actor, "assessment_publish", period.label,
          {"units": len(figures["units"]), "adjustments": len(figures["adjustments"])}, client)
    return {**figures, **_published_flags(store.publication(session, period.label))}


def _local(t: datetime) -> str:
    return t.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


# --- drill-down -----------------------------------------------------------------------------


def may_view(user: Principal) -> None:
    """A period's figures, workbook and circular: staff only (:func:`sees_assessment`)."""
    if not sees_assessment(user):
        raise PermissionDenied(f"考核数据不对{user.role.label}开放", code="permission_denied")


def may_drill(user: Principal, subject: str, code: str) -> None:
    """The center, leaders and admins may open any figure; unit staff their unit's, inspectors
    their own."""
    if user.sees_all:
        return
    if subject == "units" and user.role in UNIT_STAFF and user.unit_code == code:
        return
    if subject in PEOPLE_SUBJECTS and sees_person_figures(user, subject, code):
        return
    raise PermissionDenied("只能查看本单位（本人）考核数据所依据的案件", code="permission_denied")


def drill_down(session: Session, city: City, period_text: str, subject: str, code: str, measure: str,
               config: AssessmentConfig, at: datetime | None = None) -> dict[str, Any]:
    """The cases (and assignments) behind one figure: exactly as many rows as the count."""
    period = Period.parse(period_text)
    if subject not in MEASURES:
        raise InvalidInput(f"未知的考核对象“{subject}”，可选：{'、'.join(MEASURES)}", code="unknown_subject")
    result, data = compute(session, city, period, config, at, subject_cases(city, period, subject, code))
    items = result.items(subject, code, measure)
    rows = [item_row(i, data) for i in items]
    frozen = store.publication(session, period.label)
    return {"period": period.label, "subject": subject, "code": code, "measure": measure,
            "count": len(rows),
            "published_count": _frozen_count(frozen.figures, subject, code, measure) if frozen else None,
            "rows": rows}


_KEYS = {"units": "unit_code", "regions": "region_code", "inspectors": "login", "staff": "login"}


def _frozen_count(figures: dict[str, Any], subject: str, code: str, measure: str) -> int | None:
    row = next((r for r in figures.get(subject, []) if r.get(_KEYS[subject]) == code), None)
    return row.get(measure) if row is not None else None


# --- manual entries -------------------------------------------------------------------------


def entry_view(row: Any, city: City) -> dict[str, Any]:
    unit = city.units.get(row.unit_code)
    return {
        "id": row.id, "kind": row.kind, "kind_label": ENTRY_KINDS.get(row.kind, row.kind),
        "unit_code": row.unit_code, "unit_name": unit.name if unit else None,
        "date": row.day.isoformat(), "item": row.item, "points": row.points,
        "photo_id": row.photo_id, "period": row.period, "booked_period": row.booked_period,
        "adjusts": row.adjusts, "entered_by": row.entered_by,
        "entered_at": row.entered_at.astimezone(local_zone()).isoformat(),
    }


def _points(points: float) -> float:
    value = Decimal(str(points))
    if not Decimal(0) < value <= MAX_POINTS or value != value.quantize(Decimal("0.01")):
        raise InvalidInput(f"分值须大于 0、不超过 {MAX_POINTS}，最多两位小数", code="invalid_points")
    return float(value)


def _check_entry(session: Session, kind: str, unit_code: str, day: date, item: str,
                 at: datetime) -> None:
    if kind not in ENTRY_KINDS:
        raise InvalidInput("类型须为 deduction（扣分）或 bonus（加分）", code="invalid_entry_kind")
    if not session.execute(select(units.c.code).where(units.c.code == unit_code)).first():
        raise InvalidInput(f"单位“{unit_code}”不存在", code="unknown_unit")
    if not item.strip() or len(item) > 500:
        raise InvalidInput("须填写考核事项（不超过 500 字）", code="missing_item")
    if day.year < MIN_YEAR:
        raise InvalidInput(f"日期 {day} 无效", code="invalid_date")
    if day > local_day(at):
        raise InvalidInput(f"日期 {day} 晚于今天，不能预先登记", code="future_date")


def _photo_not_found(ids: list[str]) -> NotFound:
    return NotFound(f"证据照片“{ids[0]}”不存在，请先上传", code="photo_not_found")


def _check_photo(session: Session, photo_id: str | None, principal: Principal | None) -> None:
    if not photo_id:
        return
    if principal is None:
        photo_service.check_exists(session, [photo_id], refuse=_photo_not_found)
    else:
        photo_service.check_may_link(session, principal, [photo_id], refuse=_photo_not_found)


def booking(session: Session, day: date) -> tuple[str, str | None]:
    """(booked month, published period corrected): the entry's own month while it is open; else
    the next month no published period covers, as an adjustment of the published period."""
    covering = store.publications_covering(session, day_start(day))
    if not covering:
        return month_label(day), None
    month = Period.parse(month_label(day))
    while True:
        month = month.shift(1)
        if not store.publications_covering(session, month.start):
            return month.label, covering[0].period


def add_entry(session: Session, city: City, kind: str, unit_code: str, day: date, item: str,
              points: float, at: datetime, actor: str | None, photo_id: str | None = None,
              client: str | None = None, principal: Principal | None = None) -> dict[str, Any]:
    """Enter a spot-check deduction (考核检查扣分) or bonus points for a unit; audited.

    The evidence photo must be one ``principal`` may see (``domain.photos``: uploaded by
    them, or linked to something they see); without a principal (the operator's command line,
    trusted like the server's account) it must only exist."""
    _check_entry(session, kind, unit_code, day, item, at)
    _check_photo(session, photo_id, principal)
    booked, adjusts = booking(session, day)
    row = {"kind": kind, "unit_code": unit_code, "day": day, "item": item.strip(),
           "points": _points(points), "photo_id": photo_id or None, "period": month_label(day),
           "booked_period": booked, "adjusts": adjusts, "entered_by": actor, "entered_at": at}
    entry_id = store.insert_entry(session, row)
    audit(session, at, actor, "assessment_entry", unit_code,
          {**row, "id": entry_id, "day": day.isoformat(), "entered_at": at.isoformat()}, client)
    return entry_view(store.entry_row(session, entry_id), city)


def add_action_bonus(session: Session, city: City, action: str, day: date, ranking: Sequence[str],
                     config: AssessmentConfig, at: datetime, actor: str | None, client: str | None = None,
                     principal: Principal | None = None) -> list[dict[str, Any]]:
    """A special action's ranking (专项行动, first place first) booked as bonus entries by the
    configured points per place (``[composite] action_bonus``: "第一名加 1 分 …")."""
    name = action.strip()
    if not name or len(name) > 100:
        raise InvalidInput("须填写专项行动名称（不超过 100 字）", code="missing_item")
    return [add_entry(session, city, "bonus", p.unit_code, day, f"专项行动“{name}”第 {p.place} 名", float(p.points),
                      at, actor, client=client, principal=principal)
            for p in action_placings(ranking, config)]


# --- corrections of published periods --------------------------------------------------------

_NAMES = {"units": "unit_name", "regions": "name", "inspectors": "name", "staff": "name"}
_SUBJECT_ORDER = {subject: i for i, subject in enumerate(MEASURES)}
Key = tuple[Subject, str, Measure]  # subject, code, measure


def correction_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "period": row.period, "booked_period": row.booked_period,
        "subject": row.subject, "code": row.code, "name": row.name, "measure": row.measure,
        "published_value": row.published_value, "previous_value": row.previous_value,
        "live_value": row.live_value, "change": row.live_value - row.previous_value,
        "reason": row.reason, "booked_by": row.booked_by,
        "booked_at": row.booked_at.astimezone(local_zone()).isoformat(),
    }


def counts_of(figures: Mapping[str, Any]) -> tuple[dict[Key, int], dict[tuple[str, str], str | None]]:
    """Every count of the figures by (subject, code, measure), and the subjects' names."""
    values: dict[Key, int] = {}
    names: dict[tuple[str, str], str | None] = {}
    for subject, measures in MEASURES.items():
        for row in figures.get(subject, []):
            code = row[_KEYS[subject]]
            names[(subject, code)] = row.get(_NAMES[subject])
            values.update({(subject, code, m): int(row.get(m) or 0) for m in measures})
    return values, names


def _order(key: Key) -> tuple[int, str, int]:
    subject, code, measure = key
    return _SUBJECT_ORDER[subject], code, MEASURES[subject].index(measure)


def correct_period(session: Session, city: City, publication: Any, config: AssessmentConfig, at: datetime,
                   actor: str | None, reason: str, client: str | None = None) -> list[dict[str, Any]]:
    """Book every count of a published period whose value, as the data stand, differs from the
    published one and the corrections booked so far; into the next open month (as ``booking``)."""
    period = Period.parse(publication.period)
    published, _ = counts_of(publication.figures)
    known = dict(published)
    known.update({(Subject(r.subject), r.code, Measure(r.measure)): r.live_value
                  for r in store.corrections_of(session, period.label)})
    live, names = counts_of(counted(session, city, period, config).figures())
    changed = sorted((k for k in known.keys() | live.keys() if known.get(k, 0) != live.get(k, 0)), key=_order)
    if not changed:
        return []
    booked = booking(session, period.start.date())[0]
    rows = [store.insert_correction(session, {
        "period": period.label, "booked_period": booked, "subject": key[0].value, "code": key[1],
        "name": names.get(key[:2]), "measure": key[2].value, "published_value": published.get(key, 0),
        "previous_value": known.get(key, 0), "live_value": live.get(key, 0), "reason": reason,
        "booked_by": actor, "booked_at": at}) for key in changed]
    audit(session, at, actor, "assessment_correction", period.label,
          {"booked_period": booked, "reason": reason,
           "corrections": [{k: r._mapping[k] for k in ("id", "subject", "code", "measure", "published_value",
                                                       "previous_value", "live_value")} for r in rows]}, client)
    return [correction_view(r) for r in rows]


def book_corrections(session: Session, city: City, config: AssessmentConfig, since: datetime, at: datetime,
                     actor: str | None, reason: str, client: str | None = None) -> list[dict[str, Any]]:
    """Book the corrections of every published period ending after ``since`` (the earliest
    instant the changed data reach); none when nothing changed since the last booking."""
    booked: list[dict[str, Any]] = []
    for publication in store.publications_ending_after(session, since):
        booked += correct_period(session, city, publication, config, at, actor, reason, client)
    return booked


def correct_after_import(engine: Engine, case_nos: Iterable[str], source: str, actor: str | None = None,
                         config: AssessmentConfig | None = None,
                         at: datetime | None = None) -> list[tuple[str, str, int]]:
    """After an import of case history committed: book the corrections of the published periods
    the imported cases reach. Returns (period corrected, month booked into, corrections)."""
    with transaction(engine) as session:
        since = store.earliest_report(session, case_nos)
        if since is None or not store.publications_ending_after(session, since):
            return []
        found = book_corrections(session, load_city(session), config or load_config(get_settings().data_dir),
                                 since, at or datetime.now(local_zone()), actor, f"导入案件 {source}")
    summary: dict[tuple[str, str], int] = defaultdict(int)
    for c in found:
        summary[(c["period"], c["booked_period"])] += 1
    return [(period, booked, n) for (period, booked), n in summary.items()]


# --- reward bands (以奖代补) -----------------------------------------------------------------


def check_bands(bands: Sequence[RewardBand]) -> list[str]:
    """Problems of a band table: ranks from 1 up to MAX_BAND_RANK, rank_to ≥ rank_from, no
    overlaps, finite amounts within ±MAX_BAND_AMOUNT."""
    problems = []
    ordered = sorted(bands, key=lambda b: b.rank_from)
    for i, band in enumerate(ordered):
        if band.rank_from < 1 or band.rank_to < band.rank_from or band.rank_to > MAX_BAND_RANK:
            problems.append(f"名次 {band.rank_from}–{band.rank_to} 无效：须从 1 起、止不小于起且不大于 {MAX_BAND_RANK}")
        if not (math.isfinite(band.amount) and abs(band.amount) <= MAX_BAND_AMOUNT):
            problems.append(f"名次 {band.rank_from}–{band.rank_to} 的金额无效：须为绝对值不超过 "
                            f"{MAX_BAND_AMOUNT:,.0f} 元的数")
        if i and band.rank_from <= ordered[i - 1].rank_to:
            problems.append(f"名次 {band.rank_from}–{band.rank_to} 与 "
                            f"{ordered[i - 1].rank_from}–{ordered[i - 1].rank_to} 重叠")
    return problems


def set_reward_bands(session: Session, period_text: str, bands: Sequence[RewardBand], at: datetime,
                     actor: str | None, notes: Sequence[str | None] = (), client: str | None = None) -> int:
    """Replace the reward/penalty bands of a period (normally a year) that is not published."""
    period = Period.parse(period_text)
    if store.publication(session, period.label) is not None:
        raise ActionRefused(f"考核周期 {period.label} 已发布，不能修改奖补标准", code="already_published")
    problems = check_bands(bands)
    if problems:
        raise BatchInvalid(f"{period.label} 的奖补标准有误，未作修改", problems, code="invalid_reward_bands")
    rows = [{"rank_from": b.rank_from, "rank_to": b.rank_to, "amount": b.amount,
             "note": notes[i] if i < len(notes) else None} for i, b in enumerate(bands)]
    store.replace_reward_bands(session, period.label, rows)
    audit(session, at, actor, "reward_bands", period.label,
          {"bands": [{k: r[k] for k in ("rank_from", "rank_to", "amount")} for r in rows]}, client)
    return len(rows)


BAND_COLUMNS = ("period", "rank_from", "rank_to", "amount")


def _band(line: int, row: dict[str, str]) -> tuple[str, RewardBand, str | None]:
    try:
        period = Period.parse(row["period"]).label
        band = RewardBand(int(row["rank_from"]), int(row["rank_to"]), float(row["amount"]))
    except (ValueError, InvalidInput) as exc:
        raise InvalidInput(f"第 {line} 行：{exc if isinstance(exc, InvalidInput) else '名次须为整数，金额须为数字'}",
                           code="invalid_reward_bands") from None
    return period, band, row.get("note") or None


def import_reward_bands(session: Session, path: Path, at: datetime, actor: str | None,
                        encoding: str | None = None) -> dict[str, int]:
    """Read ``period,rank_from,rank_to,amount[,note]`` rows; each period's bands are replaced."""
    grouped: dict[str, list[tuple[RewardBand, str | None]]] = defaultdict(list)
    problems = []
    for line, row in read_csv(read_text(path, encoding), BAND_COLUMNS):
        try:
            period, band, note = _band(line, row)
        except InvalidInput as exc:
            problems.append(str(exc))
            continue
        grouped[period].append((band, note))
    if problems:
        raise BatchInvalid("奖补标准文件有误，未作修改", problems, code="invalid_reward_bands")
    return {period: set_reward_bands(session, period, [b for b, _ in found], at, actor,
                                     notes=[n for _, n in found])
            for period, found in grouped.items()}
