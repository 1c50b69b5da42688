"""Photos: upload one image (staff), then fetch its original, its thumbnail or its public copy
without metadata — each for staff who may see the photo (``domain.photos``: they uploaded it,
or they may see a case or an assessment entry it is linked to). The public reaches the public
copy of a photo of a public step only by its public id (``GET /api/v1/public/photos/{id}``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from xiuhua.config import Settings
from xiuhua.domain.choices import Role
from xiuhua.domain.errors import PermissionDenied
from xiuhua.http.deps import CurrentUser, NowDep, SessionDep, SettingsDep
from xiuhua.http.problems import problem_responses
from xiuhua.http.schemas import PHOTO_ID
from xiuhua.services import photos
from xiuhua.services.photos import Photo, PhotoTooLarge, Variant

router = APIRouter(prefix="/photos", tags=["照片"])
# Room for the multipart framing and part headers around the file itself.
MULTIPART_SLACK = 64 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
PhotoIdPath = Annotated[str, Path(description="照片编号（原图 SHA-256）", examples=["0" * 64])]


class PhotoPublic(BaseModel):
    """A stored photo. Width and height as displayed (EXIF orientation applied); time and
    place as recorded by the camera (EXIF), when it recorded them."""

    photo_id: str = Field(pattern=PHOTO_ID, description="照片编号，上报或处置时引用")
    content_type: str = Field(description="原图格式", examples=["image/jpeg"])
    size: int = Field(description="原图字节数")
    width: int
    height: int
    taken_at: datetime | None = Field(None, description="拍摄时间（EXIF）")
    lon: float | None = Field(None, description="拍摄地经度（EXIF GPS，WGS-84）")
    lat: float | None = Field(None, description="拍摄地纬度（EXIF GPS，WGS-84）")


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None


async def bounded_body(stream: AsyncIterator[bytes], limit: int,
                       photo_limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused as soon as it grows past ``limit`` (whatever its headers say)."""
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise PhotoTooLarge(photo_limit)
        yield chunk


async def read_upload(request: Request, settings: SettingsDep) -> Upload:
    """The ``file`` part of a multipart body, read to at most one byte past the size limit."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "multipart/form-data":
        raise StarletteHTTPException(415)
    limit = settings.photo_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise PhotoTooLarge(limit)
    async with aclosing(bounded_body(request.stream(), limit + MULTIPART_SLACK, limit)) as body:
        try:
            form = await MultiPartParser(request.headers, body, max_files=1, max_fields=10).parse()
        except MultiPartException:
            raise StarletteHTTPException(400, detail="上传请求格式有误，请以 multipart/form-data "
                                                     "提交一个名为 file 的照片") from None
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise RequestValidationError([{"loc": ("body", "file"), "msg": "请选择要上传的照片",
                                           "type": "missing"}])
        return Upload(await file.read(limit + 1), file.filename)
    finally:
        await form.close()


UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "JPEG、PNG、WebP 或 HEIC 照片，按内容识别格式"}}}}}}}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {401: "未登录或令牌无效", 403: "无权上传", 404: "照片不存在或不在权限范围内",
            413: "照片过大", 415: "请求须为 multipart/form-data", 422: "不是可接受的照片"}
    return problem_responses(text, *statuses)


def _image_response(*types: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"content": {t: binary for t in types}, "description": "图片"},
            **_problems(401, 404)}


@router.post("", status_code=201, response_model=PhotoPublic, openapi_extra=UPLOAD_BODY,
             responses={201: {"headers": {"Location": {"schema": {"type": "string"}}}},
                        **_problems(401, 403, 413, 415, 422)})
def upload(request: Request, response: Response, body: Annotated[Upload, Depends(read_upload)],
           session: SessionDep, settings: SettingsDep, now: NowDep,
           user: CurrentUser) -> PhotoPublic:
    """上传照片 (staff): one image under ``file``, at most ``photo_max_bytes`` (10 MB); JPEG
    and HEIC up to 64 megapixels, PNG and WebP up to 25. The format is recognised by content.
    Uploading identical content again answers the same id (and records the uploader: every
    uploader of a photo may see it and link it)."""
    # ``body`` comes first: the upload is read before the sign-in query opens the transaction,
    # so no database write lock waits on a slow client.
    if user.role is Role.PUBLIC:
        raise PermissionDenied("公众账号请在上报问题时附上照片", code="permission_denied")
    photo_id = photos.store_photo(session, settings, body.data, body.filename, user.login, now)
    photo = photos.get_photo(session, photo_id)
    response.headers["Location"] = request.app.url_path_for("photo", photo_id=photo_id)
    return PhotoPublic(photo_id=photo.id, content_type=photo.content_type, size=photo.size,
                       width=photo.width, height=photo.height, taken_at=photo.taken_at,
                       lon=photo.lon, lat=photo.lat)


def photo_file(settings: Settings, photo: Photo, variant: Variant, cache: str,
               name: str | None = None) -> FileResponse:
    """The file of one variant, named ``name`` (default: the photo id) in its headers."""
    path = photos.stored_file(settings, photo, variant)
    return FileResponse(path, media_type=photos.media_type(photo, variant),
                        filename=f"{name or photo.id}{path.suffix}",
                        content_disposition_type="inline",
                        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


PRIVATE = "private, max-age=3600"


@router.get("/{photo_id}", name="photo", response_class=FileResponse,
            responses=_image_response(*IMAGE_TYPES))
def original(session: SessionDep, settings: SettingsDep, user: CurrentUser,
             photo_id: PhotoIdPath) -> FileResponse:
    """原图 (staff who uploaded the photo, or who may see a case or an assessment entry it
    is linked to): the file as uploaded, with its metadata."""
    photo = photos.visible_photo(session, user, photo_id)
    return photo_file(settings, photo, "original", PRIVATE)


@router.get("/{photo_id}/thumb", response_class=FileResponse,
            responses=_image_response("image/jpeg"))
def thumb(session: SessionDep, settings: SettingsDep, user: CurrentUser,
          photo_id: PhotoIdPath) -> FileResponse:
    """缩略图: JPEG at most 320 px a side, without metadata (same access as the original)."""
    photo = photos.visible_photo(session, user, photo_id)
    return photo_file(settings, photo, "thumb", PRIVATE)


@router.get("/{photo_id}/public", response_class=FileResponse,
            responses=_image_response("image/jpeg"))
def public_copy(session: SessionDep, settings: SettingsDep, user: CurrentUser,
                photo_id: PhotoIdPath) -> FileResponse:
    """公开图: JPEG without any metadata (no GPS), same access as the original. The public
    reaches it by the photo's public id: ``GET /api/v1/public/photos/{public_id}``."""
    photo = photos.visible_photo(session, user, photo_id)
    return photo_file(settings, photo, "public", PRIVATE)
