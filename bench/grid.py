"""Point → grid: random points against synthetic grid polygons with ``GridIndex.locate_many``,
from coordinate arrays to grid codes. Target ≥ 500 k points/s.

Grids are the Voronoi cells of uniformly random seeds over a 12 × 12 km box (≈ 10,000 m² per
grid at 15 k grids, the standard grid size), densified to ≈ 30 vertices each like grids drawn
along streets; the plain Voronoi cells (≈ 6 vertices) are measured too. Baselines, on the same
data: shapely's vectorised ``STRtree.query(predicate="intersects")``, per-point Python loops
(on a sample, extrapolated) and PostGIS ``ST_Contains`` with a GiST index."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import shapely
from shapely import Polygon

from bench.common import Context, fmt, log, show, table, timed
from xiuhua.domain.geo import GridIndex, to_wgs84

BOX = (117.00, 36.60, 117.135, 36.71)  # ≈ 12.1 × 12.2 km around 36.65°N
DENSIFY = 1.4e-4  # degrees: max segment length giving ≈ 30 vertices per grid


def make_grids(n: int, seed: int, densify: bool) -> list[tuple[str, Polygon]]:
    """``n`` grid polygons tiling the box."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = BOX
    seeds = shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.box(*BOX)))
    cells = shapely.intersection(cells, shapely.box(*BOX))
    if densify:
        cells = shapely.segmentize(cells, DENSIFY)
    return [(f"370199{i:09d}", cell) for i, cell in enumerate(cells)]


def make_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    x0, y0, x1, y1 = BOX
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)


def vertices(grids: list[tuple[str, Polygon]]) -> float:
    return float(np.mean(shapely.get_num_coordinates(np.array([g for _, g in grids], dtype=object))))


# --- the product and the shapely baselines --------------------------------------------------


