"""Key projects and legacy issues on a real database (SQLite and PostgreSQL): entering them,
progress that counts only once accepted, photos seen through what they are linked to, the
sweeper's red and overdue notices, the late projects of the circular, masked parties, and
the demo builders."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine, select

from tests.factories import build_tiny_city, local
from xiuhua.config import Settings
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import (
    LegacyCategory,
    LegacyStatus,
    LegacyTarget,
    ProjectColour,
    ProjectKind,
    ProjectPhase,
    ReviewState,
    Role,
)
from xiuhua.domain.errors import ActionRefused, InvalidInput, NotFound, PermissionDenied
from xiuhua.domain.legacy import Party, ProgressEntry, Step
from xiuhua.domain.projects import ProgressReport
from xiuhua.services import legacy, photos, projects
from xiuhua.services.demo import build_demo_city_on
from xiuhua.services.notifications import list_notices
from xiuhua.services.sweeper import sweep
from xiuhua.store import city as city_store
from xiuhua.store.db import transaction
from xiuhua.store.tables import notifications

OFFICE = Principal("office01", Role.OFFICE, "城管委办公室")
LEADER = Principal("leader01", Role.LEADER)
HW = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
ZF = Principal("handler_zf", Role.HANDLER, unit_code="U-ZF")
DISPATCHER = Principal("dispatcher01", Role.DISPATCHER)


@pytest.fixture
def city(engine: Engine) -> Engine:
    build_tiny_city(engine)
    with transaction(engine) as session:
        city_store.save_user(session, "office01", "办公室", Role.OFFICE)
        city_store.save_user(session, "handler_zf", "孙执法", Role.HANDLER, unit_code="U-ZF")
    return engine


def _road(engine: Engine, start: date = date(2026, 3, 1)) -> int:
    with transaction(engine) as session:
        return projects.create_project(session, OFFICE, projects.ProjectInput(
            "北环路环卫提升", ProjectKind.SANITATION, "U-HW", start, date(2026, 6, 30),
            12_000_000, lon=117.001, lat=36.649), local("2026-02-01 09:00"))


def _jpeg(engine: Engine, tmp_path: Path, login: str) -> str:
    buffer = BytesIO()
    Image.new("RGB", (32, 24), (200, 120, 40)).save(buffer, format="JPEG")
    with transaction(engine) as session:
        return photos.store_photo(session, Settings(data_dir=tmp_path), buffer.getvalue(),
                                  "site.jpg", login, local("2026-04-01 09:00"))


def test_only_accepted_progress_counts_and_a_unit_sees_its_own_projects(city: Engine,
                                                                        tmp_path: Path) -> None:
    project_id = _road(city)
    photo = _jpeg(city, tmp_path, "handler_hw")
    at = local("2026-05-01 00:00")
    with transaction(city) as session:
        report = projects.report_progress(session, HW, project_id, ProgressReport(
            20, ProjectPhase.CONSTRUCTION, 2_000_000, date(2026, 3, 1)), "开工", [photo],
            local("2026-04-01 10:00"))
        pending = projects.project_detail(session, HW, project_id, at)
        assert pending.view.project.progress == 0 and pending.view.project.phase is \
            ProjectPhase.PREPARATION
        assert pending.reports[0].state is ReviewState.PENDING
        assert pending.reports[0].photos == [photo]
    with transaction(city) as session:
        projects.decide_progress(session, OFFICE, project_id, report, True, "",
                                 local("2026-04-01 15:00"))
    with transaction(city) as session:
        view = projects.project_detail(session, HW, project_id, at).view
        assert (view.project.progress, view.project.actual_start) == (20, date(2026, 3, 1))
        assert view.schedule.colour is ProjectColour.YELLOW  # lag exactly 30 points
        assert [v.project.id for v in projects.list_projects(session, HW, at)] == [project_id]
        assert projects.list_projects(session, ZF, at) == []
        with pytest.raises(NotFound):
            projects.project_detail(session, ZF, project_id, at)
        with pytest.raises(PermissionDenied):
            projects.list_projects(session, DISPATCHER, at)
        # the photo is seen by those who see the project, not by another unit
        assert photos.may_see(session, OFFICE, photo)
        assert not photos.may_see(session, ZF, photo)


def test_a_report_is_decided_once_and_returned_only_with_a_reason(city: Engine) -> None:
    project_id = _road(city)
    with transaction(city) as session:
        report = projects.report_progress(session, HW, project_id, ProgressReport(10), "",
                                          [], local("2026-04-01 10:00"))
        with pytest.raises(InvalidInput):
            projects.decide_progress(session, OFFICE, project_id, report, False, " ",
                                     local("2026-04-02 10:00"))
        with pytest.raises(PermissionDenied):
            projects.decide_progress(session, HW, project_id, report, True, "",
                                     local("2026-04-02 10:00"))
        projects.decide_progress(session, OFFICE, project_id, report, False, "照片不清楚",
                                 local("2026-04-02 10:00"))
        with pytest.raises(ActionRefused):
            projects.decide_progress(session, OFFICE, project_id, report, True, "",
                                     local("2026-04-02 11:00"))
        with pytest.raises(NotFound):  # another unit's project does not exist for it
            projects.report_progress(session, ZF, project_id, ProgressReport(10), "", [],
                                     local("2026-04-01 10:00"))
        with pytest.raises(PermissionDenied):  # a leader reads, but does not report
            projects.report_progress(session, LEADER, project_id, ProgressReport(10), "", [],
                                     local("2026-04-01 10:00"))


def test_a_project_not_started_three_months_on_is_red_notified_once_and_listed_late(
        city: Engine) -> None:
    project_id = _road(city)
    now = local("2026-06-01 08:00")
    first = sweep(city, now)
    assert first.counts.get("project_red") == 2  # the lead unit and the office
    assert sweep(city, now).counts.get("project_red", 0) == 0
    with transaction(city) as session:
        mine = list_notices(session, HW).items
        assert [(n.target_kind, n.target_id) for n in mine] == [("project", str(project_id))]
        assert "亮红灯" in mine[0].message
        assert list_notices(session, ZF).items == []
        assert len(list_notices(session, OFFICE).items) == 1
        late = projects.late_projects(session, now)
        assert [(r.project_id, r.colour, r.lead_unit_name) for r in late] == \
            [(project_id, ProjectColour.RED, "环卫中心")]
        assert late[0].started_late and "三个月" in late[0].reason
        assert projects.late_projects(session, now, unit_code="U-ZF") == []
        assert projects.colour_counts(session, LEADER, now) == {"green": 0, "yellow": 0, "red": 1}


def _issue(engine: Engine) -> int:
    with transaction(engine) as session:
        return legacy.create_issue(session, OFFICE, legacy.IssueInput(
            "幸福里小区办证", LegacyCategory.CERTIFICATE, "U-HW", "业主长期无法办证",
            parties=[Party("王建国", "13812345678", "业主代表")], lead_official="张三（副市长）",
            steps=[Step(1, "梳理欠缴费用", date(2026, 5, 31)),
                   Step(2, "办理首次登记", date(2026, 9, 30))]), local("2026-03-10 09:00"))


def test_a_legacy_issue_is_logged_by_its_unit_and_signed_off_by_the_office(
        city: Engine, tmp_path: Path) -> None:
    issue_id = _issue(city)
    photo = _jpeg(city, tmp_path, "office01")
    with transaction(city) as session:
        view = legacy.issue_detail(session, HW, issue_id, local("2026-03-11 09:00"))
        assert view.issue.target_date == date(2026, 12, 31)  # default: the year's end
        assert [(p.name, p.phone) for p in view.parties] == [("王**", "138****5678")]
        full = legacy.issue_detail(session, OFFICE, issue_id, local("2026-03-11 09:00"))
        assert full.parties[0].name == "王建国"
        legacy.log_progress(session, HW, issue_id, ProgressEntry("已梳理", step_done=1), [],
                            local("2026-04-01 09:00"))
        with pytest.raises(ActionRefused):
            legacy.sign_off_issue(session, OFFICE, issue_id, "已办证", [photo],
                                  local("2026-04-02 09:00"))
        legacy.log_progress(session, HW, issue_id, ProgressEntry(
            "证书已发放", LegacyStatus.RESOLVED, step_done=2), [], local("2026-09-01 09:00"))
        with pytest.raises(PermissionDenied):
            legacy.sign_off_issue(session, HW, issue_id, "已办证", [], local("2026-09-02 09:00"))
        legacy.sign_off_issue(session, OFFICE, issue_id, "不动产权证书已发放", [photo],
                              local("2026-09-02 09:00"))
    with transaction(city) as session:
        done = legacy.issue_detail(session, HW, issue_id, local("2026-09-03 09:00"))
        assert done.issue.status is LegacyStatus.CLOSED
        assert [e.kind for e in done.entries] == ["signoff", "progress", "progress"]
        assert done.entries[0].photos == [photo]
        assert [s.done_on for s in done.issue.steps] == [date(2026, 4, 1), date(2026, 9, 1)]
        assert photos.may_see(session, HW, photo) and not photos.may_see(session, ZF, photo)
        with pytest.raises(NotFound):
            legacy.issue_detail(session, ZF, issue_id, local("2026-09-03 09:00"))
        assert legacy.status_counts(session, LEADER, local("2026-09-03 09:00"))["closed"] == 1


def test_an_issue_past_its_target_date_is_notified_to_its_unit_and_the_office(
        city: Engine) -> None:
    issue_id = _issue(city)
    assert sweep(city, local("2026-12-31 23:00")).counts.get("legacy_overdue", 0) == 0
    assert sweep(city, local("2027-01-01 08:00")).counts.get("legacy_overdue") == 2
    with transaction(city) as session:
        rows = session.execute(select(notifications.c.recipient).where(
            notifications.c.target_id == str(issue_id))).scalars().all()
        assert sorted(rows) == ["U-HW", "office"]
        assert len(list_notices(session, HW).items) == 1


def test_a_unit_cannot_enter_projects_or_issues(city: Engine) -> None:
    with transaction(city) as session, pytest.raises(PermissionDenied):
        projects.create_project(session, HW, projects.ProjectInput(
            "x", ProjectKind.ROAD, "U-HW", date(2026, 3, 1), date(2026, 6, 30)),
            local("2026-02-01 09:00"))
    with transaction(city) as session, pytest.raises(PermissionDenied):
        legacy.create_issue(session, HW, legacy.IssueInput(
            "x", LegacyCategory.OTHER, "U-HW", target=LegacyTarget.RESOLVED),
            local("2026-02-01 09:00"))


def test_the_demo_city_has_ten_projects_two_started_late_and_a_dozen_legacy_issues(
        engine: Engine) -> None:
    now = local("2026-10-20 10:00")
    build_demo_city_on(engine, seed=1, history=False, now=now)
    with transaction(engine) as session:
        views = projects.list_projects(session, LEADER, now)
        assert len(views) == 10
        late_starters = [v for v in views if v.project.actual_start is not None
                         and v.project.actual_start > v.project.planned_start]
        assert len(late_starters) == 2
        colours = {v.schedule.colour for v in views}
        assert colours == {ProjectColour.GREEN, ProjectColour.YELLOW, ProjectColour.RED}
        details = [projects.project_detail(session, LEADER, v.project.id, now) for v in views]
        states = {r.state for d in details for r in d.reports}
        assert states == set(ReviewState)
        assert max(len(d.reports) for d in details) >= 6  # months of progress
        issues = legacy.list_issues(session, LEADER, now)
        assert len(issues) == 12
        assert {v.issue.status for v in issues} == set(LegacyStatus)
        assert any(v.overdue for v in issues)
