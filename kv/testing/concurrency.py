"""Concurrent compare-and-set: many threads increment one counter record, retrying on Conflict.

If ``update`` were not an atomic compare-and-set, two threads could both succeed from the same version
and an increment would be lost; this check counts every increment and proves none was.
"""

from __future__ import annotations

import threading
import time

import attrs

from kv.errors import Conflict
from kv.model import Key, Record
from kv.testing.suite import MESH, StoreFactory, Types

__all__ = ["CasReport", "check_concurrent_cas"]


@attrs.frozen
class CasReport:
    """What the threads did: successful updates, conflicts, and attempts (successes + conflicts)."""

    successes: int
    conflicts: int
    attempts: int
    final: int


def check_concurrent_cas(
    factory: StoreFactory, types: Types | None = None, *, threads: int = 8, increments: int = 200
) -> CasReport:
    """Run *threads* x *increments* CAS increments of one record and check none was lost.

    Checks: the final counter equals the number of successful updates; successes + conflicts equals
    attempts; every success moved the counter from n to n + 1 for a distinct n; no other error.
    """
    types = types or Types()
    store = factory()
    key = Key(types.item, MESH, "counter")
    store.create(Record(key=key, spec={"n": 0}))
    start = threading.Barrier(threads)
    lock = threading.Lock()
    seen: list[int] = []
    conflicts = attempts = 0
    failures: list[BaseException] = []

    def work() -> None:
        nonlocal conflicts, attempts
        mine: list[int] = []
        mine_conflicts = mine_attempts = 0
        try:
            start.wait()
            while len(mine) < increments:
                current = store.get(key.type, key.mesh, key.name)
                mine_attempts += 1
                n = current.spec["n"]
                time.sleep(0)  # let the others run between read and write, as real work would
                try:
                    store.update(attrs.evolve(current, spec={"n": n + 1}))
                except Conflict:
                    mine_conflicts += 1
                else:
                    mine.append(n)
        except BaseException as exc:  # reported below; a thread must not die silently
            failures.append(exc)
        with lock:
            seen.extend(mine)
            conflicts += mine_conflicts
            attempts += mine_attempts

    workers = [threading.Thread(target=work, name=f"cas-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise AssertionError(f"{len(failures)} thread(s) failed; first: {failures[0]!r}") from failures[0]
    final = store.get(key.type, key.mesh, key.name).spec["n"]
    report = CasReport(len(seen), conflicts, attempts, final)
    assert report.final == report.successes == threads * increments, report
    assert report.successes + report.conflicts == report.attempts, report
    assert sorted(seen) == list(range(report.successes)), "two updates succeeded from the same value"
    return report
