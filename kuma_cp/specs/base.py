"""The base classes every spec definition is written with, and the value types Kuma's specs share.

A spec definition is a pydantic model, one per Go type, written from Kuma's Go structs and the OpenAPI
schema (``rest.yaml``) Kuma ships next to each new-style type. The model is the one definition: the API
validates with it, what is stored is its dump, and the CRD schema and the docs are derived from it.

- `Spec` (new-style types): JSON types are strict, as kube-openapi checks them (a number is never a
  string, ``true`` is never an integer); unknown fields are accepted and dropped, as Go's decoder drops
  them; a ``null`` is a type error unless the field has a default, which then replaces it (structural
  defaulting); fields are named in camelCase (``Field(alias=...)`` where Go's JSON name is not the
  camelCase of the attribute, e.g. ``spiffeID``).
- `ProtoSpec` (legacy protobuf types, read as Go's ``jsonpb`` reads them): each field may be spelled by
  its JSON name or its proto name (``enabledBackend`` or ``enabled_backend``), a ``null`` leaves the
  field unset, enums take their names, and ``uint32`` wrappers take numbers.

`Duration` is Kubernetes' ``metav1.Duration`` (a Go duration string such as ``1m30s``); a string that
Go's ``time.ParseDuration`` refuses fails at decoding, after the OpenAPI checks, as in Kuma.
"""

from __future__ import annotations

import types
import typing
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar, Union, get_args, get_origin

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, ValidationInfo, WithJsonSchema
from pydantic import field_validator as _field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError, PydanticUndefined, core_schema

__all__ = [
    "DECODE_ERROR",
    "NULL_ERROR",
    "Duration",
    "IntOrString",
    "ProtoSpec",
    "Spec",
    "json_kind",
    "json_type",
    "parse_go_duration",
]

GO_RANGE_SEEN: ContextVar[bool] = ContextVar("kuma_go_range_seen", default=False)
"""Set while validating when a Go-typed integer field held a value its Go type cannot: only then do the
roots that report Go's decoding errors walk their models (`range_watch`)."""

NULL_ERROR = "kuma_null"  # pydantic error type: a null where the schema allows none
DECODE_ERROR = "kuma_decode"  # pydantic error type: a value the OpenAPI schema allows but Go cannot decode
INT32_ERROR = "kuma_int32"  # pydantic error type: a number outside an OpenAPI ``format: int32``
ANY_OF_ERROR = "kuma_any_of"  # pydantic error type: int-or-string given neither


