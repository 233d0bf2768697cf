"""Section ``memory``: kv's memory driver through kv.Store against a bare dict and json doing the same work.

The bare side is the floor any in-memory store pays: a dict lookup by (type, mesh, name), a lock around
writes, a version check and bump, a timestamp, the spec serialised on the way in and parsed on the way
out (which is also the caller's private copy). What kv adds on top (argument checks, records, events) is
the ratio kv/bare. One thread: the GIL makes more threads measure the lock, not the store.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import attrs

import kv
from bench.common import (
    JSON_CODEC,
    LABELS,
    Op,
    Sample,
    dataplane_spec,
    dumps,
    fmt,
    loads,
    one,
    ratio,
    run_threads,
    summary,
    table,
)
from kv.drivers.memory import MemoryDriver

TYPE = "Dataplane"
SPEC = dataplane_spec()
OPS = ("create", "get", "update (CAS)", "delete", "list")
_dumps, _loads = dumps, loads

Row = tuple[str, str, dict[str, str], datetime, datetime, int]  # spec, status, labels, ctime, mtime, version


class Bare:
    """A dict of rows per type, JSON text in, fresh objects out."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tables: dict[str, dict[tuple[str, str], Row]] = {}

    @staticmethod
    def _out(key: tuple[str, str, str], row: Row) -> dict[str, Any]:
        spec, status, labels, ctime, mtime, version = row
        out = {"spec": _loads(spec), "status": _loads(status), "labels": dict(labels)}
        return out | {"key": key, "creation_time": ctime, "modification_time": mtime, "version": version}

    def create(self, type: str, mesh: str, name: str, spec: dict[str, Any], labels: dict[str, str]) -> Any:
        text, now = _dumps(spec), datetime.now(UTC)
        row = (text, "{}", dict(labels), now, now, 1)
        with self.lock:
            table = self.tables.setdefault(type, {})
            if (mesh, name) in table:
                raise KeyError(name)
            table[mesh, name] = row
        return self._out((type, mesh, name), row)

    def get(self, type: str, mesh: str, name: str) -> Any:
        return self._out((type, mesh, name), self.tables[type][mesh, name])

    def update(self, type: str, mesh: str, name: str, spec: dict[str, Any], expected: int) -> Any:
        text, now = _dumps(spec), datetime.now(UTC)
        with self.lock:
            table = self.tables[type]
            old = table.get((mesh, name))
            if old is None or old[5] != expected:
                raise KeyError(name)
            table[mesh, name] = row = (text, old[1], old[2], old[3], now, expected + 1)
        return self._out((type, mesh, name), row)

    def delete(self, type: str, mesh: str, name: str) -> None:
        with self.lock:
            del self.tables[type][mesh, name]

    def list(self, type: str, mesh: str) -> list[Any]:
        with self.lock:
            rows = sorted(item for item in self.tables[type].items() if item[0][0] == mesh)
        return [self._out((type, *key), row) for key, row in rows]


def _kv_ops(store: kv.Store, names: list[str]) -> dict[str, Op]:
    held = {"r": store.get(TYPE, "bench-hot", "hot")}

    def update(i: int) -> None:
        record = held["r"]
        held["r"] = store.update(
            attrs.evolve(record, spec={**record.spec, "counter": record.spec["counter"] + 1})
        )

    return {
        "create": lambda i: store.create(
            kv.Record(key=kv.Key(TYPE, "ops", f"n-{i}"), spec=SPEC, labels=LABELS)
        ),
        "get": lambda i: store.get(TYPE, "bench-list", names[i % len(names)]),
        "update (CAS)": update,
        "delete": lambda i: store.delete(TYPE, "ops", f"n-{i}"),
        "list": lambda i: store.list(TYPE, mesh="bench-list"),
    }


def _bare_ops(bare: Bare, names: list[str]) -> dict[str, Op]:
    held = {"r": bare.get(TYPE, "bench-hot", "hot")}

    def update(i: int) -> None:
        record = held["r"]
        spec = {**record["spec"], "counter": record["spec"]["counter"] + 1}
        held["r"] = bare.update(TYPE, "bench-hot", "hot", spec, record["version"])

    return {
        "create": lambda i: bare.create(TYPE, "ops", f"n-{i}", SPEC, LABELS),
        "get": lambda i: bare.get(TYPE, "bench-list", names[i % len(names)]),
        "update (CAS)": update,
        "delete": lambda i: bare.delete(TYPE, "ops", f"n-{i}"),
        "list": lambda i: bare.list(TYPE, "bench-list"),
    }


