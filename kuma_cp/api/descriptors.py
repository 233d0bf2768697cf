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
_NOT_PROVIDED_BY_ZONE = frozenset({"Mesh", "MeshInsight", "MeshMultiZoneService"})
# Types without GlobalToZonesFlag (not synced from global to zones).
_NOT_GLOBAL_TO_ZONES = frozenset(
    {"Dataplane", "DataplaneInsight", "MeshInsight", "Zone", "ZoneInsight", "MeshService"}
)
# Destination types: their REST form lists the SNIs xDS advertises (``snis``).
DESTINATIONS = frozenset({"MeshService", "MeshExternalService", "MeshMultiZoneService"})
# (hasRulesTargetRef, hasToTargetRef) of each policy; every one is targetRef-based and has no "from".
_POLICY_REFS = {
    "MeshAccessLog": (True, True),
    "MeshCircuitBreaker": (True, True),
    "MeshFaultInjection": (True, True),
    "MeshHealthCheck": (False, True),
    "MeshLoadBalancingStrategy": (False, True),
    "MeshProxyPatch": (False, False),
    "MeshRateLimit": (True, True),
    "MeshRetry": (False, True),
    "MeshTLS": (True, False),
    "MeshTimeout": (True, True),
    "MeshTrace": (False, False),
    "MeshTrafficPermission": (True, False),
}
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")


def provided_by_zone(rtype: ResourceType) -> bool:
    """Whether zones create this type (Kuma's ``ProvidedByZoneFlag``)."""
    return rtype.name not in _NOT_PROVIDED_BY_ZONE


def global_to_zones(rtype: ResourceType) -> bool:
    """Whether global syncs this type to zones (Kuma's ``GlobalToZonesFlag``)."""
    return rtype.name not in _NOT_GLOBAL_TO_ZONES


def singular_display_name(rtype: ResourceType) -> str:
    """``MeshTrafficPermission`` → ``Mesh Traffic Permission``, ``MeshTLS`` → ``Mesh TLS``."""
    return " ".join(_WORDS.findall(rtype.name))


def plural_display_name(rtype: ResourceType) -> str:
    """``Mesh Retries``, ``Meshes``, ``Mesh TLSes``: the last word pluralised as Kuma's descriptors do."""
    *head, last = _WORDS.findall(rtype.name)
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
    """The body of ``GET /_resources``: every type, sorted by name, fields in Kuma's order."""
    types = sorted(REGISTRY, key=lambda t: t.name)
    return {"resources": [_description(t, read_only) for t in types]}
