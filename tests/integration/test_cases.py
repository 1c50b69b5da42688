"""Reporting and acting on cases through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from tests.factories import (
    DISPATCHER,
    HANDLER,
    INSPECTOR,
    SHIFT,
    act,
    build_tiny_city,
    center,
    grid_code,
    local,
    report,
)
from xiuhua.domain.choices import Action, CaseStatus, Role, Source
from xiuhua.domain.errors import ActionRefused, InvalidInput, NotFound, StaleVersion
from xiuhua.domain.geo import CoordSys, wgs84_to_gcj02
from xiuhua.domain.lifecycle import Actor, Command
from xiuhua.services.cases import act_on_case
from xiuhua.services.city import load_city
from xiuhua.store.cases import load_case
from xiuhua.store.db import transaction
from xiuhua.store.tables import case_events, cases


@pytest.fixture
def city_engine(engine: Engine) -> Engine:
    build_tiny_city(engine)
    return engine


def _report(engine: Engine, at: str = "2026-10-16 09:00", **fields: object) -> str:
    lon, lat = center(1, 1)
    return report(engine, at, **{"lon": lon, "lat": lat, "description": "路边暴露垃圾", **fields})


def test_a_reported_point_is_located_in_its_grid_community_and_street(city_engine: Engine) -> None:
    case_no = _report(city_engine)
    with transaction(city_engine) as session:
        case = load_case(session, case_no)
    assert case_no == "20261016000001"
    assert case.location is not None
    assert case.location.grid_code == grid_code(1, 1)
    assert case.location.community_code == "370181001001"
    assert case.location.street_code == "370181001"
    assert case.status is CaseStatus.REPORTED and case.version == 1


def test_a_phone_reports_in_gcj02_and_the_case_is_stored_in_wgs84(city_engine: Engine) -> None:
    lon, lat = center(2, 2)
    glon, glat = wgs84_to_gcj02(lon, lat)
    case_no = _report(city_engine, lon=float(glon), lat=float(glat), coord_sys=CoordSys.GCJ02)
    with transaction(city_engine) as session:
        case = load_case(session, case_no)
    assert case.location is not None and case.location.grid_code == grid_code(2, 2)
    assert abs(case.location.lon - lon) < 1e-6 and abs(case.location.lat - lat) < 1e-6


def test_a_point_outside_the_city_is_refused_and_nothing_is_stored(city_engine: Engine) -> None:
    with pytest.raises(InvalidInput) as err:
        _report(city_engine, lon=116.0, lat=36.0)
    assert err.value.code == "outside_city"
    with transaction(city_engine) as session:
        assert session.execute(select(func.count()).select_from(cases)).scalar() == 0


def test_case_numbers_follow_the_local_day_and_skip_imported_numbers(city_engine: Engine) -> None:
    first = _report(city_engine, at="2026-10-16 23:59")
    # 2026-10-17 00:10 in Shanghai is still 10-16 in UTC: the number follows the local day
    second = _report(city_engine, at="2026-10-17 00:10")
    assert (first, second) == ("20261016000001", "20261017000001")
    with transaction(city_engine) as session:  # an imported case already holds ...000002
        case = load_case(session, second)
        case.case_no = "20261017000002"
        from xiuhua.store.cases import insert_cases
        insert_cases(session, [case])
    assert _report(city_engine, at="2026-10-17 08:00") == "20261017000003"


def test_the_whole_loop_from_report_to_close(city_engine: Engine) -> None:
    no = _report(city_engine, at="2026-10-16 09:00")
    act(city_engine, no, Action.FILE, "2026-10-16 09:10", SHIFT)
    act(city_engine, no, Action.DISPATCH, "2026-10-16 17:00", DISPATCHER, unit="U-HW",
         limit="4wh")
    with transaction(city_engine) as session:
        case = load_case(session, no)
    assignment = case.assignments[0]
    assert assignment.deadline == local("2026-10-19 12:00")  # Friday 17:00 + 4wh
    act(city_engine, no, Action.FEEDBACK, "2026-10-19 11:00", HANDLER, note="已清运",
         photos=("p1",))
    act(city_engine, no, Action.CHECK_PASS, "2026-10-19 11:30", INSPECTOR)
    act(city_engine, no, Action.CLOSE, "2026-10-19 11:40", SHIFT)
    with transaction(city_engine) as session:
        case = load_case(session, no)
        actions = list(session.execute(select(case_events.c.action).where(
            case_events.c.case_no == no).order_by(case_events.c.seq)).scalars())
    assert case.status is CaseStatus.CLOSED and case.version == 6
    assert case.assignments[0].on_time is True
    assert actions == ["report", "file", "dispatch", "feedback", "check_pass", "close"]
    assert [t.kind.value for t in case.tasks] == ["check"]
    assert case.tasks[0].inspector == "inspector01" and case.tasks[0].result == "passed"


def test_a_refused_action_leaves_the_stored_case_unchanged(city_engine: Engine) -> None:
    no = _report(city_engine)
    act(city_engine, no, Action.FILE, "2026-10-16 09:10", SHIFT)
    act(city_engine, no, Action.DISPATCH, "2026-10-16 09:20", DISPATCHER, unit="U-HW")
    with pytest.raises(ActionRefused) as err:
        act(city_engine, no, Action.RETURN, "2026-10-16 15:00", HANDLER, reason="不属于本单位")
    assert err.value.code == "return_window_closed"
    with transaction(city_engine) as session:
        case = load_case(session, no)
    assert case.status is CaseStatus.DISPATCHED and case.version == 3 and len(case.events) == 3


def test_acting_on_a_stale_version_is_refused(city_engine: Engine) -> None:
    no = _report(city_engine)
    act(city_engine, no, Action.FILE, "2026-10-16 09:10", SHIFT)
    with pytest.raises(StaleVersion):
        act(city_engine, no, Action.DISPATCH, "2026-10-16 09:20", DISPATCHER, unit="U-HW",
             expected_version=1)


def test_an_unknown_case_and_an_unknown_duplicate_are_not_found(city_engine: Engine) -> None:
    with pytest.raises(NotFound):
        act(city_engine, "20261016999999", Action.FILE, "2026-10-16 09:10", SHIFT)
    no = _report(city_engine)
    with pytest.raises(NotFound):
        act(city_engine, no, Action.CANCEL, "2026-10-16 09:10", SHIFT, reason="duplicate",
             duplicate_of="20261001000001")


def test_an_address_only_hotline_report_waits_for_a_point(city_engine: Engine) -> None:
    no = _report(city_engine, lon=None, lat=None, address="测试街道东风路12号",
                 source=Source.HOTLINE)
    with pytest.raises(ActionRefused) as err:
        act(city_engine, no, Action.FILE, "2026-10-16 09:10", SHIFT)
    assert err.value.code == "not_located"
    with transaction(city_engine) as session:
        city = load_city(session)
        act_on_case(session, city, no, Command(
            Action.AMEND, local("2026-10-16 09:20"), Actor("acc", Role.ACCEPTOR),
            location=city.locate(*center(0, 2))))
    act(city_engine, no, Action.FILE, "2026-10-16 09:30", SHIFT)
    with transaction(city_engine) as session:
        case = load_case(session, no)
    assert case.status is CaseStatus.FILED
    assert case.location is not None and case.location.community_code == "370181001002"


def test_concurrent_reports_get_distinct_numbers(city_engine: Engine) -> None:
    numbers: list[str] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            numbers.append(_report(city_engine, at=f"2026-10-16 10:{i:02d}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timedelta(seconds=60).total_seconds())
    assert not errors
    assert sorted(numbers) == [f"20261016{i:06d}" for i in range(1, 9)]


def test_a_capped_count_stops_after_the_cap_and_counts_exactly_below_it(city_engine: Engine) -> None:
    from xiuhua.domain.access import Principal
    from xiuhua.store.case_queries import CaseFilter, count_cases

    for minute in range(5):
        _report(city_engine, f"2026-10-16 09:0{minute}")
    center = Principal("leader01", Role.LEADER)
    now = local("2026-10-16 10:00")
    with transaction(city_engine) as session:
        assert count_cases(session, center, CaseFilter(), now) == 5
        assert count_cases(session, center, CaseFilter(), now, cap=10) == 5
        assert count_cases(session, center, CaseFilter(), now, cap=3) == 4  # "more than 3"
