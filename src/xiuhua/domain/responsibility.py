"""Who answers for a case: 权属 → 专业归口 → 属地兜底.

1. the owner unit of the component the case names, when it has one;
2. rules for the case's matter class and for its major category, the most specific area first
   (grid, then community, street, district where the city has districts, city); at equal
   area a matter rule beats a major rule;
3. only when no category rule applies, rules for "any" category (the street office of the grid).
Two different units at the same step are an overlap: the city must fix its matrix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from xiuhua.domain.errors import InvalidInput


class RuleScope(StrEnum):
    MATTER = "matter"
    MAJOR = "major"
    ANY = "any"


SCOPE_LABELS = {RuleScope.MATTER: "事项", RuleScope.MAJOR: "大类", RuleScope.ANY: "全部事项"}
LEVEL_LABELS = ("单元网格", "社区", "街道", "全市")
DISTRICT_LEVEL_LABELS = ("单元网格", "社区", "街道", "区（县）", "全市")  # a prefecture's chain


@dataclass(frozen=True)
class Rule:
    scope: RuleScope
    category: str | None  # matter code, major code, or None for ANY
    region_code: str
    unit_code: str

    def __post_init__(self) -> None:
        if (self.scope is RuleScope.ANY) != (self.category is None):
            raise InvalidInput("责任规则的适用范围与分类代码不一致", code="invalid_rule")


@dataclass(frozen=True)
class Answer:
    """The resolution: ``units`` has one unit when clear, none for a gap, several for an overlap."""

    units: tuple[str, ...]
    reason: str
    rule: Rule | None = None

    @property
    def unit(self) -> str | None:
        return self.units[0] if len(self.units) == 1 else None

    @property
    def is_gap(self) -> bool:
        return not self.units

    @property
    def is_overlap(self) -> bool:
        return len(self.units) > 1


class Matrix:
    """The responsibility matrix, indexed for fast resolution (coverage checks run it ~10^6 times)."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._index: dict[tuple[RuleScope, str | None, str], list[Rule]] = defaultdict(list)
        for rule in rules:
            self._index[(rule.scope, rule.category, rule.region_code)].append(rule)

    def _at(self, scope: RuleScope, category: str | None, region: str) -> list[Rule]:
        return self._index.get((scope, category, region), [])

    def resolve(self, category_code: str, major_code: str, areas: Sequence[str],
                component_owner: str | None = None) -> Answer:
        """Resolve for a matter class and the grid's areas, most specific first
        (grid, community, street, city)."""
        if component_owner:
            return Answer((component_owner,), "部件权属单位（权属）")
        for depth, region in enumerate(areas):
            for scope, code in ((RuleScope.MATTER, category_code), (RuleScope.MAJOR, major_code)):
                found = self._at(scope, code, region)
                if found:
                    return _answer(found, f"{_level(depth, areas)}"
                                          f"{SCOPE_LABELS[scope]}规则（专业归口）")
        for depth, region in enumerate(areas):
            found = self._at(RuleScope.ANY, None, region)
            if found:
                return _answer(found, f"{_level(depth, areas)}属地规则（属地兜底）")
        return Answer((), "没有适用的责任规则")


def _level(depth: int, areas: Sequence[str]) -> str:
    # a prefecture's grid has five areas (with its district); a county-level city's four or
    # fewer: label from the city end
    if len(areas) == len(DISTRICT_LEVEL_LABELS):
        return DISTRICT_LEVEL_LABELS[depth]
    return LEVEL_LABELS[depth + (len(LEVEL_LABELS) - len(areas))]


def _answer(found: list[Rule], reason: str) -> Answer:
    units = tuple(sorted({r.unit_code for r in found}))
    return Answer(units, reason, found[0] if len(units) == 1 else None)


@dataclass(frozen=True)
class CoverageProblem:
    category_code: str
    grid_code: str
    units: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "gap" if not self.units else "overlap"


def check_matrix(matrix: Matrix, matters: Iterable[tuple[str, str]],
                 grid_areas: Mapping[str, Sequence[str]]) -> list[CoverageProblem]:
    """Every (matter class, grid) without exactly one responsible unit."""
    problems = []
    for code, major in matters:
        for grid, areas in grid_areas.items():
            answer = matrix.resolve(code, major, areas)
            if len(answer.units) != 1:
                problems.append(CoverageProblem(code, grid, answer.units))
    return problems
