"""考核评价: a period's rankings (handling units with scores, grades and ranks; streets and
communities by their on-time closing rate; inspectors and command-center staff), the change
against the previous period, the cases behind each figure (htmx panel or page) and the
downloads of the Word circular and the Excel workbook.

Figures come from :func:`xiuhua.services.assessment.assess_period`, the cases behind them from
:func:`~xiuhua.services.assessment.drill_down` under the API's rule of who may open which
figure. Rankings are public to everyone who may open the page; unit staff drill down only into
their own unit's figures."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from xiuhua.domain.access import UNIT_STAFF, Principal, sees_round_results, sees_surveys
from xiuhua.domain.assessment import Period, competition_ranks, month_label
from xiuhua.domain.choices import RegionLevel, Role, RoundState, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, InvalidInput
from xiuhua.domain.sources import source_label
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep
from xiuhua.http.presenters import category_name
from xiuhua.http.urls import API
from xiuhua.reports.common import INSPECTORS, REGIONS, STAFF, UNITS, period_name
from xiuhua.services import assessment as service
from xiuhua.web.pages import PageRoute, page_for, render
from xiuhua.web.views import region_name, unit_name

router = APIRouter(route_class=PageRoute, include_in_schema=False)

AssessmentUser = Annotated[Principal, page_for("/assessment")]
DRILL_PAGE = 50
KINDS = {"month": "月度", "quarter": "季度", "year": "年度"}
# the measures a unit's and a region's row link to their cases
UNIT_DRILLS = ("dispatched", "due", "handled_on_time", "overdue_unhandled", "returned", "reworked",
               "closed")
REGION_DRILLS = ("reported", "filed", "closed", "overdue_open")
LABELS = {spec.key: {c.key: c.header for c in spec.columns}
          for spec in (UNITS, REGIONS, INSPECTORS, STAFF)}


# --- periods --------------------------------------------------------------------------------


def default_period(now: datetime) -> Period:
    """Last month (the one the circular of this month reports)."""
    return Period.parse(month_label(now)).shift(-1)


def chosen_period(text: str, now: datetime) -> Period:
    """The period asked for: not one that has not begun."""
    period = Period.parse(text)
    if period.start > now:
        raise InvalidInput(f"考核周期 {period.label} 尚未开始", code="invalid_period")
    return period


def period_choices(now: datetime) -> list[tuple[str, str]]:
    """(label, name) of the last 12 months, 4 quarters and 2 years that have begun."""
    this_month = Period.parse(month_label(now))
    quarter = Period.of("quarter", this_month.first_month - this_month.first_month % 3)
    year = Period.of("year", this_month.first_month - this_month.first_month % 12)
    found = ([this_month.shift(-i) for i in range(12)] + [quarter.shift(-i) for i in range(4)]
             + [year.shift(-i) for i in range(2)])
    return [(p.label, period_name(p)) for p in found]


# --- rankings -------------------------------------------------------------------------------


def _delta(now: Any, before: Any) -> float | None:
    return round(now - before, 2) if now is not None and before is not None else None


def unit_kinds(city: City) -> dict[str, str]:
    return {code: UnitKind(u.kind).label for code, u in city.units.items()}


# Where each score source's figure drills down to: the cases behind the case figures, the answers
# behind the survey, the rounds booked into the period with the unit's points (deductions with
# photos) behind the field score, the unit's tasks (and from there its orders) behind the tasks'.
SOURCE_DRILLS: dict[str, Callable[[str, str], str]] = {
    "cases": lambda period, code: f"/assessment/{period}/units/{code}/cases?measure=due",
    "survey": lambda period, code: f"/surveys/answers?unit={code}&period={period}",
    "evaluation": lambda period, code: f"/evaluation?period={period}&unit={code}",
    "tasks": lambda period, code: f"/plans?unit={code}",
}


def may_follow(user: Principal, source: str, code: str) -> bool:
    """May ``user`` open the drill-down of ``source`` for the unit ``code``? Each under the rule
    of the page it leads to."""
    if source == "cases":
        return may_drill(user, "units", code)
    if source == "evaluation":
        return sees_round_results(user, RoundState.PUBLISHED, code)
    if source == "tasks":
        return user.sees_all or (user.role in UNIT_STAFF and user.unit_code == code)
    return sees_surveys(user)


def source_cells(row: Mapping[str, Any], period: str, user: Principal) -> list[dict[str, Any]]:
    """A unit's sources as the page shows them: label, score, weight, figures and the drill-down."""
    found = []
    for s in row.get("sources") or ():
        link = SOURCE_DRILLS.get(s["name"])
        may = may_follow(user, s["name"], row["unit_code"])
        found.append({**s, "label": source_label(s["name"]),
                      "href": link(period, row["unit_code"]) if link is not None and may else None})
    return found


def unit_table(kinds: Mapping[str, str], current: list[dict[str, Any]], previous: list[dict[str, Any]],
               user: Principal, period: str = "") -> list[dict[str, Any]]:
    """The units as ranked, with the previous period's score and rank and the changes."""
    before = {r["unit_code"]: r for r in previous}
    rows = []
    for row in current:
        prev = before.get(row["unit_code"], {})
        rows.append({**row, "kind": kinds.get(row["unit_code"], ""),
                     "prev_score": prev.get("score"), "prev_rank": prev.get("rank"),
                     "score_change": _delta(row["score"], prev.get("score")),
                     "rank_change": _delta(prev.get("rank"), row["rank"]),  # > 0: moved up
                     "drill": may_drill(user, "units", row["unit_code"]),
                     "source_cells": source_cells(row, period, user)})
    return rows


