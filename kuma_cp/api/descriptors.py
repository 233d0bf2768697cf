"""What Kuma's type descriptors know beyond `kuma_cp.resources`: KDS flags, display names, policy shapes.

These feed computed labels (which types a zone provides), ``GET /_resources`` (display names,
``includeInFederation``, policy descriptions) and ``snis`` (destination types). Values are Kuma's
generated descriptors (``zz_generated.resource(s).go``) and ``base_endpoints/_resources.golden.json``.
"""

from __future__ import annotations

import re
from typing import Any

import kv
from kuma_cp.resources import REGISTRY, ResourceType

__all__ = [
    "DESTINATIONS",
    "global_to_zones",
    "plural_display_name",
    "provided_by_zone",
    "resources_index",
    "singular_display_name",
]

# Types whose KDS flags lack ProvidedByZoneFlag: a zone does not create them, so Kuma gives them no
# kuma.io/zone and kuma.io/env labels. Every other registered type is provided by zones.
_NOT_PROVIDED_BY_ZONE = frozenset({"Mesh", "MeshInsight", "MeshMultiZoneService", "ServiceInsight"})
# Types without GlobalToZonesFlag (not synced from global to zones).
_NOT_GLOBAL_TO_ZONES = frozenset(
    {
        "Dataplane",
        "DataplaneInsight",
        "MeshInsight",
        "Zone",
        "ZoneInsight",
        "MeshService",
        "MeshZoneAddress",
        "Workload",
    }
)
# Destination types: their REST form lists the SNIs xDS advertises (``snis``).
DESTINATIONS = frozenset({"MeshService", "MeshExternalService", "MeshMultiZoneService"})
# (hasRulesTargetRef, hasToTargetRef) of each policy; every one is targetRef-based and has no "from".
_POLICY_REFS = {
    "MeshAccessLog": (True, True),
    "MeshCircuitBreaker": (True, True),
    "MeshFaultInjection": (True, True),
    "MeshHTTPRoute": (False, True),
    "MeshHealthCheck": (False, True),
    "MeshLoadBalancingStrategy": (False, True),
    "MeshMetric": (False, False),
    "MeshPassthrough": (False, False),
    "MeshProxyPatch": (False, False),
    "MeshRateLimit": (True, True),
    "MeshRetry": (False, True),
    "MeshTCPRoute": (False, True),
    "MeshTLS": (True, False),
    "MeshTimeout": (True, True),
    "MeshTrace": (False, False),
    "MeshTrafficPermission": (True, False),
}
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")
# Words Kuma's display names keep whole, where splitting at capitals would break them apart.
_WHOLE_WORDS = {"Open Telemetry": "OpenTelemetry"}


def provided_by_zone(rtype: ResourceType) -> bool:
    """Whether zones create this type (Kuma's ``ProvidedByZoneFlag``)."""
    return rtype.name not in _NOT_PROVIDED_BY_ZONE


def global_to_zones(rtype: ResourceType) -> bool:
    """Whether global syncs this type to zones (Kuma's ``GlobalToZonesFlag``)."""
    return rtype.name not in _NOT_GLOBAL_TO_ZONES


def _words(rtype: ResourceType) -> list[str]:
    text = " ".join(_WORDS.findall(rtype.name))
    for split, whole in _WHOLE_WORDS.items():
        text = text.replace(split, whole)
    return text.split(" ")


def singular_display_name(rtype: ResourceType) -> str:
    """``MeshTrafficPermission`` → ``Mesh Traffic Permission``, ``MeshTLS`` → ``Mesh TLS``."""
    return " ".join(_words(rtype))


def plural_display_name(rtype: ResourceType) -> str:
    """``Mesh Retries``, ``Meshes``, ``Mesh TLSes``: the last word pluralised as Kuma's descriptors do."""
    *head, last = _words(rtype)
    if last[-1] == "y" and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    elif last.lower().endswith(("s", "x", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return " ".join([*head, last])


def _description(rtype: ResourceType, read_only: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "includeInFederation": global_to_zones(rtype) and not rtype.read_only,
        "name": rtype.name,
        "path": rtype.path,
        "pluralDisplayName": plural_display_name(rtype),
    }
    if rtype.policy:
        rules, to = _POLICY_REFS.get(rtype.name, (False, False))
        entry["policy"] = {
            "hasFromTargetRef": False,
            "hasRulesTargetRef": rules,
            "hasToTargetRef": to,
            "isFromAsRules": False,
            "isTargetRef": True,
        }
    entry["readOnly"] = read_only or rtype.read_only
    entry["scope"] = "Mesh" if rtype.scope is kv.Scope.MESH else "Global"
    entry["shortName"] = rtype.short_name
    entry["singularDisplayName"] = singular_display_name(rtype)
    return entry


def resources_index(read_only: bool) -> dict[str, Any]:
    """The body of ``GET /_resources``: every type with an HTTP path, by name, fields in Kuma's order."""
    types = sorted((t for t in REGISTRY if t.path), key=lambda t: t.name)
    return {"resources": [_description(t, read_only) for t in types]}
