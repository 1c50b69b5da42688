"""Reference data for signed-in users: units, regions as GeoJSON, locating a point, the
taxonomy with its time limits, the working calendar and deadlines."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from shapely.geometry import shape

from tests.api.conftest import Api
from tests.factories import COMM_A, COMM_B, STREET, center, grid_code
from xiuhua.domain.geo import CoordSys, wgs84_to_gcj02


def get(api: Api, path: str, login: str = "handler_hw", **params: Any) -> Any:
    r = api.client.get(f"/api/v1{path}", params=params, headers=api.auth(login))
    assert r.status_code == 200, r.text
    return r.json()


def problem(api: Api, path: str, status: int, **params: Any) -> str:
    r = api.client.get(f"/api/v1{path}", params=params, headers=api.auth("inspector02"))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return str(r.json()["code"])


def test_reference_data_needs_a_signed_in_user(api: Api) -> None:
    for path in ("/units", "/regions", "/categories", "/calendar", "/grids/locate?lon=1&lat=1"):
        assert api.client.get(f"/api/v1{path}").status_code == 401


def test_units_come_with_their_kind_in_chinese_and_their_region(api: Api) -> None:
    units = {u["code"]: u for u in get(api, "/units")}
    assert units["U-HW"]["name"] == "环卫中心"
    assert units["U-HW"]["kind"] == "department" and units["U-HW"]["kind_label"] == "职能部门"
    street_office = units["U-JD1"]
    assert street_office["kind_label"] == "街道办事处"
    assert street_office["region_code"] == STREET and street_office["region_name"] == "测试街道"
    assert units["U-CENTER"]["kind_label"] == "指挥中心"


def test_the_grids_of_a_community_are_a_valid_feature_collection(api: Api) -> None:
    r = api.client.get("/api/v1/regions", params={"level": "grid", "parent": COMM_B},
                       headers=api.auth("inspector01"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    codes = [f["properties"]["code"] for f in body["features"]]
    assert codes == [grid_code(0, 2), grid_code(1, 2), grid_code(2, 2)]
    for feature in body["features"]:
        props = feature["properties"]
        assert props["level"] == "grid" and props["level_label"] == "单元网格"
        assert props["parent_code"] == COMM_B and props["region_class"] == 1
        assert 9_000 < props["area_m2"] < 11_000
        geometry = shape(feature["geometry"])
        assert geometry.is_valid and geometry.geom_type == "Polygon"
        assert all(len(str(x).split(".")[1]) <= 7 for x, _ in feature["geometry"]["coordinates"][0])
    lon, lat = center(1, 2)
    assert shape(body["features"][1]["geometry"]).contains(shape({"type": "Point",
                                                                  "coordinates": [lon, lat]}))


def test_regions_are_filtered_by_level_and_unchanged_ones_are_not_sent_again(api: Api) -> None:
    headers = api.auth("leader01")
    r = api.client.get("/api/v1/regions", params={"level": "community"}, headers=headers)
    names = {f["properties"]["code"]: f["properties"]["name"] for f in r.json()["features"]}
    assert names == {COMM_A: "东风社区", COMM_B: "西湖社区"}
    assert len(get(api, "/regions", level="grid")["features"]) == 9
    again = api.client.get("/api/v1/regions", params={"level": "community"},
                           headers={**headers, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_one_region_is_a_feature_and_unknown_ones_are_404(api: Api) -> None:
    feature = get(api, f"/regions/{STREET}")
    assert feature["type"] == "Feature" and feature["properties"]["name"] == "测试街道"
    assert feature["properties"]["level_label"] == "街道"
    assert shape(feature["geometry"]).is_valid
    assert problem(api, "/regions/370181999", 404) == "region_not_found"
    assert problem(api, "/regions", 404, parent="370181999") == "region_not_found"
    assert problem(api, "/regions", 422, level="province") == "invalid_request"


def test_a_point_is_located_in_its_grid_community_and_street(api: Api) -> None:
    lon, lat = center(1, 1)
    found = get(api, "/grids/locate", lon=lon, lat=lat)
    assert found["grid"] == {"code": grid_code(1, 1), "name": f"网格{grid_code(1, 1)[-3:]}"}
    assert found["community"] == {"code": COMM_A, "name": "东风社区"}
    assert found["street"] == {"code": STREET, "name": "测试街道"}
    glon, glat = wgs84_to_gcj02(lon, lat)
    from_amap = get(api, "/grids/locate", lon=glon, lat=glat, coord_sys=CoordSys.GCJ02.value)
    assert from_amap["grid"]["code"] == grid_code(1, 1)
    assert abs(from_amap["lon"] - lon) < 1e-5 and from_amap["coord_sys"] == "wgs84"


def test_a_point_outside_the_city_is_refused(api: Api) -> None:
    assert problem(api, "/grids/locate", 422, lon=116.0, lat=39.9) == "outside_city"
    assert problem(api, "/grids/locate", 422, lon=117.0, lat=36.6, coord_sys="utm") == \
        "invalid_coord_sys"


def test_public_matters_carry_their_time_limits_with_chinese_labels(api: Api) -> None:
    found = get(api, "/categories", kind="matter", public="true")
    assert found and all(c["kind"] == "matter" and c["public_reportable"] for c in found)
    garbage = next(c for c in found if c["code"] == "06010")
    assert garbage["name"] == "暴露垃圾" and garbage["kind_label"] == "事项"
    assert garbage["major_name"] == "市容环境类" and garbage["calendar"] == "default"
    assert garbage["limits"] == [
        {"urgency": "normal", "urgency_label": "一般", "limit": "4wh", "limit_label": "4 工作小时"},
        {"urgency": "urgent", "urgency_label": "紧急", "limit": "2wh", "limit_label": "2 工作小时"}]
    assert "暴露垃圾" in garbage["filing_condition"] and garbage["closing_condition"]
    components = get(api, "/categories", kind="component")
    assert components and {c["kind_label"] for c in components} == {"部件"}


def test_one_category_by_code(api: Api) -> None:
    assert get(api, "/categories/06013")["limits"][0]["limit_label"] == "3 工作日"
    lid = get(api, "/categories/01001", kind="component")
    assert lid["name"] == "供水井盖" and lid["limits"] == []
    assert problem(api, "/categories/99999", 404) == "category_not_found"


def test_the_calendar_shows_national_day_and_its_make_up_workday(api: Api) -> None:
    days = {d["date"]: d for d in get(api, "/calendar", **{"from": "2026-09-30", "to": "2026-10-12"})}
    assert len(days) == 13
    assert days["2026-10-01"]["workday"] is False and days["2026-10-01"]["kind_label"] == "节假日"
    assert days["2026-10-01"]["holiday_name"] == "国庆节"
    assert days["2026-10-10"]["kind"] == "makeup_workday"
    assert days["2026-10-10"]["kind_label"] == "调休上班" and days["2026-10-10"]["weekday_label"] == "星期六"
    assert days["2026-10-09"]["periods"] == ["08:30–12:00", "13:30–17:30"]
    assert days["2026-10-11"]["kind_label"] == "休息日" and days["2026-10-11"]["periods"] == []
    assert all(d["official"] and not d["overridden"] for d in days.values())


def test_years_without_a_published_schedule_are_marked_unofficial(api: Api) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # provisional is data, never a Python warning
        days = get(api, "/calendar", **{"from": "2030-03-04", "to": "2030-03-05"})
    assert [d["official"] for d in days] == [False, False]
    assert problem(api, "/calendar", 422, **{"from": "2026-10-02", "to": "2026-10-01"}) == \
        "invalid_date_range"


def test_four_working_hours_from_friday_five_pm_end_on_monday_at_noon(api: Api) -> None:
    found = get(api, "/calendar/deadline", start="2026-10-16T17:00", limit="4wh")
    assert found == {"start": "2026-10-16T17:00:00+08:00", "limit": "4wh",
                     "calendar": "default", "deadline": "2026-10-19T12:00:00+08:00"}
    utc = get(api, "/calendar/deadline", start="2026-10-16T09:00:00+00:00", limit="4wh",
              calendar="center")
    assert utc["start"] == "2026-10-16T17:00:00+08:00"
    assert utc["deadline"] == "2026-10-16T21:00:00+08:00"


def test_bad_limits_and_calendars_are_refused(api: Api) -> None:
    assert problem(api, "/calendar/deadline", 422, start="2026-10-16T17:00", limit="4x") == \
        "invalid_time_limit"
    assert problem(api, "/calendar/deadline", 422, start="2026-10-16T17:00", limit="4wh",
                   calendar="lunar") == "unknown_calendar"
    assert problem(api, "/calendar/deadline", 422, start="Friday", limit="4wh") == \
        "invalid_datetime"


def test_dates_beyond_the_supported_years_are_refused_not_a_server_error(api: Api) -> None:
    for start in ("9999-12-31T17:00:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                  "0001-01-01T00:00:00", "2101-01-01T00:00:00", "1949-12-31T23:00:00"):
        assert problem(api, "/calendar/deadline", 422, start=start, limit="4wh") == "date_out_of_range", start
    for bounds in ({"from": "9999-12-31"}, {"from": "0001-01-01"}, {"to": "9999-12-31"},
                   {"from": "2100-12-20", "to": "2101-01-02"}):
        assert problem(api, "/calendar", 422, **bounds) == "date_out_of_range", bounds
    last = get(api, "/calendar/deadline", start="2100-06-01T08:00:00", limit="4wh")
    assert last["deadline"].startswith("2100-06-")


def test_calendar_years_lists_last_to_next_year_official_or_provisional(api: Api) -> None:
    years = get(api, "/calendar/years")
    assert [y["year"] for y in years] == [2025, 2026, 2027]  # the clock says 2026-10-16
    by_year = {y["year"]: y for y in years}
    assert by_year[2026]["official"] and by_year[2026]["source"] == "package"
    assert (by_year[2026]["holidays"], by_year[2026]["makeup_workdays"]) == (19, 6)
    assert not by_year[2027]["official"] and by_year[2027]["source"] == "estimate"
    assert by_year[2027]["status_label"] == "暂定" and by_year[2027]["makeup_workdays"] == 0


@pytest.mark.parametrize("query", [{"from": "0827-01-01"}, {"from": "0944-05-01", "to": "0944-05-02"},
                                   {"from": "2026-01-01", "to": "9999-01-01"},
                                   {"from": "2101-01-01", "to": "2101-01-02"}])
def test_years_outside_the_calendar_are_a_clear_422(api: Api, query: dict[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert problem(api, "/calendar", 422, **query) == "date_out_of_range"


def test_a_deadline_from_an_odd_year_is_a_clear_422(api: Api) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert problem(api, "/calendar/deadline", 422, start="0827-03-03T09:00",
                       limit="4wh") == "date_out_of_range"
