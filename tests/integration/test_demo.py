"""The demo city X市: what a user sees after `xiuhua demo` — its regions, units, matrix, staff,
components and a month of history driven through the real lifecycle."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from statistics import mean

import pytest
import shapely
from sqlalchemy import Engine, select

from xiuhua.config import Settings
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action, CancelReason, CaseStatus, RegionLevel, Role
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import check_tiling
from xiuhua.domain.lifecycle import overdue_at
from xiuhua.domain.responsibility import check_matrix
from xiuhua.services.accounts import authenticate
from xiuhua.services.city import load_city
from xiuhua.services.demo import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DemoSummary,
    build_demo_city,
    build_demo_city_on,
    plan_layout,
)
from xiuhua.store import city as store
from xiuhua.store.cases import iter_cases
from xiuhua.store.db import make_engine, transaction
from xiuhua.store.tables import assignments, case_events, cases, components, regions, units, user_grids, users

END = date(2026, 10, 31)
CUTOFF = datetime(2026, 11, 1, tzinfo=local_zone())


def _copy_of(template: Path, folder: Path) -> Engine:
    path = folder / "xiuhua.db"
    shutil.copy(template, path)
    return make_engine(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[tuple[Engine, DemoSummary]]:
    """One month of X市 (October 2026, seed 7) on SQLite, shared by the read-only tests."""
    eng = _copy_of(sqlite_template, tmp_path_factory.mktemp("demo"))
    summary = build_demo_city_on(eng, seed=7, months=1, end=END)
    yield eng, summary
    eng.dispose()


@pytest.fixture(scope="module")
def city(demo: tuple[Engine, DemoSummary]) -> City:
    with transaction(demo[0]) as session:
        return load_city(session)


def _digest(eng: Engine) -> str:
    h = hashlib.sha256()
    with eng.connect() as conn:
        for table, order in ((cases, cases.c.case_no), (case_events, case_events.c.id),
                             (assignments, assignments.c.id)):
            for row in conn.execute(select(table).order_by(order)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


# --- the city -----------------------------------------------------------------------------


def test_x_city_has_eight_streets_one_zone_about_forty_communities_and_1500_grids(
        demo: tuple[Engine, DemoSummary]) -> None:
    eng, summary = demo
    with eng.connect() as conn:
        rows = conn.execute(select(regions.c.level, regions.c.kind, regions.c.name)).all()
    levels = Counter(r.level for r in rows)
    assert levels[RegionLevel.CITY.value] == 1
    assert levels[RegionLevel.STREET.value] == 9
    assert [r.name for r in rows if r.kind == "zone"] == ["X市经济开发区"]
    assert 35 <= levels[RegionLevel.COMMUNITY.value] <= 45
    assert 1300 <= levels[RegionLevel.GRID.value] <= 1700
    text = str(summary)
    assert "X市" in text and "街道 8 个" in text and "开发区 1 个" in text
    assert f"单元网格 {levels[RegionLevel.GRID.value]:,} 个" in text


def test_every_grid_is_about_a_hectare_and_the_grids_tile_the_city_exactly(
        demo: tuple[Engine, DemoSummary], city: City) -> None:
    grid_areas = [info.area_m2 for info in city.regions.values() if info.level is RegionLevel.GRID]
    assert all(8500 <= a <= 11500 for a in grid_areas)
    grids = [(code, city.grid_index.geometry(code)) for code in city.grid_index.codes]
    with transaction(demo[0]) as session:
        boundary = store.region_geometry(session, "370199")
    assert check_tiling(grids, boundary=boundary) == []


def test_grid_codes_carry_the_hierarchy_and_run_west_to_east_then_north_to_south(city: City) -> None:
    by_community: dict[str, list[str]] = defaultdict(list)
    for code in city.grid_index.codes:
        assert len(code) == 15 and code.startswith("370199")
        by_community[city.regions[code].parent_code or ""].append(code)
    for community, codes in by_community.items():
        assert all(code.startswith(community) for code in codes)
        centres = [city.grid_index.geometry(code).centroid for code in sorted(codes)]
        keys = [(-round(p.y, 5), round(p.x, 5)) for p in centres]
        assert keys == sorted(keys), community


def test_every_active_matter_has_exactly_one_responsible_unit_in_every_grid(city: City) -> None:
    matters = [(m.code, m.major_code) for m in city.taxonomy.matters() if m.active]
    grid_areas = {code: city.areas(code) for code in city.grid_index.codes}
    assert check_matrix(city.matrix, matters, grid_areas) == []


def test_departments_answer_for_their_matters_and_the_street_office_for_the_rest(city: City) -> None:
    names = {code: info.name for code, info in city.units.items()}
    zone_grid = next(c for c in city.grid_index.codes if city.regions[c[:9]].kind == "zone")
    core_grid = next(c for c in city.grid_index.codes if c.startswith("370199001"))

    def unit(category: str, grid: str, owner: str | None = None) -> str:
        answer = city.responsible(category, grid, owner).unit
        assert answer is not None
        return names[answer]

    assert unit("06010", core_grid) == "环卫中心"
    assert unit("06045", core_grid) == "园林绿化中心"
    assert unit("09009", zone_grid) == "交警大队"
    assert unit("08004", core_grid) == "住房和城乡建设局"
    assert unit("07001", core_grid) == "城市管理综合执法局"
    assert unit("01001", core_grid) == "供水公司"
    assert unit("09006", core_grid) == "城市管理综合执法局"
    assert unit("09006", zone_grid) == "经济开发区管理委员会"
    assert unit("06036", core_grid) == "城关街道办事处"  # 属地兜底
    assert unit("06036", core_grid, owner="GSGS") == "供水公司"  # 权属 first


def test_about_twenty_units_with_staff_for_every_role(demo: tuple[Engine, DemoSummary]) -> None:
    with demo[0].connect() as conn:
        unit_rows = conn.execute(select(units.c.code, units.c.name)).all()
        user_rows = conn.execute(select(users.c.login, users.c.role, users.c.unit_code)).all()
    names = {r.name for r in unit_rows}
    assert 18 <= len(unit_rows) <= 26
    assert {"城市管理综合执法局", "住房和城乡建设局", "环卫中心", "园林绿化中心", "市场监督管理局", "商务局",
            "交警大队", "供水公司", "城市管理指挥中心", "城关街道办事处"} <= names
    roles = Counter(r.role for r in user_rows)
    assert roles[Role.INSPECTOR.value] == 30
    for role in (Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.LEADER, Role.ADMIN):
        assert roles[role.value] >= 1
    for code, _ in unit_rows:
        assert {Role.HANDLER.value, Role.UNIT_LEADER.value} <= {r.role for r in user_rows if r.unit_code == code}


def test_each_inspector_patrols_one_contiguous_beat_and_every_grid_has_one(
        demo: tuple[Engine, DemoSummary], city: City) -> None:
    with demo[0].connect() as conn:
        posts = conn.execute(select(user_grids.c.login, user_grids.c.grid_code)).all()
    beats: dict[str, list[str]] = defaultdict(list)
    for login, grid in posts:
        beats[login].append(grid)
    assert len(beats) == 30
    assert sorted(g for gs in beats.values() for g in gs) == sorted(city.grid_index.codes)
    for grids in beats.values():
        union = shapely.union_all([city.grid_index.geometry(g) for g in grids])
        assert union.geom_type == "Polygon"


def test_the_component_census_has_coded_owned_components(demo: tuple[Engine, DemoSummary], city: City) -> None:
    with demo[0].connect() as conn:
        rows = conn.execute(select(components)).all()
    assert 2000 <= len(rows) <= 10000
    assert {"01001", "01037", "03005"} <= {r.class_code for r in rows}
    for r in rows:
        assert len(r.code) == 17 and r.code.startswith("370199" + r.class_code)
        assert city.grid_index.locate(r.lon, r.lat) == r.grid_code
    assert {r.owner_unit for r in rows if r.class_code == "01001"} == {"GSGS"}
    assert Counter(r.status for r in rows).most_common(1)[0][0] == "intact"


# --- the history --------------------------------------------------------------------------


def test_a_month_has_about_ten_thousand_cases_with_every_action_and_cancel_reason(
        demo: tuple[Engine, DemoSummary]) -> None:
    eng, summary = demo
    with eng.connect() as conn:
        actions = set(conn.execute(select(case_events.c.action).distinct()).scalars())
        reasons = set(conn.execute(select(cases.c.cancel_reason).distinct()).scalars())
        sources = set(conn.execute(select(cases.c.source).distinct()).scalars())
    assert 8000 <= summary.total_cases <= 12000
    # every action a person takes (the calendar recompute is the system's, after a change)
    assert actions == {a.value for a in Action} - {Action.AMEND.value, Action.RECOMPUTE_DEADLINE.value}
    assert reasons - {None} == {r.value for r in CancelReason}
    assert {"inspector", "public", "hotline"} <= sources
    assert summary.first_day == date(2026, 10, 1) and summary.last_day == END


def test_duplicates_name_an_earlier_case(demo: tuple[Engine, DemoSummary]) -> None:
    with demo[0].connect() as conn:
        rows = conn.execute(select(cases.c.case_no, cases.c.duplicate_of, cases.c.reported_at)
                            .where(cases.c.cancel_reason == CancelReason.DUPLICATE.value)).all()
        reported = {no: at for no, at in conn.execute(select(cases.c.case_no, cases.c.reported_at))}
    assert rows
    for case_no, original, at in rows:
        assert original in reported and reported[original] < at, case_no


def test_case_numbers_follow_the_day_and_order_of_report(demo: tuple[Engine, DemoSummary]) -> None:
    with demo[0].connect() as conn:
        rows = conn.execute(select(cases.c.case_no, cases.c.reported_at).order_by(cases.c.case_no)).all()
    by_day: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for case_no, at in rows:
        assert len(case_no) == 14
        assert case_no[:8] == at.astimezone(local_zone()).strftime("%Y%m%d")
        by_day[case_no[:8]].append((int(case_no[8:]), at))
    for serials in by_day.values():
        assert [s for s, _ in serials] == list(range(1, len(serials) + 1))
        assert [at for _, at in serials] == sorted(at for _, at in serials)


def test_actions_never_go_back_in_time_and_units_feed_back_in_working_hours(
        demo: tuple[Engine, DemoSummary], city: City) -> None:
    with demo[0].connect() as conn:
        rows = conn.execute(select(case_events.c.case_no, case_events.c.seq, case_events.c.action,
                                   case_events.c.at).order_by(case_events.c.case_no, case_events.c.seq)).all()
    work = city.calendar("default")
    previous: dict[str, datetime] = {}
    in_hours = []
    for case_no, _, action, at in rows:
        assert at >= previous.get(case_no, at) and at < CUTOFF
        previous[case_no] = at
        if action == Action.FEEDBACK.value:
            local = at.astimezone(local_zone())
            in_hours.append(any(a <= local <= b for a, b in work.periods_on(local.date())))
    assert mean(in_hours) > 0.95


def test_most_assignments_end_on_time_some_late_and_some_returned(demo: tuple[Engine, DemoSummary]) -> None:
    with demo[0].connect() as conn:
        rows = conn.execute(select(assignments.c.ended, assignments.c.ended_at, assignments.c.deadline,
                                   assignments.c.kind)).all()
    handled = [r for r in rows if r.ended == "handled"]
    on_time = mean(r.ended_at <= r.deadline for r in handled)
    assert 0.75 <= on_time <= 0.97
    assert any(r.ended == "returned" for r in rows)
    assert any(r.kind == "rework" for r in rows)


def test_dispatch_goes_to_the_responsible_unit_after_any_return(
        demo: tuple[Engine, DemoSummary], city: City) -> None:
    with demo[0].connect() as conn:
        owners = {code: owner for code, owner in conn.execute(select(components.c.code, components.c.owner_unit))}
        rows = conn.execute(select(assignments.c.unit_code, assignments.c.ended, cases.c.category_code,
                                   cases.c.grid_code, cases.c.component_code)
                            .join(cases, cases.c.case_no == assignments.c.case_no)).all()
    ends = Counter[str]()
    for unit, ended, category, grid, component in rows:
        right = city.responsible(category, grid, owners.get(component) if component else None).unit
        if ended != "open":  # an open one may still be waiting to be returned
            assert (unit != right) if ended == "returned" else (unit == right)
        ends[ended] += 1
    assert ends["handled"] > 0.9 * len(rows) and ends["returned"] > 0


def test_some_cases_are_still_open_at_the_end_and_some_of_those_are_overdue(
        demo: tuple[Engine, DemoSummary]) -> None:
    eng, summary = demo
    open_states = [s.value for s in CaseStatus if s.is_open]
    assert 0 < sum(n for s, n in summary.cases.items() if s in open_states) < 0.2 * summary.total_cases
    assert summary.cases[CaseStatus.CLOSED.value] > 0.8 * summary.total_cases
    with transaction(eng) as session:
        still_open = list(iter_cases(session, cases.c.status.in_(open_states)))
    assert any(overdue_at(a, CUTOFF) for c in still_open for a in c.assignments)


def test_fewer_reports_on_the_national_day_holiday_and_at_night(demo: tuple[Engine, DemoSummary],
                                                                city: City) -> None:
    with demo[0].connect() as conn:
        times = [at.astimezone(local_zone()) for at in conn.execute(select(cases.c.reported_at)).scalars()]
    per_day = Counter(t.date() for t in times)
    holiday = [per_day[date(2026, 10, d)] for d in range(1, 8)]  # 国庆节 1–7 October
    work = city.calendar("default")
    workdays = [n for d, n in per_day.items() if work.is_workday(d)]
    assert mean(holiday) < 0.7 * mean(workdays)
    hours = Counter(t.hour for t in times)
    assert sum(hours[h] for h in range(8, 18)) > 0.7 * len(times)
    assert sum(hours[h] for h in range(0, 6)) < 0.03 * len(times)


def test_hotspots_have_many_more_cases_than_ordinary_grids(demo: tuple[Engine, DemoSummary], city: City) -> None:
    with demo[0].connect() as conn:
        per_grid = Counter(conn.execute(select(cases.c.grid_code)).scalars())
    hot = {g for grids in plan_layout().hotspots.values() for g in grids}
    ordinary = [per_grid[g] for g in city.grid_index.codes if g not in hot]
    assert mean(per_grid[g] for g in hot) > 5 * mean(ordinary)
    markets = plan_layout().hotspots["market"]
    with demo[0].connect() as conn:
        stalls = conn.execute(select(cases.c.category_code).where(cases.c.grid_code.in_(markets))).scalars().all()
    assert Counter(stalls).most_common(1)[0][0] in {"09006", "09005"}


def test_the_same_seed_gives_the_same_history_and_another_seed_another(
        demo: tuple[Engine, DemoSummary], sqlite_template: Path, tmp_path: Path) -> None:
    digests = {}
    for seed in (7, 8):
        folder = tmp_path / str(seed)
        folder.mkdir()
        eng = _copy_of(sqlite_template, folder)
        build_demo_city_on(eng, seed=seed, months=1, end=END)
        digests[seed] = _digest(eng)
        eng.dispose()
    assert digests[7] == _digest(demo[0])
    assert digests[8] != digests[7]


# --- entry points -------------------------------------------------------------------------


def test_the_city_alone_builds_on_both_backends_and_only_on_an_empty_database(engine: Engine) -> None:
    summary = build_demo_city_on(engine, seed=1, months=6, end=END, history=False)
    assert summary.total_cases == 0 and "未生成历史案件" in str(summary)
    assert summary.regions["street"] == 8 and summary.regions["zone"] == 1
    with pytest.raises(InvalidInput) as refused:
        build_demo_city_on(engine, seed=1, months=6, end=END, history=False)
    assert refused.value.code == "database_not_empty"


def test_xiuhua_demo_resets_the_database_it_is_given(engine: Engine) -> None:
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False))
    first = build_demo_city(settings, seed=3, months=1, end=END, history=False, reset=True)
    again = build_demo_city(settings, seed=3, months=1, end=END, history=False, reset=True)
    assert str(first) == str(again)
    with pytest.raises(InvalidInput):
        build_demo_city(settings, seed=3, months=1, end=END, history=False, reset=False)
    with pytest.raises(InvalidInput) as bad:
        build_demo_city(settings, seed=3, months=0, end=END, reset=True)
    assert bad.value.code == "invalid_months"


@pytest.mark.slow
def test_six_months_of_history_is_about_sixty_thousand_cases(sqlite_engine: Engine) -> None:
    summary = build_demo_city_on(sqlite_engine, seed=1, months=6, end=END)
    assert 40_000 <= summary.total_cases <= 80_000
    assert summary.first_day == date(2026, 5, 1) and summary.last_day == END
    start = datetime.combine(date(2026, 5, 1), time(0), local_zone())
    with sqlite_engine.connect() as conn:
        first = conn.execute(select(cases.c.reported_at).order_by(cases.c.reported_at).limit(1)).scalar_one()
    assert first >= start


def test_the_printed_demo_logins_sign_in(sqlite_engine: Engine) -> None:
    summary = build_demo_city_on(sqlite_engine, seed=3, history=False)
    text = str(summary)
    for login, role in DEMO_LOGINS:
        assert login in text
        assert authenticate(sqlite_engine, login, DEMO_PASSWORD, datetime.now(UTC)).role is role


@pytest.mark.parametrize("period, at", [
    ("2026-10", None),
    ("2026-10", datetime(2026, 10, 20, 12, 30, tzinfo=local_zone())),  # counted as it stood mid-month
    ("2026-10", datetime(2026, 10, 31, 23, 0, tzinfo=local_zone())),
    ("2026Q4", None),
    ("2026-11", None),  # nothing happened: only the assignments still open at its end
])
def test_the_grouped_assessment_counts_every_figure_as_the_item_by_item_one(
        demo: tuple[Engine, DemoSummary], city: City, period: str, at: datetime | None) -> None:
    """The figures a circular publishes are grouped by the database; the drill-down lists
    them item by item. Over a month of the demo's lifecycle (returns, reworks, suspensions,
    extensions, invalid reports, late and overdue work) the two agree on every figure."""
    from xiuhua.domain.assessment import Period
    from xiuhua.services import assessment as service

    config = service.load_config()
    with transaction(demo[0]) as session:
        grouped = service.counted(session, city, Period.parse(period), config, at).figures()
        itemised = service.compute(session, city, Period.parse(period), config, at)[0].figures()
    assert grouped == itemised
    if period == "2026-10" and at is None:  # the month exercises every rule
        total = Counter[str]()
        for subject in ("units", "staff", "inspectors"):
            for row in grouped[subject]:
                total.update({k: v for k, v in row.items() if type(v) is int and k != "rank"})
        print(dict(total))
        assert all(total[m] > 0 for m in ("dispatched", "handled_on_time", "overdue_unhandled", "returned", "reworked",
                                          "closed_on_time", "supervised", "satisfied", "valid_reports",
                                          "verifications", "checks_on_time", "filed_on_time", "dispatched_on_time",
                                          "dispatched_not_returned"))
        assert total["checks_on_time"] < total["checks"]  # some judged on the working calendar


def test_a_drill_down_reads_only_its_subjects_cases_and_lists_every_counted_one(
        demo: tuple[Engine, DemoSummary], city: City) -> None:
    """A drill-down counts item by item only the cases that can count for its subject (a unit's,
    a region's, a person's); every figure of the subject equals its list's length."""
    from xiuhua.domain.assessment import MEASURES, Period
    from xiuhua.services import assessment as service

    config, october = service.load_config(), Period.parse("2026-10")
    keys = {"units": "unit_code", "regions": "region_code", "inspectors": "login", "staff": "login"}
    with transaction(demo[0]) as session:
        figures = service.counted(session, city, october, config).figures()
        whole = len(service.period_data(session, city, october).cases)
        regions = {r["level"]: r["region_code"] for r in figures["regions"] if r["reported"]}
        for subject, key in keys.items():
            rows = figures[subject] if subject != "regions" else \
                [r for r in figures[subject] if r["region_code"] in regions.values()]
            for row in rows:
                only = service.subject_cases(city, october, subject, row[key])
                result, data = service.compute(session, city, october, config, only=only)
                counted = {m: len(result.items(subject, row[key], m)) for m in MEASURES[subject]}
                assert counted == {m: row[m] for m in MEASURES[subject]}, (subject, row[key])
                if subject == "units" and row["dispatched"]:
                    assert len(data.cases) < whole


