"""Assessment formulas over a small hand-built history (the real lifecycle, in memory).

October 2026 in Asia/Shanghai: the National Day holiday runs 1–7 Oct, Saturday 10 Oct is a
make-up working day (调休), weekends otherwise off. Working time 08:30–12:00 and 13:30–17:30.
The same history is stored and assessed through the database in
``tests/integration/test_assessment.py``; the expected figures below serve both.

Cases (U-HW 环卫中心, U-ZF 城市管理综合执法局, U-JD1 街道办; inspector01 reports the C cases):
  C1  U-HW  dispatched 30 Sep 16:10 (4wh → 8 Oct 11:10 over the holiday), handled 8 Oct on time
  C2  U-HW  Fri 16 Oct 15:20 + 4wh → Mon 19 Oct 10:20 over the weekend; handled late, rework on time
  C3  U-HW  1wd due 13 Oct 09:10, extended by 1wd to 14 Oct 09:10; handled 13 Oct 16:00 (on time)
  C4  U-HW  suspended with 3 working hours left, resumed Mon 26 Oct 09:00 → 12:00; supervised
  C5  U-HW  due 27 Oct 14:40, still open at the end of October and November; supervised; done 2 Dec
  C6  U-HW  handled in October, checked and closed in November
  C7  U-ZF by mistake (returned), then U-HW; the check comes late
  C8  an inspector's report cancelled as invalid
  C10 U-JD1 its only case (样本不足); dispatched 55 minutes after filing (late)
  Z1–Z5 U-ZF (public report verified on site, hotline reports); Z2 filed late and handled late;
        Z3 due on the make-up Saturday 10 Oct
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from tests.factories import CITY, COMM_A, COMM_B, STREET, center, features, grid_code, local
from xiuhua.domain.assessment import (
    HISTORY_ACTIONS,
    MEASURES,
    AssessmentConfig,
    CaseRecord,
    CasesSource,
    Entry,
    EventRecord,
    Item,
    Measure,
    Period,
    PeriodData,
    Person,
    RegionRecord,
    RewardBand,
    Term,
    assess,
    assessed_kind,
    band_amount,
    competition_ranks,
    grade,
    month_label,
    parse_config,
    published_score,
    score,
    unit_rates,
)
from xiuhua.domain.calendar import WorkCalendar
from xiuhua.domain.choices import Action, AssessedKind, RegionLevel, Role, Source
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.geo import area_m2
from xiuhua.domain.lifecycle import Actor, Case, Command, Event, Location, ReportData, Rules, apply, report
from xiuhua.domain.sources import SOURCES, Scored, SourceResult, UnitFacts, composite
from xiuhua.domain.taxonomy import Taxonomy, parse_taxonomy_csv
from xiuhua.services.assessment import shipped_config_text
from xiuhua.services.city import shipped_taxonomy_text

A = Action
TAXONOMY = Taxonomy.of(parse_taxonomy_csv(shipped_taxonomy_text()))
RULES = Rules(taxonomy=TAXONOMY, calendars={"default": WorkCalendar("default")},
              unit_exists=lambda code: code in {"U-HW", "U-ZF", "U-JD1"},
              inspector_for=lambda grid: "inspector01")
CONFIG = AssessmentConfig()

INSPECTOR01 = Actor("inspector01", Role.INSPECTOR)
INSPECTOR02 = Actor("inspector02", Role.INSPECTOR)
SHIFT = Actor("shift01", Role.SHIFT_LEADER)
DISPATCHER = Actor("dispatcher01", Role.DISPATCHER)
ACCEPTOR = Actor("acceptor01", Role.ACCEPTOR)
LEADER = Actor("leader01", Role.LEADER)
CITIZEN = Actor(None, Role.PUBLIC)
HW = Actor("handler_hw", Role.HANDLER, "U-HW")
ZF = Actor("handler_zf", Role.HANDLER, "U-ZF")
JD = Actor("handler_jd", Role.HANDLER, "U-JD1")

UNITS = {"U-HW": "环卫中心", "U-ZF": "城市管理综合执法局", "U-JD1": "测试街道办事处"}
PEOPLE = {p.login: p for p in (
    Person("inspector01", "张监督", Role.INSPECTOR), Person("inspector02", "王监督", Role.INSPECTOR),
    Person("shift01", "赵值班", Role.SHIFT_LEADER), Person("dispatcher01", "钱派遣", Role.DISPATCHER),
    Person("acceptor01", "孙受理", Role.ACCEPTOR), Person("leader01", "李领导", Role.LEADER),
    Person("handler_hw", "李环卫", Role.HANDLER),
)}
LEVELS = {6: RegionLevel.CITY, 9: RegionLevel.STREET, 12: RegionLevel.COMMUNITY, 15: RegionLevel.GRID}
REGIONS = {f.code: RegionRecord(f.code, LEVELS[len(f.code)], f.name, area_m2(f.geometry)) for f in features()}

G11, G00, G02 = grid_code(1, 1), grid_code(0, 0), grid_code(0, 2)


class History:
    """Cases driven through the real lifecycle, named C1, Z1 … as in the module docstring."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self._serials: Counter[str] = Counter()

    def report(self, name: str, at: str, actor: Actor = INSPECTOR01, cell: tuple[int, int] = (1, 1),
               category: str = "06010", source: Source = Source.INSPECTOR) -> None:
        day = local(at).strftime("%Y%m%d")
        self._serials[day] += 1
        lon, lat = center(*cell)
        where = Location(lon, lat, grid_code(*cell), COMM_A if cell[1] < 2 else COMM_B, STREET)
        data = ReportData(f"{day}{self._serials[day]:06d}", source, category, local(at), location=where,
                          description=name)
        self.cases[name] = report(data, RULES, actor)

    def act(self, name: str, action: Action, at: str, actor: Actor, **fields: Any) -> None:
        apply(self.cases[name], Command(action, local(at), actor, **fields), RULES)

    def no(self, name: str) -> str:
        return self.cases[name].case_no


