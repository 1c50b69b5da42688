"""Queries and writes of field evaluation: standards, evaluation points, rounds, their sample,
deductions and photos (``domain.evaluation`` holds the rules)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, insert, select, update

from xiuhua.domain.choices import DeductionRule, RoundState
from xiuhua.domain.evaluation import Item, PointResult, Standard
from xiuhua.store.cases import Bind
from xiuhua.store.city import upsert
from xiuhua.store.tables import (
    evaluation_points,
    round_deduction_photos,
    round_deductions,
    round_points,
    rounds,
    standard_items,
    standards,
)

# --- standards ------------------------------------------------------------------------------


def save_standard(bind: Bind, standard: Standard, at: datetime, by: str | None) -> int:
    """A new standard with its items; its id."""
    new_id = int(bind.execute(insert(standards).values(
        name=standard.name, year=standard.year, created_at=at, created_by=by)
        .returning(standards.c.id)).scalar_one())
    bind.execute(insert(standard_items), [
        {"standard_id": new_id, "seq": n, "headings": list(i.headings), "description": i.description,
         "points": float(i.points), "rule": i.rule.value, "each": float(i.each),
         "kinds": sorted(i.kinds), "matter_code": i.matter_code}
        for n, i in enumerate(standard.items, 1)])
    return new_id


def standard_exists(bind: Bind, name: str, year: int) -> bool:
    return bind.execute(select(standards.c.id).where(standards.c.name == name,
                                                     standards.c.year == year)).first() is not None


def _fraction(value: float) -> Fraction:
    return Fraction(str(value)).limit_denominator(10_000)


def stored_score(value: float) -> Fraction:
    """A point score as stored (a float): its exact value back (100·k ÷ Σ points has a small
    denominator)."""
    return _fraction(value)


def _item(row: Any) -> Item:
    return Item(tuple(row.headings), row.description, _fraction(row.points), DeductionRule(row.rule),
                _fraction(row.each), frozenset(row.kinds), row.matter_code, row.id)


def standard(bind: Bind, standard_id: int) -> Standard | None:
    head = bind.execute(select(standards).where(standards.c.id == standard_id)).first()
    if head is None:
        return None
    items = bind.execute(select(standard_items).where(standard_items.c.standard_id == standard_id)
                         .order_by(standard_items.c.seq)).all()
    return Standard(head.name, head.year, tuple(_item(r) for r in items), head.id)


def list_standards(bind: Bind) -> list[Any]:
    """Every standard with its item count and full points, newest year first."""
    query = (select(standards.c.id, standards.c.name, standards.c.year, standards.c.created_at,
                    func.count(standard_items.c.id).label("items"),
                    func.coalesce(func.sum(standard_items.c.points), 0).label("points"))
             .outerjoin(standard_items, standard_items.c.standard_id == standards.c.id)
             .group_by(standards.c.id, standards.c.name, standards.c.year, standards.c.created_at)
             .order_by(standards.c.year.desc(), standards.c.id.desc()))
    return list(bind.execute(query).all())


# --- evaluation points (places) -------------------------------------------------------------


def save_points(bind: Bind, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update points by code."""
    if rows:
        upsert(bind, evaluation_points, list(rows), ["code"])


def points(bind: Bind, ids: Iterable[int] | None = None, active: bool | None = True) -> list[Any]:
    query = select(evaluation_points).order_by(evaluation_points.c.code)
    if active is not None:
        query = query.where(evaluation_points.c.active == active)
    if ids is not None:
        query = query.where(evaluation_points.c.id.in_(list(ids)))
    return list(bind.execute(query).all())


def point(bind: Bind, point_id: int) -> Any:
    return bind.execute(select(evaluation_points).where(evaluation_points.c.id == point_id)).first()


# --- rounds ---------------------------------------------------------------------------------


def add_round(bind: Bind, standard_id: int, period: str, seed: int, per_kind: int,
              at: datetime, by: str | None) -> int:
    return int(bind.execute(insert(rounds).values(
        standard_id=standard_id, period=period, seed=seed, per_kind=per_kind,
        state=RoundState.OPEN.value, planned_at=at, planned_by=by).returning(rounds.c.id)).scalar_one())


def add_round_points(bind: Bind, round_id: int, rows: Iterable[Any], fixed: bool) -> None:
    values = [{"round_id": round_id, "point_id": p.id, "fixed": fixed, "kind": p.kind,
               "street_code": p.street_code, "community_code": p.community_code,
               "unit_code": p.unit_code} for p in rows]
    if values:
        bind.execute(insert(round_points), values)


def round_row(bind: Bind, round_id: int) -> Any:
    return bind.execute(select(rounds).where(rounds.c.id == round_id)).first()


def list_rounds(bind: Bind) -> list[Any]:
    query = (select(rounds, func.count(round_points.c.point_id).label("points"),
                    func.count(round_points.c.done_at).label("done"))
             .outerjoin(round_points, round_points.c.round_id == rounds.c.id)
             .group_by(*rounds.c).order_by(rounds.c.period.desc(), rounds.c.id.desc()))
    return list(bind.execute(query).all())


