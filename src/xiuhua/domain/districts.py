"""Assessment at two levels (两级考核) of a prefecture city.

- the city's assessment scores and ranks its districts, and its own departments as units;
- a district's assessment scores and ranks its streets, and the units it dispatches to.

An area (district or street) is scored like a unit, from the units' case figures of the cases
located in it: every unit item the period counts (dispatched, handled on time, due, rework …) is
booked to the area of its case, and the area's score is the units' case terms and weights
(``config.terms``) over those counts, with the same minimum of cases due (样本不足), rounding,
grades and competition ranks as the units' rows. Region rows of the ordinary assessment keep
their figures without a score; the ordinary assessment's JSON is unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from xiuhua.domain.assessment import (
    UNIT_MEASURES,
    AssessmentConfig,
    Measure,
    Subject,
    Tally,
    UnitRow,
    competition_ranks,
    grade,
    published_score,
    terms_score,
    unit_rates,
)
from xiuhua.domain.choices import RegionLevel


@dataclass(frozen=True)
class AreaRow:
    """A district's or street's score from the units' case figures of its cases."""

    code: str
    level: RegionLevel
    name: str
    counts: Mapping[Measure, int]
    score: Decimal | None
    grade: str | None
    insufficient: bool
    rank: int | None = None

    def as_json(self) -> dict[str, Any]:
        rates = unit_rates(self.counts)
        return {"region_code": self.code, "level": self.level.value, "name": self.name,
                **{m.value: n for m, n in self.counts.items()},
                **{k: float(v) if v is not None else None for k, v in rates.items()},
                "score": float(self.score) if self.score is not None else None, "grade": self.grade,
                "rank": self.rank, "insufficient": self.insufficient}


def area_counts(tally: Tally, area_of_case: Mapping[str, str]) -> dict[str, dict[Measure, int]]:
    """The units' counts booked to the area of each item's case (cases outside every area left
    out)."""
    found: dict[str, dict[Measure, int]] = defaultdict(lambda: defaultdict(int))
    for measures in tally[Subject.UNITS].values():
        for measure, items in measures.items():
            for item in items:
                area = area_of_case.get(item.case_no)
                if area is not None:
                    found[area][measure] += 1
    return found


def _area_row(code: str, name: str, level: RegionLevel, found: Mapping[Measure, int],
              config: AssessmentConfig) -> AreaRow:
    counts = {m: found.get(m, 0) for m in UNIT_MEASURES}
    insufficient = counts[Measure.DUE] < config.minimum_due
    raw: Fraction | None = None if insufficient else terms_score(unit_rates(counts), config.terms)
    shown = published_score(raw) if raw is not None else None
    return AreaRow(code, level, name, counts, shown, grade(shown, config) if shown is not None else None,
                   insufficient)


def area_rows(counts: Mapping[str, Mapping[Measure, int]], areas: Mapping[str, str], level: RegionLevel,
              config: AssessmentConfig) -> list[AreaRow]:
    """Every area (code → name) scored and ranked, the ranked first."""
    rows = [_area_row(code, name, level, counts.get(code, {}), config) for code, name in areas.items()]
    ranks = competition_ranks({r.code: r.score for r in rows if r.score is not None})
    return sorted((replace(r, rank=ranks.get(r.code)) for r in rows),
                  key=lambda r: (r.rank is None, r.rank or 0, r.code))


def reranked(rows: Iterable[UnitRow], keep: Sequence[str]) -> list[UnitRow]:
    """The unit rows of ``keep`` only, ranked among themselves (no reward: bands are the city's)."""
    kept = [r for r in rows if r.unit_code in set(keep)]
    ranks = competition_ranks({r.unit_code: r.score for r in kept if r.score is not None})
    return sorted((replace(r, rank=ranks.get(r.unit_code), reward=None) for r in kept),
                  key=lambda r: (r.rank is None, r.rank or 0, r.unit_code))
