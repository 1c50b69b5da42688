"""Field evaluation (考评): standards, evaluation points (places, a map layer) and inspection
rounds — planning from a seed, the evaluator's records point by point (idempotent, for the
phone page's offline queue), closing, publishing and the results. Access:
``domain.access.evaluates`` / ``sees_evaluation_data`` / ``sees_round_sample`` /
``sees_round_results``."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, File, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from xiuhua.domain.access import Principal, evaluates, sees_evaluation_data, sees_round_sample
from xiuhua.domain.choices import RoundState
from xiuhua.domain.errors import PermissionDenied
from xiuhua.domain.evaluation import DEFAULT_PER_KIND, MAX_COUNT, Standard
from xiuhua.domain.photos import MAX_PHOTOS
from xiuhua.http.deps import CityDep, CurrentUser, NowDep, SessionDep, SettingsDep
from xiuhua.http.problems import problem_responses
from xiuhua.reports.evaluation import standard_workbook
from xiuhua.services import evaluation as service
from xiuhua.services import idempotency

router = APIRouter(tags=["考评"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_STANDARD_BYTES = 5 * 1024 * 1024
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdempotencyKey = Annotated[str | None, Header(
    alias=idempotency.HEADER, pattern=idempotency.KEY_PATTERN,
    description="重试时带同一个键：只记录一次，并返回第一次的结果（离线队列据此补发）")]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权操作", 404: "不存在或不在权限范围内",
            409: "考评检查的状态不允许此操作", 422: "请求内容有误"}
    return problem_responses(text, *statuses)


def _staff(user: Principal) -> None:
    if not sees_evaluation_data(user):
        raise PermissionDenied("考评数据仅供工作人员查看", code="permission_denied")


def _evaluator(user: Principal) -> None:
    if not evaluates(user):
        raise PermissionDenied("只有考评员和系统管理员可以进行此操作", code="permission_denied")


def _num(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


# --- standards ------------------------------------------------------------------------------


class StandardItemPublic(BaseModel):
    id: int
    levels: list[str] = Field(description="各级指标，最后一级为考评内容")
    points: float = Field(description="分值")
    rule: str = Field(description="per_occurrence（按处扣分）/ pass_fail（不合格扣全分）")
    rule_text: str = Field(description="扣分标准")
    each: float = Field(description="每处扣分（不合格扣全分时等于分值）")
    kinds: list[str] = Field(description="适用点位类型；空：全部")
    matter_code: str = Field(description="扣分转为整改案件时的事项分类")


class StandardPublic(BaseModel):
    id: int
    name: str
    year: int
    points: float
    items: list[StandardItemPublic]


def standard_public(standard_id: int, s: Standard) -> StandardPublic:
    return StandardPublic(id=standard_id, name=s.name, year=s.year, points=float(s.total_points), items=[
        StandardItemPublic(id=i.id or 0, levels=list(i.levels), points=float(i.points), rule=i.rule.value,
                           rule_text=i.rule_text, each=float(i.each), kinds=sorted(i.kinds),
                           matter_code=i.matter_code) for i in s.items])


@router.get("/standards", responses=_problems(401, 403))
def standards(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """考评标准 (staff): every standard, newest year first, with its item count and points."""
    _staff(user)
    return [{"id": r.id, "name": r.name, "year": r.year, "items": r.items, "points": float(r.points)}
            for r in service.list_standards(session)]


@router.post("/standards", status_code=201, response_model=StandardPublic,
             responses=_problems(401, 403, 422))
def import_standard(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                    file: Annotated[UploadFile, File(description="考评标准 .xlsx")],
                    name: Annotated[str, Form(min_length=1, max_length=200)],
                    year: Annotated[int, Form(ge=2000, le=2100)]) -> StandardPublic:
    """导入考评标准 (evaluators, admins): the office's sheet (一级指标…四级指标, 分值, 扣分标准,
    适用点位, 事项代码); all rows or none, formula cells refused naming row and column."""
    _evaluator(user)
    data = file.file.read(MAX_STANDARD_BYTES + 1)
    new_id = service.import_standard(session, city, data, name, year, now, user.login)
    return standard_public(new_id, service.get_standard(session, new_id))


@router.get("/standards/{standard_id}", response_model=StandardPublic, responses=_problems(401, 403, 404))
def standard(session: SessionDep, user: CurrentUser, standard_id: IdPath) -> StandardPublic:
    """一个考评标准 (staff): its items with their levels, points and rules."""
    _staff(user)
    return standard_public(standard_id, service.get_standard(session, standard_id))


@router.get("/standards/{standard_id}/export.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}}, **_problems(401, 403, 404)})
def export_standard(session: SessionDep, user: CurrentUser, standard_id: IdPath) -> Response:
    """导出考评标准 (staff): the sheet its import reads."""
    _staff(user)
    found = service.get_standard(session, standard_id)
    body = standard_workbook(found.name, service.standard_rows(found))
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=standard-{standard_id}.xlsx"})


# --- evaluation points ----------------------------------------------------------------------


class PointCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=32, examples=["主次干道"])
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    unit_code: str | None = Field(None, max_length=32, description="被考评单位；省略：按类型或所在街道办事处")


def point_feature(r: Any, city_units: Any) -> dict[str, Any]:
    geometry = shapely.from_wkb(r.geometry)
    unit = city_units.get(r.unit_code) if r.unit_code else None
    return {"type": "Feature", "id": r.id, "geometry": shapely.geometry.mapping(geometry),
            "properties": {"id": r.id, "code": r.code, "name": r.name, "kind": r.kind,
                           "street_code": r.street_code, "community_code": r.community_code,
                           "grids": list(r.grids), "unit_code": r.unit_code,
                           "unit_name": unit.name if unit else None, "lon": r.lon, "lat": r.lat}}


@router.get("/evaluation-points", responses=_problems(401, 403))
def evaluation_points(session: SessionDep, city: CityDep, user: CurrentUser,
                      kind: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """测评点位 (staff): a GeoJSON FeatureCollection (the map layer), by kind if given."""
    _staff(user)
    rows = [r for r in service.list_points(session) if kind is None or r.kind == kind]
    return {"type": "FeatureCollection", "features": [point_feature(r, city.units) for r in rows]}


@router.post("/evaluation-points", status_code=201, responses=_problems(401, 403, 422))
def save_point(session: SessionDep, city: CityDep, settings: SettingsDep, user: CurrentUser,
               body: PointCreate) -> dict[str, Any]:
    """新增或修改测评点位 (evaluators, admins), by code: located in its street, community and
    grid; its evaluated unit the one given, else by kind (``[evaluation] kind_units``), else the
    street office."""
    _evaluator(user)
    service.save_point(session, city, service.PointInput(
        body.code, body.name, body.kind, shapely.Point(body.lon, body.lat), body.unit_code),
        service.evaluation_settings(settings.data_dir))
    row = next(r for r in service.list_points(session) if r.code == body.code)
    return point_feature(row, city.units)


# --- rounds ---------------------------------------------------------------------------------


class RoundCreate(BaseModel):
    standard_id: int = Field(ge=1)
    period: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])
    seed: int = Field(ge=0, le=2**62)
    per_kind: int = Field(DEFAULT_PER_KIND, ge=1, le=1000)
    fixed: list[int] = Field(default_factory=list, max_length=1000, description="固定点位编号")


class FixedPoints(BaseModel):
    point_ids: list[int] = Field(min_length=1, max_length=1000)


class PhotoAtIn(BaseModel):
    photo_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    lon: float | None = Field(None, ge=-180, le=180, description="拍摄时浏览器定位（WGS-84）")
    lat: float | None = Field(None, ge=-90, le=90)


class DeductionCreate(BaseModel):
    item_id: int = Field(ge=1)
    count: int = Field(1, ge=1, le=MAX_COUNT)
    note: str | None = Field(None, max_length=500)
    photos: list[PhotoAtIn] = Field(default_factory=list, max_length=MAX_PHOTOS)


def _round_json(r: Any, user: Principal) -> dict[str, Any]:
    """A round's head; its size and progress only for those who may see its sample."""
    shown = sees_round_sample(user, RoundState(r.state))
    return {"id": r.id, "standard_id": r.standard_id, "period": r.period, "state": r.state,
            "planned_at": r.planned_at, "closed_at": r.closed_at, "published_at": r.published_at,
            "booked_period": r.booked_period, "points": r.points if shown else None,
            "done": r.done if shown else None}


