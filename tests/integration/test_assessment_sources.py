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
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories import cli_database, local, xiuhua
from xiuhua.domain.assessment import RewardBand
from xiuhua.services import assessment as service
from xiuhua.services.city import load_city
from xiuhua.services.demo import build_demo_city_on
from xiuhua.store.db import make_engine, transaction

GOLDEN = Path(__file__).parent / "golden"
PERIOD = "2026-10"
ENTERED = local("2026-11-02 09:00")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Path]:
    """October 2026 of X市 (seed 7) with a deduction, a bonus and reward bands for the month."""
    path = tmp_path_factory.mktemp("sources") / "xiuhua.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    build_demo_city_on(eng, seed=7, months=1, end=date(2026, 10, 31), now=local("2026-11-01 00:00"))
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