def build_history() -> History:
    h = History()
    h.report("C1", "2026-09-30 16:00")
    h.act("C1", A.FILE, "2026-09-30 16:05", SHIFT)
    h.act("C1", A.DISPATCH, "2026-09-30 16:10", DISPATCHER, unit="U-HW", limit="4wh")
    h.act("C1", A.FEEDBACK, "2026-10-08 10:00", HW)  # due 8 Oct 11:10: on time
    h.act("C1", A.CHECK_PASS, "2026-10-08 11:00", INSPECTOR01)  # 1 h after the feedback: on time
    h.act("C1", A.CLOSE, "2026-10-08 11:30", SHIFT)
    h.act("C1", A.RATE, "2026-10-09 10:00", ACCEPTOR, value="satisfied")

    h.report("C2", "2026-10-16 15:00")
    h.act("C2", A.FILE, "2026-10-16 15:10", SHIFT)
    h.act("C2", A.DISPATCH, "2026-10-16 15:20", DISPATCHER, unit="U-HW", limit="4wh")
    h.act("C2", A.FEEDBACK, "2026-10-19 11:00", HW)  # due Mon 10:20: late
    h.act("C2", A.CHECK_FAIL, "2026-10-19 13:45", INSPECTOR01)  # rework 13:45 + 4wh → Tue 08:45
    h.act("C2", A.FEEDBACK, "2026-10-20 08:40", HW)  # on time
    h.act("C2", A.CHECK_PASS, "2026-10-20 09:00", INSPECTOR01)
    h.act("C2", A.CLOSE, "2026-10-20 09:10", SHIFT)

    h.report("C3", "2026-10-12 09:00")
    h.act("C3", A.FILE, "2026-10-12 09:05", SHIFT)
    h.act("C3", A.DISPATCH, "2026-10-12 09:10", DISPATCHER, unit="U-HW", limit="1wd")
    h.act("C3", A.REQUEST_EXTENSION, "2026-10-12 14:00", HW, limit="1wd", reason="需调配清运车辆")
    h.act("C3", A.EXTEND, "2026-10-12 15:00", SHIFT)  # due 13 Oct 09:10 → 14 Oct 09:10
    h.act("C3", A.FEEDBACK, "2026-10-13 16:00", HW)  # after the first deadline, before the extended one
    h.act("C3", A.CHECK_PASS, "2026-10-14 08:50", INSPECTOR01)  # 1 h 50 working: on time
    h.act("C3", A.CLOSE, "2026-10-14 09:00", SHIFT)
    h.act("C3", A.RATE, "2026-10-14 10:00", ACCEPTOR, value="dissatisfied")

    h.report("C4", "2026-10-20 09:00")
    h.act("C4", A.FILE, "2026-10-20 09:05", SHIFT)
    h.act("C4", A.DISPATCH, "2026-10-20 09:10", DISPATCHER, unit="U-HW", limit="4wh")  # due 14:40
    h.act("C4", A.SUSPEND, "2026-10-20 10:10", SHIFT, reason="等待产权单位确认")  # 3 wh left
    h.act("C4", A.SUPERVISE, "2026-10-21 10:00", SHIFT, note="请尽快协调")  # U-HW holds it while suspended
    h.act("C4", A.RESUME, "2026-10-26 09:00", SHIFT)  # due Mon 26 Oct 12:00
    h.act("C4", A.FEEDBACK, "2026-10-26 11:00", HW)
    h.act("C4", A.CHECK_PASS, "2026-10-26 11:30", INSPECTOR01)
    h.act("C4", A.CLOSE, "2026-10-26 11:40", SHIFT)

    h.report("C5", "2026-10-27 09:00")
    h.act("C5", A.FILE, "2026-10-27 09:05", SHIFT)
    h.act("C5", A.DISPATCH, "2026-10-27 09:10", DISPATCHER, unit="U-HW", limit="4wh")  # due 14:40
    h.act("C5", A.SUPERVISE, "2026-10-28 09:00", LEADER, note="超期未处置")
    h.act("C5", A.FEEDBACK, "2026-12-02 10:00", HW)  # overdue at the end of October and of November
    h.act("C5", A.CHECK_PASS, "2026-12-02 11:00", INSPECTOR01)
    h.act("C5", A.CLOSE, "2026-12-02 11:10", SHIFT)

    h.report("C6", "2026-10-29 14:00")
    h.act("C6", A.FILE, "2026-10-29 14:05", SHIFT)
    h.act("C6", A.DISPATCH, "2026-10-29 14:10", DISPATCHER, unit="U-HW", limit="2wd")  # due Mon 2 Nov 14:10
    h.act("C6", A.FEEDBACK, "2026-10-30 16:00", HW)
    h.act("C6", A.CHECK_PASS, "2026-11-02 09:00", INSPECTOR01)  # exactly 2 wh after the feedback: on time
    h.act("C6", A.CLOSE, "2026-11-02 09:30", SHIFT)

    h.report("C7", "2026-10-14 09:00")
    h.act("C7", A.FILE, "2026-10-14 09:05", SHIFT)
    h.act("C7", A.DISPATCH, "2026-10-14 09:10", DISPATCHER, unit="U-ZF", limit="4wh")
    h.act("C7", A.RETURN, "2026-10-14 10:00", ZF, reason="不属于本单位职责")
    h.act("C7", A.DISPATCH, "2026-10-14 10:20", DISPATCHER, unit="U-HW", limit="4wh")  # 20 min after the return
    h.act("C7", A.FEEDBACK, "2026-10-14 15:00", HW)  # due 15:50
    h.act("C7", A.CHECK_PASS, "2026-10-15 09:30", INSPECTOR01)  # 2 h 30 working after the feedback: late
    h.act("C7", A.CLOSE, "2026-10-15 09:40", SHIFT)

    h.report("C8", "2026-10-15 09:00")
    h.act("C8", A.CANCEL, "2026-10-15 09:30", SHIFT, reason="invalid", note="现场无此问题")

    h.report("C10", "2026-10-22 14:00", cell=(0, 2), category="07001")
    h.act("C10", A.FILE, "2026-10-22 14:05", SHIFT)
    h.act("C10", A.DISPATCH, "2026-10-22 15:00", DISPATCHER, unit="U-JD1", limit="1wd")  # 55 min: late
    h.act("C10", A.FEEDBACK, "2026-10-23 10:00", JD)
    h.act("C10", A.CHECK_PASS, "2026-10-23 10:30", INSPECTOR01)
    h.act("C10", A.CLOSE, "2026-10-23 10:40", SHIFT)

    _zf_cases(h)
    return h


