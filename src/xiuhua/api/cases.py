"""Cases: report one (JSON or multipart with photos, idempotent), list them within the caller's
scope, read one, act on one (every lifecycle action), and ask whom to dispatch it to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Action, CaseStatus, Role, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import ActionRefused, PermissionDenied
from xiuhua.domain.lifecycle import SYSTEM_ACTIONS, Case, allowed_actions, overdue_at
from xiuhua.domain.responsibility import SCOPE_LABELS, Answer
from xiuhua.domain.taxonomy import URGENCY_LABELS
from xiuhua.http.cases import action_input, case_filter, case_report, parse_action
from xiuhua.http.deps import (
    CityDep,
    CurrentUser,
    NowDep,
    SessionDep,
    Unit,
    UnitDep,
    client_address,
    run_report,
)
from xiuhua.http.presenters import category_name, reporter_view, suggestion_message
from xiuhua.http.problems import problem_responses
from xiuhua.http.schemas import (
    CASE_NO,
    MAX_PHOTOS,
    AssignmentPublic,
    CaseActionCreate,
    CaseCreate,
    CaseCreated,
    CaseList,
    CasePublic,
    CaseQuery,
    CaseSummary,
    DispatchSuggestion,
    EventPublic,
    ResponsibilityRule,
    TaskPublic,
    UnitRef,
)
from xiuhua.http.urls import API
from xiuhua.services import idempotency
from xiuhua.services.cases import component_owner, perform_action, visible_case
from xiuhua.services.idempotency import StoredResponse
from xiuhua.services.intake import Claim, Reporter, take_report
from xiuhua.services.photos import Upload
from xiuhua.store.case_queries import list_cases
from xiuhua.store.cases import case_row, load_case

router = APIRouter(tags=["案件"])

MAX_JSON_BODY = 256 * 1024
SUGGEST_ROLES = frozenset({Role.DISPATCHER, Role.SHIFT_LEADER, Role.ACCEPTOR, Role.LEADER,
                           Role.ADMIN})
CASE_ACTIONS = [a.value for a in Action if a is not Action.REPORT and a not in SYSTEM_ACTIONS]


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "请求格式有误", 401: "未登录或令牌无效", 403: "无权执行", 404: "案件不存在或不在权限范围内",
            409: "版本冲突：案件已被他人更新", 413: "请求内容过大", 415: "不支持的内容类型",
            422: "请求有误或业务规则不允许"}
    return problem_responses(text, *statuses)


CaseNoPath = Annotated[str, Path(pattern=CASE_NO, description="案件号",
                                 examples=["20261016000001"])]


# --- reading one case --------------------------------------------------------------------


def base_fields(city: City, m: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of :class:`CaseBase` from a case row (``store.cases.case_row`` or a list row)."""
    status, source = CaseStatus(m["status"]), Source(m["source"])
    return {
        "case_no": m["case_no"], "version": m["version"], "status": status,
        "status_label": status.label, "source": source, "source_label": source.label,
        "category_code": m["category_code"],
        "category_name": category_name(city, m["category_code"]),
        "urgency": m["urgency"], "urgency_label": URGENCY_LABELS.get(m["urgency"], m["urgency"]),
        "address": m["address"], "description": m["description"], "grid_code": m["grid_code"],
        "community_code": m["community_code"], "street_code": m["street_code"],
        "reported_at": m["reported_at"], "closed_at": m["closed_at"],
        "holder_unit": m["holder_unit"], "holder_unit_name": city.unit_name(m["holder_unit"]),
        "due_at": m["due_at"], "overdue": bool(m["overdue"]),
    }


def case_photos(case: Case) -> list[str]:
    """Photos of the report and of every step, in order, each once."""
    seen = dict.fromkeys(case.photos)
    for event in case.events:
        seen.update(dict.fromkeys(event.photos))
    return list(seen)


