"""Score sources over the demo city X市 (a month of history, seed 7): an ``assessment.toml``
without ``[[sources]]`` gives exactly the JSON it gave before sources existed, an explicit
one-source file (``cases``, weight 1) gives the same scores with a ``sources`` list per unit, and
a file with sources weighted by kind of unit re-weights as documented (docs/assessment.md).

The golden files under ``golden/`` were recorded from ``xiuhua assess --period 2026-10 --format
json`` on the commit before score sources (the whole output as a SHA-256, its units in full). If
the demo city or a figure changes on purpose, record them again: ``XIUHUA_RECORD_GOLDEN=1 pytest
tests/integration/test_assessment_sources.py -k golden``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from datetime import date
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.factories import cli_database, local, xiuhua
from xiuhua.domain.assessment import RewardBand
from xiuhua.domain.sources import SOURCES, SourceResult, UnitFacts
from xiuhua.services import assessment as service
from xiuhua.services.city import load_city
from xiuhua.services.demo import build_demo_city_on
from xiuhua.store.db import make_engine, transaction

GOLDEN = Path(__file__).parent / "golden"
PERIOD = "2026-10"
ENTERED = local("2026-11-02 09:00")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Path]:
    """October 2026 of X市 (seed 7), not published, with a deduction, a bonus and reward bands
    for the month."""
    path = tmp_path_factory.mktemp("sources") / "xiuhua.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    build_demo_city_on(eng, seed=7, months=1, end=date(2026, 10, 31), now=local("2026-11-01 00:00"),
                       publish=False)
    with transaction(eng) as session:
        city = load_city(session)
        service.add_entry(session, city, "deduction", "HWZX", date(2026, 10, 20), "门前三包检查", 2.5,
                          ENTERED, "leader01")
        service.add_entry(session, city, "bonus", "JD001", date(2026, 10, 21), "主动发现并处置", 1,
                          ENTERED, "leader01")
        service.set_reward_bands(session, PERIOD, [RewardBand(1, 3, 5000.0), RewardBand(19, 21, -2000.0)],
                                 ENTERED, "leader01")
    eng.dispose()
    yield path


@pytest.fixture
def cli(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ``xiuhua`` command on a copy of the demo database; yields its data directory."""
    shutil.copy(demo_db, tmp_path / "xiuhua.db")
    eng = make_engine(f"sqlite:///{tmp_path / 'xiuhua.db'}")
    yield from (tmp_path for _ in cli_database(eng, tmp_path, monkeypatch))
    eng.dispose()


