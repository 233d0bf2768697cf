"""``kuma-cp export``: the documents ``kumactl export`` writes, from a store or a running control plane.

Kuma's rules (``app/kumactl/cmd/export``), step by step:

- The types are those ``GET /_resources`` lists, for the profile: ``federation`` (the default) those
  Kuma includes in federation except targetRef policies, ``federation-with-policies`` all those it
  includes in federation, ``no-dataplanes`` all but Dataplanes and their insights, ``all`` every one.
  Admin-only types (Secrets, GlobalSecrets…) only for the two federation profiles or with
  ``include_admin``.
- The order: Meshes first (each with ``skipCreatingInitialPolicies: ['*']``, so that importing does not
  create default policies again), then the other types in Kuma's priority (Secrets first, GlobalSecrets
  last, the rest as ``/_resources`` lists them), global ones whole, mesh-scoped ones mesh by mesh; the
  GlobalSecrets ``envoy-admin-ca`` and ``inter-cp-ca`` never, ``user-token-signing-key*`` at the end.
  Within a type, resources come in the store's (mesh, name) order, so that the same store always gives
  the same bytes.
- The federation profiles drop the ``kuma.io/origin`` label (the global control plane sets its own).
- ``universal``: each document is ``---`` then, for a legacy type, its meta then its spec, for a
  new-style type the whole REST object, in ``sigs.k8s.io/yaml``'s key order. ``kubernetes``: the Kubernetes
  object of each (`kuma_cp.portability.k8sform`), without objects outside the system namespace unless
  ``all``, ``---`` between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs

import kv
from kuma_cp import resources
from kuma_cp.api.descriptors import resources_index
from kuma_cp.api.rest import META_KEYS, go_quote, render
from kuma_cp.portability import yamlout
from kuma_cp.portability.k8sform import to_k8s
from kuma_cp.resources import ResourceType

__all__ = ["FORMATS", "PROFILES", "ExportError", "Plan", "Source", "StoreSource", "export", "plan"]

PROFILES = ("all", "federation", "federation-with-policies", "no-dataplanes")
FORMATS = ("universal", "kubernetes")
MIGRATION_PROFILES = frozenset({"federation", "federation-with-policies"})
EXCLUDED_LABELS = {p: frozenset({"kuma.io/origin"}) for p in MIGRATION_PROFILES}
_PRIORITY = {"Mesh": 0, "Secret": 1, "GlobalSecret": 99}
_NEVER_EXPORTED = frozenset({"envoy-admin-ca", "inter-cp-ca"})  # their TLS would break the importer's
USER_TOKEN_SIGNING_KEY = "user-token-signing-key"


class ExportError(Exception):
    """The export cannot be made; the message says why (Kuma's words where it has them)."""


class Source(Protocol):
    """Where resources are read from: a store, or a control plane's HTTP API."""

    def descriptors(self) -> Sequence[Mapping[str, Any]]:
        """The entries of ``GET /_resources``."""
        ...

    def records(self, rtype: ResourceType, mesh: str | None) -> Iterable[kv.Record]:
        """Every resource of *rtype* (in *mesh*, if given), in (mesh, name) order."""
        ...


@attrs.frozen
class StoreSource:
    """Resources read from a kv store of Kuma's types."""

    store: kv.Store
    page_size: int = 1000

    def descriptors(self) -> Sequence[Mapping[str, Any]]:  # noqa: D102 - Source documents it
        return list(resources_index(False)["resources"])

    def records(self, rtype: ResourceType, mesh: str | None) -> Iterator[kv.Record]:  # noqa: D102
        offset = None
        while True:
            page = self.store.list(rtype.name, mesh=mesh, page_size=self.page_size, offset=offset)
            yield from page.items
            if not page.next_offset:
                return
            offset = page.next_offset


@attrs.frozen
class Plan:
    """The types an export holds, in order, and the listed type names this kuma-cp does not know."""

    types: list[ResourceType]
    unknown: list[str]


def plan(descriptors: Sequence[Mapping[str, Any]], profile: str, include_admin: bool) -> Plan:
    """The types to export for *profile*, in Kuma's order, and the listed names not known here."""
    chosen, unknown = [], []
    for entry in descriptors:
        try:
            rtype = resources.get(str(entry.get("name")))
        except KeyError:
            unknown.append(str(entry.get("name")))
            continue
        if rtype.admin_only and profile not in MIGRATION_PROFILES and not include_admin:
            continue
        federated = bool(entry.get("includeInFederation"))
        target_ref = bool((entry.get("policy") or {}).get("isTargetRef"))
        if profile == "federation" and (not federated or target_ref):
            continue
        if profile == "federation-with-policies" and not federated:
            continue
        if profile == "no-dataplanes" and rtype.name in ("Dataplane", "DataplaneInsight"):
            continue
        chosen.append(rtype)
    chosen.sort(key=lambda t: _PRIORITY.get(t.name, 50))  # stable: /_resources order within a priority
    return Plan(chosen, unknown)


def _ordered(source: Source, types: list[ResourceType]) -> Iterator[tuple[ResourceType, kv.Record]]:
    mesh_type = resources.get("Mesh")
    meshes = [
        attrs.evolve(m, spec={**m.spec, "skipCreatingInitialPolicies": ["*"]})
        for m in source.records(mesh_type, None)
    ]
    first: list[tuple[ResourceType, kv.Record]] = []
    middle: list[tuple[ResourceType, kv.Record]] = []
    last: list[tuple[ResourceType, kv.Record]] = []
    for rtype in types:
        if rtype.name == "Mesh":
            first.extend((rtype, m) for m in meshes)
        elif rtype.scope is kv.Scope.GLOBAL:
            for record in source.records(rtype, None):
                name = record.key.name
                if rtype.name == "GlobalSecret" and name in _NEVER_EXPORTED:
                    continue
                late = rtype.name == "GlobalSecret" and name.startswith(USER_TOKEN_SIGNING_KEY)
                (last if late else middle).append((rtype, record))
        else:
            for mesh in meshes:
                middle.extend((rtype, r) for r in source.records(rtype, mesh.key.name))
    yield from first
    yield from middle
    yield from last


def _universal(rtype: ResourceType, record: kv.Record, excluded: frozenset[str]) -> str:
    labels = {k: v for k, v in record.labels.items() if k not in excluded}
    body = render(rtype, attrs.evolve(record, labels=labels))
    if not rtype.legacy:
        return yamlout.dump(body)
    meta = {k: v for k, v in body.items() if k in META_KEYS}
    spec = yamlout.dump(dict(record.spec)) if record.spec else ""
    return yamlout.dump(meta) + spec


def _kubernetes(
    rtype: ResourceType, record: kv.Record, excluded: frozenset[str], system_namespace: str, profile: str
) -> str | None:
    obj = to_k8s(rtype, record, system_namespace=system_namespace)
    metadata = obj["metadata"]
    if profile != "all" and metadata.get("namespace", system_namespace) != system_namespace:
        return None
    for field in ("labels", "annotations"):
        if field in metadata:
            metadata[field] = {k: v for k, v in metadata[field].items() if k not in excluded}
    return yamlout.dump(obj)


def export(
    source: Source,
    *,
    profile: str = "federation",
    fmt: str = "universal",
    include_admin: bool = False,
    system_namespace: str = "kuma-system",
) -> Iterator[str]:
    """The text of the export, piece by piece (`ExportError` before anything for a bad argument)."""
    if profile not in PROFILES:
        raise ExportError(f"invalid profile: {go_quote(profile)}")
    if fmt not in FORMATS:
        raise ExportError(f"invalid format: {go_quote(fmt)}")
    return _export(source, profile, fmt, include_admin, system_namespace)


def _export(
    source: Source, profile: str, fmt: str, include_admin: bool, system_namespace: str
) -> Iterator[str]:
    chosen = plan(source.descriptors(), profile, include_admin)
    if chosen.unknown:
        names = ",".join(chosen.unknown)
        yield f"# The following types won't be exported because they are unknown to kuma-cp: {names}\n"
    excluded = EXCLUDED_LABELS.get(profile, frozenset())
    printed = False
    for rtype, record in _ordered(source, chosen.types):
        if fmt == "universal":
            yield "---\n" + _universal(rtype, record, excluded)
            continue
        text = _kubernetes(rtype, record, excluded, system_namespace, profile)
        if text is not None:
            yield ("---\n" if printed else "") + text
            printed = True
