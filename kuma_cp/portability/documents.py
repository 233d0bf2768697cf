"""Import documents read and validated: every problem found, with its file and document index, at once.

A document is a Universal resource (``kumactl export``'s, or the REST object of ``GET``) or a Kubernetes
object of one (``--format kubernetes``, read by `kuma_cp.portability.k8sform`). Each is checked as
Kuma's API checks a PUT (`kuma_cp.api.body.parse`: the schema, defaulting, the type's validator; then
names and labels) and becomes what would be stored: spec as Kuma stores it, status, labels exactly as
given, creation and modification times kept (now when absent). A zone label is kept as is: a restore
is not a write of this zone's.

On a Kubernetes store, a namespaced kind's Kuma name is ``<name>.<namespace>``. ``namespace`` (the
``--namespace`` option) places every namespaced resource there (``<name>.<namespace>``); without it, a
name with no dot cannot map and is refused, as Kuma's Kubernetes store refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import yaml
from attrs import frozen

import kv
from kuma_cp import resources
from kuma_cp.api.body import parse
from kuma_cp.api.errors import ApiError
from kuma_cp.api.rest import parse_time
from kuma_cp.api.validation import request_violations, rfc1035_violations, workload_error
from kuma_cp.portability import yamlout
from kuma_cp.portability.k8sform import NotKuma, from_k8s
from kuma_cp.resources import K8sKind, ResourceType
from kuma_cp.specs.validators import rfc1123_subdomain_errors
from kv import codec, names

__all__ = ["Document", "Problem", "read"]

_NOT_BODY = ("creationTime", "modificationTime", "kri", "snis", "status")
_CATALOG = resources.catalog()


@frozen
class Problem:
    """Why a document cannot be imported."""

    source: str
    index: int  # the document's position in its file, from 1
    message: str

    def __str__(self) -> str:
        return f"{self.source}: document {self.index}: {self.message}"


@frozen(kw_only=True)
class Document:
    """A validated document: the resource it becomes."""

    source: str
    index: int
    rtype: ResourceType
    record: kv.Record  # key, spec, status, labels and times as they will be stored

    @property
    def key(self) -> kv.Key:
        """The resource's key."""
        return self.record.key


class _Refused(Exception):
    pass


def _api_message(exc: ApiError) -> str:
    violations = "; ".join(f"{f}: {m}" if f else m for f, m in exc.violations)
    return f"{exc.detail}: {violations}" if violations else exc.detail


def _time(doc: Mapping[str, Any], field: str, fallback: datetime | None) -> datetime | None:
    value = doc.get(field)
    if value is None:
        return fallback
    try:
        return parse_time(str(value))
    except ValueError as exc:
        raise _Refused(f"{field} {json.dumps(value)} {exc}") from None


def _kubernetes_name(rtype: ResourceType, name: str, namespace: str) -> str:
    """The Kuma name *name* takes on a Kubernetes store; `_Refused` when no object could hold it.

    *name* has passed Kuma's name check (an RFC 1123 subdomain), so the object's own name always can;
    what may not map is the namespace: missing, or (given with ``--namespace``) not a DNS-1123 label.
    """
    if rtype.k8s is not K8sKind.NAMESPACED:
        return name
    if namespace and not name.endswith("." + namespace):
        name = f"{name}.{namespace}"
    base, dot, placed = name.rpartition(".")
    if not dot or not base:
        raise _Refused(
            f'name "{name}" must include namespace after the dot, ex. "name.namespace" (or give --namespace)'
        )
    if len(placed) > 63 or rfc1123_subdomain_errors(placed):  # a label: a subdomain without dots, <= 63
        raise _Refused(f'namespace "{placed}" of name "{name}" is not a valid Kubernetes namespace')
    return name


def _universal(doc: Mapping[str, Any]) -> ResourceType:
    name = doc.get("type")
    try:
        return resources.get(str(name))
    except KeyError:
        raise _Refused(f"unknown type {json.dumps(name)}" if name else "type is required") from None


def document(
    raw: Any, source: str, index: int, *, kubernetes: bool, namespace: str, now: datetime
) -> Document:
    """The resource *raw* (one parsed YAML document) becomes; `_Refused` with the reason if none."""
    if not isinstance(raw, Mapping):
        raise _Refused(f"a document is a map of fields, not {type(raw).__name__}")
    if "apiVersion" in raw or "kind" in raw:
        try:
            rtype, doc = from_k8s(raw, namespace=namespace)
        except NotKuma as exc:
            raise _Refused(str(exc)) from None
    else:
        rtype, doc = _universal(raw), dict(raw)
    body_doc = {k: v for k, v in doc.items() if k not in _NOT_BODY}
    try:
        body = parse(rtype, json.dumps(body_doc).encode())
    except ApiError as exc:
        raise _Refused(_api_message(exc)) from None
    except (TypeError, ValueError) as exc:  # YAML that JSON cannot hold (a non-string key…)
        raise _Refused(f"not a JSON document: {exc}") from None
    zone = body.labels.get("kuma.io/zone", "")
    violations = request_violations(
        rtype,
        url_name=body.name,
        url_mesh=body.mesh,
        body_type=body.type,
        body_name=body.name,
        body_mesh=body.mesh,
        labels=body.labels,
        zone=zone,
    )
    violations += rfc1035_violations(rtype, body.name, body.labels)
    if violations:
        raise _Refused(_api_message(ApiError(400, "", "Resource is not valid", violations)))
    if (workload := workload_error(rtype, body.labels)) is not None:
        raise _Refused(workload)
    status = doc.get("status") if rtype.has_status else None
    if status is not None and not isinstance(status, Mapping):
        raise _Refused("status must be a map")
    name = _kubernetes_name(rtype, body.name, namespace) if kubernetes else body.name
    created = _time(doc, "creationTime", now)
    key = kv.Key(rtype.name, body.mesh if rtype.scope is kv.Scope.MESH else "", name)
    try:  # what the store would refuse at write time (sizes, characters), refused now
        names.check_key(_CATALOG, key)
        names.check_labels(_CATALOG, body.labels)
        codec.encode("spec", body.spec)
        codec.encode("status", dict(status or {}))
    except kv.Invalid as exc:
        raise _Refused(str(exc)) from None
    record = kv.Record(
        key=key,
        spec=body.spec,
        status=dict(status or {}),
        labels=body.labels,
        creation_time=created,
        modification_time=_time(doc, "modificationTime", created),
    )
    return Document(source=source, index=index, rtype=rtype, record=record)


def read(
    text: str, source: str, *, kubernetes: bool = False, namespace: str = "", now: datetime
) -> tuple[list[Document], list[Problem]]:
    """The documents of *text* (a multi-document YAML file named *source*) and every problem found.

    Args:
        text: the file's text.
        source: its name, in problems.
        kubernetes: the target is a Kubernetes store (names must map onto objects).
        namespace: where namespaced resources are placed on Kubernetes, or a Kubernetes object's
            namespace overridden.
        now: the creation time of documents that give none.
    """
    documents: list[Document] = []
    problems: list[Problem] = []
    index = 0
    try:
        for index, raw in enumerate(yamlout.load_all(text), start=1):
            if raw is None:
                continue
            try:
                found = document(raw, source, index, kubernetes=kubernetes, namespace=namespace, now=now)
            except _Refused as exc:
                problems.append(Problem(source, index, str(exc)))
                continue
            documents.append(found)
    except yaml.YAMLError as exc:
        problems.append(Problem(source, index + 1, f"not YAML: {exc}".replace("\n", " ")))
    return documents, problems
