"""One LIST+WATCH per kind, keeping its `KindCache` current and feeding change events in commit order.

An `Informer` lists its kind once (`sync`, which the driver calls on the kind's first use), then
watches from the list's resourceVersion in a daemon thread, with bookmarks, so nothing committed after
the list is missed. A dropped watch resumes from the last resourceVersion seen; a 410 Gone (that version
was compacted away) lists again, replaces the cache's contents and reports a gap, since change events
may have been lost. Failures back off from 0.25 s up to 2 s, so the cache catches up soon after the API
server comes back.

Watches of different kinds run in different threads, so their events are merged by resourceVersion
(etcd's one revision for the whole cluster) after a short hold in `Merger`, which restores commit order
across kinds before listeners see them.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import watch

from kv.drivers.k8s.cache import Entry, KindCache, revision_of
from kv.drivers.k8s.errors import expired, translate_errors
from kv.model import Op, ResourceChanged

__all__ = ["HOLD", "Informer", "Merger"]

log = logging.getLogger(__name__)
_OPS = {"ADDED": Op.CREATE, "MODIFIED": Op.UPDATE, "DELETED": Op.DELETE}
HOLD = 0.15  # seconds an event waits for earlier ones from other kinds' watches
WATCH_SECONDS = 60  # how long the API server keeps one watch open (with jitter), before it is renewed
Lister = Callable[..., Any]
_jitter = random.Random()  # its own: the global one belongs to the application (and Hypothesis watches it)


class Merger:
    """Hands events from many watches to *deliver* in revision order, each after `HOLD` seconds."""

    def __init__(self, deliver: Callable[[ResourceChanged], None], stopping: threading.Event) -> None:
        self._deliver = deliver
        self._stopping = stopping
        self._pending: list[tuple[int, int, float, ResourceChanged]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        threading.Thread(target=self._release, name="kv-k8s-events", daemon=True).start()

    def add(self, revision: int, event: ResourceChanged) -> None:
        """Queue *event*, committed at *revision*."""
        with self._ready:
            heapq.heappush(self._pending, (revision, next(self._order), time.monotonic() + HOLD, event))
            self._ready.notify()

    def _release(self) -> None:
        while not self._stopping.is_set():
            with self._ready:
                if not self._pending:
                    self._ready.wait(0.5)
                    continue
                due = self._pending[0][2] - time.monotonic()
                if due > 0:
                    self._ready.wait(due)
                    continue
                _, _, _, event = heapq.heappop(self._pending)
            try:
                self._deliver(event)
            except Exception:
                log.exception("change listener failed on %s", event)

    def wake(self) -> None:
        """Let the release thread see that it is stopping."""
        with self._ready:
            self._ready.notify_all()


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


class Informer:
    """Keeps *cache* equal to what the API server holds of one kind.

    Args:
        kind: the kind's name, for logs.
        lister: lists the kind (``list_cluster_custom_object`` bound to it, or a native lister); with
            ``watch=True`` it watches.
        plain: turns what *lister* returns into plain JSON (native objects come back as models).
        to_entry: the cache entry for an object.
        cache: the kind's cache.
        emit: receives each change, with its revision (see `Merger`).
        gap: called when change events may have been lost (after a re-list).
        before_call: called before every request (the client-side rate limiter).
        timeout: (connect, read) seconds for a LIST.
        stopping: set when the driver closes.
    """

    def __init__(
        self,
        kind: str,
        lister: Lister,
        *,
        plain: Callable[[Any], Any],
        to_entry: Callable[[Mapping[str, Any]], Entry],
        cache: KindCache,
        emit: Callable[[int, ResourceChanged], None],
        gap: Callable[[], None],
        before_call: Callable[[], None],
        timeout: tuple[float, float],
        stopping: threading.Event,
    ) -> None:
        self.kind = kind
        self.cache = cache
        self._lister, self._plain, self._to_entry = lister, plain, to_entry
        self._emit, self._gap, self._before_call = emit, gap, before_call
        self._timeout = timeout
        self._stopping = stopping
        self._version = ""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._watch: Any = None

    def sync(self) -> None:
        """Make sure the cache is filled and being watched: the first call lists (raising kv errors)."""
        if self.cache.synced.is_set():
            return
        with self._lock:
            if self._thread is not None:
                return
            self._list()
            self._thread = threading.Thread(target=self._run, name=f"kv-k8s-watch-{self.kind}", daemon=True)
            self._thread.start()

    def _entry(self, obj: Mapping[str, Any]) -> Entry | None:
        try:
            return self._to_entry(obj)
        except Exception as exc:  # an object no record can be read from: skip it, keep the others
            log.warning("kubernetes %s %r left out of the cache: %s", self.kind, _meta(obj).get("name"), exc)
            return None

    def _list(self) -> None:
        self._version = self.refresh()

    def refresh(self) -> str:
        """List now and replace the cache's contents (raising kv errors); the list's resourceVersion.

        The watch goes on from where it was: events already in the list change nothing when they come.
        """
        self._before_call()
        with translate_errors():
            found = self._plain(self._lister(_request_timeout=self._timeout))
        version = str(_meta(found).get("resourceVersion", ""))
        entries = [e for obj in found.get("items") or [] if (e := self._entry(obj)) is not None]
        self.cache.replace(entries, revision_of(version))
        return version

    def _run(self) -> None:
        backoff = 0.25
        while not self._stopping.is_set():
            try:
                self._follow()
                backoff = 0.25
            except Exception as exc:
                if self._stopping.is_set():
                    return
                if expired(exc):
                    log.info("kubernetes %s watch expired (410 Gone); listing again", self.kind)
                    try:
                        self._list()
                    except Exception as again:
                        log.warning("kubernetes %s list failed (%s); retrying", self.kind, again)
                        self._stopping.wait(backoff)
                        backoff = min(2 * backoff, 2.0)
                        continue
                    self._gap()
                    continue
                log.warning("kubernetes %s watch lost (%s); resuming", self.kind, type(exc).__name__)
                self._stopping.wait(backoff)
                backoff = min(2 * backoff, 2.0)

    def _follow(self) -> None:
        """Watch from the last version seen until the server ends the watch (or it fails)."""
        self._before_call()
        seconds = int(WATCH_SECONDS * _jitter.uniform(1.0, 1.5))
        make_watch: Any = watch.Watch  # the client's annotations are partial
        self._watch = watcher = make_watch()
        stream = watcher.stream(
            self._lister,
            resource_version=self._version,
            timeout_seconds=seconds,
            allow_watch_bookmarks=True,
            _request_timeout=(self._timeout[0], seconds + 10),
        )
        for event in stream:
            obj = event["raw_object"]
            version = str(_meta(obj).get("resourceVersion", ""))
            op = _OPS.get(event["type"])
            if op is not None and (entry := self._entry(obj)) is not None:
                if op is Op.DELETE:
                    self.cache.delete(entry.namespace, entry.name, entry.uid)
                else:
                    self.cache.put(entry)
                key = entry.row.key
                self._emit(revision_of(version), ResourceChanged(op, key.type, key.mesh, key.name))
            if version:
                self._version = version
            if self._stopping.is_set():
                return

    @property
    def running(self) -> bool:
        """Whether the watch thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Cut the open watch, if any (the thread then sees that the driver is stopping)."""
        response = getattr(self._watch, "_resp", None)
        if response is not None:
            try:
                response.shutdown() if hasattr(response, "shutdown") else response.close()
            except Exception as exc:  # already closed
                log.debug("closing the %s watch: %s", self.kind, exc)