@router.get("/rounds", responses=_problems(401, 403))
def rounds(session: SessionDep, user: CurrentUser) -> list[dict[str, Any]]:
    """考评检查 (staff): every round, its month, state and progress — never its sample."""
    _staff(user)
    return [_round_json(r, user) for r in service.list_rounds(session, user)]


@router.get("/rounds/preview", responses=_problems(401, 403, 422))
def preview(session: SessionDep, user: CurrentUser, seed: Annotated[int, Query(ge=0, le=2**62)],
            per_kind: Annotated[int, Query(ge=1, le=1000)] = DEFAULT_PER_KIND) -> list[dict[str, Any]]:
    """抽样预览 (evaluators, admins): the points a round drawn from ``seed`` would sample."""
    _evaluator(user)
    return [{"id": r.id, "code": r.code, "name": r.name, "kind": r.kind, "street_code": r.street_code,
             "unit_code": r.unit_code, "lon": r.lon, "lat": r.lat}
            for r in service.preview_sample(session, seed, per_kind)]


@router.post("/rounds", status_code=201, responses=_problems(401, 403, 404, 422))
def plan(session: SessionDep, now: NowDep, user: CurrentUser, body: RoundCreate) -> dict[str, Any]:
    """新建考评检查 (evaluators, admins): the stratified sample of the seed plus fixed points."""
    round_id = service.plan_round(session, body.standard_id, body.period, body.seed, body.per_kind,
                                  body.fixed, now, user)
    return {"id": round_id, "points": service.round_size(session, round_id)}


