"""Concurrency, checked: recorded histories against the chain check and the Wing-Gong search.

The two checkers agree on small histories (real ones accepted, hand-made anomalies rejected); the
workload's history is linearizable on every backend; planted bugs (an update that ignores the version,
a get that serves a cached value) are caught. ``KUMA_TEST_SOAK=<n>`` multiplies the workload's threads
by 2 and its operations by n, for runs by hand::

    KUMA_TEST_SOAK=20 .venv/bin/pytest tests/kv/test_linearizability.py -k workload -p no:cacheprovider
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kv
from kv.drivers.memory import MemoryDriver
from kv.errors import Conflict, KVError
from kv.model import Key, Record
from kv.testing import StoreFactory, Types
from kv.testing.history import History, Operation, Outcome, Recorder, Report, run_workload
from kv.testing.linearizability import check_chain, check_linearizable
from kv.testing.suite import MESH

SOAK = int(os.environ.get("KUMA_TEST_SOAK", "0") or 0)
TYPE = Types().item
KEY = Key(TYPE, MESH, "r")


def memory_store() -> kv.Store:
    return kv.Store(MemoryDriver(), catalog=Types().catalog())


def both(history: History | list[Operation]) -> tuple[Report, Report]:
    return check_chain(history), check_linearizable(history)


def accepted(history: History | list[Operation]) -> None:
    ops = history.ops if isinstance(history, History) else history
    chain, search = both(history)
    listing = "\n".join(map(str, ops))
    assert chain.ok, f"chain check: {chain}\n{listing}"
    assert search.ok, f"Wing-Gong: {search}\n{listing}"


# -- small real histories: accepted by both ---------------------------------------------------------------

STEPS = st.lists(
    st.sampled_from(["create", "get", "update", "stale-update", "delete", "stale-delete"]), max_size=10
)


def execute(steps: list[str]) -> History:
    """Run *steps* one after the other on one record of a fresh memory store, as a client would."""
    recorder = Recorder(memory_store())
    seen: list[Record] = []  # every record this client read or wrote, oldest first
    for n, step in enumerate(steps):
        held = (seen[0] if step.startswith("stale") else seen[-1]) if seen else None
        try:
            if step == "create" or (held is None and step != "get"):
                seen.append(recorder.create(Record(key=KEY, spec={"w": f"w{n}", "prev": None})))
            elif step == "get" or held is None:
                seen.append(recorder.get(KEY.type, KEY.mesh, KEY.name))
            elif step.endswith("update"):
                value = {"w": f"w{n}", "prev": held.spec["w"]}
                seen.append(recorder.update(attrs.evolve(held, spec=value)))
            else:
                recorder.delete(KEY.type, KEY.mesh, KEY.name, version=held.version, held=held.spec["w"])
        except KVError:
            pass
    return recorder.history


@given(STEPS)
def test_sequential_histories_are_accepted_by_both(steps: list[str]) -> None:
    accepted(execute(steps))


@given(STEPS, st.data())
def test_real_histories_made_concurrent_are_accepted_by_both(steps: list[str], data: st.DataObject) -> None:
    """Widening each operation's interval around where it really took effect keeps a history linearizable."""
    history = execute(steps)
    for point, op in enumerate(history.ops):
        op.invoke = point - data.draw(st.floats(0, 3))
        op.complete = point + data.draw(st.floats(0, 3))
        # the client never heard back (not with stale writes: see "ABA and unknown outcomes" in the report)
        if data.draw(st.integers(0, 5)) == 0 and not any(step.startswith("stale") for step in steps):
            op.outcome, op.complete, op.version_out, op.value_out = Outcome.UNKNOWN, float("inf"), None, None
    accepted(history)


def test_small_threaded_histories_are_accepted_by_both() -> None:
    for seed in range(30):
        history, _ = run_workload(memory_store(), type=TYPE, mesh=MESH, threads=3, ops=4, keys=1, seed=seed)
        accepted(history)


