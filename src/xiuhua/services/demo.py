"""The demo city “X市”: regions, units, responsibility matrix, components, staff and months of
case history, built so that every page, report and check of Xiuhua has something to show.

The city itself (outline, streets, communities, unit grids, units, census, inspectors' posts)
is the same for every run; ``seed`` drives the history. The history is produced by the real
lifecycle (:func:`~xiuhua.domain.lifecycle.report` and :func:`~xiuhua.domain.lifecycle.apply`)
on the :class:`~xiuhua.domain.city.City` snapshot, replayed in memory and bulk-loaded.

Geometry: a regular lattice of ~100 m cells (WGS-84, around 117.0°E 36.6°N) cut to an
irregular outline; streets and communities are contiguous groups of cells grown from seeds, so
every region is the exact union of its grids and the grids tile the city without gaps.
Codes follow GB/T 10114: street 001–099, development zone 400; community 001–199, village
(村委会) 201–399; grid serials west→east, north→south inside each community.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
from bisect import bisect
from calendar import monthrange
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from itertools import accumulate
from pathlib import Path
from types import TracebackType
from typing import Any

import shapely
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from shapely.geometry import Polygon, box
from sqlalchemy import Engine, MetaData, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.assessment import AssessmentConfig, Period
from xiuhua.domain.calendar import TimeLimit, WorkCalendar, local_zone
from xiuhua.domain.choices import (
    Action,
    CancelReason,
    CaseStatus,
    ComponentStatus,
    RegionLevel,
    Role,
    Source,
    UnitKind,
)
from xiuhua.domain.city import City, UnitInfo
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.lifecycle import Actor, Case, Command, ReportData, apply, report
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.domain.taxonomy import ClassKind
from xiuhua.services.accounts import hash_password
from xiuhua.services.assessment import load_config, publish
from xiuhua.services.city import init_database, load_city
from xiuhua.services.evaluation import DEMO_EVALUATOR
from xiuhua.services.evaluation import build_demo as build_evaluation_demo
from xiuhua.services.legacy import build_demo_legacy
from xiuhua.services.plans import build_demo_programme
from xiuhua.services.projects import build_demo_projects
from xiuhua.services.regions import RegionFeature, save_regions
from xiuhua.services.surveys import demo_surveys
from xiuhua.store import assessment as assessment_store
from xiuhua.store import city as store
from xiuhua.store.cases import insert_cases
from xiuhua.store.db import analyze, make_engine, transaction
from xiuhua.store.tables import cases, components, regions, responsibility_rules, units, users

Cell = tuple[int, int]  # (row, col) of the lattice; row 0 is the northern edge
LAYOUT_SEED = 2026  # the city is the same whatever the history seed
MAX_MONTHS = 36
FLUSH_EVERY = 5000  # cases per bulk insert
ZONE_CODE = "400"  # GB/T 10114: 400–599 for units like development zones
VILLAGE_FROM = 201  # GB/T 10114: 200–399 for villagers' committees


@cache
def demo_data() -> dict[str, Any]:
    """The editable description of the demo city (``data/demo_city.json``)."""
    text = resources.files("xiuhua.data").joinpath("demo_city.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# --- layout: outline, streets, communities, grids ----------------------------------------


@dataclass
class Community:
    code: str
    name: str
    village: bool
    cells: list[Cell]
    grids: dict[Cell, str] = field(default_factory=dict)


@dataclass
class Street:
    code: str
    name: str
    zone: bool
    office: UnitInfo
    cells: list[Cell]
    communities: list[Community] = field(default_factory=list)


@dataclass
class District:
    """A district of the prefecture demo (``--districts N``): its streets and its own units."""

    code: str
    name: str
    zone: bool
    streets: list[Street]
    center: UnitInfo
    brigade: UnitInfo


@dataclass
class Layout:
    """The city on its lattice: cell edges, streets with communities and grid codes."""

    code: str
    name: str
    xs: list[float]  # west edge of each column, and the east edge of the last
    ys: list[float]  # north edge of each row, and the south edge of the last
    streets: list[Street]
    core: frozenset[Cell]  # 一类区域 (the built-up centre)
    hotspots: dict[str, list[str]] = field(default_factory=dict)  # kind -> grid codes
    districts: list[District] = field(default_factory=list)  # a prefecture city's (区/县)

    def cell_box(self, cell: Cell) -> Polygon:
        row, col = cell
        return box(self.xs[col], self.ys[row + 1], self.xs[col + 1], self.ys[row])

    def grids(self) -> Iterator[tuple[str, Cell, Community, Street]]:
        for street in self.streets:
            for community in street.communities:
                for cell, code in community.grids.items():
                    yield code, cell, community, street

    def grid_cells(self) -> dict[str, Cell]:
        return {code: cell for code, cell, _, _ in self.grids()}

    def point_in(self, cell: Cell, rng: random.Random) -> tuple[float, float]:
        """A random point well inside a cell (lon, lat rounded to 7 decimals)."""
        row, col = cell
        lon = self.xs[col] + (self.xs[col + 1] - self.xs[col]) * rng.uniform(0.05, 0.95)
        lat = self.ys[row + 1] + (self.ys[row] - self.ys[row + 1]) * rng.uniform(0.05, 0.95)
        return round(lon, 7), round(lat, 7)


def _neighbours(cell: Cell) -> tuple[Cell, ...]:
    r, c = cell
    return (r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)


def _d2(a: Cell, b: Cell) -> int:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _reach(rows: int, cols: int, cell: Cell) -> float:
    """Distance of a cell from the lattice centre, relative to an irregular outline (≤ 1 inside)."""
    dy = (cell[0] - (rows - 1) / 2) / (rows / 2)
    dx = (cell[1] - (cols - 1) / 2) / (cols / 2)
    angle = math.atan2(dy, dx)
    wobble = 1 + 0.13 * math.sin(3 * angle + 0.7) + 0.07 * math.sin(5 * angle + 2.1)
    return math.hypot(dx, dy) / wobble


def _outline(rows: int, cols: int, target: int) -> tuple[list[Cell], dict[Cell, float]]:
    """About ``target`` cells inside a star-shaped outline, and each cell's relative reach."""
    reach = {(r, c): _reach(rows, cols, (r, c)) for r in range(rows) for c in range(cols)}
    ordered = sorted(reach, key=lambda cell: (reach[cell], cell))
    scale = reach[ordered[min(target, len(ordered)) - 1]]
    inside = [cell for cell in sorted(reach) if reach[cell] <= scale]
    return _largest_part(inside), {cell: reach[cell] / scale for cell in inside}


def _largest_part(cells: Sequence[Cell]) -> list[Cell]:
    """The largest 4-connected group of cells (so every region grown in it is contiguous)."""
    pool, best = set(cells), set[Cell]()
    while pool:
        start = min(pool)
        seen, stack = {start}, [start]
        while stack:
            for n in _neighbours(stack.pop()):
                if n in pool and n not in seen:
                    seen.add(n)
                    stack.append(n)
        pool -= seen
        best = max(best, seen, key=len)
    return sorted(best)


