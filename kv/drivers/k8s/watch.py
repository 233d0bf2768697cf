"""Change events from the API server: one watch per kind, merged back into commit order.

Each watch starts from the resourceVersion of an initial list, so nothing written after `Watcher.start`
returns is missed. A 410 Gone (the version expired) re-lists and resumes; a dropped connection
reconnects. Watches of different kinds run in different threads, so their events are merged by
resourceVersion (etcd's global revision) after a short hold, which restores commit order across kinds.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from kv.driver import Row
from kv.model import Op, ResourceChanged

__all__ = ["Watcher"]

log = logging.getLogger(__name__)
_OPS = {"ADDED": Op.CREATE, "MODIFIED": Op.UPDATE, "DELETED": Op.DELETE}
HOLD = 0.15  # seconds an event waits for earlier ones from other kinds' watches


def _version(obj: Any) -> str:
    meta = obj.get("metadata", {}) if isinstance(obj, Mapping) else obj.metadata
    return str(meta.get("resourceVersion", "") if isinstance(meta, Mapping) else meta.resource_version)


class Watcher:
    """Watches every source and hands `ResourceChanged` events to *deliver*, in revision order."""

    def __init__(
        self,
        sources: list[tuple[Callable[..., Any], Callable[[Any], Row]]],
        deliver: Callable[[ResourceChanged], None],
    ) -> None:
        self._sources = sources
        self._deliver = deliver
        self._stop = threading.Event()
        self._pending: list[tuple[int, int, float, ResourceChanged]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """List every kind (so later writes are seen), then watch from there in background threads."""
        for list_fn, to_row in self._sources:
            version = _version(list_fn(_request_timeout=(5, 30)))
            thread = threading.Thread(target=self._watch, args=(list_fn, to_row, version), daemon=True)
            self._threads.append(thread)
        self._threads.append(threading.Thread(target=self._release, name="kv-k8s-events", daemon=True))
        for thread in self._threads:
            thread.start()

    def _watch(self, list_fn: Callable[..., Any], to_row: Callable[[Any], Row], version: str) -> None:
        while not self._stop.is_set():
            try:
                make_watch: Any = watch.Watch  # the client's annotations are partial
                watcher = make_watch()
                stream = watcher.stream(
                    list_fn, resource_version=version, timeout_seconds=5, _request_timeout=(5, 30)
                )
                for event in stream:
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if isinstance(obj, Mapping) and obj.get("code") == 410:
                            version = _version(list_fn(_request_timeout=(5, 30)))
                        break
                    version = _version(obj)
                    if (op := _OPS.get(event["type"])) is not None:
                        key = to_row(obj).key
                        self._hold(
                            int(version) if version.isdigit() else 0,
                            ResourceChanged(op, key.type, key.mesh, key.name),
                        )
                    if self._stop.is_set():
                        return
            except ApiException as exc:
                if exc.status == 410:
                    version = _version(list_fn(_request_timeout=(5, 30)))
                    continue
                log.warning("kubernetes watch failed (%s); reconnecting", exc.status)
                self._stop.wait(1)
            except Exception as exc:  # a dropped connection: reconnect from the last version seen
                log.warning("kubernetes watch lost (%s); reconnecting", type(exc).__name__)
                self._stop.wait(1)

    def _hold(self, revision: int, event: ResourceChanged) -> None:
        with self._ready:
            heapq.heappush(self._pending, (revision, next(self._order), time.monotonic() + HOLD, event))
            self._ready.notify()

    def _release(self) -> None:
        while not self._stop.is_set():
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

    def stop(self) -> None:
        """Stop watching (the watch threads end within their 5 s server timeout; they are daemons)."""
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
