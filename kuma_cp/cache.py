"""The read cache: Kuma's ``cachedManager``, for readers that can be a moment behind.

Reads are served from memory for ``store.cache.expirationTime`` (1s by default). When an entry expires,
one thread refills it while the others that want it wait for that one read (single flight), so a burst of
readers costs one store round trip. Every caller gets its own deep copy, so no caller can change what
another sees. Unlike Kuma's, a cached listing keeps its total and next offset, and a get with an expected
version is not served from the cache.

The HTTP API does not read through it (as in Kuma): an operator who writes and reads back sees the write.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import kv

__all__ = ["CachedReader"]

Outcome = Callable[[str, str, str], None]  # (operation, resource type, hit|miss|hit-wait)


class _Entry:
    __slots__ = ("expires", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expires = 0.0
        self.value: Any = None


class CachedReader:
    """Cached ``get`` and ``list`` over a store (anything with kv.Store's read methods)."""

    def __init__(
        self,
        store: Any,
        ttl: float,
        *,
        record: Outcome | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._record = record or (lambda operation, rtype, result: None)
        self._clock = clock
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._entries_lock = threading.Lock()

    def _read(self, operation: str, rtype: str, key: tuple[Any, ...], load: Callable[[], Any]) -> Any:
        with self._entries_lock:
            entry = self._entries.setdefault(key, _Entry())
            if len(self._entries) > 10_000:  # expired entries are dropped in bulk, not one by one
                now = self._clock()
                self._entries = {k: e for k, e in self._entries.items() if e.expires > now or k == key}
        if entry.expires > self._clock():
            self._record(operation, rtype, "hit")
            return copy.deepcopy(entry.value)
        waited = not entry.lock.acquire(blocking=False)
        if waited:
            entry.lock.acquire()
        try:
            if entry.expires > self._clock():  # another thread refilled it while this one waited
                self._record(operation, rtype, "hit-wait")
            else:
                self._record(operation, rtype, "miss")
                entry.value = load()
                entry.expires = self._clock() + self._ttl
            return copy.deepcopy(entry.value)
        finally:
            entry.lock.release()

    def get(self, type: str, mesh: str, name: str, *, version: str | None = None) -> kv.Record:
        """A record, at most the cache's TTL old; with *version*, read from the store."""
        if version is not None:
            return self._store.get(type, mesh, name, version=version)  # type: ignore[no-any-return]
        result = self._read("get", type, ("get", type, mesh, name), lambda: self._store.get(type, mesh, name))
        return result  # type: ignore[no-any-return]

    def list(
        self,
        type: str,
        *,
        mesh: str | None = None,
        name_contains: str | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        offset: str | None = None,
    ) -> kv.Page:
        """A listing, at most the cache's TTL old, with its total and next offset."""
        frozen_labels = None if labels is None else tuple(sorted(labels.items()))
        key = ("list", type, mesh, name_contains, frozen_labels, page_size, offset)

        def load() -> kv.Page:
            return self._store.list(  # type: ignore[no-any-return]
                type,
                mesh=mesh,
                name_contains=name_contains,
                labels=labels,
                page_size=page_size,
                offset=offset,
            )

        return self._read("list", type, key, load)  # type: ignore[no-any-return]