# -- hand-made anomalies: rejected by both ----------------------------------------------------------------


def op(kind: str, start: float, end: float, *, w: str = "", prev: str | None = None, **kw: Any) -> Operation:
    value = {"w": w, "prev": prev} if kind in ("create", "update") else None
    held = prev if kind in ("update", "delete") else None
    made = Operation(
        id=0, thread="t", kind=kind, key="r", invoke=start, complete=end, value_in=value, held=held
    )
    made.outcome = Outcome(kw.pop("outcome", "ok"))
    if made.outcome is Outcome.OK and kind != "delete":
        made.value_out = value if kind != "get" else {"w": w}
    return attrs.evolve(made, **kw)


def numbered(*ops: Operation) -> list[Operation]:
    return [attrs.evolve(o, id=i, thread=f"t{i}") for i, o in enumerate(ops)]


ANOMALIES = {
    "fork": numbered(
        op("create", 0, 1, w="a", version_out="1"),
        op("update", 2, 5, w="b", prev="a", version_in="1", version_out="2"),
        op("update", 3, 6, w="c", prev="a", version_in="1", version_out="2"),
    ),
    "stale read": numbered(
        op("create", 0, 1, w="a", version_out="1"),
        op("update", 2, 3, w="b", prev="a", version_in="1", version_out="2"),
        op("get", 4, 5, w="a", version_out="1"),
    ),
    "phantom read": numbered(
        op("create", 0, 1, w="a", version_out="1"), op("get", 2, 3, w="zz", version_out="1")
    ),
    "lost ack": numbered(
        op("create", 0, 1, w="a", version_out="1"),
        op("get", 2, 3, outcome="fail", error="NotFound"),
    ),
    "failed write observed": numbered(
        op("create", 0, 1, w="a", version_out="1"),
        op("update", 2, 3, w="b", prev="a", version_in="1", outcome="fail", error="Conflict"),
        op("get", 4, 5, w="b", version_out="2"),
    ),
    "read from the future": numbered(
        op("create", 0, 1, w="a", version_out="1"),
        op("get", 2, 3, w="b", version_out="2"),
        op("update", 4, 5, w="b", prev="a", version_in="1", version_out="2"),
    ),
}


@pytest.mark.parametrize("name", ANOMALIES)
def test_hand_made_anomalies_are_rejected_by_both(name: str) -> None:
    chain, search = both(ANOMALIES[name])
    assert not chain.ok, "the chain check missed it"
    assert not search.ok, "the Wing-Gong search missed it"
    assert str(chain).startswith("VIOLATION ")
    assert "#" in str(chain)


def test_a_fork_is_explained_with_the_operations_involved() -> None:
    report = check_chain(ANOMALIES["fork"])
    assert [v.kind for v in report.violations] == ["fork (lost update)"]
    assert "#1 and #2 both replaced a" in str(report)
    assert "update(r w=c held=a@v1)" in str(report)


def test_unknown_writes_may_or_may_not_have_happened() -> None:
    lost = op("update", 2, float("inf"), w="b", prev="a", version_in="1", outcome="unknown", value_out=None)
    for then in (op("get", 4, 5, w="a", version_out="1"), op("get", 4, 5, w="b", version_out="2")):
        accepted(numbered(op("create", 0, 1, w="a", version_out="1"), lost, then))


def test_a_lone_record_may_have_been_ended_by_a_delete_whose_outcome_is_unknown() -> None:
    """The one record left alive need not come last: an unknown delete may have ended it (from Hypothesis)."""
    unknown: dict[str, Any] = {"outcome": "unknown", "value_out": None}
    start = numbered(
        op("create", 0, float("inf"), w="a", **unknown),
        op("get", 1, 1, w="a", version_out="1"),
        op("delete", 2, float("inf"), prev="a", version_in="1", **unknown),
    )
    recreated = [
        op("create", 3, float("inf"), w="b", **unknown),
        op("delete", 9, 9, prev="b", version_in="2"),
    ]
    accepted(numbered(*start, *recreated))
    accepted(numbered(*start, op("get", 9, 9, outcome="fail", error="NotFound")))


