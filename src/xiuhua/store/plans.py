"""Plans, their tasks, milestones, progress reports, pauses and the unit aliases a plan's
table may use."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from xiuhua.store.cases import Bind
from xiuhua.store.tables import (
    plan_milestones,
    plan_pauses,
    plan_progress,
    plan_progress_photos,
    plan_task_units,
    plan_tasks,
    plans,
    unit_aliases,
)


def insert_plan(bind: Bind, name: str, start: date, by: str | None, at: datetime) -> int:
    return int(bind.execute(insert(plans).values(name=name, start_date=start, created_by=by,
                                                 created_at=at).returning(plans.c.id)).scalar_one())


def insert_task(bind: Bind, row: dict[str, Any], cooperating: Iterable[str],
                milestones: Iterable[tuple[str, date]] = ()) -> int:
    task_id = int(bind.execute(insert(plan_tasks).values(row).returning(plan_tasks.c.id)).scalar_one())
    coop = [{"task_id": task_id, "unit_code": c} for c in dict.fromkeys(cooperating)]
    if coop:
        bind.execute(insert(plan_task_units), coop)
    ms = [{"task_id": task_id, "name": n, "due": d} for n, d in milestones]
    if ms:
        bind.execute(insert(plan_milestones), ms)
    return task_id


def all_plans(bind: Bind) -> list[Any]:
    return list(bind.execute(select(plans).order_by(plans.c.id.desc())).all())


def plan(bind: Bind, plan_id: int) -> Any:
    return bind.execute(select(plans).where(plans.c.id == plan_id)).first()


def tasks(bind: Bind, plan_id: int | None = None, ids: Sequence[int] | None = None) -> list[Any]:
    """A plan's tasks (or every plan's; or those of ``ids``) in code order."""
    query = select(plan_tasks)
    if plan_id is not None:
        query = query.where(plan_tasks.c.plan_id == plan_id)
    if ids is not None:
        query = query.where(plan_tasks.c.id.in_(list(ids)))
    rows = list(bind.execute(query).all())
    return sorted(rows, key=lambda r: (r.plan_id, [int(p) for p in r.code.split(".")]))


def task_by_code(bind: Bind, plan_id: int, code: str) -> Any:
    return bind.execute(select(plan_tasks).where(plan_tasks.c.plan_id == plan_id,
                                                 plan_tasks.c.code == code)).first()


def task(bind: Bind, task_id: int) -> Any:
    return bind.execute(select(plan_tasks).where(plan_tasks.c.id == task_id)).first()


def _by_task(rows: Iterable[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        found[r.task_id].append(r)
    return found


def cooperating(bind: Bind, task_ids: Sequence[int] | None = None) -> dict[int, frozenset[str]]:
    query = select(plan_task_units)
    if task_ids is not None:
        query = query.where(plan_task_units.c.task_id.in_(list(task_ids)))
    return {k: frozenset(r.unit_code for r in v) for k, v in _by_task(bind.execute(query)).items()}


def milestones(bind: Bind, task_ids: Sequence[int] | None = None) -> dict[int, list[Any]]:
    query = select(plan_milestones).order_by(plan_milestones.c.due, plan_milestones.c.id)
    if task_ids is not None:
        query = query.where(plan_milestones.c.task_id.in_(list(task_ids)))
    return _by_task(bind.execute(query))


def reports(bind: Bind, task_ids: Sequence[int] | None = None, state: str | None = None
            ) -> dict[int, list[Any]]:
    """Progress reports and notes by task, oldest first."""
    query = select(plan_progress).order_by(plan_progress.c.sent_at, plan_progress.c.id)
    if task_ids is not None:
        query = query.where(plan_progress.c.task_id.in_(list(task_ids)))
    if state is not None:
        query = query.where(plan_progress.c.state == state)
    return _by_task(bind.execute(query))


def pauses(bind: Bind, task_ids: Sequence[int] | None = None) -> dict[int, list[Any]]:
    query = select(plan_pauses).order_by(plan_pauses.c.started_at)
    if task_ids is not None:
        query = query.where(plan_pauses.c.task_id.in_(list(task_ids)))
    return _by_task(bind.execute(query))


def insert_report(bind: Bind, row: dict[str, Any], photo_ids: Sequence[str]) -> int:
    report_id = int(bind.execute(insert(plan_progress).values(row).returning(plan_progress.c.id))
                    .scalar_one())
    if photo_ids:
        bind.execute(insert(plan_progress_photos),
                     [{"report_id": report_id, "photo_id": p} for p in dict.fromkeys(photo_ids)])
    return report_id


def report(bind: Bind, report_id: int) -> Any:
    return bind.execute(select(plan_progress).where(plan_progress.c.id == report_id)).first()


def review(bind: Bind, report_id: int, state: str, by: str, at: datetime, reason: str | None) -> None:
    bind.execute(update(plan_progress).where(plan_progress.c.id == report_id)
                 .values(state=state, reviewed_by=by, reviewed_at=at, review_reason=reason))


def report_photos(bind: Bind, report_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    rows = bind.execute(select(plan_progress_photos)
                        .where(plan_progress_photos.c.report_id.in_(list(report_ids))))
    for r in rows:
        found[r.report_id].append(r.photo_id)
    return found


def tasks_of_photo(bind: Bind, photo_id: str) -> list[int]:
    return list(bind.execute(
        select(plan_progress.c.task_id).distinct()
        .join(plan_progress_photos, plan_progress_photos.c.report_id == plan_progress.c.id)
        .where(plan_progress_photos.c.photo_id == photo_id)).scalars())


def insert_pause(bind: Bind, task_id: int, at: datetime, reason: str, by: str) -> None:
    bind.execute(insert(plan_pauses).values(task_id=task_id, started_at=at, reason=reason, paused_by=by))


def end_pause(bind: Bind, task_id: int, at: datetime, by: str) -> None:
    bind.execute(update(plan_pauses).where(plan_pauses.c.task_id == task_id,
                                           plan_pauses.c.ended_at.is_(None))
                 .values(ended_at=at, resumed_by=by))


def aliases(bind: Bind) -> dict[str, str]:
    """alias -> unit code"""
    return {r.alias: r.unit_code for r in bind.execute(select(unit_aliases))}


def set_alias(bind: Bind, alias: str, unit_code: str | None) -> None:
    """Add, change or (``unit_code`` None) remove an alias."""
    bind.execute(delete(unit_aliases).where(unit_aliases.c.alias == alias))
    if unit_code is not None:
        bind.execute(insert(unit_aliases).values(alias=alias, unit_code=unit_code))


def close_task(bind: Bind, task_id: int, at: datetime, by: str) -> None:
    bind.execute(update(plan_tasks).where(plan_tasks.c.id == task_id).values(closed_at=at, closed_by=by))