def assignment_views(city: City, case: Case, now: datetime) -> list[AssignmentPublic]:
    return [AssignmentPublic(
        seq=a.seq, unit=a.unit_code, unit_name=city.unit_name(a.unit_code), kind=a.kind,
        started_at=a.started_at, limit=a.limit, deadline=a.deadline, handled_at=a.handled_at,
        ended=a.ended, ended_at=a.ended_at, on_time=a.on_time, overdue=overdue_at(a, now),
        suspended=a.suspended_at is not None, extension_requested=a.extension_requested,
        suspension_requested=a.suspension_requested,
    ) for a in case.assignments]


def case_view(city: City, case: Case, user: Principal, now: datetime) -> CasePublic:
    """The case as ``user`` may see it at ``now``."""
    row = case_row(case)
    row["overdue"] = any(overdue_at(a, now) for a in case.assignments if a.is_open)
    return CasePublic(
        **base_fields(city, row), lon=row["lon"], lat=row["lat"],
        component_code=case.component_code, reporter=reporter_view(case, user),
        photos=case_photos(case), filed_at=case.filed_at, cancelled_at=case.cancelled_at,
        cancel_reason=row["cancel_reason"], duplicate_of=case.duplicate_of, rating=case.rating,
        updated_at=case.updated_at,
        events=[EventPublic(seq=e.seq, action=e.action, action_label=e.action.label, at=e.at,
                            actor=e.actor, note=e.note, photos=list(e.photos), data=dict(e.data))
                for e in case.events],
        assignments=assignment_views(city, case, now),
        tasks=[TaskPublic(seq=t.seq, kind=t.kind, kind_label=t.kind.label, inspector=t.inspector,
                          opened_at=t.opened_at, deadline=t.deadline, done_at=t.done_at,
                          result=t.result) for t in case.tasks],
        allowed_actions=allowed_actions(case, user.actor, city.rules),
    )


@router.get("/cases/{case_no}", name="get_case", response_model=CasePublic,
            responses=_problems(401, 404, 422))
def get_case(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
             case_no: CaseNoPath) -> CasePublic:
    """One case with its events, assignments, inspector tasks, photos and the actions the
    caller may take now. Reporter details are masked unless the caller may read them."""
    return case_view(city, visible_case(session, user, case_no), user, now)


# --- the list ------------------------------------------------------------------------------


@router.get("/cases", response_model=CaseList, responses=_problems(401, 422))
def list_cases_route(session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
                     query: Annotated[CaseQuery, Query()]) -> CaseList:
    """Cases the caller may see, filtered and sorted, a page at a time: pass the previous
    page's ``next_cursor`` as ``cursor`` (with the same filters and sort) for the next."""
    page = list_cases(session, user, case_filter(query), now, sort=query.sort,
                      limit=query.limit, cursor=query.cursor)
    return CaseList(items=[CaseSummary(**base_fields(city, r._mapping)) for r in page.rows],
                    next_cursor=page.next_cursor)


# --- reporting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportBody:
    data: CaseCreate
    files: list[Upload]
    path: str

    def fingerprint(self) -> str:
        """What the report asks for (:func:`idempotency.fingerprint`): only a report with an
        idempotency key needs it."""
        return idempotency.fingerprint("POST", self.path, self.data.model_dump(mode="json"),
                                       (f.data for f in self.files if isinstance(f.data, bytes)))


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


FORM_FIELDS = ("category_code", "lon", "lat", "coord_sys", "grid_code", "address",
               "description", "source", "component_code", "urgency", "note")


def _form_values(form: FormData) -> dict[str, Any]:
    """The report's fields from a form: blank fields are absent, ``reporter.*`` nested."""
    def given(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) and value.strip() else None
    values: dict[str, Any] = {k: v for k in FORM_FIELDS if (v := given(k)) is not None}
    reporter = {k: v for k in ("name", "phone") if (v := given(f"reporter.{k}")) is not None}
    if reporter:
        values["reporter"] = reporter
    values["photos"] = [v for v in form.getlist("photos") if isinstance(v, str) and v.strip()]
    return values


