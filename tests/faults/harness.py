"""The load and the checks the fault tests share.

`Load` runs writer threads through one `kv.Store`; each writer owns its keys, so that it knows what each
record must hold. It records every write the store acknowledged, every outcome and how long each call
took. A write that fails with `Unavailable` may or may not have been applied: the writer reads the
record again before writing it again, and the value read must be either what was acknowledged or that
write. `Load.check_durable` then compares what was acknowledged with the rows in the database
(`rows_in`, read on a fresh connection).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

import kv
from kv.drivers.postgres.driver import version_of
from kv.testing import Types

if TYPE_CHECKING:
    from tests.faults.conftest import PgServer

TYPES = Types()
MESH = "faults"


@attrs.define
class KeyState:
    """What one writer knows of one of its records."""

    key: kv.Key
    held: kv.Record | None = None  # last state known committed (acknowledged, or read back); None: absent
    uncertain: dict[str, Any] | None = None  # spec of a write whose outcome is unknown (Unavailable)


class Load:
    """*writers* threads creating and updating records through *store* until `stop`.

    Attributes:
        acknowledged: writes the store reported as done.
        outcomes: calls per (operation, outcome type name).
        unexpected: calls that ended otherwise than done or `Unavailable` (or NotFound on a read-back).
        violations: read-backs or rows contradicting what was acknowledged.
        messages: the distinct `Unavailable` messages, with their causes.
        durations: (start, seconds, operation, outcome) of every call.
    """

    def __init__(self, store: kv.Store, *, writers: int, keys: int = 4) -> None:
        self.store = store
        self.acknowledged = 0
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.unexpected: list[str] = []
        self.violations: list[str] = []
        self.messages: set[str] = set()
        self.durations: list[tuple[float, float, str, str]] = []
        self.states = [
            [KeyState(kv.Key(TYPES.item, MESH, f"w{w}-{k}")) for k in range(keys)] for w in range(writers)
        ]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(w,), name=f"fault-writer-{w}", daemon=True)
            for w in range(writers)
        ]

    def start(self) -> None:
        """Start the writers."""
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float, *, check: bool = True) -> None:
        """Stop the writers; with *check*, fail if one has not returned within *timeout* seconds (a hang)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.ident is not None:  # started
                thread.join(max(0.0, deadline - time.monotonic()))
        hung = [t.name for t in self._threads if t.is_alive()]
        assert not (check and hung), f"writers hung for more than {timeout}s: {hung}"

    def _call(self, operation: str, call: Callable[[], kv.Record]) -> kv.Record | BaseException:
        started = time.monotonic()
        try:
            result: kv.Record | BaseException = call()
        except Exception as exc:
            result = exc
        took = time.monotonic() - started
        outcome = "ok" if isinstance(result, kv.Record) else type(result).__name__
        with self._lock:
            self.durations.append((started, took, operation, outcome))
            self.outcomes[operation, outcome] += 1
            if isinstance(result, kv.Unavailable):
                self.messages.add(chain(result))
            elif isinstance(result, BaseException) and not (
                operation == "get" and isinstance(result, kv.NotFound)
            ):
                self.unexpected.append(f"{operation}: {type(result).__name__}: {chain(result)}")
        return result

    def _run(self, writer: int) -> None:
        seq = 0
        while not self._stop.is_set():
            for state in self.states[writer]:
                seq += 1
                self._step(state, {"writer": writer, "seq": seq, "pad": "x" * 64})
                if self._stop.is_set():
                    return

    def _step(self, state: KeyState, spec: dict[str, Any]) -> None:
        store, key = self.store, state.key
        if state.uncertain is not None:  # learn whether the failed write was applied before writing again
            read = self._call("get", lambda: store.get(key.type, key.mesh, key.name))
            if isinstance(read, kv.NotFound) and state.held is None:
                state.uncertain = None
            elif isinstance(read, kv.Record):
                if not matches(read, state):
                    self._violation(f"{key.name}: read back {read.version} {read.spec}, not {state}")
                state.held, state.uncertain = read, None
            elif isinstance(read, kv.NotFound):
                self._violation(f"{key.name}: acknowledged {state.held} is gone")
                state.held, state.uncertain = None, None
            else:
                time.sleep(0.02)
            return
        held = state.held
        if held is None:
            result = self._call("create", lambda: store.create(kv.Record(key=key, spec=spec)))
        else:
            result = self._call("update", lambda: store.update(attrs.evolve(held, spec=spec)))
        if isinstance(result, kv.Record):
            state.held = result
            with self._lock:
                self.acknowledged += 1
        else:
            state.uncertain = spec
            time.sleep(0.02)  # the database may be down: do not spin

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def check_durable(self, rows: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """Fail unless every record acknowledged is in *rows* (name: version, spec) as acknowledged.

        A record may instead hold the one write after it whose outcome was unknown.
        """
        for state in (s for states in self.states for s in states):
            found = rows.get(state.key.name)
            row = None if found is None else kv.Record(key=state.key, version=found[0], spec=found[1])
            if row is None and state.held is None:
                continue
            if row is None or not matches(row, state):
                self.violations.append(f"{state.key.name}: the database holds {found}, not {state}")
        assert not self.violations, self.violations[:10]

    def summary(self) -> dict[str, Any]:
        """Numbers for the report: acknowledged, unavailable, max call duration, outcomes."""
        return {
            "acknowledged": self.acknowledged,
            "unavailable": sum(n for (_, outcome), n in self.outcomes.items() if outcome == "Unavailable"),
            "max_op_s": round(max((d[1] for d in self.durations), default=0.0), 3),
            "outcomes": dict(self.outcomes),
        }

    def first_success_after(self, moment: float) -> float | None:
        """When the first write started after *moment* succeeded (its end), if one did."""
        ends = [
            s + d for s, d, op, outcome in self.durations if s >= moment and outcome == "ok" and op != "get"
        ]
        return min(ends, default=None)


def rows_in(server: PgServer) -> dict[str, tuple[str, dict[str, Any]]]:
    """The load's records in the server's database (name: version, spec), read on a fresh connection."""
    return {
        name: (version_of(version, ctime), json.loads(spec))
        for name, version, ctime, spec in server.sql(
            "SELECT name, version, creation_time, spec FROM resources WHERE type = %s AND mesh = %s",
            TYPES.item,
            MESH,
        )
    }


def matches(row: kv.Record, state: KeyState) -> bool:
    """Whether *row* is the state last known committed, or the one write whose outcome was unknown."""
    held = state.held
    if held is not None and (row.version, row.spec) == (held.version, held.spec):
        return True
    # The unknown write's spec names it (every write's spec is unique); its version is a newer one.
    newer = held is None or row.version != held.version
    return state.uncertain is not None and row.spec == state.uncertain and newer


def chain(exc: BaseException) -> str:
    """The messages of *exc* and of every exception it was raised from or during."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 10:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)
