"""The assessment over HTTP: the period's figures for every signed-in user, the cases behind
every figure, manual entries, reward bands and publishing, each with its permissions."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.api.conftest import USERS, Api
from tests.api.test_cases_api import jpeg, upload
from tests.factories import CITY, COMM_A, grid_code
from tests.unit.test_assessment import OCTOBER_UNITS, History, assert_rows, build_history, by_key
from xiuhua.domain.assessment import MEASURES
from xiuhua.domain.errors import InvalidInput
from xiuhua.services import assessment as service
from xiuhua.store.cases import insert_cases
from xiuhua.store.db import transaction
from xiuhua.store.tables import audit_log

API = "/api/v1/assessment"


@pytest.fixture
def history(api: Api) -> History:
    h = build_history()
    with transaction(api.engine) as session:
        insert_cases(session, list(h.cases.values()))
    api.clock.set("2026-11-03 09:00")
    return h


def get(api: Api, path: str, login: str, status: int = 200, **params: Any) -> Any:
    r = api.client.get(f"{API}{path}", params=params, headers=api.auth(login))
    assert r.status_code == status, r.text
    return r.json()


def post(api: Api, path: str, login: str, body: Any = None, status: int = 200) -> Any:
    r = api.client.post(f"{API}{path}", json=body, headers=api.auth(login))
    assert r.status_code == status, r.text
    return r.json()


def entry(unit: str = "U-HW", points: float = 2, **extra: Any) -> dict[str, Any]:
    return {"kind": "deduction", "unit_code": unit, "date": "2026-10-20", "item": "门前三包检查不合格",
            "points": points, **extra}


def test_every_signed_in_user_reads_the_circular_figures(api: Api, history: History) -> None:
    for login in USERS:
        october = get(api, "/2026-10", login)
        assert october["period"] == "2026-10" and october["published"] is False and october["complete"]
    units = by_key(october["units"], "unit_code")
    expected = {code: {k: v for k, v in figures.items() if k not in ("deductions", "bonus", "score", "grade",
                                                                    "rank")}
                for code, figures in OCTOBER_UNITS.items()}
    assert_rows(units, expected)
    assert (units["U-HW"]["score"], units["U-ZF"]["score"]) == (80.0, 92.0)  # no spot checks entered
    assert (units["U-ZF"]["rank"], units["U-HW"]["rank"]) == (1, 2)
    assert api.client.get(f"{API}/2026-10").status_code == 401
    bad = get(api, "/2026-1", "leader01", status=422)
    assert bad["code"] == "invalid_request"


def _subjects(figures: dict[str, Any]) -> list[tuple[str, str]]:
    regions = [(r["region_code"]) for r in figures["regions"] if r["region_code"] in (CITY, COMM_A, grid_code(1, 1))]
    return ([("units", u["unit_code"]) for u in figures["units"]] + [("regions", r) for r in regions]
            + [("inspectors", i["login"]) for i in figures["inspectors"]]
            + [("staff", s["login"]) for s in figures["staff"]])


def test_every_figure_lists_exactly_as_many_cases_as_it_counts(api: Api, history: History) -> None:
    figures = get(api, "/2026-10", "shift01")
    keys = {"units": "unit_code", "regions": "region_code", "inspectors": "login", "staff": "login"}
    checked = 0
    for subject, code in _subjects(figures):
        row = by_key(figures[subject], keys[subject])[code]
        for measure in MEASURES[subject]:
            drill = get(api, f"/2026-10/{subject}/{code}/cases", "leader01", measure=measure)
            assert drill["count"] == len(drill["rows"]) == row[measure], (subject, code, measure)
            checked += row[measure]
    assert checked > 200


def test_the_overdue_figure_names_the_case_and_its_assignment(api: Api, history: History) -> None:
    drill = get(api, "/2026-10/units/U-HW/cases", "dispatcher01", measure="overdue_unhandled")
    [row] = drill["rows"]
    assert (row["case_no"], row["assignment_seq"], row["unit_code"]) == (history.no("C5"), 1, "U-HW")
    assert (row["started_at"], row["deadline_at_end"]) == ("2026-10-27T09:10:00+08:00", "2026-10-27T14:40:00+08:00")
    handled = get(api, "/2026-10/units/U-HW/cases", "admin01", measure="handled")["rows"]
    assert [(r["case_no"], r["assignment_seq"], r["on_time"]) for r in handled if r["case_no"] == history.no("C2")] == [
        (history.no("C2"), 1, False), (history.no("C2"), 2, True)]


def test_a_running_month_shows_its_figures_so_far(api: Api, history: History) -> None:
    api.clock.set("2026-10-19 10:30")
    october = get(api, "/2026-10", "leader01")
    assert (october["complete"], october["as_of"]) == (False, "2026-10-19T10:30:00+08:00")
    hw = by_key(october["units"], "unit_code")["U-HW"]
    assert (hw["handled"], hw["overdue_unhandled"]) == (3, 1)  # C2 overdue since 10:20
    [row] = get(api, "/2026-10/units/U-HW/cases", "leader01", measure="overdue_unhandled")["rows"]
    assert row["case_no"] == history.no("C2")
    assert post(api, "/2026-10/publish", "leader01", status=422)["code"] == "period_not_ended"


def test_unit_staff_open_their_own_units_figures_only(api: Api, history: History) -> None:
    for login in ("handler_hw", "leader_hw"):
        mine = get(api, "/2026-10/units/U-HW/cases", login, measure="closed")
        assert mine["count"] == 5
        other = get(api, "/2026-10/units/U-ZF/cases", login, status=403, measure="closed")
        assert other["code"] == "permission_denied"
        get(api, f"/2026-10/regions/{CITY}/cases", login, status=403, measure="filed")
    assert get(api, "/2026-10/inspectors/inspector01/cases", "inspector01", measure="checks")["count"] == 7
    get(api, "/2026-10/inspectors/inspector02/cases", "inspector01", status=403, measure="checks")
    get(api, "/2026-10/units/U-HW/cases", "inspector01", status=403, measure="closed")


def test_an_unknown_measure_or_subject_is_refused(api: Api, history: History) -> None:
    problem = get(api, "/2026-10/units/U-HW/cases", "leader01", status=422, measure="speed")
    assert problem["code"] == "unknown_measure" and "overdue_unhandled" in problem["detail"]
    get(api, "/2026-10/streets/U-HW/cases", "leader01", status=422, measure="closed")
    get(api, "/2026-10/units/U-HW/cases", "leader01", status=422)


def test_spot_check_deductions_and_bonus_are_entered_by_the_center_and_leaders(api: Api, history: History) -> None:
    photo = upload(api, jpeg(), "shift01")
    made = post(api, "/entries", "shift01", entry(points=2.5, photo_id=photo), status=201)
    assert (made["unit_code"], made["unit_name"], made["points"], made["photo_id"]) == ("U-HW", "环卫中心", 2.5, photo)
    assert (made["booked_period"], made["adjusts"], made["entered_by"]) == ("2026-10", None, "shift01")
    post(api, "/entries", "leader01", {**entry(unit="U-HW", points=1), "kind": "bonus"}, status=201)
    post(api, "/entries", "admin01", entry(unit="U-ZF", points=12.5), status=201)
    for login in ("handler_hw", "dispatcher01", "acceptor01", "inspector01"):
        assert post(api, "/entries", login, entry(), status=403)["code"] == "permission_denied"
    units = by_key(get(api, "/2026-10", "leader_hw")["units"], "unit_code")
    # U-HW 80 − 2.5 + 1 = 78.5; U-ZF 92 − 12.5 = 79.5
    assert [(c, units[c]["score"], units[c]["rank"]) for c in ("U-ZF", "U-HW")] == [("U-ZF", 79.5, 1),
                                                                                    ("U-HW", 78.5, 2)]
    with transaction(api.engine) as session:
        audited = session.execute(select(audit_log.c.actor, audit_log.c.subject, audit_log.c.client)
                                  .where(audit_log.c.kind == "assessment_entry").order_by(audit_log.c.id)).all()
    assert [(a.actor, a.subject) for a in audited] == [("shift01", "U-HW"), ("leader01", "U-HW"),
                                                       ("admin01", "U-ZF")]
    assert all(a.client for a in audited)


def test_a_bad_entry_is_refused_with_its_reason(api: Api, history: History) -> None:
    assert post(api, "/entries", "shift01", entry(points=0), status=422)["code"] == "invalid_request"
    assert post(api, "/entries", "shift01", entry(points=1.234), status=422)["code"] == "invalid_points"
    assert post(api, "/entries", "shift01", entry(unit="U-XX"), status=422)["code"] == "unknown_unit"
    assert post(api, "/entries", "shift01", {**entry(), "date": "2026-11-04"}, status=422)["code"] == "future_date"
    assert post(api, "/entries", "shift01", entry(photo_id="0" * 64), status=404)["code"] == "photo_not_found"


def test_leaders_publish_a_month_and_later_entries_become_adjustments(api: Api, history: History) -> None:
    for login in ("shift01", "dispatcher01", "handler_hw"):
        assert post(api, "/2026-10/publish", login, status=403)["code"] == "permission_denied"
    assert post(api, "/2026-11/publish", "leader01", status=422)["code"] == "period_not_ended"
    published = post(api, "/2026-10/publish", "leader01")
    assert published["published"] is True and published["published_by"] == "leader01"
    assert post(api, "/2026-10/publish", "admin01", status=422)["code"] == "already_published"
    late = post(api, "/entries", "shift01", entry(points=3), status=201)
    assert (late["booked_period"], late["adjusts"]) == ("2026-11", "2026-10")
    assert get(api, "/2026-10", "leader01") == published
    assert get(api, "/2026-10", "handler_zf") == {**published, "inspectors": [], "staff": []}  # no people's rows
    api.clock.set("2026-12-01 08:00")
    november = get(api, "/2026-11", "leader01")
    assert [a["id"] for a in november["adjustments"]] == [late["id"]]
    assert by_key(november["units"], "unit_code")["U-HW"]["deductions"] == 3.0
    drill = get(api, "/2026-10/units/U-HW/cases", "leader01", measure="handled")
    assert drill["count"] == drill["published_count"] == 7


def test_leaders_set_the_reward_bands_of_the_year(api: Api, history: History) -> None:
    bands = [{"rank_from": 1, "rank_to": 1, "amount": 50000, "note": "一等"},
             {"rank_from": 2, "rank_to": 5, "amount": 20000}]
    r = api.client.put(f"{API}/2026/reward-bands", json=bands, headers=api.auth("admin01"))
    assert r.status_code == 200 and r.json() == {"period": "2026", "bands": 2}
    units = by_key(get(api, "/2026", "leader01")["units"], "unit_code")
    assert (units["U-ZF"]["reward"], units["U-HW"]["reward"], units["U-JD1"]["reward"]) == (50000.0, 20000.0, None)
    overlapping = [{"rank_from": 1, "rank_to": 3, "amount": 1}, {"rank_from": 3, "rank_to": 4, "amount": 1}]
    r = api.client.put(f"{API}/2026/reward-bands", json=overlapping, headers=api.auth("leader01"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_reward_bands" and len(r.json()["problems"]) == 1
    r = api.client.put(f"{API}/2026/reward-bands", json=bands, headers=api.auth("shift01"))
    assert r.status_code == 403


def test_reward_bands_out_of_bounds_are_refused_not_stored(api: Api, history: History) -> None:
    good = {"rank_from": 1, "rank_to": 1, "amount": 1000}
    wrong: list[tuple[str, list[Any] | str]] = [
        ("huge rank", [{**good, "rank_to": 10**30}]),
        ("huge first rank", [{**good, "rank_from": 10**30, "rank_to": 10**30}]),
        ("infinite amount", '[{"rank_from": 1, "rank_to": 1, "amount": Infinity}]'),
        ("minus infinity", '[{"rank_from": 1, "rank_to": 1, "amount": -Infinity}]'),
        ("not a number", '[{"rank_from": 1, "rank_to": 1, "amount": NaN}]'),
        ("huge amount", [{**good, "amount": 1e300}]),
    ]
    for what, body in wrong:
        content = body if isinstance(body, str) else json.dumps(body)
        r = api.client.put(f"{API}/2026/reward-bands", content=content,
                           headers={**api.auth("admin01"), "Content-Type": "application/json"})
        assert r.status_code == 422, (what, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    units = get(api, "/2026", "leader01")["units"]  # nothing was stored: the figures still render
    assert all(u["reward"] is None for u in units)


def test_reward_bands_from_a_file_are_bounded_too(api: Api, history: History, tmp_path: Path) -> None:
    path = tmp_path / "bands.csv"
    for row in ("2026,1,1,inf", "2026,1,1,nan", f"2026,1,{10**30},100", "2026,1,1,1e300"):
        path.write_text(f"period,rank_from,rank_to,amount\n{row}\n", encoding="utf-8")
        with transaction(api.engine) as session, pytest.raises(InvalidInput) as refused:
            service.import_reward_bands(session, path, api.clock(), "admin01")
        assert refused.value.code == "invalid_reward_bands", row


# --- people's figures: the center, leaders and admins; an inspector their own row ----------------

ALL = None
PEOPLE_VIEWS: dict[str, tuple[list[str], list[str]] | None] = {  # login -> the people's rows they see
    "leader01": ALL, "admin01": ALL, "dispatcher01": ALL, "shift01": ALL, "acceptor01": ALL,
    "inspector01": (["inspector01"], []), "inspector02": (["inspector02"], []),  # their own row
    "handler_hw": ([], []), "leader_hw": ([], []),  # units and regions only
}


def people_names(api: Api) -> dict[str, str]:
    figures = get(api, "/2026-10", "leader01")
    return {r["login"]: r["name"] for r in figures["inspectors"] + figures["staff"] if r["name"]}


def test_peoples_figures_in_the_json_only_for_those_who_may_see_them(api: Api, history: History) -> None:
    everyone = get(api, "/2026-10", "leader01")
    assert len(everyone["inspectors"]) == 2 and len(everyone["staff"]) >= 2
    for login, view in PEOPLE_VIEWS.items():
        figures = get(api, "/2026-10", login)
        seen = ([r["login"] for r in figures["inspectors"]], [r["login"] for r in figures["staff"]])
        assert seen == (view or ([r["login"] for r in everyone["inspectors"]],
                                 [r["login"] for r in everyone["staff"]])), login
        assert figures["units"] == everyone["units"] and figures["regions"] == everyone["regions"], login


def test_peoples_figures_in_the_workbook_as_in_the_json(api: Api, history: History) -> None:
    for login in PEOPLE_VIEWS:
        r = api.client.get(f"{API}/2026-10/workbook.xlsx", headers=api.auth(login))
        assert r.status_code == 200, r.text
        book = load_workbook(BytesIO(r.content))
        figures = get(api, "/2026-10", login)
        for sheet, key in (("监督员", "inspectors"), ("指挥中心人员", "staff")):
            logins = [row[0] for row in book[sheet].iter_rows(min_row=2, values_only=True)]
            assert logins == [p["login"] for p in figures[key]], (login, sheet)
        assert book["处置单位"].max_row > 1, login
    names = people_names(api)
    r = api.client.get(f"{API}/2026-10/workbook.xlsx", headers=api.auth("handler_hw"))
    cells = {str(c) for ws in load_workbook(BytesIO(r.content)).worksheets
             for row in ws.iter_rows(values_only=True) for c in row if c is not None}
    assert not cells & (set(names) | set(names.values())), "a person's login or name in a unit's workbook"


def test_the_circular_names_no_person_for_unit_staff(api: Api, history: History) -> None:
    names = people_names(api)
    for login in ("handler_hw", "inspector01"):
        r = api.client.get(f"{API}/2026-10/circular.docx", headers=api.auth(login))
        assert r.status_code == 200, r.text
        text = zipfile.ZipFile(BytesIO(r.content)).read("word/document.xml").decode()
        assert not [n for n in {*names, *names.values()} - {login} if n in text], login