def _centres(cells: Sequence[Cell], k: int, rng: random.Random) -> list[Cell]:
    """k well-spread seed cells: farthest-point sampling, then a few Lloyd iterations."""
    seeds = [rng.choice(cells)]
    while len(seeds) < k:
        seeds.append(max(cells, key=lambda c: min(_d2(c, s) for s in seeds)))
    for _ in range(4):
        groups: dict[int, list[Cell]] = {i: [] for i in range(k)}
        for c in cells:
            groups[min(range(k), key=lambda i: _d2(c, seeds[i]))].append(c)
        for i, group in groups.items():
            if group:
                mean = (sum(r for r, _ in group) / len(group), sum(c for _, c in group) / len(group))
                seeds[i] = min(group, key=lambda c: (c[0] - mean[0]) ** 2 + (c[1] - mean[1]) ** 2)
    return seeds


def _take(front: list[Cell], owner: Mapping[Cell, int], seed: Cell, rng: random.Random) -> Cell | None:
    front[:] = [c for c in front if c not in owner]
    if not front:
        return None
    picks = [front[rng.randrange(len(front))] for _ in range(3)]
    best = min(picks, key=lambda c: _d2(c, seed))
    front.remove(best)
    return best


def split_cells(cells: Sequence[Cell], k: int, rng: random.Random) -> list[list[Cell]]:
    """Split a 4-connected set of cells into k contiguous, balanced, irregular parts
    (each grows from a seed, the smallest part first, so no part can be cut off)."""
    pool = set(cells)
    seeds = _centres(sorted(cells), k, rng)
    owner = {s: i for i, s in enumerate(seeds)}
    parts = [[s] for s in seeds]
    fronts = [[n for n in _neighbours(s) if n in pool] for s in seeds]
    while len(owner) < len(pool):
        i = min((j for j in range(k) if fronts[j]), key=lambda j: (len(parts[j]), j))
        cell = _take(fronts[i], owner, seeds[i], rng)
        if cell is None:
            continue
        owner[cell] = i
        parts[i].append(cell)
        fronts[i].extend(n for n in _neighbours(cell) if n in pool and n not in owner)
    return [sorted(p) for p in parts]


def _shares(sizes: Sequence[int], total: int, least: int = 1) -> list[int]:
    """``total`` split in proportion to ``sizes`` (largest remainder), at least ``least`` each."""
    whole = sum(sizes)
    exact = [max(least, total * s / whole) for s in sizes]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: (shares[i] - exact[i], i))
    for i in by_remainder[: max(0, total - sum(shares))]:
        shares[i] += 1
    return shares


def _mean(cells: Sequence[Cell]) -> tuple[float, float]:
    return sum(r for r, _ in cells) / len(cells), sum(c for _, c in cells) / len(cells)


def _street_parts(cells: list[Cell], reach: Mapping[Cell, float],
                  rng: random.Random) -> list[tuple[list[Cell], bool]]:
    """(cells, is_zone) for each street: the zone is the easternmost part, the others are
    numbered from the centre outwards."""
    parts = split_cells(cells, len(demo_data()["streets"]) + 1, rng)
    zone = max(parts, key=lambda p: _mean(p)[1])
    others = sorted((p for p in parts if p is not zone),
                    key=lambda p: (sum(reach[c] for c in p) / len(p), p[0]))
    return [(p, False) for p in others] + [(zone, True)]


def _communities(street_code: str, parts: list[list[Cell]], core: frozenset[Cell],
                 names: dict[bool, Iterator[str]], rural: bool) -> list[Community]:
    """Communities of a street, coded 001… (社区) and 201… (村, only where ``rural``)."""
    result: list[Community] = []
    serial = {False: 1, True: VILLAGE_FROM}
    for part in sorted(parts, key=_mean):
        village = rural and sum(c in core for c in part) < 0.1 * len(part)
        code = f"{street_code}{serial[village]:03d}"
        serial[village] += 1
        name = next(names[village]) + ("村" if village else "社区")
        community = Community(code, name, village, part)
        community.grids = {cell: f"{code}{i:03d}" for i, cell in enumerate(sorted(part), start=1)}
        result.append(community)
    return sorted(result, key=lambda c: c.code)


