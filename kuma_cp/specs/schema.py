"""The OpenAPI schema of a definition, derived from its models: for CRDs, docs and test generators.

`openapi(model)` is a structural OpenAPI v3 schema as Kubernetes wants it in a CRD: references inlined,
no ``null`` alternatives (an absent field is how a spec says "unset"), one-value literals as enums,
int-or-string as ``x-kubernetes-int-or-string``, free-form values as
``x-kubernetes-preserve-unknown-fields``, schema defaults kept. The same schema drives Hypothesis
(`tests`): every document it describes must be accepted by the OpenAPI step of the definition.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

__all__ = ["openapi"]

_DROPPED = ("title", "additionalProperties", "discriminator")


class _Generator(GenerateJsonSchema):
    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def any_schema(self, schema: core_schema.AnySchema) -> JsonSchemaValue:
        return {"x-kubernetes-preserve-unknown-fields": True}


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if name in seen:  # a recursive structure: kept free-form, as CRDs cannot recurse
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return _inline({**copy.deepcopy(defs[name]), **siblings}, defs, (*seen, name))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _inline(sub, defs, seen) for name, sub in value.items()}
        elif key == "default":
            if value is not None:
                out[key] = _without_nulls(value)
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _inline(value, defs, seen)
        elif key not in _DROPPED and key != "$defs":
            out[key] = _inline(value, defs, seen) if key not in ("enum", "const") else value
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("anyOf", None)
        out.pop("x-kubernetes-preserve-unknown-fields", None)
    return out


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return [_without_nulls(v) for v in value] if isinstance(value, list) else value


def _without_hints(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_hints(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {k: _without_hints(v) for k, v in node.items() if not k.startswith("x-kuma-")}


def openapi(model: type[BaseModel], *, hints: bool = False) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of *model* (by JSON names).

    With *hints*, nodes keep kuma-store's own ``x-kuma-*`` marks (``x-kuma-duration``: a Go duration
    string), which test generators use and Kubernetes would refuse.
    """
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_Generator)
    schema: dict[str, Any] = _inline(raw, raw.get("$defs", {}), ())
    return schema if hints else _without_hints(schema)