async def _from_form(request: Request, max_bytes: int) -> ReportBody:
    async with request.form(max_files=MAX_PHOTOS, max_fields=50) as form:
        try:
            data = CaseCreate.model_validate(_form_values(form))
        except ValidationError as exc:
            raise _invalid(exc) from None
        files = [Upload(await f.read(max_bytes + 1), f.filename)
                 for f in form.getlist("photos") if isinstance(f, UploadFile)]
    return ReportBody(data, files, request.url.path)


def _check_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise StarletteHTTPException(413)


async def report_body(request: Request) -> ReportBody:
    """The report, as JSON or as multipart/form-data with image files under ``photos``."""
    settings: Settings = request.app.state.settings
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        _check_length(request, MAX_PHOTOS * settings.photo_max_bytes + MAX_JSON_BODY)
        return await _from_form(request, settings.photo_max_bytes)
    if media not in ("", "application/json") and not media.endswith("+json"):
        raise StarletteHTTPException(415)
    _check_length(request, MAX_JSON_BODY)
    raw = await request.body()
    if len(raw) > MAX_JSON_BODY:
        raise StarletteHTTPException(413)
    try:
        data = CaseCreate.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise _invalid(exc) from None
    return ReportBody(data, [], request.url.path)


def _inline(schema: Any, defs: Mapping[str, Any]) -> Any:
    """A JSON schema with its local ``$defs`` references replaced by their definitions."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A form field's schema: form values are never null."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**options[0], **rest}


def _report_openapi() -> dict[str, Any]:
    schema = CaseCreate.model_json_schema()
    json_schema = _inline(schema, schema.get("$defs", {}))
    props = {k: _not_null(v) for k, v in json_schema["properties"].items()
             if k not in ("reporter", "photos")}
    reporter = _not_null(json_schema["properties"]["reporter"])["properties"]
    photo = json_schema["properties"]["photos"]["items"]
    form = {"type": "object", "required": ["category_code"], "properties": {
        **props, "reporter.name": _not_null(reporter["name"]),
        "reporter.phone": _not_null(reporter["phone"]),
        "photos": {"type": "array", "maxItems": MAX_PHOTOS, "description": "图片文件或已上传照片的编号",
                   "items": {"anyOf": [photo, {"type": "string", "format": "binary"}]}}}}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": json_schema},
        "multipart/form-data": {"schema": form}}}}


class _JSON(JSONResponse):
    """JSON as :class:`JSONResponse` writes it (compact, UTF-8), by orjson."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def created(status: int, body: dict[str, Any], replayed: bool = False) -> JSONResponse:
    """The answer to a report: the case's number and where to read it (``get_case``)."""
    headers = {"Location": f"{API}/cases/{body['case_no']}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _JSON(body, status_code=status, headers=headers)


IdempotencyKey = Annotated[str | None, Header(
    alias=idempotency.HEADER, pattern=idempotency.KEY_PATTERN,
    description="重试时带同一个键：只会创建一个案件，并返回第一次的结果")]


@router.post("/cases", status_code=201, response_model=CaseCreated,
             responses={201: {"headers": {"Location": {"schema": {"type": "string"},
                                                       "description": "新案件的地址"}}},
                        **_problems(400, 401, 403, 413, 415, 422)},
             openapi_extra=_report_openapi())
async def report(body: Annotated[ReportBody, Depends(report_body)], request: Request,
                 unit: UnitDep, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """上报 a case (inspector, acceptor, public): JSON, or multipart/form-data with the same
    fields (``reporter.name``, ``reporter.phone``) and image files under ``photos``. The body
    is read before the sign-in is checked, so no database lock waits on an upload.

    The write transaction is kept short: the report is checked and located before it begins
    (with an idempotency key, after the key is claimed, so a retry gets the first answer even
    if the rules changed since), and it commits here, before the answer is built. The work runs
    in the thread pool through :func:`run_report`, a few reports at a time."""
    async with unit:
        return await run_report(request, _report, body, request, unit, idempotency_key)


def _report(body: ReportBody, request: Request, unit: Unit,
            idempotency_key: str | None) -> JSONResponse:
    user = unit.user
    claim = None if idempotency_key is None else Claim(
        user.login, idempotency_key, body.fingerprint(), created_body)
    taken = take_report(unit.session, unit.city, case_report(body.data, body.files), unit.now,
                        Reporter.user(user, client_address(request)), settings=unit.settings,
                        claim=claim, reader=unit.reader)
    if isinstance(taken, StoredResponse):
        return created(taken.status_code, taken.body, replayed=True)
    out = taken.answer if taken.answer is not None else created_body(taken.case)
    unit.session.commit()
    return created(201, out)


def created_body(case: Case, _tracking_code: str | None = None) -> dict[str, Any]:
    """The answer's body (and a retry's: :class:`~xiuhua.services.intake.Claim`)."""
    return CaseCreated(case_no=case.case_no, version=case.version, status=case.status,
                       status_label=case.status.label).model_dump(mode="json")


# --- acting ------------------------------------------------------------------------------


@router.post("/cases/{case_no}/actions/{action}", response_model=CasePublic,
             responses=_problems(401, 403, 404, 409, 422))
def act(request: Request, session: SessionDep, city: CityDep, now: NowDep, user: CurrentUser,
        case_no: CaseNoPath,
        action: Annotated[str, Path(description="操作：" + "、".join(CASE_ACTIONS),
                                    json_schema_extra={"enum": CASE_ACTIONS})],
        body: CaseActionCreate) -> CasePublic:
    """Take one lifecycle action at the server's time, against the ``version`` the caller
    saw (409 if someone acted meanwhile). Returns the updated case."""
    perform_action(session, city, user, case_no, parse_action(action), action_input(body), now,
                   client_address(request))
    return case_view(city, load_case(session, case_no), user, now)  # as stored, like GET


# --- whom to dispatch to -------------------------------------------------------------------


def rule_view(city: City, answer: Answer) -> ResponsibilityRule | None:
    rule = answer.rule
    if rule is None:
        return None
    region = city.regions.get(rule.region_code)
    return ResponsibilityRule(
        scope=rule.scope.value, scope_label=SCOPE_LABELS[rule.scope], category=rule.category,
        region_code=rule.region_code, region_name=region.name if region else None,
        region_level=region.level.value if region else None,
        region_level_label=region.level.label if region else None)


@router.get("/dispatch/suggest", response_model=DispatchSuggestion, tags=["派遣"],
            responses=_problems(401, 403, 404, 422))
def suggest(session: SessionDep, city: CityDep, user: CurrentUser,
            case_no: Annotated[str, Query(pattern=CASE_NO, description="案件号")]
            ) -> DispatchSuggestion:
    """The unit responsible for the case by the responsibility matrix (权属 → 专业归口 →
    属地兜底), with the rule that decided it; gaps and overlaps are named by ``code``."""
    if user.role not in SUGGEST_ROLES:
        raise PermissionDenied(f"{user.role.label}无权查看派遣建议", code="permission_denied")
    case = visible_case(session, user, case_no)
    if case.location is None:
        raise ActionRefused("案件尚未定位到单元网格，无法确定责任单位", code="not_located")
    owner = component_owner(session, case.component_code)
    answer = city.responsible(case.category_code, case.location.grid_code, owner)
    units = [UnitRef(code=u, name=city.unit_name(u)) for u in answer.units]
    code, message = suggestion_message(answer, units)
    return DispatchSuggestion(
        case_no=case.case_no, category_code=case.category_code,
        category_name=category_name(city, case.category_code),
        grid_code=case.location.grid_code, component_code=case.component_code,
        component_owner=owner, unit=units[0] if len(units) == 1 else None, units=units,
        reason=answer.reason, rule=rule_view(city, answer), code=code, message=message)