def _lattice_edges(spec: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    xs = [round(spec["west"] + i * spec["dlon"], 9) for i in range(spec["cols"] + 1)]
    ys = [round(spec["north"] - i * spec["dlat"], 9) for i in range(spec["rows"] + 1)]
    return xs, ys


@cache
def plan_layout() -> Layout:
    """The demo city's layout (deterministic, independent of the history seed; shared, so
    callers must not change it)."""
    data, rng = demo_data(), random.Random(LAYOUT_SEED)
    spec, city = data["lattice"], data["city"]
    cells, reach = _outline(spec["rows"], spec["cols"], spec["target_cells"])
    core = frozenset(c for c in cells if reach[c] < 0.6)
    parts = _street_parts(cells, reach, rng)
    counts = _shares([len(p) for p, _ in parts], data["communities_total"], least=3)
    names = {flag: iter(rng.sample(data[key], len(data[key])))
             for flag, key in ((False, "community_names"), (True, "village_names"))}
    streets = []
    for number, ((part, is_zone), count) in enumerate(zip(parts, counts, strict=True), start=1):
        code = f"{city['code']}{ZONE_CODE if is_zone else f'{number:03d}'}"
        name = data["zone"]["name"] if is_zone else data["streets"][number - 1]
        office_name = data["zone"]["office"] if is_zone else f"{name}办事处"
        office = UnitInfo(f"JD{code[-3:]}", office_name, UnitKind.STREET_OFFICE.value, region_code=code)
        street = Street(code, name, is_zone, office, part)
        street.communities = _communities(code, split_cells(part, count, rng), core, names,
                                          rural=number > 1 and not is_zone)
        streets.append(street)
    xs, ys = _lattice_edges(spec)
    layout = Layout(city["code"], city["name"], xs, ys, streets, core)
    layout.hotspots = _hotspots(layout, rng)
    return layout


def district_staff(district: District) -> list[tuple[str, Role]]:
    """The logins of a district command center's staff (acceptor_02 … for district 370102)."""
    suffix = district.code[-2:]
    return [(f"acceptor_{suffix}", Role.ACCEPTOR), (f"shift_{suffix}", Role.SHIFT_LEADER),
            (f"dispatcher_{suffix}", Role.DISPATCHER)]


def _district_plan(count: int) -> list[tuple[str, str, bool, list[Street]]]:
    """(code, name, is_zone, streets) of ``count`` districts: the ordinary streets grouped west
    to east into ``count - 1`` districts, the development zone the last district."""
    base, spec = plan_layout(), demo_data()["prefecture"]
    ordinary = sorted((s for s in base.streets if not s.zone), key=lambda s: (_mean(s.cells)[1], s.code))
    most = min(len(ordinary), len(spec["districts"])) + 1
    if not 2 <= count <= most:
        raise InvalidInput(f"区（县）数须在 2 到 {most} 之间（当前为 {count}）", code="invalid_districts")
    groups = [ordinary[i * len(ordinary) // (count - 1):(i + 1) * len(ordinary) // (count - 1)]
              for i in range(count - 1)]
    return ([(f"{spec['code'][:4]}{i + 2:02d}", spec["districts"][i], False, g) for i, g in enumerate(groups)]
            + [(spec["zone"]["code"], spec["zone"]["name"], True, [s for s in base.streets if s.zone])])


def _moved_street(street: Street, code: str) -> Street:
    """``street`` recoded under its district (communities and grids keep their serials)."""
    office = UnitInfo(f"JD{code[-6:]}", street.office.name, street.office.kind, region_code=code)
    communities = [Community(code + c.code[9:], c.name, c.village, c.cells,
                             {cell: code + g[9:] for cell, g in c.grids.items()})
                   for c in street.communities]
    return Street(code, street.name, street.zone, office, street.cells, communities)


@cache
def plan_prefecture(count: int) -> Layout:
    """The demo city's lattice as a prefecture city of ``count`` districts (``xiuhua demo
    --districts N``): X市 370100, districts 370102…, the development zone 370171; each district
    with a command center (ZX02 …) and an enforcement brigade (ZF02 …). Shared like
    :func:`plan_layout`."""
    base, spec = plan_layout(), demo_data()["prefecture"]
    recode: dict[str, str] = {}
    districts: list[District] = []
    for code, name, zone, group in _district_plan(count):
        streets = []
        for number, street in enumerate(group, start=1):
            recode[street.code] = f"{code}{ZONE_CODE if street.zone else f'{number:03d}'}"
            streets.append(_moved_street(street, recode[street.code]))
        center = UnitInfo(f"ZX{code[-2:]}", f"{name}城市管理指挥中心", UnitKind.CENTER.value, region_code=code)
        brigade = UnitInfo(f"ZF{code[-2:]}", f"{name}综合执法大队", UnitKind.DEPARTMENT.value,
                           region_code=code)
        districts.append(District(code, name, zone, streets, center, brigade))
    hotspots = {kind: sorted(recode[g[:9]] + g[9:] for g in grids) for kind, grids in base.hotspots.items()}
    return Layout(spec["code"], spec["name"], base.xs, base.ys, [s for d in districts for s in d.streets],
                  base.core, hotspots, districts)


def _hotspots(layout: Layout, rng: random.Random) -> dict[str, list[str]]:
    """Grids of markets and back streets (in the centre) and construction sites (outside)."""
    inner = sorted(code for code, cell, _, _ in layout.grids() if cell in layout.core)
    outer = sorted(code for code, cell, _, _ in layout.grids() if cell not in layout.core)
    taken: set[str] = set()
    result: dict[str, list[str]] = {}
    for kind, spec in demo_data()["hotspots"].items():
        pool = [g for g in (outer if kind == "construction" else inner) if g not in taken]
        result[kind] = sorted(rng.sample(pool, spec["grids"]))
        taken.update(result[kind])
    return result


# --- the city model: regions, units, rules, users, components -----------------------------


def region_features(layout: Layout) -> list[RegionFeature]:
    """City, streets/zone, communities/villages and unit grids as exact unions of cells."""
    def union(cells: Sequence[Cell]) -> Any:
        return shapely.union_all([layout.cell_box(c) for c in cells])

    all_cells = [c for s in layout.streets for c in s.cells]
    features = [RegionFeature(layout.code, layout.name, union(all_cells))]
    features += [RegionFeature(d.code, d.name, union([c for s in d.streets for c in s.cells]),
                               level=RegionLevel.DISTRICT.value, kind="zone" if d.zone else None,
                               parent_code=layout.code) for d in layout.districts]
    for street in layout.streets:
        features.append(RegionFeature(street.code, street.name, union(street.cells),
                                      kind="zone" if street.zone else None))
        for community in street.communities:
            features.append(RegionFeature(community.code, community.name, union(community.cells)))
    for code, cell, community, _ in layout.grids():
        features.append(RegionFeature(code, f"{community.name}{code[-3:]}号网格", layout.cell_box(cell),
                                      region_class=1 if cell in layout.core else 2))
    return features


def unit_infos(layout: Layout) -> list[UnitInfo]:
    departments = [UnitInfo(u["code"], u["name"], u["kind"]) for u in demo_data()["units"]]
    own = [unit for d in layout.districts for unit in (d.center, d.brigade)]
    return departments + own + [s.office for s in layout.streets]


def responsibility(layout: Layout) -> list[Rule]:
    """属地兜底 per street, 专业归口 per matter/major city-wide, and street-level matter
    rules where the outer streets and the zone keep 09005/09006 (店外经营、占道经营)."""
    spec = demo_data()["rules"]
    rules = [Rule(RuleScope.ANY, None, s.code, s.office.code) for s in layout.streets]
    for scope, key in ((RuleScope.MATTER, "matter"), (RuleScope.MAJOR, "major")):
        for unit, codes in spec[key].items():
            rules += [Rule(scope, code, layout.code, unit) for code in codes]
    ordinary = [s for s in layout.streets if not s.zone]
    keepers = ordinary[len(ordinary) - spec["street_matters_outer"]:] + [s for s in layout.streets if s.zone]
    for street in keepers:
        rules += [Rule(RuleScope.MATTER, code, street.code, street.office.code)
                  for code in spec["street_matters"]]
    for district in layout.districts:
        rules += [Rule(RuleScope.MATTER, code, district.code, district.brigade.code)
                  for code in demo_data()["prefecture"]["district_matters"]]
    return rules


class Names:
    """Realistic Chinese personal names, without repeats."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        data = demo_data()
        while True:
            given = "".join(self.rng.choice(data["given_names"]) for _ in range(self.rng.choice((1, 2))))
            name = self.rng.choice(data["surnames"]) + given
            if name not in self.used:
                self.used.add(name)
                return name


CENTER_STAFF = (("acceptor01", Role.ACCEPTOR), ("shift01", Role.SHIFT_LEADER),
                ("dispatcher01", Role.DISPATCHER), ("leader01", Role.LEADER), ("admin", Role.ADMIN))


def handler_login(unit_code: str) -> str:
    return f"handler_{unit_code.lower()}"


def inspector_posts(layout: Layout, rng: random.Random) -> list[list[str]]:
    """Grid codes of each inspector's beat: contiguous groups of grids inside one street."""
    counts = _shares([len(s.cells) for s in layout.streets], demo_data()["inspectors_total"])
    codes = layout.grid_cells()
    by_cell = {cell: code for code, cell in codes.items()}
    posts = []
    for street, count in zip(layout.streets, counts, strict=True):
        posts += [sorted(by_cell[c] for c in part) for part in split_cells(street.cells, count, rng)]
    return posts


DEMO_PASSWORD = "xiuhua-demo"
# One login per role, printed by `make demo` (every demo account has the same password).
DEMO_LOGINS = (("admin", Role.ADMIN), ("acceptor01", Role.ACCEPTOR), ("shift01", Role.SHIFT_LEADER),
               ("dispatcher01", Role.DISPATCHER), ("handler_hwzx", Role.HANDLER),
               ("unitleader_hwzx", Role.UNIT_LEADER), ("inspector01", Role.INSPECTOR),
               ("leader01", Role.LEADER), ("office01", Role.OFFICE))


def save_users(session: Session, layout: Layout, unit_list: Sequence[UnitInfo], rng: random.Random) -> None:
    """Every demo account, all with the demo password (hashed once: Argon2 is slow on purpose)."""
    name = Names(rng)
    for number, grids in enumerate(inspector_posts(layout, rng), start=1):
        store.save_user(session, f"inspector{number:02d}", name(), Role.INSPECTOR, grids=grids,
                        phone=_phone(rng))
    for login, role in CENTER_STAFF:
        store.save_user(session, login, name(), role, unit_code="ZHZX")
    for district in layout.districts:
        for login, role in district_staff(district):
            store.save_user(session, login, name(), role, unit_code=district.center.code,
                            district_code=district.code)
    for unit in unit_list:
        store.save_user(session, handler_login(unit.code), name(), Role.HANDLER, unit_code=unit.code)
        store.save_user(session, f"unitleader_{unit.code.lower()}", name(), Role.UNIT_LEADER,
                        unit_code=unit.code)
    store.save_user(session, "office01", "周晓岚", Role.OFFICE, unit_code="ZHZX")  # 城管委办公室
    store.save_user(session, DEMO_EVALUATOR, "王考评", Role.EVALUATOR)
    session.execute(update(users).values(password_hash=hash_password(DEMO_PASSWORD)))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10 ** 9):09d}"


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def census(layout: Layout, rng: random.Random) -> list[dict[str, Any]]:
    """Component rows: 17-digit codes (division + major + minor + serial), status, owner."""
    data = demo_data()
    statuses = list(data["component_status"])
    status_weights = list(accumulate(data["component_status"].values()))
    grids = sorted(layout.grid_cells().items())
    rows: list[dict[str, Any]] = []
    for spec in data["components"]:
        serial = 0
        for code, cell in grids:
            for _ in range(_poisson(rng, spec["density"][0 if cell in layout.core else 1])):
                serial += 1
                lon, lat = layout.point_in(cell, rng)
                rows.append({"code": f"{layout.code}{spec['class']}{serial:06d}", "class_code": spec["class"],
                             "lon": lon, "lat": lat, "grid_code": code,
                             "status": rng.choices(statuses, cum_weights=status_weights)[0],
                             "owner_unit": spec["owner"], "maintainer_unit": spec["owner"], "name": None})
    return rows


