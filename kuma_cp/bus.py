"""The in-process event bus: store change events fanned out to the control plane's components.

As Kuma's event bus, every subscriber has its own bounded buffer and a publisher never blocks. Unlike
Kuma's, which drops new events silently when a buffer is full, a subscriber never loses an event without
being told: a gap becomes a `Resync` event, after which the subscriber rebuilds its view by listing.

- A subscriber that falls *buffer* events behind has its backlog replaced by one `Resync` (the events
  discarded are counted in its ``dropped``); what it lists after it includes every change discarded.
- `EventBus.resync` sends a `Resync` to every subscriber (for example when the store's change feed
  reconnected and may have missed notifications). It supersedes what was queued before it.
- `EventBus.feed` forwards a store's events from a daemon thread; when the store's own subscription
  reports drops (``kv.Subscription.dropped`` grew) it resyncs every subscriber.

Events are `kv.ResourceChanged` (a record changed: read it again) or `Resync` (read everything again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from attrs import frozen

import kv
from kv.events import EventQueue

__all__ = ["Event", "EventBus", "Resync", "Subscription"]

log = logging.getLogger("kuma-cp.eventbus")


@frozen
class Resync:
    """Events may have been lost: rebuild your view from a full listing.

    Attributes:
        reason: why (``"subscriber fell behind"``, ``"store events dropped"``, ...), for logs.
    """

    reason: str


Event = kv.ResourceChanged | Resync
Predicate = Callable[[kv.ResourceChanged], bool]


class Subscription(EventQueue[Event]):
    """One subscriber's bounded stream of events. Use as a context manager or call `close`.

    Attributes:
        dropped: events discarded (replaced by a `Resync`) because this subscriber fell behind.
    """

    def __init__(
        self, buffer: int, predicate: Predicate | None, on_close: Callable[[Subscription], None]
    ) -> None:
        super().__init__()
        self._buffer = buffer
        self._predicate = predicate
        self._on_close = on_close
        self.dropped = 0

    def _offer(self, event: Event) -> int:
        """Queue *event* unless filtered out; the number of events discarded because the buffer was full."""
        if isinstance(event, kv.ResourceChanged) and not self._wants(event):
            return 0
        with self._ready:
            if self._closed:
                return 0
            discarded = 0
            if isinstance(event, Resync):
                self._events.clear()  # all superseded: the listing after a Resync includes them
            elif len(self._events) >= self._buffer:
                discarded = 1 + sum(isinstance(e, kv.ResourceChanged) for e in self._events)
                self._events.clear()
                event = Resync("subscriber fell behind")
            self._events.append(event)
            self.dropped += discarded
            self._ready.notify()
            return discarded

    def _wants(self, event: kv.ResourceChanged) -> bool:
        if self._predicate is None:
            return True
        try:
            return self._predicate(event)
        except Exception:  # deliver: an event is only a hint to read again, losing one is worse
            log.exception("event predicate failed on %s", event)
            return True

    def close(self) -> None:
        """Stop receiving events, wake any waiting reader, and leave the bus."""
        if self._shut():
            self._on_close(self)


class EventBus:
    """Fans events out to subscribers; thread-safe, and publishing never blocks.

    Args:
        buffer: events each subscriber may fall behind before its backlog becomes one `Resync`
            (Kuma's ``KUMA_EVENT_BUS_BUFFER_SIZE``, 100).
    """

    def __init__(self, buffer: int = 100) -> None:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        self._buffer = buffer
        self._subscribers: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._feeders: list[threading.Thread] = []
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """Events discarded, over all subscribers (Kuma's ``events_dropped`` metric)."""
        return self._dropped

    def subscribe(self, predicate: Predicate | None = None) -> Subscription:
        """A new subscriber; *predicate* selects the change events it gets (a `Resync` always comes)."""
        subscription = Subscription(self._buffer, predicate, self._unsubscribe)
        with self._lock:
            self._subscribers = (*self._subscribers, subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscription)

    def publish(self, event: Event) -> None:
        """Hand *event* to every subscriber; never blocks."""
        discarded = sum(subscriber._offer(event) for subscriber in self._subscribers)
        if discarded:
            with self._lock:
                self._dropped += discarded
            if not isinstance(event, Resync):
                log.info(
                    "[WARNING] a subscriber fell behind; %d events replaced by a resync. Consider "
                    "increasing buffer size using KUMA_EVENT_BUS_BUFFER_SIZE (bufferSize %d)",
                    discarded,
                    self._buffer,
                )

    def resync(self, reason: str) -> None:
        """Tell every subscriber to rebuild its view: events may have been lost (*reason*, for logs)."""
        log.info("resynchronising event subscribers: %s", reason)
        self.publish(Resync(reason))

    def feed(self, store: kv.Store, *, resync_interval: float | None = None, poll: float = 0.5) -> None:
        """Forward *store*'s change events to the subscribers from a daemon thread, until `close`.

        Args:
            store: the store whose ``subscribe()`` feeds the bus.
            resync_interval: also resync every this many seconds (None: only when events were lost), a
                bound on how long a notification lost without a trace can go unnoticed.
            poll: how often, at most, to check the store's subscription for drops when no event comes.
        """
        source = store.subscribe(buffer=self._buffer)
        thread = threading.Thread(
            target=self._forward, args=(source, resync_interval, poll), name="kuma-cp-eventbus", daemon=True
        )
        self._feeders.append(thread)
        thread.start()

    def _forward(self, source: kv.Subscription, resync_interval: float | None, poll: float) -> None:
        seen = source.dropped
        last_resync = time.monotonic()
        with source:
            while not self._stop.is_set():
                try:
                    event = source.get(timeout=poll)
                    reason = None
                    if source.dropped != seen:
                        seen, reason = source.dropped, "store events dropped"
                        for _ in range(self._buffer):  # older than the ones dropped: the resync covers them
                            if source.get(timeout=0) is None:
                                break
                    elif resync_interval is not None and time.monotonic() - last_resync >= resync_interval:
                        reason = "periodic"
                    if reason is None:
                        if event is not None:
                            self.publish(event)
                        continue
                    if reason == "periodic":  # routine: not logged
                        self.publish(Resync(reason))
                    else:
                        self.resync(reason)
                    last_resync = time.monotonic()  # a resync supersedes *event* too
                except Exception:  # the feed must outlive any one bad event
                    log.exception("forwarding store events failed")

    def close(self, timeout: float = 5.0) -> None:
        """Stop the feeders (closing their store subscriptions) and close every subscription."""
        self._stop.set()
        for thread in self._feeders:
            thread.join(timeout)
        for subscription in self._subscribers:
            subscription.close()
