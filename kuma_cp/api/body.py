"""Parsing a PUT body into meta and spec as Kuma's ``rest.JSON.Unmarshal`` does, with Kuma's errors.

- Syntax errors are Go's (`kuma_cp.gojson`): 400 ``Bad Request``, detail
  ``invalid <Type> object: "<Go's message>"``.
- Legacy (protobuf) types: the meta fields are decoded as Go decodes ``ResourceMeta`` (its type errors:
  ``json: cannot unmarshal number into Go struct field ResourceMeta.name of type string``, also 400
  ``Bad Request``); every other top-level field is the spec.
- New-style types: the body is checked against the shape of Kuma's OpenAPI schema first (``type``,
  ``name`` and ``spec`` required, ``type`` the type's name, ``mesh`` defaulting to ``default``) and
  the spec against the type's definition (`kuma_cp.specs`: defaulting, then the OpenAPI-level
  checks), all of kube-openapi's messages sorted together and answered as Kuma does: 400 ``Could not
  process a resource``, ``Resource is not valid``.
- Then, for every type with a definition, Go's decoding (a failure is 400 ``Bad Request``, ``invalid
  <Type> object: "<reason>"``) and the type's validator (400 ``Resource is not valid``, Kuma's
  violations). The body's spec becomes what Kuma would store: defaults in, unknown fields out.

A body's ``status``, ``creationTime``, ``modificationTime`` and ``kri`` are not taken: the control plane
owns them (Kuma drops a PUT's status, keeps the creation time and computes the KRI).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from attrs import frozen

import kv
from kuma_cp import gojson, specs
from kuma_cp.api.errors import ApiError, validation_error
from kuma_cp.api.rest import META_KEYS
from kuma_cp.resources import ResourceType
from kuma_cp.specs.base import json_kind
from kuma_cp.specs.errors import to_violations

__all__ = ["PROCESS", "Body", "parse"]

PROCESS = "Could not process a resource"
_META_TYPES = {"type": "string", "mesh": "string", "name": "string", "labels": "map[string]string"}


@frozen(kw_only=True)
class Body:
    """What a PUT body says: meta and spec (``labels`` as given, before computed labels)."""

    type: str
    name: str
    mesh: str
    labels: dict[str, str]
    spec: dict[str, Any]


def _bad_request(rtype: ResourceType, message: str) -> ApiError:
    detail = f"invalid {rtype.name} object: {json.dumps(message, ensure_ascii=False)}"
    return ApiError(400, "Bad Request", detail)


def _decode(rtype: ResourceType, raw: bytes) -> Any:
    try:  # Python's parser first: fast, and it refuses whatever Go's refuses
        return gojson.loads(raw)
    except RecursionError:  # deeper than Python's parser goes (Go allows 10000 levels)
        reason = "exceeded max depth"
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        reason = str(exc)
    raise _bad_request(rtype, gojson.syntax_error(raw) or reason)  # Go's words for a syntax error


def _type_error(field: str, value: Any) -> str:
    kind, target = gojson.go_kind(value), _META_TYPES[field]
    return f"json: cannot unmarshal {kind} into Go struct field ResourceMeta.{field} of type {target}"


def _legacy(rtype: ResourceType, document: Any) -> Body:
    if document is None:  # Go leaves the struct empty
        document = {}
    if not isinstance(document, dict):
        kind = gojson.go_kind(document)
        raise _bad_request(
            rtype, f"json: cannot unmarshal {kind} into Go value of type v1alpha1.ResourceMeta"
        )
    meta: dict[str, Any] = {"type": "", "mesh": "", "name": "", "labels": {}}
    for field, value in document.items():  # Go reports the first type error in document order
        if field not in _META_TYPES or value is None:
            continue
        if field == "labels":
            if not isinstance(value, dict):
                raise _bad_request(rtype, _type_error("labels", value))
            for label in value.values():
                if label is not None and not isinstance(label, str):
                    message = _type_error("labels", label).replace("map[string]string", "string")
                    raise _bad_request(rtype, message)
            value = {k: v or "" for k, v in value.items()}
        elif not isinstance(value, str):
            raise _bad_request(rtype, _type_error(field, value))
        meta[field] = value
    spec = {k: v for k, v in document.items() if k not in META_KEYS}
    spec = _checked(rtype, spec, meta["labels"], [])
    return Body(type=meta["type"], name=meta["name"], mesh=meta["mesh"], labels=meta["labels"], spec=spec)


def _schema_messages(rtype: ResourceType, document: Mapping[str, Any]) -> list[str]:
    # The shape Kuma's OpenAPI schema (rest.yaml) gives every new-style type: kube-openapi's messages.
    # The spec's own are the definition's (`_spec_messages`).
    def wrong(field: str, want: str, value: Any) -> str:
        return f'{field} in body must be of type {want}: "{json_kind(value)}"'

    messages = []
    for field in ("type", "name", "spec"):
        if field not in document:
            messages.append(f"{field} in body is required")
    if "type" in document:
        if not isinstance(document["type"], str):
            messages.append(wrong("type", "string", document["type"]))
        elif document["type"] != rtype.name:
            messages.append(f"type in body should be one of [{rtype.name}]")
    for field in ("name", "mesh") if rtype.scope is kv.Scope.MESH else ("name",):
        if field in document and not isinstance(document[field], str):
            messages.append(wrong(field, "string", document[field]))
    labels = document.get("labels", {})
    if not isinstance(labels, dict):
        messages.append(wrong("labels", "object", labels))
    else:
        messages.extend(
            wrong(f"labels.{k}", "string", v) for k, v in labels.items() if not isinstance(v, str)
        )
    if "spec" in document and not isinstance(document["spec"], dict):
        messages.append(wrong("spec", "object", document["spec"]))
    return messages


def _checked(
    rtype: ResourceType, spec: Any, labels: Mapping[str, str], messages: list[str]
) -> dict[str, Any]:
    # The definition's steps, in Kuma's order: the OpenAPI checks (their messages sorted together
    # with the body's own *messages*), Go's decoding, the type's validator. The stored document out.
    definition = specs.lookup(rtype.name) if isinstance(spec, dict) else None
    undecodable: specs.Undecodable | None = None
    model: Any = None
    if definition is not None:
        try:
            model = definition.decode(spec)
        except specs.SchemaInvalid as exc:
            messages = messages + exc.messages
        except specs.Undecodable as exc:
            undecodable = exc
    if messages:
        raise validation_error(PROCESS, to_violations(messages))
    if undecodable is not None:
        raise _bad_request(rtype, undecodable.reason)
    if definition is None:
        return dict(spec)
    violations = definition.validate(model, specs.Meta(labels=labels))
    if violations:
        raise validation_error(PROCESS, violations)
    return model.dump()  # type: ignore[no-any-return]


def _new_style(rtype: ResourceType, document: Any) -> Body:
    if document is None:  # Go leaves the map empty: the schema then finds what is missing
        document = {}
    if not isinstance(document, dict):
        kind = gojson.go_kind(document)
        raise _bad_request(
            rtype, f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    spec = _checked(
        rtype, document.get("spec"), document.get("labels", {}), _schema_messages(rtype, document)
    )
    mesh = document.get("mesh", "default") if rtype.scope is kv.Scope.MESH else ""
    labels = dict(document.get("labels", {}))
    return Body(
        type=document["type"],
        name=document["name"],
        mesh=mesh,
        labels=labels,
        spec=spec,
    )


def parse(rtype: ResourceType, raw: bytes) -> Body:
    """Parse a PUT body for *rtype*; raise `ApiError` (400) as Kuma would."""
    document = _decode(rtype, raw)
    return _legacy(rtype, document) if rtype.legacy else _new_style(rtype, document)
