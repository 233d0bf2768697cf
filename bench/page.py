"""Section ``page``: one page of 100 out of 10k and 100k records, kv's listing against Kuma's.

kv asks Postgres for the page (``LIMIT``/``OFFSET`` and the total, in one statement). Kuma's
``PaginationStore`` loads every record of the type (``SELECT ... WHERE type = $1``, no order), decodes
them all, sorts them by (mesh, name) and slices the page in memory; that is reproduced here with bare
psycopg. Also shown: bare psycopg running kv's own page SQL (kv's overhead on a page). Pages at offset 0
and in the middle; the records spread over four meshes, in the ``resources`` table alone.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bench.common import Op, Sample, fmt, loads, one, ratio, run_threads, spread, summary, table
from bench.pgsetup import bulk_load
from bench.sides import TYPE, KvSide, RawSide

PAGE = 100
KUMA_LIST = (
    "SELECT name, mesh, spec, version, creation_time, modification_time, labels::text, status::text "
    "FROM resources WHERE type = %s"
)
WAYS = ("kv", "raw", "kuma")


def _kuma(conn: psycopg.Connection[Any], offset: int) -> Op:
    def op(i: int) -> object:
        items = [
            (
                mesh,
                name,
                loads(spec),
                version,
                ctime,
                mtime,
                loads(labels or "{}"),
                loads(status),
            )
            for name, mesh, spec, version, ctime, mtime, labels, status in conn.execute(KUMA_LIST, (TYPE,))
        ]
        items.sort(key=lambda item: (item[0], item[1]))
        return items[offset : offset + PAGE], len(items)

    return op


def run(dsn: str, *, quick: bool, runs: int, log: Any) -> dict[str, Any]:
    """Load the records, then at each size time every way of getting each page, *runs* times."""
    sizes = (500, 2000) if quick else (10_000, 100_000)
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute("DELETE FROM resources WHERE type = %s", (TYPE,))
    kv_side, raw_side = KvSide(dsn, 1), RawSide(dsn, 1)
    loaded, rows = 0, []
    try:
        for size in sizes:
            bulk_load(admin, TYPE, [(f"bench-page-{i % 4}", f"dp-{i:06d}") for i in range(loaded, size)])
            loaded = size
            admin.execute("VACUUM ANALYZE resources")
            many = 2 if quick else (20 if size <= 10_000 else 6)  # calls per timed run
            few = 1 if quick or size > 10_000 else 3
            for offset in (0, size // 2):
                ops: dict[str, Op] = {
                    "kv": kv_side.page(PAGE, offset),
                    "raw": raw_side.page(PAGE, offset),
                    "kuma": _kuma(raw_side.connections[0], offset),
                }
                for op in ops.values():
                    op(0)  # warm
                samples: dict[str, list[Sample]] = {way: [] for way in WAYS}
                for rep in range(runs):
                    for way in WAYS if rep % 2 == 0 else WAYS[::-1]:
                        calls = few if way == "kuma" else many
                        samples[way].append(run_threads(one(ops[way]), 1, calls))
                rows.append(_row(size, offset, samples))
                log(f"page: {size} records, offset {offset} done")
    finally:
        admin.execute("DELETE FROM resources WHERE type = %s", (TYPE,))
        kv_side.close()
        raw_side.close()
        admin.close()
    growth = {}
    for where, index in (("first page", 0), ("middle page", 1)):
        small, large = rows[index]["kv"]["p50_ms"]["median"], rows[2 + index]["kv"]["p50_ms"]["median"]
        growth[where] = large / small
    return {"page_size": PAGE, "sizes": list(sizes), "rows": rows, "kv_growth_small_to_large": growth}


def _ms(figures: dict[str, Any]) -> dict[str, Any]:
    """Latencies in ms (a page is milliseconds, not microseconds)."""
    out = dict(figures)
    for name in ("p50", "p99"):
        us = out.pop(f"{name}_us")
        out[f"{name}_ms"] = {k: v / 1000 if k != "runs" else v for k, v in us.items()}
    return out


def _row(size: int, offset: int, samples: dict[str, list[Sample]]) -> dict[str, Any]:
    return {
        "records": size,
        "offset": offset,
        **{way: _ms(summary(samples[way])) for way in WAYS},
        "ratio_kuma_over_kv": ratio(samples["kuma"], samples["kv"]),
        "ratio_kv_over_raw": ratio(samples["kv"], samples["raw"]),
        "kv_mean_ms": spread(s.seconds / s.ops * 1000 for s in samples["kv"]),
    }


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    rows = [
        [
            f"{r['records']:,}",
            f"{r['offset']:,}",
            fmt(r["kv"]["p50_ms"], 2),
            fmt(r["raw"]["p50_ms"], 2),
            fmt(r["kuma"]["p50_ms"], 1),
            fmt(r["ratio_kuma_over_kv"], 1),
            fmt(r["ratio_kv_over_raw"], 2),
        ]
        for r in result["rows"]
    ]
    header = ["records", "offset", "kv ms", "raw (kv SQL) ms", "Kuma load-all ms", "Kuma/kv", "kv/raw"]
    title = f"Pagination: a page of {result['page_size']} (median [min, max] over runs)"
    growth = result["kv_growth_small_to_large"]
    note = (
        f"kv, {result['sizes'][-1]:,} vs {result['sizes'][0]:,} records: first page "
        f"{growth['first page']:.1f}x the time, middle page {growth['middle page']:.1f}x (flat would be 1x)\n"
    )
    return table(title, header, rows) + note
