"""系统管理 (administrators only): users and roles, responsibility rules with the coverage
check, units, categories and time limits, region and component imports, the working calendar,
the permission table and the scoring weights. Every page calls the service the ``xiuhua`` CLI
calls for the same change; the pages register on :data:`router`."""

from __future__ import annotations

from fastapi import Request, Response

from xiuhua.web.admin import city, settings, users
from xiuhua.web.admin.common import AdminUser, page, router

__all__ = ["city", "router", "settings", "users"]


@router.get("/admin")
def admin_home(request: Request, user: AdminUser) -> Response:
    return page(request, "admin/index.html", {"title": "系统管理"})