def _zf_cases(h: History) -> None:
    h.report("Z1", "2026-10-15 10:00", CITIZEN, cell=(0, 0), category="06036", source=Source.PUBLIC)
    h.act("Z1", A.VERIFY, "2026-10-15 10:30", INSPECTOR01)
    h.act("Z1", A.FILE, "2026-10-15 10:40", SHIFT)  # 10 min after the verification: on time
    h.act("Z1", A.DISPATCH, "2026-10-15 10:50", DISPATCHER, unit="U-ZF", limit="4wh")  # due 16:20
    h.act("Z1", A.FEEDBACK, "2026-10-15 14:00", ZF)
    h.act("Z1", A.CHECK_PASS, "2026-10-15 14:30", INSPECTOR02)
    h.act("Z1", A.CLOSE, "2026-10-15 14:40", SHIFT)
    h.act("Z1", A.RATE, "2026-10-16 09:00", CITIZEN, value="dissatisfied")

    h.report("Z2", "2026-10-15 16:00", ACCEPTOR, cell=(0, 0), category="06036", source=Source.HOTLINE)
    h.act("Z2", A.FILE, "2026-10-16 09:30", SHIFT)  # 2 h 30 working after the report: late
    h.act("Z2", A.DISPATCH, "2026-10-16 09:40", DISPATCHER, unit="U-ZF", limit="4wh")  # due 15:10
    h.act("Z2", A.FEEDBACK, "2026-10-16 17:00", ZF)  # late
    h.act("Z2", A.CHECK_PASS, "2026-10-19 08:40", INSPECTOR02)  # 40 working minutes
    h.act("Z2", A.CLOSE, "2026-10-19 08:50", SHIFT)

    h.report("Z3", "2026-10-09 15:40", ACCEPTOR, cell=(0, 0), category="06036", source=Source.HOTLINE)
    h.act("Z3", A.FILE, "2026-10-09 15:45", SHIFT)
    h.act("Z3", A.DISPATCH, "2026-10-09 16:00", DISPATCHER, unit="U-ZF", limit="4wh")  # due Sat 10 Oct 11:00
    h.act("Z3", A.FEEDBACK, "2026-10-10 10:30", ZF)  # on the make-up working Saturday: on time
    h.act("Z3", A.CHECK_PASS, "2026-10-10 11:00", INSPECTOR02)
    h.act("Z3", A.CLOSE, "2026-10-10 11:10", SHIFT)

    for name, day in (("Z4", "2026-10-21"), ("Z5", "2026-10-22")):
        h.report(name, f"{day} 09:00", ACCEPTOR, cell=(0, 0), category="06036", source=Source.HOTLINE)
        h.act(name, A.FILE, f"{day} 09:05", SHIFT)
        h.act(name, A.DISPATCH, f"{day} 09:10", DISPATCHER, unit="U-ZF", limit="4wh")  # due 14:40
        h.act(name, A.FEEDBACK, f"{day} 10:00", ZF)
        h.act(name, A.CHECK_PASS, f"{day} 10:30", INSPECTOR02)
        h.act(name, A.CLOSE, f"{day} 10:40", SHIFT)
    h.act("Z4", A.RATE, "2026-10-21 15:00", ACCEPTOR, value="basically_satisfied")


# U-ZF's spot checks: 92 − 10 − 2.5 + 0.5 = 80, the same published score as U-HW
ZF_ENTRIES = (Entry("U-ZF", "deduction", 10), Entry("U-ZF", "deduction", 2.5), Entry("U-ZF", "bonus", 0.5))