def store_city(session: Session, layout: Layout) -> None:
    """Write the whole city model (no cases) in the caller's transaction."""
    rng = random.Random(LAYOUT_SEED + 1)
    save_regions(session, region_features(layout))
    unit_list = unit_infos(layout)
    store.save_units(session, unit_list)
    store.add_rules(session, responsibility(layout))
    save_users(session, layout, unit_list, rng)
    rows = census(layout, rng)
    taxonomy_names = {c.code: c.name for c in store.load_classes(session) if c.kind is ClassKind.COMPONENT}
    for row in rows:
        row["name"] = taxonomy_names.get(row["class_code"])
    for i in range(0, len(rows), 2000):
        store.upsert(session, components, rows[i:i + 2000], ["code"])


# --- history: report specs ------------------------------------------------------------------


@dataclass(frozen=True)
class ReportSpec:
    """What is reported, where and when (before a case number is given)."""

    at: datetime
    source: Source
    category: str
    grid: str
    lon: float
    lat: float
    urgency: str = "normal"
    component: str | None = None
    owner: str | None = None


class Weighted:
    """A weighted choice over a fixed population (cumulative weights, bisect)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        items = [(k, w) for k, w in weights.items() if w > 0]
        self.keys = [k for k, _ in items]
        self.cum = list(accumulate(w for _, w in items))

    def pick(self, rng: random.Random) -> str:
        return self.keys[bisect(self.cum, rng.random() * self.cum[-1])]


def history_start(end: date, months: int) -> date:
    """The first day of ``months`` calendar months of history ending on ``end`` (inclusive)."""
    index = end.year * 12 + end.month - 1 - months
    year, month = divmod(index, 12)
    day = min(end.day, monthrange(year, month + 1)[1])
    return date(year, month + 1, day) + timedelta(days=1)


def day_kind(day: date, calendar: WorkCalendar) -> str:
    """workday, weekend, or holiday (a run of three or more days off: a statutory holiday)."""
    if calendar.is_workday(day):
        return "workday"
    run = 1
    for step in (-1, 1):
        probe = day + timedelta(days=step)
        while run < 3 and not calendar.is_workday(probe):
            run += 1
            probe += timedelta(days=step)
    return "holiday" if run >= 3 else "weekend"


ComponentRow = tuple[str, str, str, float, float, str | None]  # code, class, grid, lon, lat, owner


def load_components(session: Session) -> list[ComponentRow]:
    """Components a case may name (not removed), in code order."""
    c = components
    rows = session.execute(select(c.c.code, c.c.class_code, c.c.grid_code, c.c.lon, c.c.lat, c.c.owner_unit)
                           .where(c.c.status != ComponentStatus.REMOVED.value).order_by(c.c.code))
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


class Reports:
    """Draws the day's reports: sources, hours, places (hotspots) and matters."""

    def __init__(self, layout: Layout, parts: Sequence[ComponentRow], rng: random.Random) -> None:
        data = demo_data()
        self.layout, self.rng = layout, rng
        self.cells = layout.grid_cells()
        self.sources = Weighted(data["sources"])
        self.hours = {s: Weighted({str(h): w for h, w in enumerate(ws)}) for s, ws in data["hours"].items()}
        self.grids = Weighted({code: 1.6 if cell in layout.core else 0.7 for code, cell in sorted(self.cells.items())})
        self.hotspot_kinds = Weighted({k: float(len(v)) for k, v in layout.hotspots.items()})
        self.hotspot_mix = {k: Weighted(v["mix"]) for k, v in data["hotspots"].items()}
        self.components: dict[str, list[ComponentRow]] = {}
        for row in parts:
            self.components.setdefault(row[1], []).append(row)
        self._mixes: dict[tuple[str, int], Weighted] = {}

    def mix(self, public: bool, month: int) -> Weighted:
        key = ("public_mix" if public else "mix", month)
        if key not in self._mixes:
            weights = {code: w * _season(code, month) for code, w in demo_data()[key[0]].items()}
            self._mixes[key] = Weighted(weights)
        return self._mixes[key]

    def day(self, day: date, count: int) -> list[ReportSpec]:
        return sorted((self.one(day) for _ in range(count)), key=lambda s: s.at)

    def one(self, day: date) -> ReportSpec:
        rng = self.rng
        source = Source(self.sources.pick(rng))
        hour = int(self.hours[source.value].pick(rng))
        at = datetime.combine(day, time(hour), local_zone()) + timedelta(seconds=rng.randrange(3600))
        public = source in (Source.PUBLIC, Source.HOTLINE)
        if rng.random() < demo_data()["hotspot_share"]:
            kind = self.hotspot_kinds.pick(rng)
            grid, category = rng.choice(self.layout.hotspots[kind]), self.hotspot_mix[kind].pick(rng)
        else:
            grid, category = self.grids.pick(rng), self.mix(public, day.month).pick(rng)
        urgency = "urgent" if rng.random() < 0.05 else "normal"
        choices = self.components.get(category)
        if choices and rng.random() < 0.8:
            code, _, grid, lon, lat, owner = rng.choice(choices)
            return ReportSpec(at, source, category, grid, lon, lat, urgency, code, owner)
        lon, lat = self.layout.point_in(self.cells[grid], rng)
        return ReportSpec(at, source, category, grid, lon, lat, urgency)


def _season(code: str, month: int) -> float:
    spec = demo_data()["seasonal"].get(code)
    if spec is None:
        return 1.0
    return float(spec["factor"] if month in spec["months"] else spec["otherwise"])


# --- history: driving each case through the lifecycle ---------------------------------------

