"""Section ``notify``: kv's writes on Postgres with and without Kuma's NOTIFY trigger, at 1 and 8 threads.

Kuma's migrations put a row trigger on ``resources`` that calls ``pg_notify`` for every change, which
is how every instance learns of writes. NOTIFY takes a lock that is global to the cluster from the
notifying transaction's commit until it is done: commits that notify are serialized, so concurrent
writers cannot share a WAL flush (../shared/reference/kuma-runtime-findings.md G4). Here the same kv
creates and updates run with the trigger as migrated, then with it disabled (``ALTER TABLE resources
DISABLE TRIGGER``), in alternating order per repetition; updates are compare-and-sets on keys of the
thread's own, so no two writers conflict. The figures matter with ``fsync=on`` (the bench's default): with
``fsync=off`` a commit costs no flush to serialize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import psycopg

import kv
from bench.common import LABELS, Op, Sample, fmt, ratio, run_threads, summary, table
from bench.sides import SPEC, TYPE

CONCURRENCY = (1, 8)
OPS = ("create", "update")
TRIGGER = "products_notify_event"  # Kuma's name, from its first migrations


def _create(store: kv.Store, tag: str) -> Callable[[int], Op]:
    def make(t: int) -> Op:
        return lambda i: store.create(
            kv.Record(key=kv.Key(TYPE, "notify", f"{tag}-{t}-{i}"), spec=SPEC, labels=LABELS)
        )

    return make


def _update(store: kv.Store, tag: str) -> Callable[[int], Op]:
    def make(t: int) -> Op:
        held = [
            store.create(kv.Record(key=kv.Key(TYPE, "notify", f"{tag}-{t}-{k}"), spec=SPEC)) for k in range(4)
        ]

        def op(i: int) -> None:
            record = held[i % 4]
            held[i % 4] = store.update(attrs.evolve(record, spec={**record.spec, "counter": i}))

        return op

    return make


def _trigger(admin: psycopg.Connection[Any], enabled: bool) -> None:
    action = "ENABLE" if enabled else "DISABLE"
    admin.execute(f"ALTER TABLE resources {action} TRIGGER {TRIGGER}")


def run(dsn: str, *, quick: bool, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Every (operation, threads) cell with the trigger on and off, *runs* times."""
    from kv.drivers.postgres import PostgresDriver

    n = 40 if quick else 2000
    store = kv.Store(PostgresDriver.from_url(dsn, max_open_connections=max(CONCURRENCY)))
    admin = psycopg.connect(dsn, autocommit=True)
    samples: dict[tuple[str, int, bool], list[Sample]] = {}
    try:
        for rep in range(runs):
            for threads in CONCURRENCY:
                for op in OPS:
                    for enabled in (True, False) if rep % 2 == 0 else (False, True):
                        _trigger(admin, enabled)
                        tag = f"{op}-r{rep}c{threads}{'t' if enabled else 'n'}"
                        make = (_create if op == "create" else _update)(store, tag)
                        samples.setdefault((op, threads, enabled), []).append(run_threads(make, threads, n))
            log(f"notify: run {rep + 1}/{runs} done")
    finally:
        _trigger(admin, True)
        admin.execute("DELETE FROM resources WHERE mesh = 'notify'")
        admin.close()
        store.close()
    rows = [
        {
            "op": op,
            "concurrency": threads,
            "with_trigger": summary(samples[op, threads, True]),
            "without_trigger": summary(samples[op, threads, False]),
            "ratio_with_over_without": ratio(samples[op, threads, True], samples[op, threads, False]),
        }
        for op in OPS
        for threads in CONCURRENCY
    ]
    return {"rows": rows}


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    rows = [
        [
            r["op"],
            str(r["concurrency"]),
            fmt(r["with_trigger"]["ops_per_s"]),
            fmt(r["without_trigger"]["ops_per_s"]),
            fmt(r["ratio_with_over_without"], 2),
        ]
        for r in result["rows"]
    ]
    header = ["op", "thr", "with trigger ops/s", "without ops/s", "time with/without"]
    return table(
        "Postgres writes with and without Kuma's NOTIFY trigger (kv, median [min, max])", header, rows
    )
