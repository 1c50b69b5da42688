"""The city model: responsibility rules with the coverage check (``xiuhua check coverage``),
units, categories and their time limits, regions and components — each listed, and imported
from an uploaded file through the service ``xiuhua import …`` calls: all rows or none, a
refusal naming each bad line next to the file field. Every change bumps the model version, so
each process's city snapshot reloads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, InvalidInput
from xiuhua.domain.responsibility import SCOPE_LABELS, Rule, RuleScope
from xiuhua.domain.taxonomy import URGENCY_LABELS, ClassKind
from xiuhua.domain.values import whole_number
from xiuhua.http.deps import CityDep, SessionDep
from xiuhua.services import city as city_service
from xiuhua.services.city import import_taxonomy
from xiuhua.services.coverage import coverage_report
from xiuhua.services.units import delete_rule, import_rules, import_units
from xiuhua.web.admin.common import (
    AdminUser,
    PostedForm,
    error_lines,
    in_savepoint,
    page,
    router,
    saved_uploads,
    text,
    uploads,
)
from xiuhua.web.pages import flash, see_other

PAGE_SIZE = 100
COVERAGE_LINES = 300  # problem lines shown (the summary counts them all)
GIS_SUFFIXES = (".geojson", ".json", ".shp", ".gpkg", ".csv")


def _page_number(request: Request) -> int:
    found = whole_number(request.query_params.get("page"))
    return found if found and found > 0 else 1


def _paged(request: Request, path: str, items: list[Any],
           keep: dict[str, str] | None = None) -> dict[str, Any]:
    """One page of ``items`` and the links to its neighbours (keeping the filter ``keep``)."""
    number = _page_number(request)
    pages = max(1, -(-len(items) // PAGE_SIZE))
    number = min(number, pages)
    kept = {k: v for k, v in (keep or {}).items() if v}
    return {"items": items[(number - 1) * PAGE_SIZE:number * PAGE_SIZE], "total": len(items),
            "page": number, "pages": pages,
            "prev_url": f"{path}?{urlencode({**kept, 'page': number - 1})}" if number > 1 else None,
            "next_url": f"{path}?{urlencode({**kept, 'page': number + 1})}"
            if number < pages else None}


def run_import(session: Session, form: PostedForm, call: Callable[[Session, Path], int],
               pick: Callable[[list[Path]], Path] | None = None) -> tuple[int | None, list[str]]:
    """Save the uploaded file(s) and import them with ``call(session, path)`` in a savepoint:
    (count, []) or (None, the lines of the refusal)."""
    files = uploads(form)
    if not files:
        return None, ["请选择要导入的文件"]
    with saved_uploads(files) as paths:
        try:
            path = pick(paths) if pick is not None else paths[0]
            return in_savepoint(session, call, path), []
        except DomainError as exc:
            return None, error_lines(exc)


def _encoding(form: PostedForm) -> str | None:
    return text(form, "encoding") or None


# --- responsibility rules and coverage ------------------------------------------------------


def _name(city: City, code: str | None, kind: str) -> str:
    if code is None:
        return "（全部事项）"
    if kind == "region":
        info = city.regions.get(code)
        return f"{code} {info.name}" if info else code
    if kind == "unit":
        unit = city.units.get(code)
        return f"{code} {unit.name}" if unit else code
    classes = city.taxonomy.classes
    found = classes.get((ClassKind.MATTER, code))
    if found is not None:
        return f"{code} {found.name}"
    major = next((c.major_name for c in classes.values() if c.major_code == code), None)
    return f"{code} {major}" if major else code


def _rules_context(request: Request, session: Session, city: City,
                   problems: list[str] | None = None) -> dict[str, Any]:
    rules = [{"scope": r.scope.value, "scope_label": SCOPE_LABELS[r.scope],
              "category": r.category or "", "category_name": _name(city, r.category, "category"),
              "region_code": r.region_code, "region_name": _name(city, r.region_code, "region"),
              "unit_code": r.unit_code, "unit_name": _name(city, r.unit_code, "unit")}
             for r in city_service.responsibility_rules(session)]
    return {"title": "责任规则与覆盖检查", **_paged(request, "/admin/rules", rules),
            "problems": problems or []}


@router.get("/admin/rules")
def rules_page(request: Request, session: SessionDep, city: CityDep, user: AdminUser) -> Response:
    return page(request, "admin/rules.html", _rules_context(request, session, city))


@router.get("/admin/rules/coverage")
def coverage(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The coverage check (an htmx fragment of the rules page, or a page of its own)."""
    report = coverage_report(session)
    lines: list[str] = []
    for line in report.problem_lines():
        if len(lines) == COVERAGE_LINES:
            break
        lines.append(line)
    context = {"title": "责任覆盖检查", "ok": report.ok, "lines": lines,
               "summary": list(report.summary_lines()), "cut": len(lines) == COVERAGE_LINES}
    if request.headers.get("HX-Request"):
        return page(request, "admin/_coverage.html", context)
    return page(request, "admin/coverage.html", context)


@router.post("/admin/rules/import")
def rules_import(request: Request, session: SessionDep, city: CityDep, user: AdminUser,
                 form: PostedForm) -> Response:
    replace = text(form, "replace") == "1"
    count, problems = run_import(
        session, form, lambda s, path: import_rules(s, path, replace, _encoding(form)))
    if count is None:
        return page(request, "admin/rules.html", _rules_context(request, session, city, problems))
    flash(request, f"已导入 {count} 条责任规则{'（原有规则已清空）' if replace else ''}")
    return see_other("/admin/rules")


