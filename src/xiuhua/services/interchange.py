"""The case interchange format (案件交换格式): JSON Lines, one case per line with its history.

Import replays each case's events through the lifecycle (:func:`~xiuhua.domain.lifecycle.report`
and :func:`~xiuhua.domain.lifecycle.apply`) as trusted history, without role checks, so an
impossible history is refused with its line number. A file is imported in one transaction:
entirely or not at all, or with ``skip_invalid`` every good case, the refused ones listed in a
report file. The file is streamed in chunks: the points of a chunk are located at once, its case
numbers and components checked with one query each, and its cases bulk-inserted. An import
that added cases ends by refreshing the query planner's statistics.

The case fields describe the case as it is now. An ``amend`` event gives the new values of the
fields it changed and, under ``old``, their values before; the import undoes the amends to find
the case as first reported, replays them, and checks that they lead to the case fields.

Export writes the same format plus the computed fields (status, areas, assignments). Importing
an export into an empty copy of the city reproduces the export byte for byte.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, TextIO

import numpy as np
import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xiuhua.domain.calendar import TimeLimit, local_zone
from xiuhua.domain.choices import Action, Source
from xiuhua.domain.city import City
from xiuhua.domain.errors import BatchInvalid, DomainError, InvalidInput
from xiuhua.domain.geo import CoordSys, to_wgs84
from xiuhua.domain.lifecycle import (
    Actor,
    Assignment,
    Case,
    Command,
    Event,
    Location,
    ReportData,
    apply,
    report,
)
from xiuhua.domain.taxonomy import DEFAULT_URGENCY
from xiuhua.services.assessment import correct_after_import
from xiuhua.services.cases import check_grid_code
from xiuhua.services.city import load_city
from xiuhua.store.cases import (
    CaseRows,
    bulk_load,
    case_rows,
    existing_case_nos,
    insert_case_rows,
    iter_cases,
)
from xiuhua.store.db import analyze, read_transaction, transaction
from xiuhua.store.tables import cases, components

CHUNK = 5000  # cases replayed, checked and inserted together
_IN_CHUNK = 500  # values per SQL IN list

CASE_KEYS = ("case_no", "source", "category_code", "urgency", "lon", "lat", "coord_sys",
             "grid_code", "address", "description", "component_code", "reporter", "photos",
             "events")
# Computed by the replay; accepted in a file (an export carries them) and ignored.
COMPUTED_CASE_KEYS = ("status", "community_code", "street_code", "assignments", "version",
                      "reported_at", "filed_at", "closed_at", "cancelled_at", "updated_at",
                      "holder_unit", "due_at", "cancel_reason", "duplicate_of", "rating")
EVENT_COMMON_KEYS = ("at", "action", "actor", "note", "photos")
AMEND_KEYS = ("category_code", "urgency", "lon", "lat", "coord_sys", "component_code",
              "address", "description")
# The keys each action takes besides the common ones, in export order: the keys of the event's
# data (amend: its new values flattened, and "old").
EVENT_KEYS: dict[Action, tuple[str, ...]] = {
    Action.REPORT: (), Action.AMEND: (*AMEND_KEYS, "old"), Action.REQUEST_VERIFY: ("inspector",),
    Action.VERIFY: (), Action.FILE: (),
    Action.CANCEL: ("reason", "duplicate_of"), Action.DISPATCH: ("unit", "limit"),
    Action.RETURN: ("reason",), Action.REQUEST_EXTENSION: ("limit", "reason"),
    Action.EXTEND: ("limit",), Action.REJECT_EXTENSION: ("reason",),
    Action.REQUEST_SUSPENSION: ("reason",), Action.REJECT_SUSPENSION: ("reason",),
    Action.SUSPEND: ("reason",),
    Action.RESUME: (), Action.FEEDBACK: ("inspector",), Action.CHECK_FAIL: ("unit", "limit"),
    Action.CHECK_PASS: (), Action.CLOSE: (), Action.SUPERVISE: ("unit",), Action.RATE: ("value",),
    Action.RECOMPUTE_DEADLINE: (),  # the replay computes the deadline with today's calendar
}
# Event keys the replay computes: a file may state them, and then they must agree.
COMPUTED_EVENT_KEYS: dict[Action, tuple[str, ...]] = {
    Action.CHECK_FAIL: ("unit", "limit"), Action.SUPERVISE: ("unit",),
}
_CASE_ALLOWED = frozenset((*CASE_KEYS, *COMPUTED_CASE_KEYS))
_EVENT_ALLOWED = {action: frozenset((*EVENT_COMMON_KEYS, *keys, "seq"))  # "seq" is computed
                  for action, keys in EVENT_KEYS.items()}
_AMEND_TEXT_KEYS = ("category_code", "urgency", "component_code", "address", "description")
_NOT_COMMAND_KEYS = frozenset({"lon", "lat", "coord_sys", "old"})
_COMMAND_KEYS = {action: tuple(k for k in keys if k not in _NOT_COMMAND_KEYS)
                 for action, keys in EVENT_KEYS.items()}  # the event keys given as text
_ACTIONS = {action.value: action for action in Action}
_CASE_NO = re.compile(r"[0-9]{14}")
_MAX_ACTOR, _MAX_NAME, _MAX_PHONE = 64, 100, 32  # column widths

Point = tuple[float, float, CoordSys]


# --- reading one line ---------------------------------------------------------------------


class _Fields:
    """One JSON object of the file, read key by key; errors name the object and the key."""

    def __init__(self, raw: object, what: str) -> None:
        if not isinstance(raw, dict):
            raise InvalidInput(f"{what}应为 JSON 对象", code="invalid_case")
        self.raw: dict[str, Any] = raw
        self.what = what

    def only(self, known: frozenset[str]) -> None:
        if self.raw.keys() <= known:
            return
        unknown = [key for key in self.raw if key not in known]
        if unknown:
            raise InvalidInput(f"{self.what}含未知字段：{'、'.join(unknown)}", code="unknown_field")

    def _get(self, key: str, required: bool) -> Any:
        value = self.raw.get(key)
        if value is None and required:
            raise InvalidInput(f"{self.what}缺少字段“{key}”", code="missing_field")
        return value

    def _wrong(self, key: str, kind: str) -> InvalidInput:
        return InvalidInput(f"{self.what}的字段“{key}”应为{kind}", code="invalid_field")

    def text(self, key: str, required: bool = False, max_len: int | None = None) -> str | None:
        value = self.raw.get(key)
        if (type(value) is str and "\x00" not in value  # the common case, checked at once
                and (max_len is None or len(value) <= max_len)):
            return value
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._wrong(key, "字符串")
        if "\x00" in value:
            raise InvalidInput(f"{self.what}的字段“{key}”含有空字符", code="invalid_field")
        if max_len is not None and len(value) > max_len:
            raise InvalidInput(f"{self.what}的字段“{key}”过长（最多 {max_len} 个字符）",
                               code="invalid_field")
        return value

    def required(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def number(self, key: str) -> float | None:
        value = self._get(key, False)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self._wrong(key, "数值")
        return None if value is None else float(value)

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, False)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and "\x00" not in v
                                                  for v in value):
            raise self._wrong(key, "字符串数组")
        return tuple(value)

    def point(self) -> Point | None:
        lon, lat = self.number("lon"), self.number("lat")
        if lon is None and lat is None:
            return None
        if lon is None or lat is None:
            raise InvalidInput(f"{self.what}的经度和纬度须同时提供", code="missing_coordinates")
        return lon, lat, CoordSys.parse(self.text("coord_sys") or CoordSys.WGS84)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is twice as slow
class _EventDraft:
    action: Action
    at: datetime
    actor: str | None
    values: dict[str, Any]  # Command fields
    point: Point | None = None  # amend: the new point
    old: dict[str, Any] = field(default_factory=dict)  # amend: the values before ("point" too)
    stated: dict[str, str] = field(default_factory=dict)  # computed keys the file states


@dataclass(slots=True)
class _Draft:
    """One case as read from its line, checked for form but not yet replayed. The case fields
    are the case as it is now; amend events say what each amended field was before."""

    line: int
    case_no: str
    source: Source
    category_code: str
    urgency: str
    point: Point | None
    grid_code: str | None
    address: str | None
    description: str | None
    component_code: str | None
    reporter_name: str | None
    reporter_phone: str | None
    photos: tuple[str, ...]
    events: list[_EventDraft]

    @property
    def amended(self) -> bool:
        return any(e.action is Action.AMEND for e in self.events)

    def current(self) -> dict[str, Any]:
        return {"category_code": self.category_code, "urgency": self.urgency,
                "component_code": self.component_code, "address": self.address,
                "description": self.description, "point": self.point}

    def as_reported(self) -> dict[str, Any]:
        """The amendable fields as first reported: the current ones with the amends undone."""
        values = self.current()
        for event in reversed(self.events):
            values.update(event.old)
        return values

    def points(self) -> Iterator[Point]:
        values = [self.point, *(e.point for e in self.events), *(e.old.get("point") for e in self.events)]
        return (p for p in values if p is not None)

    def component_codes(self) -> Iterator[str]:
        values = [self.component_code, *(e.values.get("component_code") for e in self.events),
                  *(e.old.get("component_code") for e in self.events)]
        return (c for c in values if c is not None)


def _moment(text: str, what: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what}的时间“{text}”格式有误，应为 ISO 8601，如 2026-10-08T09:12:00+08:00",
                           code="invalid_datetime") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{what}的时间“{text}”缺少时区（如 +08:00）", code="naive_datetime")
    return at


def _choice(f: _Fields, key: str, enum: Any, label: str) -> Any:
    text = f.required(key)
    member = enum._value2member_map_.get(text)  # as enum(text), without its overhead
    if member is not None:
        return member
    try:
        return enum(text)
    except ValueError:
        allowed = "、".join(m.value for m in enum)
        raise InvalidInput(f"{f.what}的{label}“{text}”未知（可选：{allowed}）",
                           code=f"unknown_{key}") from None


def _amendable(f: _Fields) -> dict[str, Any]:
    """The amendable fields an object gives (``None`` meaning empty), the point as "point"."""
    values: dict[str, Any] = {key: f.text(key) for key in _AMEND_TEXT_KEYS if key in f.raw}
    if "lon" in f.raw or "lat" in f.raw:
        values["point"] = f.point()
    return values


def _old(f: _Fields, changed: dict[str, Any]) -> dict[str, Any]:
    if "old" not in f.raw:
        raise InvalidInput(f"{f.what}须在“old”中给出所修改字段修改前的值", code="missing_old")
    old = _Fields(f.raw["old"], f"{f.what}的“old”")
    old.only(frozenset(AMEND_KEYS))
    values = _amendable(old)
    if set(values) != set(changed):
        names = "、".join("lon、lat" if k == "point" else k for k in changed)
        raise InvalidInput(f"{old.what}应恰好给出所修改的字段（{names or '无'}）", code="invalid_old")
    return values


def _action(raw: object, index: int) -> tuple[Action, str]:
    """The event's action and its name, or the error naming the event."""
    name = raw.get("action") if type(raw) is dict else None
    action = _ACTIONS.get(name) if type(name) is str else None
    if action is None:
        action = _choice(_Fields(raw, f"第 {index} 个事件"), "action", Action, "事件类型（action）")
    return action, action.value


