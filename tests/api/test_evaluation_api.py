"""Field evaluation over HTTP: an evaluator records deductions (a retry with the same
idempotency key records once), an inspector may record only once given evaluator as a second
role, the round's sample stays hidden until it closes, closing raises cases for the responsible
units, and a unit sees its own results (and their photos) only once the round is published."""

from __future__ import annotations

from fractions import Fraction
from io import BytesIO

import pytest
from PIL import Image
from shapely.geometry import Point

from tests.api.conftest import Api
from tests.e2e.test_pages_http import sign_in
from tests.factories import center
from xiuhua.domain.choices import DeductionRule, Role
from xiuhua.domain.evaluation import EvaluationSettings, Item, Standard
from xiuhua.services import accounts, evaluation
from xiuhua.services.city import load_city
from xiuhua.store import evaluation as store
from xiuhua.store.db import transaction


def jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def round_ids(api: Api) -> dict[str, int]:
    now = api.clock()
    with transaction(api.engine) as session:
        accounts.add_user(session, "eval01", Role.EVALUATOR, now)
        api.tokens["eval01"] = accounts.issue_token(session, "eval01", now)
        items = (Item(("干净",), "路面有垃圾", Fraction(10), DeductionRule.PER_OCCURRENCE, Fraction(2),
                      frozenset(), "06010"),
                 Item(("整洁",), "乱堆物料", Fraction(10), DeductionRule.PER_OCCURRENCE, Fraction(1),
                      frozenset(), "06036"))
        standard_id = store.save_standard(session, Standard("标准", 2026, items), now, None)
        lon, lat = center(0, 2)
        evaluation.save_point(session, load_city(session), evaluation.PointInput(
            "P1", "测试路", "主次干道", Point(lon, lat)), EvaluationSettings())
        round_id = evaluation.plan_round(session, standard_id, "2026-10", 1, 1, (), now, None)
        standard = evaluation.get_standard(session, standard_id)
        return {"round": round_id, "point": evaluation.list_points(session)[0].id,
                "litter": standard.items[0].id or 0, "heap": standard.items[1].id or 0}


def _deduct(api: Api, login: str, ids: dict[str, int], item: str, key: str | None = None,
            photos: list[dict[str, object]] | None = None) -> object:
    headers = {**api.auth(login), **({"Idempotency-Key": key} if key else {})}
    return api.client.post(f"/api/v1/rounds/{ids['round']}/points/{ids['point']}/deductions",
                           headers=headers, json={"item_id": ids[item], "count": 2, "note": "东侧",
                                                  "photos": photos or []})


def test_a_retry_with_the_same_key_records_once(api: Api, round_ids: dict[str, int]) -> None:
    first = _deduct(api, "eval01", round_ids, "litter", key="offline-1")
    again = _deduct(api, "eval01", round_ids, "litter", key="offline-1")
    assert first.status_code == 201 and again.status_code == 201  # type: ignore[attr-defined]
    assert again.headers["Idempotent-Replayed"] == "true"  # type: ignore[attr-defined]
    assert first.json() == again.json()  # type: ignore[attr-defined]
    work = api.client.get(f"/api/v1/rounds/{round_ids['round']}/work", headers=api.auth("eval01")).json()
    assert [d["count"] for p in work["points"] for d in p["deductions"]] == [2]
    assert work["points"][0]["score"] == 80  # 20 points, 4 lost


def test_an_inspector_records_only_with_evaluator_as_second_role(api: Api, round_ids: dict[str, int]) -> None:
    assert _deduct(api, "inspector01", round_ids, "litter").status_code == 403  # type: ignore[attr-defined]
    with transaction(api.engine) as session:
        accounts.set_second_role(session, "inspector01", Role.EVALUATOR, api.clock())
    assert _deduct(api, "inspector01", round_ids, "litter").status_code == 201  # type: ignore[attr-defined]
    # the second role adds evaluation rounds only: the inspector's case scope is unchanged
    cases = api.client.get("/api/v1/dashboard", headers=api.auth("inspector01"))
    assert cases.status_code == 403
    with transaction(api.engine) as session, pytest.raises(Exception, match="不能兼任"):
        accounts.set_second_role(session, "leader01", Role.ADMIN, api.clock())


