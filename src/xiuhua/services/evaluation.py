"""Field evaluation use cases (考评): import and export standards, import evaluation points,
plan a round from a seed, record deductions point by point, close a round (each deduction becomes
a rectification case), publish it, read its results, and load what the ``evaluation`` score
source needs. One function per action; each takes a Session and never commits."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from xiuhua.config import Settings
from xiuhua.domain.access import Principal, evaluates, sees_round_results, sees_round_sample, sees_self_evaluation
from xiuhua.domain.assessment import Period
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action, AssignmentEnd, RegionLevel, Role, RoundState, Source, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.errors import BatchInvalid, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.evaluation import (
    DEFAULT_PER_KIND,
    MAX_LEVELS,
    EvaluationSettings,
    Item,
    Place,
    PointResult,
    Standard,
    UnitEvidence,
    booked_period,
    check_state,
    deduction_count,
    distance_m,
    draw_sample,
    evaluated_unit,
    is_far,
    kind_weighted_mean,
    month_of,
    parse_kinds,
    parse_points,
    parse_rule,
    parse_settings,
    point_score,
    region_scores,
    unit_scores,
)
from xiuhua.domain.lifecycle import Actor, Command
from xiuhua.domain.reports import HeadingScore, SelfEvaluationInput, WorstPoint
from xiuhua.services.accounts import audit
from xiuhua.services.cases import act_on_case
from xiuhua.services.intake import Report, Reporter, take_report
from xiuhua.services.photos import check_may_link
from xiuhua.services.tabular import checked_rows, read_csv, read_text, read_xlsx
from xiuhua.store import assessment as assessment_store
from xiuhua.store import evaluation as store

CONFIG_FILE = "assessment.toml"
LEVEL_COLUMNS = ("一级指标", "二级指标", "三级指标", "四级指标")
STANDARD_COLUMNS = (*LEVEL_COLUMNS, "分值", "扣分标准", "适用点位", "事项代码")
POINT_COLUMNS = ("编号", "名称", "类型", "经度", "纬度")  # and optional 责任单位
DEMO_STANDARD = "evaluation_standard.csv"


# --- settings -------------------------------------------------------------------------------


def evaluation_settings(data_dir: Path | None = None) -> EvaluationSettings:
    """The ``[evaluation]`` table of ``assessment.toml`` (the data directory's, else shipped)."""
    path = data_dir / CONFIG_FILE if data_dir is not None else None
    if path is not None and path.is_file():
        text = read_text(path)
    else:
        text = resources.files("xiuhua.data").joinpath(CONFIG_FILE).read_text(encoding="utf-8")
    try:
        return parse_settings(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return EvaluationSettings()  # the assessment itself reports a broken file


# --- standards ------------------------------------------------------------------------------


def _item_of(city: City, levels: Sequence[str], points: str, rule: str, kinds: str,
             matter: str) -> Item:
    names = [t.strip() for t in levels]
    while names and not names[-1]:
        names.pop()
    if len(names) < 2 or not all(names):
        raise InvalidInput(f"指标须有 2–{MAX_LEVELS} 级（一级指标……考评内容），中间不能有空级")
    value = parse_points(points)
    kind, each = parse_rule(rule, value)
    code = matter.strip()
    city.taxonomy.matter(code)  # an unknown code is refused
    return Item(tuple(names[:-1]), names[-1], value, kind, each, parse_kinds(kinds), code)


def _checked_item(city: City, row: Mapping[str, str]) -> Item:
    try:
        return _item_of(city, [row.get(c, "") for c in LEVEL_COLUMNS], row.get("分值", ""),
                        row.get("扣分标准", ""), row.get("适用点位", ""), row.get("事项代码", ""))
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _save_standard(session: Session, standard: Standard, at: datetime, actor: str | None) -> int:
    if store.standard_exists(session, standard.name, standard.year):
        raise InvalidInput(f"{standard.year} 年度已有标准“{standard.name}”，请换一个名称",
                           code="standard_exists")
    new_id = store.save_standard(session, standard, at, actor)
    audit(session, at, actor, "standard_import", str(new_id), {"name": standard.name, "items": len(standard.items)})
    return new_id


def import_standard(session: Session, city: City, source: Path | bytes | BinaryIO, name: str,
                    year: int, at: datetime, actor: str | None = None) -> int:
    """A standard from the office's sheet (level columns, 分值, 扣分标准, 适用点位, 事项代码): all
    rows or none; every error names its row. Its id."""
    rows = read_xlsx(source, ("一级指标", "二级指标", "分值", "扣分标准", "事项代码"))
    items = checked_rows(rows, lambda row: _checked_item(city, row), "考评标准", "invalid_standard")
    return _save_standard(session, Standard(name, year, tuple(items)), at, actor)


def demo_standard(city: City, name: str, year: int) -> Standard:
    """The shipped example standard (60 items; ``data/evaluation_standard.csv``)."""
    text = resources.files("xiuhua.data").joinpath(DEMO_STANDARD).read_text(encoding="utf-8")
    rows = read_csv(text, ("level1", "level2", "item", "points", "rule", "deduct_each", "applies_to",
                           "matter_code"))
    items = [_item_of(city, [r["level1"], r["level2"], r["item"]], r["points"],
                      f"per_occurrence:{r['deduct_each']}" if r["rule"] == "per_occurrence" else "pass_fail",
                      r["applies_to"], r["matter_code"]) for _, r in rows]
    return Standard(name, year, tuple(items))


def get_standard(session: Session, standard_id: int) -> Standard:
    found = store.standard(session, standard_id)
    if found is None:
        raise NotFound(f"考评标准 {standard_id} 不存在", code="standard_not_found")
    return found


def standard_rows(standard: Standard) -> list[list[Any]]:
    """The standard as the sheet lays it out (what the workbook writer prints)."""
    rows: list[list[Any]] = [list(STANDARD_COLUMNS)]
    for i in standard.items:
        levels = list(i.levels) + [""] * (MAX_LEVELS - len(i.levels))
        rows.append([*levels, float(i.points), i.rule_text, "；".join(sorted(i.kinds)), i.matter_code])
    return rows


def list_standards(session: Session) -> list[Any]:
    return store.list_standards(session)


# --- evaluation points ----------------------------------------------------------------------


@dataclass(frozen=True)
class PointInput:
    code: str
    name: str
    kind: str
    geometry: BaseGeometry
    unit_code: str | None = None


def street_office(city: City, street_code: str | None) -> str | None:
    """The active street office of a street."""
    if not street_code:
        return None
    return next((u.code for u in sorted(city.units.values(), key=lambda u: u.code)
                 if u.active and u.kind == UnitKind.STREET_OFFICE and u.region_code == street_code), None)


def _grids_of(city: City, geometry: BaseGeometry) -> list[str]:
    coords = list(shapely.get_coordinates(geometry))
    anchor = geometry.representative_point()
    found = {city.grid_index.locate(float(x), float(y)) for x, y in [*coords, (anchor.x, anchor.y)]}
    return sorted(g for g in found if g)


def point_row(city: City, point: PointInput, settings: EvaluationSettings) -> dict[str, Any]:
    """A point located in the city: its street, community, grids and evaluated unit."""
    if not point.code or not point.name or not point.kind:
        raise InvalidInput("点位须有编号、名称和类型")
    if point.geometry.is_empty or not point.geometry.is_valid:
        raise InvalidInput("几何无效或为空")
    anchor = point.geometry.representative_point()
    location = city.locate(anchor.x, anchor.y)
    if point.unit_code and point.unit_code not in city.units:
        raise InvalidInput(f"责任单位“{point.unit_code}”不存在")
    unit = evaluated_unit(point.kind, street_office(city, location.street_code or None),
                          settings.kind_units, point.unit_code)
    return {"code": point.code, "name": point.name, "kind": point.kind,
            "geometry": shapely.to_wkb(point.geometry), "lon": location.lon, "lat": location.lat,
            "street_code": location.street_code or None, "community_code": location.community_code or None,
            "grids": _grids_of(city, point.geometry), "unit_code": unit, "active": True}


def _locate_all(city: City, settings: EvaluationSettings, by_line: Mapping[int, PointInput]) -> list[dict[str, Any]]:
    """Every point located (all or none; each error names its row and code)."""
    lines = list(by_line)
    seen: dict[str, int] = {}
    twice = [f"第 {n} 行（{by_line[n].code}）：编号与第 {seen[by_line[n].code]} 行重复" for n in lines
             if by_line[n].code in seen or seen.setdefault(by_line[n].code, n) != n]
    if twice:
        raise BatchInvalid(f"测评点位有 {len(twice)} 处错误，未导入", twice, code="invalid_points")
    rows = [(n, {"编号": by_line[n].code, "_n": str(n)}) for n in lines]

    def check(row: dict[str, str]) -> dict[str, Any]:
        try:
            return point_row(city, by_line[int(row["_n"])], settings)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    return checked_rows(rows, check, "测评点位", "invalid_points", key="编号")


def _points_from_xlsx(source: Path | bytes) -> list[tuple[int, PointInput]]:
    found = []
    for n, row in read_xlsx(source, POINT_COLUMNS):
        try:
            lon, lat = float(row["经度"]), float(row["纬度"])
        except ValueError:
            raise InvalidInput(f"第 {n} 行：经纬度不是数字", code="invalid_points") from None
        found.append((n, PointInput(row["编号"], row["名称"], row["类型"], shapely.Point(lon, lat),
                                    row.get("责任单位") or None)))
    return found


POINT_FIELDS = {"code": ("code", "编号", "id"), "name": ("name", "名称"), "kind": ("kind", "类型"),
                "unit": ("unit", "unit_code", "责任单位")}


def _points_from_gis(path: Path) -> list[tuple[int, PointInput]]:
    from xiuhua.services.geofile import read_feature_file

    table = read_feature_file(path, POINT_FIELDS, ("code", "name", "kind"))
    cols = table.columns
    return [(n + 1, PointInput(cols["code"][n] or "", cols["name"][n] or "", cols["kind"][n] or "",
                               table.geometries[n], (cols.get("unit") or [None] * len(table))[n]))
            for n in range(len(table))]


def import_points(session: Session, city: City, path: Path, settings: EvaluationSettings,
                  at: datetime, actor: str | None = None) -> int:
    """Points from a GeoJSON (or other GIS) file or a sheet (编号, 名称, 类型, 经度, 纬度, 责任单位):
    all or none; a point of a known code is updated. How many."""
    inputs = _points_from_xlsx(path) if path.suffix.lower() == ".xlsx" else _points_from_gis(path)
    rows = _locate_all(city, settings, dict(inputs))
    store.save_points(session, rows)
    audit(session, at, actor, "evaluation_points_import", path.name, {"points": len(rows)})
    return len(rows)


def save_point(session: Session, city: City, point: PointInput, settings: EvaluationSettings) -> None:
    store.save_points(session, [point_row(city, point, settings)])


def list_points(session: Session) -> list[Any]:
    return store.points(session)


# --- rounds: planning -----------------------------------------------------------------------


def _require_evaluator(principal: Principal | None) -> None:
    if principal is not None and not evaluates(principal):
        raise PermissionDenied("只有考评员和系统管理员可以进行考评检查", code="permission_denied")


def preview_sample(session: Session, seed: int, per_kind: int = DEFAULT_PER_KIND) -> list[Any]:
    """The active points a round drawn from ``seed`` would sample."""
    rows = store.points(session)
    chosen = set(draw_sample([Place(r.id, r.kind, r.street_code) for r in rows], seed, per_kind))
    return [r for r in rows if r.id in chosen]


def plan_round(session: Session, standard_id: int, period: str, seed: int,
               per_kind: int = DEFAULT_PER_KIND, fixed: Iterable[int] = (), at: datetime | None = None,
               principal: Principal | None = None) -> int:
    """A round of a month: the stratified sample drawn from ``seed`` (recorded) plus ``fixed``
    points. Its id."""
    _require_evaluator(principal)
    month = month_of(period)
    get_standard(session, standard_id)
    if at is None:
        raise InvalidInput("缺少时间")
    drawn = preview_sample(session, seed, per_kind)
    if not drawn:
        raise InvalidInput("没有可抽取的测评点位，请先导入点位", code="no_points")
    by = principal.login if principal else None
    round_id = store.add_round(session, standard_id, month.label, seed, per_kind, at, by)
    store.add_round_points(session, round_id, drawn, fixed=False)
    add_fixed_points(session, round_id, [p for p in fixed if p not in {d.id for d in drawn}], principal)
    audit(session, at, by, "round_plan", str(round_id), {"seed": seed, "per_kind": per_kind})
    return round_id


def round_size(session: Session, round_id: int) -> int:
    return len(store.sample(session, round_id))


def _round(session: Session, round_id: int) -> Any:
    row = store.round_row(session, round_id)
    if row is None:
        raise NotFound(f"考评检查 {round_id} 不存在", code="round_not_found")
    return row


def add_fixed_points(session: Session, round_id: int, point_ids: Iterable[int],
                     principal: Principal | None = None) -> None:
    """Fixed points added to an open round by hand (固定点位)."""
    _require_evaluator(principal)
    check_state(RoundState(_round(session, round_id).state), {RoundState.OPEN}, "添加点位")
    ids = list(dict.fromkeys(point_ids))
    rows = store.points(session, ids)
    missing = sorted(set(ids) - {r.id for r in rows})
    if missing:
        raise NotFound(f"测评点位不存在或已停用：{'、'.join(map(str, missing))}", code="point_not_found")
    taken = {r.point_id for r in store.sample(session, round_id)}
    store.add_round_points(session, round_id, [r for r in rows if r.id not in taken], fixed=True)


def add_fixed_codes(session: Session, round_id: int, codes: Iterable[str],
                    principal: Principal | None = None) -> int:
    """Fixed points added by their codes (the planning page's form); how many the round has."""
    wanted = [c.strip() for c in codes if c.strip()]
    by_code = {r.code: r.id for r in store.points(session)}
    unknown = [c for c in wanted if c not in by_code]
    if unknown or not wanted:
        raise NotFound(f"测评点位不存在或已停用：{'、'.join(unknown) or '未填写编号'}", code="point_not_found")
    add_fixed_points(session, round_id, [by_code[c] for c in wanted], principal)
    return round_size(session, round_id)


# --- rounds: recording ----------------------------------------------------------------------


def visible_round(session: Session, principal: Principal, round_id: int) -> Any:
    """A round ``principal`` may see the sample of (others: as if it did not exist)."""
    row = _round(session, round_id)
    if not sees_round_sample(principal, RoundState(row.state)):
        raise NotFound(f"考评检查 {round_id} 不存在", code="round_not_found")
    return row


def _sampled(session: Session, round_id: int, point_id: int) -> Any:
    found = next((p for p in store.sample(session, round_id) if p.point_id == point_id), None)
    if found is None:
        raise NotFound(f"点位 {point_id} 不在本次考评的样本中", code="point_not_sampled")
    return found


@dataclass(frozen=True)
class PhotoAt:
    """A photo with the browser's position when it was taken."""

    photo_id: str
    lon: float | None = None
    lat: float | None = None


def record_deduction(session: Session, principal: Principal, round_id: int, point_id: int,
                     item_id: int, count: int, note: str | None, photos: Sequence[PhotoAt],
                     at: datetime) -> int:
    """An evaluator's deduction at a sampled point of an open round; photos the evaluator may
    see, each with its capture position and distance to the point. Its id."""
    _require_evaluator(principal)
    row = visible_round(session, principal, round_id)
    check_state(RoundState(row.state), {RoundState.OPEN}, "记录扣分")
    sampled = _sampled(session, round_id, point_id)
    item = next((i for i in get_standard(session, row.standard_id).items if i.id == item_id), None)
    if item is None or not item.applies_to(sampled.kind):
        raise InvalidInput(f"考评项目 {item_id} 不适用于{sampled.kind}", code="item_not_applicable")
    check_may_link(session, principal, [p.photo_id for p in photos])
    placed = [(p.photo_id, p.lon, p.lat, distance_m(p.lon, p.lat, sampled.lon, sampled.lat)
               if p.lon is not None and p.lat is not None else None) for p in photos]
    new_id = store.add_deduction(session, round_id, point_id, item_id, deduction_count(count),
                                 (note or "").strip()[:500] or None, at, principal.login, placed)
    store.mark_done(session, round_id, point_id, at, principal.login)
    return new_id


def finish_point(session: Session, principal: Principal, round_id: int, point_id: int,
                 at: datetime) -> None:
    """"No problem" (无问题): the point is done without (further) deductions."""
    _require_evaluator(principal)
    row = visible_round(session, principal, round_id)
    check_state(RoundState(row.state), {RoundState.OPEN}, "记录点位")
    _sampled(session, round_id, point_id)
    store.mark_done(session, round_id, point_id, at, principal.login)


# --- rounds: closing and publishing ---------------------------------------------------------


def _scores(session: Session, row: Any) -> dict[int, Fraction | None]:
    standard = get_standard(session, row.standard_id)
    counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for d in store.deductions(session, row.id):
        counts[d.point_id][d.item_id] += d.count
    return {p.point_id: point_score(standard.applicable(p.kind), counts[p.point_id])
            for p in store.sample(session, row.id)}


def raise_case(session: Session, city: City, data: Report, at: datetime, closer: str | None) -> str:
    """One deduction as a rectification case: reported through the one intake use case (source
    考评检查, photos linked), filed and dispatched to the unit the responsibility matrix names
    (normal deadline)."""
    actor = Actor(closer, None)  # the system acting for the round's closer
    case = take_report(session, city, data, at, Reporter.system(actor, channel="evaluation")).case
    case = act_on_case(session, city, case.case_no, Command(Action.FILE, at, actor))
    if case.location is not None:
        unit = city.responsible(data.category_code, case.location.grid_code).unit
        if unit is not None:
            act_on_case(session, city, case.case_no, Command(Action.DISPATCH, at, actor, unit=unit))
    return case.case_no


def close_round(session: Session, city: City, round_id: int, at: datetime,
                principal: Principal | None = None) -> list[str]:
    """Close an open round: each point scored, each deduction a case (source 考评检查). The
    case numbers."""
    _require_evaluator(principal)
    row = _round(session, round_id)
    check_state(RoundState(row.state), {RoundState.OPEN}, "结束")
    standard = get_standard(session, row.standard_id)
    items = {i.id: i for i in standard.items}
    sample = {p.point_id: p for p in store.sample(session, round_id)}
    deductions = store.deductions(session, round_id)
    photos = store.deduction_photos(session, [d.id for d in deductions])
    by = principal.login if principal else None
    store.set_scores(session, round_id, _scores(session, row))
    cases = []
    for d in deductions:
        item, point = items[d.item_id], sample[d.point_id]
        text = f"考评检查（{row.period}）{point.name}：{item.description}，{d.count} 处"
        text += f"。{d.note}" if d.note else ""
        data = Report(item.matter_code, Source.EVALUATION, point.lon, point.lat, address=point.name,
                      description=text, photos=tuple(p.photo_id for p in photos.get(d.id, [])))
        case_no = raise_case(session, city, data, at, by)
        store.set_case(session, d.id, case_no)
        cases.append(case_no)
    store.set_state(session, round_id, RoundState.CLOSED, closed_at=at, closed_by=by)
    audit(session, at, by, "round_close", str(round_id), {"cases": len(cases)})
    return cases


def publish_round(session: Session, round_id: int, at: datetime,
                  principal: Principal | None = None) -> str:
    """Publish a closed round (frozen): it counts in its month, or — when that month's
    assessment is already published — in the next month not yet published. That month."""
    _require_evaluator(principal)
    row = _round(session, round_id)
    check_state(RoundState(row.state), {RoundState.CLOSED}, "发布")
    booked = booked_period(row.period, set(assessment_store.published_periods(session)))
    by = principal.login if principal else None
    store.set_state(session, round_id, RoundState.PUBLISHED, published_at=at, published_by=by,
                    booked_period=booked)
    audit(session, at, by, "round_publish", str(round_id), {"booked_period": booked})
    return booked


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeductionView:
    id: int
    point_id: int
    item_id: int
    item: str
    heading: str
    count: int
    points: Fraction
    note: str | None
    case_no: str | None
    photos: tuple[dict[str, Any], ...]
    recorded_by: str | None

    @property
    def far(self) -> bool:
        return any(p["far"] for p in self.photos)


@dataclass(frozen=True)
class PointView:
    point_id: int
    code: str
    name: str
    kind: str
    street_code: str | None
    community_code: str | None
    unit_code: str | None
    lon: float
    lat: float
    fixed: bool
    done: bool
    score: Fraction | None
    deductions: tuple[DeductionView, ...] = ()


@dataclass(frozen=True)
class RoundView:
    id: int
    standard_id: int
    standard_name: str
    period: str
    seed: int
    per_kind: int
    state: RoundState
    booked_period: str | None
    points: tuple[PointView, ...] = ()
    by_street: tuple[tuple[str, Fraction], ...] = ()
    by_unit: tuple[tuple[str, Fraction], ...] = ()
    by_kind: tuple[tuple[str, Fraction, int], ...] = ()
    by_item: tuple[tuple[str, int, Fraction], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def _point_views(session: Session, row: Any, standard: Standard, keep: Any) -> list[PointView]:
    items = {i.id: i for i in standard.items}
    deductions = store.deductions(session, row.id)
    photos = store.deduction_photos(session, [d.id for d in deductions])
    by_point: dict[int, list[DeductionView]] = defaultdict(list)
    for d in deductions:
        item = items[d.item_id]
        shots = tuple({"photo_id": p.photo_id, "lon": p.lon, "lat": p.lat, "distance_m": p.distance_m,
                       "far": is_far(p.distance_m)} for p in photos.get(d.id, []))
        by_point[d.point_id].append(DeductionView(d.id, d.point_id, d.item_id, item.description,
                                                  " / ".join(item.headings), d.count, item.deduction(d.count),
                                                  d.note, d.case_no, shots, d.recorded_by))
    scores = _scores(session, row) if row.state == RoundState.OPEN.value else None
    views = []
    for p in store.sample(session, row.id):
        if not keep(p.unit_code):
            continue
        score = scores[p.point_id] if scores is not None else (
            store.stored_score(p.score) if p.score is not None else None)
        views.append(PointView(p.point_id, p.code, p.name, p.kind, p.street_code, p.community_code,
                               p.unit_code, p.lon, p.lat, p.fixed, p.done_at is not None, score,
                               tuple(by_point[p.point_id])))
    return views


def round_view(session: Session, principal: Principal, round_id: int, weights: Mapping[str, Fraction]) -> RoundView:
    """A round as ``principal`` may see it: the whole sample (evaluators; the center once closed)
    or a unit's own points once published; its roll-ups by street, unit, kind and item."""
    row = _round(session, round_id)
    state = RoundState(row.state)
    keep: Callable[[str | None], bool]
    if sees_round_sample(principal, state):
        keep = lambda _unit: True  # noqa: E731
    elif sees_round_results(principal, state, principal.unit_code):
        keep = lambda unit: unit == principal.unit_code  # noqa: E731
    else:
        raise NotFound(f"考评检查 {round_id} 不存在", code="round_not_found")
    standard = get_standard(session, row.standard_id)
    points = _point_views(session, row, standard, keep)
    results = [PointResult(p.point_id, p.kind, p.street_code, p.community_code, p.unit_code, p.score)
               for p in points if p.score is not None]
    street_codes = {p.street_code for p in points}
    streets = {k: v for k, v in region_scores(results, weights).items() if k in street_codes}
    kinds: dict[str, list[PointResult]] = defaultdict(list)
    for r in results:
        kinds[r.kind].append(r)
    items: dict[str, tuple[int, Fraction]] = {}
    for p in points:
        for d in p.deductions:
            n, pts = items.get(d.item, (0, Fraction(0)))
            items[d.item] = (n + d.count, pts + d.points)
    return RoundView(
        row.id, row.standard_id, standard.name, row.period, row.seed, row.per_kind, state, row.booked_period,
        tuple(points), tuple(sorted(streets.items())), tuple(sorted(unit_scores(results, weights).items())),
        tuple((k, sum((r.score for r in rs), Fraction(0)) / len(rs), len(rs)) for k, rs in sorted(kinds.items())),
        tuple(sorted(((k, n, v) for k, (n, v) in items.items()), key=lambda t: -t[2])))


def list_rounds(session: Session, principal: Principal) -> list[Any]:
    """Every round (its month, state and progress); the sample is not in it."""
    return store.list_rounds(session)


def work_items(session: Session, principal: Principal, round_id: int) -> tuple[RoundView, Standard]:
    """What the evaluator's phone page needs: the round's points and its standard."""
    _require_evaluator(principal)
    row = visible_round(session, principal, round_id)
    view = round_view(session, principal, round_id, {})
    return view, get_standard(session, row.standard_id)


# --- the score source -----------------------------------------------------------------------


def period_evidence(session: Session, city: City | None, period: Period,
                    at: datetime | None = None) -> dict[str, UnitEvidence]:
    """By unit code: the scored points of the published rounds booked into the period's months
    (what the ``evaluation`` source reads as ``unit.loaded["evaluation"]``; the signature of
    the assessment's source loaders: ``city`` and ``at`` are not needed, a published round is
    frozen)."""
    results: dict[str, list[PointResult]] = defaultdict(list)
    rounds: dict[str, set[int]] = defaultdict(set)
    for round_id, result in store.booked_results(session, period.months()):
        if result.unit_code:
            results[result.unit_code].append(result)
            rounds[result.unit_code].add(round_id)
    return {code: UnitEvidence(tuple(rs), tuple(sorted(rounds[code]))) for code, rs in results.items()}


# --- the self-evaluation report (自评价报告) -----------------------------------------------------

WORST_POINTS = 5  # the lowest-scoring points the report shows


@dataclass(frozen=True)
class _Scored:
    """One scored point of a round, with its deductions (item id → occurrences)."""

    round_id: int
    row: Any
    score: Fraction
    counts: Mapping[int, int]


def _period_points(session: Session, period: Period, standard_id: int) -> list[_Scored]:
    found = []
    for round_id in store.booked_rounds(session, period.months(), standard_id):
        counts: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for d in store.deductions(session, round_id):
            counts[d.point_id][d.item_id] += d.count
        found += [_Scored(round_id, p, store.stored_score(p.score), counts[p.point_id])
                  for p in store.sample(session, round_id) if p.score is not None]
    return found


def _heading_scores(standard: Standard, points: Sequence[_Scored],
                    weights: Mapping[str, Fraction]) -> dict[str, tuple[Fraction | None, int]]:
    """By top heading: the kind-weighted mean of the points' scores under it, and how many."""
    headings = list(dict.fromkeys(i.headings[0] for i in standard.items))
    found = {}
    for heading in headings:
        items = [i for i in standard.items if i.headings[0] == heading]
        results = []
        for p in points:
            score = point_score([i for i in items if i.applies_to(p.row.kind)], p.counts)
            if score is not None:
                results.append(PointResult(p.row.point_id, p.row.kind, None, None, None, score))
        found[heading] = (kind_weighted_mean(results, weights), len(results))
    return found


def _number(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def _mean(points: Sequence[_Scored], weights: Mapping[str, Fraction]) -> float | None:
    return _number(kind_weighted_mean([PointResult(p.row.point_id, p.row.kind, None, None, None, p.score)
                                       for p in points], weights))


def _photo_bytes(settings: Settings, photo_ids: Iterable[str]) -> tuple[bytes, ...]:
    """The public copies (JPEG, no metadata) of the photos whose files are there."""
    from xiuhua.services.photos import photo_path

    paths = [photo_path(settings, i, "public") for i in dict.fromkeys(photo_ids)]
    return tuple(p.read_bytes() for p in paths if p.is_file())


def _worst(session: Session, settings: Settings, city: City, standard: Standard,
           points: Sequence[_Scored]) -> tuple[WorstPoint, ...]:
    items = {i.id: i for i in standard.items}
    chosen = sorted((p for p in points if p.counts), key=lambda p: (p.score, p.row.code, p.round_id))
    found = []
    for p in chosen[:WORST_POINTS]:
        rows = store.deductions(session, p.round_id, p.row.point_id)
        photos = store.deduction_photos(session, [d.id for d in rows])
        texts = tuple(f"{items[d.item_id].description} ×{d.count}（−{float(items[d.item_id].deduction(d.count)):g} 分）"
                      for d in rows)
        street = city.regions[p.row.street_code].name if p.row.street_code in city.regions else ""
        found.append(WorstPoint(p.row.name, p.row.kind, street, float(p.score), texts,
                                _photo_bytes(settings, [ph.photo_id for d in rows for ph in photos.get(d.id, [])])))
    return tuple(found)


def _rectification(session: Session, points: Sequence[_Scored], at: datetime) -> tuple[int, int, int]:
    """(deductions that became cases, of those closed by ``at``, of those closed on time)."""
    from xiuhua.store.cases import load_case

    cases = [d.case_no for round_id in dict.fromkeys(p.round_id for p in points)
             for d in store.deductions(session, round_id) if d.case_no]
    closed = on_time = 0
    for case_no in cases:
        case = load_case(session, case_no)
        if case.closed_at is None or case.closed_at > at:
            continue
        closed += 1
        handled = [a for a in case.assignments if a.ended is AssignmentEnd.HANDLED]
        on_time += all(a.on_time for a in handled)
    return len(cases), closed, on_time


def self_evaluation_input(session: Session, settings: Settings, city: City, period: str,
                          standard_id: int, at: datetime, viewer: Principal | None = None,
                          weights: Mapping[str, Fraction] | None = None) -> SelfEvaluationInput:
    """What the self-evaluation report of ``period`` against a standard shows: the published
    rounds against it booked into the period's months (and the last period's, for the change),
    scored by top heading, the worst points with their deductions and photos, and the
    rectification of the cases the deductions became as it stood at ``at``. ``viewer``: the
    center roles, leaders, the office and admins (None: the CLI)."""
    if viewer is not None and not sees_self_evaluation(viewer):
        raise PermissionDenied("只有指挥中心、领导、城管办和系统管理员可以查看自评价报告", code="permission_denied")
    chosen = Period.parse(period)
    standard = get_standard(session, standard_id)
    weights = weights if weights is not None else evaluation_settings(settings.data_dir).kind_weights
    now, before = _period_points(session, chosen, standard_id), _period_points(session, chosen.shift(-1), standard_id)
    current, previous = _heading_scores(standard, now, weights), _heading_scores(standard, before, weights)
    headings = tuple(HeadingScore(h, _number(s), _number(previous[h][0]), n) for h, (s, n) in current.items())
    cases, closed, on_time = _rectification(session, now, at)
    city_name = next((r.name for r in city.regions.values() if r.level is RegionLevel.CITY), "")
    return SelfEvaluationInput(chosen, standard.name, city_name, f"{city_name}城市管理委员会办公室",
                               at.astimezone(local_zone()),
                               _mean(now, weights), _mean(before, weights), headings,
                               _worst(session, settings, city, standard, now), cases, closed, on_time)


# --- the demo city --------------------------------------------------------------------------

DEMO_KIND_UNITS = {"公园": "YLZX", "公厕": "HWZX", "集贸市场": "SJJ"}  # the demo's departments
DEMO_POINTS = 300
DEMO_EVALUATOR = "evaluator01"


def demo_points(city: City, rng: Any, target: int = DEMO_POINTS) -> list[PointInput]:
    """About ``target`` points of every kind in every street, each in a grid of its street."""
    from xiuhua.domain.evaluation import POINT_KINDS

    grids_by_street: dict[str, list[str]] = defaultdict(list)
    for code in city.grid_index.codes:
        street = next((c for c in city.areas(code) if c in city.regions
                       and city.regions[c].level is RegionLevel.STREET), None)
        if street:
            grids_by_street[street].append(code)
    streets = sorted(grids_by_street)
    each = max(1, round(target / max(1, len(streets) * len(POINT_KINDS))))
    found = []
    for street in streets:
        for n, kind in enumerate(POINT_KINDS):
            for grid in rng.sample(grids_by_street[street], min(each, len(grids_by_street[street]))):
                shape = city.grid_index.geometry(grid)
                assert shape is not None
                at = shape.representative_point()
                name = f"{city.regions[street].name}{kind}{grid[-3:]}"
                found.append(PointInput(f"{street}-{n + 1:02d}-{grid[-3:]}", name, kind,
                                        shapely.Point(round(at.x, 6), round(at.y, 6))))
    return found


def build_demo(session: Session, city: City, months: Sequence[Period], seed: int) -> list[int]:
    """The demo's field evaluation, given three complete months or more (else nothing): the
    example standard, ~300 points, and a round in each of the last three months (deductions
    drawn from ``seed``), closed into cases and published two days before the month ends, so
    before the month's assessment is. The rounds' ids."""
    import random

    if len(months) < 3:
        return []
    months = months[-3:]
    rng = random.Random(seed * 7919 + 16)
    evaluator = Principal(DEMO_EVALUATOR, Role.EVALUATOR)
    first = months[0].start
    standard_id = store.save_standard(session, demo_standard(city, "城市管理月度考评标准", first.year), first, None)
    units = {kind: code for kind, code in DEMO_KIND_UNITS.items() if code in city.units}
    rows = [point_row(city, p, EvaluationSettings({}, units)) for p in demo_points(city, rng)]
    store.save_points(session, rows)
    standard = get_standard(session, standard_id)
    rounds = []
    for n, month in enumerate(months):
        start = month.start + (month.end - month.start) / 3
        round_id = plan_round(session, standard_id, month.label, seed * 100 + n, 1, (), start, evaluator)
        for point in store.sample(session, round_id):
            items = standard.applicable(point.kind)
            for item in rng.sample(items, min(len(items), rng.choice((0, 0, 1, 1, 2)))):
                record_deduction(session, evaluator, round_id, point.point_id, item.id or 0,
                                 rng.choice((1, 1, 2, 3)), None, [], start)
            store.mark_done(session, round_id, point.point_id, start, DEMO_EVALUATOR)
        closing = month.end - timedelta(days=2)
        close_round(session, city, round_id, closing, evaluator)
        publish_round(session, round_id, closing, evaluator)
        rounds.append(round_id)
    return rounds
