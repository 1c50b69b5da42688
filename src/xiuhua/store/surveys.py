"""Surveys and their answers: queries and writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xiuhua.store.tables import survey_answers, surveys


def insert_survey(session: Session, row: dict[str, Any]) -> int:
    return int(session.execute(insert(surveys).values(**row).returning(surveys.c.id)).scalar_one())


def update_survey(session: Session, survey_id: int, values: dict[str, Any]) -> None:
    session.execute(update(surveys).where(surveys.c.id == survey_id).values(**values))


def survey(session: Session, survey_id: int) -> Any:
    return session.execute(select(surveys).where(surveys.c.id == survey_id)).first()


def all_surveys(session: Session, active_only: bool = False) -> list[Any]:
    query = select(surveys).order_by(surveys.c.region_code, surveys.c.id)
    if active_only:
        query = query.where(surveys.c.active)
    return list(session.execute(query))


def answer_counts(session: Session, survey_ids: Sequence[int] | None = None) -> dict[int, int]:
    query = select(survey_answers.c.survey_id, func.count()).group_by(survey_answers.c.survey_id)
    if survey_ids is not None:
        query = query.where(survey_answers.c.survey_id.in_(survey_ids))
    return {int(sid): int(n) for sid, n in session.execute(query)}


def has_device_answer(session: Session, survey_id: int, device: str) -> bool:
    return session.execute(select(survey_answers.c.id).where(
        survey_answers.c.survey_id == survey_id, survey_answers.c.device == device)).first() is not None


def insert_answer(session: Session, row: dict[str, Any]) -> int | None:
    """The new answer's id; None when the device has answered the survey already (the unique
    constraint decides, so two simultaneous answers of one device store one)."""
    try:
        with session.begin_nested():
            return int(session.execute(insert(survey_answers).values(**row)
                                       .returning(survey_answers.c.id)).scalar_one())
    except IntegrityError:
        return None


def insert_answers(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Many answers at once (demo data)."""
    if rows:
        session.execute(insert(survey_answers), list(rows))


def answers(session: Session, survey_ids: Sequence[int], start: datetime | None = None,
            end: datetime | None = None) -> list[Any]:
    """The answers to the surveys in [start, end), oldest first."""
    query = select(survey_answers).where(survey_answers.c.survey_id.in_(survey_ids))
    if start is not None:
        query = query.where(survey_answers.c.at >= start)
    if end is not None:
        query = query.where(survey_answers.c.at < end)
    return list(session.execute(query.order_by(survey_answers.c.at, survey_answers.c.id)))
