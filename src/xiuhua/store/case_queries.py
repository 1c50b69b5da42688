"""Case lists: the caller's scope as SQL, filters, sorting and keyset (cursor) pagination.

The scope here is the SQL twin of :func:`xiuhua.domain.access.can_see`, and "overdue" the SQL
twin of :func:`xiuhua.domain.lifecycle.overdue_at` over the denormalised ``cases.due_at``
(the deadline of the open, not suspended assignment); tests hold each pair in agreement.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from xiuhua.domain.access import UNIT_STAFF, Principal
from xiuhua.domain.choices import CaseStatus, Role, Source
from xiuhua.domain.errors import InvalidInput
from xiuhua.store.tables import assignments, cases, inspector_tasks

# sort name -> (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "reported_at": (cases.c.reported_at, False),
    "-reported_at": (cases.c.reported_at, True),
    "due_at": (cases.c.due_at, False),
    "-due_at": (cases.c.due_at, True),
    "case_no": (cases.c.case_no, False),
    "-case_no": (cases.c.case_no, True),
}
DEFAULT_SORT = "-reported_at"
_CASE_NO = re.compile(r"[0-9A-Za-z_-]{1,20}")

SUMMARY_COLUMNS = (
    cases.c.case_no, cases.c.version, cases.c.status, cases.c.source, cases.c.category_code,
    cases.c.urgency, cases.c.address, cases.c.description, cases.c.grid_code,
    cases.c.community_code, cases.c.street_code, cases.c.reported_at, cases.c.closed_at,
    cases.c.holder_unit, cases.c.due_at,
)


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Cases the principal may see (see :mod:`xiuhua.domain.access`)."""
    if principal.sees_all:
        return true()
    if principal.role in UNIT_STAFF:
        return exists().where(assignments.c.case_no == cases.c.case_no,
                              assignments.c.unit_code == principal.unit_code)
    if principal.role is Role.INSPECTOR:
        tasked = exists().where(inspector_tasks.c.case_no == cases.c.case_no,
                                inspector_tasks.c.inspector == principal.login)
        return or_(cases.c.grid_code.in_(sorted(principal.grids)), tasked)
    return false()


def overdue(now: datetime) -> ColumnElement[bool]:
    """The case has an open, running assignment whose deadline has passed at ``now``."""
    return and_(cases.c.due_at.is_not(None), cases.c.due_at < now)


@dataclass(frozen=True)
class CaseFilter:
    """List filters; time bounds are aware datetimes, ``*_from`` included, ``*_before`` not."""

    statuses: tuple[CaseStatus, ...] = ()
    category: str | None = None  # matter code (5 digits) or major code (2 digits)
    unit: str | None = None  # holds or has held the case
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    source: Source | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    text: str | None = None
    reported_from: datetime | None = None
    reported_before: datetime | None = None
    closed_from: datetime | None = None
    closed_before: datetime | None = None

    def conditions(self, now: datetime) -> list[ColumnElement[bool]]:
        c = cases.c
        found = [column == value for column, value in (
            (c.street_code, self.street), (c.community_code, self.community),
            (c.grid_code, self.grid), (c.source, self.source.value if self.source else None),
        ) if value is not None]
        if self.statuses:
            found.append(c.status.in_([s.value for s in self.statuses]))
        if self.category is not None:
            found.append(c.category_code.startswith(self.category, autoescape=True)
                         if len(self.category) < 5 else c.category_code == self.category)
        if self.unit is not None:
            found.append(exists().where(assignments.c.case_no == c.case_no,
                                        assignments.c.unit_code == self.unit))
        if self.overdue is not None:
            found.append(overdue(now) if self.overdue else ~overdue(now))
        if self.text is not None:
            found.append(or_(c.description.icontains(self.text, autoescape=True),
                             c.address.icontains(self.text, autoescape=True),
                             c.case_no.contains(self.text, autoescape=True)))
        return found + self._bounds()

    def _bounds(self) -> list[ColumnElement[bool]]:
        c = cases.c
        found: list[ColumnElement[bool]] = []
        for column, low, high in ((c.reported_at, self.reported_from, self.reported_before),
                                  (c.closed_at, self.closed_from, self.closed_before),
                                  (c.due_at, None, self.due_before)):
            if low is not None:
                found.append(column >= low)
            if high is not None:
                found.append(column < high)
        return found


# --- cursors ------------------------------------------------------------------------------


def _bad_cursor() -> InvalidInput:
    return InvalidInput("分页游标无效，请从第一页重新查询", code="invalid_cursor")


def encode_cursor(sort: str, key: Any, case_no: str) -> str:
    """An opaque token for "after (key, case_no) in this sort order"."""
    value = key.astimezone(UTC).isoformat() if isinstance(key, datetime) else key
    raw = json.dumps([sort, value, case_no], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: str) -> tuple[Any, str]:
    """The (key, case_no) a cursor points after; refused unless made for the same sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        name, value, case_no = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise _bad_cursor() from None
    if name != sort or not isinstance(case_no, str) or not _CASE_NO.fullmatch(case_no):
        raise _bad_cursor()
    column, _ = SORTS[sort]
    if column is cases.c.case_no:
        return case_no, case_no
    return _cursor_time(value, column.nullable), case_no


def _cursor_time(value: Any, nullable: bool) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError
        return moment.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        raise _bad_cursor() from None


def after(sort: str, key: Any, case_no: str) -> ColumnElement[bool]:
    """Rows after (key, case_no) in ``sort`` order; NULL keys sort as the largest value."""
    column, desc = SORTS[sort]
    no = cases.c.case_no
    next_no = no < case_no if desc else no > case_no
    if column is no:
        return next_no
    if key is None:  # inside the NULL block: first when descending, last when ascending
        in_nulls = and_(column.is_(None), next_no)
        return or_(in_nulls, column.is_not(None)) if desc else in_nulls
    beyond = column < key if desc else column > key
    found = or_(beyond, and_(column == key, next_no))
    return or_(found, column.is_(None)) if column.nullable and not desc else found


def order_by(sort: str) -> list[Any]:
    column, desc = SORTS[sort]
    no = cases.c.case_no
    if column is no:
        return [no.desc() if desc else no.asc()]
    if column.nullable:
        return [column.desc().nulls_first() if desc else column.asc().nulls_last(),
                no.desc() if desc else no.asc()]
    return [column.desc() if desc else column.asc(), no.desc() if desc else no.asc()]


# --- the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CasePage:
    rows: list[Any]  # SUMMARY_COLUMNS and ``overdue``
    next_cursor: str | None


def list_cases(session: Session, principal: Principal, filters: CaseFilter, now: datetime,
               sort: str = DEFAULT_SORT, limit: int = 50, cursor: str | None = None) -> CasePage:
    """One page of the cases the principal may see, matching the filters, in ``sort`` order."""
    if sort not in SORTS:
        raise InvalidInput(f"不支持的排序：{sort}", code="invalid_sort")
    query = (select(*SUMMARY_COLUMNS, overdue(now).label("overdue"))
             .where(visible_to(principal), *filters.conditions(now)))
    if cursor is not None:
        query = query.where(after(sort, *decode_cursor(cursor, sort)))
    rows = session.execute(query.order_by(*order_by(sort)).limit(limit + 1)).all()
    if len(rows) <= limit:
        return CasePage(list(rows), None)
    last = rows[limit - 1]
    column, _ = SORTS[sort]
    return CasePage(list(rows[:limit]), encode_cursor(sort, last._mapping[column.name],
                                                      last.case_no))
