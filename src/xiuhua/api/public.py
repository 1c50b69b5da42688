"""The public portal's JSON API: report a problem, follow it with a tracking code, rate it.

No sign-in. Intake is rate-limited per client address (counters shared by all processes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from xiuhua.api.photos import photo_file
from xiuhua.domain.choices import Rating
from xiuhua.http.cases import public_report
from xiuhua.http.deps import CityDep, NowDep, SessionDep, SettingsDep, client_address
from xiuhua.http.schemas import (
    Note,
    Problem,
    ReportForm,
)
from xiuhua.http.urls import absolute_url
from xiuhua.services import public, ratelimit
from xiuhua.services.intake import Reporter, take_report
from xiuhua.services.photos import Upload
from xiuhua.services.public import PublicCase, PublicEvent

router = APIRouter(prefix="/public", tags=["公众参与"])


def intake_limit(request: Request, now: NowDep, settings: SettingsDep) -> None:
    """Count this intake request for its client address (before any other database work)."""
    ratelimit.check_intake(request.app.state.engine, client_address(request), now, settings)


IntakeLimit = Depends(intake_limit)


class CategoryOut(BaseModel):
    code: str
    name: str
    major_code: str
    major_name: str
    description: str


class ReportOut(BaseModel):
    tracking_code: str
    case_no: str
    status: str
    status_label: str
    reported_at: datetime
    message: str


class EventOut(BaseModel):
    action: str
    action_label: str
    at: datetime
    unit_name: str | None = None
    note: str | None = None
    reason: str | None = None
    reason_label: str | None = None
    rating: str | None = None
    rating_label: str | None = None
    photos: list[str] = []


class PublicCaseOut(BaseModel):
    tracking_code: str
    case_no: str
    status: str
    status_label: str
    status_note: str
    category_code: str
    category_name: str
    address: str | None
    description: str | None
    reported_at: datetime
    closed_at: datetime | None
    rating: str | None
    rating_label: str | None
    can_rate: bool
    photos: list[str]
    events: list[EventOut]


class RatingIn(BaseModel):
    value: Rating = Field(description="satisfied 满意 / basically_satisfied 基本满意 / "
                                      "dissatisfied 不满意")
    comment: Note | None = None


@router.get("/categories", response_model=list[CategoryOut])
def categories(city: CityDep) -> list[CategoryOut]:
    """事项 the public may report."""
    return [CategoryOut(code=c.code, name=c.name, major_code=c.major_code,
                        major_name=c.major_name, description=c.filing_condition)
            for c in public.public_categories(city)]


@router.post("/reports", response_model=ReportOut, status_code=201,
             dependencies=[IntakeLimit])
def report(request: Request, session: SessionDep, city: CityDep, now: NowDep,
           settings: SettingsDep, form: Annotated[ReportForm, Form()],
           photos: Annotated[list[UploadFile] | None, File()] = None) -> ReportOut:
    """上报 (form or multipart): anonymous, or with a name and phone number (seen by the
    center only). Photos as image files under ``photos`` or as ids of photos uploaded before."""
    uploads = [upload_of(f) for f in photos or []]
    taken = take_report(session, city, public_report(form, uploads), now,
                        Reporter.public(client_address(request)), settings=settings)
    case, code = taken.case, str(taken.tracking_code)
    return ReportOut(tracking_code=code, case_no=case.case_no, status=case.status.value,
                     status_label=case.status.label, reported_at=case.reported_at,
                     message=f"已受理。请记下查询码 {code}，凭查询码查看办理进度。")


def upload_of(upload: UploadFile) -> Upload:
    """An uploaded photo for the intake (read there, once the report is found valid)."""
    return Upload(upload.file, upload.filename)


@router.get("/cases/{tracking_code}", response_model=PublicCaseOut)
def case(request: Request, session: SessionDep, city: CityDep,
         tracking_code: str) -> PublicCaseOut:
    """The public history of a case: status, public steps and notes, photos."""
    return case_out(request, public.public_view(session, city, tracking_code))


@router.post("/cases/{tracking_code}/rating", response_model=PublicCaseOut)
def rate(request: Request, session: SessionDep, city: CityDep, now: NowDep,
         tracking_code: str, body: RatingIn) -> PublicCaseOut:
    """评价: once, after the case is closed."""
    view = public.rate_case(session, city, tracking_code, body.value, now,
                            comment=body.comment, client=client_address(request))
    return case_out(request, view)


def photo_url(request: Request, public_id: str) -> str:
    """The address of the photo's public copy (no metadata), served without signing in."""
    return absolute_url(request, request.app.url_path_for("public_photo", public_id=public_id))


PublicPhotoId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
                                    description="照片公开编号（公开查询结果中给出）")]


@router.get("/photos/{public_id}", name="public_photo", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {"schema": {"type": "string",
                                                                   "format": "binary"}}},
                             "description": "公开图"},
                       404: {"model": Problem, "description": "照片不存在或不公开"}})
def public_photo(session: SessionDep, settings: SettingsDep,
                 public_id: PublicPhotoId) -> FileResponse:
    """公开图 of a photo of a public step of a case the public may look at: JPEG without any
    metadata (no GPS), by its public id (unrelated to the photo's content). No sign-in."""
    photo = public.public_photo(session, public_id)
    return photo_file(settings, photo, "public", "public, max-age=86400", name=public_id)


def event_out(request: Request, event: PublicEvent) -> EventOut:
    return EventOut(
        action=event.action.value, action_label=event.action.label, at=event.at,
        unit_name=event.unit_name, note=event.note,
        reason=event.reason.value if event.reason else None,
        reason_label=event.reason.label if event.reason else None,
        rating=event.rating.value if event.rating else None,
        rating_label=event.rating.label if event.rating else None,
        photos=[photo_url(request, p) for p in event.photos],
    )


def case_out(request: Request, view: PublicCase) -> PublicCaseOut:
    c = view.case
    return PublicCaseOut(
        tracking_code=view.tracking_code, case_no=c.case_no, status=c.status.value,
        status_label=c.status.label, status_note=view.status_note,
        category_code=c.category_code, category_name=view.category_name,
        address=c.address, description=c.description, reported_at=c.reported_at,
        closed_at=c.closed_at, rating=c.rating.value if c.rating else None,
        rating_label=c.rating.label if c.rating else None, can_rate=view.can_rate,
        photos=[photo_url(request, p) for p in view.photos],
        events=[event_out(request, e) for e in view.events],
    )