def assess_json(data_dir: Path, config: str | None = None) -> str:
    """What ``xiuhua assess --period 2026-10 --format json`` prints with ``config`` as the data
    directory's assessment.toml (the shipped file when None)."""
    toml = data_dir / "assessment.toml"
    if config is None:
        toml.unlink(missing_ok=True)
    else:
        toml.write_text(config, encoding="utf-8")
    result = xiuhua("assess", "--period", PERIOD, "--format", "json")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_without_sources_the_json_is_byte_identical_to_the_golden_one(cli: Path) -> None:
    text = assess_json(cli)
    digest = hashlib.sha256(text.encode()).hexdigest()
    units = json.loads(text)["units"]
    if os.environ.get("XIUHUA_RECORD_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / f"assessment-{PERIOD}.sha256").write_text(digest + "\n", encoding="utf-8")
        (GOLDEN / f"assessment-{PERIOD}-units.json").write_text(
            json.dumps(units, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    golden_units: list[dict[str, Any]] = json.loads(
        (GOLDEN / f"assessment-{PERIOD}-units.json").read_text(encoding="utf-8"))
    assert units == golden_units  # a readable difference first
    assert digest == (GOLDEN / f"assessment-{PERIOD}.sha256").read_text(encoding="utf-8").strip()
    assert all("sources" not in u for u in units)


ONE_SOURCE = """
[[sources]]
name = "cases"
weight = 1
"""


def test_one_cases_source_of_weight_one_gives_the_same_figures_with_sources(cli: Path) -> None:
    plain = json.loads(assess_json(cli))
    explicit = json.loads(assess_json(cli, ONE_SOURCE))
    assert [{k: v for k, v in u.items() if k != "sources"} for u in explicit["units"]] == plain["units"]
    assert {k: v for k, v in explicit.items() if k != "units"} == {k: v for k, v in plain.items() if k != "units"}
    for unit in explicit["units"]:
        [cases] = unit["sources"]
        assert (cases["name"], cases["weight"]) == ("cases", 1.0)
        assert cases["figures"]["due"] == unit["due"]
        assert cases["figures"]["on_time_rate"] == unit["on_time_rate"]
        expected = cases["score"] - unit["deductions"] + unit["bonus"]
        assert unit["score"] == pytest.approx(expected, abs=0.005)  # published to 2 decimals


class StreetSurvey:
    """A stand-in for a later source: fixed scores by unit code, from its own ``scores`` table."""

    def __init__(self, table: Any, file: Any) -> None:
        self.scores = {code: Fraction(str(v)) for code, v in table.get("scores", {}).items()}

    def result(self, unit: UnitFacts) -> SourceResult:
        return SourceResult(self.scores.get(unit.code), Answers(len(self.scores)))


class Answers:
    def __init__(self, n: int) -> None:
        self.n = n

    def as_json(self) -> dict[str, Any]:
        return {"streets": self.n}


TWO_SOURCES = """
[[sources]]
name = "cases"
weight = { street = 0.6, department = 1 }

[[sources]]
name = "survey"
weight = { street = 0.4 }
scores = { JD001 = 80, JD400 = 70, HWZX = 10 }
"""


def test_two_sources_reweight_streets_and_zones_by_their_kind(
        cli: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streets (and the development zone, which takes the street weight) are scored 0.6 by cases
    and 0.4 by the survey; a street without survey data by cases alone; departments by cases
    alone; companies, which no source weighs, are not scored."""
    monkeypatch.setitem(SOURCES, "survey", StreetSurvey)
    plain = {u["unit_code"]: u for u in json.loads(assess_json(cli, ONE_SOURCE))["units"]}
    units = {u["unit_code"]: u for u in json.loads(assess_json(cli, TWO_SOURCES))["units"]}

    def case_score(code: str) -> float:
        return float(plain[code]["sources"][0]["score"])

    def points(code: str) -> float:
        return float(units[code]["bonus"] - units[code]["deductions"])

    for code, survey in (("JD001", 80), ("JD400", 70)):
        assert [(s["name"], s["weight"], s["score"]) for s in units[code]["sources"]] == [
            ("cases", 0.6, case_score(code)), ("survey", 0.4, survey)]
        assert units[code]["score"] == pytest.approx(0.6 * case_score(code) + 0.4 * survey + points(code), abs=0.005)
    assert [s["score"] for s in units["JD002"]["sources"]] == [case_score("JD002"), None]
    assert units["JD002"]["score"] == plain["JD002"]["score"]
    assert [s["name"] for s in units["HWZX"]["sources"]] == ["cases"]  # a department: no survey
    assert units["HWZX"]["score"] == plain["HWZX"]["score"]
    for code in ("GSGS", "GDGS", "RQGS"):
        assert (units[code]["sources"], units[code]["score"], units[code]["rank"]) == ([], None, None)
        assert units[code]["insufficient"] is True
    ranked = sorted((u for u in units.values() if u["rank"] is not None), key=lambda u: u["rank"])
    assert len(ranked) == len(units) - 3 and ranked[0]["rank"] == 1
    assert all(a["score"] >= b["score"] for a, b in pairwise(ranked))  # ranked by the composite


def test_an_unknown_source_is_refused_naming_it(cli: Path) -> None:
    (cli / "assessment.toml").write_text('[[sources]]\nname = "weather"\nweight = 1\n', encoding="utf-8")
    result = xiuhua("assess", "--period", PERIOD, "--format", "json")
    assert result.exit_code != 0
    assert "未知的评分来源“weather”" in result.output and "invalid_assessment_config" in result.output
