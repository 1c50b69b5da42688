"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), so that 311 apps and other
third-party clients can report to the city and follow their reports.

Every resource takes a ``.json`` or ``.xml`` suffix; both formats are written from one
representation (the spec's Spark convention: a list under ``services`` is ``<services><service>``
in XML). Errors — including invalid parameters — are the spec's list of {code, description},
never the REST API's problem documents. Services are the public-reportable, active matter
classes (service_code = category code); requests are the cases the public may look at, with no
personal information. Extensions: multipart ``media`` on POST, ``page``/``page_size``,
``updated_after``/``updated_before``, and ``extensions=true`` (``notes``: the public history).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from xiuhua.api.public import IntakeLimit, photo_url, upload_of
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.city import City
from xiuhua.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied, TooManyRequests
from xiuhua.domain.geo import CoordSys
from xiuhua.domain.lifecycle import Case
from xiuhua.domain.taxonomy import DEFAULT_URGENCY, URGENCY_LABELS, CaseClass, ClassKind
from xiuhua.domain.values import whole_number
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.http.problems import status_of
from xiuhua.http.schemas import CASE_NO, NO_NUL, Address, Description, Lat, Lon
from xiuhua.http.urls import absolute_url
from xiuhua.services import city as city_service
from xiuhua.services import public
from xiuhua.services.accounts import api_key_name
from xiuhua.services.calendars import parse_local
from xiuhua.services.cases import clean_text
from xiuhua.services.intake import Report, Reporter, take_report

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
URGENCY_ATTRIBUTE = "urgency"
SERVICE_CODE = r"\d{5}"

Value = None | bool | int | float | str | list["Value"] | dict[str, "Value"]

# Spark convention: the element name of each item of a list, by the list's name.
ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
         "attributes": "attribute", "values": "value", "endpoints": "endpoint",
         "formats": "format", "notes": "note"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- one representation, two formats ----------------------------------------------------------


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("", str(value))


def _fill(element: ET.Element, value: Value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEMS.get(element.tag, "item")), item)
    elif value is not None:
        element.text = _text(value)


def to_xml(root: str, body: Value) -> bytes:
    element = ET.Element(root)
    _fill(element, body)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8",
                                                                     xml_declaration=False)


def render(fmt: str, root: str, body: Value, status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    content = to_xml(root, body) if fmt == "xml" else json.dumps(body, ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=MEDIA_TYPES[fmt], headers=headers)


def format_of(request: Request) -> str:
    return "xml" if request.url.path.lower().endswith(".xml") else "json"


def checked_format(fmt: str) -> str:
    if fmt not in MEDIA_TYPES:
        raise NotFound(f"不支持的格式“{fmt}”：请使用 .json 或 .xml", code="unknown_format")
    return fmt


def w3(moment: datetime | None) -> str | None:
    """ISO 8601 in China Standard Time, e.g. 2026-10-16T09:00:00+08:00."""
    return moment.astimezone(local_zone()).isoformat(timespec="seconds") if moment else None


# --- errors in the spec's form ----------------------------------------------------------------


def _error_of(exc: Exception) -> tuple[int, str, dict[str, str]] | None:
    if isinstance(exc, TooManyRequests):
        return 429, exc.message, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, DomainError):
        status = status_of(exc)
        return (status if status in (403, 404) else 400), exc.message, {}
    if isinstance(exc, RequestValidationError):
        fields = sorted({str(e.get("loc", ("", ""))[-1]) for e in exc.errors()})
        return 400, f"请求参数有误：{'、'.join(fields) or '请求'}", {}
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code if exc.status_code in (403, 404, 413) else 400
        return status, "请求无法处理" if status == 400 else str(exc.detail), {}
    return None


