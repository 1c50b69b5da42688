"""Score sources (评分来源): the assessment score of a unit as a weighted mean of sources.

Each source scores one assessed unit in a period from its own evidence: a score from 0 to 100,
or None ("no data": nothing to judge the unit by, or too small a sample), with its figures. The
``cases`` source (the case-handling rates of :mod:`xiuhua.domain.assessment`) is registered
there; later sources (``tasks``, ``evaluation``, ``survey``) register themselves by name with
:func:`register_source`. ``assessment.toml`` lists the sources a city uses (``[[sources]]``:
``name``, ``weight`` and the source's own settings); a name nobody registered is refused.

Composite = Σ wₛ·Sₛ ÷ Σ wₛ over the sources with data for the unit, then − manual deductions +
bonus. A source weighted by kind of unit (``weight = { street = 0.5, department = 0.6 }``)
counts only for the kinds it names; a development zone takes the ``street`` weight unless
``zone`` is given. Exact arithmetic (:class:`~fractions.Fraction`); rounding is the caller's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

from xiuhua.domain.choices import AssessedKind
from xiuhua.domain.errors import InvalidInput

if TYPE_CHECKING:
    from xiuhua.domain.assessment import Measure


def config_error(reason: str) -> InvalidInput:
    """An error of ``assessment.toml``, in Chinese."""
    return InvalidInput(f"考核配置有误：{reason}", code="invalid_assessment_config")


def config_number(raw: Any, what: str) -> Fraction:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise config_error(f"{what}须为数字")
    return Fraction(str(raw))


class Figures(Protocol):
    """The typed figures a source scored a unit by."""

    def as_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SourceResult:
    """One source's verdict on one unit: ``score`` 0–100, or None when it has no data."""

    score: Fraction | None
    figures: Figures

    def __post_init__(self) -> None:
        if self.score is not None and not 0 <= self.score <= 100:
            raise ValueError(f"a source scored {self.score}, outside 0–100")


@dataclass(frozen=True)
class UnitFacts:
    """What a source may read of one assessed unit in the period."""

    code: str
    kind: AssessedKind | None
    counts: Mapping[Measure, int]  # the unit's case figures (``UNIT_MEASURES``)
    loaded: Mapping[str, Any] = field(default_factory=dict)  # by source name: what the service loaded


class ScoreSource(Protocol):
    """A configured source: scores one unit (a pure function of what it is given)."""

    def result(self, unit: UnitFacts) -> SourceResult: ...


# what the circular, the workbook and the pages call each source
SOURCE_LABELS = {"cases": "案件处置", "evaluation": "考评检查", "survey": "问卷调查", "tasks": "工作任务"}


def source_label(name: str) -> str:
    return SOURCE_LABELS.get(name, name)


# (the source's own table in assessment.toml, the whole file) -> the configured source
SourceParser = Callable[[Mapping[str, Any], Mapping[str, Any]], ScoreSource]
SOURCES: dict[str, SourceParser] = {}


def register_source(name: str, parser: SourceParser) -> None:
    """Make ``name`` usable in ``[[sources]]``; ``parser`` reads its own settings."""
    SOURCES[name] = parser


@dataclass(frozen=True)
class WeightedSource:
    """A source as ``assessment.toml`` uses it: its name, weight (one, or by kind) and settings."""

    name: str
    weight: Fraction | tuple[tuple[AssessedKind, Fraction], ...]
    source: ScoreSource

    def weight_for(self, kind: AssessedKind | None) -> Fraction | None:
        """The weight for a unit of ``kind``; None when the source does not count for it."""
        if isinstance(self.weight, Fraction):
            return self.weight
        by_kind = dict(self.weight)
        if kind is AssessedKind.ZONE and kind not in by_kind:
            kind = AssessedKind.STREET
        return by_kind.get(kind) if kind is not None else None


def _weight(raw: Any, name: str) -> Fraction | tuple[tuple[AssessedKind, Fraction], ...]:
    if isinstance(raw, dict):
        kinds = AssessedKind.values()
        unknown = [k for k in raw if k not in kinds]
        if unknown or not raw:
            raise config_error(f"评分来源 {name} 的 weight 须为数字或按单位类型的表（{', '.join(kinds)}），"
                               f"不认识：{'、'.join(unknown) or '空表'}")
        weights = tuple((AssessedKind(k), config_number(v, f"评分来源 {name} 的 weight.{k} "))
                        for k, v in raw.items())
        if any(w <= 0 for _, w in weights):
            raise config_error(f"评分来源 {name} 的各类单位权重须大于 0（不计入的类型不写）")
        return weights
    weight = config_number(raw, f"评分来源 {name} 的 weight ")
    if weight <= 0:
        raise config_error(f"评分来源 {name} 的 weight 须大于 0")
    return weight


def parse_sources(raw: Any, file: Mapping[str, Any]) -> tuple[WeightedSource, ...]:
    """The ``[[sources]]`` of ``assessment.toml`` (``file``: the whole parsed file)."""
    if not isinstance(raw, list) or not raw or not all(isinstance(t, dict) for t in raw):
        raise config_error("sources 须为 [[sources]] 表的列表（每个评分来源一个）")
    result: list[WeightedSource] = []
    for table in raw:
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise config_error("每个 [[sources]] 须有 name（评分来源名称，如 \"cases\"）")
        if name not in SOURCES:
            raise config_error(f"未知的评分来源“{name}”，可用：{', '.join(sorted(SOURCES))}")
        if any(s.name == name for s in result):
            raise config_error(f"评分来源 {name} 重复")
        if "weight" not in table:
            raise config_error(f"评分来源 {name} 缺少 weight")
        own = {k: v for k, v in table.items() if k not in ("name", "weight")}
        result.append(WeightedSource(name, _weight(table["weight"], name), SOURCES[name](own, file)))
    return tuple(result)


@dataclass(frozen=True)
class Scored:
    """One source's result for a unit, with the weight it has for the unit's kind."""

    name: str
    weight: Fraction
    result: SourceResult

    def as_json(self) -> dict[str, Any]:
        value = self.result.score
        return {"name": self.name, "score": float(value) if value is not None else None,
                "weight": float(self.weight), "figures": self.result.figures.as_json()}


def score_unit(sources: Sequence[WeightedSource], unit: UnitFacts) -> list[Scored]:
    """The results of the sources that count for the unit's kind, in the file's order."""
    found = []
    for s in sources:
        weight = s.weight_for(unit.kind)
        if weight is not None:
            found.append(Scored(s.name, weight, s.source.result(unit)))
    return found


def composite(scored: Sequence[Scored], deductions: Fraction = Fraction(0),
              bonus: Fraction = Fraction(0)) -> Fraction | None:
    """Σ wₛ·Sₛ ÷ Σ wₛ over the sources with data, − deductions + bonus; None when none has data."""
    with_data = [(s.weight, s.result.score) for s in scored if s.result.score is not None]
    total = sum((w for w, _ in with_data), Fraction(0))
    if not total:
        return None
    return sum((w * v for w, v in with_data), Fraction(0)) / total - deductions + bonus
