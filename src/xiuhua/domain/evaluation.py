"""Field evaluation (考评): standards, evaluation points, inspection rounds and their scores.

A **standard** (考评标准) is an indicator tree of up to four levels; each leaf is an item with its
full points, the point kinds it applies to, a deduction rule and the matter class a deduction
becomes as a case. An **evaluation point** (测评点位) is a place of a kind (主次干道, 公园 …) in a
street, evaluated as the responsibility of one unit (by default the street office of its
street). A **round** (考评检查) samples points of a month, stratified by kind and street from a
recorded seed; evaluators record deductions point by point; on close each deduction becomes a
rectification case; once published the round counts in the ``evaluation`` score source.

Scores, one rule each (exact arithmetic, rounding is the caller's):

- point score = 100 × max(0, Σ item points − Σ deductions) ÷ Σ item points, over the items
  applicable to its kind; a per-occurrence item deducts ``each`` per occurrence up to its points,
  a pass/fail item its points on any occurrence;
- region (street, community) field score = the kind-weighted mean of its sampled points' scores;
- unit field score = the kind-weighted mean of the scores of the points it is the evaluated unit of.

Publication order: a round counts in the month it is booked into — its own month when that month's
assessment is not yet published when the round is, else the next month not yet published.
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from xiuhua.domain.assessment import Period
from xiuhua.domain.choices import DeductionRule, RoundState
from xiuhua.domain.errors import ActionRefused, InvalidInput
from xiuhua.domain.sources import (
    SourceResult,
    UnitFacts,
    config_error,
    config_number,
    register_source,
)

EVALUATION = "evaluation"  # the score source's name
MAX_LEVELS = 4  # the indicator tree: up to three headings above the leaf item
FAR_METRES = 200  # a photo taken farther than this from its point is flagged
MAX_COUNT = 99  # occurrences of one problem in one entry
POINT_KINDS = ("主次干道", "背街小巷", "公园", "广场", "集贸市场", "老旧小区", "商业综合体", "公厕",
               "建筑工地", "学校周边", "城中村")
DEFAULT_PER_KIND = 2


def _invalid(message: str, code: str = "invalid_standard") -> InvalidInput:
    return InvalidInput(message, code=code)


# --- standards ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A leaf of a standard: what is checked and how a problem found costs points."""

    headings: tuple[str, ...]  # the levels above the item, top first (1–3)
    description: str
    points: Fraction  # the item's full points (and the cap of its deductions)
    rule: DeductionRule
    each: Fraction  # per occurrence (per_occurrence); the whole points for pass_fail
    kinds: frozenset[str]  # the point kinds it applies to; empty: every kind
    matter_code: str  # the taxonomy's matter class a deduction becomes as a case
    id: int | None = None

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise _invalid("考评内容不能为空")
        if not 1 <= len(self.headings) + 1 <= MAX_LEVELS or not all(h.strip() for h in self.headings):
            raise _invalid(f"指标层级须为 2–{MAX_LEVELS} 级（至少一级指标和考评内容，中间不能有空级）")
        if self.points <= 0:
            raise _invalid("分值须大于 0")
        if self.rule is DeductionRule.PER_OCCURRENCE and not 0 < self.each <= self.points:
            raise _invalid("每处扣分须大于 0 且不超过分值")

    def applies_to(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def deduction(self, count: int) -> Fraction:
        """The points ``count`` occurrences cost: each × count up to the points; pass/fail all."""
        if count <= 0:
            return Fraction(0)
        if self.rule is DeductionRule.PASS_FAIL:
            return self.points
        return min(self.points, self.each * count)

    @property
    def levels(self) -> tuple[str, ...]:
        return (*self.headings, self.description)

    @property
    def rule_text(self) -> str:
        """The 扣分标准 as the office's sheet writes it (and :func:`parse_rule` reads it)."""
        if self.rule is DeductionRule.PASS_FAIL:
            return "不合格扣全分"
        return f"每处扣{_number(self.each)}分，扣完为止"


def _number(value: Fraction) -> str:
    text = f"{float(value):.4f}".rstrip("0").rstrip(".")
    return text or "0"


_EACH = re.compile(r"每(?:处|次|个|起|例)扣\s*([0-9]+(?:\.[0-9]+)?)\s*分")
_PASS_FAIL = ("不合格", "不达标", "全扣", "扣全分", "扣除全部")


def parse_rule(text: str, points: Fraction) -> tuple[DeductionRule, Fraction]:
    """The rule of a 扣分标准 text: "每处扣0.5分" (per occurrence) or "不合格扣全分" (pass/fail);
    the codes ``per_occurrence:0.5`` / ``pass_fail`` are read too."""
    text = text.strip()
    if text == DeductionRule.PASS_FAIL.value or any(word in text for word in _PASS_FAIL):
        return DeductionRule.PASS_FAIL, points
    coded = re.fullmatch(r"per_occurrence\s*:\s*([0-9]+(?:\.[0-9]+)?)", text)
    found = coded or _EACH.search(text)
    if found is None:
        raise _invalid(f"看不懂扣分标准“{text}”：写“每处扣0.5分”或“不合格扣全分”")
    return DeductionRule.PER_OCCURRENCE, Fraction(found.group(1))


def parse_points(text: str) -> Fraction:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _invalid(f"分值“{text}”不是数字") from None
    if not value.is_finite() or value <= 0 or value > 100:
        raise _invalid(f"分值“{text}”须大于 0 且不超过 100")
    return Fraction(value)


def parse_kinds(text: str) -> frozenset[str]:
    """Point kinds separated by ; 、 or ，; blank: every kind."""
    return frozenset(k.strip() for k in re.split(r"[;；、,，]", text) if k.strip())


@dataclass(frozen=True)
class Standard:
    """A standard (考评标准) of a year: its items in sheet order."""

    name: str
    year: int
    items: tuple[Item, ...]
    id: int | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise _invalid("标准名称不能为空")
        if not 2000 <= self.year <= 2100:
            raise _invalid(f"年度 {self.year} 不在 2000–2100 之间")
        if not self.items:
            raise _invalid("标准中没有考评项目")

    def applicable(self, kind: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.applies_to(kind))

    @property
    def total_points(self) -> Fraction:
        return sum((i.points for i in self.items), Fraction(0))


# --- scores ---------------------------------------------------------------------------------


def point_score(items: Iterable[Item], counts: Mapping[int, int]) -> Fraction | None:
    """100 × max(0, Σ points − Σ deductions) ÷ Σ points over the applicable ``items``;
    ``counts``: occurrences by item id. None when no item applies."""
    items = list(items)
    total = sum((i.points for i in items), Fraction(0))
    if not total:
        return None
    deducted = sum((i.deduction(counts.get(i.id or 0, 0)) for i in items), Fraction(0))
    return 100 * max(Fraction(0), total - deducted) / total


@dataclass(frozen=True)
class PointResult:
    """A sampled point's score in a round, with what it is grouped by."""

    point_id: int
    kind: str
    street_code: str | None
    community_code: str | None
    unit_code: str | None
    score: Fraction


def kind_weighted_mean(results: Iterable[PointResult],
                       weights: Mapping[str, Fraction]) -> Fraction | None:
    """Σ w(kind)·score ÷ Σ w(kind); a kind the table leaves out weighs 1. None: no point."""
    pairs = [(weights.get(r.kind, Fraction(1)), r.score) for r in results]
    total = sum((w for w, _ in pairs), Fraction(0))
    if not total:
        return None
    return sum((w * s for w, s in pairs), Fraction(0)) / total


def _grouped(results: Iterable[PointResult], key: Any,
             weights: Mapping[str, Fraction]) -> dict[str, Fraction]:
    groups: dict[str, list[PointResult]] = defaultdict(list)
    for r in results:
        code = key(r)
        if code:
            groups[code].append(r)
    found = {code: kind_weighted_mean(rs, weights) for code, rs in groups.items()}
    return {code: value for code, value in found.items() if value is not None}


def region_scores(results: Iterable[PointResult], weights: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """Each street's and community's field score (by region code)."""
    results = list(results)
    return {**_grouped(results, lambda r: r.street_code, weights),
            **_grouped(results, lambda r: r.community_code, weights)}


def unit_scores(results: Iterable[PointResult], weights: Mapping[str, Fraction]) -> dict[str, Fraction]:
    """Each evaluated unit's field score (by unit code)."""
    return _grouped(results, lambda r: r.unit_code, weights)


def kind_weights(raw: Any, what: str = "kind_weights") -> dict[str, Fraction]:
    """A ``{ "主次干道" = 2, "公园" = 1 }`` table of ``assessment.toml``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise config_error(f"{what} 须为按点位类型的表，如 {{ \"主次干道\" = 2 }}")
    weights = {str(k): config_number(v, f"{what}.{k} ") for k, v in raw.items()}
    if any(w <= 0 for w in weights.values()):
        raise config_error(f"{what} 的权重须大于 0")
    return weights


@dataclass(frozen=True)
class EvaluationSettings:
    """The ``[evaluation]`` table of ``assessment.toml``: kind weights of the roll-ups, the
    evaluated unit by point kind (``kind_units = { "公园" = "U-YL" }``; others: the street office)."""

    kind_weights: Mapping[str, Fraction] = field(default_factory=dict)
    kind_units: Mapping[str, str] = field(default_factory=dict)


def parse_settings(file: Mapping[str, Any]) -> EvaluationSettings:
    table = file.get(EVALUATION, {})
    if not isinstance(table, dict):
        raise config_error("[evaluation] 须为表")
    units = table.get("kind_units", {})
    if not isinstance(units, dict) or not all(isinstance(v, str) and v for v in units.values()):
        raise config_error("[evaluation] 的 kind_units 须为点位类型到单位代码的表，如 { \"公园\" = \"U-YL\" }")
    return EvaluationSettings(kind_weights(table.get("kind_weights"), "[evaluation] kind_weights"),
                              {str(k): v for k, v in units.items()})


def evaluated_unit(kind: str, street_office: str | None, kind_units: Mapping[str, str],
                   given: str | None = None) -> str | None:
    """Who answers for a point: the unit given, else the kind's unit, else its street's office."""
    return given or kind_units.get(kind) or street_office


# --- sampling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A point as sampling sees it."""

    id: int
    kind: str
    street_code: str | None


def draw_sample(places: Iterable[Place], seed: int, per_kind: int) -> list[int]:
    """Stratified random sampling: up to ``per_kind`` points of each (kind, street), drawn from
    ``seed``. The same seed and the same set of points give the same sample, whatever their order."""
    if per_kind < 1:
        raise InvalidInput("每类每街道抽取的点位数须至少为 1", code="invalid_per_kind")
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for p in places:
        strata[(p.kind, p.street_code or "")].append(p.id)
    chosen: list[int] = []
    for (kind, street), ids in sorted(strata.items()):
        rng = random.Random(f"{seed}|{kind}|{street}")
        chosen += rng.sample(sorted(set(ids)), min(per_kind, len(set(ids))))
    return sorted(chosen)


# --- rounds ---------------------------------------------------------------------------------


def month_of(text: str) -> Period:
    period = Period.parse(text)
    if period.kind != "month":
        raise InvalidInput(f"考评检查按月进行：“{text}”不是月份（如 2026-11）", code="invalid_period")
    return period


def check_state(state: RoundState, allowed: Collection[RoundState], doing: str) -> None:
    """Refuse ``doing`` on a round whose state is not one of ``allowed``."""
    if state not in allowed:
        raise ActionRefused(f"考评检查{state.label}，不能{doing}", code=f"round_{state.value}")


def booked_period(month: str, published_months: Collection[str]) -> str:
    """The month a round of ``month`` counts in when published now: its own month unless that
    month's assessment is already published (frozen), else the next month not yet published."""
    period = month_of(month)
    while period.label in published_months:
        period = period.shift(1)
    return period.label


def deduction_count(count: int) -> int:
    if not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"问题处数须在 1–{MAX_COUNT} 之间", code="invalid_count")
    return count


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


def is_far(distance: float | None) -> bool:
    """A photo taken more than :data:`FAR_METRES` from its point (unknown distance: not flagged)."""
    return distance is not None and distance > FAR_METRES


# --- the evaluation score source ------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationFigures:
    """What the source scored a unit by: its sampled points (by kind) in the published rounds."""

    points: int
    by_kind: tuple[tuple[str, int], ...]
    rounds: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {"points": self.points, "by_kind": dict(self.by_kind), "rounds": list(self.rounds)}


@dataclass(frozen=True)
class UnitEvidence:
    """What the service loads for one unit: its points' results and the rounds they come from."""

    results: tuple[PointResult, ...]
    rounds: tuple[int, ...]


@dataclass(frozen=True)
class EvaluationSource:
    """Field evaluation (考评): the kind-weighted mean of the unit's sampled points' scores in
    the rounds booked into the period; no data when none of its points was sampled."""

    weights: Mapping[str, Fraction] = field(default_factory=dict)

    def result(self, unit: UnitFacts) -> SourceResult:
        found = unit.loaded.get(EVALUATION)
        evidence = found if isinstance(found, UnitEvidence) else UnitEvidence((), ())
        kinds: dict[str, int] = defaultdict(int)
        for r in evidence.results:
            kinds[r.kind] += 1
        figures = EvaluationFigures(len(evidence.results), tuple(sorted(kinds.items())), evidence.rounds)
        return SourceResult(kind_weighted_mean(evidence.results, self.weights), figures)


def parse_evaluation_source(table: Mapping[str, Any], file: Mapping[str, Any]) -> EvaluationSource:
    """``kind_weights`` of the source; where left out, those of ``[evaluation]``."""
    unknown = sorted(set(table) - {"kind_weights"})
    if unknown:
        raise config_error(f"评分来源 {EVALUATION} 不认识的设置：{'、'.join(unknown)}（可用：kind_weights）")
    if "kind_weights" in table:
        return EvaluationSource(kind_weights(table["kind_weights"]))
    return EvaluationSource(parse_settings(file).kind_weights)


register_source(EVALUATION, parse_evaluation_source)

