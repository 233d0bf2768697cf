"""Leader election: which kuma-cp instance on a store runs the leader-only components.

`MemoryElector` always leads (an in-memory store serves one instance); on Kubernetes, client-go's Lease
election is `kuma_cp.leader_kubernetes`. `PostgresElector` is Kuma's pglock
algorithm on the ``locks`` table (``schema/1592232449_add_leader_table.up.sql``), which compares no clocks:

- acquire: ``INSERT`` the lock row with a fresh record version number (rvn, from ``locks_rvn``), or take
  the existing row only if its rvn is NULL or the one this instance observed on its previous attempt. A
  loser remembers the rvn it saw and tries again one lease later, so it takes over only from a holder
  that has not heartbeaten for a whole lease (and the first election of a stale row takes one lease).
- heartbeat: every *heartbeat* seconds, move the row to a new rvn where it is still at the held one. No
  row matched, or any database error, means the lease is lost: step down at once, retry after *retry*.
- release: on stop or after a failed heartbeat, step down, then delete the row where it is still at the
  held rvn, so that another instance takes over at its next attempt rather than a lease later.

Better than Kuma: every statement is bounded in time (and given up, its connection closed, when the
elector stops waiting for it), and a leader that has not confirmed its lease within 90% of a lease
(counted from the start of its last successful heartbeat, which precedes the commit another instance's
lease is counted from) steps down, so a hung connection never leaves two leaders.
Callbacks run on the elector's thread; `is_leader()` may be called from any thread.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["LOCK_NAME", "LeaderElector", "MemoryElector", "PostgresElector", "instance_id"]

log = logging.getLogger("kuma-cp.leader")
LOCK_NAME = "kuma-cp-lock"
_QUIET_FAILURES = 3  # as Kuma: the first consecutive failures are logged at debug, later ones at error
_VALID = 0.9  # of a lease: how long after a confirmed heartbeat's start this instance still leads

_T = TypeVar("_T")
Callback = Callable[[], None]

# The SQL of the pglock algorithm; sqlalchemy (an optional dependency) is imported by PostgresElector only.
_SQL = {
    "acquire": "INSERT INTO locks (name, record_version_number, data, owner) "
    "VALUES (:name, nextval('locks_rvn'), NULL, :owner) "
    "ON CONFLICT (name) DO UPDATE SET record_version_number = EXCLUDED.record_version_number, "
    "owner = EXCLUDED.owner "
    "WHERE locks.record_version_number IS NULL OR locks.record_version_number = CAST(:observed AS bigint) "
    "RETURNING record_version_number",
    "observe": "SELECT record_version_number FROM locks WHERE name = :name",
    "heartbeat": "UPDATE locks SET record_version_number = nextval('locks_rvn') "
    "WHERE name = :name AND record_version_number = :held RETURNING record_version_number",
    "release": "DELETE FROM locks WHERE name = :name AND record_version_number = :held "
    "RETURNING record_version_number",
}


def instance_id() -> str:
    """An instance id as Kuma makes one: ``<hostname>-<4 characters of a UUID>``."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:4]}"


class LeaderElector:
    """The common part of electors: leadership state, callbacks, and `leading` to wait on.

    Attributes:
        leading: set while this instance leads (``leading.wait(timeout)`` waits for leadership).
    """

    def __init__(self) -> None:
        self.leading = threading.Event()
        self._callbacks: list[tuple[Callback | None, Callback | None]] = []
        self._transition = threading.RLock()  # a callback may stop the elector
        self._notifying = False
        self._pending: bool | None = None

    def add_callbacks(
        self, on_started_leading: Callback | None = None, on_stopped_leading: Callback | None = None
    ) -> None:
        """Call *on_started_leading* on each acquisition, *on_stopped_leading* on each loss.

        Add them before `start`; they run on the elector's thread, and must not block for long.
        """
        self._callbacks.append((on_started_leading, on_stopped_leading))

    def is_leader(self) -> bool:
        """Whether this instance leads now (Kuma's ``IsLeader``: for metrics, diagnostics and polling)."""
        return self.leading.is_set()

    def start(self) -> None:
        """Start taking part in elections; returns at once."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop leading (callbacks run) and stop taking part; returns once done."""
        raise NotImplementedError

    def _set_leader(self, leader: bool) -> None:
        """Move to *leader*, running the callbacks on a change; a callback's own change comes after them."""
        with self._transition:
            if self._notifying:  # called from a callback: finish notifying this change first
                self._pending = leader
                return
            self._notifying = True
            try:
                target: bool | None = leader
                while target is not None and target != self.leading.is_set():
                    (self.leading.set if target else self.leading.clear)()
                    for started, stopped in self._callbacks:
                        if (callback := started if target else stopped) is not None:
                            try:
                                callback()
                            except Exception:  # one faulty component must not stop the election
                                log.exception("leader callback failed")
                    target, self._pending = self._pending, None
            finally:
                self._notifying = False


class MemoryElector(LeaderElector):
    """The leader from `start` to `stop` (the memory store serves a single instance), as Kuma's."""

    def start(self) -> None:  # noqa: D102 - documented on LeaderElector
        self._set_leader(True)

    def stop(self) -> None:  # noqa: D102
        self._set_leader(False)


class _TimedOut(Exception):
    """A statement did not finish in time (its thread is left to finish on its own)."""