def sample(bind: Bind, round_id: int) -> list[Any]:
    """The round's points as sampled, with each point's name, code and position."""
    query = (select(round_points, evaluation_points.c.code, evaluation_points.c.name,
                    evaluation_points.c.lon, evaluation_points.c.lat)
             .join(evaluation_points, evaluation_points.c.id == round_points.c.point_id)
             .where(round_points.c.round_id == round_id)
             .order_by(round_points.c.street_code, round_points.c.kind, evaluation_points.c.code))
    return list(bind.execute(query).all())


def mark_done(bind: Bind, round_id: int, point_id: int, at: datetime | None, by: str | None) -> None:
    bind.execute(update(round_points).where(round_points.c.round_id == round_id,
                                            round_points.c.point_id == point_id)
                 .values(done_at=at, done_by=by))


def set_state(bind: Bind, round_id: int, state: RoundState, **values: Any) -> None:
    bind.execute(update(rounds).where(rounds.c.id == round_id).values(state=state.value, **values))


def set_scores(bind: Bind, round_id: int, scores: dict[int, Fraction | None]) -> None:
    for point_id, value in scores.items():
        bind.execute(update(round_points).where(round_points.c.round_id == round_id,
                                                round_points.c.point_id == point_id)
                     .values(score=float(value) if value is not None else None))


# --- deductions -----------------------------------------------------------------------------


def add_deduction(bind: Bind, round_id: int, point_id: int, item_id: int, count: int,
                  note: str | None, at: datetime, by: str | None,
                  photos: Sequence[tuple[str, float | None, float | None, float | None]]) -> int:
    """A deduction with its photos (id, lon, lat, distance to the point)."""
    new_id = int(bind.execute(insert(round_deductions).values(
        round_id=round_id, point_id=point_id, item_id=item_id, count=count, note=note,
        recorded_by=by, recorded_at=at).returning(round_deductions.c.id)).scalar_one())
    if photos:
        bind.execute(insert(round_deduction_photos), [
            {"deduction_id": new_id, "photo_id": pid, "lon": lon, "lat": lat, "distance_m": dist}
            for pid, lon, lat, dist in photos])
    return new_id


def deductions(bind: Bind, round_id: int, point_id: int | None = None) -> list[Any]:
    query = select(round_deductions).where(round_deductions.c.round_id == round_id)
    if point_id is not None:
        query = query.where(round_deductions.c.point_id == point_id)
    return list(bind.execute(query.order_by(round_deductions.c.id)).all())


def deduction_photos(bind: Bind, deduction_ids: Iterable[int]) -> dict[int, list[Any]]:
    ids = list(deduction_ids)
    found: dict[int, list[Any]] = {}
    if not ids:
        return found
    for row in bind.execute(select(round_deduction_photos)
                            .where(round_deduction_photos.c.deduction_id.in_(ids))
                            .order_by(round_deduction_photos.c.photo_id)):
        found.setdefault(row.deduction_id, []).append(row)
    return found


def set_case(bind: Bind, deduction_id: int, case_no: str) -> None:
    bind.execute(update(round_deductions).where(round_deductions.c.id == deduction_id)
                 .values(case_no=case_no))


def photo_deductions(bind: Bind, photo_id: str) -> list[Any]:
    """The deductions a photo is linked to, with their round's state and point's unit."""
    query = (select(round_deductions.c.id, rounds.c.state, round_points.c.unit_code)
             .join(round_deduction_photos, round_deduction_photos.c.deduction_id == round_deductions.c.id)
             .join(rounds, rounds.c.id == round_deductions.c.round_id)
             .join(round_points, (round_points.c.round_id == round_deductions.c.round_id)
                   & (round_points.c.point_id == round_deductions.c.point_id))
             .where(round_deduction_photos.c.photo_id == photo_id))
    return list(bind.execute(query).all())


# --- the score source -----------------------------------------------------------------------


def booked_results(bind: Bind, months: Sequence[str]) -> list[tuple[int, PointResult]]:
    """(round id, point result) of every scored point of the published rounds booked into
    ``months``."""
    query = (select(round_points, rounds.c.id.label("rid"))
             .join(rounds, rounds.c.id == round_points.c.round_id)
             .where(rounds.c.state == RoundState.PUBLISHED.value, rounds.c.booked_period.in_(list(months)),
                    round_points.c.score.is_not(None)))
    return [(r.rid, PointResult(r.point_id, r.kind, r.street_code, r.community_code, r.unit_code,
                                stored_score(r.score)))
            for r in bind.execute(query)]


def booked_rounds(bind: Bind, months: Sequence[str], standard_id: int) -> list[int]:
    """The ids of the published rounds against ``standard_id`` booked into ``months``."""
    query = (select(rounds.c.id)
             .where(rounds.c.state == RoundState.PUBLISHED.value, rounds.c.booked_period.in_(list(months)),
                    rounds.c.standard_id == standard_id)
             .order_by(rounds.c.id))
    return [int(i) for i in bind.execute(query).scalars()]