P_RETURN = 0.03  # dispatched to the wrong unit, returned within the window
P_EXTENSION = 0.05  # the unit asks for more time …
P_GRANT = 0.7  # … and the shift leader grants it
P_SUSPEND = 0.015  # parked (挂账) and resumed days later
P_LATE = 0.1  # the unit feeds back after the deadline
P_REWORK = 0.06  # the check fails once
P_SUPERVISE = (0.02, 0.3)  # supervision notice: on-time, late cases
P_TASK_LATE = 0.06  # an inspector's verify/check after its limit
# (invalid, duplicate, out of scope) for inspectors/video and for the public/hotline
CANCEL_ODDS = {False: (0.015, 0.025, 0.008), True: (0.06, 0.04, 0.03)}
CANCEL_ORDER = (CancelReason.INVALID, CancelReason.DUPLICATE, CancelReason.OUT_OF_SCOPE)
RATINGS = {False: Weighted({"satisfied": 82, "basically_satisfied": 13, "dissatisfied": 5}),
           True: Weighted({"satisfied": 55, "basically_satisfied": 25, "dissatisfied": 20})}
CENTER_UNIT = "ZHZX"
# A live demo (history up to the present) leaves part of the last two working days' cases
# waiting at each step, so every role's queues have work: stage -> (weight, actions held back).
HOLD_SHARE = 0.4
A = Action
HOLDS: dict[str, tuple[float, frozenset[Action]]] = {
    "accept": (10, frozenset({A.REQUEST_VERIFY, A.VERIFY, A.FILE, A.CANCEL})),
    "verify": (6, frozenset({A.VERIFY})),
    "file": (8, frozenset({A.FILE, A.CANCEL})),
    "dispatch": (10, frozenset({A.DISPATCH})),
    "handle": (30, frozenset({A.FEEDBACK})),
    "extension": (6, frozenset({A.EXTEND, A.REJECT_EXTENSION, A.FEEDBACK})),
    "suspension": (5, frozenset({A.SUSPEND, A.REJECT_SUSPENSION, A.FEEDBACK})),
    "suspended": (5, frozenset({A.RESUME, A.REJECT_SUSPENSION, A.FEEDBACK})),
    "check": (10, frozenset({A.CHECK_PASS, A.CHECK_FAIL})),
    "close": (10, frozenset({A.CLOSE})),
}
# The demo logins' own beat and unit get the steps that are theirs more often.
DEMO_INSPECTOR, DEMO_UNIT = "inspector01", "HWZX"
INSPECTOR_HOLDS = {"check": 3.0, "verify": 2.0, "accept": 1.0}
UNIT_HOLDS = {"handle": 4.0, "extension": 1.0, "suspension": 1.0, "suspended": 1.0,
              "check": 1.0}
ACCEPTOR = Actor("acceptor01", Role.ACCEPTOR)
SHIFT = Actor("shift01", Role.SHIFT_LEADER)
DISPATCHER = Actor("dispatcher01", Role.DISPATCHER)
LEADER = Actor("leader01", Role.LEADER)
CITIZEN = Actor(None, Role.PUBLIC)


@cache
def _limit(text: str) -> TimeLimit:
    return TimeLimit.parse(text)


class _Stop(Exception):
    """The next action would fall after the end of the history: the case stays as it is."""


def live_from(until: datetime, calendar: WorkCalendar, workdays: int = 2) -> datetime:
    """The start of the last ``workdays`` working days up to ``until`` (days off between them
    included): the cases reported since then may still be waiting for someone."""
    day, found = until.astimezone(local_zone()).date(), 0
    for _ in range(31):  # a long holiday is at most a few weeks
        found += calendar.is_workday(day)
        if found >= workdays:
            break
        day -= timedelta(days=1)
    return datetime.combine(day, time(0), local_zone())


