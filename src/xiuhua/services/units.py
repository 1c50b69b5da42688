"""Units (departments, street/zone offices, communities, contractors) and the responsibility
matrix, imported from CSV files an administrator keeps."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel, UnitKind
from xiuhua.domain.city import UnitInfo
from xiuhua.domain.errors import InvalidInput, NotFound
from xiuhua.domain.regions import areas_holding_grids
from xiuhua.domain.responsibility import Rule, RuleScope
from xiuhua.services.tabular import checked_rows, read_csv, read_text
from xiuhua.store import city as store
from xiuhua.store.db import transaction
from xiuhua.store.tables import regions, responsibility_rules, units


def _unit(row: dict[str, str], known: set[str], regions_known: set[str]) -> UnitInfo:
    if not row["code"] or not row["name"]:
        raise ValueError("编码和名称不能为空")
    try:
        kind = UnitKind(row.get("kind") or UnitKind.DEPARTMENT.value)
    except ValueError:
        raise ValueError(f"单位类型“{row.get('kind')}”无效（可选：{', '.join(UnitKind.values())}）") from None
    parent = row.get("parent_code") or None
    if parent is not None and parent not in known:
        raise ValueError(f"上级单位“{parent}”不存在")
    region = row.get("region_code") or None
    if region is not None and region not in regions_known:
        raise ValueError(f"所属区域“{region}”不存在")
    active = (row.get("active") or "1").lower() not in ("0", "false", "no", "否")
    return UnitInfo(row["code"], row["name"], kind.value, parent, region, active)


def import_units_file(engine: Engine, path: Path, encoding: str | None = None) -> int:
    """CSV ``code,name[,kind,parent_code,region_code,active]``; all rows or none."""
    with transaction(engine) as session:
        return import_units(session, path, encoding)


def import_units(session: Session, path: Path, encoding: str | None = None) -> int:
    """:func:`import_units_file` in the caller's transaction."""
    rows = read_csv(read_text(path, encoding), ["code", "name"])
    known = set(session.execute(select(units.c.code)).scalars()) | {r["code"] for _, r in rows}
    regions_known = set(session.execute(select(regions.c.code)).scalars())
    items = checked_rows(rows, lambda row: _unit(row, known, regions_known), "单位数据",
                         "invalid_units", key="code")
    store.save_units(session, items)
    return len(items)


def _rule(row: dict[str, str], units_known: set[str], regions_known: set[str],
          with_grids: set[str]) -> Rule:
    try:
        scope = RuleScope(row["scope"])
    except ValueError:
        raise ValueError("scope 须为 matter、major 或 any") from None
    if row["region_code"] not in regions_known:
        raise ValueError(f"区域“{row['region_code']}”不存在")
    if row["region_code"] not in with_grids:
        raise ValueError(f"区域“{row['region_code']}”内没有单元网格，该规则不会适用于任何网格")
    if row["unit_code"] not in units_known:
        raise ValueError(f"单位“{row['unit_code']}”不存在")
    try:
        return Rule(scope, row.get("category") or None, row["region_code"], row["unit_code"])
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


def import_rules_file(engine: Engine, path: Path, replace: bool = False,
                      encoding: str | None = None) -> int:
    """CSV ``scope,category,region_code,unit_code``; ``replace`` drops the old matrix first."""
    with transaction(engine) as session:
        return import_rules(session, path, replace, encoding)


def import_rules(session: Session, path: Path, replace: bool = False,
                 encoding: str | None = None) -> int:
    """:func:`import_rules_file` in the caller's transaction."""
    rows = read_csv(read_text(path, encoding), ["scope", "category", "region_code", "unit_code"])
    units_known = set(session.execute(select(units.c.code)).scalars())
    tree = session.execute(select(regions.c.code, regions.c.parent_code, regions.c.level)).all()
    regions_known = {r.code for r in tree}
    with_grids = areas_holding_grids({r.code: r.parent_code for r in tree},
                                     (r.code for r in tree if r.level == RegionLevel.GRID.value))
    rules = checked_rows(rows, lambda row: _rule(row, units_known, regions_known, with_grids),
                         "责任规则", "invalid_rules")
    if replace:
        session.execute(responsibility_rules.delete())
        store.bump_model_version(session)
    existing = set(store.load_rules(session))
    store.add_rules(session, [r for r in dict.fromkeys(rules) if r not in existing])
    return len(rules)


def delete_rule(session: Session, rule: Rule) -> None:
    """Remove one responsibility rule (the coverage check then shows what it covered)."""
    if store.remove_rule(session, rule) == 0:
        raise NotFound("该责任规则不存在（可能已被删除）", code="rule_not_found")
