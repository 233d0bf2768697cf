"""kuma_cp.leader: the memory elector, and Kuma's pglock election on a real PostgreSQL with fast timings.

The timings are a tenth of Kuma's (lease 0.5s, heartbeat 0.1s): the algorithm compares no clocks, so it
behaves the same at any scale.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from kuma_cp import migrate
from kuma_cp.leader import LOCK_NAME, MemoryElector, PostgresElector, instance_id
from kv.drivers.postgres import create_engine

FAST = {"lease": 0.5, "heartbeat": 0.1, "retry": 0.2}
LEASE = FAST["lease"]


class Recorder:
    """Records an elector's callbacks, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.changed = threading.Condition()

    def attach(self, elector: MemoryElector | PostgresElector) -> None:
        elector.add_callbacks(lambda: self._record("started"), lambda: self._record("stopped"))

    def _record(self, what: str) -> None:
        with self.changed:
            self.calls.append(what)
            self.changed.notify_all()

    def wait_for(self, calls: list[str], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.calls[: len(calls)] == calls, timeout)


def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_memory_elector_leads_from_start_to_stop() -> None:
    elector, recorder = MemoryElector(), Recorder()
    recorder.attach(elector)
    assert not elector.is_leader()
    elector.start()
    assert elector.is_leader()
    assert elector.leading.is_set()
    elector.stop()
    assert not elector.is_leader()
    assert recorder.calls == ["started", "stopped"]


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    elector, recorder = MemoryElector(), Recorder()

    def broken() -> None:
        raise RuntimeError("component failed")

    elector.add_callbacks(on_started_leading=broken)
    recorder.attach(elector)
    elector.start()
    assert recorder.calls == ["started"]
    assert elector.is_leader()
    assert "leader callback failed" in caplog.text


def test_a_change_made_by_a_callback_comes_after_the_current_one() -> None:
    elector, recorder = MemoryElector(), Recorder()
    elector.add_callbacks(on_started_leading=elector.stop)
    recorder.attach(elector)
    elector.start()
    assert recorder.calls == ["started", "stopped"]  # every component saw the start before the stop
    assert not elector.is_leader()


def test_instance_ids_are_hostname_and_four_characters() -> None:
    first, second = instance_id(), instance_id()
    assert first != second
    assert len(first.rsplit("-", 1)[1]) == 4


def test_timings_that_cannot_work_are_refused() -> None:
    engine = create_engine("postgresql://kuma:pw@127.0.0.1:1/kuma")
    with pytest.raises(ValueError, match="heartbeat"):
        PostgresElector(engine, instance_id="a", lease=1.0, heartbeat=0.6)
    with pytest.raises(ValueError, match="heartbeat"):
        PostgresElector(engine, instance_id="a", lease=1.0, heartbeat=0)


def test_failures_are_logged_at_debug_three_times_then_as_errors(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine("postgresql://kuma:s3cret-pw@127.0.0.1:1/kuma?connect_timeout=1")  # refused
    elector = PostgresElector(engine, instance_id="a", lease=0.5, heartbeat=0.1, retry=0.01)
    caplog.set_level(logging.DEBUG, logger="kuma-cp.leader")

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage().startswith("error waiting for lock")]

    elector.start()
    try:
        assert _until(lambda: len(failures()) >= 5, timeout=10)
        assert not elector.is_leader()
    finally:
        elector.stop()
    levels = [r.levelno for r in failures()[:5]]
    assert levels == [logging.DEBUG] * 3 + [logging.ERROR] * 2
    assert "postgres unavailable" in failures()[0].getMessage()
    assert "s3cret-pw" not in caplog.text


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def lock_db(pg_database: str) -> str:
    engine = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(engine)
    engine.dispose()
    return pg_database


@pytest.fixture
def elector_factory(lock_db: str) -> Iterator[Callable[..., PostgresElector]]:
    made: list[PostgresElector] = []
    engines = []

    def make(name: str, **timings: float) -> PostgresElector:
        engine = create_engine(lock_db, max_open_connections=2)
        engines.append(engine)
        t = {**FAST, **timings}
        elector = PostgresElector(
            engine, instance_id=name, lease=t["lease"], heartbeat=t["heartbeat"], retry=t["retry"]
        )
        made.append(elector)
        return elector

    yield make
    for elector in made:
        elector.stop()
    for engine in engines:
        engine.dispose()