class Replay:
    """Drives each reported case through the real lifecycle as the staff would, with
    realistic delays (command center 07:30–22:00, units and inspectors in working hours).

    With ``live_since``, part of the cases reported since then stop at one step (``HOLDS``):
    the work of today's queues, as a real city has at any moment."""

    def __init__(self, city: City, layout: Layout, rng: random.Random, until: datetime,
                 live_since: datetime | None = None) -> None:
        self.city, self.rules, self.rng, self.until = city, city.rules, rng, until
        self.live_since = live_since
        self.held: frozenset[Action] = frozenset()
        self.stage: str | None = None
        self.beat = {g for g, who in city.inspectors_by_grid.items() if who == DEMO_INSPECTOR}
        self.work = city.calendar(self.rules.config.task_calendar)
        self.places = {code: (cell, community, street) for code, cell, community, street in layout.grids()}
        self.layout = layout
        self.texts: dict[str, list[str]] = demo_data()["texts"]
        self.recent: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.actors: dict[str, Actor] = {}

    def run(self, case_no: str, spec: ReportSpec) -> Case:
        case = report(self._data(case_no, spec), self.rules, self._reporter(spec))
        self.stage = self._hold_stage(spec)
        self.held = HOLDS[self.stage][1] if self.stage else frozenset()
        with contextlib.suppress(_Stop):
            self._lifecycle(case, spec)
        if case.status is not CaseStatus.CANCELLED:
            self.recent[(spec.grid, spec.category)] = (case_no, spec.at)
        return case

    def _hold_stage(self, spec: ReportSpec) -> str | None:
        """The step a live case waits at (None: it runs its course)."""
        if self.live_since is None or spec.at < self.live_since or self.rng.random() >= HOLD_SHARE:
            return None
        weights = {stage: weight for stage, (weight, _) in HOLDS.items()}
        if spec.source not in (Source.PUBLIC, Source.HOTLINE):
            weights["verify"] = 0
        boost = {}
        if spec.grid in self.beat:
            boost = INSPECTOR_HOLDS
        elif self.city.responsible(spec.category, spec.grid, spec.owner).unit == DEMO_UNIT:
            boost = UNIT_HOLDS
        for stage, factor in boost.items():
            weights[stage] *= 1 + 3 * factor
        return Weighted(weights).pick(self.rng)

    # -- helpers ----------------------------------------------------------------------------

    def _act(self, case: Case, action: Action, at: datetime, actor: Actor, **fields: Any) -> datetime:
        if at >= self.until or action in self.held:
            raise _Stop
        apply(case, Command(action, at, actor, **fields), self.rules)
        return at

    def _actor(self, login: str, role: Role, unit: str | None = None) -> Actor:
        if login not in self.actors:
            self.actors[login] = Actor(login, role, unit)
        return self.actors[login]

    def _inspector(self, grid: str) -> Actor:
        return self._actor(self.city.inspectors_by_grid.get(grid) or "inspector01", Role.INSPECTOR)

    def _handler(self, unit: str) -> Actor:
        return self._actor(handler_login(unit), Role.HANDLER, unit)

    def _reporter(self, spec: ReportSpec) -> Actor:
        if spec.source is Source.INSPECTOR:
            return self._inspector(spec.grid)
        return CITIZEN if spec.source is Source.PUBLIC else ACCEPTOR

    def _text(self, key: str) -> str:
        return self.rng.choice(self.texts[key])

    def _center(self, t: datetime, low: int, high: int) -> datetime:
        """When the command center acts: minutes later by day, mostly the next morning at night."""
        delay = timedelta(seconds=self.rng.randint(low * 60, high * 60))
        local = t.astimezone(local_zone())
        if 7 <= local.hour < 22 or self.rng.random() < 0.2:
            return t + delay
        day = local.date() + timedelta(days=int(local.hour >= 22))
        return datetime.combine(day, time(7, 30), local_zone()) + delay

    def _task_time(self, t: datetime, limit_text: str) -> datetime:
        """An inspector's verify/check: within its limit, now and then after it."""
        limit = _limit(limit_text)
        share = self.rng.uniform(1.1, 3.0) if self.rng.random() < P_TASK_LATE else self.rng.uniform(0.15, 0.92)
        return self.work.add(t, int(limit.seconds * share), limit.working)

    def _open(self, case: Case) -> tuple[Any, WorkCalendar, TimeLimit]:
        assignment = case.open_assignment
        if assignment is None:
            raise RuntimeError(f"case {case.case_no} has no open assignment")
        return assignment, self.rules.calendar(assignment.calendar), _limit(assignment.limit)

    def _data(self, case_no: str, spec: ReportSpec) -> ReportData:
        cell, community, street = self.places[spec.grid]
        public = spec.source in (Source.PUBLIC, Source.HOTLINE)
        name = self.city.taxonomy.matter(spec.category).name
        reporter = phone = None
        if public:
            reporter = self.rng.choice(demo_data()["surnames"]) + self.rng.choice(("先生", "女士"))
            phone = f"1{self.rng.choice('3578')}{self.rng.randrange(10)}****{self.rng.randrange(10 ** 4):04d}"
        return ReportData(
            case_no=case_no, source=spec.source, category_code=spec.category, at=spec.at,
            urgency=spec.urgency, location=self.city.location_of_grid(spec.grid, spec.lon, spec.lat),
            address=f"{street.name}{community.name}{self._road(cell)}",
            description=self._text("describe_public" if public else "describe").format(name=name),
            component_code=spec.component, reporter_name=reporter, reporter_phone=phone)

    def _road(self, cell: Cell) -> str:
        roads = demo_data()["roads"]
        ew = roads["east_west"][cell[0] * len(roads["east_west"]) // (len(self.layout.ys) - 1)]
        ns = roads["north_south"][cell[1] * len(roads["north_south"]) // (len(self.layout.xs) - 1)]
        if self.rng.random() < 0.5:
            return f"{ew}与{ns}交叉口{self.rng.choice('东西南北')}{self.rng.randrange(2, 20) * 10}米"
        return f"{ew}{self.rng.randrange(1, 300)}号附近"

    # -- the steps --------------------------------------------------------------------------

    def _lifecycle(self, case: Case, spec: ReportSpec) -> None:
        t = spec.at
        if spec.source is Source.HOTLINE:  # the acceptor sends the call for 核实
            t = self._act(case, Action.REQUEST_VERIFY, self._center(t, 2, 20), ACCEPTOR)
        if spec.source in (Source.PUBLIC, Source.HOTLINE):
            t = self._act(case, Action.VERIFY, self._task_time(t, self.rules.config.verify_limit),
                          self._inspector(spec.grid))
        filed = self._file(case, spec, t)
        if filed is None:
            return
        t = self._dispatch(case, spec, filed)
        t = self._handle(case, t, rework=False)
        t = self._act(case, Action.CLOSE, self._center(t, 5, 60), SHIFT)
        self._rate(case, t)

    def _cancel_reason(self, spec: ReportSpec) -> CancelReason | None:
        roll = self.rng.random()
        for reason, odds in zip(CANCEL_ORDER, CANCEL_ODDS[spec.source in (Source.PUBLIC, Source.HOTLINE)],
                                strict=True):
            if roll < odds:
                return reason
            roll -= odds
        return None

    def _duplicate_of(self, spec: ReportSpec) -> str | None:
        found = self.recent.get((spec.grid, spec.category))
        return found[0] if found and spec.at - found[1] <= timedelta(days=5) else None

    def _file(self, case: Case, spec: ReportSpec, t: datetime) -> datetime | None:
        """立案, or 作废 (invalid, duplicate of an earlier case, out of scope)."""
        at = self._center(t, 3, 30)
        reason = self._cancel_reason(spec)
        if reason is None:
            return self._act(case, Action.FILE, at, SHIFT)
        duplicate = self._duplicate_of(spec) if reason is CancelReason.DUPLICATE else None
        if reason is CancelReason.DUPLICATE and duplicate is None:
            reason = CancelReason.INVALID
        note = f"与案件 {duplicate} 重复" if duplicate else self._text(reason.value)
        self._act(case, Action.CANCEL, at, SHIFT, reason=reason.value, duplicate_of=duplicate, note=note)
        return None

    def _dispatch(self, case: Case, spec: ReportSpec, t: datetime) -> datetime:
        """派遣 to the responsible unit; now and then first to a wrong one, which returns it."""
        right = self.city.responsible(spec.category, spec.grid, spec.owner).unit
        if right is None:
            raise InvalidInput(f"示范城市的责任矩阵不完整：事项 {spec.category}，网格 {spec.grid}",
                               code="demo_matrix_gap")
        at = self._center(t, 2, 20)
        if self.rng.random() < P_RETURN:
            office = self.places[spec.grid][2].office.code
            wrong = office if right != office else "CGZF"
            self._act(case, Action.DISPATCH, at, DISPATCHER, unit=wrong)
            at = self._center(self._return(case), 5, 40)
        return self._act(case, Action.DISPATCH, at, DISPATCHER, unit=right)

    def _return(self, case: Case) -> datetime:
        assignment, calendar, _ = self._open(case)
        window = _limit(self.rules.config.return_window)
        at = calendar.add(assignment.started_at, int(window.seconds * self.rng.uniform(0.1, 0.9)), window.working)
        return self._act(case, Action.RETURN, at, self._handler(assignment.unit_code), reason=self._text("return"))

    def _handle(self, case: Case, t: datetime, rework: bool) -> datetime:
        """处置: maybe an extension or a suspension, maybe supervision, then the feedback and the check."""
        if not rework:
            roll = self.rng.random()
            if self.stage == "extension":
                roll = 0.0
            elif self.stage in ("suspension", "suspended"):
                roll = P_EXTENSION
            if roll < P_EXTENSION:
                t = self._extension(case, t)
            elif roll < P_EXTENSION + P_SUSPEND:
                t = self._suspension(case, t)
        feedback = self._feedback_time(case, t)
        self._supervise(case, feedback)
        assignment, _, _ = self._open(case)
        self._act(case, Action.FEEDBACK, feedback, self._handler(assignment.unit_code))
        return self._check(case, feedback, rework)

    def _feedback_time(self, case: Case, t: datetime) -> datetime:
        assignment, calendar, limit = self._open(case)
        if self.rng.random() >= P_LATE:
            left = calendar.counted_seconds(t, assignment.deadline, limit.working)
            if left > 600:
                return calendar.add(t, int(left * self.rng.uniform(0.1, 0.95)), limit.working)
        extra = int(limit.seconds * self.rng.uniform(0.05, 1.2)) + 600
        return calendar.add(max(t, assignment.deadline), extra, limit.working)

    def _supervise(self, case: Case, feedback: datetime) -> None:
        assignment, _, _ = self._open(case)
        late = feedback > assignment.deadline
        if self.rng.random() >= P_SUPERVISE[late]:
            return
        start = max(case.events[-1].at, assignment.deadline) if late else case.events[-1].at
        at = start + timedelta(seconds=int((feedback - start).total_seconds() * self.rng.uniform(0.2, 0.8)))
        actor = LEADER if self.rng.random() < 0.4 else SHIFT
        self._act(case, Action.SUPERVISE, at, actor, note=self._text("supervise"))

    def _extension(self, case: Case, t: datetime) -> datetime:
        assignment, calendar, limit = self._open(case)
        left = calendar.counted_seconds(t, assignment.deadline, limit.working)
        if left < 1200:
            return t
        asked_at = calendar.add(t, int(left * self.rng.uniform(0.2, 0.6)), limit.working)
        asked = self.rng.choice(("4wh", "1wd") if limit.text.endswith("wh") else ("2wd", "3wd", "5wd"))
        self._act(case, Action.REQUEST_EXTENSION, asked_at, self._handler(assignment.unit_code),
                  limit=asked, reason=self._text("extension"))
        decided = min(self._center(asked_at, 10, 120), assignment.deadline)
        if self.rng.random() < P_GRANT:
            return self._act(case, Action.EXTEND, decided, SHIFT, limit=asked)
        return self._act(case, Action.REJECT_EXTENSION, decided, SHIFT, reason=self._text("reject_extension"))

    def _suspension(self, case: Case, t: datetime) -> datetime:
        assignment, calendar, limit = self._open(case)
        left = calendar.counted_seconds(t, assignment.deadline, limit.working)
        if left < 1200:
            return t
        asked_at = calendar.add(t, int(left * self.rng.uniform(0.1, 0.4)), limit.working)
        reason = self._text("suspend")
        handler = self._handler(assignment.unit_code)
        self._act(case, Action.REQUEST_SUSPENSION, asked_at, handler, reason=reason)
        at = min(self._center(asked_at, 10, 120), assignment.deadline)
        if self.rng.random() >= P_GRANT and self.stage != "suspended":
            return self._act(case, Action.REJECT_SUSPENSION, at, SHIFT,
                             reason=self._text("reject_suspension"))
        self._act(case, Action.SUSPEND, at, SHIFT, reason=reason)
        resumed = self.work.add(at, self.rng.randint(1, 8) * self.work.standard_day_seconds, True)
        return self._act(case, Action.RESUME, resumed, SHIFT)

    def _check(self, case: Case, fed: datetime, rework: bool) -> datetime:
        grid = case.location.grid_code if case.location else ""
        at = self._task_time(fed, self.rules.config.check_limit)
        if not rework and self.rng.random() < P_REWORK:
            self._act(case, Action.CHECK_FAIL, at, self._inspector(grid), note="现场未处置到位，需返工")
            return self._handle(case, at, rework=True)
        return self._act(case, Action.CHECK_PASS, at, self._inspector(grid))

    def _rate(self, case: Case, closed: datetime) -> None:
        if case.source is Source.PUBLIC and self.rng.random() < 0.55:
            at, actor = closed + timedelta(seconds=self.rng.randint(3600, 2 * 86400)), CITIZEN
        elif case.source is Source.HOTLINE and self.rng.random() < 0.85:
            at, actor = self.work.add(closed, self.rng.randint(1800, 27000), True), ACCEPTOR
        else:
            return
        late = any(a.on_time is False for a in case.assignments)
        self._act(case, Action.RATE, at, actor, value=RATINGS[late].pick(self.rng))


def history_days(end: date, months: int) -> list[date]:
    start = history_start(end, months)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def daily_counts(days: Sequence[date], calendar: WorkCalendar, months: int, rng: random.Random) -> list[int]:
    """Reports per day: ``cases_per_month`` × months in all, fewer on weekends and holidays."""
    data = demo_data()
    weights = [data["day_weights"][day_kind(d, calendar)] for d in days]
    per_weight = data["cases_per_month"] * months / sum(weights)
    return [max(0, round(rng.gauss(w * per_weight, math.sqrt(w * per_weight)))) for w in weights]


def replay_history(city: City, layout: Layout, parts: Sequence[ComponentRow], *, seed: int, months: int,
                   end: date, now: datetime | None = None) -> Iterator[list[Case]]:
    """Each day's cases, numbered YYYYMMDD + serial in report order and driven through their
    lifecycle until the end of ``end`` (Asia/Shanghai), or until ``now`` when that is earlier
    (nothing is dated in the future). Deterministic for (seed, months, end) before ``now``.
    A history that reaches ``now`` is live: its last working days leave work in every queue."""
    rng = random.Random(seed)
    days = history_days(end, months)
    until = datetime.combine(end + timedelta(days=1), time(0), local_zone())
    live = now is not None and now <= until
    if now is not None:
        until = min(until, now)
    work = city.calendar("default")
    counts = daily_counts(days, work, months, rng)
    reports = Reports(layout, parts, rng)
    replay = Replay(city, layout, rng, until, live_from(until, work) if live else None)
    for day, count in zip(days, counts, strict=True):
        prefix = day.strftime("%Y%m%d")
        specs = [spec for spec in reports.day(day, count) if spec.at < until]
        yield [replay.run(f"{prefix}{i:06d}", spec) for i, spec in enumerate(specs, start=1)]


# --- progress, summary, entry points --------------------------------------------------------


class Steps:
    """A rich progress bar on stderr when enabled; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=Console(stderr=True)) if enabled else None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Steps:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def add(self, description: str, total: int) -> None:
        if self.bar is not None:
            self.tasks[description] = self.bar.add_task(description, total=total)

    def advance(self, description: str, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.tasks[description], n)


@dataclass(frozen=True)
class DemoSummary:
    """What the demo built, counted from the database; ``str()`` is the Chinese summary."""

    city: str
    seed: int
    regions: Mapping[str, int]  # street, zone, community, village, grid
    units: int
    rules: int
    components: int
    users: Mapping[str, int]  # role -> count
    cases: Mapping[str, int]  # status -> count
    first_day: date | None
    last_day: date | None
    published: tuple[str, ...] = ()  # the months whose assessment is published
    district_logins: tuple[tuple[str, str], ...] = ()  # (district name, its center's logins)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    def __str__(self) -> str:
        r = self.regions
        lines = [
            f"示范城市“{self.city}”已生成（随机种子 {self.seed}）",
            *([f"  区（县） {r['district']} 个（其一为开发区），各有区级指挥中心"] if r.get("district") else []),
            f"  区域：街道 {r['street']} 个、开发区 {r['zone']} 个、社区 {r['community']} 个、"
            f"村 {r['village']} 个、单元网格 {r['grid']:,} 个",
            f"  单位 {self.units} 个，责任规则 {self.rules} 条，部件 {self.components:,} 个",
            f"  用户 {sum(self.users.values())} 个："
            + "、".join(f"{Role(role).label} {n}" for role, n in self.users.items()),
        ]
        if self.total_cases:
            by_status = "、".join(f"{s.label} {self.cases[s.value]:,}" for s in CaseStatus
                                 if self.cases.get(s.value))
            lines.append(f"  历史案件 {self.total_cases:,} 件（{self.first_day} 至 {self.last_day}）：{by_status}")
        else:
            lines.append("  未生成历史案件")
        if self.published:
            lines.append(f"  已发布考核月份：{'、'.join(self.published)}（当月考核进行中）")
        lines.append(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
        lines += [f"  {role.label}：{login}" for login, role in DEMO_LOGINS]
        lines += [f"  {name}指挥中心：{logins}" for name, logins in self.district_logins]
        return "\n".join(lines)


def _count(session: Session, table: Any) -> int:
    return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def _region_counts(session: Session) -> dict[str, int]:
    counts = Counter[str]({"street": 0, "zone": 0, "community": 0, "village": 0, "grid": 0})
    for code, level, kind in session.execute(select(regions.c.code, regions.c.level, regions.c.kind)):
        if level == RegionLevel.DISTRICT.value:
            counts["district"] += 1
        elif level == RegionLevel.STREET.value:
            counts["zone" if kind == "zone" else "street"] += 1
        elif level == RegionLevel.COMMUNITY.value:
            counts["village" if int(code[-3:]) >= VILLAGE_FROM else "community"] += 1
        elif level == RegionLevel.GRID.value:
            counts["grid"] += 1
    return dict(counts)


def _local_day(t: datetime | None) -> date | None:
    return t.astimezone(local_zone()).date() if t is not None else None


def _grouped(session: Session, column: Any) -> dict[str, int]:
    return {str(key): int(n) for key, n in session.execute(select(column, func.count()).group_by(column))}


def summarise(session: Session, seed: int) -> DemoSummary:
    roles = _grouped(session, users.c.role)
    statuses = _grouped(session, cases.c.status)
    first, last = session.execute(select(func.min(cases.c.reported_at), func.max(cases.c.reported_at))).one()
    ordered_roles = {role: roles[role] for role in Role.values() if role in roles}
    return DemoSummary(
        city=demo_data()["city"]["name"], seed=seed, regions=_region_counts(session),
        units=_count(session, units), rules=_count(session, responsibility_rules),
        components=_count(session, components), users=ordered_roles, cases=statuses,
        first_day=_local_day(first), last_day=_local_day(last),
        published=tuple(sorted(assessment_store.published_periods(session))),
        district_logins=_district_logins(session))


def _district_logins(session: Session) -> tuple[tuple[str, str], ...]:
    found: dict[str, list[str]] = {}
    rows = session.execute(select(regions.c.name, users.c.login)
                           .join(users, users.c.district_code == regions.c.code)
                           .order_by(regions.c.code, users.c.login))
    for name, login in rows:
        found.setdefault(name, []).append(login)
    return tuple((name, "、".join(logins)) for name, logins in found.items())


def _check_options(months: int, history: bool) -> None:
    if history and not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(f"历史月数须在 1 到 {MAX_MONTHS} 之间（当前为 {months}）", code="invalid_months")


def _require_empty(session: Session) -> None:
    if any(_count(session, t) for t in (regions, units, cases)):
        raise InvalidInput("数据库中已有区域、单位或案件：示范城市只能建在空数据库上，请使用 --reset 先清空",
                           code="database_not_empty")


def store_history(session: Session, layout: Layout, *, seed: int, months: int, end: date, steps: Steps,
                  now: datetime | None = None) -> None:
    """Replay the history in memory and bulk-load it in chunks."""
    city = load_city(session)
    steps.add("生成历史案件（天）", len(history_days(end, months)))
    pending: list[Case] = []
    for day_cases in replay_history(city, layout, load_components(session), seed=seed, months=months, end=end,
                                    now=now):
        pending += day_cases
        if len(pending) >= FLUSH_EVERY:
            insert_cases(session, pending)
            pending = []
        steps.advance("生成历史案件（天）")
    insert_cases(session, pending)


def complete_months(first_day: date, now: datetime) -> list[Period]:
    """The months of a history from ``first_day`` that have wholly passed at ``now``."""
    found = []
    index = first_day.year * 12 + first_day.month - 1 + (first_day.day > 1)
    while (period := Period.of("month", index)).end <= now:
        found.append(period)
        index += 1
    return found


def history_months(first_day: date, until: datetime) -> list[Period]:
    """The months of a history from ``first_day`` begun before ``until`` (the last may run on)."""
    found, index = [], first_day.year * 12 + first_day.month - 1
    while (period := Period.of("month", index)).start < until:
        found.append(period)
        index += 1
    return found


def publish_months(session: Session, first_day: date, until: datetime,
                   config: AssessmentConfig | None = None) -> list[str]:
    """Publish (freeze) every month of the history from ``first_day`` that is complete at
    ``until`` (its end or the present), as the admin would: /public/rankings shows the last one;
    the current month stays open."""
    city, config = load_city(session), config or load_config()
    done = []
    for period in complete_months(first_day, until):
        publish(session, city, period.label, config, until, CENTER_STAFF[-1][0])
        done.append(period.label)
    return done


def build_demo_city_on(engine: Engine, *, seed: int = 1, months: int = 6, end: date | None = None,
                       history: bool = True, progress: bool = False,
                       now: datetime | None = None,
                       config: AssessmentConfig | None = None, publish: bool = True,
                       districts: int = 0) -> DemoSummary:
    """Build X市 (and its history unless ``history`` is false) on an initialised, empty database;
    with ``districts``, as a prefecture city of that many districts (:func:`plan_prefecture`).

    The history never runs past ``now`` (default: the current time); unless ``publish`` is false,
    its complete months are published with the assessment ``config`` (default: the shipped one)."""
    _check_options(months, history)
    now = now or datetime.now(local_zone())
    last_day = end or now.date()
    layout = plan_prefecture(districts) if districts else plan_layout()
    with Steps(progress) as steps:
        steps.add("建设城市：区域、单位、责任矩阵、人员、部件", 1)
        with transaction(engine) as session:
            _require_empty(session)
            store_city(session, layout)
        steps.advance("建设城市：区域、单位、责任矩阵、人员、部件")
        if history:
            with transaction(engine) as session:
                store_history(session, layout, seed=seed, months=months, end=last_day, steps=steps,
                              now=now)
            with transaction(engine) as session:  # a survey per street, answered month by month
                until = min(now, datetime.combine(last_day + timedelta(days=1), time(0), local_zone()))
                demo_surveys(session, load_city(session), seed, history_months(history_start(last_day, months), until),
                             until, CENTER_STAFF[3][0])
            with transaction(engine) as session:  # the 双十 plan and its supervision orders
                build_demo_programme(session, load_city(session), now)
        with transaction(engine) as session:  # 重点项目、遗留问题 with months of progress
            build_demo_projects(session, now)
            build_demo_legacy(session, now)
        steps.add("更新查询统计信息", 1)
        analyze(engine)  # a fresh database has no planner statistics: the first queries crawl
        steps.advance("更新查询统计信息")
        if history and publish:
            first = history_start(last_day, months)
            until = min(now, datetime.combine(last_day + timedelta(days=1), time(0), local_zone()))
            with transaction(engine) as session:  # 考评: three monthly rounds, published before their months
                build_evaluation_demo(session, load_city(session), complete_months(first, until), seed)
            steps.add("发布已结束月份的考核结果", len(complete_months(first, until)))
            with transaction(engine) as session:
                done = publish_months(session, first, until, config)
            steps.advance("发布已结束月份的考核结果", len(done))
    with transaction(engine) as session:
        return summarise(session, seed)


def wipe_database(url: str) -> None:
    """Remove everything: the SQLite file (and its -wal/-shm), or every PostgreSQL table."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            meta.drop_all(conn)
    finally:
        engine.dispose()


def build_demo_city(settings: Settings, *, seed: int = 1, months: int = 6, end: date | None = None,
                    history: bool = True, reset: bool = True, progress: bool = False,
                    districts: int = 0) -> DemoSummary:
    """``xiuhua demo``: (re)create the database of ``settings`` and build X市 in it."""
    _check_options(months, history)
    if districts:
        plan_prefecture(districts)  # a refused count leaves the database as it was
    url = settings.effective_database_url
    if reset:
        wipe_database(url)
    engine = make_engine(url, echo=settings.sql_echo)
    try:
        init_database(engine)
        return build_demo_city_on(engine, seed=seed, months=months, end=end, history=history,
                                  progress=progress, config=load_config(settings.data_dir),
                                  districts=districts)
    finally:
        engine.dispose()
