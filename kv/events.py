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
from typing import Generic, Self, TypeVar

from kv.model import ResourceChanged

T = TypeVar("T")

__all__ = ["EventQueue", "Subscription"]


class EventQueue(Generic[T]):
    """A closable queue that one consumer reads, waiting with a timeout: the core of every subscription.

    Subclasses decide how events get in (and what happens when the buffer is full); `close` wakes a
    waiting reader, which then sees None.
    """

    def __init__(self) -> None:
        self._events: collections.deque[T] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False

    def get(self, timeout: float | None = None) -> T | None:
        """The next event, waiting up to *timeout* seconds (forever if None); None if none came or closed."""
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

    def __iter__(self) -> Iterator[T]:
        """Yield events until the queue is closed."""
        while (event := self.get()) is not None:
            yield event

    def _shut(self) -> bool:
        """Mark the queue closed and wake any waiting reader; False if it already was closed."""
        with self._ready:
            if self._closed:
                return False
            self._closed = True
            self._ready.notify_all()
            return True

    def close(self) -> None:
        """Stop receiving events and wake any waiting reader."""
        self._shut()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription(EventQueue[ResourceChanged]):
    """A buffered stream of `ResourceChanged` events. Use as a context manager or call `close`."""

    def __init__(self, buffer: int = 100) -> None:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        super().__init__()
        self._buffer = buffer
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

    def close(self) -> None:
        """Stop receiving events, wake any waiting reader, and detach from the driver."""
        self._shut()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
