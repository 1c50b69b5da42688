"""Use case of the two-level assessment (两级考核): ``xiuhua assess --period P --district CODE``.

The city's code gives the city's assessment of its districts and its own departments; a
district's code gives the district's assessment of its streets and the units it dispatched to
(counted over the district's cases only). The rules are :mod:`xiuhua.domain.districts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.assessment import ASSESSED_ACTIONS, AssessmentConfig, Measure, Period, UnitRow
from xiuhua.domain.choices import RegionLevel, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.districts import area_counts, area_rows, reranked
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.regions import in_district
from xiuhua.services.assessment import compute, listed_units
from xiuhua.store import assessment as store


def _below(city: City, code: str, level: RegionLevel) -> dict[str, str]:
    return {c: r.name for c, r in sorted(city.regions.items()) if r.level is level and r.parent_code == code}


def _areas(city: City, code: str) -> tuple[RegionLevel, dict[str, str]]:
    """The level and the areas (code → name) that ``code``'s assessment ranks: a prefecture's
    districts; a district's streets, or those of a county-level city (no districts)."""
    info = city.regions.get(code)
    if info is None or info.level not in (RegionLevel.CITY, RegionLevel.DISTRICT):
        raise InvalidInput(f"“{code}”不是本市或所辖区（县）的编码", code="unknown_district")
    districts = _below(city, code, RegionLevel.DISTRICT) if info.level is RegionLevel.CITY else {}
    return ((RegionLevel.DISTRICT, districts) if districts
            else (RegionLevel.STREET, _below(city, code, RegionLevel.STREET)))


def city_departments(city: City) -> list[str]:
    """The handling units of the city itself: not a street office, not inside a district."""
    districts = [c for c, r in city.regions.items() if r.level is RegionLevel.DISTRICT]
    return [code for code in listed_units(city)
            if city.units[code].kind != UnitKind.STREET_OFFICE
            and not any(in_district(city.units[code].region_code, d) for d in districts)]


def area_assessment(session: Session, city: City, period_text: str, config: AssessmentConfig,
                    code: str, at: datetime | None = None) -> dict[str, Any]:
    """The assessment of the city or district ``code``: its areas and units scored and ranked."""
    period = Period.parse(period_text)
    level, areas = _areas(city, code)
    district = level is RegionLevel.STREET  # streets and the units dispatched to
    only = (store.cases_in_district(store.touched_cases(ASSESSED_ACTIONS, period.start, period.end), code)
            if city.regions[code].level is RegionLevel.DISTRICT else None)
    assessment, data = compute(session, city, period, config, at, only)
    assert assessment.tally is not None  # counted item by item
    area_of_case = {}
    for case_no, record in data.cases.items():
        where = record.street_code if district else next(
            (d for d in areas if in_district(record.grid_code, d)), None)
        if where in areas:
            area_of_case[case_no] = str(where)
    units: list[UnitRow] = (
        reranked(assessment.units, [r.unit_code for r in assessment.units if r.counts[Measure.DISPATCHED]])
        if district else reranked(assessment.units, city_departments(city)))
    figures = assessment.figures()
    return {**{k: figures[k] for k in ("period", "start", "end", "as_of", "complete")},
            "region_code": code, "level": city.regions[code].level.value, "name": city.regions[code].name,
            "areas": [r.as_json() for r in area_rows(area_counts(assessment.tally, area_of_case),
                                                     areas, level, config)],
            "units": [r.as_json() for r in units]}