def _deduction_json(d: service.DeductionView) -> dict[str, Any]:
    return {"id": d.id, "item_id": d.item_id, "item": d.item, "heading": d.heading, "count": d.count,
            "points": float(d.points), "note": d.note, "case_no": d.case_no, "far": d.far,
            "photos": list(d.photos), "recorded_by": d.recorded_by}


def view_json(view: service.RoundView) -> dict[str, Any]:
    """A round's results (what ``GET /rounds/{id}/results`` answers)."""
    return {
        "id": view.id, "standard_id": view.standard_id, "standard_name": view.standard_name,
        "period": view.period, "seed": view.seed, "per_kind": view.per_kind, "state": view.state.value,
        "state_label": view.state.label, "booked_period": view.booked_period,
        "points": [{"id": p.point_id, "code": p.code, "name": p.name, "kind": p.kind,
                    "street_code": p.street_code, "community_code": p.community_code,
                    "unit_code": p.unit_code, "lon": p.lon, "lat": p.lat, "fixed": p.fixed,
                    "done": p.done, "score": _num(p.score),
                    "deductions": [_deduction_json(d) for d in p.deductions]} for p in view.points],
        "by_street": [{"code": c, "score": float(v)} for c, v in view.by_street],
        "by_unit": [{"code": c, "score": float(v)} for c, v in view.by_unit],
        "by_kind": [{"kind": k, "score": float(v), "points": n} for k, v, n in view.by_kind],
        "by_item": [{"item": i, "count": n, "points": float(v)} for i, n, v in view.by_item],
    }


@router.get("/rounds/{round_id}/results", responses=_problems(401, 404))
def results(session: SessionDep, settings: SettingsDep, user: CurrentUser, round_id: IdPath) -> dict[str, Any]:
    """考评结果: evaluators and admins always; the center, leaders and the office once the round
    is closed; a unit's staff their own unit's points once it is published."""
    weights = service.evaluation_settings(settings.data_dir).kind_weights
    return view_json(service.round_view(session, user, round_id, weights))