def test_closing_raises_cases_and_units_see_their_results_once_published(
        api: Api, round_ids: dict[str, int]) -> None:
    photo = api.client.post("/api/v1/photos", headers=api.auth("eval01"),
                            files={"file": ("a.jpg", jpeg(), "image/jpeg")}).json()["photo_id"]
    lon, lat = center(0, 2)
    far = _deduct(api, "eval01", round_ids, "litter",
                  photos=[{"photo_id": photo, "lon": lon + 0.004, "lat": lat}])  # ≈ 360 m away
    assert far.status_code == 201  # type: ignore[attr-defined]
    assert _deduct(api, "eval01", round_ids, "heap").status_code == 201  # type: ignore[attr-defined]
    results = f"/api/v1/rounds/{round_ids['round']}/results"
    assert api.client.get(results, headers=api.auth("leader01")).status_code == 404
    assert api.client.get(f"/api/v1/photos/{photo}", headers=api.auth("handler_hw")).status_code == 404
    closed = api.client.post(f"/api/v1/rounds/{round_ids['round']}/close", headers=api.auth("eval01"))
    assert closed.status_code == 200, closed.text
    case_nos = closed.json()["cases"]
    units = {api.client.get(f"/api/v1/cases/{n}", headers=api.auth("admin01")).json()["category_code"]:
             api.client.get(f"/api/v1/cases/{n}", headers=api.auth("admin01")).json()
             for n in case_nos}
    assert set(units) == {"06010", "06036"}
    assert units["06010"]["source"] == "evaluation"
    led = api.client.get(results, headers=api.auth("leader01")).json()
    deductions = led["points"][0]["deductions"]
    assert [d["far"] for d in deductions] == [True, False]
    assert led["by_street"] == [{"code": "370181001", "score": 70.0}]  # 20 points, 4 + 2 lost
    assert api.client.get(results, headers=api.auth("handler_hw")).status_code == 404  # not yet published
    published = api.client.post(f"/api/v1/rounds/{round_ids['round']}/publish", headers=api.auth("eval01"))
    assert published.json()["booked_period"] == "2026-10"
    with transaction(api.engine) as session:
        accounts.add_user(session, "handler_jd", Role.HANDLER, api.clock(), unit_code="U-JD1")
        api.tokens["handler_jd"] = accounts.issue_token(session, "handler_jd", api.clock())
    own = api.client.get(results, headers=api.auth("handler_jd")).json()
    assert [p["score"] for p in own["points"]] == [70.0]  # the street office's own point
    assert api.client.get(f"/api/v1/photos/{photo}", headers=api.auth("handler_jd")).status_code == 200
    assert api.client.get(results, headers=api.auth("handler_hw")).json()["points"] == []
    assert api.client.get(f"/api/v1/photos/{photo}", headers=api.auth("handler_zf")).status_code == 404


def test_the_second_role_opens_the_evaluation_pages_in_the_browser_session(
        api: Api, round_ids: dict[str, int]) -> None:
    sign_in(api.client, "inspector01")
    walk = f"/evaluation/rounds/{round_ids['round']}/walk"
    assert api.client.get("/evaluation").status_code == 403
    assert 'href="/evaluation"' not in api.client.get("/").text
    with transaction(api.engine) as session:
        accounts.set_second_role(session, "inspector01", Role.EVALUATOR, api.clock())
    assert api.client.get(walk).status_code == 200
    assert 'href="/evaluation"' in api.client.get("/").text
    assert 'href="/report"' in api.client.get("/").text  # still an inspector
    with transaction(api.engine) as session:
        accounts.set_second_role(session, "inspector01", None, api.clock())
    assert api.client.get(walk).status_code == 403
