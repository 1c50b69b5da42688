"""The leaders' dashboard over HTTP: every figure against a small history built by hand through the
services, the units' on-time rates equal to the month's assessment, and who may read it.

The history, at Friday 2026-10-16 10:00 (06010 暴露垃圾: 4 working hours):
    A  reported/filed/dispatched today 08:40 to U-HW, grid (1,1), running
    B  dispatched 10-14 09:00 to U-HW, grid (0,0), never handled: overdue since 10-14
    C  dispatched 10-15 09:00 to U-HW, grid (0,0), handled on time, checked, closed today 09:00
    D  reported today 09:30, grid (2,2), category 06001, not filed
    G  dispatched 10-13 09:00 to U-HW, grid (0,0), handled late 10-14 09:00
    E  dispatched 09-21 09:00 to U-ZF, grid (0,1), never handled: overdue since September
    H  dispatched 08-03 to U-HW, grid (1,2), handled 09-01, checked by the inspector 10-12
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.factories import (
    HANDLER,
    INSPECTOR,
    SHIFT,
    act,
    center,
    dispatched_case,
    grid_code,
    local,
    report,
)
from xiuhua.domain.choices import Action
from xiuhua.services import assessment

URL = "/api/v1/dashboard"
NOW = "2026-10-16 10:00"


def dispatched(api: Api, at: str, cell: tuple[int, int], unit: str = "U-HW") -> str:
    return dispatched_case(api.engine, at, unit=unit, cell=cell)


def handled(api: Api, case_no: str, at: str, handler: Any = HANDLER) -> None:
    act(api.engine, case_no, Action.FEEDBACK, at, handler, note="已处置")


@pytest.fixture
def history(api: Api) -> dict[str, str]:
    e = api.engine
    cases = {"H": dispatched(api, "2026-08-03 09:00", (1, 2))}
    handled(api, cases["H"], "2026-09-01 09:00")
    act(e, cases["H"], Action.CHECK_PASS, "2026-10-12 09:30", INSPECTOR)
    cases["E"] = dispatched(api, "2026-09-21 09:00", (0, 1), unit="U-ZF")
    cases["G"] = dispatched(api, "2026-10-13 09:00", (0, 0))
    handled(api, cases["G"], "2026-10-14 09:00")
    cases["B"] = dispatched(api, "2026-10-14 09:00", (0, 0))
    cases["C"] = dispatched(api, "2026-10-15 09:00", (0, 0))
    handled(api, cases["C"], "2026-10-15 10:00")
    act(e, cases["C"], Action.CHECK_PASS, "2026-10-15 11:00", INSPECTOR)
    act(e, cases["C"], Action.CLOSE, "2026-10-16 09:00", SHIFT)
    cases["A"] = dispatched(api, "2026-10-16 08:40", (1, 1))
    lon, lat = center(2, 2)
    cases["D"] = report(e, "2026-10-16 09:30", category_code="06001", lon=lon, lat=lat, address="测试路 9 号")
    api.clock.set(NOW)
    return cases


def dashboard(api: Api, login: str = "leader01", status: int = 200) -> Any:
    r = api.client.get(URL, headers=api.auth(login))
    assert r.status_code == status, r.text
    return r.json()


def test_counts_of_today_and_this_month(api: Api, history: dict[str, str]) -> None:
    found = dashboard(api)
    assert found["month"] == "2026-10" and found["as_of"].startswith("2026-10-16T10:00")
    assert found["today"] == {"reported": 2, "filed": 1, "dispatched": 1, "closed": 1, "overdue": 0}
    assert found["this_month"] == {"reported": 5, "filed": 4, "dispatched": 4, "closed": 1, "overdue": 1}
    assert found["overdue_now"] == 2  # B, and E (overdue since September)


def test_funnel_of_this_months_cases(api: Api, history: dict[str, str]) -> None:
    stages = {s["stage"]: s["count"] for s in dashboard(api)["funnel"]}
    assert stages == {"reported": 5, "filed": 4, "dispatched": 4, "handled": 2, "checked": 1, "closed": 1}


def test_trend_of_the_last_30_days(api: Api, history: dict[str, str]) -> None:
    trend = dashboard(api)["trend"]
    assert len(trend["days"]) == 30 and trend["days"][0] == "2026-09-17" and trend["days"][-1] == "2026-10-16"
    reported = {d: n for d, n in zip(trend["days"], trend["reported"], strict=True) if n}
    closed = {d: n for d, n in zip(trend["days"], trend["closed"], strict=True) if n}
    assert reported == {"2026-09-21": 1, "2026-10-13": 1, "2026-10-14": 1, "2026-10-15": 1, "2026-10-16": 2}
    assert closed == {"2026-10-16": 1}


def test_top_categories_hotspots_and_blind_spots(api: Api, history: dict[str, str]) -> None:
    found = dashboard(api)
    assert found["top_categories"] == [{"category_code": "06010", "name": found["top_categories"][0]["name"],
                                        "filed": 4}]
    assert found["top_categories"][0]["name"]  # the category's Chinese name
    hot = [(h["grid_code"], h["reported"]) for h in found["hotspots"]]
    assert hot[0] == (grid_code(0, 0), 3)
    assert sorted(hot[1:]) == sorted([(grid_code(1, 1), 1), (grid_code(2, 2), 1)])
    assert found["hotspots"][0]["community"] == "东风社区"
    blind = found["blind_spots"]
    # reported in 30 days: (0,0) (1,1) (2,2) (0,1); patrolled (checked by the inspector): (1,2)
    expected = sorted(grid_code(r, c) for r, c in [(0, 2), (1, 0), (2, 0), (2, 1)])
    assert blind["days"] == 30 and blind["total"] == 4
    assert [g["grid_code"] for g in blind["grids"]] == expected
    assert all(g["inspector"] == "inspector01" for g in blind["grids"])  # the grids' inspector (named by login here)


def test_units_on_time_rates_are_the_months_assessment(api: Api, history: dict[str, str]) -> None:
    units = {u["unit_code"]: u for u in dashboard(api)["units"]}
    hw, zf = units["U-HW"], units["U-ZF"]
    assert (hw["handled"], hw["handled_on_time"], hw["overdue_unhandled"], hw["due"]) == (2, 1, 1, 3)
    assert hw["on_time_rate"] == pytest.approx(1 / 3)
    assert (zf["due"], zf["on_time_rate"]) == (1, 0.0)
    assert [u["unit_code"] for u in dashboard(api)["units"]] == ["U-HW", "U-ZF"]  # best rate first
    from xiuhua.services.city import load_city
    from xiuhua.store.db import read_transaction
    with read_transaction(api.engine) as session:
        month = assessment.assess_period(session, load_city(session), "2026-10", assessment.load_config(),
                                         local(NOW))
    for row in month["units"]:
        if row["due"]:
            assert units[row["unit_code"]]["on_time_rate"] == pytest.approx(row["on_time_rate"])
            assert units[row["unit_code"]]["due"] == row["due"]


def test_figures_move_with_the_clock(api: Api, history: dict[str, str]) -> None:
    api.clock.set("2026-10-16 16:00")  # A's 4 working hours have run out
    found = dashboard(api)
    assert found["today"]["overdue"] == 1 and found["overdue_now"] == 3
    api.clock.set("2026-11-02 09:00")  # a new month
    found = dashboard(api)
    assert found["month"] == "2026-11" and found["this_month"]["reported"] == 0
    assert found["this_month"]["overdue"] == 0 and found["overdue_now"] == 3


def test_who_may_read_the_dashboard(api: Api, history: dict[str, str]) -> None:
    for login in ("leader01", "admin01", "acceptor01", "shift01", "dispatcher01"):
        dashboard(api, login)
    for login in ("handler_hw", "leader_hw", "inspector01"):
        problem = dashboard(api, login, status=403)
        assert "领导驾驶舱" in problem["detail"]
    assert api.client.get(URL).status_code == 401


def test_documented_in_openapi(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    operation = spec["paths"][URL]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/DashboardPublic")
    assert {"403", "401"} <= set(operation["responses"])
    model = spec["components"]["schemas"]["DashboardPublic"]
    assert {"today", "this_month", "funnel", "trend", "units", "hotspots", "blind_spots"} <= set(model["properties"])




def test_on_time_counts_agree_with_the_assessment_over_its_history(api: Api) -> None:
    """The assessment tests' history (extension, suspension, rework, return, a case overdue at two
    month-ends and handled in December), watched after its last event: October's handled and
    on-time counts, and December's figures as they stand, equal the assessment's."""
    from tests.unit.test_assessment import build_history
    from xiuhua.domain.assessment import Period
    from xiuhua.services.city import load_city
    from xiuhua.store import dashboard as store
    from xiuhua.store.cases import insert_cases
    from xiuhua.store.db import read_transaction, transaction

    with transaction(api.engine) as session:
        insert_cases(session, list(build_history().cases.values()))
    api.clock.set("2026-12-03 09:00")
    units = {u["unit_code"]: u for u in dashboard(api)["units"]}
    config = assessment.load_config()
    with read_transaction(api.engine) as session:
        city = load_city(session)
        october, december = (assessment.assess_period(session, city, p, config, api.clock.now)
                             for p in ("2026-10", "2026-12"))
        handled = store.unit_handled(session, Period.parse("2026-10").start, Period.parse("2026-10").end)
    assert handled == {r["unit_code"]: (r["handled"], r["handled_on_time"]) for r in october["units"] if r["handled"]}
    expected = {r["unit_code"]: r for r in december["units"] if r["due"]}
    assert set(units) == set(expected) and expected
    for code, row in expected.items():
        for key in ("handled", "handled_on_time", "overdue_unhandled", "due"):
            assert units[code][key] == row[key], (code, key)
        assert units[code]["on_time_rate"] == pytest.approx(row["on_time_rate"])


# --- kept days: the same figures as counting everything again ----------------------------------


def counted_afresh(api: Api) -> Any:
    """The dashboard at the clock's time from a new engine: no kept day, everything counted now."""
    from xiuhua.services import dashboard as service
    from xiuhua.services.city import load_city
    from xiuhua.store.db import make_engine, read_transaction

    engine = make_engine(api.engine.url.render_as_string(hide_password=False))
    try:
        with read_transaction(engine) as session:
            return service.dashboard(session, load_city(session), api.clock.now)
    finally:
        engine.dispose()


