"""Kuma's REST form of a resource (``pkg/core/resources/model/rest``), its KRI and its computed labels.

A KRI is ``kri_<short>_<mesh>_<zone>_<namespace>_<display name>_<section>`` (Kuma's ``pkg/core/kri``);
`parse_kri` reads one back and `kri_core_name` finds the stored name it stands for.

Meta first, in Kuma's order: ``type``, ``mesh`` (mesh-scoped types only), ``name``, ``creationTime``,
``modificationTime`` (Go's RFC 3339 with nanoseconds, trailing zeros dropped; always UTC ``Z`` here),
``labels`` (omitted when empty) and ``kri`` (types with a short name). Then:

- legacy (protobuf) types: the spec's fields merged into the top level, no ``spec`` or ``status``;
- new-style types: ``snis`` (destination types), ``spec`` and, for types with a status, ``status``.

There is no version in the body: it travels in the ``ETag`` header.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from attrs import frozen

import kv
from kuma_cp import resources
from kuma_cp.api.descriptors import DESTINATIONS, provided_by_zone
from kuma_cp.resources import K8sKind, ResourceType

__all__ = [
    "META_KEYS",
    "Kri",
    "KriError",
    "compute_labels",
    "display_name",
    "format_time",
    "go_quote",
    "hashed_name",
    "kri",
    "kri_core_name",
    "parse_kri",
    "parse_time",
    "render",
]

# Top-level keys of a body that are meta, not spec (for legacy types, whose spec is the rest).
META_KEYS = frozenset({"type", "mesh", "name", "creationTime", "modificationTime", "labels", "kri"})
_ZERO_TIME = "0001-01-01T00:00:00Z"


@functools.lru_cache(maxsize=4096)  # a resource's times are rendered on every read of it
def format_time(when: datetime | None) -> str:
    """Go's ``time.RFC3339Nano`` of *when* in UTC: ``2024-05-01T10:00:00.123456Z``."""
    if when is None:
        return _ZERO_TIME
    utc = when.astimezone(UTC)
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_time(text: str) -> datetime | None:
    """The instant an RFC 3339 time (as `format_time` writes it) names; None for Go's zero time.

    Raises:
        ValueError: *text* is not an RFC 3339 time, or names no time zone; the message says which.
    """
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise ValueError("has no time zone")
    return None if parsed.year == 1 else parsed.astimezone(UTC)


def display_name(name: str, labels: Mapping[str, str]) -> str:
    """Kuma's ``GetDisplayName``: the ``kuma.io/display-name`` label if set, else the name."""
    return labels.get("kuma.io/display-name") or name


def _kri_parts(rtype: ResourceType, mesh: str, name: str, labels: Mapping[str, str]) -> list[str]:
    zone = labels.get("kuma.io/zone", "")
    namespace = labels.get("k8s.kuma.io/namespace", "")
    return [rtype.short_name, mesh, zone, namespace, display_name(name, labels)]


def kri(rtype: ResourceType, mesh: str, name: str, labels: Mapping[str, str]) -> str:
    """``kri_<short>_<mesh>_<zone>_<namespace>_<display name>_<section>``; "" without a short name."""
    if not rtype.short_name:
        return ""
    return "kri_" + "_".join(_kri_parts(rtype, mesh, name, labels)) + "_"


class KriError(ValueError):
    """A string that is not a KRI; the message is Kuma's (``invalid identifier string: "x"``)."""


@frozen
class Kri:
    """A parsed KRI: the type it names and its parts."""

    rtype: ResourceType
    mesh: str
    zone: str
    namespace: str
    name: str
    section: str

    @property
    def resource(self) -> str:
        """The KRI of the resource itself (no section), as `kri` renders it."""
        return f"kri_{self.rtype.short_name}_{self.mesh}_{self.zone}_{self.namespace}_{self.name}_"


_GO_SHORT = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (``%q``): printable characters kept, the rest escaped as Go escapes them."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif code in _GO_SHORT:
            out.append(_GO_SHORT[code])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + '"'


def parse_kri(text: str) -> Kri:
    """Kuma's ``kri.FromString``: split at ``_``, at least 7 parts, the type found by its short name."""
    parts = text.split("_")
    if len(parts) < 7:
        raise KriError(f"invalid identifier string: {go_quote(text)}")
    if parts[0] != "kri":
        raise KriError(f"identifier must start with 'kri': {go_quote(text)}")
    rtype = next((t for t in resources.REGISTRY if t.short_name and t.short_name == parts[1]), None)
    if rtype is None:
        raise KriError(f"unknown short name of resource type: {go_quote(parts[1])}")
    mesh, zone, namespace, name = parts[2:6]
    return Kri(rtype, mesh, zone, namespace, name, "".join(parts[6:]))


_FNV_OFFSET, _FNV_PRIME, _U64 = 0xCBF29CE484222325, 0x100000001B3, (1 << 64) - 1
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery's rand.SafeEncodeString
_HASHED_NAME_MAX = 253 - 17  # a Kubernetes name, less a dash and 16 hash characters


def hashed_name(mesh: str, name: str, *values: str) -> str:
    """Kuma's ``hash.HashedName``: the name a resource synced from elsewhere is stored under.

    FNV-1a (64 bits) of the concatenated mesh, name and values, in hex, each hex digit mapped onto
    Kubernetes' vowel-free alphabet, after the name (cut to fit a Kubernetes name) and a dash.
    """
    digest = _FNV_OFFSET
    for byte in "".join((mesh, name, *values)).encode():
        digest = ((digest ^ byte) * _FNV_PRIME) & _U64
    encoded = "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in f"{digest:016x}")
    return f"{name[:_HASHED_NAME_MAX]}-{encoded}"


