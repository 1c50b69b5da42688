"""The case taxonomy (GB/T 47678.5-2026 components and matters, plus local extensions).

Classes are keyed by (kind, code). Cases are always about a *matter* class; its code is the
``category_code`` that cases, responsibility rules and Open311 use.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from xiuhua.domain.calendar import TimeLimit
from xiuhua.domain.errors import InvalidInput


class ClassKind(StrEnum):
    COMPONENT = "component"
    MATTER = "matter"


URGENCY_LABELS: dict[str, str] = {"normal": "一般", "urgent": "紧急"}
DEFAULT_URGENCY = "normal"
_CODE = re.compile(r"^\d{5}$")
_MAJOR = re.compile(r"^\d{2}$")


@dataclass(frozen=True)
class CaseClass:
    """One class of the directory. Matter classes carry the handling rules."""

    kind: ClassKind
    code: str
    name: str
    major_code: str
    major_name: str
    source: str = ""
    public_reportable: bool = False
    active: bool = True
    filing_condition: str = ""
    closing_condition: str = ""
    limits: Mapping[str, str] = field(default_factory=dict)  # urgency -> time-limit text
    calendar: str = "default"

    def __post_init__(self) -> None:
        if not _CODE.match(self.code) or not self.code.startswith(self.major_code):
            raise InvalidInput(f"分类代码“{self.code}”无效：应为 5 位数字且以大类代码开头",
                               code="invalid_category_code")
        if not self.name.strip():
            raise InvalidInput(f"分类“{self.code}”缺少名称", code="invalid_category")
        for urgency, text in self.limits.items():
            if urgency not in URGENCY_LABELS:
                raise InvalidInput(f"分类“{self.code}”的紧急程度“{urgency}”无效",
                                   code="invalid_urgency")
            TimeLimit.parse(text)
        if self.kind is ClassKind.MATTER and DEFAULT_URGENCY not in self.limits:
            raise InvalidInput(f"事项“{self.code}”缺少一般紧急程度的处置时限",
                               code="invalid_category")

    def limit_for(self, urgency: str) -> TimeLimit:
        """The handling time limit for an urgency level of this class."""
        if urgency not in self.limits:
            raise InvalidInput(f"事项“{self.code} {self.name}”没有“{urgency}”紧急程度",
                               code="invalid_urgency")
        return TimeLimit.parse(self.limits[urgency])


@dataclass(frozen=True)
class Taxonomy:
    classes: Mapping[tuple[ClassKind, str], CaseClass]

    @classmethod
    def of(cls, classes: Iterable[CaseClass]) -> Taxonomy:
        table: dict[tuple[ClassKind, str], CaseClass] = {}
        for c in classes:
            key = (c.kind, c.code)
            if key in table:
                raise InvalidInput(f"分类“{c.kind} {c.code}”重复", code="duplicate_category")
            table[key] = c
        return cls(table)

    def matter(self, code: str) -> CaseClass:
        """The matter class a case is about; unknown codes are refused."""
        found = self.classes.get((ClassKind.MATTER, code))
        if found is None:
            raise InvalidInput(f"未知的事项分类代码“{code}”", code="unknown_category")
        return found

    def component(self, code: str) -> CaseClass:
        found = self.classes.get((ClassKind.COMPONENT, code))
        if found is None:
            raise InvalidInput(f"未知的部件分类代码“{code}”", code="unknown_component_class")
        return found

    def matters(self) -> list[CaseClass]:
        return [c for (kind, _), c in sorted(self.classes.items()) if kind is ClassKind.MATTER]

    def major_codes(self) -> set[str]:
        return {c.major_code for c in self.classes.values()}


def _flag(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "y", "是"}


REQUIRED_COLUMNS = ("kind", "major_code", "major_name", "code", "name")


def parse_taxonomy_csv(text: str) -> list[CaseClass]:
    """Parse the editable taxonomy file; errors name the line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInput(f"分类文件缺少列：{', '.join(missing)}（第 1 行表头）",
                           code="invalid_category")
    reader.fieldnames = header
    classes: list[CaseClass] = []
    first_line: dict[tuple[ClassKind, str], int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise _bad_line(line, "列数多于表头")
        fields = {k: (v or "").strip() for k, v in row.items()}
        if not any(fields.values()):
            continue
        case_class = _class_of_row(line, fields)
        key = (case_class.kind, case_class.code)
        if key in first_line:
            raise _bad_line(line, f"分类“{case_class.code}”与第 {first_line[key]} 行重复",
                            "duplicate_category")
        first_line[key] = line
        classes.append(case_class)
    return classes


def _class_of_row(line: int, row: Mapping[str, str]) -> CaseClass:
    try:
        limits = {u: row.get(f"limit_{u}", "") for u in URGENCY_LABELS}
        return CaseClass(
            kind=_kind(row["kind"]), code=row["code"], name=row["name"],
            major_code=row["major_code"], major_name=row["major_name"],
            source=row.get("source", ""),
            public_reportable=_flag(row.get("public_reportable", "")),
            active=_flag(row.get("active") or "1"),
            filing_condition=row.get("filing_condition", ""),
            closing_condition=row.get("closing_condition", ""),
            limits={u: t for u, t in limits.items() if t},
            calendar=row.get("calendar") or "default",
        )
    except InvalidInput as exc:
        raise _bad_line(line, str(exc)) from exc


def _kind(text: str) -> ClassKind:
    try:
        return ClassKind(text)
    except ValueError:
        raise InvalidInput(f"类型“{text}”无效，应为 component（部件）或 matter（事项）",
                           code="invalid_category") from None


def _bad_line(line: int, reason: str, code: str = "invalid_category") -> InvalidInput:
    return InvalidInput(f"分类文件第 {line} 行有误：{reason}", code=code)