def region_table(current: list[dict[str, Any]], previous: list[dict[str, Any]], level: RegionLevel,
                 user: Principal) -> list[dict[str, Any]]:
    """The regions of ``level`` ranked by on-time closing rate, with its change."""
    before = {r["region_code"]: r for r in previous}
    rows = [dict(r) for r in current if r["level"] == level.value]
    rate = "on_time_close_rate"
    ranks = competition_ranks({r["region_code"]: Decimal(str(r[rate])) for r in rows if r[rate] is not None})
    for row in rows:
        prev = before.get(row["region_code"], {})
        row.update(rank=ranks.get(row["region_code"]), prev_rate=prev.get(rate),
                   rate_change=_delta(row[rate], prev.get(rate)), drill=user.sees_all)
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["region_code"]))


def may_drill(user: Principal, subject: str, code: str) -> bool:
    try:
        service.may_drill(user, subject, code)
    except DomainError:
        return False
    return True


@dataclass(frozen=True)
class Figures:
    period: Period
    current: dict[str, Any]
    previous: dict[str, Any]


def figures(session: Session, city: City, config: Any, period: Period, now: datetime,
            user: Principal) -> Figures:
    current = service.period_figures(session, city, period.label, config, now, user)
    previous = service.assess_period(session, city, period.shift(-1).label, config, now)
    return Figures(period, current, previous)


def page_context(city: City, found: Figures, user: Principal) -> dict[str, Any]:
    cur, prev = found.current, found.previous
    return {
        "period": found.period, "period_name": period_name(found.period),
        "previous_name": period_name(found.period.shift(-1)), "figures": cur,
        "units": unit_table(unit_kinds(city), cur["units"], prev["units"], user, found.period.label),
        "composite": any("sources" in u for u in cur["units"]),
        "streets": region_table(cur["regions"], prev["regions"], RegionLevel.STREET, user),
        "communities": region_table(cur["regions"], prev["regions"], RegionLevel.COMMUNITY, user),
        "inspectors": cur["inspectors"], "staff": cur["staff"],
        "roles": {r.value: r.label for r in Role},
        "downloads": {"docx": f"{API}/assessment/{found.period.label}/circular.docx",
                      "xlsx": f"{API}/assessment/{found.period.label}/workbook.xlsx"},
        "unit_drills": UNIT_DRILLS, "region_drills": REGION_DRILLS, "labels": LABELS,
    }


# --- routes ---------------------------------------------------------------------------------


@router.get("/assessment")
def assessment_page(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
                    now: NowDep, user: AssessmentUser,
                    period: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """The rankings of a period (last month unless chosen)."""
    base = {"title": "考核评价", "choices": period_choices(now), "kinds": KINDS, "asked": period or ""}
    try:
        chosen = chosen_period(period, now) if period else default_period(now)
    except InvalidInput as exc:
        return render(request, "assessment/index.html", {**base, "error": exc.message}, status_code=422)
    config = service.load_config(settings.data_dir)
    found = figures(session, city, config, chosen, now, user)
    return render(request, "assessment/index.html", {**base, "asked": chosen.label,
                                                     **page_context(city, found, user)})


PeriodPath = Annotated[str, Path(max_length=20)]


@router.get("/assessment/{period}/{subject}/{code}/cases")
def drill_down(request: Request, session: SessionDep, city: CityDep, settings: SettingsDep,
               now: NowDep, user: AssessmentUser, period: PeriodPath,
               subject: Annotated[str, Path(max_length=16)], code: Annotated[str, Path(max_length=64)],
               measure: Annotated[str, Query(max_length=32)],
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """The cases behind one figure: a panel for htmx, else a page of its own."""
    service.may_drill(user, subject, code)
    found = service.drill_down(session, city, period, subject, code, measure,
                               service.load_config(settings.data_dir), now)
    rows = found["rows"]
    shown = [drill_row(city, r) for r in rows[(page - 1) * DRILL_PAGE: page * DRILL_PAGE]]
    context = {
        "title": "考核明细", "found": found, "rows": shown, "page": page,
        "pages": max(1, -(-len(rows) // DRILL_PAGE)), "subject_name": subject_name(city, subject, code),
        "measure_name": LABELS.get(subject, {}).get(measure, measure),
        "period_name": period_name(Period.parse(found["period"])),
        "base_url": f"/assessment/{found['period']}/{subject}/{code}/cases?measure={measure}",
    }
    fragment = request.headers.get("HX-Request") is not None
    return render(request, "assessment/_drill.html" if fragment else "assessment/drill.html", context)


def subject_name(city: City, subject: str, code: str) -> str:
    if subject == "units":
        return unit_name(city, code)
    if subject == "regions":
        return region_name(city, code)
    return code


def drill_row(city: City, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "category": category_name(city, row["category_code"] or ""),
            "grid": region_name(city, row["grid_code"]), "unit": unit_name(city, row["unit_code"]),
            "at": _local(row["at"]), "deadline": _local(row["deadline"]),
            "handled_at": _local(row["handled_at"])}


def _local(text: str | None) -> str:
    return text[:16].replace("T", " ") if text else ""