# -- the workload on every backend, and planted bugs --------------------------------------------------------


def workload(store: kv.Store, threads: int = 6, ops: int = 100, **kw: Any) -> tuple[History, Report]:
    threads, ops = (threads * 2, ops * SOAK) if SOAK else (threads, ops)
    history, stats = run_workload(store, type=TYPE, mesh=MESH, threads=threads, ops=ops, **kw)
    report = check_chain(history)
    print(f"{threads} threads x {ops} ops: {stats.rate:.0f} ops/s, {dict(sorted(stats.counts.items()))}")
    print(report)
    return history, report


def test_workload_history_is_linearizable(store_factory: StoreFactory) -> None:
    history, report = workload(store_factory(), keys=3)
    assert report.ok, report
    counts = history.counts()
    assert counts.get("update ok", 0) > 10, counts
    assert counts.get("update fail", 0) > 0, counts  # they raced
    assert counts.get("delete ok", 0) > 0, counts
    assert counts.get("create ok", 0) > 3, counts


class RacyUpdateStore(kv.Store):
    """Planted bug: update reads the current version and writes over it, ignoring the one held."""

    def update(self, record: Record, **kwargs: Any) -> Record:
        current = self.get(record.key.type, record.key.mesh, record.key.name)
        time.sleep(0.0005)
        return super().update(attrs.evolve(record, version=current.version), **kwargs)


class CachingStore(kv.Store):
    """Planted bug: get serves, now and then, the value an earlier get of the same record returned."""

    def __init__(self) -> None:
        super().__init__(MemoryDriver(), catalog=Types().catalog())
        self.cache: dict[Key, Record] = {}
        self.rng, self.lock = random.Random(1), threading.Lock()

    def get(self, type: str, mesh: str, name: str, **kwargs: Any) -> Record:
        key = Key(type, mesh, name)
        with self.lock:
            cached, stale = self.cache.get(key), self.rng.random() < 0.3
        if cached is not None and stale:
            return cached
        fresh = super().get(type, mesh, name, **kwargs)
        with self.lock:
            self.cache[key] = fresh
        return fresh


def test_a_non_atomic_update_is_caught_as_a_fork() -> None:
    _, report = workload(RacyUpdateStore(MemoryDriver(), catalog=Types().catalog()), keys=2)
    assert not report.ok
    assert "fork (lost update)" in {v.kind for v in report.violations}, report


def test_a_cached_get_is_caught_as_a_stale_read() -> None:
    _, report = workload(CachingStore(), keys=2)
    assert not report.ok
    assert "stale read" in {v.kind for v in report.violations}, report


def test_a_version_is_never_reused_so_a_stale_holder_cannot_update_a_re_created_record(
    store_factory: StoreFactory,
) -> None:
    """No ABA: after delete + create, a version of the old record is a Conflict on the new one.

    Kuma's own versions start again at 0 on re-create (Postgres) or 1 (memory), so a writer holding an
    old version could overwrite the new record, and an HTTP ``If-Match`` would not stop it.
    """
    recorder = Recorder(store_factory())
    first = recorder.create(Record(key=KEY, spec={"w": "a", "prev": None}))
    recorder.delete(KEY.type, KEY.mesh, KEY.name, version=first.version, held="a")
    second = recorder.create(Record(key=KEY, spec={"w": "b", "prev": None}))
    assert second.version != first.version
    with pytest.raises(Conflict):
        recorder.update(attrs.evolve(first, spec={"w": "c", "prev": "a"}))
    with pytest.raises(Conflict):
        recorder.delete(KEY.type, KEY.mesh, KEY.name, version=first.version, held="a")
    report = check_chain(recorder.history)
    assert report.ok, report
    assert not report.notes
    assert check_linearizable(recorder.history).ok
