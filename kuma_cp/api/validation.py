"""The checks Kuma's API applies to a PUT body, with Kuma's (and Kubernetes') messages.

- `request_violations`: ``validateResourceRequest`` in ``resource_crud_endpoints.go``: name, type and
  mesh must match the URL, the labels must be valid (``kuma.io/origin``, ``kuma.io/zone``,
  ``kuma.io/mesh``, ``kuma.io/policy-role``, and every key and value as Kubernetes labels), and the
  meta must be valid (``core_mesh.ValidateMeta``).
- `rfc1035_violations`: the name rule some types add on create and update (Mesh, Zone and the
  destination types, whose names become DNS labels).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import kv
from kuma_cp.api.errors import Violation
from kuma_cp.resources import ResourceType

__all__ = [
    "RFC1035_TYPES",
    "label_key_errors",
    "label_value_errors",
    "request_violations",
    "rfc1035_violations",
    "workload_error",
]

# Types whose validators require the (display) name to be a DNS-1035 label.
RFC1035_TYPES = frozenset({"Mesh", "Zone", "MeshService", "MeshExternalService", "MeshMultiZoneService"})

_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = f"({_LABEL_KEY_FMT})?"
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = f"{_DNS1123_LABEL_FMT}(\\.{_DNS1123_LABEL_FMT})*"
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_LABEL_KEY_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character"
)
# core_mesh.ValidateMeta: names are RFC 1123 subdomains; meshes keep Kuma's older, laxer charset.
_IDENTIFIER = re.compile(_DNS1123_SUBDOMAIN_FMT)
_IDENTIFIER_MSG = (
    "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_MESH_CHARS = re.compile("[-0-9a-z_.]*")
_MESH_CHARS_MSG = (
    "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_', '.' symbols."
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # Kubernetes' RegexError, double space after each example's comma included.
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _size(value: str) -> int:
    return len(value.encode("utf-8", errors="surrogatepass"))  # Go counts bytes


def _subdomain_errors(value: str) -> list[str]:
    errors = ["must be no more than 253 characters"] if _size(value) > 253 else []
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
        errors.append(_regex_error(_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(key: str) -> list[str]:
    """Kubernetes' ``IsQualifiedName`` (``IsLabelKey``): the reasons *key* is not a label key."""
    errors: list[str] = []
    prefix, slash, name = key.partition("/")
    if not slash:
        name = key
    elif "/" in name:
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    elif not prefix:
        errors.append("prefix part must be non-empty")
    else:
        errors.extend("prefix part " + e for e in _subdomain_errors(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif _size(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not re.fullmatch(_LABEL_KEY_FMT, name):
        errors.append(
            "name part " + _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """Kubernetes' ``IsValidLabelValue``: the reasons *value* is not a label value."""
    errors = ["must be no more than 63 characters"] if _size(value) > 63 else []
    if not re.fullmatch(_LABEL_VALUE_FMT, value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _identifier(field: str, value: str, pattern: re.Pattern[str], message: str) -> list[Violation]:
    if not value:
        return [(field, "cannot be empty")]
    if _size(value) > 253:
        return [(field, "value length must less or equal 253")]
    return [] if pattern.fullmatch(value) else [(field, message)]


def _labels_violations(
    rtype: ResourceType, labels: Mapping[str, str], mesh: str, zone: str
) -> list[Violation]:
    violations: list[Violation] = []

    def at(key: str) -> str:
        return "labels[" + _go_quote(key) + "]"

    origin = labels.get("kuma.io/origin", "")
    if origin and origin not in ("global", "zone"):
        violations.append((at("kuma.io/origin"), f"unknown resource origin {_go_quote(origin)}"))
    if origin != "global":  # a zone control plane
        if "kuma.io/zone" in labels and labels["kuma.io/zone"] != zone:
            violations.append((at("kuma.io/zone"), f"kuma.io/zone label should have {zone} value"))
        if "kuma.io/mesh" in labels and labels["kuma.io/mesh"] != mesh:
            violations.append(
                (at("kuma.io/mesh"), "kuma.io/mesh label must not differ from mesh set on resource")
            )
    if rtype.policy and not rtype.legacy:
        role = labels.get("kuma.io/policy-role") or "system"
        if role != "system":
            reason = f"kuma.io/policy-role label should have system value, got {role}"
            violations.append((at("kuma.io/policy-role"), reason))
    for key in sorted(labels):
        violations.extend((at(key), reason) for reason in label_key_errors(key))
        violations.extend((at(key), reason) for reason in label_value_errors(labels[key]))
    return violations


def _go_quote(value: str) -> str:
    # Go's %q for the strings that reach here (label keys and values): JSON quoting is close enough.
    return json.dumps(value, ensure_ascii=False)


def request_violations(
    rtype: ResourceType,
    *,
    url_name: str,
    url_mesh: str,
    body_type: str,
    body_name: str,
    body_mesh: str,
    labels: Mapping[str, str],
    zone: str,
) -> list[Violation]:
    """Kuma's ``validateResourceRequest``: every violation, in Kuma's order."""
    violations: list[Violation] = []
    if url_name != body_name:
        violations.append(("name", "name from the URL has to be the same as in body"))
    if body_type != rtype.name:
        violations.append(("type", "type from the URL has to be the same as in body"))
    mesh_scoped = rtype.scope is kv.Scope.MESH
    if mesh_scoped and url_mesh != body_mesh:
        violations.append(("mesh", "mesh from the URL has to be the same as in body"))
    violations.extend(_labels_violations(rtype, labels, body_mesh, zone))
    violations.extend(_identifier("name", body_name, _IDENTIFIER, _IDENTIFIER_MSG))
    if mesh_scoped:
        violations.extend(_identifier("mesh", body_mesh, _MESH_CHARS, _MESH_CHARS_MSG))
    return violations


def _dns1035_errors(value: str) -> list[str]:
    reasons = ["must be no more than 63 characters"] if _size(value) > 63 else []
    if not re.fullmatch(_DNS1035_FMT, value):
        reasons.append(_regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return reasons


def workload_error(rtype: ResourceType, labels: Mapping[str, str]) -> str | None:
    """Kuma's check of a new Universal Dataplane's ``kuma.io/workload`` label (a DNS-1035 label)."""
    workload = labels.get("kuma.io/workload", "")
    reasons = _dns1035_errors(workload) if rtype.name == "Dataplane" and workload else []
    if not reasons:
        return None
    return (
        'bad request: labels["kuma.io/workload"]: must be a valid DNS-1035 label (at most 63 characters, '
        f"matching regex {_DNS1035_FMT}): " + "; ".join(reasons)
    )


def rfc1035_violations(rtype: ResourceType, name: str, labels: Mapping[str, str]) -> list[Violation]:
    """The DNS-1035 rule of Mesh, Zone and destination types, on the display name (Kuma's validators)."""
    if rtype.name not in RFC1035_TYPES:
        return []
    reasons = _dns1035_errors(labels.get("kuma.io/display-name") or name)
    if reasons:
        return [("name", ", ".join(reasons))]
    if rtype.name == "Mesh" and _size(name) > 63:  # Kuma's mesh validator, on the name itself
        return [("name", "cannot be longer than 63 characters")]
    return []
