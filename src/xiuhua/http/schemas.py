"""Bodies of the cases API (full-stack-fastapi naming): what clients send (``CaseCreate``,
``CaseActionCreate``, ``CaseQuery``, the public ``ReportForm``) and what they get back
(``CaseSummary``, ``CasePublic`` …). The pages check their forms with the same models.

Inputs carry every constraint (lengths, patterns, finite numbers) so bad input is a 422, never
a 500; outputs carry none, so stored data always renders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from xiuhua.domain.choices import (
    Action,
    AssignmentEnd,
    AssignmentKind,
    CaseStatus,
    Rating,
    Source,
    TaskKind,
)
from xiuhua.domain.geo import CoordSys
from xiuhua.domain.photos import MAX_PHOTOS as MAX_PHOTOS  # re-exported for the wire schemas
from xiuhua.domain.taxonomy import DEFAULT_URGENCY, URGENCY_LABELS

NO_NUL = r"^[^\x00]*$"
CASE_NO = r"^[0-9]{14}$"
PHOTO_ID = r"^[0-9a-f]{64}$"

Name = Annotated[str, Field(max_length=100, pattern=NO_NUL)]
Phone = Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9][0-9 -]{4,30}$",
                             examples=["13812345678"])]
Address = Annotated[str, Field(max_length=500, pattern=NO_NUL, examples=["经十路 100 号南侧"])]
Description = Annotated[str, Field(max_length=4000, pattern=NO_NUL,
                                   examples=["人行道上有暴露垃圾"])]
Note = Annotated[str, Field(max_length=2000, pattern=NO_NUL)]
CategoryCode = Annotated[str, Field(pattern=r"^[0-9]{5}$", description="事项小类代码（5 位）",
                                    examples=["06010"])]
ComponentCode = Annotated[str, Field(pattern=r"^[0-9]{17}$", description="部件编码（17 位）")]
GridCode = Annotated[str, Field(pattern=r"^[0-9]{15}$", description="单元网格编码（15 位）")]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{1,15}$")]
UnitCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_.-]+$",
                                examples=["U-HW"])]
Login = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
CaseNo = Annotated[str, Field(pattern=CASE_NO, description="案件号：YYYYMMDD + 6 位序号",
                              examples=["20261016000001"])]
PhotoId = Annotated[str, Field(pattern=PHOTO_ID, description="照片编号（POST /api/v1/photos 返回）")]
Photos = Annotated[list[PhotoId], Field(max_length=MAX_PHOTOS)]
Limit = Annotated[str, Field(max_length=32, pattern=r"^[0-9]+(\.[0-9]+)?[A-Za-z]+$",
                             description="时限：如 4wh（工作时）、2wd（工作日）、24h、3d",
                             examples=["4wh"])]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[117.0065])]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[36.6495])]
Urgency = Annotated[str, Field(pattern=f"^({'|'.join(URGENCY_LABELS)})$",
                               description="紧急程度：normal 一般 / urgent 紧急")]
Version = Annotated[int, Field(ge=0, le=2_147_483_647, description="提交时看到的案件版本号")]

SuggestionCode = Literal["ok", "no_responsible_unit", "ambiguous_responsibility"]
SortKey = Literal["reported_at", "-reported_at", "due_at", "-due_at", "case_no", "-case_no"]


class Problem(BaseModel):
    """An error (RFC 9457 problem details, ``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="中文说明")
    code: str = Field(description="稳定的错误代码，如 stale_version、case_not_found")
    errors: list[dict[str, str]] | None = Field(None, description="请求参数错误的明细")


class Reporter(BaseModel):
    """上报人 (hotline callers, citizens): seen in full by the center roles only."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    phone: Phone | None = None


class CaseCreate(BaseModel):
    """上报 a case: the interchange format's case fields. A point (``lon``/``lat``) or an
    ``address`` is required; ``photos`` are ids of photos uploaded before."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "category_code": "06010", "lon": 117.0065, "lat": 36.6495, "coord_sys": "wgs84",
        "address": "经十路 100 号南侧", "description": "人行道上有暴露垃圾", "urgency": "normal"}]})

    category_code: CategoryCode
    lon: Lon | None = None
    lat: Lat | None = None
    coord_sys: CoordSys = CoordSys.WGS84
    grid_code: GridCode | None = Field(None, description="给出时须与坐标所在网格一致")
    address: Address | None = None
    description: Description | None = None
    source: Source | None = Field(None, description="来源；缺省按角色：监督员 inspector、"
                                                    "受理员 hotline、公众 public")
    reporter: Reporter | None = None
    component_code: ComponentCode | None = None
    photos: Photos = []
    urgency: Urgency = DEFAULT_URGENCY
    note: Note | None = None


class CaseCreated(BaseModel):
    case_no: str
    version: int
    status: CaseStatus
    status_label: str