def funnel_by_rows(api: Api) -> dict[str, int]:
    """The funnel of this month's cases from their rows (status and filed_at of each case)."""
    from sqlalchemy import select

    from xiuhua.domain.assessment import Period, month_label
    from xiuhua.services.dashboard import FUNNEL, local_day
    from xiuhua.store.db import read_transaction
    from xiuhua.store.tables import cases

    start = Period.parse(month_label(local_day(api.clock.now))).start
    with read_transaction(api.engine) as session:
        rows = session.execute(select(cases.c.status, cases.c.filed_at)
                               .where(cases.c.reported_at >= start, cases.c.reported_at < api.clock.now)).all()
    return {key: sum(1 for status, filed_at in rows
                     if (filed_at is not None if statuses is None else status in statuses))
            for key, _, statuses in FUNNEL}


def same_as_afresh(api: Api, at: str) -> Any:
    api.clock.set(at)
    found = dashboard(api)
    assert found == counted_afresh(api)
    assert {s["stage"]: s["count"] for s in found["funnel"]} == funnel_by_rows(api)
    return found


def test_kept_days_are_counted_again_after_writes_that_change_them(api: Api, history: dict[str, str]) -> None:
    """Past days and today's past hours are kept from the first look; late writes dated in a
    kept day or hour, an amendment of a case reported days ago (its grid and category), a
    cancellation of a filed case, an hour and a day going by all give the figures a fresh
    count gives."""
    from tests.factories import ACCEPTOR
    from xiuhua.domain.choices import CancelReason
    from xiuhua.domain.geo import CoordSys
    from xiuhua.services.cases import locate_input
    from xiuhua.services.city import load_city
    from xiuhua.store.db import transaction

    e = api.engine
    before = same_as_afresh(api, "2026-10-16 10:00")
    dispatched(api, "2026-10-13 15:00", (2, 1))  # written now, dated three days ago
    after = same_as_afresh(api, "2026-10-16 10:01")
    assert after["this_month"]["reported"] == before["this_month"]["reported"] + 1
    assert after["trend"]["reported"][-4] == before["trend"]["reported"][-4] + 1  # 10-13
    assert grid_code(2, 1) not in {g["grid_code"] for g in after["blind_spots"]["grids"]}

    old = report(e, "2026-10-14 11:00", category_code="06001", lon=center(0, 2)[0], lat=center(0, 2)[1])
    act(e, old, Action.FILE, "2026-10-14 11:10", SHIFT)
    same_as_afresh(api, "2026-10-16 10:02")
    with transaction(e) as session:
        spot = locate_input(load_city(session), *center(1, 0), CoordSys.WGS84)
    act(e, old, Action.AMEND, "2026-10-16 10:02", ACCEPTOR, location=spot, category_code="06010")
    amended = same_as_afresh(api, "2026-10-16 10:03")
    blind = {g["grid_code"] for g in amended["blind_spots"]["grids"]}
    assert grid_code(1, 0) not in blind and grid_code(0, 2) in blind
    act(e, old, Action.CANCEL, "2026-10-16 10:03", SHIFT, reason=CancelReason.INVALID.value)
    same_as_afresh(api, "2026-10-16 10:04")
    report(e, "2026-10-16 09:45", lon=center(2, 0)[0], lat=center(2, 0)[1])  # in a kept hour
    assert same_as_afresh(api, "2026-10-16 10:05")["today"]["reported"] == 3
    same_as_afresh(api, "2026-10-16 11:10")  # 10:00-11:00 is a whole past hour now
    dispatched(api, "2026-10-16 10:50", (2, 2))
    assert same_as_afresh(api, "2026-10-16 11:11")["today"]["dispatched"] == 2
    same_as_afresh(api, "2026-10-17 09:00")  # the 16th is a whole past day now
    act(e, history["A"], Action.FEEDBACK, "2026-10-17 09:30", HANDLER, note="已处置")
    same_as_afresh(api, "2026-10-17 10:00")
    same_as_afresh(api, "2026-11-02 09:00")


