"""Cases between the wire and the services, for the API and the pages alike: the list's filter
(``CaseQuery`` → :class:`CaseFilter`), a report's and an action's input, the action named in a
path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action
from xiuhua.domain.errors import InvalidInput, NotFound
from xiuhua.domain.lifecycle import SYSTEM_ACTIONS
from xiuhua.http.schemas import CaseActionCreate, CaseCreate, CaseQuery, ReportForm
from xiuhua.services.cases import ActionInput, clean_text
from xiuhua.services.intake import Report
from xiuhua.services.photos import Upload
from xiuhua.store.case_queries import CaseFilter


def _utc(make: Callable[[], datetime]) -> datetime:
    try:
        return make().astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput("日期或时间超出范围", code="invalid_date") from None


def _local(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=local_zone())


def lower_bound(value: date | datetime | None) -> datetime | None:
    """A ``from`` bound: the start of a local day, or the instant itself."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(lambda: _local(value))
    return _utc(lambda: datetime.combine(value, time(), local_zone()))


def upper_bound(value: date | datetime | None) -> datetime | None:
    """A ``to`` bound, made exclusive: the end of a local day, or just after the instant."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(lambda: _local(value) + timedelta(microseconds=1))
    return _utc(lambda: datetime.combine(value + timedelta(days=1), time(), local_zone()))


def case_filter(q: CaseQuery) -> CaseFilter:
    return CaseFilter(
        statuses=tuple(q.status), category=q.category, unit=q.unit, street=q.street,
        community=q.community, grid=q.grid, source=q.source, overdue=q.overdue,
        due_before=lower_bound(q.due_before), text=clean_text(q.text),
        reported_from=lower_bound(q.reported_from), reported_before=upper_bound(q.reported_to),
        closed_from=lower_bound(q.closed_from), closed_before=upper_bound(q.closed_to),
    )


def case_report(data: CaseCreate, uploads: Sequence[Upload] = ()) -> Report:
    """A report body (``POST /api/v1/cases``, the report page) as the intake's report."""
    reporter = data.reporter
    return Report(
        category_code=data.category_code, source=data.source, lon=data.lon, lat=data.lat,
        coord_sys=data.coord_sys, grid_code=data.grid_code, address=data.address,
        description=data.description, urgency=data.urgency, component_code=data.component_code,
        reporter_name=reporter.name if reporter else None,
        reporter_phone=reporter.phone if reporter else None, photos=tuple(data.photos),
        uploads=tuple(uploads), note=data.note,
    )


def public_report(form: ReportForm, uploads: Sequence[Upload] = ()) -> Report:
    """A citizen's report (``POST /api/v1/public/reports``, the portal) as the intake's report."""
    return Report(
        category_code=form.category_code, lon=form.lon, lat=form.lat, coord_sys=form.coord_sys,
        address=form.address, description=form.description, reporter_name=form.name,
        reporter_phone=form.phone, photos=tuple(form.photo_ids), uploads=tuple(uploads),
    )


def action_input(body: CaseActionCreate) -> ActionInput:
    return ActionInput(**body.model_dump())


def parse_action(name: str) -> Action:
    """A lifecycle action named in the path (``report`` is ``POST /cases``)."""
    action = next((a for a in Action if a.value == name), None)
    if action is None or action is Action.REPORT or action in SYSTEM_ACTIONS:
        raise NotFound(f"没有“{name[:40]}”这种案件操作", code="unknown_action")
    return action

