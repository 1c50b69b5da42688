"""Photo ids are not capabilities (issue 11, finding 1): linking a photo to a case or an
assessment entry needs seeing it (uploaded it, or may see something it is linked to); the public
knows a photo only by its public id, which opens its metadata-free public copy and nothing else;
and the files of refused uploads do not stay on disk (finding 8)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.api.conftest import Api
from tests.api.test_cases_api import dispatched, post_action, report
from tests.api.test_photos import camera_exif, fetch, image_bytes, settings_dir, uploaded
from tests.factories import center
from xiuhua.store.db import transaction
from xiuhua.store.tables import case_photos, photo_uploads, photos

PUBLIC = "/api/v1/public"
ENTRIES = "/api/v1/assessment/entries"


def citizen_report(api: Api, data: bytes, **fields: Any) -> Any:
    lon, lat = center(1, 1)
    form = {"category_code": "06010", "lon": str(lon), "lat": str(lat), **fields}
    return api.client.post(f"{PUBLIC}/reports", data=form,
                           files=[("photos", ("scene.jpg", data, "image/jpeg"))])


def photo_files(api: Api) -> list[Path]:
    root = settings_dir(api) / "photos"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_photo_seen_in_public_tracking_cannot_be_attached_by_another_unit(api: Api) -> None:
    """The probe's attack: a citizen's photo (with GPS) shown by the tracking answer, attached
    by a handler of another unit to feedback on their own case, then fetched as the original."""
    data = image_bytes(exif=camera_exif())  # carries the citizen's GPS position
    content_id = hashlib.sha256(data).hexdigest()
    made = citizen_report(api, data)
    assert made.status_code == 201, made.text
    tracking = api.client.get(f"{PUBLIC}/cases/{made.json()['tracking_code']}")
    assert tracking.status_code == 200
    assert content_id not in tracking.text  # the public sees a public id, never the hash
    (url,) = tracking.json()["photos"]
    exposed = url.rsplit("/", 1)[-1]
    assert api.client.get(url).status_code == 200  # the public copy, for anyone

    own = dispatched(api, "U-ZF", (0, 0))  # a case of handler_zf's unit
    for leaked in (exposed, content_id):  # the public id, and the hash were it known
        refused = post_action(api, "handler_zf", own, "feedback", note="已处理", photos=[leaked])
        assert refused.status_code == 422, leaked
        assert refused.json()["code"] in ("unknown_photo", "invalid_request"), leaked
        assert fetch(api, leaked, "", "handler_zf").status_code == 404
    with transaction(api.engine) as session:
        linked = session.execute(select(case_photos.c.case_no)
                                 .where(case_photos.c.photo_id == content_id)).scalars().all()
    assert linked == [made.json()["case_no"]]
    for variant in ("", "thumb", "public"):
        assert fetch(api, content_id, variant, "handler_zf").status_code == 404


def test_staff_link_only_photos_they_uploaded_or_see_through_a_case(api: Api) -> None:
    others = uploaded(api, image_bytes(colour=(10, 20, 30)), login="inspector02")  # unlinked
    refused = api.client.post("/api/v1/cases", headers=api.auth("inspector01"), json={
        "category_code": "06010", "lon": center(1, 1)[0], "lat": center(1, 1)[1],
        "photos": [others]})
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_photo"
    mine = uploaded(api, image_bytes(colour=(40, 50, 60)), login="inspector01")
    case_no = dispatched(api, "U-HW", (1, 1), photos=[mine])
    # handler_hw sees the case, so may show its report photo again with the feedback
    again = post_action(api, "handler_hw", case_no, "feedback", note="已清理", photos=[mine])
    assert again.status_code == 200, again.text
    # the uploader keeps seeing their own photo; others of other units do not
    assert fetch(api, others, "", "inspector02").status_code == 200
    assert fetch(api, mine, "", "handler_zf").status_code == 404


def test_every_uploader_of_identical_bytes_is_recorded_and_may_use_it(api: Api) -> None:
    data = image_bytes(colour=(90, 90, 90))
    first = uploaded(api, data, login="inspector02")
    assert fetch(api, first, "", "handler_hw").status_code == 404
    assert uploaded(api, data, login="handler_hw") == first
    assert fetch(api, first, "", "handler_hw").status_code == 200
    with transaction(api.engine) as session:
        who = session.execute(select(photo_uploads.c.uploaded_by)
                              .where(photo_uploads.c.photo_id == first)).scalars().all()
    assert sorted(w or "" for w in who) == ["handler_hw", "inspector02"]


def test_assessment_evidence_must_be_a_photo_the_center_may_see(api: Api) -> None:
    entry = {"kind": "deduction", "unit_code": "U-HW", "date": "2026-10-15", "item": "抽查不合格",
             "points": 1}
    foreign = uploaded(api, image_bytes(colour=(1, 2, 3)), login="handler_zf")  # unlinked
    refused = api.client.post(ENTRIES, json={**entry, "photo_id": foreign},
                              headers=api.auth("shift01"))
    assert refused.status_code == 404 and refused.json()["code"] == "photo_not_found"
    # a photo of a case the shift leader sees is fine, as is one they uploaded
    mine = uploaded(api, image_bytes(colour=(4, 5, 6)), login="inspector01")
    report(api, photos=[mine])
    for photo in (mine, uploaded(api, image_bytes(colour=(7, 8, 9)), login="shift01")):
        made = api.client.post(ENTRIES, json={**entry, "photo_id": photo},
                               headers=api.auth("shift01"))
        assert made.status_code == 201, made.text
    evidence = made.json()["photo_id"]
    # the evidence is seen by the unit it concerns, not by other units
    assert fetch(api, evidence, "", "handler_hw").status_code == 200
    assert fetch(api, evidence, "", "handler_zf").status_code == 404


def test_anonymous_reports_cannot_name_photos_by_id(api: Api) -> None:
    staff_photo = uploaded(api, image_bytes(colour=(11, 12, 13)))  # unlinked, inspector01's
    lon, lat = center(1, 1)
    refused = api.client.post(f"{PUBLIC}/reports", data={
        "category_code": "06010", "lon": str(lon), "lat": str(lat), "photo_ids": staff_photo})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_photo"


def test_a_refused_report_leaves_no_photo_files(api: Api) -> None:
    before = photo_files(api)
    good = image_bytes(exif=camera_exif(), colour=(100, 0, 0))
    lon, lat = center(1, 1)
    refused = api.client.post(f"{PUBLIC}/reports", data={
        "category_code": "06010", "lon": str(lon), "lat": str(lat)},
        files=[("photos", ("a.jpg", good, "image/jpeg")),
               ("photos", ("b.jpg", b"not an image at all", "image/jpeg"))])
    assert refused.status_code == 422
    unknown = citizen_report(api, good, category_code="99999")
    assert unknown.status_code == 422
    assert photo_files(api) == before
    with transaction(api.engine) as session:
        assert session.execute(select(photos.c.id)).all() == []
    assert citizen_report(api, good).status_code == 201  # accepted: its files stay
    assert len(photo_files(api)) == 3


def test_a_staff_report_refused_after_its_files_were_stored_leaves_none(api: Api) -> None:
    others = uploaded(api, image_bytes(colour=(0, 0, 1)), login="inspector02")
    before = photo_files(api)
    lon, lat = center(1, 1)
    refused = api.client.post(
        "/api/v1/cases", headers=api.auth("inspector01"),
        data={"category_code": "06010", "lon": str(lon), "lat": str(lat), "photos": others},
        files=[("photos", ("scene.jpg", image_bytes(exif=camera_exif(), colour=(0, 0, 2)),
                           "image/jpeg"))])
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_photo"
    assert photo_files(api) == before
