"""Change-event subscriptions, the same on every backend.

A driver calls its listeners after each committed change; a `Subscription` is such a listener with a
bounded buffer that a consumer thread reads. When the buffer is full new events are dropped and
counted in `Subscription.dropped`: a consumer that sees drops must resynchronise by listing (as Kuma's
consumers do after their event bus drops). Events are never delivered out of order.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator

from kv.model import ResourceChanged

__all__ = ["Subscription"]


class Subscription:
    """A buffered stream of `ResourceChanged` events. Use as a context manager or call `close`."""

    def __init__(self, buffer: int = 100) -> None:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        self._events: collections.deque[ResourceChanged] = collections.deque()
        self._buffer = buffer
        self._ready = threading.Condition()
        self._closed = False
        self._unsubscribe: Callable[[], None] | None = None
        self.dropped = 0

    def attach(self, unsubscribe: Callable[[], None]) -> None:
        """Remember how to detach from the driver (called once by the store)."""
        self._unsubscribe = unsubscribe

    def __call__(self, event: ResourceChanged) -> None:
        """Deliver one event (the driver's side); never blocks."""
        with self._ready:
            if self._closed:
                return
            if len(self._events) >= self._buffer:
                self.dropped += 1
                return
            self._events.append(event)
            self._ready.notify()

    def lost(self) -> None:
        """Count a gap the driver knows of (its event source reconnected): events may have been lost.

        Counted in `dropped`, so a consumer resynchronises exactly as after a drop.
        """
        with self._ready:
            if not self._closed:
                self.dropped += 1

    def get(self, timeout: float | None = None) -> ResourceChanged | None:
        """The next event, waiting up to *timeout* seconds (forever if None); None if none came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._events:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._ready.wait(remaining)
            return self._events.popleft()

    def __iter__(self) -> Iterator[ResourceChanged]:
        """Yield events until the subscription is closed."""
        while (event := self.get()) is not None:
            yield event

    def close(self) -> None:
        """Stop receiving events and wake any waiting reader."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