def _sql(dsn: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def _lock_owner(dsn: str) -> object:
    rows = _sql(dsn, "SELECT owner FROM locks WHERE name = %s", LOCK_NAME)
    return rows[0][0] if rows else None


def _leaders(electors: list[PostgresElector]) -> list[str]:
    return [e.instance_id for e in electors if e.is_leader()]


def _watch_for_split_brain(electors: list[PostgresElector], seconds: float) -> set[str]:
    """Sample for *seconds*: never two leaders at once; return who led."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        leaders = _leaders(electors)
        assert len(leaders) <= 1, f"two leaders at once: {leaders}"
        seen.update(leaders)
        time.sleep(0.005)
    return seen


@pytest.mark.postgres
def test_three_electors_elect_exactly_one_leader(lock_db: str, elector_factory) -> None:
    electors = [elector_factory(f"cp-{i}") for i in range(3)]
    for elector in electors:
        elector.start()
    assert _until(lambda: len(_leaders(electors)) == 1, timeout=4 * LEASE)
    (leader,) = _leaders(electors)
    assert _watch_for_split_brain(electors, 6 * LEASE) == {leader}  # heartbeats keep it; no flapping
    assert _lock_owner(lock_db) == leader


@pytest.mark.postgres
def test_stopping_the_leader_elects_another_and_releases_the_lock(lock_db: str, elector_factory) -> None:
    electors = [elector_factory(f"cp-{i}") for i in range(3)]
    for elector in electors:
        elector.start()
    assert _until(lambda: len(_leaders(electors)) == 1, timeout=4 * LEASE)
    leader = next(e for e in electors if e.is_leader())
    started = time.monotonic()
    leader.stop()
    assert time.monotonic() - started < LEASE + 0.5  # prompt
    assert _lock_owner(lock_db) != leader.instance_id  # released (or already taken by a successor)
    assert not leader.is_leader()
    assert not leader._thread.is_alive()
    others = [e for e in electors if e is not leader]
    # released, so the next attempt wins: within one lease (the others retry once per lease)
    assert _until(lambda: len(_leaders(others)) == 1, timeout=3 * LEASE)
    (successor,) = _leaders(others)
    assert successor != leader.instance_id
    assert _watch_for_split_brain(electors, 2 * LEASE) == {successor}
    assert _lock_owner(lock_db) == successor


@pytest.mark.postgres
def test_a_stale_lock_is_taken_over_only_after_a_whole_lease(lock_db: str, elector_factory) -> None:
    _sql(lock_db, "INSERT INTO locks VALUES (%s, nextval('locks_rvn'), NULL, 'crashed-cp')", LOCK_NAME)
    elector = elector_factory("cp-0")
    started = time.monotonic()
    elector.start()
    assert elector.leading.wait(timeout=4 * LEASE)
    assert time.monotonic() - started >= LEASE  # the crashed holder might have been alive until then
    assert _lock_owner(lock_db) == "cp-0"


@pytest.mark.postgres
def test_a_holder_that_keeps_heartbeating_is_never_displaced(lock_db: str, elector_factory) -> None:
    _sql(lock_db, "INSERT INTO locks VALUES (%s, nextval('locks_rvn'), NULL, 'other-cp')", LOCK_NAME)
    stop = threading.Event()

    def heartbeat() -> None:  # another instance, alive: it moves the rvn every heartbeat
        with psycopg.connect(lock_db, autocommit=True) as connection:
            while not stop.wait(FAST["heartbeat"]):
                connection.execute(
                    "UPDATE locks SET record_version_number = nextval('locks_rvn') WHERE name = %s",
                    (LOCK_NAME,),
                )

    other = threading.Thread(target=heartbeat, daemon=True)
    other.start()
    elector = elector_factory("cp-0")
    try:
        elector.start()
        assert not elector.leading.wait(timeout=6 * LEASE)
        assert _lock_owner(lock_db) == "other-cp"
    finally:
        stop.set()
        other.join()
    assert elector.leading.wait(timeout=4 * LEASE)  # the other one stopped heartbeating
    assert _lock_owner(lock_db) == "cp-0"


@pytest.mark.postgres
def test_a_leader_whose_lock_is_taken_steps_down_at_its_next_heartbeat(lock_db: str, elector_factory) -> None:
    elector, recorder = elector_factory("cp-0"), Recorder()
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started"], timeout=4 * LEASE)
    _sql(
        lock_db,
        "UPDATE locks SET record_version_number = nextval('locks_rvn'), owner = 'thief' WHERE name = %s",
        LOCK_NAME,
    )
    stolen = time.monotonic()
    assert recorder.wait_for(["started", "stopped"], timeout=LEASE)
    assert time.monotonic() - stolen < 3 * FAST["heartbeat"]
    assert not elector.is_leader()
    assert _lock_owner(lock_db) == "thief"  # not released: it was not this instance's any more
    # the thief never heartbeats: after a lease of silence the lock comes back
    assert recorder.wait_for(["started", "stopped", "started"], timeout=6 * LEASE)
    assert _lock_owner(lock_db) == "cp-0"


@pytest.mark.postgres
def test_a_leader_whose_connections_are_killed_steps_down_then_comes_back(
    lock_db: str, elector_factory
) -> None:
    elector, recorder = elector_factory("cp-0"), Recorder()
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started"], timeout=4 * LEASE)
    killed = _sql(
        lock_db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert killed
    assert recorder.wait_for(["started", "stopped"], timeout=LEASE)
    assert recorder.wait_for(["started", "stopped", "started"], timeout=6 * LEASE)
    assert elector.is_leader()


@pytest.mark.postgres
def test_a_leader_whose_heartbeat_hangs_steps_down_before_its_lease_ends(
    lock_db: str, elector_factory
) -> None:
    elector, recorder = elector_factory("cp-0"), Recorder()
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started"], timeout=4 * LEASE)
    with psycopg.connect(lock_db) as blocker:  # a transaction holding the row: heartbeats block on it
        blocker.execute("SELECT * FROM locks WHERE name = %s FOR UPDATE", (LOCK_NAME,))
        blocked = time.monotonic()
        assert _until(lambda: not elector.is_leader(), timeout=LEASE)
        assert time.monotonic() - blocked < 0.9 * LEASE + 0.05  # before anyone else could take over
        assert recorder.wait_for(["started", "stopped"], timeout=LEASE)
        blocker.rollback()
    assert recorder.wait_for(["started", "stopped", "started"], timeout=6 * LEASE)


@pytest.mark.postgres
def test_a_callback_may_stop_its_elector(lock_db: str, elector_factory) -> None:
    elector, recorder = elector_factory("cp-0"), Recorder()
    elector.add_callbacks(on_started_leading=elector.stop)  # e.g. a component that fails at start
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started", "stopped"], timeout=4 * LEASE)
    assert _until(lambda: not elector._thread.is_alive(), timeout=2 * LEASE)
    assert not elector.is_leader()
    assert _lock_owner(lock_db) is None  # released on the way out
