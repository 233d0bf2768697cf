"""Go's jsonpb (golang/protobuf v1.5, ``AllowUnknownFields``) for Kuma's legacy protobuf types.

Kuma decodes a legacy body with ``jsonpb.Unmarshaler{AllowUnknownFields: true}``, which walks each
message's fields in declaration order, takes a field by its proto name or (preferred) its JSON name,
and stops at the first value it cannot decode, answering the error of Go's ``encoding/json`` (which
never names the field). The value types below decode as jsonpb does and raise jsonpb's errors:

- `UInt32` (and `UInt32Value`, the ``google.protobuf.UInt32Value`` wrapper): a JSON number in range,
  or a string holding one (jsonpb strips the quotes of any scalar number);
- `String`, `Bool`, `ProtoEnum` (a name, or any ``int32`` number: proto3 enums are open);
- `Duration` (``google.protobuf.Duration``): a string ``time.ParseDuration`` accepts, kept in the form
  jsonpb marshals it (``1m`` is stored as ``60s``);
- `Message` (the base of every message), `REPEATED` and `StringMap`: objects, arrays and string maps.

Proto3 scalars have no presence: a zero value (``0``, ``""``, ``false``, an enum's first value, an
empty list or map) decodes to None and is not marshalled, as jsonpb's marshaller omits it; a message,
even empty, is kept. Wrapper values keep a zero.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from attrs import frozen
from pydantic import (
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
)
from pydantic import model_validator as _model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from kuma_cp import gojson
from kuma_cp.specs.base import DECODE_ERROR, ProtoSpec
from kuma_cp.specs.validators import go_quote

__all__ = [
    "REPEATED",
    "Bool",
    "Duration",
    "Item",
    "Message",
    "ProtoEnum",
    "String",
    "StringMap",
    "UInt32",
    "UInt32Value",
    "go_duration_ns",
    "jsonpb_error",
]

UINT32_MAX = (1 << 32) - 1
_INT32 = (-(1 << 31), (1 << 31) - 1)
_MAX_NS = 1 << 63
_UNITS_NS = {
    b"ns": 1,
    b"us": 10**3,
    "µs".encode(): 10**3,  # U+00B5
    "μs".encode(): 10**3,  # U+03BC
    b"ms": 10**6,
    b"s": 10**9,
    b"m": 60 * 10**9,
    b"h": 3600 * 10**9,
}
_JSON_SPACE = " \t\r\n"
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_OBJECT, _ARRAY = "map[string]json.RawMessage", "[]json.RawMessage"


def jsonpb_error(reason: str) -> PydanticCustomError:
    """A decoding error with jsonpb's *reason* (the definition answers it as Go's 400)."""
    return PydanticCustomError(DECODE_ERROR, "{reason}", {"reason": reason})


def _type_error(value: Any, target: str, literal: str | None = None) -> PydanticCustomError:
    # encoding/json's UnmarshalTypeError: numbers into integers carry their literal
    kind = f"number {literal}" if literal is not None else gojson.go_kind(value)
    return jsonpb_error(f"json: cannot unmarshal {kind} into Go value of type {target}")


def _raw(value: str) -> str:
    # the JSON text of a string, as a client sends it (UTF-8, not \u-escaped)
    return json.dumps(value, ensure_ascii=False)


def _integer(text: str, target: str, low: int, high: int) -> int | None:
    # json.Unmarshal(text, *uint32) on the text jsonpb leaves once it strips a string's quotes
    token = text.strip(_JSON_SPACE)
    try:
        value = json.loads(token, parse_constant=lambda name: name) if token else None
    except ValueError:
        value = ValueError
    if value is ValueError or not token or token in ("NaN", "Infinity", "-Infinity"):
        raise jsonpb_error(gojson.syntax_error(token.encode()) or "unexpected end of JSON input")
    if value is None:
        return None  # a JSON null leaves the integer as it was
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _JSON_INT.fullmatch(token) and low <= int(token) <= high:
            return int(token)
        raise _type_error(value, target, token)
    raise _type_error(value, target)


def _uint32_of(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _type_error(value, "uint32")
    if isinstance(value, int):
        if 0 <= value <= UINT32_MAX:
            return value
        raise _type_error(value, "uint32", str(value))
    if isinstance(value, float):
        raise _type_error(value, "uint32", json.dumps(value))
    if isinstance(value, str):
        return _integer(_raw(value)[1:-1], "uint32", 0, UINT32_MAX)
    raise _type_error(value, "uint32")


def _uint32(value: Any) -> int | None:
    return _uint32_of(value) or None  # proto3: a zero is not set


def _string(value: Any) -> str | None:
    return _item(value) or None


def _item(value: Any) -> str:
    # a string where jsonpb keeps a zero: a map value, a list item (a null is "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _type_error(value, "string")
    return value


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _type_error(value, "bool")
    return value or None


def _time_quote(raw: bytes) -> str:
    # Go's time.quote: non-ASCII and control bytes as \xNN
    out = ['"']
    for char in raw.decode("utf-8", errors="surrogateescape"):
        if ord(char) < 0x20 or ord(char) >= 0x80:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", errors="surrogateescape"))
        else:
            out.append("\\" + char if char in '"\\' else char)
    return "".join(out) + '"'


def _leading(text: bytes, fraction: bool) -> tuple[int, float, bytes]:
    # Go's leadingInt (overflow is an error) and leadingFraction (overflow stops the digits counting)
    value, scale, index, overflow = 0, 1.0, 0, False
    while index < len(text) and 48 <= text[index] <= 57:
        digit, index = text[index] - 48, index + 1
        if overflow:
            continue
        if value > (_MAX_NS - (1 if fraction else 0)) // 10 or value * 10 + digit > _MAX_NS:
            if not fraction:
                raise OverflowError
            overflow = True
            continue
        value, scale = value * 10 + digit, scale * 10
    return value, scale, text[index:]


def go_duration_ns(text: str) -> int:
    """Nanoseconds of a Go duration string (``time.ParseDuration``); ValueError with Go's message."""
    raw = text.encode("utf-8", errors="surrogateescape")
    invalid = ValueError(f"time: invalid duration {_time_quote(raw)}")
    rest, negative = (raw[1:], raw[:1] == b"-") if raw[:1] in (b"-", b"+") else (raw, False)
    if rest == b"0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        if not (rest[0] == 46 or 48 <= rest[0] <= 57):
            raise invalid
        try:
            whole, _, after = _leading(rest, fraction=False)
        except OverflowError:
            raise invalid from None
        fraction, scale, tail = 0, 1.0, after
        if after[:1] == b".":
            fraction, scale, tail = _leading(after[1:], fraction=True)
        if len(after) == len(rest) and len(tail) >= len(after) - 1:
            raise invalid  # no digit before nor after the point
        unit_len = next((i for i, c in enumerate(tail) if c == 46 or 48 <= c <= 57), len(tail))
        if not unit_len:
            raise ValueError(f"time: missing unit in duration {_time_quote(raw)}")
        unit, rest = _UNITS_NS.get(tail[:unit_len]), tail[unit_len:]
        if unit is None:
            quoted = _time_quote(tail[:unit_len])
            raise ValueError(f"time: unknown unit {quoted} in duration {_time_quote(raw)}")
        if whole > _MAX_NS // unit:
            raise invalid
        whole *= unit
        if fraction:
            whole += int(float(fraction) * (float(unit) / scale))
        total += whole
        if whole > _MAX_NS or total > _MAX_NS:
            raise invalid
    if not negative and total > _MAX_NS - 1:
        raise invalid
    return -total if negative else total


