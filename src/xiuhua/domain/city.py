"""An in-memory snapshot of one city's model: regions, grid index, units, taxonomy, calendars,
responsibility matrix and inspector posts. Services load it once and reuse it, so locating a
point or replaying a history never needs a database round trip per case."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from xiuhua.domain.calendar import WorkCalendar
from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import CoordSys, GridIndex, to_wgs84, validate_lonlat
from xiuhua.domain.lifecycle import LifecycleConfig, Location, Permissions, Rules
from xiuhua.domain.responsibility import Answer, Matrix
from xiuhua.domain.taxonomy import Taxonomy


@dataclass(frozen=True)
class RegionInfo:
    code: str
    level: RegionLevel
    name: str
    parent_code: str | None
    area_m2: float
    kind: str | None = None
    region_class: int | None = None


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str
    kind: str
    parent_code: str | None = None
    region_code: str | None = None
    active: bool = True


@dataclass
class City:
    taxonomy: Taxonomy
    calendars: Mapping[str, WorkCalendar]
    regions: Mapping[str, RegionInfo]
    grid_index: GridIndex
    units: Mapping[str, UnitInfo]
    matrix: Matrix
    inspectors_by_grid: Mapping[str, str] = field(default_factory=dict)
    config: LifecycleConfig = field(default_factory=LifecycleConfig)
    permissions: Permissions = field(default_factory=Permissions)

    def __post_init__(self) -> None:
        self._rules = Rules(
            taxonomy=self.taxonomy, calendars=self.calendars,
            unit_exists=lambda code: code in self.units and self.units[code].active,
            inspector_for=lambda grid: self.inspectors_by_grid.get(grid),
            permissions=self.permissions, config=self.config,
        )

    @property
    def rules(self) -> Rules:
        return self._rules

    def unit_name(self, code: str | None) -> str | None:
        """The name of unit ``code``; None for no code or a unit the city does not know."""
        unit = self.units.get(code) if code else None
        return unit.name if unit is not None else None

    def areas(self, grid_code: str) -> list[str]:
        """The grid and its ancestors, most specific first (grid, community, street, city)."""
        chain = []
        code: str | None = grid_code
        while code is not None:
            chain.append(code)
            info = self.regions.get(code)
            code = info.parent_code if info else None
        return chain

    def location_of_grid(self, grid_code: str, lon: float, lat: float) -> Location:
        chain = self.areas(grid_code)
        by_level = {self.regions[c].level: c for c in chain if c in self.regions}
        return Location(lon=lon, lat=lat, grid_code=grid_code,
                        community_code=by_level.get(RegionLevel.COMMUNITY, ""),
                        street_code=by_level.get(RegionLevel.STREET, ""))

    def locate(self, lon: float, lat: float, coord_sys: CoordSys = CoordSys.WGS84) -> Location:
        """The grid, community and street containing a point; outside the city is refused."""
        validate_lonlat(lon, lat)
        wlon, wlat = to_wgs84(float(lon), float(lat), coord_sys)
        grid = self.grid_index.locate(float(wlon), float(wlat))
        if grid is None:
            raise InvalidInput(f"坐标（{lon:.6f}, {lat:.6f}）不在本市任何单元网格内",
                               code="outside_city")
        return self.location_of_grid(grid, round(float(wlon), 7), round(float(wlat), 7))

    def locate_many(self, lons: np.ndarray, lats: np.ndarray,
                    coord_sys: CoordSys = CoordSys.WGS84) -> np.ndarray:
        """Grid codes for many points at once (None where outside the city)."""
        wlons, wlats = to_wgs84(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float),
                                coord_sys)
        return self.grid_index.locate_many(wlons, wlats)

    def responsible(self, category_code: str, grid_code: str,
                    component_owner: str | None = None) -> Answer:
        matter = self.taxonomy.matter(category_code)
        return self.matrix.resolve(category_code, matter.major_code, self.areas(grid_code),
                                   component_owner)

    def calendar(self, name: str = "default") -> WorkCalendar:
        return self._rules.calendar(name)
