"""Key projects (重点项目): the projects, their progress reports and the reports' photos."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update

from xiuhua.domain.choices import ProjectKind, ProjectPhase
from xiuhua.domain.projects import Project
from xiuhua.store.cases import Bind
from xiuhua.store.city import upsert
from xiuhua.store.tables import project_progress, project_progress_photos, projects


def to_project(row: Any) -> Project:
    return Project(row.id, row.name, ProjectKind(row.kind), row.lead_unit, row.planned_start,
                   row.planned_finish, ProjectPhase(row.phase), row.progress, row.actual_start,
                   row.actual_finish, row.planned_investment, row.completed_investment)


def insert_project(bind: Bind, values: dict[str, Any]) -> int:
    return int(bind.execute(projects.insert().values(values).returning(projects.c.id)).scalar_one())


def project_row(bind: Bind, project_id: int) -> Any:
    return bind.execute(select(projects).where(projects.c.id == project_id)).first()


def project_rows(bind: Bind, *where: ColumnElement[bool]) -> list[Any]:
    query = select(projects).where(*where).order_by(projects.c.planned_finish, projects.c.id)
    return list(bind.execute(query).all())


def save_standing(bind: Bind, project: Project) -> None:
    """Store what accepting a report changes: phase, progress, investment, actual days."""
    bind.execute(update(projects).where(projects.c.id == project.id).values(
        phase=project.phase.value, progress=project.progress,
        completed_investment=project.completed_investment, actual_start=project.actual_start,
        actual_finish=project.actual_finish))


def insert_progress(bind: Bind, values: dict[str, Any], photo_ids: Sequence[str]) -> int:
    report_id = int(bind.execute(project_progress.insert().values(values)
                                 .returning(project_progress.c.id)).scalar_one())
    if photo_ids:
        upsert(bind, project_progress_photos,
               [{"progress_id": report_id, "photo_id": p} for p in photo_ids],
               ["progress_id", "photo_id"])
    return report_id


def progress_rows(bind: Bind, project_id: int) -> list[Any]:
    p = project_progress.c
    return list(bind.execute(select(project_progress).where(p.project_id == project_id)
                             .order_by(p.reported_at.desc(), p.id.desc())).all())


def progress_row(bind: Bind, project_id: int, report_id: int) -> Any:
    p = project_progress.c
    return bind.execute(select(project_progress).where(
        p.id == report_id, p.project_id == project_id)).first()


def decide(bind: Bind, report_id: int, values: dict[str, Any]) -> None:
    bind.execute(update(project_progress).where(project_progress.c.id == report_id)
                 .values(values))


def photos_of(bind: Bind, report_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(report_ids)
    found: dict[int, list[str]] = {}
    if ids:
        t = project_progress_photos.c
        for row in bind.execute(select(t.progress_id, t.photo_id)
                                .where(t.progress_id.in_(ids)).order_by(t.photo_id)):
            found.setdefault(row.progress_id, []).append(row.photo_id)
    return found


def lead_units_of_photo(bind: Bind, photo_id: str) -> list[str]:
    """The lead units of the projects whose progress reports show the photo."""
    t, p = project_progress_photos.c, project_progress.c
    return list(bind.execute(
        select(projects.c.lead_unit).distinct()
        .join(project_progress, p.project_id == projects.c.id)
        .join(project_progress_photos, t.progress_id == p.id)
        .where(t.photo_id == photo_id)).scalars())


def lead_units(bind: Bind, project_ids: Iterable[int]) -> dict[int, str]:
    ids = list(project_ids)
    if not ids:
        return {}
    return {r.id: r.lead_unit for r in bind.execute(
        select(projects.c.id, projects.c.lead_unit).where(projects.c.id.in_(ids)))}