@pytest.mark.parametrize("at", [None, datetime(2026, 10, 20, 12, 30, tzinfo=local_zone())])
def test_the_circulars_overdue_list_reads_only_the_cases_open_at_the_end(
        demo: tuple[Engine, DemoSummary], city: City, at: datetime | None) -> None:
    """The circular lists every unit's overdue assignments from the cases with an assignment
    still open at the end: the same items as counting the whole month."""
    from xiuhua.domain.assessment import Period
    from xiuhua.services import assessment as service

    config, october = service.load_config(), Period.parse("2026-10")
    with transaction(demo[0]) as session:
        few, data = service.overdue(session, city, october, config, at)
        whole, everything = service.compute(session, city, october, config, at)
    codes = [u["unit_code"] for u in whole.figures()["units"]]
    found = {c: few.items("units", c, "overdue_unhandled") for c in codes}
    assert found == {c: whole.items("units", c, "overdue_unhandled") for c in codes}
    assert sum(map(len, found.values())) > 0 and len(data.cases) < len(everything.cases)
    if at is None:  # at the month's end, a few cases are still open
        assert len(data.cases) < len(everything.cases) / 10


def test_a_live_demo_publishes_its_complete_months_and_leaves_work_at_every_step(
        sqlite_engine: Engine) -> None:
    now = datetime(2026, 10, 14, 10, 0, tzinfo=local_zone())  # a Wednesday morning
    summary = build_demo_city_on(sqlite_engine, seed=2, months=2, now=now)
    assert summary.published == ("2026-09",) and "已发布考核月份：2026-09" in str(summary)
    waiting = {s: summary.cases.get(s.value, 0) for s in CaseStatus if s.is_open}
    assert all(n > 0 for n in waiting.values()), waiting
    with sqlite_engine.connect() as conn:
        asked = conn.execute(select(assignments.c.extension_requested, assignments.c.suspension_requested)
                             .where(assignments.c.ended == "open")).all()
    assert any(r.extension_requested for r in asked) and any(r.suspension_requested for r in asked)


def test_xiuhua_demo_prints_no_python_warning(tmp_path: Path) -> None:
    """What `make demo` shows in a terminal: the summary, and no Python warning (a provisional
    calendar year is said in one Chinese line, not as a warning)."""
    import os
    import subprocess
    import sys

    xiuhua = Path(sys.executable).parent / "xiuhua"
    env = {**os.environ, "XIUHUA_DATA_DIR": str(tmp_path), "XIUHUA_DATABASE_URL": ""}
    done = subprocess.run([str(xiuhua), "demo", "--months", "1", "--seed", "4"], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "示范城市“X市”已生成" in done.stdout
    noise = [line for line in done.stderr.splitlines() + done.stdout.splitlines() if "Warning" in line]
    assert noise == []


def test_only_months_the_history_covers_wholly_and_that_have_ended_are_published() -> None:
    from xiuhua.services.demo import complete_months

    at = datetime(2026, 10, 14, 10, 0, tzinfo=local_zone())
    assert [p.label for p in complete_months(date(2026, 8, 15), at)] == ["2026-09"]
    assert [p.label for p in complete_months(date(2026, 8, 1), at)] == ["2026-08", "2026-09"]
    assert complete_months(date(2026, 9, 20), at) == []