class Open311Route(APIRoute):
    """Routes whose errors (domain, validation, HTTP) are answered in the Open311 format.

    A converted error never commits: the request's session (``SessionDep``) rolls back on the
    error before it is converted here."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                error = _error_of(exc)
                if error is None:
                    raise
                status, description, headers = error
                return render(format_of(request), "errors",
                              [{"code": status, "description": description}], status, headers)

        return guarded


router = APIRouter(route_class=Open311Route, tags=["Open311 GeoReport v2"])


# --- discovery and services -------------------------------------------------------------------


@router.get("/discovery.{fmt}")
def discovery(request: Request, session: SessionDep, fmt: str) -> Response:
    """Service discovery: where the endpoint is and which formats it speaks."""
    fmt = checked_format(fmt)
    texts = city_service.setting(session, "open311") or {}
    changeset = f"{city_service.model_version(session):08d}"
    services = request.app.url_path_for("open311_services", fmt="json")
    base = absolute_url(request, services.removesuffix("/services.json"))
    body: Value = {
        "changeset": changeset,
        "contact": texts.get("contact", "请联系本市城市管理指挥中心"),
        "key_service": texts.get("key_service", "API 密钥（api_key）请向本市城市管理指挥中心的系统管理员申请"),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": changeset,
                       "type": "production", "formats": ["text/xml", "application/json"]}],
    }
    return render(fmt, "discovery", body)


def attributes(matter: CaseClass) -> list[Value]:
    """The service's extra fields: the urgency, when the class has more than one."""
    levels = [u for u in URGENCY_LABELS if u in matter.limits]
    if len(levels) < 2:
        return []
    values: list[Value] = [{"key": u, "name": URGENCY_LABELS[u]} for u in levels]
    return [{"variable": True, "code": URGENCY_ATTRIBUTE, "datatype": "singlevaluelist",
             "required": False, "datatype_description": None, "order": 1,
             "description": f"紧急程度（不填为{URGENCY_LABELS[DEFAULT_URGENCY]}）", "values": values}]


def service_item(matter: CaseClass) -> Value:
    return {"service_code": matter.code, "service_name": matter.name,
            "description": matter.filing_condition or matter.name,
            "metadata": bool(attributes(matter)), "type": "realtime",
            "keywords": ", ".join(dict.fromkeys([matter.name, matter.major_name, matter.code])),
            "group": matter.major_name}


@router.get("/services.{fmt}", name="open311_services")
def services(city: CityDep, fmt: str) -> Response:
    """The public-reportable, active matter classes."""
    fmt = checked_format(fmt)
    return render(fmt, "services", [service_item(m) for m in public.public_categories(city)])


def reportable(city: City, code: str) -> CaseClass:
    matter = city.taxonomy.classes.get((ClassKind.MATTER, code))
    if matter is None or not (matter.public_reportable and matter.active):
        raise NotFound(f"服务“{code}”不存在", code="service_not_found")
    return matter


@router.get("/services/{service_code}.{fmt}")
def service_definition(city: CityDep, service_code: str, fmt: str) -> Response:
    fmt = checked_format(fmt)
    matter = reportable(city, service_code)
    return render(fmt, "service_definition",
                  {"service_code": matter.code, "attributes": attributes(matter)})


# --- creating a request -----------------------------------------------------------------------


Text = Annotated[str, Field(max_length=200, pattern=NO_NUL)]


class RequestForm(BaseModel):
    """POST requests fields (form-encoded; multipart when ``media`` is attached)."""

    api_key: Text | None = None
    jurisdiction_id: Text | None = None
    service_code: Text | None = None
    lat: Lat | None = None
    long: Lon | None = None
    address_string: Address | None = None
    address_id: Text | None = None
    email: Text | None = None
    device_id: Text | None = None
    account_id: Text | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    phone: Annotated[str, Field(max_length=32, pattern=NO_NUL)] | None = None
    description: Description | None = None
    media_url: Annotated[str, Field(max_length=1000, pattern=NO_NUL)] | None = None


async def form_attributes(request: Request) -> dict[str, str]:
    """The ``attribute[code]=value`` fields of the posted form."""
    form = await request.form()
    found: dict[str, str] = {}
    for key, value in form.multi_items():
        match = re.fullmatch(r"attribute\[([^\]]+)\](?:\[\])?", key)
        if match and isinstance(value, str) and value.strip():
            found[match[1]] = value.strip()
    return found


def reporter_name(form: RequestForm) -> str | None:
    """Family name first; a space between parts unless both are written in Chinese."""
    parts = [p for p in (clean_text(form.last_name), clean_text(form.first_name)) if p]
    return (" " if any(p.isascii() for p in parts) else "").join(parts) or None


def urgency_of(matter: CaseClass, attrs: dict[str, str]) -> str:
    value = attrs.get(URGENCY_ATTRIBUTE, DEFAULT_URGENCY)
    if value not in matter.limits:
        allowed = "、".join(matter.limits)
        raise InvalidInput(f"attribute[{URGENCY_ATTRIBUTE}] 取值“{value}”无效（可选：{allowed}）",
                           code="invalid_attribute")
    return value


