"""Records to Kubernetes objects and back (pure data; imports no client).

`Mapper` places a record (`locate`), builds the object that holds it (`body`) and reads a record back from
an object (`row`), for every `Kind` layout: custom objects, native Secrets and native ConfigMaps. The store's
own times and the record's exact labels travel in annotations; objects written by Go Kuma, without them,
read as Kuma reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import frozen

from kv.driver import Row
from kv.drivers.k8s.cache import Entry
from kv.drivers.k8s.kinds import ANNOTATION_PREFIX, NATIVE_KINDS, Kind
from kv.errors import Invalid, quote
from kv.model import Key

__all__ = ["MESH_LABEL", "OWNER_UID", "Mapper"]

MESH_LABEL = "kuma.io/mesh"
OWNER_UID = ANNOTATION_PREFIX + "owner-uid"
A_LABELS, A_OWNER = ANNOTATION_PREFIX + "labels", ANNOTATION_PREFIX + "owner"
A_CTIME, A_MTIME = ANNOTATION_PREFIX + "creation-time", ANNOTATION_PREFIX + "modification-time"


def _time(value: str | None, fallback: str) -> datetime:
    try:  # an annotation edited into something else reads as Go Kuma reads the object: the API server's time
        return datetime.fromisoformat((value or fallback).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, TypeError, AttributeError):
        return datetime.fromisoformat(fallback.replace("Z", "+00:00")).astimezone(UTC)


def _stored(annotations: Mapping[str, Any], name: str) -> Any:
    """The JSON value of one of kv's own annotations; None if absent or not JSON (edited by hand)."""
    try:
        return json.loads(annotations[name]) if name in annotations else None
    except (ValueError, TypeError):
        return None


def _native_fields(kind: Kind, key: Key, spec: Mapping[str, Any]) -> dict[str, Any]:
    """A native object's own fields holding *spec*: a Secret's type and data, a ConfigMap's data."""
    if kind.scope == "secret":
        return {"type": kind.secret_type, "data": {"value": spec.get("data", "")}}
    field = kind.data_key
    if set(spec) - {field} or not isinstance(spec.get(field, ""), str):
        raise Invalid(
            f"type {quote(kind.type)} is kept in a ConfigMap: its spec may hold only the string field"
            f" {quote(field)}",
            key=key,
        )
    return {"data": {field: spec[field]} if field in spec else {}}


def _native_spec(kind: Kind, obj: Mapping[str, Any]) -> dict[str, Any]:
    data = obj.get("data") or {}
    if kind.scope == "secret":
        return {"data": data.get("value", "")}
    return {kind.data_key: data[kind.data_key]} if kind.data_key in data else {}


@frozen
class Mapper:
    """How records map onto objects, for a system namespace and the labels kept as annotations."""

    system_namespace: str
    annotation_labels: frozenset[str]

    def locate(self, kind: Kind, key: Key) -> tuple[str | None, str]:
        """The (namespace or None, object name) holding *key*."""
        if kind.native:
            return self.system_namespace, key.name
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

    def body(
        self,
        kind: Kind,
        row: Row,
        *,
        owner_uid: str | None = None,
        references: Sequence[Mapping[str, Any]] = (),
        version: str | None = None,
    ) -> dict[str, Any]:
        """The object for *row*.

        *owner_uid* goes in a label (kv's own cascade finds dependents by it), *references* become its
        ownerReferences, *version* its resourceVersion (an update's precondition).
        """
        namespace, name = self.locate(kind, row.key)
        labels = {k: v for k, v in row.labels.items() if k not in self.annotation_labels}
        annotations = {k: v for k, v in row.labels.items() if k in self.annotation_labels}
        annotations |= {
            A_LABELS: json.dumps(dict(row.labels), sort_keys=True),
            A_CTIME: row.creation_time.isoformat(),
            A_MTIME: row.modification_time.isoformat(),
        }
        body: dict[str, Any] = {"metadata": {"name": name, "labels": labels, "annotations": annotations}}
        if row.owner is not None:
            annotations[A_OWNER] = json.dumps([row.owner.type, row.owner.mesh, row.owner.name])
        if owner_uid is not None:
            labels[OWNER_UID] = owner_uid
        if references:
            body["metadata"]["ownerReferences"] = [dict(r) for r in references]
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
        if kind.native:
            body |= {"apiVersion": "v1", "kind": NATIVE_KINDS[kind.scope]}
            return body | _native_fields(kind, row.key, spec)
        body |= {"apiVersion": kind.api_version, "kind": kind.type, kind.spec_field: spec}
        if status and kind.spec_field != "status":
            body["status"] = status
        return body

    def row(self, kind: Kind, obj: Mapping[str, Any]) -> Row:
        """The record an object of *kind* holds."""
        meta = obj.get("metadata") or {}
        labels_k8s = dict(meta.get("labels") or {})
        annotations = dict(meta.get("annotations") or {})
        namespace, name = meta.get("namespace"), meta["name"]
        if kind.native or kind.layout == "mesh-namespace" or not kind.namespaced:
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
        labels = _stored(annotations, A_LABELS)
        if not isinstance(labels, dict):  # written by Go Kuma: its labels, plus those it keeps as annotations
            labels = labels_k8s | {k: v for k, v in annotations.items() if k in self.annotation_labels}
        owner = _stored(annotations, A_OWNER)
        valid_owner = isinstance(owner, list) and len(owner) == 3 and all(type(p) is str for p in owner)
        owner = Key(*owner) if valid_owner else None
        created = meta.get("creationTimestamp") or "1970-01-01T00:00:00Z"
        if kind.native:
            spec: Any = _native_spec(kind, obj)
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

    def entry(self, kind: Kind, obj: Mapping[str, Any]) -> Entry:
        """The watch cache's entry for an object of *kind*: its record, where it is, who owns it."""
        meta = obj.get("metadata") or {}
        references = tuple(r for r in meta.get("ownerReferences") or () if isinstance(r, Mapping))
        owners = {str(r["uid"]) for r in references if r.get("uid")}
        if owner_uid := (meta.get("labels") or {}).get(OWNER_UID):
            owners.add(owner_uid)
        return Entry(
            row=self.row(kind, obj),
            namespace=meta.get("namespace"),
            name=meta["name"],
            uid=str(meta.get("uid", "")),
            owners=tuple(sorted(owners)),
            owner_uid=owner_uid or None,
            references=tuple(dict(r) for r in references),
        )