def _go_quote(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif not char.isprintable():
            out.append(f"\\u{ord(char):04x}" if ord(char) < 0x10000 else f"\\U{ord(char):08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def go_duration_ns(text: str) -> int:
    """Nanoseconds in a Go duration string (``time.ParseDuration``); ValueError with Go's message."""
    from kuma_cp.specs._jsonpb import go_duration_ns as parse  # the one port of Go's parser

    return parse(text)


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string (``time.ParseDuration``); ValueError with Go's message."""
    return go_duration_ns(text) / 1e9


def _frac(value: int, digits: int) -> tuple[str, int]:
    # Go's fmtFrac: the fraction of value / 10**digits, trailing zeros and a bare point dropped
    fraction = value % 10**digits
    text = f".{fraction:0{digits}d}".rstrip("0") if fraction else ""
    return text.rstrip("."), value // 10**digits


def go_duration_string(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``250ms``, ``0s``."""
    sign, u = ("-" if ns < 0 else ""), abs(ns)
    if u < 10**9:
        if u == 0:
            return "0s"
        for limit, digits, unit in ((10**3, 0, "ns"), (10**6, 3, "µs"), (10**9, 6, "ms")):
            if u < limit:
                fraction, whole = _frac(u, digits)
                return f"{sign}{whole}{fraction}{unit}"
    fraction, seconds = _frac(u, 9)
    text = f"{seconds % 60}{fraction}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes // 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


def _check_duration(value: str) -> str:
    try:
        ns = go_duration_ns(value)
    except ValueError as exc:
        raise PydanticCustomError(DECODE_ERROR, str(exc)) from None
    return go_duration_string(ns)  # stored as Go marshals a metav1.Duration


def _check_int_or_string(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PydanticCustomError(ANY_OF_ERROR, "int-or-string", {"kind": json_kind(value)})
    return value


Duration = Annotated[
    str, AfterValidator(_check_duration), WithJsonSchema({"type": "string", "x-kuma-duration": True})
]
"""A Kubernetes ``metav1.Duration``: a Go duration string."""

IntOrString = Annotated[
    Any, AfterValidator(_check_int_or_string), WithJsonSchema({"x-kubernetes-int-or-string": True})
]
"""Kubernetes' ``intstr.IntOrString``: an integer or a string."""


def range_watch(low: int, high: int, schema: core_schema.CoreSchema) -> core_schema.CoreSchema:
    """*schema*, noting in `GO_RANGE_SEEN` an integer outside ``[low, high]`` (a Go integer type's range)."""

    def seen(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            GO_RANGE_SEEN.set(True)
        return value

    return core_schema.no_info_after_validator_function(seen, schema)


def json_kind(value: Any) -> str:
    """kube-openapi's name of what a JSON value is (``number``, ``boolean``, ``object``...)."""
    # kube-openapi's names for what a value is (every JSON number decodes to a Go float64)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def json_type(annotation: Any) -> str:
    """The OpenAPI type of a field's annotation (``string``, ``integer``, ``object``...)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return json_type(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds = [json_type(arg) for arg in get_args(annotation) if arg is not type(None)]
        return kinds[0] if len(set(kinds)) == 1 else "integer,string"
    if origin is typing.Literal:
        return json_type(type(get_args(annotation)[0]))
    target = origin or annotation
    if isinstance(target, type):
        for python, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
            if issubclass(target, python):
                return name
        if issubclass(target, (list, tuple)):
            return "array"
    return "object"


class Spec(BaseModel):
    """A new-style spec (or part of one): kube-openapi's strict JSON types, unknown fields dropped."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        alias_generator=to_camel,
        populate_by_name=True,
        hide_input_in_errors=False,
        regex_engine="rust-regex",
    )

    @_field_validator("*", mode="before")
    @classmethod
    def _null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None:
            return value
        field = cls.model_fields[info.field_name or ""]
        if field.default is not None and field.default is not PydanticUndefined:
            return field.default  # structural defaulting replaces a null that has a default
        raise PydanticCustomError(NULL_ERROR, "null", {"type": json_type(field.annotation)})

    def dump(self) -> dict[str, Any]:
        """The JSON document Kuma would store: defined fields only, by their JSON names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _proto_alias(name: str) -> AliasChoices:
    return AliasChoices(to_camel(name), name)


class ProtoSpec(BaseModel):
    """A legacy protobuf spec (or message in one), read as Go's jsonpb reads it."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        alias_generator=None,
        populate_by_name=True,
        hide_input_in_errors=False,
        regex_engine="rust-regex",
    )
    proto_names: ClassVar[bool] = True

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        # Every field answers to its JSON (camelCase) name and to its proto (snake_case) name, as jsonpb.
        changed = False
        for name, field in cls.model_fields.items():
            if field.validation_alias is None:
                field.validation_alias = _proto_alias(field.alias or name)
                field.serialization_alias = field.serialization_alias or to_camel(field.alias or name)
                changed = True
        if changed:
            cls.model_rebuild(force=True)

    @_field_validator("*", mode="before")
    @classmethod
    def _null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:  # jsonpb: a null leaves the field unset
            return cls.model_fields[info.field_name or ""].get_default(call_default_factory=True)
        return value

    def dump(self) -> dict[str, Any]:
        """The JSON document Go's jsonpb marshals: set fields only, by their JSON names."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