def test_kept_days_follow_an_import_of_past_cases(api: Api) -> None:
    """Cases stored with their whole past history (as an import does) change the kept days."""
    from tests.unit.test_assessment import build_history
    from xiuhua.store.cases import insert_cases
    from xiuhua.store.db import transaction

    imported = list(build_history().cases.values())
    with transaction(api.engine) as session:
        insert_cases(session, imported[::2])
    first = same_as_afresh(api, "2026-11-20 09:00")
    with transaction(api.engine) as session:
        insert_cases(session, imported[1::2])
    assert same_as_afresh(api, "2026-11-20 09:01") != first


def test_home_counters_count_the_open_cases_by_status(api: Api, history: dict[str, str]) -> None:
    """The center's counters (read over the open statuses' index range only): each open status,
    overdue now, reported and closed today; closed and cancelled cases are in no counter."""
    import re

    from tests.e2e.test_pages_http import sign_in
    from xiuhua.domain.choices import CancelReason

    cancelled = report(api.engine, "2026-10-15 08:00", category_code="06001", lon=center(0, 0)[0],
                       lat=center(0, 0)[1])
    act(api.engine, cancelled, Action.CANCEL, "2026-10-15 08:10", SHIFT, reason=CancelReason.INVALID.value)
    sign_in(api.client, "leader01")
    html = api.client.get("/parts/counters").text
    found = {label: int(value) for value, label in
             re.findall(r'<span class="value">(\d+)</span><span class="label">([^<]+)</span>', html)}
    assert found == {"待受理/立案": 1, "待派遣": 0, "处置中": 3, "挂账": 0, "待核查": 1, "待结案": 1,
                     "超时": 2, "今日上报": 2, "今日结案": 1}
