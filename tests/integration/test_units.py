"""Units, responsibility rules and the taxonomy are kept by administrators in CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tests.factories import CITY, build_tiny_city, grid_code
from xiuhua.domain.errors import BatchInvalid, InvalidInput
from xiuhua.services.city import import_taxonomy_file, load_city, shipped_taxonomy_text
from xiuhua.services.units import import_rules_file, import_units_file
from xiuhua.store.db import transaction
from xiuhua.store.tables import responsibility_rules, units


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def _count(engine: Engine, table: object) -> int:
    with transaction(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_units_import_with_parents_and_regions(city_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text("code,name,kind,parent_code,region_code\n"
                    "U-YL,园林绿化中心,department,,\n"
                    "U-YL-1,园林一队,contractor,U-YL,\n"
                    "U-SQ-A,东风社区居委会,community,,370181001001\n", encoding="utf-8")
    assert import_units_file(city_engine, path) == 3
    with transaction(city_engine) as session:
        city = load_city(session)
    assert city.units["U-YL-1"].parent_code == "U-YL"
    assert city.units["U-SQ-A"].name == "东风社区居委会"


def test_bad_unit_lines_are_named_and_nothing_is_imported(city_engine: Engine, tmp_path: Path) -> None:
    before = _count(city_engine, units)
    path = tmp_path / "units.csv"
    path.write_text("code,name,kind,parent_code\nU-A,甲单位,department,\n"
                    "U-B,,department,\nU-C,丙单位,spaceship,\nU-D,丁单位,department,U-NONE\n",
                    encoding="utf-8")
    with pytest.raises(BatchInvalid) as err:
        import_units_file(city_engine, path)
    assert [p.split("（")[0] for p in err.value.problems] == ["第 3 行", "第 4 行", "第 5 行"]
    assert _count(city_engine, units) == before


def test_a_gbk_file_needs_its_encoding(city_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes("code,name\nU-GBK,商务局\n".encode("gbk"))
    with pytest.raises(InvalidInput) as err:
        import_units_file(city_engine, path)
    assert err.value.code == "invalid_encoding"
    assert import_units_file(city_engine, path, encoding="GBK") == 1


def test_rules_change_who_answers(city_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(f"scope,category,region_code,unit_code\nmatter,09005,{CITY},U-ZF\n"
                    f"matter,09005,{grid_code(0, 0)},U-JD1\n", encoding="utf-8")
    assert import_rules_file(city_engine, path) == 2
    with transaction(city_engine) as session:
        city = load_city(session)
    assert city.responsible("09005", grid_code(0, 0)).unit == "U-JD1"
    assert city.responsible("09005", grid_code(1, 1)).unit == "U-ZF"
    assert import_rules_file(city_engine, path) == 2  # importing twice adds nothing
    assert _count(city_engine, responsibility_rules) == 6


def test_bad_rules_are_refused_by_line(city_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(f"scope,category,region_code,unit_code\nmatter,09005,{CITY},U-NOPE\n"
                    "sector,09005,370181,U-ZF\nany,06,370181,U-ZF\n", encoding="utf-8")
    with pytest.raises(BatchInvalid) as err:
        import_rules_file(city_engine, path)
    assert len(err.value.problems) == 3
    assert _count(city_engine, responsibility_rules) == 4


def test_an_administrator_edits_a_time_limit(city_engine: Engine, tmp_path: Path) -> None:
    lines = shipped_taxonomy_text().splitlines()
    edited = [line.replace(",5wh,2wh,", ",3wh,1wh,") if ",06012," in line else line
              for line in lines]
    path = tmp_path / "categories.csv"
    path.write_text("\n".join(edited) + "\n", encoding="utf-8")
    import_taxonomy_file(city_engine, path)
    with transaction(city_engine) as session:
        city = load_city(session)
    assert city.taxonomy.matter("06012").limit_for("normal").text == "3wh"
    path.write_text(lines[0] + "\nmatter,06,市容环境类,06999,测试,local,1,1,,,0wh,,default\n",
                    encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        import_taxonomy_file(city_engine, path)
    assert "第 2 行" in str(err.value)
