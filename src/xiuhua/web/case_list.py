"""案件查询: every case the user may see, filtered like the API's case list (the same
``CaseQuery`` validation and ``case_filter``), a page at a time with a cursor."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from xiuhua.domain.access import Principal
from xiuhua.domain.choices import CaseStatus, RegionLevel, Source, UnitKind
from xiuhua.domain.city import City
from xiuhua.http.cases import case_filter
from xiuhua.http.deps import CityDep, NowDep, SessionDep
from xiuhua.http.schemas import CaseQuery
from xiuhua.store.case_queries import count_cases, list_cases
from xiuhua.web.forms import FIELD_LABELS
from xiuhua.web.maps import majors
from xiuhua.web.pages import PageRoute, page_for, render
from xiuhua.web.views import case_rows

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
COUNT_CAP = 100_000  # beyond it the page says "超过 100,000 件"
SORTS = {"-reported_at": "上报时间（新→旧）", "reported_at": "上报时间（旧→新）",
         "due_at": "处置时限（早→晚）", "-case_no": "案件号（大→小）"}
FILTER_LABELS = {**FIELD_LABELS, "status": "状态", "category": "类别", "street": "街道",
                 "source": "来源", "overdue": "超时", "text": "关键词", "reported_from": "上报日期自",
                 "reported_to": "上报日期至", "sort": "排序", "cursor": "翻页位置"}
FIELDS = ("status", "category", "unit", "street", "source", "overdue", "text", "reported_from",
          "reported_to", "sort")


def _options(city: City, district: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The filters' choices; a district's center staff choose among its streets only."""
    streets = sorted((r.code, r.name) for r in city.regions.values()
                     if r.level is RegionLevel.STREET and (district is None or r.code.startswith(district)))
    units = [(u.code, u.name) for u in city.units.values()
             if u.active and u.kind != UnitKind.CENTER.value]
    return {"status": [(s.value, s.label) for s in CaseStatus],
            "category": majors(city), "street": streets, "unit": units,
            "source": [(s.value, s.label) for s in Source], "sort": list(SORTS.items())}


def _given(request: Request) -> dict[str, Any]:
    """The filter as the browser sent it, blanks left out (an empty select means "all")."""
    params = request.query_params
    found: dict[str, Any] = {"status": [v for v in params.getlist("status") if v]}
    for name in (*FIELDS[1:], "cursor"):
        value = params.get(name, "").strip()
        if value:
            found[name] = value
    return found


def _errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else "form"
        found.setdefault(name, f"{FILTER_LABELS.get(name, name)}填写有误")
    return found


@router.get("/cases")
def case_list(request: Request, session: SessionDep, city: CityDep, now: NowDep,
              user: Annotated[Principal, page_for("/cases")]) -> Response:
    """The search form and one page of matching cases; ``cursor`` walks to the next page."""
    given = _given(request)
    context: dict[str, Any] = {"title": "案件查询", "given": given, "options": _options(city, user.district_scope),
                               "rows": [], "errors": {}, "next_url": None}
    try:
        query = CaseQuery.model_validate({**given, "limit": PAGE_SIZE})
    except ValidationError as exc:
        context["errors"] = _errors(exc)
        return render(request, "cases/list.html", context)
    filters = case_filter(query)
    page = list_cases(session, user, filters, now, sort=query.sort, limit=PAGE_SIZE,
                      cursor=query.cursor)
    context["total"] = count_cases(session, user, filters, now, cap=COUNT_CAP)
    context["count_cap"] = COUNT_CAP
    context["rows"] = case_rows(session, city, page.rows, now)
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    context["first_url"] = "/cases?" + urlencode(keep)
    if page.next_cursor is not None:
        context["next_url"] = "/cases?" + urlencode([*keep, ("cursor", page.next_cursor)])
    context["first_page"] = "cursor" not in given
    return render(request, "cases/list.html", context)
