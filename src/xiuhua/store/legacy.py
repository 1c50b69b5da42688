"""Legacy issues (遗留问题化解台账): the issues, their plan steps, progress log and photos."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update

from xiuhua.domain.choices import LegacyStatus, LegacyTarget
from xiuhua.domain.legacy import LegacyIssue, Party, Step
from xiuhua.store.cases import Bind
from xiuhua.store.city import upsert
from xiuhua.store.tables import legacy_issues, legacy_progress, legacy_progress_photos, legacy_steps


def parties(row: Any) -> tuple[Party, ...]:
    return tuple(Party(p.get("name", ""), p.get("phone"), p.get("note"))
                 for p in (row.parties or []))


def to_issue(row: Any, steps: Sequence[Step] = ()) -> LegacyIssue:
    return LegacyIssue(row.id, row.title, row.lead_unit, LegacyStatus(row.status),
                       LegacyTarget(row.target), row.target_date, tuple(steps), parties(row))


def insert_issue(bind: Bind, values: dict[str, Any], steps: Sequence[Step]) -> int:
    issue_id = int(bind.execute(legacy_issues.insert().values(values)
                                .returning(legacy_issues.c.id)).scalar_one())
    save_steps(bind, issue_id, steps)
    return issue_id


def save_steps(bind: Bind, issue_id: int, steps: Sequence[Step]) -> None:
    upsert(bind, legacy_steps, [{"issue_id": issue_id, "seq": s.seq, "content": s.content,
                                 "due": s.due, "done_on": s.done_on} for s in steps],
           ["issue_id", "seq"])


def issue_row(bind: Bind, issue_id: int) -> Any:
    return bind.execute(select(legacy_issues).where(legacy_issues.c.id == issue_id)).first()


def issue_rows(bind: Bind, *where: ColumnElement[bool]) -> list[Any]:
    i = legacy_issues.c
    return list(bind.execute(select(legacy_issues).where(*where)
                             .order_by(i.target_date, i.id)).all())


def steps_of(bind: Bind, issue_ids: Iterable[int]) -> dict[int, list[Step]]:
    ids = list(issue_ids)
    found: dict[int, list[Step]] = {}
    if ids:
        s = legacy_steps.c
        for row in bind.execute(select(legacy_steps).where(s.issue_id.in_(ids))
                                .order_by(s.issue_id, s.seq)):
            found.setdefault(row.issue_id, []).append(
                Step(row.seq, row.content, row.due, row.done_on))
    return found


def set_status(bind: Bind, issue_id: int, values: dict[str, Any]) -> None:
    bind.execute(update(legacy_issues).where(legacy_issues.c.id == issue_id).values(values))


def insert_entry(bind: Bind, values: dict[str, Any], photo_ids: Sequence[str]) -> int:
    entry_id = int(bind.execute(legacy_progress.insert().values(values)
                                .returning(legacy_progress.c.id)).scalar_one())
    if photo_ids:
        upsert(bind, legacy_progress_photos,
               [{"progress_id": entry_id, "photo_id": p} for p in photo_ids],
               ["progress_id", "photo_id"])
    return entry_id


def entries(bind: Bind, issue_id: int) -> list[Any]:
    p = legacy_progress.c
    return list(bind.execute(select(legacy_progress).where(p.issue_id == issue_id)
                             .order_by(p.at.desc(), p.id.desc())).all())


def photos_of(bind: Bind, entry_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(entry_ids)
    found: dict[int, list[str]] = {}
    if ids:
        t = legacy_progress_photos.c
        for row in bind.execute(select(t.progress_id, t.photo_id)
                                .where(t.progress_id.in_(ids)).order_by(t.photo_id)):
            found.setdefault(row.progress_id, []).append(row.photo_id)
    return found


def lead_units_of_photo(bind: Bind, photo_id: str) -> list[str]:
    """The lead units of the issues whose progress log shows the photo."""
    t, p = legacy_progress_photos.c, legacy_progress.c
    return list(bind.execute(
        select(legacy_issues.c.lead_unit).distinct()
        .join(legacy_progress, p.issue_id == legacy_issues.c.id)
        .join(legacy_progress_photos, t.progress_id == p.id)
        .where(t.photo_id == photo_id)).scalars())


def lead_units(bind: Bind, issue_ids: Iterable[int]) -> dict[int, str]:
    ids = list(issue_ids)
    if not ids:
        return {}
    return {r.id: r.lead_unit for r in bind.execute(
        select(legacy_issues.c.id, legacy_issues.c.lead_unit)
        .where(legacy_issues.c.id.in_(ids)))}
