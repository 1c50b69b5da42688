"""Surveys (问卷调查): satisfaction questionnaires per street and the ``survey`` score source.

A survey belongs to one street (a region of level street) and asks questions of three kinds:

- ``choice`` (单选): options listed best first; option i of n scales to 100 × (n − 1 − i) ÷ (n − 1)
  (the first 100, the last 0, evenly between; two options: 100 and 0);
- ``scale`` (1–5 分): value v scales to 25 × (v − 1) (1 → 0, 3 → 50, 5 → 100);
- ``text`` (文字): free text, not scored.

An answer's score is the mean of its scaled answers; a street's survey score in a period is the
mean of the scores of the answers given in the period to its surveys. A street with fewer
answers than ``minimum_answers`` (default 30) has no data for the source (样本不足). The source
scores the street's evaluated unit: its street office. Exact arithmetic (Fraction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from xiuhua.domain.choices import QuestionKind
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.sources import SourceResult, UnitFacts, config_error, register_source

SURVEY = "survey"
DEFAULT_MINIMUM_ANSWERS = 30
MAX_QUESTIONS = 50
MAX_OPTIONS = 10
MAX_TEXT = 500  # characters of a question, an option or a free-text answer
SCALE = range(1, 6)


def invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_survey")


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    text: str
    options: tuple[str, ...] = ()  # choice only, best first

    def scaled(self, value: Any) -> Fraction | None:
        """The answer ``value`` on 0–100 (None for text); the value must be valid."""
        if self.kind is QuestionKind.CHOICE:
            n = len(self.options)
            return Fraction(100 * (n - 1 - self.options.index(value)), n - 1)
        if self.kind is QuestionKind.SCALE:
            return Fraction(25 * (int(value) - 1))
        return None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "text": self.text, "options": list(self.options)}


def _text(raw: Any, what: str) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_TEXT:
        raise invalid(f"{what}须为 1–{MAX_TEXT} 字的文字")
    return raw.strip()


def question(raw: Any, n: int) -> Question:
    """The ``n``-th question (1-based) from its JSON form: ``kind``, ``text``, ``options``."""
    if not isinstance(raw, Mapping) or raw.get("kind") not in QuestionKind.values():
        raise invalid(f"第 {n} 题的类型须为 {'、'.join(QuestionKind.values())} 之一")
    kind = QuestionKind(raw["kind"])
    text = _text(raw.get("text"), f"第 {n} 题的题目")
    if kind is not QuestionKind.CHOICE:
        return Question(kind, text)
    options = raw.get("options")
    if not isinstance(options, list) or not 2 <= len(options) <= MAX_OPTIONS:
        raise invalid(f"第 {n} 题（单选）须有 2–{MAX_OPTIONS} 个选项，最好的在前")
    found = tuple(_text(o, f"第 {n} 题的选项") for o in options)
    if len(set(found)) != len(found):
        raise invalid(f"第 {n} 题的选项重复")
    return Question(kind, text, found)


def questions(raw: Any) -> tuple[Question, ...]:
    """A survey's questions from JSON; at least one scored (choice or scale)."""
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_QUESTIONS:
        raise invalid(f"问卷须有 1–{MAX_QUESTIONS} 道题")
    found = tuple(question(q, i) for i, q in enumerate(raw, 1))
    if all(q.kind is QuestionKind.TEXT for q in found):
        raise invalid("问卷须至少有一道单选或 1–5 分的题（文字题不计分）")
    return found


def check_answer(qs: Sequence[Question], values: Mapping[str, Any]) -> dict[str, Any]:
    """An answer's values by question number ("1", "2" …) as stored: every choice and scale
    question answered with a valid value; text optional (empty left out)."""
    unknown = sorted(set(values) - {str(i) for i in range(1, len(qs) + 1)})
    if unknown:
        raise InvalidInput(f"问卷没有第 {unknown[0]} 题", code="invalid_answer")
    found: dict[str, Any] = {}
    for i, q in enumerate(qs, 1):
        value = values.get(str(i))
        if q.kind is QuestionKind.TEXT:
            if (value is not None and not isinstance(value, str)) or (isinstance(value, str) and len(value) > MAX_TEXT):
                raise InvalidInput(f"第 {i} 题的回答不超过 {MAX_TEXT} 字", code="invalid_answer")
            if value and value.strip():
                found[str(i)] = value.strip()
        elif q.kind is QuestionKind.CHOICE:
            if value not in q.options:
                raise InvalidInput(f"请回答第 {i} 题：{q.text}", code="invalid_answer")
            found[str(i)] = value
        else:
            number = _scale_value(value)
            if number is None:
                raise InvalidInput(f"请为第 {i} 题打分（1–5 分）：{q.text}", code="invalid_answer")
            found[str(i)] = number
    return found


def _scale_value(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number in SCALE and str(value).strip() == str(number) else None


def answer_score(qs: Sequence[Question], values: Mapping[str, Any]) -> Fraction:
    """The mean of an answer's scaled values (a checked answer: every scored question answered)."""
    scaled = [s for i, q in enumerate(qs, 1) if (s := q.scaled(values.get(str(i)))) is not None]
    return sum(scaled, Fraction(0)) / len(scaled)


def mean(scores: Iterable[Fraction]) -> Fraction | None:
    found = list(scores)
    return sum(found, Fraction(0)) / len(found) if found else None


# --- the survey score source ----------------------------------------------------------------


@dataclass(frozen=True)
class SurveyFigures:
    """What the ``survey`` source scored a unit by: the answers counted, the minimum, the mean."""

    answers: int
    minimum_answers: int
    mean: Fraction | None

    @property
    def insufficient(self) -> bool:
        return self.answers < self.minimum_answers

    def as_json(self) -> dict[str, Any]:
        return {"answers": self.answers, "minimum_answers": self.minimum_answers,
                "insufficient": self.insufficient,
                "mean": float(self.mean) if self.mean is not None else None}


@dataclass(frozen=True)
class SurveySource:
    """Street satisfaction (问卷调查): the mean of the answer scores the service loaded for the
    unit (``unit.loaded["survey"]``); no data under ``minimum_answers`` (样本不足)."""

    minimum_answers: int = DEFAULT_MINIMUM_ANSWERS

    def result(self, unit: UnitFacts) -> SourceResult:
        scores: Sequence[Fraction] = unit.loaded.get(SURVEY, ())
        figures = SurveyFigures(len(scores), self.minimum_answers, mean(scores))
        return SourceResult(None if figures.insufficient else figures.mean, figures)


def parse_survey_source(table: Mapping[str, Any], file: Mapping[str, Any]) -> SurveySource:
    """``minimum_answers`` (default 30), a non-negative integer."""
    unknown = sorted(set(table) - {"minimum_answers"})
    if unknown:
        raise config_error(f"评分来源 {SURVEY} 不认识的设置：{'、'.join(unknown)}（可用：minimum_answers）")
    raw = table.get("minimum_answers", DEFAULT_MINIMUM_ANSWERS)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise config_error(f"评分来源 {SURVEY} 的 minimum_answers 须为正整数")
    return SurveySource(raw)


register_source(SURVEY, parse_survey_source)
