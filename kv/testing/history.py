"""Recording what concurrent clients did to a store, a workload that does it, and what checkers report.

A `History` holds one `Operation` per call: who made it, what it asked (version held, value written),
when it was invoked and completed (``time.monotonic``), and how it ended: ``ok`` (took effect; the
version and value read or written), ``fail`` (`Conflict`, `NotFound`, `AlreadyExists`: certainly no
effect) or ``unknown`` (`Unavailable` or any other exception: maybe). `Recorder` wraps a `kv.Store` and
records each call; `run_workload` drives threads of random operations on hot keys through one. Values
are ``{"w": <write id>, "prev": <id of the value replaced>}``, as `kv.testing.linearizability` needs.
"""

from __future__ import annotations

import collections
import enum
import itertools
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from kv.errors import AlreadyExists, Conflict, KVError, NotFound
from kv.model import Key, Record
from kv.store import Store

__all__ = [
    "History",
    "Operation",
    "Outcome",
    "Recorder",
    "Report",
    "Violation",
    "WorkloadStats",
    "run_workload",
]

DEFINITE = (Conflict, NotFound, AlreadyExists)
T = TypeVar("T")


class Outcome(enum.Enum):
    """How an operation ended."""

    PENDING = "pending"
    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"


@attrs.define(kw_only=True, eq=False)
class Operation:
    """One call, from invocation to completion (times from ``time.monotonic``).

    Attributes:
        id, thread, kind, key: the order of invocation; the caller's thread name; ``create``, ``get``,
            ``update`` or ``delete``; the record's key as text.
        version_in, value_in, held: the version held; the spec written; the write id of the value at
            that version (for an update, ``value_in["prev"]``).
        invoke, complete: when it was called and when it returned (infinity: pending or unknown).
        outcome, error: how it ended; the exception's class name when it raised.
        version_out, value_out, born: the version and spec read or written; the record's creation time.
    """

    id: int
    thread: str
    kind: str
    key: str
    version_in: str | None = None
    value_in: Mapping[str, Any] | None = None
    held: str | None = None
    invoke: float
    complete: float = float("inf")
    outcome: Outcome = Outcome.PENDING
    error: str = ""
    version_out: str | None = None
    value_out: Mapping[str, Any] | None = None
    born: str | None = None

    @property
    def wrote(self) -> str | None:
        """The write id this operation writes (create, update), else None."""
        return None if self.value_in is None else self.value_in.get("w")

    @property
    def read(self) -> str | None:
        """The write id an ok get returned, else None."""
        return None if self.value_out is None or self.kind != "get" else self.value_out.get("w")

    def __str__(self) -> str:
        args = [f"w={self.wrote}" if self.wrote else "", f"held={self.held}" if self.held else ""]
        args[-1] += f"@v{self.version_in}" if self.version_in else ""
        if self.outcome is Outcome.OK:
            result = f"ok {self.read or ''}@v{self.version_out}" if self.version_out else "ok"
        else:
            result = f"{self.outcome.value} {self.error}".strip()
        call = f"{self.kind}({' '.join(a for a in [self.key, *args] if a)})"
        return f"#{self.id} {self.thread} {call} -> {result} [{self.invoke:.6f}, {self.complete:.6f}]"


class History:
    """A thread-safe list of operations, in invocation order."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []
        self._lock = threading.Lock()

    def invoke(
        self,
        kind: str,
        key: str,
        *,
        version: str | None = None,
        value: Mapping[str, Any] | None = None,
        held: str | None = None,
        thread: str | None = None,
    ) -> Operation:
        """Record the start of an operation; complete it with `ok`, `fail` or `unknown`."""
        if held is None and kind == "update" and value is not None:
            held = value.get("prev")
        with self._lock:
            op = Operation(
                id=len(self.ops),
                thread=thread or threading.current_thread().name,
                kind=kind,
                key=key,
                version_in=version,
                value_in=None if value is None else dict(value),
                held=held,
                invoke=time.monotonic(),
            )
            self.ops.append(op)
        return op

    @staticmethod
    def ok(op: Operation, *, version: str | None = None, value: Mapping[str, Any] | None = None) -> None:
        """The operation took effect; *version* and *value* are what it read or wrote."""
        op.complete = time.monotonic()
        op.outcome, op.version_out = Outcome.OK, version
        op.value_out = None if value is None else dict(value)

    @staticmethod
    def failed(op: Operation, error: BaseException) -> None:
        """The operation raised: fail for a definite typed refusal, else unknown (completes never)."""
        now, op.error = time.monotonic(), type(error).__name__
        op.outcome = Outcome.FAIL if isinstance(error, DEFINITE) else Outcome.UNKNOWN
        op.complete = now if op.outcome is Outcome.FAIL else op.complete

    def counts(self) -> dict[str, int]:
        """How many operations ended each way, by ``<kind> <outcome>``."""
        return dict(collections.Counter(f"{op.kind} {op.outcome.value}" for op in self.ops))


@attrs.frozen
class Violation:
    """One anomaly: what it is, why, and the operations involved."""

    key: str
    kind: str
    message: str
    ops: tuple[Operation, ...]

    def __str__(self) -> str:
        return "\n    ".join([f"{self.key}: {self.kind}: {self.message}", *map(str, self.ops)])


@attrs.frozen
class Report:
    """What a checker found: violations (none: the history passed) and notes (e.g. ABA events)."""

    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the history passed."""
        return not self.violations

    def __str__(self) -> str:
        if self.ok:
            return "no violation" + "".join(f"\n  note: {n}" for n in self.notes)
        return "\n".join(f"VIOLATION {v}" for v in self.violations)


