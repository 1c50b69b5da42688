"""Coverage check (无缝隙，消灭管理盲区): every active matter class has exactly one responsible
unit in every unit grid, and the grids tile the city with no gaps and no overlaps.

The matrix check resolves each (matter class, grid) once per *distinct chain of rule-bearing
areas*: a region without rules cannot change the answer, so grids whose grid/community/street/
city chain carries the same rule regions share one resolution. A city of 15,000 grids whose
rules sit on streets and the city resolves a few dozen chains instead of 15,000.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.city import City
from xiuhua.domain.geo import TilingProblem, check_tiling
from xiuhua.domain.regions import in_district
from xiuhua.domain.responsibility import check_matrix
from xiuhua.services.city import load_city
from xiuhua.store import city as store
from xiuhua.store.db import read_transaction

NO_RULES = "尚未设置任何责任规则：所有事项在所有网格都没有责任单位。请先用 xiuhua import rules 导入责任规则"
_KIND_ZH = {"gap": "缺失", "overlap": "重叠"}
_TILE_ZH = {"gap": "缝隙", "overlap": "重叠"}


@dataclass(frozen=True)
class ResponsibilityFinding:
    """Grids where one matter class has no responsible unit (gap) or several (overlap)."""

    category_code: str
    units: tuple[str, ...]
    reason: str
    grid_codes: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "gap" if not self.units else "overlap"


@dataclass(frozen=True)
class CoverageReport:
    city: City
    matter_count: int
    responsibility: Sequence[ResponsibilityFinding]
    tiling: Sequence[TilingProblem]
    rule_count: int | None = None  # None: not counted

    @property
    def no_rules(self) -> bool:
        return self.rule_count == 0 and self.grid_count > 0

    @property
    def grid_count(self) -> int:
        return len(self.city.grid_index)

    @property
    def ok(self) -> bool:
        return self.grid_count > 0 and not self.responsibility and not self.tiling

    def lines(self) -> list[str]:
        """One line per problem, then the summaries (matter class, street, district), then the
        verdict (zh-CN): what ``xiuhua check coverage --details`` prints."""
        return list(self.iter_lines())

    def iter_lines(self) -> Iterator[str]:
        yield from self.problem_lines()
        yield from self.summary_lines()

    def problem_lines(self) -> Iterator[str]:
        """One line per problem: each matter class and grid without (or with several)
        responsible units, each gap or overlap between grids."""
        if self.grid_count == 0:
            yield "尚未导入任何单元网格：请先用 xiuhua import regions 导入区域"
        if self.no_rules:
            yield NO_RULES
        else:
            findings = sorted(self.responsibility, key=lambda f: (f.kind, f.category_code, f.units))
            for finding in findings:
                yield from (self._responsibility_line(finding, grid) for grid in finding.grid_codes)
        yield from (self._tiling_line(p) for p in self.tiling)

    def summary_report(self) -> Iterator[str]:
        """What ``xiuhua check coverage`` prints without ``--details``: gaps and overlaps counted
        by matter class, by street and per district, then the verdict (no line per grid)."""
        if self.grid_count == 0:
            yield "尚未导入任何单元网格：请先用 xiuhua import regions 导入区域"
        if self.no_rules:
            yield NO_RULES
        yield from self.summary_lines()
        if self.tiling or (self.responsibility and not self.no_rules):
            yield "加 --details 逐条列出每个问题"

    def _street_of(self, grid: str) -> str:
        for code in self.city.areas(grid) if grid in self.city.regions else ():
            info = self.city.regions.get(code)
            if info is not None and info.level is RegionLevel.STREET:
                return f"{code} {info.name}"
        return "（不属于任何街道）"

    def _street_summary(self) -> Iterator[str]:
        counts: Counter[tuple[str, str]] = Counter()
        if not self.no_rules:
            for f in self.responsibility:
                for grid in f.grid_codes:
                    counts[(self._street_of(grid), f"责任{_KIND_ZH[f.kind]}")] += 1
        for p in self.tiling:
            street = self._street_of(p.codes[0]) if p.codes else "（无相邻网格）"
            counts[(street, f"网格{_TILE_ZH[p.kind]}")] += 1
        if not counts:
            return
        yield "按街道汇总："
        kinds = ("责任缺失", "责任重叠", "网格缝隙", "网格重叠")
        for street in sorted({street for street, _ in counts}):
            yield f"  {street}：" + "，".join(f"{kind} {counts[(street, kind)]} 处" for kind in kinds)

    def summary_lines(self) -> Iterator[str]:
        """The summaries by matter class, by street and per district (a prefecture city), then
        the verdict. Without any rule the matrix findings are left out: "no rules" is one
        message (:data:`NO_RULES`), not a gap per matter class, street and district."""
        if not self.no_rules:
            yield from self._category_summary()
        yield from self._street_summary()
        if not self.no_rules:
            yield from self.district_lines()
        yield self._summary()

    # --- formatting -----------------------------------------------------------------------

    def _matter(self, code: str) -> str:
        return f"{code} {self.city.taxonomy.matter(code).name}"

    def _region(self, code: str) -> str:
        info = self.city.regions.get(code)
        return f"{code} {info.name}" if info else code

    def _unit(self, code: str) -> str:
        info = self.city.units.get(code)
        return f"{code} {info.name}" if info else code

    def _responsibility_line(self, f: ResponsibilityFinding, grid: str) -> str:
        where = f"事项 {self._matter(f.category_code)}，网格 {self._region(grid)}"
        if f.kind == "gap":
            return f"责任缺失：{where}：没有责任单位"
        return f"责任重叠：{where}：{'、'.join(self._unit(u) for u in f.units)} 同时负责（{f.reason}）"

    def _tiling_line(self, p: TilingProblem) -> str:
        where = f"位置（{p.lon:.6f}, {p.lat:.6f}）"
        grids = "、".join(self._region(c) for c in p.codes)
        if p.kind == "overlap":
            return f"网格重叠：{grids} 重叠 {p.area_m2:.1f} 平方米，{where}"
        near = f"，相邻网格 {grids}" if grids else ""
        return f"网格缝隙：{p.area_m2:.1f} 平方米未被任何单元网格覆盖，{where}{near}"

    def _category_summary(self) -> Iterator[str]:
        counts: Counter[tuple[str, str]] = Counter()
        for f in self.responsibility:
            counts[(f.category_code, f.kind)] += len(f.grid_codes)
        if not counts:
            return
        yield "按事项汇总："
        for code in sorted({code for code, _ in counts}):
            yield (f"  事项 {self._matter(code)}：责任缺失 {counts[(code, 'gap')]} 个网格，"
                   f"责任重叠 {counts[(code, 'overlap')]} 个网格")

    def district_lines(self) -> Iterator[str]:
        """One line per district (区/县) of a prefecture city: its grids and whether every
        matter class has exactly one responsible unit in each of them (none for a county-level
        city)."""
        districts = sorted(code for code, info in self.city.regions.items()
                           if info.level is RegionLevel.DISTRICT)
        for code in districts:
            grids = [g for g in self.city.grid_index.codes if in_district(g, code)]
            found = {kind: sum(1 for f in self.responsibility if f.kind == kind
                               for g in f.grid_codes if in_district(g, code))
                     for kind in ("gap", "overlap")}
            head = f"{RegionLevel.DISTRICT.label} {self._region(code)}：{len(grids)} 个单元网格，"
            if not grids:
                yield head + "没有单元网格"
            elif not any(found.values()):
                yield head + f"责任覆盖完整（{self.matter_count} 个事项）"
            else:
                yield head + f"责任缺失 {found['gap']} 处、责任重叠 {found['overlap']} 处"

    def _summary(self) -> str:
        checked = f"{self.matter_count} 个事项 × {self.grid_count} 个单元网格"
        if self.no_rules:
            return f"覆盖检查未通过：没有任何责任规则；网格缝隙、重叠 {len(self.tiling)} 处；共检查 {checked}"
        if self.ok:
            return f"责任覆盖完整：{checked}均有且只有一个责任单位；网格无缝隙、无重叠"
        pairs = {kind: sum(len(f.grid_codes) for f in self.responsibility if f.kind == kind)
                 for kind in ("gap", "overlap")}
        matters = len({f.category_code for f in self.responsibility})
        tiles = {kind: [p.area_m2 for p in self.tiling if p.kind == kind] for kind in ("gap", "overlap")}
        return (f"覆盖检查未通过：责任缺失 {pairs['gap']} 处、责任重叠 {pairs['overlap']} 处（涉及 {matters} 个事项），"
                f"网格缝隙 {len(tiles['gap'])} 处（共 {sum(tiles['gap']):.1f} 平方米）、"
                f"网格重叠 {len(tiles['overlap'])} 处（共 {sum(tiles['overlap']):.1f} 平方米）；共检查 {checked}")


def _responsibility(city: City, rule_regions: set[str]) -> tuple[int, list[ResponsibilityFinding]]:
    """(number of active matter classes, findings) — resolving once per distinct rule chain."""
    matters = [(m.code, m.major_code) for m in city.taxonomy.matters() if m.active]
    groups: dict[tuple[str, ...], list[str]] = {}
    for grid in city.grid_index.codes:
        chain = tuple(code for code in city.areas(grid) if code in rule_regions)
        groups.setdefault(chain, []).append(grid)
    members = {grids[0]: tuple(grids) for grids in groups.values()}
    problems = check_matrix(city.matrix, matters, {grids[0]: chain for chain, grids in groups.items()})
    return len(matters), [
        ResponsibilityFinding(p.category_code, p.units, city.responsible(p.category_code, p.grid_code).reason,
                              members[p.grid_code])
        for p in problems
    ]


def _boundary(session: Session, city: City) -> Any:
    """The union of the city-level regions (None when there is none)."""
    geoms = [store.region_geometry(session, code) for code, info in city.regions.items()
             if info.level is RegionLevel.CITY]
    return shapely.union_all(geoms) if geoms else None


def check_coverage(engine: Engine) -> CoverageReport:
    """Check the responsibility matrix and the grid tiling of the city."""
    with read_transaction(engine) as session:
        return coverage_report(session)


def coverage_report(session: Session) -> CoverageReport:
    """:func:`check_coverage` reading through the caller's session."""
    city = load_city(session)
    rules = store.load_rules(session)
    rule_regions = {rule.region_code for rule in rules}
    boundary = _boundary(session, city)
    _infos, grids = store.load_regions(session)  # GridIndex keeps its geometries private
    matter_count, findings = _responsibility(city, rule_regions)
    tiling = check_tiling(grids, boundary) if grids or boundary is not None else []
    return CoverageReport(city, matter_count, findings, tiling, len(rules))
