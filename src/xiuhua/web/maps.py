"""一张图: unit grids and region boundaries as vector layers (GeoJSON from the regions table,
simplified), cases as clustered points, per-grid counts for the heat shading of a filter, and a
grid's panel (its cases and responsible units). With a base-map tile URL configured whose tiles
are in GCJ-02 or BD-09, every layer is shifted into the tiles' coordinate system."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import shapely
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import CaseStatus, RegionLevel
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError
from xiuhua.domain.geo import CoordSys, from_wgs84
from xiuhua.domain.responsibility import SCOPE_LABELS, RuleScope
from xiuhua.domain.taxonomy import ClassKind
from xiuhua.http.cases import lower_bound, upper_bound
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep
from xiuhua.http.presenters import category_name
from xiuhua.store import case_queries
from xiuhua.store import city as city_store
from xiuhua.store.case_queries import CaseFilter, list_cases
from xiuhua.web.pages import PageRoute, PageUser, invalid, not_found_page, render
from xiuhua.web.views import case_rows, region_name, unit_name

router = APIRouter(route_class=PageRoute, include_in_schema=False)

SIMPLIFY_DEGREES = {RegionLevel.GRID: 0.00001, RegionLevel.COMMUNITY: 0.00002,
                    RegionLevel.STREET: 0.00003}
LAYER_NAMES = {RegionLevel.GRID: "grids", RegionLevel.COMMUNITY: "communities",
               RegionLevel.STREET: "streets"}
DEFAULT_DAYS = 90
GRID_PANEL_CASES = 20


# --- coordinates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tiles:
    """The optional base map: a tile URL template and the coordinate system of its tiles."""

    url: str
    coord_sys: CoordSys
    attribution: str = ""


def tiles(settings: Settings) -> Tiles | None:
    url = settings.map_tile_url
    if not url:
        return None
    coord_sys = CoordSys.parse(settings.map_tile_coord_sys)
    return Tiles(url, coord_sys, settings.map_tile_attribution)


def display_sys(settings: Settings) -> CoordSys:
    """The coordinate system layers are drawn in: the tiles', or WGS-84 without tiles."""
    found = tiles(settings)
    return found.coord_sys if found is not None else CoordSys.WGS84