def parse_event(raw: object, index: int) -> _EventDraft:
    action, name = _action(raw, index)
    f = _Fields(raw, f"第 {index} 个事件（{name}）")
    f.only(_EVENT_ALLOWED[action])
    note = f.text("note")
    values: dict[str, Any] = {"note": note} if note is not None else {}
    values["photos"] = f.texts("photos")
    computed = COMPUTED_EVENT_KEYS.get(action, ())
    stated: dict[str, Any] = {}
    for key in _COMMAND_KEYS[action]:
        value = f.text(key)
        if value is not None:
            (stated if key in computed else values)[key] = value
    point, old = None, {}
    if action is Action.AMEND:
        point = f.point()
        changed = {k: v for k, v in values.items() if k in _AMEND_TEXT_KEYS}
        old = _old(f, {**changed, "point": point} if point is not None else changed)
    return _EventDraft(action=action, at=_moment(f.required("at"), f.what),
                       actor=f.text("actor", max_len=_MAX_ACTOR), values=values, point=point,
                       old=old, stated=stated)


def _is_day(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return True


def _check_case_no(text: str) -> str:
    if _CASE_NO.fullmatch(text) is None or not _is_day(text[:8]):
        raise InvalidInput(f"案件号“{text}”格式有误：应为 14 位数字（YYYYMMDD + 6 位序号）",
                           code="invalid_case_no")
    return text


def _events(f: _Fields) -> list[_EventDraft]:
    raw = f.raw.get("events")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("案件的字段“events”应为非空数组（第一个事件为 report）", code="missing_events")
    events = [parse_event(item, index) for index, item in enumerate(raw, 1)]
    if events[0].action is not Action.REPORT:
        raise InvalidInput("第一个事件须为 report（上报）", code="first_not_report")
    return events


def parse_case(line: int, raw: object) -> _Draft:
    """Read one case object, checking the form of every field (not yet the history)."""
    f = _Fields(raw, "案件")
    f.only(_CASE_ALLOWED)
    case_no = _check_case_no(f.required("case_no"))
    reporter = _Fields(f.raw.get("reporter") or {}, "上报人（reporter）")
    reporter.only(frozenset(("name", "phone")))
    return _Draft(
        line=line, case_no=case_no, source=_choice(f, "source", Source, "来源（source）"),
        category_code=f.required("category_code"), urgency=f.text("urgency") or DEFAULT_URGENCY,
        point=f.point(), grid_code=f.text("grid_code"), address=f.text("address"),
        description=f.text("description"), component_code=f.text("component_code"),
        reporter_name=reporter.text("name", max_len=_MAX_NAME),
        reporter_phone=reporter.text("phone", max_len=_MAX_PHONE),
        photos=f.texts("photos"), events=_events(f),
    )


# --- replaying one case -------------------------------------------------------------------


class _Places:
    """The points of a chunk, located at once (vectorised) and then looked up one by one."""

    def __init__(self, city: City, points: Iterable[Point]) -> None:
        self.city = city
        self.found: dict[Point, Location] = {}
        self.areas: dict[str, Location] = {}  # grid -> its community and street
        by_sys: dict[CoordSys, set[tuple[float, float]]] = defaultdict(set)
        for lon, lat, coord_sys in points:
            by_sys[coord_sys].add((lon, lat))
        for coord_sys, pairs in by_sys.items():
            self._locate(coord_sys, list(pairs))

    def _locate(self, coord_sys: CoordSys, pairs: list[tuple[float, float]]) -> None:
        given = np.array(pairs, dtype=float)
        lons, lats = to_wgs84(given[:, 0], given[:, 1], coord_sys)
        grids = self.city.locate_many(lons, lats)
        located = zip(pairs, lons.tolist(), lats.tolist(), grids.tolist(), strict=True)
        for (lon, lat), wlon, wlat, grid in located:
            if grid is not None:  # as City.locate: WGS84 rounded to 7 decimals (≈ 1 cm)
                self.found[(lon, lat, coord_sys)] = self._at(grid, round(wlon, 7), round(wlat, 7))

    def _at(self, grid: str, lon: float, lat: float) -> Location:
        areas = self.areas.get(grid)
        if areas is None:
            areas = self.areas[grid] = self.city.location_of_grid(grid, lon, lat)
        return Location(lon, lat, grid, areas.community_code, areas.street_code)

    def locate(self, point: Point | None) -> Location | None:
        if point is None:
            return None
        found = self.found.get(point)
        # A point not found is outside the city or invalid: City.locate says which.
        return found if found is not None else self.city.locate(*point)


@lru_cache(maxsize=4096)
def _actor(login: str | None) -> Actor:
    """Trusted replay: the recorded login, no role (so no permission checks)."""
    return Actor(login=login)


def _report_data(d: _Draft, places: _Places) -> ReportData:
    first, reported = d.events[0], d.as_reported()
    photos = tuple(dict.fromkeys((*d.photos, *first.values.get("photos", ()))))
    return ReportData(
        case_no=d.case_no, source=d.source, category_code=reported["category_code"],
        at=first.at, urgency=reported["urgency"], location=places.locate(reported["point"]),
        address=reported["address"], description=reported["description"],
        component_code=reported["component_code"], reporter_name=d.reporter_name,
        reporter_phone=d.reporter_phone, photos=photos, note=first.values.get("note"),
    )


def _command(ev: _EventDraft, places: _Places) -> Command:
    return Command(ev.action, ev.at, _actor(ev.actor), location=places.locate(ev.point),
                   **ev.values)


def _mismatch(what: str, stated: Any, actual: Any) -> InvalidInput:
    return InvalidInput(f"{what}为“{stated}”，但按此前的历史应为“{actual}”", code="history_mismatch")


def _where(location: Location | dict[str, Any] | None) -> str:
    if location is None:
        return "无坐标"
    lon, lat = ((location.lon, location.lat) if isinstance(location, Location)
                else (location["lon"], location["lat"]))
    return f"{lon:.7f}, {lat:.7f}"


def _check_stated(ev: _EventDraft, event: Event, places: _Places) -> None:
    """What the file states of the computed event fields must be what the replay computed."""
    for key, stated in ev.stated.items():
        expected = TimeLimit.parse(stated).text if key == "limit" else stated
        if expected != event.data.get(key):
            raise _mismatch(f"字段“{key}”", stated, event.data.get(key))
    recorded = event.data.get("old", {})
    for key, stated in ev.old.items():
        if key == "point":
            said, was = _where(places.locate(stated)), _where(recorded.get("location"))
            if said != was:
                raise _mismatch("修改前的坐标", said, was)
        elif key not in recorded or recorded[key] != stated:
            raise _mismatch(f"修改前的“{key}”", stated, recorded.get(key))


def _check_current(d: _Draft, case: Case, location: Location | None) -> None:
    """After the amends, the case must be what the file says it is now."""
    if _where(location) != _where(case.location):
        raise _mismatch("案件的坐标", _where(location), _where(case.location))
    for key, stated in d.current().items():
        if key != "point" and stated != getattr(case, key):
            raise _mismatch(f"案件的“{key}”", stated, getattr(case, key))


def replay(d: _Draft, city: City, places: _Places) -> Case:
    """The case as its events make it, or the first rule its history breaks."""
    location = check_grid_code(places.locate(d.point), d.grid_code)
    case = report(_report_data(d, places), city.rules, _actor(d.events[0].actor))
    for index, ev in enumerate(d.events[1:], 2):
        try:
            _check_stated(ev, apply(case, _command(ev, places), city.rules), places)
        except DomainError as exc:
            raise InvalidInput(f"第 {index} 个事件（{ev.action.label}）：{exc.message}",
                               code=exc.code) from None
    if d.amended:
        _check_current(d, case, location)
    return case


# --- importing a file ---------------------------------------------------------------------


def _existing(session: Session, column: Any, values: Iterable[str]) -> set[str]:
    wanted = sorted(set(values))
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        part = wanted[start:start + _IN_CHUNK]
        found.update(session.execute(select(column).where(column.in_(part))).scalars())
    return found


def problem_line(line: int, case_no: str | None, reason: str) -> str:
    where = f"第 {line} 行（案件 {case_no}）" if case_no else f"第 {line} 行"
    return f"{where}：{reason}"


def _stated_case_no(raw: object) -> str | None:
    value = raw.get("case_no") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 40 else None


@dataclass(slots=True)
class _Outcome:
    """One line of the file after reading and replaying it (possibly in a worker process):
    what the importer still checks against the rest of the file and the database, and the rows
    to store."""

    line: int
    case_no: str | None
    problem: str | None = None  # why the line is refused (read or replay)
    read: bool = False  # read as a case (its number counts as used in the file)
    duplicate_of: str | None = None
    components: tuple[str, ...] = ()
    rows: CaseRows | None = None


def _read_line(line: int, raw: bytes) -> _Draft | _Outcome:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _Outcome(line, None, f"不是有效的 JSON（第 {exc.colno} 列附近有误）")
    try:
        return parse_case(line, obj)
    except DomainError as exc:
        return _Outcome(line, _stated_case_no(obj), exc.message)


def replay_lines(city: City, dialect: str, lines: list[tuple[int, bytes]]) -> list[_Outcome]:
    """Read and replay lines of a file (the points of all located at once), in file order."""
    read = [_read_line(line, raw) for line, raw in lines]
    drafts = [d for d in read if isinstance(d, _Draft)]
    places = _Places(city, (p for d in drafts for p in d.points()))
    outcomes: list[_Outcome] = []
    for d in read:
        if isinstance(d, _Outcome):
            outcomes.append(d)
            continue
        parts = tuple(d.component_codes())
        try:
            case = replay(d, city, places)
        except DomainError as exc:
            outcomes.append(_Outcome(d.line, d.case_no, exc.message, True, components=parts))
        else:
            outcomes.append(_Outcome(d.line, d.case_no, None, True, case.duplicate_of, parts,
                                     case_rows(case, dialect)))
    return outcomes


BATCH = 1000  # lines a worker reads and replays at a time
PARALLEL_FROM = 16 * 2**20  # bytes: a file at least this large is replayed by worker processes
_worker_job: tuple[City, str] | None = None  # the city and dialect of the forked workers


def _work(lines: list[tuple[int, bytes]]) -> list[_Outcome]:
    assert _worker_job is not None
    return replay_lines(*_worker_job, lines)


def _batches(lines: Iterable[tuple[int, bytes]]) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for item in lines:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _replayed(city: City, dialect: str, lines: Iterable[tuple[int, bytes]],
              workers: int) -> Iterator[list[_Outcome]]:
    """The outcomes of the file's lines, batch by batch in file order: replayed here, or by
    ``workers`` forked processes (sharing the loaded city) while this one checks and inserts;
    at most two batches per worker are in flight, so memory stays flat."""
    if workers <= 1:
        for batch in _batches(lines):
            yield replay_lines(city, dialect, batch)
        return
    global _worker_job
    _worker_job = (city, dialect)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: deque[Any] = deque()
            for batch in _batches(lines):
                pending.append(pool.apply_async(_work, (batch,)))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
    finally:
        _worker_job = None


def _workers(path: Path) -> int:
    """Worker processes for a file: none for a small one (forking costs more than it saves)."""
    if path.stat().st_size < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return min(2, os.cpu_count() or 1)


class _Importer:
    """Reads, replays and inserts the cases of one file inside one transaction."""

    def __init__(self, session: Session, city: City, skip_invalid: bool) -> None:
        self.session, self.city, self.skip_invalid = session, city, skip_invalid
        self.problems: list[tuple[int, str]] = []  # (line, problem line)
        self.first_line: dict[str, int] = {}
        self.accepted: set[str] = set()  # replayed and due to be inserted
        self.in_db: set[str] = set()  # duplicate_of targets found in the database
        self.waiting: dict[str, tuple[int, _Outcome]] = {}  # duplicate_of not yet seen
        self.imported = 0

    def refuse(self, line: int, case_no: str | None, reason: str) -> None:
        self.problems.append((line, problem_line(line, case_no, reason)))

    def problem_lines(self) -> list[str]:
        """One line per refused case, in file order."""
        return [text for _, text in sorted(self.problems)]

    def run(self, batches: Iterable[list[_Outcome]]) -> None:
        chunk: list[_Outcome] = []
        for outcomes in batches:
            chunk.extend(outcomes)
            if len(chunk) >= CHUNK:
                self._chunk(chunk)
                chunk = []
        self._chunk(chunk)
        self._insert(self._settle_waiting())

    def _chunk(self, outcomes: list[_Outcome]) -> None:
        """Check replayed lines (in file order) against the file so far and the database."""
        read: list[_Outcome] = []
        for o in outcomes:
            if o.case_no is None or not o.read:
                self.refuse(o.line, o.case_no, o.problem or "")
                continue
            first = self.first_line.setdefault(o.case_no, o.line)
            if first != o.line:
                self.refuse(o.line, o.case_no, f"案件号与第 {first} 行重复")
            else:
                read.append(o)
        if not read:
            return
        taken = existing_case_nos(self.session, (o.case_no for o in read if o.case_no))
        parts = _existing(self.session, components.c.code, (c for o in read for c in o.components))
        replayed: list[tuple[int, _Outcome]] = []
        for o in read:
            problem = o.problem
            if o.case_no in taken:
                problem = "案件号已存在于数据库中"
            else:
                missing = next((c for c in o.components if c not in parts), None)
                if missing is not None:
                    problem = f"部件“{missing}”不存在"
            if problem is not None:
                self.refuse(o.line, o.case_no, problem)
            else:
                replayed.append((o.line, o))
        self._hold(replayed)
        self._insert(self._release())

    def _hold(self, replayed: list[tuple[int, _Outcome]]) -> None:
        """Queue the replayed cases; look up in the database the cases they duplicate."""
        targets = (c.duplicate_of for _, c in replayed if c.duplicate_of)
        self.in_db |= existing_case_nos(
            self.session, {t for t in targets if t not in self.accepted and t not in self.in_db})
        for line, case in replayed:
            assert case.case_no is not None  # every case read has its number
            self.waiting[case.case_no] = (line, case)

    def _release(self) -> list[_Outcome]:
        """The queued cases whose duplicate_of (if any) is in the database or accepted."""
        released: list[_Outcome] = []
        progress = True
        while progress:
            ready = [no for no, (_, c) in self.waiting.items()
                     if c.duplicate_of is None or c.duplicate_of in self.accepted
                     or c.duplicate_of in self.in_db]
            for no in ready:
                released.append(self.waiting.pop(no)[1])
                self.accepted.add(no)
            progress = bool(ready)
        return released

    def _settle_waiting(self) -> list[_Outcome]:
        """At the end of the file: refuse the cases duplicating a case found nowhere; the rest
        (duplicates of one another) are accepted."""
        refused = True
        while refused:
            gone = [no for no, (_, c) in self.waiting.items()
                    if c.duplicate_of not in self.waiting and c.duplicate_of not in self.accepted]
            for no in gone:
                line, case = self.waiting.pop(no)
                self.refuse(line, no, f"重复的原案件“{case.duplicate_of}”不存在"
                                      "（数据库中没有，本文件中也没有可导入的该案件）")
            refused = bool(gone)
        rest = [case for _, case in self.waiting.values()]
        self.accepted.update(self.waiting)
        self.waiting.clear()
        return rest

    def _insert(self, batch: list[_Outcome]) -> None:
        if not batch or (self.problems and not self.skip_invalid):
            return  # nothing to write, or the whole file is refused anyway
        insert_case_rows(self.session.connection(), [o.rows for o in batch if o.rows is not None])
        self.imported += len(batch)


@dataclass(frozen=True)
class ImportResult:
    imported: int
    refused: int = 0
    report_path: Path | None = None
    corrections: tuple[tuple[str, str, int], ...] = ()  # (published period, booked into, count)

    def __str__(self) -> str:
        return "\n".join([self._imported(), *(
            f"已发布的 {period} 考核数据因本次导入有 {n} 项变化，已作为更正计入 {booked} 考核（发布的数据不变）"
            for period, booked, n in self.corrections)])

    def _imported(self) -> str:
        text = f"已导入 {self.imported} 个案件"
        if self.report_path is None:
            return text
        if not self.refused:
            return f"{text}，没有有误的案件"
        return f"{text}；跳过 {self.refused} 个有误的案件，明细见 {self.report_path}"


def default_report_path(path: Path) -> Path:
    """``FILE.jsonl`` → ``FILE.errors.txt`` next to it."""
    return path.with_name(f"{path.stem}.errors.txt")


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(handle, 1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if raw.strip():
            yield number, raw


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InvalidInput(f"无法读取案件文件 {path}：{exc.strerror}", code="unreadable_file") from None


def import_cases_file(engine: Engine, path: Path, skip_invalid: bool = False,
                      report_path: Path | None = None, actor: str | None = None,
                      workers: int | None = None) -> ImportResult:
    """Import a JSON Lines case file: all or nothing, or (``skip_invalid``) every good case
    with a report of the refused ones (default ``FILE.errors.txt``). Counts of published
    periods that the import changed are then booked as corrections (by ``actor``). A large
    file is read and replayed by ``workers`` processes (default: two for a file of 16 MB or
    more on a machine with two cores) while this one checks and stores."""
    path = Path(path)
    with _open(path) as handle, transaction(engine) as session, bulk_load(session):
        city = load_city(session)
        importer = _Importer(session, city, skip_invalid)
        importer.run(_replayed(city, engine.dialect.name, _lines(handle),
                               _workers(path) if workers is None else workers))
        problems = importer.problem_lines()
        if problems and not skip_invalid:
            raise BatchInvalid(f"{path.name} 中有 {len(problems)} 个案件有误，未导入任何案件：",
                               problems, code="invalid_cases")
        if importer.imported:
            analyze(session)  # fresh planner statistics for the tables just bulk-loaded
    corrections = tuple(correct_after_import(engine, importer.accepted, path.name, actor) if importer.imported else ())
    if not skip_invalid:
        return ImportResult(importer.imported, corrections=corrections)
    report = report_path or default_report_path(path)
    report.write_text("".join(f"{p}\n" for p in problems), encoding="utf-8")
    return ImportResult(importer.imported, len(problems), report, corrections)


# --- export -------------------------------------------------------------------------------


def _local(t: datetime | None) -> str | None:
    return t.astimezone(local_zone()).isoformat() if t is not None else None


def _amend_fields(values: dict[str, Any]) -> dict[str, Any]:
    flat = dict(values)
    if "location" in flat:
        loc = flat.pop("location")
        flat.update(lon=loc["lon"] if loc else None, lat=loc["lat"] if loc else None,
                    coord_sys=CoordSys.WGS84.value if loc else None)
    return {key: flat[key] for key in AMEND_KEYS if key in flat}


def event_record(e: Event) -> dict[str, Any]:
    record: dict[str, Any] = {"at": _local(e.at), "action": e.action.value}
    if e.actor is not None:
        record["actor"] = e.actor
    if e.action is Action.AMEND:
        record.update(_amend_fields(e.data.get("new", {})))
        record["old"] = _amend_fields(e.data.get("old", {}))
    else:
        record.update((key, e.data[key]) for key in EVENT_KEYS[e.action] if key in e.data)
    if e.note is not None:
        record["note"] = e.note
    if e.photos:
        record["photos"] = list(e.photos)
    return record


def assignment_record(a: Assignment) -> dict[str, Any]:
    return {"unit": a.unit_code, "started_at": _local(a.started_at),
            "deadline": _local(a.deadline), "handled_at": _local(a.handled_at),
            "ended": a.ended.value, "on_time": a.on_time}


def case_record(case: Case) -> dict[str, Any]:
    """One case in the interchange format, with its computed fields after the input ones."""
    loc = case.location
    reporter = ({"name": case.reporter_name, "phone": case.reporter_phone}
                if case.reporter_name is not None or case.reporter_phone is not None else None)
    return {
        "case_no": case.case_no, "source": case.source.value,
        "category_code": case.category_code, "urgency": case.urgency,
        "lon": loc.lon if loc else None, "lat": loc.lat if loc else None,
        "coord_sys": CoordSys.WGS84.value if loc else None,
        "grid_code": loc.grid_code if loc else None,
        "address": case.address, "description": case.description,
        "component_code": case.component_code, "reporter": reporter,
        "photos": list(case.photos), "events": [event_record(e) for e in case.events],
        "status": case.status.value,
        "community_code": loc.community_code if loc else None,
        "street_code": loc.street_code if loc else None,
        "assignments": [assignment_record(a) for a in case.assignments],
    }


def _reported_between(date_from: date | None, date_to: date | None) -> list[Any]:
    """Conditions selecting cases reported on local (Asia/Shanghai) days, both ends included."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"起始日期 {date_from} 晚于截止日期 {date_to}", code="invalid_period")
    conditions = []
    if date_from is not None:
        conditions.append(cases.c.reported_at >= datetime.combine(date_from, time(), local_zone()))
    if date_to is not None:
        end = datetime.combine(date_to + timedelta(days=1), time(), local_zone())
        conditions.append(cases.c.reported_at < end)
    return conditions


def export_cases(engine: Engine, out: TextIO, date_from: date | None = None,
                 date_to: date | None = None) -> int:
    """Write the cases reported in the period as JSON Lines, in case-number order."""
    conditions = _reported_between(date_from, date_to)
    count = 0
    with read_transaction(engine) as session:
        for case in iter_cases(session, *conditions):
            out.write(orjson.dumps(case_record(case), option=orjson.OPT_APPEND_NEWLINE).decode())
            count += 1
    return count
