"""The Kubernetes driver: kv records as custom objects (or native Secrets and ConfigMaps), official client.

Versions are ``metadata.resourceVersion``. An update replaces the object with the version it was given as
the precondition, so the API server refuses a stale one (409 → `Conflict`); a delete at a version uses a
delete precondition. No garbage collector runs beside a bare API server, so the driver deletes what a
record owns itself, recursively, before `delete` returns: dependents carry their owner's uid as a label.
How a record becomes an object is `kv.drivers.k8s.mapping`.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubernetes import client, config

from kv.driver import Listener, Query, Row, page
from kv.drivers.k8s.errors import translate_errors
from kv.drivers.k8s.kinds import NATIVE_KINDS, Kind
from kv.drivers.k8s.mapping import MESH_LABEL, OWNER_UID, Mapper
from kv.drivers.k8s.watch import Watcher
from kv.errors import AlreadyExists, Conflict, Invalid, NotFound, quote
from kv.model import Key, ResourceChanged

__all__ = ["KubernetesDriver"]


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
    ) -> None:
        # The client's own annotations are partial: it is used through Any, behind this module's boundary.
        self._api: Any = api
        self._custom: Any = client.CustomObjectsApi(api)
        self._core: Any = client.CoreV1Api(api)
        self._kinds = {kind.type: kind for kind in kinds}
        self._system_namespace = system_namespace
        self._annotation_labels = frozenset(annotation_labels)
        self._mapper = Mapper(system_namespace, self._annotation_labels)
        self._timeout = timeout
        self._namespaces: set[str] = set()
        self._lock = threading.Lock()
        self._watcher: Watcher | None = None
        self._listeners: list[Listener] = []

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
        with translate_errors():
            configuration = client.Configuration()
            loader: Any = config
            try:
                loader.load_incluster_config(client_configuration=configuration)
            except loader.ConfigException:
                loader.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        return cls(client.ApiClient(configuration), kinds, **options)

    # --- mapping ---------------------------------------------------------------------------------------

    def _kind(self, type_name: str) -> Kind:
        kind = self._kinds.get(type_name)
        if kind is None:
            raise Invalid(f"type {quote(type_name)} has no Kubernetes kind registered with this store")
        return kind

    # --- raw calls ---------------------------------------------------------------------------------

    def _native_list(self, kind: Kind) -> Callable[..., Any]:
        """Lists the system namespace's native objects of *kind* (Secrets of its type only)."""
        noun = "secret" if kind.scope == "secret" else "config_map"
        selector = {"field_selector": f"type={kind.secret_type}"} if kind.scope == "secret" else {}
        lister = getattr(self._core, f"list_namespaced_{noun}")

        def native_list(**kw: Any) -> Any:
            return lister(self._system_namespace, **selector, **kw)

        return native_list

    def _call(self, kind: Kind, verb: str, namespace: str | None, **kw: Any) -> Any:
        kw["_request_timeout"] = self._timeout
        if kind.native:
            if verb == "list_all":
                result = self._native_list(kind)(**kw)
            else:
                noun = "secret" if kind.scope == "secret" else "config_map"
                core_verb = "read" if verb == "get" else verb  # CoreV1Api reads, CustomObjectsApi gets
                result = getattr(self._core, f"{core_verb}_namespaced_{noun}")(namespace=namespace, **kw)
            return self._api.sanitize_for_serialization(result)
        common = (kind.group, kind.version)
        if verb == "list_all":
            return self._custom.list_cluster_custom_object(*common, kind.plural, **kw)
        if namespace is None:
            return getattr(self._custom, f"{verb}_cluster_custom_object")(*common, kind.plural, **kw)
        return getattr(self._custom, f"{verb}_namespaced_custom_object")(
            *common, namespace, kind.plural, **kw
        )

    def _fetch(self, key: Key) -> tuple[Kind, dict[str, Any]]:
        kind = self._kind(key.type)
        namespace, name = self._mapper.locate(kind, key)
        with translate_errors(key):
            obj = self._call(kind, "get", namespace, name=name)
        if self._mapper.row(kind, obj).key.mesh != key.mesh:
            raise NotFound.of(key)  # the same object, asked for in another mesh
        return kind, obj

    def _ensure_namespace(self, namespace: str | None) -> None:
        if namespace is None or namespace in self._namespaces:
            return
        try:
            with translate_errors(Key("Namespace", "", namespace)):
                self._core.create_namespace({"metadata": {"name": namespace}}, _request_timeout=self._timeout)
        except AlreadyExists:
            pass
        self._namespaces.add(namespace)

    # --- the Driver protocol -----------------------------------------------------------------------

    def create(self, row: Row) -> Row:  # noqa: D102 - the Driver protocol documents it
        kind = self._kind(row.key.type)
        owner = None
        if row.owner is not None:
            try:
                owner_kind, owner_obj = self._fetch(row.owner)
            except NotFound:
                try:  # AlreadyExists comes first, as on every backend
                    self.get(row.key)
                except NotFound:
                    raise NotFound.of(row.owner) from None
                raise AlreadyExists.of(row.key) from None
            native = owner_kind.native
            owner = {
                "apiVersion": "v1" if native else owner_kind.api_version,
                "kind": NATIVE_KINDS[owner_kind.scope] if native else owner_kind.type,
                "name": owner_obj["metadata"]["name"],
                "uid": owner_obj["metadata"]["uid"],
            }
        body = self._mapper.body(kind, row, owner, None)
        namespace = body["metadata"].get("namespace")
        self._ensure_namespace(namespace)
        with translate_errors(row.key):
            return self._mapper.row(kind, self._call(kind, "create", namespace, body=body))

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
        try:
            kind, obj = self._fetch(key)
        except NotFound:
            raise Conflict.of(key) from None
        current = self._mapper.row(kind, obj)
        if current.version != expected:
            raise Conflict.of(key)
        row = Row(
            key=key,
            spec=spec,
            status=status,
            labels=labels,
            creation_time=current.creation_time,
            modification_time=modification_time,
            owner=current.owner,
            version=expected,
        )
        references = obj["metadata"].get("ownerReferences") or [None]
        body = self._mapper.body(kind, row, references[0], expected)
        with translate_errors(key, conflict_when_missing=True):
            replaced = self._call(
                kind, "replace", body["metadata"].get("namespace"), name=body["metadata"]["name"], body=body
            )
        return self._mapper.row(kind, replaced)

    def delete(self, key: Key, *, expected: str | None = None) -> None:  # noqa: D102
        kind, obj = self._fetch(key)
        meta = obj["metadata"]
        version = expected if expected is not None else meta["resourceVersion"]
        options = {"preconditions": {"resourceVersion": version, "uid": meta["uid"]}}
        with translate_errors(key):
            self._call(kind, "delete", meta.get("namespace"), name=meta["name"], body=options)
        doomed = [meta["uid"]]
        while doomed:  # what it owns, recursively: no garbage collector runs beside a bare API server
            uid = doomed.pop()
            for dependent_kind in self._kinds.values():
                with translate_errors():
                    found = self._call(dependent_kind, "list_all", None, label_selector=f"{OWNER_UID}={uid}")
                for child in found.get("items") or []:
                    child_meta = child["metadata"]
                    try:
                        with translate_errors(self._mapper.row(dependent_kind, child).key):
                            self._call(
                                dependent_kind, "delete", child_meta.get("namespace"), name=child_meta["name"]
                            )
                    except NotFound:
                        continue
                    doomed.append(child_meta["uid"])

    def get(self, key: Key, *, consistent: bool = False) -> Row:  # noqa: D102
        kind, obj = self._fetch(key)
        return self._mapper.row(kind, obj)

    def list(self, query: Query) -> tuple[Sequence[Row], int]:  # noqa: D102
        kind = self._kind(query.type)
        selector = []
        if query.mesh is not None and kind.mesh_scoped and kind.layout == "kuma" and not kind.mesh_field:
            selector.append(f"{MESH_LABEL}={query.mesh}")
        for label, value in (query.labels or {}).items():
            if label not in self._annotation_labels:
                selector.append(f"{label}={value}")
        with translate_errors():
            found = self._call(kind, "list_all", None, label_selector=",".join(selector))
        rows = [self._mapper.row(kind, obj) for obj in found.get("items") or []]
        rows.sort(key=lambda r: (r.key.mesh, r.key.name))
        return page(rows, query)

    def subscribe(self, listener: Listener) -> Callable[[], None]:  # noqa: D102
        with self._lock:
            if self._watcher is None:
                self._watcher = Watcher(self._watch_sources(), self._deliver)
                self._watcher.start()
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return unsubscribe

    def _watch_sources(self) -> builtins.list[tuple[Callable[..., Any], Callable[[Any], Row]]]:
        return [(self._lister(kind), self._reader(kind)) for kind in self._kinds.values()]

    def _lister(self, kind: Kind) -> Callable[..., Any]:
        def list_objects(**kw: Any) -> Any:
            return self._custom.list_cluster_custom_object(kind.group, kind.version, kind.plural, **kw)

        return self._native_list(kind) if kind.native else list_objects

    def _reader(self, kind: Kind) -> Callable[[Any], Row]:
        def read(obj: Any) -> Row:  # watch events carry plain dicts (the listers have no return type)
            return self._mapper.row(
                kind, obj if isinstance(obj, Mapping) else self._api.sanitize_for_serialization(obj)
            )

        return read

    def _deliver(self, event: ResourceChanged) -> None:
        for listener in self._listeners:
            listener(event)

    def transaction(self) -> AbstractContextManager[None]:
        """No transactions on Kubernetes (as in Kuma): operations inside apply one by one."""
        return nullcontext()

    def close(self) -> None:  # noqa: D102
        with self._lock:
            if self._watcher is not None:
                self._watcher.stop()
                self._watcher = None
            self._listeners = []
        self._api.close()


if TYPE_CHECKING:
    from kv.driver import Driver

    _: type[Driver] = KubernetesDriver