def _shift_xy(coord_sys: CoordSys) -> Any:
    def shift(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = from_wgs84(xy[:, 0], xy[:, 1], coord_sys)
        return np.asarray(np.round(np.column_stack([lon, lat]), 6), dtype=np.float64)
    return shift


def shifted(geom: Any, coord_sys: CoordSys) -> Any:
    """A WGS-84 geometry in ``coord_sys``, coordinates rounded to 6 decimals (~0.1 m)."""
    return shapely.transform(geom, _shift_xy(coord_sys))


def shifted_point(lon: float, lat: float, coord_sys: CoordSys) -> tuple[float, float]:
    x, y = from_wgs84(lon, lat, coord_sys)
    return round(float(x), 6), round(float(y), 6)


def geometry_json(geom: Any, coord_sys: CoordSys, tolerance: float = 0.0) -> Any:
    if tolerance:
        geom = shapely.simplify(geom, tolerance, preserve_topology=True)
    return shapely.geometry.mapping(shifted(geom, coord_sys))


def tile_config(settings: Settings) -> dict[str, Any] | None:
    found = tiles(settings)
    if found is None:
        return None
    return {"url": found.url, "attribution": found.attribution}


# --- layers ---------------------------------------------------------------------------------


def _feature(row: Any, coord_sys: CoordSys) -> dict[str, Any]:
    level = RegionLevel(row.level)
    return {"type": "Feature",
            "properties": {"code": row.code, "name": row.name, "parent": row.parent_code},
            "geometry": geometry_json(shapely.from_wkb(row.geometry), coord_sys,
                                      SIMPLIFY_DEGREES[level])}


def build_layers(session: Session, coord_sys: CoordSys) -> dict[str, Any]:
    """Streets, communities and grids as GeoJSON feature collections."""
    layers: dict[str, Any] = {name: {"type": "FeatureCollection", "features": []}
                              for name in LAYER_NAMES.values()}
    for row in city_store.region_shapes(session, [level.value for level in LAYER_NAMES]):
        layers[LAYER_NAMES[RegionLevel(row.level)]]["features"].append(_feature(row, coord_sys))
    return layers


def cached_layers(request: Request, session: Session, coord_sys: CoordSys) -> dict[str, Any]:
    """The layers, rebuilt only when the city model changed (any process)."""
    key = (city_store.model_version(session), coord_sys)
    cache = getattr(request.app.state, "web_layers", None)
    if cache is None or cache[0] != key:
        cache = (key, build_layers(session, coord_sys))
        request.app.state.web_layers = cache
    return dict(cache[1])


# --- filters --------------------------------------------------------------------------------

SCOPES = {"": "全部案件", "open": "在办案件", "overdue": "超时案件", "closed": "已结案"}
OPEN_STATUSES = tuple(s for s in CaseStatus if s.is_open)


@dataclass(frozen=True)
class MapFilter:
    scope: str = ""
    category: str = ""
    date_from: str = ""
    date_to: str = ""


def _day(text: str, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(f"{what}“{text[:20]}”不是有效日期（应为 YYYY-MM-DD）") from None


def case_filter(f: MapFilter) -> CaseFilter:
    if f.scope not in SCOPES:
        raise invalid(f"未知的案件范围“{f.scope[:20]}”")
    if f.category and not re.fullmatch(r"\d{2}(\d{3})?", f.category):
        raise invalid(f"类别代码“{f.category[:20]}”无效")
    statuses = {"open": OPEN_STATUSES, "closed": (CaseStatus.CLOSED,)}.get(f.scope, ())
    return CaseFilter(
        statuses=statuses, overdue=True if f.scope == "overdue" else None,
        category=f.category or None,
        reported_from=lower_bound(_day(f.date_from, "起始日期")),
        reported_before=upper_bound(_day(f.date_to, "截止日期")))


def default_filter(now: datetime) -> MapFilter:
    start = (now.astimezone(local_zone()) - timedelta(days=DEFAULT_DAYS)).date()
    return MapFilter(date_from=start.isoformat())


def majors(city: City) -> list[tuple[str, str]]:
    """(major code, major name) of the matter classes."""
    found = {c.major_code: c.major_name for (kind, _), c in city.taxonomy.classes.items()
             if kind is ClassKind.MATTER}
    return sorted(found.items())


Scope = Annotated[str, Query(max_length=20)]
Text = Annotated[str, Query(max_length=20)]


# --- routes ---------------------------------------------------------------------------------


@router.get("/map")
def map_page(request: Request, city: CityDep, now: NowDep, settings: SettingsDep,
             user: PageUser, scope: Scope = "", category: Text = "",
             date_from: Annotated[str, Query(alias="from", max_length=20)] = "",
             date_to: Annotated[str, Query(alias="to", max_length=20)] = "") -> Response:
    """一张图: the page; layers and cases arrive as JSON."""
    given = request.query_params
    chosen = (MapFilter(scope, category, date_from, date_to)
              if any(k in given for k in ("scope", "category", "from", "to"))
              else default_filter(now))
    return render(request, "map/index.html", {
        "title": "一张图", "filter": chosen, "scopes": SCOPES, "majors": majors(city),
        "no_tiles": tiles(settings) is None,
        "config": {"tiles": tile_config(settings), "layersUrl": "/map/layers.json",
                   "casesUrl": "/map/cases.json", "gridUrl": "/map/grids/"}})


@router.get("/map/layers.json")
def layers(request: Request, session: SessionDep, settings: SettingsDep,
           user: PageUser) -> JSONResponse:
    return JSONResponse(cached_layers(request, session, display_sys(settings)))


@router.get("/map/cases.json")
def map_cases(session: SessionDep, city: CityDep, now: NowDep, settings: SettingsDep,
              user: PageUser, scope: Scope = "", category: Text = "",
              date_from: Annotated[str, Query(alias="from", max_length=20)] = "",
              date_to: Annotated[str, Query(alias="to", max_length=20)] = "") -> JSONResponse:
    """Cases of the filter the user may see: points and counts per grid."""
    filters = case_filter(MapFilter(scope, category, date_from, date_to))
    coord_sys = display_sys(settings)
    rows = case_queries.map_points(session, user, filters, now)
    points = [[*shifted_point(r.lon, r.lat, coord_sys)[::-1], r.case_no,
               CaseStatus(r.status).label, category_name(city, r.category_code),
               bool(r.overdue)] for r in rows]
    counts = case_queries.grid_counts(session, user, filters, now)
    return JSONResponse({"points": points, "grids": counts, "total": sum(counts.values()),
                         "truncated": len(rows) >= case_queries.MAX_MAP_POINTS})


def responsible_units(session: Session, city: City, grid: str) -> list[dict[str, str]]:
    """The responsibility rules that apply in the grid's areas, most specific area first."""
    areas = city.areas(grid)
    rules = [r for r in city_store.load_rules(session) if r.region_code in areas]
    rules.sort(key=lambda r: (areas.index(r.region_code), r.scope is RuleScope.ANY))
    return [{"unit": unit_name(city, r.unit_code), "scope": SCOPE_LABELS[r.scope],
             "category": _category_label(city, r.scope, r.category),
             "area": region_name(city, r.region_code)} for r in rules]


def _category_label(city: City, scope: RuleScope, code: str | None) -> str:
    if scope is RuleScope.MATTER and code:
        return f"{code} {category_name(city, code)}"
    if scope is RuleScope.MAJOR and code:
        return f"{code} {dict(majors(city)).get(code, '')}"
    return "全部事项（属地兜底）"


def _inspector(session: Session, city: City, grid: str) -> str:
    login = city.inspectors_by_grid.get(grid)
    if login is None:
        return ""
    return f"{city_store.user_names(session, [login]).get(login, login)}（{login}）"


@router.get("/map/grids/{code}")
def grid_panel(request: Request, session: SessionDep, city: CityDep, now: NowDep,
               user: PageUser, code: str, scope: Scope = "", category: Text = "",
               date_from: Annotated[str, Query(alias="from", max_length=20)] = "",
               date_to: Annotated[str, Query(alias="to", max_length=20)] = "") -> Response:
    """The grid's panel (htmx fragment): where it is, who answers for it, its cases."""
    info = city.regions.get(code)
    if info is None or info.level is not RegionLevel.GRID:
        raise not_found_page("单元网格")
    try:
        filters = case_filter(MapFilter(scope, category, date_from, date_to))
    except DomainError:
        filters = CaseFilter()
    grid_filter = replace(filters, grid=code)
    page = list_cases(session, user, grid_filter, now, limit=GRID_PANEL_CASES)
    return render(request, "map/_grid.html", {
        "grid": info, "areas": [region_name(city, c) for c in city.areas(code)[1:]],
        "inspector": _inspector(session, city, code),
        "rules": responsible_units(session, city, code),
        "rows": case_rows(session, city, page.rows, now), "more": page.next_cursor is not None,
        "total": case_queries.count_cases(session, user, grid_filter, now)})
