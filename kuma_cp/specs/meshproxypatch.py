"""MeshProxyPatch (``pkg/plugins/policies/meshproxypatch``): changes to the Envoy configuration of proxies.

A modification adds, removes or patches one Envoy resource (a cluster, a listener, a virtual host, a
network or an HTTP filter), with a native resource in YAML or JSON patches. Kuma checks the YAML by
decoding it into Envoy's protobuf message (``mesh.ValidateAnyResourceYAML``); that decoding is
approximated here (`envoy_resource_error`): its syntax errors, a document that is not an object, and
the required fields of the filters and virtual hosts that Envoy's validation rules name.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml
from pydantic import Field

from kuma_cp.specs._jsonpatch import JsonPatchBlock, validate_json_patch_block
from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import TopLevelTargetRef, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.gojson import json_syntax_error
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_DEFINED,
    MUST_NOT_BE_EMPTY,
    Errors,
    Path,
    must_have_exactly_one_of,
    must_have_only_one,
)

__all__ = ["DEFINITION", "MeshProxyPatchSpec", "envoy_resource_error"]

Resource = Literal["Add", "Remove", "Patch"]
Filter = Literal["Remove", "Patch", "AddFirst", "AddBefore", "AddAfter", "AddLast"]


class ClusterMatch(Spec):
    """Which clusters to modify."""

    origin: str | None = None
    name: str | None = None


class ListenerMatch(ClusterMatch):
    """Which listeners to modify."""

    tags: dict[str, str] | None = None


class FilterMatch(ClusterMatch):
    """Which network or HTTP filters to modify, in which listeners."""

    listener_name: str | None = None
    listener_tags: dict[str, str] | None = None


class VirtualHostMatch(ClusterMatch):
    """Which virtual hosts to modify, in which route configurations."""

    route_configuration_name: str | None = None


class _Mod(Spec):
    value: str | None = None
    json_patches: list[JsonPatchBlock] | None = None


class ClusterMod(_Mod):
    """A modification of clusters."""

    match: ClusterMatch | None = None
    operation: Resource


class ListenerMod(_Mod):
    """A modification of listeners."""

    match: ListenerMatch | None = None
    operation: Resource


class VirtualHostMod(_Mod):
    """A modification of virtual hosts."""

    match: VirtualHostMatch
    operation: Resource


class FilterMod(_Mod):
    """A modification of the network or HTTP filters of listeners."""

    match: FilterMatch | None = None
    operation: Filter


class Modification(Spec):
    """One modification: exactly one of its resources."""

    cluster: ClusterMod | None = None
    listener: ListenerMod | None = None
    network_filter: FilterMod | None = None
    http_filter: FilterMod | None = Field(default=None, alias="httpFilter")
    virtual_host: VirtualHostMod | None = None


class Conf(Spec):
    """The modifications, applied in order."""

    append_modifications: list[Modification] | None = None


class MeshProxyPatchSpec(Spec):
    """The spec of a MeshProxyPatch."""

    target_ref: TopLevelTargetRef | None = None
    default: Conf


_KINDS = {bool: "bool", int: "number", float: "number", str: "string", list: "array"}
# Envoy's required fields (protoc-gen-validate) among the messages a modification adds
_REQUIRED = {
    "Filter": (("name", "Name", "value length must be at least 1 runes"),),
    "HttpFilter": (("name", "Name", "value length must be at least 1 runes"),),
    "VirtualHost": (
        ("name", "Name", "value length must be at least 1 runes"),
        ("domains", "Domains", "value must contain at least 1 item(s)"),
    ),
}


def _document(text: str) -> tuple[Any, str | None]:
    try:  # sigs.k8s.io/yaml's YAMLToJSON; Kuma falls back on the raw text when it is not YAML
        return yaml.safe_load(text), None
    except yaml.YAMLError:
        error = json_syntax_error(text)
        if error:
            return None, error
        return json.JSONDecoder().raw_decode(text.lstrip(" \t\r\n"))[0], None


def envoy_resource_error(text: str, message: str, *, validate: bool) -> str | None:
    """Why Go cannot read *text* as Envoy's *message* (``Cluster``, ``HttpFilter``...), or None.

    With *validate*, the message's own rules are checked too (``ValidateResourceYAML``); without, only the
    decoding (``ValidateResourceYAMLPatch``).
    """
    document, error = _document(text)
    if error:
        return error
    if document is not None and not isinstance(document, dict):
        kind = _KINDS.get(type(document), "object")
        return f"json: cannot unmarshal {kind} into Go value of type map[string]json.RawMessage"
    fields = document or {}
    for key, _, _ in _REQUIRED.get(message, ()):
        value, go_type = fields.get(key), "string" if key == "name" else "[]json.RawMessage"
        if value is not None and not isinstance(value, str if key == "name" else list):
            kind = _KINDS.get(type(value), "object")
            return f"json: cannot unmarshal {kind} into Go value of type {go_type}"
    if validate:
        for key, name, reason in _REQUIRED.get(message, ()):
            if not fields.get(key):
                return f"invalid {message}.{name}: {reason}"
    return None


def _resource_value(path: Path, value: str | None, message: str) -> Errors:
    errors = Errors()
    if value is None:
        errors.at(path, MUST_BE_DEFINED)
    elif reason := envoy_resource_error(value, message, validate=True):
        errors.at(path, f"native Envoy resource is not valid: {reason}")
    return errors


def _patch(path: Path, mod: _Mod, message: str) -> Errors:
    errors, patches = Errors(), mod.json_patches or []
    if mod.value is not None:
        if patches:
            errors.at(path, must_have_only_one(str(path), "value", "jsonPatches"))
        elif reason := envoy_resource_error(mod.value, message, validate=False):
            errors.at(path.field("value"), f"native Envoy resource is not valid: {reason}")
    elif patches:
        return validate_json_patch_block(path.field("jsonPatches"), patches)
    else:
        errors.at(path, must_have_exactly_one_of(str(path), "value", "jsonPatches"))
    return errors


def _operations(*operations: str) -> str:
    return "invalid operation. Available operations: " + ", ".join(f'"{op}"' for op in operations)


def _resource_mod(name: str, mod: ClusterMod | ListenerMod | VirtualHostMod, message: str) -> Errors:
    errors, path = Errors(), Path.rooted_at(name)
    if mod.operation == "Add":
        if isinstance(mod, VirtualHostMod):
            if mod.match is not None and mod.match.name is not None:
                errors.at(path.field("match").field("name"), MUST_NOT_BE_DEFINED)
        elif mod.match is not None:
            errors.at(path.field("match"), MUST_NOT_BE_DEFINED)
        errors.add(_resource_value(path.field("value"), mod.value, message))
    elif mod.operation == "Patch":
        errors.add(_patch(path, mod, message))
    elif mod.operation == "Remove":
        if mod.value is not None:
            errors.at(path.field("value"), MUST_NOT_BE_DEFINED)
    else:
        errors.at(path.field("operation"), _operations("Add", "Patch", "Remove"))
    return errors


_EXACTLY_ONE = "exactly one modification can be defined at a time."
_BEFORE = "must be defined. You need to pick a filter before which this one will be added"
_AFTER = "must be defined. You need to pick a filter after which this one will be added"


def _filter_mod(name: str, mod: FilterMod, message: str) -> Errors:
    errors, path = Errors(), Path.rooted_at(name)
    named = mod.match is not None and mod.match.name is not None
    missing = {"AddBefore": _BEFORE, "AddAfter": _AFTER, "Patch": MUST_BE_DEFINED}.get(mod.operation)
    if missing and not named:
        errors.at(path.field("match").field("name"), missing)
    if mod.operation in ("AddFirst", "AddLast", "AddBefore", "AddAfter"):
        errors.add(_resource_value(path.field("value"), mod.value, message))
    elif mod.operation == "Patch":
        errors.add(_patch(path, mod, message))
    elif mod.operation == "Remove":
        if mod.value is not None:
            errors.at(path.field("value"), MUST_NOT_BE_DEFINED)
    else:
        operations = ("AddFirst", "AddLast", "AddBefore", "AddAfter", "Patch", "Remove")
        errors.at(path.field("operation"), _operations(*operations))
    return errors


def _modification(modification: Modification) -> Errors:
    mods = (
        modification.cluster,
        modification.listener,
        modification.virtual_host,
        modification.network_filter,
        modification.http_filter,
    )
    count = sum(mod is not None for mod in mods)
    if count != 1:
        errors = Errors()
        reason = (
            f"exactly one modification can be defined at a time. Currently, {count} modifications are defined"
        )
        errors.violation("", reason)
        return errors
    if modification.cluster is not None:
        return _resource_mod("cluster", modification.cluster, "Cluster")
    if modification.listener is not None:
        return _resource_mod("listener", modification.listener, "Listener")
    if modification.virtual_host is not None:
        return _resource_mod("virtualHost", modification.virtual_host, "VirtualHost")
    if modification.network_filter is not None:
        return _filter_mod("networkFilter", modification.network_filter, "Filter")
    assert modification.http_filter is not None
    return _filter_mod("httpFilter", modification.http_filter, "HttpFilter")


def validate(spec: MeshProxyPatchSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshProxyPatchResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if spec.target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(spec.target_ref, ("Mesh", "Dataplane")))
    mods = path.field("default").field("appendModifications")
    if not spec.default.append_modifications:
        errors.at(mods, MUST_NOT_BE_EMPTY)
    for index, modification in enumerate(spec.default.append_modifications or []):
        errors.add_at(mods.index(index), _modification(modification))
    return errors


DEFINITION: Definition[MeshProxyPatchSpec] = Definition(
    name="MeshProxyPatch", spec=MeshProxyPatchSpec, validator=validate
)