OCTOBER_UNITS: dict[str, dict[str, Any]] = {
    "U-HW": {
        "dispatched": 6,  # C2 C3 C4 C5 C6 C7 (C1 was dispatched in September)
        "handled": 7,  # C1, C2 twice (first and rework), C3, C4, C6, C7
        "handled_on_time": 6,  # all but C2's first
        "overdue_unhandled": 1,  # C5
        "due": 8, "returned": 0,
        "reworked": 1,  # C2's check failed
        "checked_ok": 5,  # C1 C2 C3 C4 C7 (C6 is checked in November)
        "closed": 5, "closed_on_time": 4,  # C1 C2 C3 C4 C7; C2 was once late
        "should_close": 6, "supervised": 2,  # C4 (while suspended) and C5
        "rated": 2, "satisfied": 1,  # C1 satisfied, C3 dissatisfied
        "on_time_rate": 0.75, "rework_rate": 1 / 6, "close_rate": 5 / 6,
        "on_time_close_rate": 4 / 6, "satisfaction_rate": 0.5,
        # (0.4 × 3/4 + 0.3 × 5/6 + 0.3 × 5/6) × 100 = 80
        "deductions": 0.0, "bonus": 0.0, "score": 80.0, "grade": "B", "rank": 1, "insufficient": False,
    },
    "U-ZF": {
        "dispatched": 6,  # C7 (returned) and Z1–Z5
        "handled": 5, "handled_on_time": 4,  # Z2 late
        "overdue_unhandled": 0, "due": 5, "returned": 1,
        "reworked": 0, "checked_ok": 5, "closed": 5, "closed_on_time": 4, "should_close": 5,
        "supervised": 0, "rated": 2, "satisfied": 1,  # Z1 dissatisfied, Z4 basically satisfied
        "on_time_rate": 0.8, "rework_rate": 0.0, "close_rate": 1.0, "on_time_close_rate": 0.8,
        "satisfaction_rate": 0.5,
        # (0.4 × 0.8 + 0.3 × 1 + 0.3 × 1) × 100 = 92, − 12.5 + 0.5 = 80: tied with U-HW
        "deductions": 12.5, "bonus": 0.5, "score": 80.0, "grade": "B", "rank": 1, "insufficient": False,
    },
    "U-JD1": {
        "dispatched": 1, "handled": 1, "handled_on_time": 1, "overdue_unhandled": 0,
        "due": 1,  # below the minimum of 5: 样本不足
        "returned": 0, "reworked": 0, "checked_ok": 1, "closed": 1, "closed_on_time": 1,
        "should_close": 1, "supervised": 0, "rated": 0, "satisfied": 0,
        "on_time_rate": 1.0, "rework_rate": 0.0, "close_rate": 1.0, "on_time_close_rate": 1.0,
        "satisfaction_rate": None,
        "deductions": 0.0, "bonus": 0.0, "score": None, "grade": None, "rank": None, "insufficient": True,
    },
}

# region -> (reported, filed, closed, closed_on_time, overdue_open)
OCTOBER_REGIONS = {
    G11: (7, 6, 5, 4, 1),  # C2–C8 reported, C8 not filed; C1 C2 C3 C4 C7 closed, C2 late; C5 overdue
    G00: (5, 5, 5, 4, 0),  # Z1–Z5, Z2 late
    G02: (1, 1, 1, 1, 0),  # C10
    COMM_A: (12, 11, 10, 8, 1),
    COMM_B: (1, 1, 1, 1, 0),
    STREET: (13, 12, 11, 9, 1),
    CITY: (13, 12, 11, 9, 1),
}

OCTOBER_INSPECTORS = {
    # C2–C8 and C10 reported, C8 invalid; Z1 verified; checks C1 C2 C2 C3 C4 C7 C10, C7 late
    "inspector01": {"reports": 8, "valid_reports": 7, "verifications": 1, "checks": 7, "checks_on_time": 6,
                    "valid_report_rate": 7 / 8, "check_on_time_rate": 6 / 7},
    "inspector02": {"reports": 0, "valid_reports": 0, "verifications": 0, "checks": 5, "checks_on_time": 5,
                    "valid_report_rate": None, "check_on_time_rate": 1.0},
}

OCTOBER_STAFF = {
    # 12 filed, Z2 late; 13 dispatches, C10's late and C7's first returned
    "shift01": {"filed": 12, "filed_on_time": 11, "dispatched": 0, "filing_on_time_rate": 11 / 12,
                "dispatch_on_time_rate": None, "dispatch_accuracy": None},
    "dispatcher01": {"filed": 0, "dispatched": 13, "dispatched_on_time": 12, "dispatched_not_returned": 12,
                     "filing_on_time_rate": None, "dispatch_on_time_rate": 12 / 13, "dispatch_accuracy": 12 / 13},
    "acceptor01": {"filed": 0, "dispatched": 0},
}


def _event(case: Case, e: Event) -> EventRecord:
    return EventRecord(case.case_no, e.seq, e.action, e.at, e.actor, e.data.get("unit"), e.data.get("value"))


def _record(c: Case) -> CaseRecord:
    loc = c.location
    return CaseRecord(c.case_no, c.source, c.category_code, loc.grid_code if loc else None,
                      loc.community_code if loc else None, loc.street_code if loc else None, c.reported_at,
                      c.filed_at, c.closed_at, c.cancelled_at, c.cancel_reason)


def period_data(h: History, label: str, entries: tuple[Entry, ...] = (),
                bands: tuple[RewardBand, ...] = ()) -> PeriodData:
    """Every case and event of the history: the formulas pick what belongs to the period."""
    cases = list(h.cases.values())
    return PeriodData(
        period=Period.parse(label), cases={c.case_no: _record(c) for c in cases},
        assignments={c.case_no: c.assignments for c in cases},
        events=[_event(c, e) for c in cases for e in c.events],
        history={c.case_no: [_event(c, e) for e in c.events if e.action in HISTORY_ACTIONS] for c in cases},
        units=UNITS, regions=REGIONS, category_names={c.code: c.name for c in TAXONOMY.matters()},
        people=PEOPLE, calendars=RULES.calendars, entries=entries, reward_bands=bands)


@pytest.fixture(scope="module")
def history() -> History:
    return build_history()


def by_key(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in rows}


