"""The Kubernetes driver: kv records as custom objects (or native Secrets and ConfigMaps), official client.

Reads come from a watch cache, as Kuma's store reads through controller-runtime's informers: one
LIST+WATCH per kind (Secrets and ConfigMaps only in the system namespace), started on the kind's first
use (`kv.drivers.k8s.informer`, `kv.drivers.k8s.cache`). Writes go to the API server, and what each
write returns is applied to the cache before it returns, so this process reads its own writes at once;
``get(consistent=True)`` asks the API server. Other processes' writes appear when their watch events
arrive (milliseconds on a healthy cluster).

Versions are ``metadata.resourceVersion``. An update replaces the object with the version it was given as
the precondition, so the API server refuses a stale one (409 → `Conflict`); a delete at a version uses a
delete precondition. Dependents carry their owner's uid in a label and, unless their owner's type is in
*skip_owner_references*, an ownerReference, which a cluster's garbage collector follows. Because a bare
API server runs no garbage collector, the driver also deletes what a record owns itself, recursively,
found in the caches' owner index (no LIST per delete). How a record becomes an object is
`kv.drivers.k8s.mapping`.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubernetes import client

from kv.driver import Listener, Query, Row
from kv.drivers.k8s import connect
from kv.drivers.k8s.cache import Entry, KindCache
from kv.drivers.k8s.calls import Calls
from kv.drivers.k8s.informer import Informer, Merger
from kv.drivers.k8s.kinds import NATIVE_KINDS, Kind
from kv.drivers.k8s.lease import Lease
from kv.drivers.k8s.limits import RateLimiter, check_size
from kv.drivers.k8s.mapping import Mapper
from kv.errors import AlreadyExists, Conflict, Invalid, KVError, NotFound, quote
from kv.events import Subscription
from kv.model import Key, ResourceChanged

__all__ = ["KubernetesDriver"]

log = logging.getLogger(__name__)


class KubernetesDriver:
    """Records in a Kubernetes cluster, one custom resource (or native object) kind per record type."""

    name = "kubernetes"

    def __init__(
        self,
        api: client.ApiClient,
        kinds: Iterable[Kind],
        *,
        system_namespace: str = "kuma-system",
        annotation_labels: Iterable[str] = (),
        timeout: tuple[float, float] = (5.0, 30.0),
        qps: float = 100.0,
        burst: int = 100,
        skip_owner_references: Iterable[str] = (),
    ) -> None:
        self._kinds = {kind.type: kind for kind in kinds}
        self._system_namespace = system_namespace
        self._annotation_labels = frozenset(annotation_labels)
        self._mapper = Mapper(system_namespace, self._annotation_labels)
        self._timeout = timeout
        self._limiter = RateLimiter(qps, burst)
        self._call = Calls(api, self._limiter, timeout, system_namespace)
        self._skip_references = frozenset(skip_owner_references)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._stopping = threading.Event()
        self._merger: Merger | None = None
        # Watches hold their connections for minutes: a pool of their own, one connection per kind.
        watching = copy.deepcopy(api.configuration)
        watching.connection_pool_maxsize = len(self._kinds) + 2
        self._watch_api: Any = client.ApiClient(watching)
        self._informers = {
            kind.type: Informer(
                kind.type,
                self._call.lister(kind, self._watch_api),
                plain=self._watch_api.sanitize_for_serialization,
                to_entry=functools.partial(self._mapper.entry, kind),
                cache=KindCache(),
                emit=self._emit,
                gap=self._gap,
                before_call=self._limiter.acquire,
                timeout=timeout,
                stopping=self._stopping,
            )
            for kind in self._kinds.values()
        }

    @classmethod
    def from_url(
        cls,
        url: str = "kubernetes://",
        *,
        kinds: Iterable[Kind],
        kubeconfig: str | None = None,
        **options: Any,
    ) -> KubernetesDriver:
        """In-cluster config inside a pod, else *kubeconfig* / ``KUBECONFIG`` / ``~/.kube/config``."""
        configuration = connect.configure(kubeconfig)
        # One retry, for a kept-alive connection the server has closed; a dead server then fails in two
        # connection attempts rather than urllib3's four.
        configuration.retries = 1
        return cls(client.ApiClient(configuration), kinds, **options)

    def check(self) -> None:
        """Raise a kv error saying what is missing: the server, a CRD or the system namespace."""
        connect.preflight(self._call.api, self._kinds.values(), self._system_namespace, self._limiter.acquire)

    def lease(self, name: str) -> Lease:
        """The Lease *name* in the system namespace, for leader election."""
        return Lease(
            self._call.api,
            self._system_namespace,
            name,
            timeout=self._timeout,
            before_call=self._limiter.acquire,
        )

    # --- raw calls ---------------------------------------------------------------------------------

    def _kind(self, type_name: str) -> Kind:
        kind = self._kinds.get(type_name)
        if kind is None:
            raise Invalid(f"type {quote(type_name)} has no Kubernetes kind registered with this store")
        return kind

    def _live(self, key: Key) -> Entry:
        """The object holding *key*, from the API server (`NotFound` if none), also put in the cache."""
        kind = self._kind(key.type)
        namespace, name = self._mapper.locate(kind, key)
        entry = self._remember(kind, self._call(kind, "get", namespace, key, name=name))
        if entry.row.key.mesh != key.mesh:
            raise NotFound.of(key)  # the same object, asked for in another mesh
        return entry

    def _cache(self, kind: Kind) -> KindCache:
        informer = self._informers[kind.type]
        informer.sync()
        return informer.cache

    def _current(self, key: Key, expected: str | None = None) -> Entry:
        """The object holding *key*: cached, unless missing or not at *expected* (then asked for)."""
        entry = self._cache(self._kind(key.type)).get((key.mesh, key.name))
        if entry is None or (expected is not None and entry.row.version != expected):
            return self._live(key)
        return entry

    def _remember(self, kind: Kind, obj: Mapping[str, Any]) -> Entry:
        """The entry for an object the API server just returned, put in the cache once it is filled.

        So this process reads its own writes, and a live read never leaves the cache behind it.
        """
        entry = self._mapper.entry(kind, obj)
        if (cache := self._informers[kind.type].cache).synced.is_set():
            cache.put(entry)
        return entry

    # --- the Driver protocol -----------------------------------------------------------------------

    def create(self, row: Row) -> Row:  # noqa: D102 - the Driver protocol documents it
        kind = self._kind(row.key.type)
        owner_uid, references = None, []
        if row.owner is not None:
            try:
                owner = self._current(row.owner)
            except NotFound:
                try:  # AlreadyExists comes first, as on every backend
                    self._current(row.key)
                except NotFound:
                    raise NotFound.of(row.owner) from None
                raise AlreadyExists.of(row.key) from None
            owner_kind, owner_uid = self._kind(row.owner.type), owner.uid
            if row.owner.type not in self._skip_references:
                native = owner_kind.native
                kind_name = NATIVE_KINDS[owner_kind.scope] if native else owner_kind.type
                api_version = "v1" if native else owner_kind.api_version
                references = [
                    {"apiVersion": api_version, "kind": kind_name, "name": owner.name, "uid": owner.uid}
                ]
        body = self._mapper.body(kind, row, owner_uid=owner_uid, references=references)
        check_size(body, row.key)
        namespace = body["metadata"].get("namespace")
        self._call.ensure_namespace(namespace)
        return self._remember(kind, self._call(kind, "create", namespace, row.key, body=body)).row

    def update(  # noqa: D102
        self,
        key: Key,
        *,
        spec: str,
        status: str,
        labels: Mapping[str, str],
        modification_time: datetime,
        expected: str,
    ) -> Row:
        kind = self._kind(key.type)
        try:
            current = self._current(key, expected)
        except NotFound:
            raise Conflict.of(key) from None
        if current.row.version != expected:
            raise Conflict.of(key)
        row = Row(
            key=key,
            spec=spec,
            status=status,
            labels=labels,
            creation_time=current.row.creation_time,
            modification_time=modification_time,
            owner=current.row.owner,
            version=expected,
        )
        body = self._mapper.body(
            kind, row, owner_uid=current.owner_uid, references=current.references, version=expected
        )
        check_size(body, key)
        meta = body["metadata"]
        replaced = self._call(kind, "replace", meta.get("namespace"), key, name=meta["name"], body=body)
        return self._remember(kind, replaced).row

    def delete(self, key: Key, *, expected: str | None = None) -> None:  # noqa: D102
        entry = self._current(key, expected)
        if expected is not None and entry.row.version != expected:
            raise Conflict.of(key)
        self._remove(self._kind(key.type), entry, expected)
        self._cascade(entry.uid)

    def _remove(self, kind: Kind, entry: Entry, version: str | None) -> None:
        preconditions = {"uid": entry.uid} | ({"resourceVersion": version} if version is not None else {})
        options = {"preconditions": preconditions}
        self._call(kind, "delete", entry.namespace, entry.row.key, name=entry.name, body=options)
        self._informers[kind.type].cache.delete(entry.namespace, entry.name, entry.uid, ours=True)

    def _cascade(self, uid: str) -> None:
        """Delete what the object with *uid* owns, recursively (no garbage collector may be running)."""
        doomed = [uid]
        while doomed:
            owner = doomed.pop()
            for informer in self._informers.values():
                try:
                    informer.sync()
                except KVError as exc:  # the delete itself is done: say what could not be followed
                    log.warning("could not look for dependents of %s among %s: %s", owner, informer.kind, exc)
                    continue
                for child in informer.cache.owned_by(owner):
                    try:
                        self._remove(self._kind(informer.kind), child, None)
                    except NotFound:
                        continue
                    doomed.append(child.uid)

    def get(self, key: Key, *, consistent: bool = False) -> Row:  # noqa: D102
        if consistent:
            return self._live(key).row
        entry = self._cache(self._kind(key.type)).get((key.mesh, key.name))
        if entry is None:
            raise NotFound.of(key)
        return entry.row

    def list(self, query: Query) -> tuple[Sequence[Row], int]:  # noqa: D102
        return self._cache(self._kind(query.type)).page(query)

    def refresh(self) -> None:
        """Bring every started cache up to date now, with a LIST per kind (for tests and tools)."""
        for informer in self._informers.values():
            if informer.cache.synced.is_set():
                informer.refresh()

    def subscribe(self, listener: Listener) -> Callable[[], None]:  # noqa: D102
        for informer in self._informers.values():  # every kind is watched from here on
            informer.sync()
        with self._lock:
            if self._merger is None:
                self._merger = Merger(self._deliver, self._stopping)
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return unsubscribe

    def _emit(self, revision: int, event: ResourceChanged) -> None:
        if (merger := self._merger) is not None:
            merger.add(revision, event)

    def _gap(self) -> None:
        """A re-list: tell subscriptions that events may have been lost meanwhile."""
        for listener in self._listeners:
            if isinstance(listener, Subscription):
                listener.lost()

    def _deliver(self, event: ResourceChanged) -> None:
        for listener in self._listeners:
            listener(event)

    def transaction(self) -> AbstractContextManager[None]:
        """No transactions on Kubernetes (as in Kuma): operations inside apply one by one."""
        return nullcontext()

    def close(self) -> None:  # noqa: D102
        self._stopping.set()
        # Cut the watches until their threads end (a watch being opened is cut once it is open), for at
        # most 2 s: so that no thread is inside a read when the interpreter exits.
        deadline, running = time.monotonic() + 2.0, list(self._informers.values())
        while running and time.monotonic() < deadline:
            for informer in running:
                informer.stop()
            time.sleep(0.01)
            running = [informer for informer in running if informer.running]
        if self._merger is not None:
            self._merger.wake()
        with self._lock:
            self._listeners = []
        self._watch_api.close()
        self._call.api.close()


if TYPE_CHECKING:
    from kv.driver import Driver

    _: type[Driver] = KubernetesDriver
