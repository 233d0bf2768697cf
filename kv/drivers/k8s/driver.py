"""The Kubernetes driver: kv records as Kuma's custom objects (and native Secrets) via the official client.

Versions are ``metadata.resourceVersion``. An update replaces the object with the version it was given as
the precondition, so the API server refuses a stale one (409 → `Conflict`); a delete at a version uses a
delete precondition. No garbage collector runs beside a bare API server, so the driver deletes what a
record owns itself, recursively, before `delete` returns: dependents carry their owner's uid as a label.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kubernetes import client, config

from kv.driver import Listener, Query, Row, page
from kv.drivers.k8s.errors import translate_errors
from kv.drivers.k8s.kinds import ANNOTATION_PREFIX, Kind
from kv.drivers.k8s.watch import Watcher
from kv.errors import AlreadyExists, Conflict, Invalid, NotFound, quote
from kv.model import Key, ResourceChanged

__all__ = ["KubernetesDriver"]

MESH_LABEL = "kuma.io/mesh"
OWNER_UID = ANNOTATION_PREFIX + "owner-uid"
A_LABELS, A_OWNER = ANNOTATION_PREFIX + "labels", ANNOTATION_PREFIX + "owner"
A_CTIME, A_MTIME = ANNOTATION_PREFIX + "creation-time", ANNOTATION_PREFIX + "modification-time"


def _time(value: str | None, fallback: str) -> datetime:
    text = value or fallback
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class KubernetesDriver:
    """Records in a Kubernetes cluster, one custom resource (or Secret) kind per record type."""

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

    # --- mapping -----------------------------------------------------------------------------------

    def _kind(self, type_name: str) -> Kind:
        kind = self._kinds.get(type_name)
        if kind is None:
            raise Invalid(f"type {quote(type_name)} has no Kubernetes kind registered with this store")
        return kind

    def _locate(self, kind: Kind, key: Key) -> tuple[str | None, str]:
        if kind.scope == "secret":
            return self._system_namespace, key.name
        if kind.layout == "mesh-namespace":
            return (key.mesh or None) if kind.mesh_scoped else None, key.name
        if not kind.namespaced:
            return None, key.name
        name, dot, namespace = key.name.rpartition(".")
        if not dot:
            raise Invalid(
                f'name "{key.name}" must include namespace after the dot, ex. "name.namespace"', key=key
            )
        return namespace, name

    def _body(
        self, kind: Kind, row: Row, owner: Mapping[str, Any] | None, version: str | None
    ) -> dict[str, Any]:
        """The object for *row*; *owner*: the owner's ownerReference (its ``uid`` also goes in a label)."""
        namespace, name = self._locate(kind, row.key)
        labels = {k: v for k, v in row.labels.items() if k not in self._annotation_labels}
        annotations = {k: v for k, v in row.labels.items() if k in self._annotation_labels}
        annotations |= {
            A_LABELS: json.dumps(dict(row.labels), sort_keys=True),
            A_CTIME: row.creation_time.isoformat(),
            A_MTIME: row.modification_time.isoformat(),
        }
        body: dict[str, Any] = {"metadata": {"name": name, "labels": labels, "annotations": annotations}}
        if row.owner is not None and owner is not None:
            annotations[A_OWNER] = json.dumps([row.owner.type, row.owner.mesh, row.owner.name])
            labels[OWNER_UID] = owner["uid"]
            body["metadata"]["ownerReferences"] = [dict(owner)]
        if namespace is not None:
            body["metadata"]["namespace"] = namespace
        if version is not None:
            body["metadata"]["resourceVersion"] = version
        if kind.mesh_scoped and kind.layout == "kuma":
            if kind.mesh_field:
                body["mesh"] = row.key.mesh
            else:
                labels[MESH_LABEL] = row.key.mesh
        spec, status = json.loads(row.spec), json.loads(row.status)
        if kind.scope == "secret":
            body |= {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": kind.secret_type,
                "data": {"value": spec.get("data", "")},
            }
            return body
        body |= {"apiVersion": kind.api_version, "kind": kind.type, kind.spec_field: spec}
        if status and kind.spec_field != "status":
            body["status"] = status
        return body

    def _row(self, kind: Kind, obj: Mapping[str, Any]) -> Row:
        meta = obj.get("metadata") or {}
        labels_k8s = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        namespace, name = meta.get("namespace"), meta["name"]
        if kind.scope == "secret" or kind.layout == "mesh-namespace" or not kind.namespaced:
            core_name = name
        else:
            core_name = f"{name}.{namespace}"
        if not kind.mesh_scoped:
            mesh = ""
        elif kind.layout == "mesh-namespace":
            mesh = namespace or ""
        elif kind.mesh_field:
            mesh = obj.get("mesh") or ""
        else:
            mesh = labels_k8s.get(MESH_LABEL) or "default"  # Kuma reads a missing label as "default"
        if A_LABELS in annotations:
            labels = json.loads(annotations[A_LABELS])
        else:  # written by Go Kuma: its labels, plus those it keeps as annotations
            labels = labels_k8s | {k: v for k, v in annotations.items() if k in self._annotation_labels}
        owner = Key(*json.loads(annotations[A_OWNER])) if A_OWNER in annotations else None
        created = meta.get("creationTimestamp") or "1970-01-01T00:00:00Z"
        if kind.scope == "secret":
            spec: Any = {"data": (obj.get("data") or {}).get("value", "")}
            status: Any = {}
        else:
            spec = obj.get(kind.spec_field) or {}
            status = obj.get("status") or {} if kind.spec_field != "status" else {}
        return Row(
            key=Key(kind.type, mesh, core_name),
            spec=json.dumps(spec),
            status=json.dumps(status),
            labels=labels,
            creation_time=_time(annotations.get(A_CTIME), created),
            modification_time=_time(annotations.get(A_MTIME) or annotations.get(A_CTIME), created),
            owner=owner,
            version=str(meta.get("resourceVersion", "")),
        )

    # --- raw calls ---------------------------------------------------------------------------------

    def _call(self, kind: Kind, verb: str, namespace: str | None, **kw: Any) -> Any:
        kw["_request_timeout"] = self._timeout
        if kind.scope == "secret":
            if verb == "list_all":  # only Secrets of this kind's type, in the system namespace
                selector = f"type={kind.secret_type}"
                result = self._core.list_namespaced_secret(
                    self._system_namespace, field_selector=selector, **kw
                )
            else:
                core_verb = "read" if verb == "get" else verb  # CoreV1Api reads, CustomObjectsApi gets
                result = getattr(self._core, f"{core_verb}_namespaced_secret")(namespace=namespace, **kw)
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
        namespace, name = self._locate(kind, key)
        with translate_errors(key):
            obj = self._call(kind, "get", namespace, name=name)
        if self._row(kind, obj).key.mesh != key.mesh:
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
            secret = owner_kind.scope == "secret"
            owner = {
                "apiVersion": "v1" if secret else owner_kind.api_version,
                "kind": "Secret" if secret else owner_kind.type,
                "name": owner_obj["metadata"]["name"],
                "uid": owner_obj["metadata"]["uid"],
            }
        body = self._body(kind, row, owner, None)
        namespace = body["metadata"].get("namespace")
        self._ensure_namespace(namespace)
        with translate_errors(row.key):
            return self._row(kind, self._call(kind, "create", namespace, body=body))

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
        current = self._row(kind, obj)
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
        body = self._body(kind, row, references[0], expected)
        with translate_errors(key, conflict_when_missing=True):
            replaced = self._call(
                kind, "replace", body["metadata"].get("namespace"), name=body["metadata"]["name"], body=body
            )
        return self._row(kind, replaced)

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
                        with translate_errors(self._row(dependent_kind, child).key):
                            self._call(
                                dependent_kind, "delete", child_meta.get("namespace"), name=child_meta["name"]
                            )
                    except NotFound:
                        continue
                    doomed.append(child_meta["uid"])

    def get(self, key: Key, *, consistent: bool = False) -> Row:  # noqa: D102
        kind, obj = self._fetch(key)
        return self._row(kind, obj)

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
        rows = sorted(
            (self._row(kind, obj) for obj in found.get("items") or []), key=lambda r: (r.key.mesh, r.key.name)
        )
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
        def list_secrets(**kw: Any) -> Any:
            return self._core.list_namespaced_secret(
                self._system_namespace, field_selector=f"type={kind.secret_type}", **kw
            )

        def list_objects(**kw: Any) -> Any:
            return self._custom.list_cluster_custom_object(kind.group, kind.version, kind.plural, **kw)

        return list_secrets if kind.scope == "secret" else list_objects

    def _reader(self, kind: Kind) -> Callable[[Any], Row]:
        def read(obj: Any) -> Row:  # watch events carry plain dicts (the listers have no return type)
            return self._row(
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
