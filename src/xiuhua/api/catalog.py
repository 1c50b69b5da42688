"""Reference data for any signed-in user: units, regions (GeoJSON), locating a point, the
taxonomy with its time limits, the working calendar and deadline arithmetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from shapely.geometry import mapping

from xiuhua.domain.calendar import LAST_YEAR, TimeLimit, WorkCalendar, checked_day, local_zone
from xiuhua.domain.choices import RegionLevel, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput, NotFound
from xiuhua.domain.geo import CoordSys
from xiuhua.domain.taxonomy import URGENCY_LABELS, CaseClass, ClassKind
from xiuhua.http.deps import CityDep, NowDep, SessionDep, current_principal
from xiuhua.services import city as city_service
from xiuhua.services.calendars import parse_local, year_summaries

router = APIRouter(tags=["基础数据"], dependencies=[Depends(current_principal)])

GEOJSON = "application/geo+json"
PRECISION = 7  # decimal places of GeoJSON coordinates (about 1 cm)
MAX_CALENDAR_DAYS = 366
REGION_KIND_LABELS = {"zone": "开发区"}
CLASS_KIND_LABELS = {ClassKind.MATTER: "事项", ClassKind.COMPONENT: "部件"}
WEEKDAYS = "一二三四五六日"


def _label(enum: Any, value: str | None) -> str | None:
    try:
        return str(enum(value).label) if value is not None else None
    except ValueError:
        return value


# --- units ----------------------------------------------------------------------------------


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str | None
    parent_code: str | None
    parent_name: str | None
    region_code: str | None
    region_name: str | None
    active: bool


@router.get("/units", response_model=list[UnitOut])
def units(city: CityDep) -> list[UnitOut]:
    """Units of the city: the center, departments, street offices, communities, contractors."""
    def name_of(table: Any, code: str | None) -> str | None:
        return table[code].name if code in table else None

    return [UnitOut(code=u.code, name=u.name, kind=u.kind, kind_label=_label(UnitKind, u.kind),
                    parent_code=u.parent_code, parent_name=name_of(city.units, u.parent_code),
                    region_code=u.region_code, region_name=name_of(city.regions, u.region_code),
                    active=u.active)
            for u in city.units.values()]


# --- regions --------------------------------------------------------------------------------


def _properties(row: Any) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "level": row.level,
            "level_label": _label(RegionLevel, row.level), "kind": row.kind,
            "kind_label": REGION_KIND_LABELS.get(row.kind or ""),
            "region_class": row.region_class, "area_m2": row.area_m2,
            "parent_code": row.parent_code}


def _features(rows: list[Any]) -> list[dict[str, Any]]:
    """GeoJSON features, coordinates rounded to 7 decimals and repeated or collinear
    vertices dropped (vectorised over all rows)."""
    if not rows:
        return []
    geoms = shapely.from_wkb(np.array([r.geometry for r in rows], dtype=object))
    geoms = shapely.simplify(shapely.transform(geoms, lambda xy: np.round(xy, PRECISION)), 0)
    return [{"type": "Feature", "id": r.code, "properties": _properties(r),
             "geometry": mapping(g)} for r, g in zip(rows, geoms, strict=True)]


def _geojson(request: Request, body: Any, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(orjson.dumps(body), media_type=GEOJSON, headers=headers)


@router.get("/regions", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}})
def region_collection(request: Request, session: SessionDep, city: CityDep,
                      level: RegionLevel | None = None,
                      parent: Annotated[str | None, Query(max_length=15)] = None) -> Response:
    """Regions as a GeoJSON FeatureCollection (WGS-84), filtered by level and parent region;
    e.g. ``level=grid&parent=<community>`` for the grids of one community."""
    if parent is not None and parent not in city.regions:
        raise NotFound(f"区域“{parent}”不存在", code="region_not_found")
    etag = f'W/"regions-{city_service.model_version(session)}-{level or ""}-{parent or ""}"'
    if request.headers.get("if-none-match") == etag:
        return _geojson(request, None, etag)
    rows = city_service.region_rows(session, level.value if level else None, parent)
    return _geojson(request, {"type": "FeatureCollection", "features": _features(rows)}, etag)


@router.get("/regions/{code}", response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON Feature"}})
def region(request: Request, session: SessionDep, code: str) -> Response:
    """One region as a GeoJSON Feature."""
    rows = city_service.region_rows(session, code=code)
    if not rows:
        raise NotFound(f"区域“{code}”不存在", code="region_not_found")
    etag = f'W/"region-{city_service.model_version(session)}-{code}"'
    return _geojson(request, _features(rows)[0], etag)


class AreaOut(BaseModel):
    code: str
    name: str


class LocationOut(BaseModel):
    lon: float
    lat: float
    coord_sys: str
    grid: AreaOut
    community: AreaOut | None
    street: AreaOut | None


def _area(city: City, code: str) -> AreaOut | None:
    info = city.regions.get(code)
    return AreaOut(code=code, name=info.name) if info else None


@router.get("/grids/locate", response_model=LocationOut)
def locate(city: CityDep, lon: float, lat: float, coord_sys: str = CoordSys.WGS84.value) -> LocationOut:
    """The unit grid, community and street of a point (WGS-84, GCJ-02 or BD-09); the point
    in the answer is WGS-84."""
    place = city.locate(lon, lat, CoordSys.parse(coord_sys))
    grid = _area(city, place.grid_code)
    assert grid is not None  # the grid index holds only known grids
    return LocationOut(lon=place.lon, lat=place.lat, coord_sys=CoordSys.WGS84.value, grid=grid,
                       community=_area(city, place.community_code),
                       street=_area(city, place.street_code))


# --- categories -----------------------------------------------------------------------------


class LimitOut(BaseModel):
    urgency: str
    urgency_label: str
    limit: str
    limit_label: str


class CategoryOut(BaseModel):
    kind: str
    kind_label: str
    code: str
    name: str
    major_code: str
    major_name: str
    source: str
    public_reportable: bool
    active: bool
    filing_condition: str
    closing_condition: str
    limits: list[LimitOut]
    calendar: str


def _limit(urgency: str, text: str) -> LimitOut:
    limit = TimeLimit.parse(text)
    amount = limit.text.removesuffix(limit.unit.value)
    return LimitOut(urgency=urgency, urgency_label=URGENCY_LABELS.get(urgency, urgency),
                    limit=limit.text, limit_label=f"{amount} {limit.unit.label}")


def _category(c: CaseClass) -> CategoryOut:
    return CategoryOut(
        kind=c.kind.value, kind_label=CLASS_KIND_LABELS[c.kind], code=c.code, name=c.name,
        major_code=c.major_code, major_name=c.major_name, source=c.source,
        public_reportable=c.public_reportable, active=c.active,
        filing_condition=c.filing_condition, closing_condition=c.closing_condition,
        limits=[_limit(u, c.limits[u]) for u in URGENCY_LABELS if u in c.limits],
        calendar=c.calendar)


@router.get("/categories", response_model=list[CategoryOut])
def categories(city: CityDep, kind: ClassKind | None = None,
               public: bool | None = None) -> list[CategoryOut]:
    """The taxonomy: component and matter classes, with handling time limits per urgency."""
    found = sorted(city.taxonomy.classes.values(), key=lambda c: (c.kind.value, c.code))
    return [_category(c) for c in found
            if (kind is None or c.kind is kind)
            and (public is None or c.public_reportable is public)]


@router.get("/categories/{code}", response_model=CategoryOut)
def category(city: CityDep, code: str, kind: ClassKind | None = None) -> CategoryOut:
    """One class; a code used by both a component and a matter class means the matter
    unless ``kind=component``."""
    for k in [kind] if kind else [ClassKind.MATTER, ClassKind.COMPONENT]:
        found = city.taxonomy.classes.get((k, code))
        if found is not None:
            return _category(found)
    raise NotFound(f"分类“{code}”不存在", code="category_not_found")


# --- calendar -------------------------------------------------------------------------------


class DayOut(BaseModel):
    date: date
    weekday: int
    weekday_label: str
    workday: bool
    kind: str
    kind_label: str
    holiday_name: str | None
    periods: list[str]
    overridden: bool
    official: bool


DAY_KINDS = {"workday": "工作日", "weekend": "休息日", "holiday": "节假日",
             "makeup_workday": "调休上班"}


def _day_kind(calendar: WorkCalendar, d: date, workday: bool, name: str | None) -> str:
    weekend = d.weekday() >= 5 and not calendar.seven_day
    if workday:
        return "makeup_workday" if weekend else "workday"
    return "weekend" if weekend and name is None else "holiday"


def _day(calendar: WorkCalendar, d: date) -> DayOut:
    workday = calendar.is_workday(d)
    name = calendar.holiday_name(d)
    kind = _day_kind(calendar, d, workday, name)
    return DayOut(
        date=d, weekday=d.isoweekday(), weekday_label=f"星期{WEEKDAYS[d.weekday()]}",
        workday=workday, kind=kind, kind_label=DAY_KINDS[kind], holiday_name=name,
        periods=[str(p) for p in calendar.periods_for(d)] if workday else [],
        overridden=d in calendar.overrides, official=calendar.is_official_year(d.year))


@router.get("/calendar", response_model=list[DayOut])
def calendar_days(city: CityDep, now: NowDep,
                  date_from: Annotated[date | None, Query(alias="from")] = None,
                  date_to: Annotated[date | None, Query(alias="to")] = None,
                  calendar: str = "default") -> list[DayOut]:
    """Days from ``from`` (default today) to ``to`` (default 30 days on), each a working day
    or not, with statutory holidays, 调休 make-up workdays and the city's own overrides;
    ``official`` is false for years whose State Council schedule is not known yet (see
    ``/calendar/years``). Dates outside 1950–2100 are refused (422)."""
    start = checked_day(date_from or now.astimezone(local_zone()).date(), "from")
    stop = checked_day(date_to or min(start + timedelta(days=30), date(LAST_YEAR, 12, 31)), "to")
    if stop < start:
        raise InvalidInput("结束日期不能早于开始日期", code="invalid_date_range")
    if (stop - start).days >= MAX_CALENDAR_DAYS:
        raise InvalidInput(f"一次最多查询 {MAX_CALENDAR_DAYS} 天", code="invalid_date_range")
    cal = city.calendar(calendar)
    return [_day(cal, start + timedelta(days=i)) for i in range((stop - start).days + 1)]


class CalendarYearOut(BaseModel):
    year: int
    official: bool
    status_label: str
    source: str
    source_label: str
    file_name: str | None
    imported_at: datetime | None
    workdays: int
    holidays: int
    makeup_workdays: int


@router.get("/calendar/years", response_model=list[CalendarYearOut])
def calendar_years(city: CityDep, now: NowDep) -> list[CalendarYearOut]:
    """Each year from last year to next year (and any other year the city imported): official
    (its State Council notice imported, or carried by the holidays package) or provisional
    (festivals guessed, no make-up days), where it comes from, its working days, weekdays
    off and make-up working days."""
    today = now.astimezone(local_zone()).date()
    return [CalendarYearOut(
        year=s.year, official=s.official, status_label=s.status_label, source=s.source.value,
        source_label=s.source.label, file_name=s.file_name, imported_at=s.imported_at,
        workdays=s.workdays, holidays=s.holidays, makeup_workdays=s.makeup_workdays)
        for s in year_summaries(city.calendar(), today)]


class DeadlineOut(BaseModel):
    start: str
    limit: str
    calendar: str
    deadline: str


def _iso(moment: datetime) -> str:
    return moment.astimezone(local_zone()).isoformat()


@router.get("/calendar/deadline", response_model=DeadlineOut)
def deadline(city: CityDep, start: Annotated[str, Query(max_length=40)],
             limit: Annotated[str, Query(max_length=32)],
             calendar: str = "default") -> DeadlineOut:
    """The deadline of a time limit (``4wh``, ``2wd``, ``24h``, ``3d``) from ``start`` (ISO
    8601; without an offset it is Asia/Shanghai time), as the lifecycle computes it."""
    begin = parse_local(start, "start")
    parsed = TimeLimit.parse(limit)
    due = city.calendar(calendar).deadline(begin, parsed)
    return DeadlineOut(start=_iso(begin), limit=parsed.text, calendar=calendar, deadline=_iso(due))