def request_report(city: City, form: RequestForm, attrs: dict[str, str],
                   media: UploadFile | None) -> Report:
    """A service request as the intake's report (the spec's fields checked first)."""
    if not clean_text(form.service_code):
        raise InvalidInput("缺少 service_code", code="missing_service_code")
    matter = reportable(city, (form.service_code or "").strip())
    has_point = form.lat is not None or form.long is not None
    if not has_point and not clean_text(form.address_string):
        raise InvalidInput("须提供位置：lat 和 long（WGS84），或 address_string", code="missing_location")
    link = clean_text(form.media_url)
    return Report(
        category_code=matter.code, lon=form.long, lat=form.lat, coord_sys=CoordSys.WGS84,
        address=form.address_string, description=form.description,
        reporter_name=reporter_name(form), reporter_phone=form.phone,
        urgency=urgency_of(matter, attrs), note=f"Open311 附件链接：{link}" if link else None,
        uploads=(upload_of(media),) if media is not None and media.filename else ())


@router.post("/requests.{fmt}", dependencies=[IntakeLimit])
def create_request(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep, fmt: str,
                   form: Annotated[RequestForm, Form()],
                   attrs: Annotated[dict[str, str], Depends(form_attributes)],
                   media: Annotated[UploadFile | None, File()] = None) -> Response:
    """Report: the case is created at once (``service_request_id``); ``token`` is its
    tracking code for the public portal."""
    fmt = checked_format(fmt)
    key = clean_text(form.api_key) or request.query_params.get("api_key")
    key_name = api_key_name(session, key) if key else None
    if key_name is None:
        raise PermissionDenied("api_key 缺失或无效", code="invalid_api_key")
    city = request.app.state.city.get(session)
    by = Reporter.public(client_address(request), channel="open311", api_key=key_name)
    taken = take_report(session, city, request_report(city, form, attrs, media), now, by,
                        settings=settings)
    case, token = taken.case, taken.tracking_code
    notice = public.service_notice(city, case)
    return render(fmt, "service_requests", [{"service_request_id": case.case_no, "token": token,
                                             "service_notice": notice, "account_id": None}])


@router.get("/tokens/{token}.{fmt}")
def token(session: SessionDep, token: str, fmt: str) -> Response:
    fmt = checked_format(fmt)
    case_no = public.case_no_for_code(session, token)
    return render(fmt, "service_requests", [{"service_request_id": case_no, "token": token}])


# --- reading requests -------------------------------------------------------------------------


def note_item(event: public.PublicEvent) -> Value:
    extra = [event.unit_name, event.reason.label if event.reason else None,
             event.rating.label if event.rating else None, event.note]
    return {"datetime": w3(event.at), "type": event.action.value,
            "description": "：".join([event.action.label, *[e for e in extra if e]])}


def request_item(request: Request, session: Session, city: City, case: Case,
                 extensions: bool) -> Value:
    matter = city.taxonomy.classes.get((ClassKind.MATTER, case.category_code))
    open_a = case.open_assignment
    photos = public.public_photo_ids(session, case)  # public ids, never the content hash
    loc = case.location
    item: dict[str, Value] = {
        "service_request_id": case.case_no,
        "status": "open" if case.status.is_open else "closed",
        "status_notes": public.status_note(city, case),
        "service_name": matter.name if matter else case.category_code,
        "service_code": case.category_code,
        "description": case.description,
        "agency_responsible": public.agency_name(city, case),
        "service_notice": public.service_notice(city, case),
        "requested_datetime": w3(case.reported_at),
        "updated_datetime": w3(case.updated_at or case.events[-1].at),
        "expected_datetime": w3(open_a.deadline if open_a and open_a.suspended_at is None else None),
        "address": case.address, "address_id": loc.grid_code if loc else None, "zipcode": None,
        "lat": loc.lat if loc else None, "long": loc.lon if loc else None,
        "media_url": photo_url(request, photos[0]) if photos else None,
    }
    if extensions:
        item["notes"] = [note_item(e) for e in public.public_events(city, case)]
    return item


def _moment(text: str | None, name: str) -> datetime | None:
    """A w3 datetime parameter in the supported years; without an offset it is China Standard
    Time."""
    if not clean_text(text):
        return None
    return parse_local((text or "").strip().replace("z", "Z"), name)


