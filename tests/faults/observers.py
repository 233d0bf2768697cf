"""What watches the store during a fault: a leader elector, the event bus and a kv subscription."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import kv
from kuma_cp.bus import Event, EventBus, Resync
from kuma_cp.leader import LeaderElector, PostgresElector
from kv.drivers.postgres import create_engine
from tests.faults.harness import TYPES

LEASE = 1.0  # a fifth of Kuma's timings: the algorithm compares no clocks
MARKERS = "markers"


class Observers:
    """*elector* and the event bus fed by *store*, with their history; `on_postgres` makes Kuma's elector.

    Attributes:
        transitions: (when, "started" | "stopped") of the elector's leadership.
        events: (when, event) of everything the bus delivered.
        direct: a kv subscription to the store, whose ``dropped`` counts the listener's losses.
    """

    def __init__(
        self, store: kv.Store, elector: LeaderElector, *, release: Callable[[], None] = lambda: None
    ) -> None:
        self.store = store
        self.elector = elector
        self._release = release  # what the elector was made with: released by close()
        self.transitions: list[tuple[float, str]] = []
        self.elector.add_callbacks(lambda: self._mark("started"), lambda: self._mark("stopped"))
        self.bus = EventBus(buffer=1_000_000)  # never falls behind: a Resync then means a lost listener
        self.events: list[tuple[float, Event]] = []
        self._subscription = self.bus.subscribe()
        self.direct = store.subscribe(buffer=1_000_000)
        self._consumer = threading.Thread(target=self._consume, name="fault-bus-consumer", daemon=True)
        self._markers = 0

    @classmethod
    def on_postgres(cls, store: kv.Store, url: str) -> Observers:
        """With Kuma's Postgres elector on *url*, on an engine of its own as kuma-cp's runtime makes it."""
        engine = create_engine(url, max_open_connections=2)
        elector = PostgresElector(engine, instance_id="fault-cp", lease=LEASE, heartbeat=LEASE / 5, retry=0.3)
        return cls(store, elector, release=engine.dispose)

    def _mark(self, what: str) -> None:
        self.transitions.append((time.monotonic(), what))

    def _consume(self) -> None:
        for event in self._subscription:
            self.events.append((time.monotonic(), event))

    def start(self) -> None:
        """Start electing and listening; fails unless this instance leads and events flow within 10s."""
        self.elector.start()
        self.bus.feed(self.store, poll=0.05)
        self._consumer.start()
        assert self.elector.leading.wait(10), "never became the leader"
        assert self.event_flows(time.monotonic() + 10) is not None, "no event came through the bus"

    def close(self) -> None:
        """Stop everything (bounded: the elector's stop returns within about a lease)."""
        self.elector.stop()
        self.bus.close()
        self.direct.close()
        if self._consumer.ident is not None:
            self._consumer.join(5)
        self._release()

    def stepped_down_after(self, moment: float) -> float | None:
        """When leadership was lost after *moment*, if it was."""
        return next((t for t, what in self.transitions if t >= moment and what == "stopped"), None)

    def leading_again(self, moment: float, deadline: float) -> float | None:
        """When leadership was taken (again) after *moment*, waiting until *deadline*; None if it was not."""
        while True:
            won = [t for t, what in self.transitions if t >= moment and what == "started"]
            if won and self.elector.is_leader():
                return won[0]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def resyncs_after(self, moment: float) -> list[Resync]:
        """The `Resync` events delivered after *moment*."""
        return [e for t, e in list(self.events) if t >= moment and isinstance(e, Resync)]

    def event_flows(self, deadline: float) -> float | None:
        """Write a marker record (again, until the store takes it) and return when its event came.

        None if no marker's event arrived by *deadline*.
        """
        while time.monotonic() < deadline:
            self._markers += 1
            name = f"m-{self._markers}"
            try:
                self.store.create(kv.Record(key=kv.Key(TYPES.item, MARKERS, name)))
            except kv.Unavailable:
                time.sleep(0.1)
                continue
            wanted = kv.ResourceChanged(kv.Op.CREATE, TYPES.item, MARKERS, name)
            until = min(deadline, time.monotonic() + 0.5)  # an event lost while reconnecting: write again
            while time.monotonic() < until:
                seen = next((t for t, e in list(self.events) if e == wanted), None)
                if seen is not None:
                    return seen
                time.sleep(0.02)
        return None