def assert_rows(actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    for code, figures in expected.items():
        for name, value in figures.items():
            got = actual[code][name]
            assert got == (pytest.approx(value) if isinstance(value, float) else value), (code, name)


def assert_regions(rows: list[dict[str, Any]], expected: dict[str, tuple[int, ...]]) -> None:
    found = by_key(rows, "region_code")
    for code, (reported, filed, closed, on_time, overdue) in expected.items():
        row = found[code]
        assert (row["reported"], row["filed"], row["closed"], row["closed_on_time"],
                row["overdue_open"]) == (reported, filed, closed, on_time, overdue), code
        assert row["on_time_close_rate"] == pytest.approx(on_time / (closed + overdue))
        assert row["density_per_km2"] == pytest.approx(filed / (REGIONS[code].area_m2 / 1e6))


# --- the October circular ---------------------------------------------------------------------


def test_the_deadlines_of_the_history_follow_holidays_weekends_extensions_and_suspensions(
        history: History) -> None:
    deadline = {name: [a.deadline for a in history.cases[name].assignments] for name in ("C1", "C2", "C3", "C4", "Z3")}
    assert deadline["C1"] == [local("2026-10-08 11:10")]  # over National Day
    assert deadline["C2"] == [local("2026-10-19 10:20"), local("2026-10-20 08:45")]  # weekend, rework
    assert deadline["C3"] == [local("2026-10-14 09:10")]  # extended by 1wd
    assert deadline["C4"] == [local("2026-10-26 12:00")]  # suspended 20–26 Oct
    assert deadline["Z3"] == [local("2026-10-10 11:00")]  # the make-up working Saturday


def test_every_count_rate_score_grade_and_rank_of_the_units_in_october(history: History) -> None:
    result = assess(period_data(history, "2026-10", ZF_ENTRIES), CONFIG)
    units = result.figures()["units"]
    assert [u["unit_code"] for u in units] == ["U-HW", "U-ZF", "U-JD1"]  # ranked first, ties by code
    assert_rows(by_key(result.figures()["units"], "unit_code"), OCTOBER_UNITS)
    assert {u["unit_name"] for u in result.figures()["units"]} == set(UNITS.values())


def test_regions_and_top_categories_in_october(history: History) -> None:
    result = assess(period_data(history, "2026-10"), CONFIG)
    assert_regions(result.figures()["regions"], OCTOBER_REGIONS)
    quiet = by_key(result.figures()["regions"], "region_code")[grid_code(2, 2)]
    assert (quiet["filed"], quiet["on_time_close_rate"], quiet["density_per_km2"]) == (0, None, 0.0)
    assert [r["level"] for r in result.figures()["regions"][:4]] == ["city", "street", "community", "community"]
    assert result.figures()["top_categories"] == [
        {"region_code": region, "category_code": code, "name": name, "filed": filed}
        for region in (CITY, STREET)
        for code, name, filed in (("06010", "暴露垃圾", 6), ("06036", "乱堆杂物", 5), ("07001", "非法小广告", 1))
    ]


def test_inspectors_and_center_staff_in_october(history: History) -> None:
    result = assess(period_data(history, "2026-10"), CONFIG)
    assert [i["login"] for i in result.figures()["inspectors"]] == ["inspector01", "inspector02"]
    assert_rows(by_key(result.figures()["inspectors"], "login"), OCTOBER_INSPECTORS)
    assert [s["login"] for s in result.figures()["staff"]] == ["acceptor01", "dispatcher01", "shift01"]
    assert_rows(by_key(result.figures()["staff"], "login"), OCTOBER_STAFF)


def test_the_items_behind_a_figure_name_the_cases_and_assignments(history: History) -> None:
    result = assess(period_data(history, "2026-10"), CONFIG)
    no = history.no
    assert result.items("units", "U-HW", "overdue_unhandled") == [Item(no("C5"), 1, local("2026-11-01 00:00"))]
    assert [(i.case_no, i.seq) for i in result.items("units", "U-HW", "handled")] == [
        (no("C1"), 1), (no("C3"), 1), (no("C7"), 2), (no("C2"), 1), (no("C2"), 2), (no("C4"), 1),
        (no("C6"), 1)]
    assert [(i.case_no, i.seq) for i in result.items("units", "U-HW", "reworked")] == [(no("C2"), 1)]
    assert [(i.case_no, i.seq) for i in result.items("units", "U-ZF", "returned")] == [(no("C7"), 1)]
    assert [(i.case_no, i.seq) for i in result.items("units", "U-HW", "supervised")] == [(no("C4"), 1), (no("C5"), 1)]
    assert [i.case_no for i in result.items("regions", G11, "overdue_open")] == [no("C5")]
    with pytest.raises(InvalidInput) as err:
        result.items("units", "U-HW", "speed")
    assert err.value.code == "unknown_measure"


def test_a_case_overdue_at_two_month_ends_counts_in_both_months(history: History) -> None:
    november = assess(period_data(history, "2026-11"), CONFIG)
    hw = by_key(november.figures()["units"], "unit_code")["U-HW"]
    # C5 still overdue on 1 Dec; C6 checked and closed on 2 Nov (on time: handled 30 Oct)
    assert {k: hw[k] for k in ("handled", "overdue_unhandled", "due", "checked_ok", "closed", "closed_on_time",
                               "should_close")} == {"handled": 0, "overdue_unhandled": 1, "due": 1,
                                                    "checked_ok": 1, "closed": 1, "closed_on_time": 1,
                                                    "should_close": 2}
    assert hw["insufficient"] is True and hw["score"] is None and hw["rank"] is None
    # the check of C6 came exactly 2 working hours after the feedback (Fri 16:00 → Mon 09:00)
    assert by_key(november.figures()["inspectors"], "login")["inspector01"]["checks_on_time"] == 1
    december = by_key(assess(period_data(history, "2026-12"), CONFIG).figures()["units"], "unit_code")["U-HW"]
    assert (december["handled"], december["handled_on_time"], december["closed_on_time"]) == (1, 0, 0)


def test_a_running_month_is_counted_as_it_stands(history: History) -> None:
    data = replace(period_data(history, "2026-10"), as_of=local("2026-10-19 10:30"))
    result = assess(data, CONFIG)
    hw = by_key(result.figures()["units"], "unit_code")["U-HW"]
    # handled so far: C1 C3 C7; C2 has been overdue since 10:20; later events do not count yet
    assert (hw["dispatched"], hw["handled"], hw["overdue_unhandled"], hw["due"]) == (3, 3, 1, 4)
    assert result.items("units", "U-HW", "overdue_unhandled") == [Item(history.no("C2"), 1, local("2026-10-19 10:30"))]
    figures = result.figures()
    assert (figures["as_of"], figures["complete"]) == ("2026-10-19T10:30:00+08:00", False)
    whole = assess(replace(data, as_of=local("2026-12-01 00:00")), CONFIG).figures()
    assert (whole["as_of"], whole["complete"]) == ("2026-11-01T00:00:00+08:00", True)


def test_a_quarter_is_assessed_over_its_three_months(history: History) -> None:
    q4 = by_key(assess(period_data(history, "2026Q4"), CONFIG).figures()["units"], "unit_code")["U-HW"]
    # October's 7 handled and C5 on 2 Dec; nothing is overdue on 1 Jan
    assert (q4["handled"], q4["handled_on_time"], q4["overdue_unhandled"], q4["due"]) == (8, 6, 0, 8)
    assert (q4["reworked"], q4["checked_ok"], q4["closed"], q4["closed_on_time"]) == (1, 7, 7, 5)
    # (0.4 × 6/8 + 0.3 × 7/7 + 0.3 × (1 − 1/8)) × 100 = 86.25
    assert (q4["score"], q4["grade"]) == (86.25, "B")


def test_reward_bands_pay_by_rank(history: History) -> None:
    bands = (RewardBand(1, 1, 50000.0), RewardBand(2, 3, 20000.0), RewardBand(10, 20, -10000.0))
    units = by_key(assess(period_data(history, "2026-10", ZF_ENTRIES, bands), CONFIG).figures()["units"], "unit_code")
    assert units["U-HW"]["reward"] == units["U-ZF"]["reward"] == 50000.0  # both first
    assert units["U-JD1"]["reward"] is None  # 样本不足: no rank
    assert band_amount(4, bands) is None and band_amount(12, bands) == -10000.0


def test_a_smaller_minimum_ranks_the_small_unit(history: History) -> None:
    result = assess(period_data(history, "2026-10"), replace(CONFIG, minimum_due=1))
    units = by_key(result.figures()["units"], "unit_code")
    # U-JD1: (0.4 × 1 + 0.3 × 1 + 0.3 × 1) × 100 = 100; U-ZF 92 without its entries; U-HW 80
    assert [(c, units[c]["score"], units[c]["rank"]) for c in ("U-JD1", "U-ZF", "U-HW")] == [
        ("U-JD1", 100.0, 1), ("U-ZF", 92.0, 2), ("U-HW", 80.0, 3)]
    assert [units[c]["grade"] for c in ("U-JD1", "U-ZF", "U-HW")] == ["A", "A", "B"]


def test_a_city_formula_from_the_configuration_changes_the_score(history: History) -> None:
    config = parse_config('[[score.terms]]\nrate = "on_time_close_rate"\nweight = 1\n')
    units = by_key(assess(period_data(history, "2026-10"), config).figures()["units"], "unit_code")
    assert units["U-HW"]["score"] == pytest.approx(66.67)  # 4/6 × 100, published to 2 decimals
    assert units["U-HW"]["grade"] == "C"


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "label", "start", "end"), [
    ("2026-10", "2026-10", "2026-10-01 00:00", "2026-11-01 00:00"),
    ("2026-12", "2026-12", "2026-12-01 00:00", "2027-01-01 00:00"),
    ("2026Q4", "2026Q4", "2026-10-01 00:00", "2027-01-01 00:00"),
    ("2026q1", "2026Q1", "2026-01-01 00:00", "2026-04-01 00:00"),
    ("2026", "2026", "2026-01-01 00:00", "2027-01-01 00:00"),
])
def test_periods_are_half_open_in_shanghai_time(text: str, label: str, start: str, end: str) -> None:
    period = Period.parse(text)
    assert (period.label, period.start, period.end) == (label, local(start), local(end))
    assert period.start.utcoffset() is not None and period.start.isoformat().endswith("+08:00")
    assert period.contains(local(start)) and not period.contains(local(end))


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026Q5", "26-10", "2026/10", "", "十月", "0000",
                                  "9999", "9999-12", "1900Q1"])
