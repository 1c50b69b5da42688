"""Load the city model from the store into an in-memory :class:`City`, set a new database up
with the shipped defaults (taxonomy, calendars), and the reads of the model that pages and the
API make beside the snapshot (the model's version, settings, regions' rows and shapes, rules,
permissions, users' names)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from xiuhua.domain.choices import Role
from xiuhua.domain.city import City
from xiuhua.domain.geo import GridIndex
from xiuhua.domain.lifecycle import Permissions
from xiuhua.domain.responsibility import Matrix, Rule
from xiuhua.domain.taxonomy import Taxonomy, parse_taxonomy_csv
from xiuhua.services.tabular import read_text
from xiuhua.store import city as store
from xiuhua.store.cases import Bind
from xiuhua.store.db import transaction
from xiuhua.store.migrate import upgrade
from xiuhua.store.tables import calendars, categories

DEFAULT_CALENDARS = [
    # name, label, periods, seven_day
    ("default", "标准工作日历", [["08:30", "12:00"], ["13:30", "17:30"]], False),
    ("center", "指挥中心全天候日历", [["00:00", "24:00"]], True),
]


def load_city(bind: Bind) -> City:
    infos, grids = store.load_regions(bind)
    return City(
        taxonomy=Taxonomy.of(store.load_classes(bind)),
        calendars=store.load_calendars(bind),
        regions=infos,
        grid_index=GridIndex(grids),
        units=store.load_units(bind),
        matrix=Matrix(store.load_rules(bind)),
        inspectors_by_grid=store.load_inspector_posts(bind),
        config=store.load_lifecycle_config(bind),
        permissions=store.load_permissions(bind),
    )


def shipped_taxonomy_text() -> str:
    return resources.files("xiuhua.data").joinpath("categories.csv").read_text(encoding="utf-8")


def init_database(engine: Engine) -> None:
    """Migrate to the latest schema and seed what a new city needs (idempotent)."""
    upgrade(engine)
    with transaction(engine) as session:
        if not session.execute(select(func.count()).select_from(categories)).scalar():
            store.save_classes(session, parse_taxonomy_csv(shipped_taxonomy_text()))
        have = set(session.execute(select(calendars.c.name)).scalars())
        for name, label, periods, seven_day in DEFAULT_CALENDARS:
            if name not in have:
                store.save_calendar(session, name, label, periods, seven_day=seven_day)


def import_taxonomy_file(engine: Engine, path: Path, encoding: str | None = None) -> int:
    """Insert or update classes from an edited taxonomy CSV (same columns as the shipped file).

    Classes are never deleted (cases refer to them): set ``active`` to 0 to retire one."""
    with transaction(engine) as session:
        return import_taxonomy(session, path, encoding)


def import_taxonomy(session: Session, path: Path, encoding: str | None = None) -> int:
    """:func:`import_taxonomy_file` in the caller's transaction."""
    classes = parse_taxonomy_csv(read_text(path, encoding))
    store.save_classes(session, classes)
    return len(classes)


class CityCache:
    """One City snapshot per process, reloaded when any process changed the model."""

    def __init__(self) -> None:
        self._city: City | None = None
        self._version = -1

    def get(self, bind: Bind) -> City:
        version = store.model_version(bind)
        if self._city is None or version != self._version:
            self._city, self._version = load_city(bind), version
        return self._city

    def fresh(self, bind: Bind) -> City | None:
        """The snapshot if it is still current (one small read), else None: :meth:`get` it."""
        if self._city is None or store.model_version(bind) != self._version:
            return None
        return self._city


# --- reads beside the snapshot (a Session; the tables are store.city's) ------------------------


def model_version(session: Session) -> int:
    """The city model's version (changed by every edit of the model: caches key on it)."""
    return store.model_version(session)


def setting(session: Session, key: str) -> Any:
    """A stored setting (JSON), None when unset."""
    return store.get_setting(session, key)


def region_rows(session: Session, level: str | None = None, parent: str | None = None,
                code: str | None = None) -> list[Any]:
    """Regions' rows with their geometry (:func:`xiuhua.store.city.region_rows`)."""
    return store.region_rows(session, level, parent, code)


def region_geometry(session: Session, code: str) -> Any:
    """A region's shape (shapely), None if it has none."""
    return store.region_geometry(session, code)


def responsibility_rules(session: Session) -> list[Rule]:
    return store.load_rules(session)


def permissions(session: Session) -> Permissions:
    """Who may take which action, as stored (the defaults where unset)."""
    return store.load_permissions(session)


def user_names(session: Session, logins: Iterable[str | None]) -> dict[str, str]:
    """Login → name of the users among ``logins``."""
    return store.user_names(session, logins)


def active_users(session: Session, role: Role) -> dict[str, str]:
    """Login → name of the active users of ``role``."""
    return store.active_users(session, role)