def kri_core_name(identifier: Kri, *, zone: str, system_namespace: str | None = None) -> str:
    """The stored name a KRI stands for on a zone control plane named *zone* (Kuma's ``getCoreName``).

    A resource that originated in this zone is stored under its own name; one synced from elsewhere
    (another zone, or global: no zone) under its `hashed_name`. *system_namespace* is given on Kubernetes,
    where a namespaced kind's name ends in ``.<namespace>`` (the KRI's, else the system namespace's, and
    always the system namespace's for a synced copy).
    """
    kubernetes = system_namespace is not None and identifier.rtype.k8s is not K8sKind.CLUSTER
    if identifier.zone == zone:
        name = identifier.name
        namespace = identifier.namespace or system_namespace
    else:
        values = [v for v in (identifier.zone, identifier.namespace) if v]
        name = hashed_name(identifier.mesh, identifier.name, *values)
        namespace = system_namespace
    return f"{name}.{namespace}" if kubernetes else name


def _port_sections(rtype: ResourceType, spec: Mapping[str, Any]) -> list[tuple[int, str]]:
    if rtype.name == "MeshExternalService":
        match = spec.get("match")
        port = match.get("port", 0) if isinstance(match, Mapping) else 0
        return [(port, str(port))] if isinstance(port, int) and not isinstance(port, bool) else []
    sections = []
    ports = spec.get("ports")
    for entry in ports if isinstance(ports, list) else ():
        if not isinstance(entry, Mapping):
            continue
        port, section = entry.get("port", 0), entry.get("name")
        if not isinstance(port, int) or isinstance(port, bool):
            continue
        if not isinstance(section, str) or (rtype.name == "MeshMultiZoneService" and not section):
            section = str(port)  # MeshService keeps a set but empty name; MeshMultiZoneService does not
        sections.append((port, section))
    return sections


def _snis(
    rtype: ResourceType, mesh: str, name: str, labels: Mapping[str, str], spec: Mapping[str, Any]
) -> list[Any]:
    # sni.FromKRI: sni.<short>.<mesh>[.<zone>[.<namespace>]].<name>.<section>
    short, _, zone, namespace, shown = _kri_parts(rtype, mesh, name, labels)
    head = ["sni", short, mesh] + ([zone] + ([namespace] if namespace else []) if zone else [])
    entries = [
        {"port": port, "sni": ".".join([*head, shown, section])}
        for port, section in _port_sections(rtype, spec)
    ]
    return sorted(entries, key=operator.itemgetter("port"))


def render(rtype: ResourceType, record: kv.Record) -> dict[str, Any]:
    """The REST form of a stored resource, keys in Kuma's order."""
    key, labels = record.key, dict(record.labels)
    body: dict[str, Any] = {"type": rtype.name}
    if rtype.scope is kv.Scope.MESH:
        body["mesh"] = key.mesh
    body["name"] = key.name
    body["creationTime"] = format_time(record.creation_time)
    body["modificationTime"] = format_time(record.modification_time)
    if labels:
        body["labels"] = dict(sorted(labels.items()))  # Go marshals maps with sorted keys
    identifier = kri(rtype, key.mesh, key.name, labels)
    if identifier:
        body["kri"] = identifier
    if rtype.legacy:
        for field, value in record.spec.items():
            body.setdefault(field, value)
        return body
    if rtype.name in DESTINATIONS:
        snis = _snis(rtype, key.mesh, key.name, labels, record.spec)
        if snis:
            body["snis"] = snis
    body["spec"] = dict(record.spec)
    if rtype.has_status:
        body["status"] = dict(record.status)
    return body


def _listener_types(spec: Mapping[str, Any]) -> set[str]:
    networking = spec.get("networking")
    listeners = networking.get("listeners") if isinstance(networking, Mapping) else None
    kinds = {1: "ZoneIngress", 2: "ZoneEgress"}  # protojson accepts enum names or numbers
    found = set()
    for listener in listeners if isinstance(listeners, list) else ():
        kind = listener.get("type") if isinstance(listener, Mapping) else None
        found.add(kinds.get(kind, kind) if isinstance(kind, int) else kind)
    return {k for k in found if isinstance(k, str)}


def compute_labels(
    rtype: ResourceType,
    *,
    mesh: str,
    name: str,
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    zone: str,
) -> dict[str, str]:
    """Kuma's ``labels.Compute`` on a standalone zone control plane (Universal): the labels to store.

    ``kuma.io/display-name`` is the name; mesh-scoped types get ``kuma.io/mesh`` (if absent);
    ``kuma.io/origin`` is ``zone``; types zones provide get ``kuma.io/zone`` and ``kuma.io/env`` (if
    absent); a Dataplane loses the legacy ``kuma.io/proxy-type`` and has its zone-proxy listener labels
    set from its listeners.
    """
    computed = dict(labels)
    computed["kuma.io/display-name"] = name
    if rtype.scope is kv.Scope.MESH:
        computed.setdefault("kuma.io/mesh", mesh or "default")
    computed["kuma.io/origin"] = "zone"
    if provided_by_zone(rtype):
        computed.setdefault("kuma.io/zone", zone)
        computed.setdefault("kuma.io/env", "universal")
    if rtype.name == "Dataplane":
        computed.pop("kuma.io/proxy-type", None)
        listeners = _listener_types(spec)
        for kind, label in (
            ("ZoneIngress", "kuma.io/listener-zoneingress"),
            ("ZoneEgress", "kuma.io/listener-zoneegress"),
        ):
            if kind in listeners:
                computed[label] = "enabled"
            else:
                computed.pop(label, None)
    return computed
