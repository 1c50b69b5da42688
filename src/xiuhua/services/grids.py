"""Making unit grids (单元网格) for communities that have none: ``xiuhua make grids --size 100``.

Each community without grids is cut by :func:`xiuhua.domain.grids.cut_grids`; its grids get
the community's code plus a three-digit serial in row order (…001, …002). All communities or
none: one that would need more than 999 grids refuses the whole run, naming the size that fits."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.errors import BatchInvalid, InvalidInput, NotFound
from xiuhua.domain.grids import MAX_GRIDS, check_size, cut_grids, size_that_fits
from xiuhua.services.regions import RegionFeature, save_regions
from xiuhua.store import city as store
from xiuhua.store.db import transaction


@dataclass(frozen=True)
class GridsMade:
    community_code: str
    community_name: str
    count: int


def make_grids(engine: Engine, size_m: float, community: str | None = None) -> list[GridsMade]:
    with transaction(engine) as session:
        return make_grids_in(session, size_m, community)


def _communities(session: Session, community: str | None) -> list[tuple[str, str]]:
    """(code, name) of the communities to cut: those without grids, or the one named."""
    infos, _grids = store.load_regions(session)
    with_grids = {info.parent_code for info in infos.values() if info.level is RegionLevel.GRID}
    if community is None:
        return [(code, info.name) for code, info in infos.items()
                if info.level is RegionLevel.COMMUNITY and code not in with_grids]
    info = infos.get(community)
    if info is None or info.level is not RegionLevel.COMMUNITY:
        raise NotFound(f"社区“{community}”不存在", code="region_not_found")
    if community in with_grids:
        raise InvalidInput(f"社区 {community} {info.name} 已有单元网格，未重新划分", code="grids_exist")
    return [(community, info.name)]


def make_grids_in(session: Session, size_m: float, community: str | None = None) -> list[GridsMade]:
    """Cut the communities without grids (or ``community``) into grids of ``size_m`` metres."""
    size = check_size(size_m)
    made: list[GridsMade] = []
    features: list[RegionFeature] = []
    too_many: list[str] = []
    for code, name in _communities(session, community):
        shape = store.region_geometry(session, code)
        cut = cut_grids(shape, size)
        if len(cut) > MAX_GRIDS:
            too_many.append(f"社区 {code} {name}：需要 {len(cut)} 个网格，边长至少 "
                            f"{size_that_fits(shape, size):g} 米才能不超过 {MAX_GRIDS} 个")
            continue
        features += [RegionFeature(f"{code}{serial:03d}", f"{name}{serial:03d}网格", geom,
                                   level=RegionLevel.GRID.value, parent_code=code)
                     for serial, geom in enumerate(cut.geometries, start=1)]
        made.append(GridsMade(code, name, len(cut)))
    if too_many:
        raise BatchInvalid(f"有 {len(too_many)} 个社区的网格超过 {MAX_GRIDS} 个，未划分任何网格",
                           too_many, code="too_many_grids")
    if features:
        save_regions(session, features)
    return made