def _bounded(work: Callable[[], _T], timeout: float, server: str = "postgres") -> _T:
    """*work*'s result or exception, or `_TimedOut` after *timeout* seconds (run on a daemon thread)."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed to the caller
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="kuma-cp-leader-sql", daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        raise _TimedOut(f"no answer from {server} within {max(timeout, 0.0):.2f}s")
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value


class PostgresElector(LeaderElector):
    """Kuma's pglock leader election on the ``locks`` table of a migrated Kuma database. Start it once.

    Args:
        engine: an engine on the database (best its own small pool, ``max_open_connections=2``, so that
            the store's load never delays a heartbeat).
        instance_id: this instance, written to the lock row's ``owner`` (see `instance_id`).
        lock_name: the lock row's name (Kuma's ``kuma-cp-lock``).
        lease: seconds a holder may go without a heartbeat before another instance takes over.
        heartbeat: seconds between heartbeats; at most half of *lease*, so that a heartbeat has time to
            answer before the lease could pass to another instance.
        retry: seconds to wait after losing the lease or a failed attempt before trying again.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        instance_id: str,
        lock_name: str = LOCK_NAME,
        lease: float = 5.0,
        heartbeat: float = 1.0,
        retry: float = 5.0,
    ) -> None:
        if not 0 < heartbeat <= lease / 2 or retry < 0:
            raise ValueError("need 0 < heartbeat <= lease / 2 and retry >= 0")
        import sqlalchemy as sa  # only the Postgres store needs it

        super().__init__()
        self._statements = {what: sa.text(sql) for what, sql in _SQL.items()}
        self.instance_id = instance_id
        self.lock_name = lock_name
        self._engine = engine
        self._lease = lease
        self._heartbeat = heartbeat
        self._retry = retry
        self._valid_until = 0.0  # monotonic: when the lease may have passed to another instance
        self._failures = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kuma-cp-leader", daemon=True)

    def is_leader(self) -> bool:  # noqa: D102 - documented on LeaderElector
        return self.leading.is_set() and time.monotonic() < self._valid_until

    def start(self) -> None:  # noqa: D102
        log.info("starting Leader Elector (instance %s)", self.instance_id)
        self._thread.start()

    def stop(self) -> None:
        """Step down (callbacks run), release the lock so another instance takes over at once, stop.

        Returns within about one lease even when the database hangs.
        """
        log.info("stopping Leader Elector")
        self._stopping.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self._lease + 1.0)
        self._set_leader(False)

    def _execute(self, what: str, timeout: float, **params: Any) -> int | None:
        """The rvn statement *what* returns (None: no row), within *timeout* seconds."""
        from kv.drivers.postgres.errors import translate_errors  # messages without SQL or password

        statement, deadline = self._statements[what], time.monotonic() + timeout

        def work() -> int | None:
            with translate_errors(), self._engine.begin() as connection:
                raw: Any = connection.connection.driver_connection  # kv's TimedConnection: give up when
                if hasattr(raw, "answer_timeout"):  # the caller does, not hold a connection long after
                    raw.answer_timeout = max(0.05, deadline - time.monotonic())
                value = connection.execute(statement, {"name": self.lock_name, **params}).scalar()
            return None if value is None else int(value)

        return _bounded(work, timeout)

    def _failed(self, what: str, exc: BaseException) -> None:
        self._failures += 1
        level = logging.ERROR if self._failures > _QUIET_FAILURES else logging.DEBUG
        log.log(level, "%s: %s (retries %d)", what, exc, self._failures - 1)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                log.info("waiting for lock")
                try:
                    held = self._acquire()
                except Exception as exc:
                    self._failed("error waiting for lock", exc)
                else:
                    if held is not None and not self._stopping.is_set():
                        self._lead(*held)
                    elif held is not None:  # won while stopping: hand it straight back
                        self._release(held[0])
                self._stopping.wait(self._retry)
        finally:
            self._set_leader(False)
            log.info("Leader Elector stopped")

    def _acquire(self) -> tuple[int, float] | None:
        """Try until the lock is ours: (its rvn, when the winning statement started); None if stopping."""
        observed: int | None = None
        while not self._stopping.is_set():
            started = time.monotonic()
            won = self._execute("acquire", self._lease, owner=self.instance_id[:255], observed=observed)
            self._failures = 0
            if won is not None:
                return won, started
            observed = self._execute("observe", self._lease)
            log.debug("lock %s is held (rvn %s); retrying in %.1fs", self.lock_name, observed, self._lease)
            self._stopping.wait(self._lease)
        return None

    def _lead(self, held: int, confirmed: float) -> None:
        """Lead while heartbeats succeed; step down when one fails or when stopping."""
        self._valid_until = confirmed + _VALID * self._lease
        self._set_leader(True)
        log.info("leader acquired (instance %s)", self.instance_id)
        reason, release = "stopping", True
        while not self._stopping.wait(self._heartbeat):
            started = time.monotonic()
            try:
                renewed = self._execute("heartbeat", self._valid_until - started, held=held)
            except Exception as exc:
                self._failed("heartbeat failed", exc)
                reason = f"heartbeat failed: {exc}"
                break
            if renewed is None:
                reason, release = "the lock was taken over", False
                break
            self._failures = 0
            held, self._valid_until = renewed, started + _VALID * self._lease
        self._set_leader(False)
        log.info("leader lost (instance %s: %s)", self.instance_id, reason)
        if release:  # let another instance take over now rather than one lease later
            self._release(held)

    def _release(self, held: int) -> None:
        try:
            self._execute("release", self._lease, held=held)
        except Exception as exc:
            log.debug("could not release lock %s: %s", self.lock_name, exc)