def _number(text: str | None, name: str, default: int, high: int) -> int:
    """A whole number 1..high in ASCII digits (:func:`~xiuhua.domain.values.whole_number`)."""
    if not clean_text(text):
        return default
    value = whole_number(text)
    if value is None or not 1 <= value <= high:
        raise InvalidInput(f"{name} 须为 1 到 {high} 的整数", code="invalid_number")
    return value


def _list(text: str | None, pattern: str = ".*") -> tuple[str, ...] | None:
    """A comma list (None when empty); items not of ``pattern`` can match nothing: dropped."""
    items = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    return tuple(i for i in items if re.fullmatch(pattern, i)) if items else None


def _open_filter(text: str | None) -> bool | None:
    wanted = set(_list(text) or ())
    if wanted - {"open", "closed"}:
        raise InvalidInput("status 只能是 open 或 closed", code="invalid_status")
    return None if len(wanted) != 1 else "open" in wanted


def _window(start: datetime | None, end: datetime | None,
            now: datetime) -> tuple[datetime, datetime]:
    """The requested_datetime range: 90 days at most, the latest 90 days by default."""
    if start is None and end is None:
        return now - DEFAULT_WINDOW, now
    if start is None:
        return (end or now) - DEFAULT_WINDOW, end or now
    if end is None:
        return start, start + DEFAULT_WINDOW
    if end < start:
        raise InvalidInput("end_date 早于 start_date", code="invalid_date_range")
    if end - start > DEFAULT_WINDOW:
        raise InvalidInput("start_date 与 end_date 相隔不得超过 90 天", code="invalid_date_range")
    return start, end


class RequestsQuery(BaseModel):
    """GET requests parameters, all optional (an empty value is no value)."""

    service_request_id: str | None = None
    service_code: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    status: str | None = None
    updated_after: str | None = None
    updated_before: str | None = None
    page: str | None = None
    page_size: str | None = None
    extensions: str | None = None
    jurisdiction_id: str | None = None

    def to_query(self, now: datetime) -> public.CaseQuery:
        ids = _list(self.service_request_id, CASE_NO)
        if ids is not None:  # the spec: this overrides all other arguments
            return public.CaseQuery(case_nos=ids[:MAX_REQUESTS], limit=MAX_REQUESTS)
        updated = (_moment(self.updated_after, "updated_after"),
                   _moment(self.updated_before, "updated_before"))
        start, end = (_moment(self.start_date, "start_date"), _moment(self.end_date, "end_date"))
        if start or end or not any(updated):
            start, end = _window(start, end, now)
        size = _number(self.page_size, "page_size", MAX_REQUESTS, MAX_REQUESTS)
        page = _number(self.page, "page", 1, 10**6)
        return public.CaseQuery(
            category_codes=_list(self.service_code, SERVICE_CODE), reported_from=start, reported_to=end,
            updated_from=updated[0], updated_to=updated[1], open=_open_filter(self.status),
            offset=(page - 1) * size, limit=size)


@router.get("/requests.{fmt}")
def requests(request: Request, session: SessionDep, city: CityDep, now: NowDep, fmt: str,
             params: Annotated[RequestsQuery, Depends()]) -> Response:
    """Requests of the latest 90 days (or the given range), newest first, 1000 at most."""
    fmt = checked_format(fmt)
    found = public.find_public_cases(session, params.to_query(now))
    extensions = (params.extensions or "").strip().lower() == "true"
    return render(fmt, "service_requests",
                  [request_item(request, session, city, c, extensions) for c in found])


@router.get("/requests/{service_request_id}.{fmt}")
def request_by_id(request: Request, session: SessionDep, city: CityDep, fmt: str,
                  service_request_id: str, extensions: str | None = None) -> Response:
    """One request, as a one-element list."""
    fmt = checked_format(fmt)
    known = re.fullmatch(CASE_NO, service_request_id) is not None
    found = public.find_public_cases(
        session, public.CaseQuery(case_nos=(service_request_id,))) if known else []
    if not found:
        raise NotFound(f"服务请求“{service_request_id}”不存在", code="request_not_found")
    wanted = (extensions or "").strip().lower() == "true"
    return render(fmt, "service_requests", [request_item(request, session, city, found[0], wanted)])


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
def unknown(request: Request, path: str) -> Response:
    raise NotFound(f"Open311 接口不存在：{request.method} /{path}", code="open311_not_found")