@router.post("/admin/rules/delete")
def rules_delete(request: Request, session: SessionDep, user: AdminUser,
                 form: PostedForm) -> Response:
    try:
        rule = Rule(RuleScope(text(form, "scope")), text(form, "category") or None,
                    text(form, "region_code"), text(form, "unit_code"))
    except ValueError:
        raise InvalidInput("责任规则的适用范围无效", code="invalid_rule") from None
    in_savepoint(session, delete_rule, rule)
    flash(request, "责任规则已删除；请查看下方的覆盖检查结果")
    return see_other("/admin/rules")


# --- units ----------------------------------------------------------------------------------


def _units_context(request: Request, city: City, problems: list[str] | None = None) -> dict[str, Any]:
    rows = [{"code": u.code, "name": u.name, "kind": UnitKind(u.kind).label,
             "parent": _name(city, u.parent_code, "unit") if u.parent_code else "",
             "region": _name(city, u.region_code, "region") if u.region_code else "",
             "active": u.active} for u in sorted(city.units.values(), key=lambda u: u.code)]
    return {"title": "单位", **_paged(request, "/admin/units", rows), "problems": problems or []}


@router.get("/admin/units")
def units_page(request: Request, city: CityDep, user: AdminUser) -> Response:
    return page(request, "admin/units.html", _units_context(request, city))


@router.post("/admin/units/import")
def units_import(request: Request, session: SessionDep, city: CityDep, user: AdminUser,
                 form: PostedForm) -> Response:
    count, problems = run_import(session, form,
                                 lambda s, path: import_units(s, path, _encoding(form)))
    if count is None:
        return page(request, "admin/units.html", _units_context(request, city, problems))
    flash(request, f"已导入 {count} 个单位")
    return see_other("/admin/units")


# --- categories and time limits -------------------------------------------------------------


def _categories_context(request: Request, city: City,
                        problems: list[str] | None = None) -> dict[str, Any]:
    wanted = request.query_params.get("q", "").strip()
    classes = sorted((c for c in city.taxonomy.classes.values()
                      if not wanted or wanted in c.code or wanted in c.name
                      or wanted in c.major_name),
                     key=lambda c: (c.kind is not ClassKind.MATTER, c.code))
    rows = [{"kind": "事项" if c.kind is ClassKind.MATTER else "部件", "code": c.code,
             "name": c.name, "major": f"{c.major_code} {c.major_name}",
             "limits": [(URGENCY_LABELS.get(k, k), v) for k, v in c.limits.items()],
             "calendar": c.calendar, "active": c.active, "public": c.public_reportable}
            for c in classes]
    return {"title": "分类与处置时限", **_paged(request, "/admin/categories", rows, {"q": wanted}),
            "problems": problems or [], "q": wanted}


@router.get("/admin/categories")
def categories_page(request: Request, city: CityDep, user: AdminUser) -> Response:
    return page(request, "admin/categories.html", _categories_context(request, city))


@router.post("/admin/categories/import")
def categories_import(request: Request, session: SessionDep, city: CityDep, user: AdminUser,
                      form: PostedForm) -> Response:
    count, problems = run_import(session, form,
                                 lambda s, path: import_taxonomy(s, path, _encoding(form)))
    if count is None:
        return page(request, "admin/categories.html", _categories_context(request, city, problems))
    flash(request, f"已导入 {count} 个分类")
    return see_other("/admin/categories")


# --- regions and components -----------------------------------------------------------------


def main_file(paths: list[Path]) -> Path:
    """The file to read among those uploaded together (a Shapefile's .shp, not its .dbf)."""
    for path in paths:
        if path.suffix.lower() in GIS_SUFFIXES:
            return path
    raise InvalidInput("未找到可读取的文件：请上传 GeoJSON、GeoPackage、Shapefile（.shp 连同 .dbf、"
                       ".shx、.prj）或 CSV", code="invalid_file")


def _geodata_context(city: City, regions_problems: list[str] | None = None,
                     components_problems: list[str] | None = None) -> dict[str, Any]:
    counts = Counter(info.level for info in city.regions.values())
    return {"title": "区域与部件导入",
            "levels": [(level.label, counts.get(level, 0)) for level in RegionLevel],
            "regions_problems": regions_problems or [],
            "components_problems": components_problems or []}


@router.get("/admin/geodata")
def geodata_page(request: Request, city: CityDep, user: AdminUser) -> Response:
    return page(request, "admin/geodata.html", _geodata_context(city))


@router.post("/admin/geodata/regions")
def regions_import(request: Request, session: SessionDep, city: CityDep, user: AdminUser,
                   form: PostedForm) -> Response:
    from xiuhua.services import regions  # GIS file readers (pyogrio): loaded by the first upload

    crs = text(form, "src_crs") or None
    count, problems = run_import(
        session, form,
        lambda s, path: regions.save_regions(s, regions.read_regions_file(path, crs, _encoding(form))),
        main_file)
    if count is None:
        return page(request, "admin/geodata.html", _geodata_context(city, regions_problems=problems))
    flash(request, f"已导入 {count} 个区域")
    return see_other("/admin/geodata")


@router.post("/admin/geodata/components")
def components_import(request: Request, session: SessionDep, city: CityDep, user: AdminUser,
                      form: PostedForm) -> Response:
    from xiuhua.services import components  # GIS file readers (pyogrio): loaded by the first upload

    crs = text(form, "src_crs") or None
    count, problems = run_import(
        session, form,
        lambda s, path: components.save_read_components(
            s, components.read_components_file(path, crs, _encoding(form))),
        main_file)
    if count is None:
        return page(request, "admin/geodata.html",
                    _geodata_context(city, components_problems=problems))
    flash(request, f"已导入 {count} 个部件")
    return see_other("/admin/geodata")