def run(*, quick: bool, runs: int) -> dict[str, Any]:
    """Each operation *runs* times on each side, the side going first alternating."""
    size = 100 if quick else 1000
    n = dict.fromkeys(OPS, 200 if quick else 20000) | {"list": 5 if quick else 300}
    names = [f"dp-{i:06d}" for i in range(size)]
    store, bare = kv.Store(MemoryDriver()), Bare()
    for i, name in enumerate(names):
        store.create(kv.Record(key=kv.Key(TYPE, "bench-list", name), spec=dataplane_spec(i), labels=LABELS))
        bare.create(TYPE, "bench-list", name, dataplane_spec(i), LABELS)
    store.create(kv.Record(key=kv.Key(TYPE, "bench-hot", "hot"), spec=SPEC, labels=LABELS))
    bare.create(TYPE, "bench-hot", "hot", SPEC, LABELS)
    sides = {"kv": _kv_ops(store, names), "bare": _bare_ops(bare, names)}
    samples: dict[tuple[str, str], list[Sample]] = {}
    for rep in range(runs + (0 if quick else 1)):  # the first full run warms up and is dropped
        order = ("kv", "bare") if rep % 2 == 0 else ("bare", "kv")
        for op in OPS:
            for side in order:
                sample = run_threads(one(sides[side][op]), 1, n[op])
                if quick or rep > 0:
                    samples.setdefault((op, side), []).append(sample)
    rows = []
    for op in OPS:
        ours, base = samples[(op, "kv")], samples[(op, "bare")]
        label = f"list {size}" if op == "list" else op
        row = {
            "op": label,
            "kv": summary(ours),
            "bare": summary(base),
            "ratio_kv_over_bare": ratio(ours, base),
        }
        rows.append(row)
    return {
        "size": size,
        "bare_json_codec": JSON_CODEC,
        "rows": rows,
        "scale": _scale(quick=quick, runs=runs),
    }


SCALE = (1_000, 10_000, 100_000)


def _scale(*, quick: bool, runs: int) -> list[dict[str, Any]]:
    """Create, delete and a page of 100 (mid-table) at each table size: flat when they cost O(log n)."""
    n = 100 if quick else 5000
    out = []
    for size in (100, 1000) if quick else SCALE:
        cells = _sized(size, n, runs)
        out += [{"records": size, "op": op, "kv": summary(samples)} for op, samples in cells.items()]
    return out


def _sized(size: int, n: int, runs: int) -> dict[str, list[Sample]]:
    store = kv.Store(MemoryDriver())
    for i in range(size):
        store.create(kv.Record(key=kv.Key(TYPE, f"m-{i % 4}", f"dp-{i:07d}"), spec=SPEC))
    cells: dict[str, list[Sample]] = {}
    for rep in range(runs):
        tag = f"new-{rep}"

        def create(i: int, tag: str = tag) -> None:
            store.create(kv.Record(key=kv.Key(TYPE, f"m-{i % 4}", f"{tag}-{i:07d}"), spec=SPEC))

        def delete(i: int, tag: str = tag) -> None:
            store.delete(TYPE, f"m-{i % 4}", f"{tag}-{i:07d}")

        def page(i: int) -> None:
            store.list(TYPE, page_size=100, offset=str(size // 2))

        for op, fn, ops in (("create", create, n), ("delete", delete, n), ("page of 100", page, n // 10)):
            cells.setdefault(op, []).append(run_threads(one(fn), 1, ops))
    return cells


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    rows = [
        [
            r["op"],
            fmt(r["kv"]["ops_per_s"]),
            fmt(r["bare"]["ops_per_s"]),
            f"{r['kv']['p50_us']['median']:,.1f} / {r['kv']['p99_us']['median']:,.1f}",
            f"{r['bare']['p50_us']['median']:,.1f} / {r['bare']['p99_us']['median']:,.1f}",
            fmt(r["ratio_kv_over_bare"], 2),
        ]
        for r in result["rows"]
    ]
    header = ["op", "kv ops/s", "bare ops/s", "kv p50/p99 µs", "bare p50/p99 µs", "kv/bare"]
    title = f"Memory: kv.Store on the memory driver vs a bare dict + {result['bare_json_codec']} (1 thread)"
    text = table(title, header, rows)
    scale = result.get("scale", [])
    if scale:
        smallest = {
            r["op"]: r["kv"]["p50_us"]["median"] for r in scale if r["records"] == scale[0]["records"]
        }
        scale_rows = [
            [
                f"{r['records']:,}",
                r["op"],
                f"{r['kv']['p50_us']['median']:,.1f}",
                f"{r['kv']['p50_us']['median'] / smallest[r['op']]:.2f}",
            ]
            for r in scale
        ]
        header = ["records", "op", "p50 µs", f"vs {scale[0]['records']:,} records"]
        text += "\n" + table("Memory: cost by table size (flat is O(log n))", header, scale_rows)
    return text