def test_a_malformed_period_is_refused_in_chinese(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Period.parse(text)
    assert err.value.code == "invalid_period" and "考核周期" in err.value.message


def test_periods_step_and_list_their_months() -> None:
    assert Period.parse("2026-12").shift(1).label == "2027-01"
    assert Period.parse("2026-01").shift(-1).label == "2025-12"
    assert Period.parse("2026Q4").shift(1).label == "2027Q1"
    assert Period.parse("2026Q4").months() == ["2026-10", "2026-11", "2026-12"]
    assert len(Period.parse("2026").months()) == 12
    assert month_label(local("2026-10-31 23:59")) == "2026-10"  # 15:59 UTC: still October here


# --- formulas -----------------------------------------------------------------------------------


def test_rates_are_null_when_their_denominator_is_zero() -> None:
    counts = dict.fromkeys(("handled_on_time", "due", "reworked", "checked_ok", "closed", "closed_on_time",
                            "should_close", "satisfied", "rated"), 0)
    assert set(unit_rates(counts).values()) == {None}


def test_the_score_is_the_weighted_mean_of_the_terms_that_are_not_null() -> None:
    rates = {"on_time_rate": Fraction(1, 2), "close_rate": Fraction(1), "rework_rate": None}
    # (0.4 × 0.5 + 0.3 × 1) / 0.7 × 100 = 71.428571…
    assert score(rates, CONFIG) == Fraction(500, 7)
    assert score(rates, CONFIG, deductions=Fraction(3), bonus=Fraction(1, 2)) == Fraction(500, 7) - Fraction(5, 2)
    assert score({"on_time_rate": None}, CONFIG) is None


def test_the_published_score_rounds_half_up_and_grades_go_by_it() -> None:
    assert published_score(Fraction(899995, 10000)) == Decimal("90.00")  # 89.9995
    assert grade(published_score(Fraction(899995, 10000)), CONFIG) == "A"
    assert published_score(Fraction(8412, 100) + Fraction(5, 1000)) == Decimal("84.13")  # 84.125
    assert [grade(Decimal(v), CONFIG) for v in ("90", "89.99", "75", "60", "40", "39.99", "-5")] == [
        "A", "B", "B", "C", "D", "E", "E"]


def test_ties_share_a_rank_and_the_next_rank_is_skipped() -> None:
    scores = {"a": Decimal("95.50"), "b": Decimal("88.00"), "c": Decimal("88.00"), "d": Decimal("70.25")}
    assert competition_ranks(scores) == {"a": 1, "b": 2, "c": 2, "d": 4}


def test_the_shipped_configuration_is_the_default() -> None:
    assert parse_config(shipped_config_text()) == AssessmentConfig()
    assert AssessmentConfig().terms[2] == Term("rework_rate", Fraction(3, 10), invert=True)


@pytest.mark.parametrize(("text", "fragment"), [
    ('[[score.terms]]\nrate = "speed"\nweight = 1\n', "rate"),
    ('[[score.terms]]\nrate = "close_rate"\nweight = 0\n', "weight"),
    ('grades = [["A", 60], ["B", 75]]\n', "从高到低"),
    ("minimum_due = -1\n", "minimum_due"),
    ('[center]\nfiling_limit = "soon"\n', "soon"),
    ("minimum_due = \n", "TOML"),
])
def test_a_bad_configuration_is_refused_in_chinese(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_config(text)
    assert fragment in str(err.value)


# --- score sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldFigures:
    """The figures of a stand-in for the field evaluation source (issue 16): points walked."""

    points: int

    def as_json(self) -> dict[str, Any]:
        return {"points": self.points}


@dataclass(frozen=True)
class FieldSource:
    """Scores a unit with what the service loaded for it (``PeriodData.loaded``), no data otherwise."""

    def result(self, unit: UnitFacts) -> SourceResult:
        found = unit.loaded.get("evaluation")
        return SourceResult(found, FieldFigures(3 if found is not None else 0))


def parse_field_source(table: Mapping[str, Any], file: Mapping[str, Any]) -> FieldSource:
    return FieldSource()


@pytest.fixture
def field_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ``evaluation`` source registered for one test."""
    monkeypatch.setitem(SOURCES, "evaluation", parse_field_source)


def scored(name: str, weight: str, value: int | None) -> Scored:
    return Scored(name, Fraction(weight), SourceResult(Fraction(value) if value is not None else None,
                                                       FieldFigures(0)))


def test_the_composite_is_the_weighted_mean_of_the_sources_with_data() -> None:
    """Issue 16's example: cases 90 (w 0.5), evaluation 80 (w 0.3), no survey data (w 0.2)."""
    sources = [scored("cases", "0.5", 90), scored("evaluation", "0.3", 80), scored("survey", "0.2", None)]
    assert composite(sources) == Fraction("86.25")  # (0.5·90 + 0.3·80) ÷ 0.8
    assert composite(sources, deductions=Fraction(2)) == Fraction("84.25")  # deductions stay outside the mean
    assert composite(sources, Fraction(2), bonus=Fraction(1, 2)) == Fraction("84.75")
    assert composite([scored("survey", "0.2", None)]) is None  # no source has data: not scored


def test_a_source_weighted_by_kind_counts_only_for_the_kinds_it_names() -> None:
    config = parse_config('[[sources]]\nname = "cases"\nweight = { street = 0.5, department = 0.6 }\n')
    assert config.sources is not None
    cases = config.sources[0]
    assert cases.weight_for(AssessedKind.STREET) == Fraction(1, 2)
    assert cases.weight_for(AssessedKind.ZONE) == Fraction(1, 2)  # a zone takes the street weight
    assert cases.weight_for(AssessedKind.DEPARTMENT) == Fraction(3, 5)
    assert cases.weight_for(AssessedKind.COMPANY) is None and cases.weight_for(None) is None
    zoned = parse_config('[[sources]]\nname = "cases"\nweight = { street = 0.5, zone = 2 }\n').sources
    assert zoned is not None and zoned[0].weight_for(AssessedKind.ZONE) == 2
    one = parse_config('[[sources]]\nname = "cases"\nweight = 0.7\n').sources
    assert one is not None and one[0].weight_for(AssessedKind.COMPANY) == one[0].weight_for(None) == Fraction(7, 10)


def test_units_are_weighted_as_streets_zones_departments_and_the_like() -> None:
    assert assessed_kind("street_office") is AssessedKind.STREET
    assert assessed_kind("street_office", "zone") is AssessedKind.ZONE
    assert assessed_kind("department") is AssessedKind.DEPARTMENT
    assert assessed_kind("contractor") is AssessedKind.CONTRACTOR
    assert assessed_kind("center") is None and assessed_kind("unheard-of") is None
    assert AssessedKind.ZONE.label == "开发区"


def test_the_cases_source_takes_its_terms_and_minimum_from_its_table_or_the_file() -> None:
    own = parse_config('[[sources]]\nname = "cases"\nweight = 1\nminimum_due = 2\n'
                       '[[sources.terms]]\nrate = "close_rate"\nweight = 1\n').sources
    assert own is not None and own[0].source == CasesSource((Term("close_rate", Fraction(1)),), 2)
    inherited = parse_config('minimum_due = 3\n[[score.terms]]\nrate = "on_time_rate"\nweight = 1\n'
                             '[[sources]]\nname = "cases"\nweight = 1\n').sources
    assert inherited is not None and inherited[0].source == CasesSource((Term("on_time_rate", Fraction(1)),), 3)


def test_one_cases_source_of_weight_one_scores_as_a_file_without_sources(history: History) -> None:
    data = period_data(history, "2026-10", ZF_ENTRIES)
    plain = assess(data, CONFIG).figures()["units"]
    explicit = assess(data, parse_config('[[sources]]\nname = "cases"\nweight = 1\n')).figures()["units"]
    assert all("sources" not in row for row in plain)
    assert [{k: v for k, v in row.items() if k != "sources"} for row in explicit] == plain
    hw = by_key(explicit, "unit_code")["U-HW"]["sources"]
    assert hw == [{"name": "cases", "score": 80.0, "weight": 1.0, "figures": {
        "due": 8, "minimum_due": 5, "insufficient": False, "on_time_rate": 0.75, "close_rate": 5 / 6,
        "rework_rate": 1 / 6}}]
    jd1 = by_key(explicit, "unit_code")["U-JD1"]
    assert jd1["sources"][0]["score"] is None and jd1["sources"][0]["figures"]["insufficient"]
    assert (jd1["score"], jd1["rank"], jd1["insufficient"]) == (None, None, True)


TWO_SOURCES = """
[[sources]]
name = "cases"
weight = { street = 0.5, department = 1 }

[[sources]]
name = "evaluation"
weight = { street = 0.5 }
"""


def test_a_second_source_reweights_streets_and_ranks_a_unit_with_too_few_cases(
        history: History, field_source: None) -> None:
    """U-JD1 (a street office) had one case due, fewer than the minimum of 5: no case score, but a
    field score of 90 ranks it; the departments are not field-evaluated and keep their case score."""
    data = replace(period_data(history, "2026-10", ZF_ENTRIES),
                   unit_kinds={"U-HW": AssessedKind.DEPARTMENT, "U-ZF": AssessedKind.DEPARTMENT,
                               "U-JD1": AssessedKind.STREET},
                   loaded={"evaluation": {"U-JD1": Fraction(90), "U-HW": Fraction(10)}})
    units = by_key(assess(data, parse_config(TWO_SOURCES)).figures()["units"], "unit_code")
    assert [(c, units[c]["score"], units[c]["rank"]) for c in ("U-JD1", "U-HW", "U-ZF")] == [
        ("U-JD1", 90.0, 1), ("U-HW", 80.0, 2), ("U-ZF", 80.0, 2)]  # U-ZF: 92 − 12.5 + 0.5
    assert units["U-JD1"]["insufficient"] is False
    assert [(s["name"], s["score"], s["weight"]) for s in units["U-JD1"]["sources"]] == [
        ("cases", None, 0.5), ("evaluation", 90.0, 0.5)]
    assert units["U-JD1"]["sources"][1]["figures"] == {"points": 3}
    assert [s["name"] for s in units["U-HW"]["sources"]] == ["cases"]  # its field score does not count
    # with a minimum of 1 its one case counts: (0.5 × 100 + 0.5 × 80) ÷ 1
    small = replace(data, loaded={"evaluation": {"U-JD1": Fraction(80)}})
    result = assess(small, parse_config("minimum_due = 1\n" + TWO_SOURCES))
    jd1 = by_key(result.figures()["units"], "unit_code")["U-JD1"]
    assert [s["score"] for s in jd1["sources"]] == [100.0, 80.0] and jd1["score"] == 90.0


@pytest.mark.parametrize(("text", "fragment"), [
    ('[[sources]]\nname = "weather"\nweight = 1\n', "未知的评分来源“weather”"),
    ('[[sources]]\nweight = 1\n', "name"),
    ('[[sources]]\nname = "cases"\n', "缺少 weight"),
    ('[[sources]]\nname = "cases"\nweight = 0\n', "大于 0"),
    ('[[sources]]\nname = "cases"\nweight = "half"\n', "须为数字"),
    ('[[sources]]\nname = "cases"\nweight = { park = 1 }\n', "park"),
    ('[[sources]]\nname = "cases"\nweight = {}\n', "空表"),
    ('[[sources]]\nname = "cases"\nweight = { street = 0 }\n', "大于 0"),
    ('[[sources]]\nname = "cases"\nweight = 1\n[[sources]]\nname = "cases"\nweight = 1\n', "重复"),
    ('[[sources]]\nname = "cases"\nweight = 1\nminimum = 3\n', "minimum"),
    ('[[sources]]\nname = "cases"\nweight = 1\nminimum_due = -2\n', "minimum_due"),
    ('sources = "cases"\n', "[[sources]]"),
])
def test_a_bad_source_is_refused_in_chinese(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_config(text)
    assert fragment in str(err.value) and err.value.code == "invalid_assessment_config"


def test_the_example_in_the_shipped_file_is_a_valid_configuration(field_source: None) -> None:
    lines = shipped_config_text().splitlines()
    start = lines.index("# 示例（去掉行首的 # 启用）：") + 1
    example = [line.removeprefix("#").strip() for line in lines[start:] if line.startswith("#")]
    text = "\n".join(example[:next(i for i, line in enumerate(example) if "JSON" in line)])
    config = parse_config(text)
    assert config.sources is not None and [s.name for s in config.sources] == ["cases", "evaluation", "survey"]
    cases = config.sources[0]
    assert cases.source == CasesSource((Term("on_time_rate", Fraction(3, 5)), Term("close_rate", Fraction(2, 5))), 5)
    assert cases.weight_for(AssessedKind.COMPANY) == 1 and config.sources[1].weight_for(AssessedKind.COMPANY) is None


def test_a_source_scores_from_0_to_100() -> None:
    assert SourceResult(Fraction(0), FieldFigures(0)).score == 0
    with pytest.raises(ValueError, match="outside"):
        SourceResult(Fraction(201, 2), FieldFigures(0))


def test_every_measure_belongs_to_a_subject_and_is_its_json_key(history: History) -> None:
    assert set(Measure) == {m for measures in MEASURES.values() for m in measures}
    figures = assess(period_data(history, "2026-10"), CONFIG).figures()
    for subject, measures in MEASURES.items():
        for row in figures[subject.value]:
            assert {type(k) for k in row} == {str}  # plain strings, not enum members
            assert set(measures) <= set(row)
