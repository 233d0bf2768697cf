"""A resource as the Kubernetes object Kuma keeps it in (``GET …?format=k8s``), and such an object read back.

`to_k8s` is Kuma's representation of a stored resource on any backend, the one ``kumactl export --format
kubernetes`` prints: kind and ``apiVersion`` (``kuma.io/v1alpha1``, or ``v1`` for the native Secret of a
Secret or GlobalSecret and the ConfigMap of a Config), metadata (name, namespace, creation timestamp,
labels, and as annotations the labels Kuma keeps there), the mesh (a legacy type's top-level ``mesh``
field, a new-style type's ``kuma.io/mesh`` label), the spec and, for types with one, the status.

Names follow Kuma's Kubernetes store: a namespaced kind's Kuma name is ``<name>.<namespace>``, split at
the last dot. A name without a dot (a resource created on Universal) keeps its whole name and is placed
in the system namespace, as Kuma's inference mapper places it; ``?namespace=`` places namespaced objects
elsewhere. Beyond Kuma's inference mapper, labels and annotations are included (Go's shows only the
mesh label on Universal), so that an object read back with `from_k8s` keeps its labels.

`from_k8s` turns such an object into the Universal document of the same resource, which the importer
validates and writes like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

import kv
from kuma_cp import resources
from kuma_cp.resources import (
    ANNOTATION_LABELS,
    CONFIG_MAP_KEY,
    K8S_SPEC_IN_STATUS,
    SECRET_TYPES,
    K8sKind,
    ResourceType,
)

__all__ = ["API_VERSION", "MESH_LABEL", "NotKuma", "from_k8s", "k8s_name", "to_k8s"]

API_VERSION = "kuma.io/v1alpha1"
MESH_LABEL = "kuma.io/mesh"
_NATIVE = {K8sKind.SECRET: "Secret", K8sKind.CONFIG_MAP: "ConfigMap"}
_SECRET_TYPE_NAMES = {secret_type: name for name, secret_type in SECRET_TYPES.items()}


class NotKuma(ValueError):
    """An object that is not a Kuma resource, or cannot be one; the message says why."""


def _timestamp(record: kv.Record) -> str | None:
    # metav1.Time: RFC 3339 in whole seconds, UTC.
    when = record.creation_time
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def k8s_name(rtype: ResourceType, name: str, namespace: str, system_namespace: str) -> tuple[str, str | None]:
    """The (object name, namespace or None) that hold the Kuma name *name* of *rtype*."""
    if rtype.k8s in _NATIVE:
        return name, namespace or system_namespace
    if rtype.k8s is not K8sKind.NAMESPACED:
        return name, None
    base, dot, own = name.rpartition(".")
    if dot and base:
        return base, namespace or own
    return name, namespace or system_namespace


def to_k8s(
    rtype: ResourceType, record: kv.Record, *, system_namespace: str, namespace: str = ""
) -> dict[str, Any]:
    """The Kubernetes object of *record* (keys in Go's order); *namespace* overrides where it is placed."""
    name, placed = k8s_name(rtype, record.key.name, namespace, system_namespace)
    labels = {k: v for k, v in record.labels.items() if k not in ANNOTATION_LABELS}  # sorted below
    annotations = {k: v for k, v in sorted(record.labels.items()) if k in ANNOTATION_LABELS}
    mesh_scoped = rtype.scope is kv.Scope.MESH
    if mesh_scoped and (not rtype.legacy or rtype.k8s is K8sKind.SECRET):
        labels[MESH_LABEL] = record.key.mesh
    metadata: dict[str, Any] = {"name": name}
    if placed is not None:
        metadata["namespace"] = placed
    metadata["creationTimestamp"] = _timestamp(record)
    if labels:
        metadata["labels"] = dict(sorted(labels.items()))
    if annotations:
        metadata["annotations"] = annotations
    if rtype.k8s is K8sKind.SECRET:
        data = {"value": record.spec.get("data", "")}
        return {"kind": "Secret", "apiVersion": "v1", "metadata": metadata, "data": data,
                "type": SECRET_TYPES[rtype.name]}  # fmt: skip
    if rtype.k8s is K8sKind.CONFIG_MAP:
        data = {CONFIG_MAP_KEY: record.spec[CONFIG_MAP_KEY]} if CONFIG_MAP_KEY in record.spec else {}
        return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": metadata, "data": data}
    body: dict[str, Any] = {"kind": rtype.name, "apiVersion": API_VERSION, "metadata": metadata}
    if mesh_scoped and rtype.legacy:
        body["mesh"] = record.key.mesh
    if rtype.name in K8S_SPEC_IN_STATUS:
        body["status"] = dict(record.spec)
        return body
    body["spec"] = dict(record.spec)
    if rtype.has_status:
        body["status"] = dict(record.status)
    return body


def _rtype(obj: Mapping[str, Any]) -> ResourceType:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if api_version == "v1" and kind == "Secret":
        secret_type = obj.get("type")
        if secret_type not in _SECRET_TYPE_NAMES:
            raise NotKuma(f"a Secret of type {secret_type!r} is not a Kuma secret")
        return resources.get(_SECRET_TYPE_NAMES[secret_type])
    if api_version == "v1" and kind == "ConfigMap":
        return resources.get("Config")
    if api_version != API_VERSION:
        raise NotKuma(f"apiVersion {api_version!r} is not Kuma's ({API_VERSION})")
    try:
        rtype = resources.get(str(kind))
    except KeyError:
        raise NotKuma(f"kind {kind!r} is not a Kuma resource type") from None
    if rtype.k8s in _NATIVE:
        raise NotKuma(f"a {kind} is kept in a {_NATIVE[rtype.k8s]} (apiVersion v1) on Kubernetes")
    return rtype


def _strings(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise NotKuma(f"{field} must be a map of strings")
    return {str(k): v for k, v in value.items()}


def _kuma_name(rtype: ResourceType, metadata: Mapping[str, Any], namespace: str) -> str:
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise NotKuma("metadata.name is required")
    if rtype.k8s is not K8sKind.NAMESPACED:
        return name
    placed = namespace or metadata.get("namespace")
    if not isinstance(placed, str) or not placed:
        raise NotKuma(f"a {rtype.name} lives in a namespace: metadata.namespace is required (or --namespace)")
    return f"{name}.{placed}"


def from_k8s(obj: Any, *, namespace: str = "") -> tuple[ResourceType, dict[str, Any]]:
    """The type and Universal document of a Kuma Kubernetes object; `NotKuma` if it is none.

    *namespace* places a namespaced object there instead of its own namespace.
    """
    if not isinstance(obj, Mapping):
        raise NotKuma("a Kubernetes object is a map")
    rtype = _rtype(obj)
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        raise NotKuma("metadata is required")
    labels = _strings(metadata.get("labels"), "metadata.labels")
    annotations = _strings(metadata.get("annotations"), "metadata.annotations")
    labels |= {k: v for k, v in annotations.items() if k in ANNOTATION_LABELS}
    doc: dict[str, Any] = {"type": rtype.name, "name": _kuma_name(rtype, metadata, namespace)}
    if rtype.scope is kv.Scope.MESH:
        mesh = obj.get("mesh") if rtype.legacy and rtype.k8s is not K8sKind.SECRET else labels.get(MESH_LABEL)
        doc["mesh"] = mesh or "default"  # Kuma reads an object without a mesh as in "default"
    if labels:
        doc["labels"] = labels
    if metadata.get("creationTimestamp"):
        doc["creationTime"] = metadata["creationTimestamp"]
    data: Mapping[str, Any] = obj["data"] if isinstance(obj.get("data"), Mapping) else {}
    if rtype.k8s is K8sKind.SECRET:
        return rtype, doc | {"data": data.get("value", "")}
    if rtype.k8s is K8sKind.CONFIG_MAP:
        return rtype, doc | ({CONFIG_MAP_KEY: data[CONFIG_MAP_KEY]} if CONFIG_MAP_KEY in data else {})
    spec = obj.get("status" if rtype.name in K8S_SPEC_IN_STATUS else "spec") or {}
    if rtype.legacy:
        if not isinstance(spec, Mapping):
            raise NotKuma("spec must be a map")
        return rtype, {**spec, **doc}
    doc["spec"] = spec
    if rtype.has_status and obj.get("status"):
        doc["status"] = obj["status"]
    return rtype, doc
