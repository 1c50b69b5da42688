"""What the administration pages share: the router, the admin-only user, posted forms with
their files, uploads saved for the import services, and domain errors turned into messages
next to the field they concern."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from xiuhua.domain.access import Principal
from xiuhua.domain.errors import BatchInvalid, DomainError
from xiuhua.web.pages import PageRoute, page_for, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
AdminUser = Annotated[Principal, page_for("/admin")]
T = TypeVar("T")

# The sections of the administration pages: (href, label, what it is for).
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("/admin/users", "用户与角色", "新建账号，调整角色、所属单位和责任网格，停用、启用，重置密码"),
    ("/admin/rules", "责任规则与覆盖检查", "责任矩阵（权属 → 专业归口 → 属地兜底），导入规则，检查责任缺失与重叠"),
    ("/admin/units", "单位", "职能部门、街道办、社区和作业单位，导入单位表"),
    ("/admin/categories", "分类与处置时限", "部件、事项分类及各紧急程度的处置时限，导入分类表"),
    ("/admin/geodata", "区域与部件导入", "导入区域（市、街道、社区、单元网格）和部件普查数据"),
    ("/admin/calendar", "工作日历", "法定节假日、调休上班和本市调整的日子"),
    ("/admin/permissions", "权限表", "每个案件操作允许哪些角色执行"),
    ("/admin/weights", "考核权重", "考核评分的权重与等级标准（只读）"),
)


async def posted_form(request: Request) -> FormData:
    """The posted form with repeated fields and files (already parsed by the CSRF check)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def uploads(form: FormData, name: str = "file") -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


@contextmanager
def saved_uploads(files: list[UploadFile]) -> Iterator[list[Path]]:
    """The uploaded files under their own names in a temporary folder (a Shapefile's .shp,
    .dbf, .shx, .prj and .cpg must sit side by side), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="xiuhua-upload-") as folder:
        paths = []
        for upload in files:
            path = Path(folder) / Path(upload.filename or "upload").name
            upload.file.seek(0)
            path.write_bytes(upload.file.read())
            paths.append(path)
        yield paths


def in_savepoint(session: Session, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(session, …)`` all or nothing: a refused change leaves no trace in the request's
    transaction (which commits whatever else the request did)."""
    with session.begin_nested():
        return fn(session, *args, **kwargs)


def error_lines(exc: DomainError) -> list[str]:
    """A domain error as lines to show: the message, then each bad line of a batch."""
    return [exc.message, *(exc.problems if isinstance(exc, BatchInvalid) else [])]


def page(request: Request, name: str, context: dict[str, Any]) -> HTMLResponse:
    """An administration page (with the section links)."""
    return render(request, name, {"sections": SECTIONS, **context})
