"""pydantic's errors, told as kube-openapi tells them and sorted into Kuma's violations.

Kuma validates a new-style body with kube-openapi against the type's OpenAPI schema, then turns each
error string into a violation (``toValidationError`` in ``pkg/core/resources/model/rest``): the strings
are sorted, and the first word is the field only when it starts with ``spec.``; otherwise the field is
empty and the whole string is the reason (``type in body should be one of [MeshTimeout]``).

`openapi_messages` gives kube-openapi's strings for a pydantic error list (``spec.to in body must be
of type array: "string"``); `decode_error` gives the first Go decoding error (a duration Go cannot
parse), which Kuma answers ``400 Bad Request`` instead; `to_violations` applies Kuma's rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic_core import ErrorDetails

from kuma_cp.specs.base import ANY_OF_ERROR, DECODE_ERROR, INT32_ERROR, NULL_ERROR, json_kind

__all__ = ["decode_error", "openapi_messages", "path_of", "to_violations"]

Violation = tuple[str, str]

_TYPE_NAMES = {
    "string_type": "string",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "bool_type": "boolean",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "list_type": "array",
}
_BOUNDS = {
    "greater_than_equal": ("should be greater than or equal to", "ge"),
    "greater_than": ("should be greater than", "gt"),
    "less_than_equal": ("should be less than or equal to", "le"),
    "less_than": ("should be less than", "lt"),
    "string_too_long": ("should be at most {} chars long", "max_length"),
    "string_too_short": ("should be at least {} chars long", "min_length"),
    "too_long": ("should have at most {} items", "max_length"),
    "too_short": ("should have at least {} items", "min_length"),
}
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def path_of(loc: Sequence[int | str], root: str = "spec") -> str:
    """kube-openapi's path of a pydantic location: ``spec.to[0].default``."""
    parts = [root] if root else []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _number(value: Any) -> str:
    # Go's %v of a float64 bound
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _message(error: ErrorDetails, root: str) -> list[str]:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    path = path_of(error["loc"], root)
    if kind == "missing":
        return [f"{path} in body is required"]
    if kind == NULL_ERROR:
        return [f'{path} in body must be of type {ctx["type"]}: "null"']
    if kind in _TYPE_NAMES:
        return [f'{path} in body must be of type {_TYPE_NAMES[kind]}: "{json_kind(value)}"']
    if kind == "literal_error":
        allowed = " ".join(_QUOTED.findall(str(ctx.get("expected", ""))))
        messages = [f"{path} in body should be one of [{allowed}]"]
        if not isinstance(value, str):
            messages.append(f'{path} in body must be of type string: "{json_kind(value)}"')
        return messages
    if kind == "string_pattern_mismatch":
        return [f"{path} in body should match '{ctx['pattern']}'"]
    if kind in _BOUNDS:
        text, key = _BOUNDS[kind]
        bound = _number(ctx[key])
        return [f"{path} in body " + (text.format(bound) if "{}" in text else f"{text} {bound}")]
    if kind == INT32_ERROR:  # kube-openapi's format check names the path last
        return [f"Checked value must be of type integer with format int32 in {path}"]
    if kind == ANY_OF_ERROR:
        return [
            f'"{path}" must validate at least one schema (anyOf)',
            f'{path} in body must be of type integer: "{ctx["kind"]}"',
        ]
    return [f"{path} in body {error['msg']}"]  # a type's own OpenAPI-level check (PydanticCustomError)


def openapi_messages(errors: Iterable[ErrorDetails], root: str = "spec") -> list[str]:
    """kube-openapi's error strings for *errors*, Go decoding errors left out."""
    messages: list[str] = []
    for error in errors:
        if error["type"] != DECODE_ERROR:
            messages.extend(_message(error, root))
    return messages


def decode_error(errors: Iterable[ErrorDetails]) -> str | None:
    """The first Go decoding error among *errors* (``time: invalid duration "x"``), if any."""
    return next((e["msg"] for e in errors if e["type"] == DECODE_ERROR), None)


def to_violations(messages: Iterable[str]) -> list[Violation]:
    """Kuma's ``toValidationError``: sorted, field = first word when it starts with ``spec.``."""
    violations: list[Violation] = []
    for message in sorted(messages):
        first, _, rest = message.partition(" ")
        if rest and first.startswith("spec."):
            violations.append((first, rest))
        else:
            violations.append(("", message))
    return violations