@router.get("/rounds/{round_id}/work", responses=_problems(401, 403, 404))
def work(session: SessionDep, user: CurrentUser, round_id: IdPath) -> dict[str, Any]:
    """考评员工作数据 (evaluators, admins): the sampled points, each with the items of the
    standard that apply to its kind and what was recorded."""
    view, standard = service.work_items(session, user, round_id)
    found = view_json(view)
    for point in found["points"]:
        point["items"] = [i.id for i in standard.applicable(point["kind"])]
    found["items"] = standard_public(view.standard_id, standard).model_dump()["items"]
    return found


@router.post("/rounds/{round_id}/points", responses=_problems(401, 403, 404, 409, 422))
def add_points(session: SessionDep, user: CurrentUser, round_id: IdPath, body: FixedPoints) -> dict[str, Any]:
    """添加固定点位 (evaluators, admins) to an open round."""
    service.visible_round(session, user, round_id)
    service.add_fixed_points(session, round_id, body.point_ids, user)
    return {"id": round_id, "points": service.round_size(session, round_id)}


def _idempotent(request: Request, session: SessionDep, user: Principal, key: str | None, payload: Any,
                now: Any, work: Any) -> JSONResponse:
    """Run ``work`` once per idempotency key: a retry (the offline queue) gets the first answer."""
    if key is not None:
        stored = idempotency.claim(session, user.login, key,
                                   idempotency.fingerprint("POST", request.url.path, payload), now)
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code,
                                headers={"Idempotent-Replayed": "true"})
    body = work()
    if key is not None:
        idempotency.remember(session, user.login, key, 201, body)
    return JSONResponse(body, status_code=201)


@router.post("/rounds/{round_id}/points/{point_id}/deductions", status_code=201,
             responses=_problems(401, 403, 404, 409, 422))
def deduct(request: Request, session: SessionDep, now: NowDep, user: CurrentUser, round_id: IdPath,
           point_id: IdPath, body: DeductionCreate, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """记录扣分 (evaluators, admins): an item of the standard at a sampled point, the count of
    occurrences, a note and photos with the position where each was taken (a photo more than
    200 m from the point is flagged)."""
    def work() -> dict[str, Any]:
        new_id = service.record_deduction(
            session, user, round_id, point_id, body.item_id, body.count, body.note,
            [service.PhotoAt(p.photo_id, p.lon, p.lat) for p in body.photos], now)
        return {"id": new_id, "round_id": round_id, "point_id": point_id}

    return _idempotent(request, session, user, idempotency_key, body.model_dump(mode="json"), now, work)


@router.post("/rounds/{round_id}/points/{point_id}/done", status_code=201,
             responses=_problems(401, 403, 404, 409, 422))
def point_done(request: Request, session: SessionDep, now: NowDep, user: CurrentUser, round_id: IdPath,
               point_id: IdPath, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """无问题 / 本点位完成 (evaluators, admins): the point is done."""
    def work() -> dict[str, Any]:
        service.finish_point(session, user, round_id, point_id, now)
        return {"round_id": round_id, "point_id": point_id, "done": True}

    return _idempotent(request, session, user, idempotency_key, {}, now, work)


@router.post("/rounds/{round_id}/close", responses=_problems(401, 403, 404, 409))
def close(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser, round_id: IdPath) -> dict[str, Any]:
    """结束考评检查 (evaluators, admins): points scored, each deduction a rectification case."""
    service.visible_round(session, user, round_id)
    cases = service.close_round(session, city, round_id, now, user)
    return {"id": round_id, "state": "closed", "cases": cases}


@router.post("/rounds/{round_id}/publish", responses=_problems(401, 403, 404, 409))
def publish(session: SessionDep, now: NowDep, user: CurrentUser, round_id: IdPath) -> dict[str, Any]:
    """发布考评检查 (evaluators, admins): frozen; counted in the month it is booked into."""
    service.visible_round(session, user, round_id)
    booked = service.publish_round(session, round_id, now, user)
    return {"id": round_id, "state": "published", "booked_period": booked}