class CaseActionCreate(BaseModel):
    """One lifecycle action: the expected ``version`` and the fields the action uses (as in the
    interchange format's events). ``amend`` takes the changed case fields."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"version": 2, "unit": "U-HW", "limit": "4wh"}, {"version": 3, "note": "已清理"}]})

    version: Version
    note: Note | None = None
    photos: Photos = []
    unit: UnitCode | None = Field(None, description="派遣的处置单位（dispatch）")
    limit: Limit | None = Field(None, description="时限（dispatch、request_extension、extend）")
    reason: Note | None = Field(None, description="原因（cancel 时为 invalid/duplicate/"
                                                  "out_of_scope；return、suspend 等为文字）")
    duplicate_of: CaseNo | None = Field(None, description="重复的原案件号（cancel duplicate）")
    value: Rating | None = Field(None, description="评价（rate）")
    inspector: Login | None = Field(None, description="指定的监督员（feedback 的核查、request_verify 的核实）")
    category_code: CategoryCode | None = None
    urgency: Urgency | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    coord_sys: CoordSys = CoordSys.WGS84
    component_code: ComponentCode | None = None
    address: Address | None = None
    description: Description | None = None


class CaseQuery(BaseModel):
    """Filters, sort and page of the case list. Dates are local (Asia/Shanghai) days, both ends
    included; datetimes without an offset are local too."""

    status: list[CaseStatus] = Field([], description="状态（可重复）")
    category: str | None = Field(None, pattern=r"^[0-9]{2}([0-9]{3})?$",
                                 description="事项小类代码（5 位）或大类代码（2 位）")
    unit: UnitCode | None = Field(None, description="承办或曾承办的单位")
    street: RegionCode | None = None
    community: RegionCode | None = None
    grid: RegionCode | None = None
    source: Source | None = None
    overdue: bool | None = Field(None, description="true：有正在计时且已超过处置时限的派遣")
    due_before: datetime | None = Field(None, description="处置时限早于此时刻")
    text: str | None = Field(None, max_length=100, pattern=NO_NUL,
                             description="在描述、地址、案件号中查找")
    reported_from: date | datetime | None = None
    reported_to: date | datetime | None = None
    closed_from: date | datetime | None = None
    closed_to: date | datetime | None = None
    sort: SortKey = "-reported_at"
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=500, pattern=r"^[A-Za-z0-9_=-]+$",
                               description="上一页返回的 next_cursor")


class ReporterPublic(BaseModel):
    name: str | None
    phone: str | None
    masked: bool = Field(description="是否已脱敏")


class CaseBase(BaseModel):
    """What the list and the detail both show of a case."""

    case_no: str
    version: int
    status: CaseStatus
    status_label: str
    source: Source
    source_label: str
    category_code: str
    category_name: str
    urgency: str
    urgency_label: str
    address: str | None
    description: str | None
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    reported_at: datetime
    closed_at: datetime | None
    holder_unit: str | None = Field(description="当前承办单位")
    holder_unit_name: str | None
    due_at: datetime | None = Field(description="正在计时的处置时限")
    overdue: bool = Field(description="当前是否超期")


class CaseSummary(CaseBase):
    pass


class CaseList(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="下一页的游标；没有下一页时为 null")


class EventPublic(BaseModel):
    seq: int
    action: Action
    action_label: str
    at: datetime
    actor: str | None
    note: str | None
    photos: list[str]
    data: dict[str, Any]


class AssignmentPublic(BaseModel):
    seq: int
    unit: str
    unit_name: str | None
    kind: AssignmentKind
    started_at: datetime
    limit: str
    deadline: datetime
    handled_at: datetime | None
    ended: AssignmentEnd
    ended_at: datetime | None
    on_time: bool | None
    overdue: bool = Field(description="此刻是否超期")
    suspended: bool
    extension_requested: str | None
    suspension_requested: str | None = Field(None, description="待审批的挂账申请理由")


class TaskPublic(BaseModel):
    seq: int
    kind: TaskKind
    kind_label: str
    inspector: str | None
    opened_at: datetime
    deadline: datetime
    done_at: datetime | None
    result: str | None


class CasePublic(CaseBase):
    """One case with its history, for someone allowed to see it."""

    lon: float | None
    lat: float | None
    component_code: str | None
    reporter: ReporterPublic | None
    photos: list[str]
    filed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    duplicate_of: str | None
    rating: Rating | None
    updated_at: datetime | None
    events: list[EventPublic]
    assignments: list[AssignmentPublic]
    tasks: list[TaskPublic]
    allowed_actions: list[Action] = Field(description="当前用户此刻可执行的操作")


class UnitRef(BaseModel):
    code: str
    name: str | None


class ResponsibilityRule(BaseModel):
    scope: str
    scope_label: str
    category: str | None
    region_code: str
    region_name: str | None
    region_level: str | None
    region_level_label: str | None


class DispatchSuggestion(BaseModel):
    """The responsible unit from the matrix, and why; ``code`` names a gap or an overlap."""

    case_no: str
    category_code: str
    category_name: str
    grid_code: str
    component_code: str | None
    component_owner: str | None
    unit: UnitRef | None = Field(description="唯一责任单位；空缺或重叠时为 null")
    units: list[UnitRef]
    reason: str
    rule: ResponsibilityRule | None
    code: SuggestionCode
    message: str


# --- the public portal ---------------------------------------------------------------------


class ReportForm(BaseModel):
    """A citizen's report (``POST /api/v1/public/reports`` and the portal's form; ``photo_ids``
    may repeat)."""

    category_code: CategoryCode
    lon: Lon | None = None
    lat: Lat | None = None
    coord_sys: CoordSys = CoordSys.WGS84
    address: Address | None = None
    description: Description | None = None
    name: Name | None = None
    phone: Phone | None = None
    photo_ids: Photos = []