class Recorder:
    """A `kv.Store` front that records each call in `history` and then returns or re-raises as the store."""

    def __init__(self, store: Store, history: History | None = None) -> None:
        self.store = store
        self.history = history if history is not None else History()

    def _call(self, op: Operation, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            result = call(*args, **kwargs)
        except BaseException as exc:
            self.history.failed(op, exc)
            raise
        if isinstance(result, Record):
            self.history.ok(op, version=result.version, value=result.spec)
            op.born = str(result.creation_time)
        else:
            self.history.ok(op)
        return result

    def create(self, record: Record) -> Record:
        """`kv.Store.create`, recorded."""
        op = self.history.invoke("create", str(record.key), value=record.spec)
        return self._call(op, self.store.create, record)

    def get(self, type: str, mesh: str, name: str) -> Record:
        """`kv.Store.get`, recorded."""
        op = self.history.invoke("get", str(Key(type, mesh, name)))
        return self._call(op, self.store.get, type, mesh, name)

    def update(self, record: Record) -> Record:
        """`kv.Store.update`, recorded; the value's ``prev`` names the write whose version is held."""
        op = self.history.invoke("update", str(record.key), version=record.version, value=record.spec)
        return self._call(op, self.store.update, record)

    def delete(
        self, type: str, mesh: str, name: str, *, version: str | None = None, held: str | None = None
    ) -> None:
        """`kv.Store.delete`, recorded; *held* is the write id of the value at *version*."""
        op = self.history.invoke("delete", str(Key(type, mesh, name)), version=version, held=held)
        self._call(op, self.store.delete, type, mesh, name, version=version)


@attrs.frozen
class WorkloadStats:
    """What a workload did: threads, operations, the wall time, how they ended, and the throughput."""

    threads: int
    operations: int
    seconds: float
    counts: Mapping[str, int]
    rate: float  # operations per second


def run_workload(
    store: Store,
    *,
    type: str,
    mesh: str = "",
    threads: int = 4,
    ops: int = 100,
    keys: int = 3,
    seed: int = 0,
    history: History | None = None,
) -> tuple[History, WorkloadStats]:
    """Run *threads* x *ops* random operations on *keys* hot records of *type*, all recorded.

    Mostly updates (compare-and-set with the version last read), then gets, creates and conditional
    deletes; all threads start together. An exception other than `kv.KVError` stops the run.
    """
    recorder = Recorder(store, history)
    names = [f"hot-{i}" for i in range(keys)]
    ids = itertools.count()
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def work(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        held: dict[str, Record] = {}
        absent: set[str] = set()  # keys this thread last found missing: it creates them again
        try:
            start.wait()
            for _ in range(ops):
                name = rng.choice(names)
                kind = rng.choices(("update", "get", "create", "delete"), (60, 25, 5, 5))[0]
                try:
                    if kind == "create" or (name in absent and kind != "get"):
                        value = {"w": f"{number}.{next(ids)}", "prev": None}
                        held[name] = recorder.create(Record(key=Key(type, mesh, name), spec=value))
                    elif kind == "get" or name not in held:
                        held[name] = recorder.get(type, mesh, name)
                    elif kind == "update":
                        value = {"w": f"{number}.{next(ids)}", "prev": held[name].spec["w"]}
                        held[name] = recorder.update(attrs.evolve(held[name], spec=value))
                    else:
                        mine = held.pop(name)
                        recorder.delete(type, mesh, name, version=mine.version, held=mine.spec["w"])
                    absent.discard(name)
                except KVError as exc:  # read it again before the next write; create it if missing
                    held.pop(name, None)
                    absent.update([name] if isinstance(exc, NotFound) else [])
                time.sleep(0)  # let another thread run between a read and the write that uses it
        except BaseException as exc:  # reported below; a thread must not die silently
            failures.append(exc)

    began = time.monotonic()
    workers = [threading.Thread(target=work, args=(i,), name=f"t{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds, done = time.monotonic() - began, recorder.history
    if failures:
        raise AssertionError(f"{len(failures)} thread(s) failed; first: {failures[0]!r}") from failures[0]
    return done, WorkloadStats(threads, len(done.ops), seconds, done.counts(), len(done.ops) / seconds)
