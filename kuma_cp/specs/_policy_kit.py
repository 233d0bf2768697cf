"""Parts several policies share: HTTP header names, header matches and modifiers, Go's ``uint32``.

- `HeaderName`: ``common_api.HeaderName`` as the OpenAPI schemas check it (1 to 256 characters, the
  lowercase token characters of RFC 7230).
- `HeaderMatch` (``common_api.HeaderMatch``) and `HeaderModifier` (a policy's ``set``/``add`` lists).
- `Uint32`: a Go ``uint32`` field. Kuma's schemas give such fields as ``int32``, so a negative number
  passes the OpenAPI step and Go's decoder refuses it; `GoDecoded` is the base of a spec that has such
  fields and reports the first one as Go's ``encoding/json`` does (keys in sorted order, as Kuma
  re-marshals the defaulted document from a map before decoding it).
- `at_least_one`: Kuma's ``MustHaveAtLeastOne`` message.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    Field,
    GetCoreSchemaHandler,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic_core import CoreSchema, PydanticCustomError

from kuma_cp.specs.base import DECODE_ERROR, GO_RANGE_SEEN, Spec, range_watch

__all__ = [
    "GoDecoded",
    "HeaderKeyValue",
    "HeaderMatch",
    "HeaderModifier",
    "HeaderName",
    "Uint32",
    "at_least_one",
]

HEADER_NAME_PATTERN = r"^[a-z0-9!#$%&'*+\-.^_\x60|~]+$"

HeaderName = Annotated[str, Field(min_length=1, max_length=256, pattern=HEADER_NAME_PATTERN)]
"""An HTTP header name (``common_api.HeaderName``)."""


class _GoUint32:
    """The mark of a field Go declares ``uint32``."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return range_watch(0, (1 << 32) - 1, handler(source))


Uint32 = Annotated[int, _GoUint32(), WithJsonSchema({"type": "integer", "format": "int32", "minimum": 0})]
"""A Go ``uint32``: any integer passes the OpenAPI step, Go refuses a negative one."""


def at_least_one(*names: str) -> str:
    """Kuma's ``MustHaveAtLeastOne``: ``must have at least one defined: a, b``."""
    return f"must have at least one defined: {', '.join(names)}"


def _is_uint32(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return any(isinstance(mark, _GoUint32) for mark in annotation.__metadata__)
    if origin in (typing.Union, types.UnionType):
        return any(_is_uint32(arg) for arg in get_args(annotation))
    return False


def _first_negative_uint32(model: BaseModel, stack: tuple[str, ...]) -> str | None:
    fields = type(model).model_fields
    for name, field in sorted(fields.items(), key=lambda item: item[1].alias or item[0]):
        value, key = getattr(model, name), field.alias or name
        if value is None:
            continue
        marked = _is_uint32(field.annotation) or any(isinstance(mark, _GoUint32) for mark in field.metadata)
        if isinstance(value, int) and value < 0 and marked:
            where = ".".join((*stack, key))
            return (
                f"json: cannot unmarshal number {value} into Go struct field"
                f" {type(model).__name__}.{where} of type uint32"
            )
        for item in value if isinstance(value, list) else (value,):
            found = _first_negative_uint32(item, (*stack, key)) if isinstance(item, BaseModel) else None
            if found:
                return found
    return None


class GoDecoded(Spec):
    """A spec with Go ``uint32`` fields; its nested models are named as Kuma's Go structs."""

    @model_validator(mode="after")
    def _go_decoding(self) -> GoDecoded:
        if not GO_RANGE_SEEN.get():  # no uint32 out of range anywhere below: nothing to walk
            return self
        GO_RANGE_SEEN.set(False)
        reason = _first_negative_uint32(self, ("spec",))
        if reason:
            raise PydanticCustomError(DECODE_ERROR, reason)
        return self


HeaderMatchType = Literal["Exact", "Present", "RegularExpression", "Absent", "Prefix"]


class HeaderMatch(Spec):
    """A match on an HTTP header (``common_api.HeaderMatch``); an empty value is not stored."""

    type: HeaderMatchType = "Exact"
    name: HeaderName
    value: str | None = None

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("value") == "":
            del data["value"]  # a Go string marked omitempty
        return data


class HeaderKeyValue(Spec):
    """A header name and its value."""

    name: HeaderName
    value: str


class HeaderModifier(Spec):
    """Headers to set (replacing) and to add (appending), at most 16 of each."""

    set: list[HeaderKeyValue] | None = Field(default=None, max_length=16)
    add: list[HeaderKeyValue] | None = Field(default=None, max_length=16)