def _format_duration(ns: int) -> str:
    # jsonpb's marshalling of a google.protobuf.Duration
    sign, seconds, nanos = "-" if ns < 0 else "", abs(ns) // 10**9, abs(ns) % 10**9
    text = f"{sign}{seconds}.{nanos:09d}".removesuffix("000").removesuffix("000").removesuffix(".000")
    return text + "s"


def _duration(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type_error(value, "string")
    try:
        return _format_duration(go_duration_ns(value))
    except ValueError as exc:
        raise jsonpb_error(f"bad Duration: {exc}") from None


def _repeated(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _type_error(value, _ARRAY)
    return value or None  # an empty list is not marshalled


def _map(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _type_error(value, _OBJECT)
    return value or None


_INTEGER_SCHEMA = WithJsonSchema({"type": "integer", "minimum": 0, "maximum": UINT32_MAX})

UInt32 = Annotated[int | None, PlainValidator(_uint32), _INTEGER_SCHEMA]
"""A proto3 ``uint32`` (None when zero)."""

UInt32Value = Annotated[int | None, PlainValidator(_uint32_of), _INTEGER_SCHEMA]
"""A ``google.protobuf.UInt32Value``: None when unset, zero kept."""

String = Annotated[str | None, PlainValidator(_string), WithJsonSchema({"type": "string"})]
"""A proto3 ``string`` (None when empty)."""

Bool = Annotated[bool | None, PlainValidator(_bool), WithJsonSchema({"type": "boolean"})]
"""A proto3 ``bool`` (None when false)."""

Duration = Annotated[
    str | None, PlainValidator(_duration), WithJsonSchema({"type": "string", "x-kuma-duration": True})
]
"""A ``google.protobuf.Duration``, in jsonpb's form (``60s``, ``0.500s``)."""

Item = Annotated[str, PlainValidator(_item), WithJsonSchema({"type": "string"})]
"""A string list item or map value (a null is ``""``)."""

StringMap = Annotated[dict[str, Item] | None, BeforeValidator(_map)]
"""A ``map<string, string>`` (None when empty)."""

REPEATED = BeforeValidator(_repeated)
"""The metadata of a repeated field: ``Annotated[list[X] | None, REPEATED]`` (None when empty)."""


@frozen
class ProtoEnum:
    """A proto3 enum's values (numbered from 0), as ``Annotated`` metadata of a field.

    A name decodes to itself (the first, zero value to None), a known number to its name, an unknown
    ``int32`` to itself (jsonpb marshals it as a number).
    """

    full_name: str
    names: tuple[str, ...]

    def validate(self, value: Any) -> str | int | None:
        """The value jsonpb reads from *value*."""
        if value is None:
            return None
        if isinstance(value, str):
            if value not in self.names:
                raise jsonpb_error(f"unknown value {go_quote(_raw(value))} for enum {self.full_name}")
            return value if value != self.names[0] else None
        target = "protoreflect.EnumNumber"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(value, target)
        if isinstance(value, float) or not _INT32[0] <= value <= _INT32[1]:
            raise _type_error(value, target, json.dumps(value))
        if 0 <= value < len(self.names):
            return self.names[value] if value else None
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        """A plain validator: jsonpb's rules replace pydantic's."""
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The enum's names."""
        return {"type": "string", "enum": list(self.names)}


class Message(ProtoSpec):
    """A protobuf message as jsonpb reads it: a JSON object (a null list item is an empty message)."""

    model_config = ConfigDict(populate_by_name=False)  # a field answers to its proto and JSON names only

    @_model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _type_error(value, _OBJECT)
        return value
