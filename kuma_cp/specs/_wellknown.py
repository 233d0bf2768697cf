"""The rest of jsonpb that Kuma's system types and insights need, on top of `kuma_cp.specs._jsonpb`.

- `BoolValue` (``google.protobuf.BoolValue``): a wrapper keeps ``false`` (a message is always
  marshalled, even at its zero value);
- `BytesValue`: ``encoding/json``'s ``[]byte``, a padded standard base64 string (CR and LF skipped;
  Go's ``illegal base64 data at input byte N`` otherwise) or an array of numbers from 0 to 255,
  stored as padded base64;
- `Timestamp`: RFC 3339 as Go's ``time.Parse`` reads it (``bad Timestamp: parsing time ...``), stored
  in UTC with 0, 3, 6 or 9 fractional digits;
- `Struct` (``google.protobuf.Struct``): any JSON object;
- `UInt64`: a number or a quoted number, stored as a string (jsonpb's form of 64-bit integers);
- `MapOf` (``map<string, T>``) and `UInt32Item` (a ``uint32`` map value, where a zero is kept).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from kuma_cp import gojson
from kuma_cp.specs._gotime import parse_rfc3339, timestamp_text
from kuma_cp.specs._jsonpb import UInt32Value, jsonpb_error

__all__ = ["BoolValue", "BytesValue", "MapOf", "Struct", "Timestamp", "UInt32Item", "UInt64"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_UINT64_MAX = (1 << 64) - 1
_LINE_BREAKS = b"\r\n"
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _type_error(value: Any, go_type: str, literal: str | None = None) -> PydanticCustomError:
    # encoding/json's UnmarshalTypeError (a number into an integer type names its literal)

    kind = "number " + literal if literal is not None else gojson.go_kind(value)
    return jsonpb_error(f"json: cannot unmarshal {kind} into Go value of type {go_type}")


def _map(value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise _type_error(value, "map[string]json.RawMessage")
    return value or None  # an empty map is not marshalled


def _bool_value(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise _type_error(value, "bool")
    return value


def _skip_breaks(data: bytes, index: int) -> int:
    while index < len(data) and data[index] in _LINE_BREAKS:
        index += 1
    return index


def _quantum(data: bytes, index: int) -> tuple[list[int], int]:
    # encoding/base64's decodeQuantum (StdEncoding): up to 4 sextets and the next index
    sextets: list[int] = []
    while len(sextets) < 4:
        if index == len(data):
            if sextets:  # a partial quantum: padding is required
                raise jsonpb_error(f"illegal base64 data at input byte {index - len(sextets)}")
            return sextets, index
        byte = data[index]
        index += 1
        if byte in _LINE_BREAKS:
            continue
        if chr(byte) in _ALPHABET:
            sextets.append(_ALPHABET.index(chr(byte)))
            continue
        if byte != ord("=") or len(sextets) < 2:
            raise jsonpb_error(f"illegal base64 data at input byte {index - 1}")
        if len(sextets) == 2:  # "==" expected: the second "=" after any line breaks
            index = _skip_breaks(data, index)
            if index == len(data):
                raise jsonpb_error(f"illegal base64 data at input byte {len(data)}")
            if data[index] != ord("="):
                raise jsonpb_error(f"illegal base64 data at input byte {index - 1}")
            index += 1
        index = _skip_breaks(data, index)
        if index < len(data):
            raise jsonpb_error(f"illegal base64 data at input byte {index}")  # trailing garbage
        return sextets, index
    return sextets, index


def _base64(text: str) -> bytes:
    data = text.encode("utf-8", errors="surrogateescape")
    out, index = bytearray(), 0
    while index < len(data):
        sextets, index = _quantum(data, index)
        if not sextets:
            break
        number = 0
        for sextet in (*sextets, 0, 0, 0)[:4]:
            number = number << 6 | sextet
        out += number.to_bytes(3, "big")[: len(sextets) - 1]
    return bytes(out)


def _bytes_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return base64.b64encode(_base64(value)).decode()
    if not isinstance(value, list):
        raise _type_error(value, "[]uint8")
    octets = bytearray()
    for item in value:  # encoding/json's own array decoding: no quoted numbers, a null is 0
        if item is None:
            octets.append(0)
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            raise _type_error(item, "uint8")
        elif isinstance(item, float) or not 0 <= item <= 255:
            raise _type_error(item, "uint8", json.dumps(item))
        else:
            octets.append(item)
    return base64.b64encode(bytes(octets)).decode()


def _timestamp(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _type_error(value, "string")
    try:
        return timestamp_text(*parse_rfc3339(value))
    except ValueError as exc:
        raise jsonpb_error(f"bad Timestamp: {exc}") from None


def _struct(value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        kind = _type_error(value, "map[string]json.RawMessage").message()
        raise jsonpb_error(f"bad StructValue: {kind}")
    return value


def _quoted_uint64(text: str) -> int:
    # jsonpb strips a string's quotes and decodes what is left as JSON

    token = json.dumps(text, ensure_ascii=False)[1:-1].strip(" \t\r\n")
    syntax = gojson.syntax_error(token.encode())
    if syntax:
        raise jsonpb_error(syntax)
    value = json.loads(token)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(value, "uint64")
    if not _INTEGER.fullmatch(token) or not 0 <= int(token) <= _UINT64_MAX:
        raise _type_error(value, "uint64", token)
    return int(token)


def _uint64(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        number = _quoted_uint64(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(value, "uint64")
    elif isinstance(value, float) or not 0 <= value <= _UINT64_MAX:
        raise _type_error(value, "uint64", json.dumps(value))
    else:
        number = value
    return number or None


BoolValue = Annotated[bool | None, PlainValidator(_bool_value), WithJsonSchema({"type": "boolean"})]
"""A ``google.protobuf.BoolValue``: None when unset, ``false`` kept."""

BytesValue = Annotated[
    str | None, PlainValidator(_bytes_value), WithJsonSchema({"type": "string", "format": "byte"})
]
"""A ``google.protobuf.BytesValue``: padded base64, None when unset, ``""`` kept."""

Timestamp = Annotated[
    str | None, PlainValidator(_timestamp), WithJsonSchema({"type": "string", "format": "date-time"})
]
"""A ``google.protobuf.Timestamp`` in jsonpb's form (``2024-05-01T08:00:00.500Z``)."""

Struct = Annotated[dict[str, Any] | None, PlainValidator(_struct), WithJsonSchema({"type": "object"})]
"""A ``google.protobuf.Struct``: any JSON object."""

UInt64 = Annotated[
    int | None,
    PlainValidator(_uint64),
    PlainSerializer(lambda number: None if number is None else str(number)),
    WithJsonSchema({"type": "string", "format": "uint64"}),
]
"""A proto3 ``uint64`` (None when zero), marshalled as a string."""

UInt32Item = Annotated[UInt32Value, AfterValidator(lambda number: number or 0)]
"""A ``uint32`` map value: a zero (or a null) is kept as 0."""

T = TypeVar("T")
MapOf = Annotated[dict[str, T] | None, BeforeValidator(_map)]
"""A ``map<string, T>`` (None when empty); a null message value is an empty message."""