def shapely_vectorised(grids: list[tuple[str, Polygon]], lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Baseline: the textbook vectorised STRtree query, lowest code per point."""
    geoms = np.array([g for _, g in grids], dtype=object)
    codes = np.array([c for c, _ in grids] + [None], dtype=object)
    tree = shapely.STRtree(geoms)
    point_idx, grid_idx = tree.query(shapely.points(lons, lats), predicate="intersects")
    best = np.full(len(lons), len(grids), dtype=np.intp)
    np.minimum.at(best, point_idx, grid_idx)
    return codes[best]


def naive_loop(grids: list[tuple[str, Polygon]], lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
    """Baseline: a per-point Python loop over an STRtree, one shapely Point at a time."""
    geoms = [g for _, g in grids]
    codes = [c for c, _ in grids]
    tree = shapely.STRtree(geoms)
    found: list[str | None] = []
    for x, y in zip(lons.tolist(), lats.tolist(), strict=True):
        hits = tree.query(shapely.Point(x, y), predicate="intersects")
        found.append(codes[int(hits.min())] if len(hits) else None)
    return found


def breakdown(index: GridIndex, lons: np.ndarray, lats: np.ndarray) -> dict[str, float]:
    """Where ``locate_many`` spends its time: the same steps, timed one by one."""
    tree, geoms = index._tree, index._geoms
    steps: dict[str, float] = {}
    t = time.perf_counter()
    pts = shapely.points(lons, lats)
    steps["make points"] = time.perf_counter() - t
    t = time.perf_counter()
    p_idx, g_idx = tree.query(pts)
    steps["STRtree envelope query"] = time.perf_counter() - t
    t = time.perf_counter()
    hit = shapely.intersects_xy(geoms[g_idx], lons[p_idx], lats[p_idx])
    steps["intersects_xy (prepared)"] = time.perf_counter() - t
    t = time.perf_counter()
    best = np.full(len(lons), len(index), dtype=np.intp)
    np.minimum.at(best, p_idx[hit], g_idx[hit])
    steps["lowest code per point"] = time.perf_counter() - t
    steps["candidates per point"] = len(g_idx) / len(lons)
    return steps


# --- PostGIS ---------------------------------------------------------------------------------


def postgis(ctx: Context, grids: list[tuple[str, Polygon]], lons: np.ndarray, lats: np.ndarray) -> dict[str, Any]:
    """ST_Contains with a GiST index on the same grids and points (in the throw-away cluster)."""
    import psycopg

    assert ctx.pg is not None
    url = ctx.pg.libpq(ctx.pg.create("xh_bench_geo").rsplit("/", 1)[1])
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION postgis")
        except psycopg.Error as exc:
            return {"error": f"PostGIS not available: {exc}".splitlines()[0]}
        version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]  # type: ignore[index]
        load_s = _load_postgis(conn, grids, lons, lats)
        sql = ("SELECT p.id, g.code FROM pts p JOIN grids g "
               "ON ST_Contains(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql).fetchall())
        first, best, rows = timed(lambda: conn.execute(sql).fetchall(), repeat=2)
    return {"version": version, "load_s": load_s, "first_s": first, "best_s": best,
            "points_per_s": len(lons) / best, "matched": len(rows), "plan": plan}


def _load_postgis(conn: Any, grids: list[tuple[str, Polygon]], lons: np.ndarray, lats: np.ndarray) -> float:
    start = time.perf_counter()
    conn.execute("CREATE TABLE grids (code text PRIMARY KEY, geom geometry(Polygon, 4326) NOT NULL)")
    conn.execute("CREATE TABLE pts (id integer PRIMARY KEY, lon float8 NOT NULL, lat float8 NOT NULL)")
    with conn.cursor().copy("COPY grids (code, geom) FROM STDIN") as copy:
        for code, geom in grids:
            copy.write_row((code, "SRID=4326;" + shapely.to_wkt(geom, rounding_precision=-1)))
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([np.arange(len(lons)), lons, lats]), fmt=["%d", "%.9f", "%.9f"], delimiter="\t")
    with conn.cursor().copy("COPY pts (id, lon, lat) FROM STDIN") as copy:
        copy.write(buf.getvalue())
    conn.execute("CREATE INDEX ON grids USING gist (geom)")
    conn.execute("ANALYZE grids")
    conn.execute("ANALYZE pts")
    return time.perf_counter() - start


# --- the benchmark ---------------------------------------------------------------------------


def _product(grids: list[tuple[str, Polygon]], lons: np.ndarray, lats: np.ndarray) -> dict[str, Any]:
    build_s, _, index = timed(lambda: GridIndex(grids))
    first, best, codes = timed(lambda: index.locate_many(lons, lats), repeat=3)
    return {"build_s": build_s, "first_s": first, "best_s": best, "points_per_s": len(lons) / best,
            "codes": codes, "index": index}


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    log(f"point → grid: {sizes.grids:,} grids, {sizes.points:,} points")
    lons, lats = make_points(sizes.points, ctx.seed)
    out: dict[str, Any] = {"grids": sizes.grids, "points": sizes.points, "target_points_per_s": 500_000}
    plain = make_grids(sizes.grids, ctx.seed, densify=False)
    dense = make_grids(sizes.grids, ctx.seed, densify=True)
    out["vertices"] = {"plain": vertices(plain), "dense": vertices(dense)}
    rows = []
    for label, grids in (("dense", dense), ("plain", plain)):
        prod = _product(grids, lons, lats)
        out[f"product_{label}"] = {k: v for k, v in prod.items() if k not in ("codes", "index")}
        rows.append([f"GridIndex.locate_many ({label}, {out['vertices'][label]:.0f} vertices)",
                     fmt(prod["points_per_s"]), fmt(prod["best_s"], 3), "product"])
        if label == "dense":
            codes, index = prod["codes"], prod["index"]
    base = _baselines(ctx, dense, lons, lats, codes, index)
    out.update(base)
    for key, label in (("shapely_vectorised", "shapely STRtree.query(predicate='intersects'), vectorised"),
                       ("product_loop", "GridIndex.locate per point (Python loop, sample)"),
                       ("naive_loop", "shapely per-point loop (sample)")):
        rows.append([label, fmt(base[key]["points_per_s"]), fmt(base[key]["seconds"], 3), "baseline"])
    if "postgis" in base and "error" not in base["postgis"]:
        pg = base["postgis"]
        rows.append([f"PostGIS {pg['version']} ST_Contains + GiST ({pg['points']:,} points)",
                     fmt(pg["points_per_s"]), fmt(pg["best_s"], 3), "baseline"])
    gcj = base["gcj02_to_wgs84"]
    rows.append(["to_wgs84 from GCJ-02 (before locating app points)", fmt(gcj["points_per_s"]),
                 fmt(gcj["seconds"], 3), "product, extra step"])
    show(table(f"Point → grid: {sizes.points:,} points, {sizes.grids:,} grids (target ≥ 500,000 points/s)",
               ["what", "points/s", "seconds", "kind"], rows))
    show("locate_many breakdown (dense grids): " + ", ".join(
        f"{k} {v:.3f}" + ("" if k.startswith("candidates") else " s") for k, v in out["breakdown"].items()))
    return out


def _baselines(ctx: Context, grids: list[tuple[str, Polygon]], lons: np.ndarray, lats: np.ndarray,
               codes: np.ndarray, index: GridIndex) -> dict[str, Any]:
    n, sample = len(lons), min(ctx.sizes.loop_sample, len(lons))
    _, best, vec = timed(lambda: shapely_vectorised(grids, lons, lats), repeat=2)
    out: dict[str, Any] = {"shapely_vectorised": {"seconds": best, "points_per_s": n / best,
                                                  "agrees": bool((vec == codes).all())}}
    _, best, single = timed(lambda: [index.locate(x, y) for x, y in zip(lons[:sample].tolist(),
                                                                      lats[:sample].tolist(), strict=True)])
    out["product_loop"] = {"sample": sample, "seconds": best * n / sample, "points_per_s": sample / best,
                           "agrees": list(single) == list(codes[:sample])}
    _, best, naive = timed(lambda: naive_loop(grids, lons[:sample], lats[:sample]))
    out["naive_loop"] = {"sample": sample, "seconds": best * n / sample, "points_per_s": sample / best,
                         "agrees": naive == list(codes[:sample])}
    _, best, _ = timed(lambda: to_wgs84(lons, lats, "gcj02"))
    out["gcj02_to_wgs84"] = {"seconds": best, "points_per_s": n / best}
    out["breakdown"] = breakdown(index, lons, lats)
    if ctx.pg is not None:
        m = min(ctx.sizes.postgis_points, n)
        log(f"PostGIS baseline on {m:,} points")
        pg = postgis(ctx, grids, lons[:m], lats[:m])
        pg["points"] = m
        if "matched" in pg:
            pg["agrees"] = pg["matched"] >= m
        out["postgis"] = pg
    return out
