"""Section ``pg``: kv on Postgres against raw psycopg 3 running the same SQL, at 1, 2 and 8 threads.

Same server, database and ``resources`` table, autocommit on both sides, the same ~1.2 KB Dataplane spec,
rows decoded on both sides. Operations: create, get (out of 1k records), update (compare-and-set on 4 hot
keys: conflicts counted, lost updates checked), delete, and a full list of 1k and of 10k records. Each
repetition runs every cell for both sides back to back, the side going first alternating, so that both
see the same machine load; the ratio kv/raw (time per operation) is taken within each repetition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from bench.common import Sample, fmt, ratio, run_threads, spread, summary, table
from bench.pgsetup import bulk_load
from bench.sides import TYPE, KvSide, RawSide, Tally

CONCURRENCY = (1, 2, 8)
HOT_KEYS = 4
OPS = ("create", "get", "update", "delete", "list-small", "list-large")
Side = KvSide | RawSide


class _Cells:
    """Builds and runs one cell (operation, threads) of one side, and checks compare-and-set runs."""

    def __init__(self, admin: psycopg.Connection[Any], sizes: tuple[int, int], n: dict[str, int]) -> None:
        self.admin = admin
        self.sizes = sizes
        self.n = n
        self.names = {size: [f"dp-{i:06d}" for i in range(size)] for size in sizes}
        self.hot = [f"hot-{k}" for k in range(HOT_KEYS)]

    def load(self) -> None:
        for size in self.sizes:
            bulk_load(self.admin, TYPE, [(f"bench-list-{size}", name) for name in self.names[size]])
        for side in ("kv", "raw"):
            bulk_load(self.admin, TYPE, [(f"bench-hot-{side}", name) for name in self.hot])

    def _counters(self, mesh: str) -> dict[str, tuple[int, int]]:
        rows = self.admin.execute(
            "SELECT name, (spec::json->>'counter')::int, version FROM resources"
            " WHERE type = %s AND mesh = %s",
            (TYPE, mesh),
        ).fetchall()
        return {name: (counter, version) for name, counter, version in rows}

    def run(self, side: Side, op: str, threads: int, tag: str, n: int | None = None) -> Sample:
        n = n or self.n[op]
        small, large = self.sizes
        mesh = f"bench-ops-{side.name}"
        if op == "create":
            return run_threads(side.create(mesh, tag), threads, n)
        if op == "delete":
            return run_threads(side.delete(mesh, tag), threads, n)
        if op == "get":
            return run_threads(side.get(f"bench-list-{small}", self.names[small]), threads, n)
        if op in ("list-small", "list-large"):
            size = small if op == "list-small" else large
            return run_threads(side.list_all(f"bench-list-{size}", size), threads, n)
        hot = f"bench-hot-{side.name}"
        before = self._counters(hot)
        tally = Tally(threads, HOT_KEYS)
        sample = run_threads(side.update(hot, self.hot, tally), threads, n)
        after = self._counters(hot)
        lost = 0
        for name, done in zip(self.hot, tally.per_key(), strict=True):
            lost += done - (after[name][0] - before[name][0])  # updates acknowledged but not applied
            assert after[name][1] - before[name][1] == done, "versions must advance once per update"
        sample.extra = {"conflicts": sum(tally.conflicts), "lost_updates": lost}
        return sample


def run(dsn: str, *, quick: bool, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Measure every (operation, concurrency) cell *runs* times on both sides; figures per cell."""
    sizes = (100, 300) if quick else (1000, 10000)
    n = dict.fromkeys(OPS, 40 if quick else 4000) | {
        "list-small": 4 if quick else 200,
        "list-large": 2 if quick else 24,
    }
    admin = psycopg.connect(dsn, autocommit=True)
    cells = _Cells(admin, sizes, n)
    cells.load()
    sides: list[Side] = [KvSide(dsn, max(CONCURRENCY)), RawSide(dsn, max(CONCURRENCY))]
    samples: dict[tuple[str, int, str], list[Sample]] = {}
    try:
        if not quick:  # warm both sides: connections, prepared statements, caches
            for side in sides:
                for op in OPS:
                    cells.run(side, op, 2, "warm", n=min(n[op], 200))
        for rep in range(runs):
            order = sides if rep % 2 == 0 else sides[::-1]
            for threads in CONCURRENCY:
                for op in OPS:
                    for side in order:
                        sample = cells.run(side, op, threads, f"r{rep}c{threads}")
                        samples.setdefault((op, threads, side.name), []).append(sample)
                log(f"pg: run {rep + 1}/{runs}, {threads} thread(s) done")
    finally:
        for side in sides:
            side.close()
        admin.close()
    rows = []
    for op in OPS:
        for threads in CONCURRENCY:
            ours, base = samples[(op, threads, "kv")], samples[(op, threads, "raw")]
            row: dict[str, Any] = {
                "op": _label(op, sizes),
                "concurrency": threads,
                "kv": summary(ours),
                "raw": summary(base),
                "ratio_kv_over_raw": ratio(ours, base),
            }
            if op == "update":
                row["conflicts"] = {
                    s: spread(x.extra["conflicts"] for x in v) for s, v in (("kv", ours), ("raw", base))
                }
                row["lost_updates"] = {"kv": sum(x.extra["lost_updates"] for x in ours)}
                row["lost_updates"]["raw"] = sum(x.extra["lost_updates"] for x in base)
            rows.append(row)
    return {"sizes": list(sizes), "hot_keys": HOT_KEYS, "rows": rows}


def _label(op: str, sizes: tuple[int, int]) -> str:
    if op.startswith("list"):
        return f"list {sizes[0] if op == 'list-small' else sizes[1]}"
    return "update (CAS)" if op == "update" else op


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    rows = []
    for r in result["rows"]:
        kv_, raw = r["kv"], r["raw"]
        extra = ""
        if "conflicts" in r:
            c, lost = r["conflicts"], r["lost_updates"]
            extra = f"{c['kv']['median']:.0f}/{c['raw']['median']:.0f}, lost {lost['kv']}/{lost['raw']}"
        rows.append(
            [
                r["op"],
                str(r["concurrency"]),
                fmt(kv_["ops_per_s"]),
                fmt(raw["ops_per_s"]),
                f"{kv_['p50_us']['median']:,.0f} / {kv_['p99_us']['median']:,.0f}",
                f"{raw['p50_us']['median']:,.0f} / {raw['p99_us']['median']:,.0f}",
                fmt(r["ratio_kv_over_raw"], 2),
                extra,
            ]
        )
    header = [
        "op",
        "thr",
        "kv ops/s",
        "raw ops/s",
        "kv p50/p99 µs",
        "raw p50/p99 µs",
        "kv/raw",
        "conflicts kv/raw",
    ]
    return table("Postgres: kv.Store vs raw psycopg 3, same SQL (median [min, max] over runs)", header, rows)
