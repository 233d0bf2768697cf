"""kuma_cp.bus: fan-out, bounded buffers that turn a gap into a Resync, and the feed from a store."""

from __future__ import annotations

import threading
import time

import pytest

import kv
from kuma_cp.bus import Event, EventBus, Resync
from kv.drivers.memory import MemoryDriver
from kv.testing import Types

TYPES = Types()


def _changed(name: str, op: kv.Op = kv.Op.CREATE, type: str = TYPES.item) -> kv.ResourceChanged:
    return kv.ResourceChanged(op, type, "m", name)


def _drain(subscription: object, count: int, timeout: float = 5.0) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        event = subscription.get(timeout=0.05)  # type: ignore[attr-defined]
        if event is not None:
            got.append(event)
    return got


def test_every_subscriber_gets_every_event_in_order() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    events = [_changed(f"w-{i}") for i in range(10)]
    for event in events:
        bus.publish(event)
    assert [first.get(timeout=0) for _ in events] == events
    assert [second.get(timeout=0) for _ in events] == events
    assert first.get(timeout=0) is None


def test_a_predicate_selects_changes_but_never_hides_a_resync() -> None:
    bus = EventBus()
    owners = bus.subscribe(lambda event: event.type == TYPES.owner)
    bus.publish(_changed("w-1"))
    bus.publish(_changed("t-1", type=TYPES.owner))
    assert _drain(owners, 2, timeout=0.2) == [_changed("t-1", type=TYPES.owner)]
    bus.resync("listener reconnected")
    assert _drain(owners, 2, timeout=0.2) == [Resync("listener reconnected")]


def test_a_subscriber_that_falls_behind_gets_a_resync_instead_of_a_silent_gap() -> None:
    bus = EventBus(buffer=3)
    slow, fast = bus.subscribe(), bus.subscribe()
    got_fast = []
    started = time.monotonic()
    for i in range(5):
        bus.publish(_changed(f"w-{i}"))
        got_fast.append(fast.get(timeout=0))
    assert time.monotonic() - started < 1  # publishing never waited for the slow reader
    assert got_fast == [_changed(f"w-{i}") for i in range(5)]
    assert fast.dropped == 0
    # w-0..w-2 filled the buffer; w-3 found it full: the backlog became one Resync; w-4 came after it.
    assert _drain(slow, 3, timeout=0.2) == [Resync("subscriber fell behind"), _changed("w-4")]
    assert slow.dropped == 4
    assert bus.dropped == 4


def test_resync_supersedes_what_was_queued_and_counts_no_drop() -> None:
    bus = EventBus()
    subscription = bus.subscribe()
    bus.publish(_changed("w-1"))
    bus.publish(_changed("w-2"))
    bus.resync("listener reconnected")
    bus.resync("listener reconnected again")  # coalesced: one Resync, the latest
    bus.publish(_changed("w-3"))
    assert _drain(subscription, 3, timeout=0.2) == [Resync("listener reconnected again"), _changed("w-3")]
    assert (subscription.dropped, bus.dropped) == (0, 0)


def test_close_unsubscribes_and_wakes_a_waiting_reader() -> None:
    bus = EventBus()
    subscription = bus.subscribe()
    results: list[Event | None] = []
    reader = threading.Thread(target=lambda: results.append(subscription.get()))
    reader.start()
    time.sleep(0.05)
    subscription.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert results == [None]
    bus.publish(_changed("w-1"))
    assert subscription.get(timeout=0) is None
    assert list(subscription) == []


def test_a_failing_predicate_delivers_rather_than_loses() -> None:
    bus = EventBus()

    def broken(event: kv.ResourceChanged) -> bool:
        raise RuntimeError("bug")

    subscription = bus.subscribe(broken)
    bus.publish(_changed("w-1"))
    assert subscription.get(timeout=0) == _changed("w-1")


def test_feed_forwards_a_stores_events_in_commit_order() -> None:
    store = kv.Store(MemoryDriver(), catalog=TYPES.catalog())
    bus = EventBus()
    subscription = bus.subscribe()
    bus.feed(store, poll=0.05)
    created = store.create(kv.Record(key=kv.Key(TYPES.item, "m", "w-1")))
    store.update(created)
    store.delete(TYPES.item, "m", "w-1")
    try:
        assert _drain(subscription, 3) == [
            _changed("w-1"),
            _changed("w-1", kv.Op.UPDATE),
            _changed("w-1", kv.Op.DELETE),
        ]
    finally:
        bus.close()
    assert subscription.get(timeout=0) is None  # closed with the bus


def test_feed_turns_drops_in_the_stores_subscription_into_a_resync() -> None:
    store = kv.Store(MemoryDriver(), catalog=TYPES.catalog())
    bus = EventBus(buffer=2)
    gate, blocked = threading.Event(), threading.Event()

    def slow(event: kv.ResourceChanged) -> bool:  # runs on the feed's thread: stalls it
        blocked.set()
        gate.wait(5)
        return True

    subscription = bus.subscribe(slow)
    bus.feed(store, poll=0.05)
    try:
        store.create(kv.Record(key=kv.Key(TYPES.item, "m", "w-0")))
        assert blocked.wait(5)
        for i in range(1, 10):  # the store's subscription holds 2 of these and drops the rest
            store.create(kv.Record(key=kv.Key(TYPES.item, "m", f"w-{i}")))
        gate.set()
        # w-0 (queued before the drops were seen) is superseded by the resync, like the rest
        assert _drain(subscription, 2, timeout=1) == [Resync("store events dropped")]
        store.create(kv.Record(key=kv.Key(TYPES.item, "m", "w-10")))
        assert _drain(subscription, 1) == [_changed("w-10")]  # the feed goes on after a resync
    finally:
        gate.set()
        bus.close()


def test_feed_can_resync_periodically() -> None:
    store = kv.Store(MemoryDriver(), catalog=TYPES.catalog())
    bus = EventBus()
    subscription = bus.subscribe()
    bus.feed(store, resync_interval=0.2, poll=0.05)
    try:
        started = time.monotonic()
        assert _drain(subscription, 1) == [Resync("periodic")]
        assert 0.15 < time.monotonic() - started < 3
    finally:
        bus.close()


def test_close_stops_the_feed_promptly() -> None:
    bus = EventBus()
    bus.feed(kv.Store(MemoryDriver(), catalog=TYPES.catalog()), poll=0.05)
    started = time.monotonic()
    bus.close()
    assert time.monotonic() - started < 1
    assert not [t for t in threading.enumerate() if t.name == "kuma-cp-eventbus"]


@pytest.mark.postgres
def test_a_postgres_listener_reconnect_resyncs_subscribers(pg_database: str) -> None:
    import psycopg

    from kuma_cp import migrate
    from kv.drivers.postgres import PostgresDriver, create_engine

    admin = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(admin)
    admin.dispose()
    bus = EventBus()
    subscription = bus.subscribe()
    with kv.Store(PostgresDriver.from_url(pg_database), catalog=TYPES.catalog()) as store:
        bus.feed(store, poll=0.05)
        try:
            store.create(kv.Record(key=kv.Key(TYPES.item, "m", "w-1")))
            assert _drain(subscription, 1) == [_changed("w-1")]
            with psycopg.connect(pg_database, autocommit=True) as connection:
                connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            assert _drain(subscription, 1, timeout=5) == [Resync("store events dropped")]
        finally:
            bus.close()
