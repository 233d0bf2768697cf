"""JSON encoding of specs and statuses: the one place that decides what "JSON" means for kv.

Drivers store and return spec and status as JSON text; the store encodes once on the way in and
decodes on the way out, which is also what gives every caller its own deep copy. What cannot round-trip
on every backend is `Invalid`: non-finite floats, the NUL character (PostgreSQL ``jsonb`` and ``text``
refuse it), documents over 1 MiB (larger than Kubernetes accepts for one object).

"JSON" is defined by the standard library's encoder (``ensure_ascii=False``, ``allow_nan=False``,
compact separators) and decoder; orjson is only the fast path. It is used where it provably writes the
same text and reads the same values, and the standard library does the work wherever it might not:

- encoding: orjson refuses (and so hands to the standard library) subclasses of the builtins, dates,
  dataclasses, non-``str`` keys, integers beyond 64 bits, lone surrogates and nesting deeper than 254.
  What it accepts but the standard library would not, or writes differently, is found by walking the
  value's containers (`_plain`): enums, UUIDs and orjson fragments, non-finite floats (orjson writes
  ``null``) and floats whose text differs (orjson writes ``0.00001`` where ``repr`` gives ``1e-05``).
- decoding: orjson reads integers beyond 64 bits as floats, so text with a run of 19 digits or more goes
  to the standard library; so does anything orjson refuses (``NaN``, ``1e400``, escaped lone surrogates),
  which the standard library then reads or refuses exactly as before.

The encoded text is therefore byte-identical to the standard library's for every value, and decoding
returns equal values (with equal key order) for every text the standard library reads, save one: orjson
reads arrays and objects nested up to 1024 deep, where the standard library may already raise
`RecursionError` (somewhat below 1000, depending on the caller's stack). `encode` never writes such text.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Mapping
from typing import Any, NoReturn

import orjson

from kv.errors import Invalid

__all__ = ["MAX_DOCUMENT", "decode", "encode"]

MAX_DOCUMENT = 1 << 20
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE = re.compile("[\ud800-\udfff]")
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_decode = json.JSONDecoder().decode

# Dates, dataclasses and subclasses of str, int, dict and list go to `_refuse`, hence to the standard library.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_OPTIONS |= orjson.OPT_PASSTHROUGH_SUBCLASS
_dumps = orjson.dumps
_loads = orjson.loads
_referents = gc.get_referents
_PLAIN = frozenset({str, int, bool, type(None), dict, list, tuple})
_PLAIN_OR_FLOAT = _PLAIN | {float}
_is_plain = _PLAIN.issuperset
_is_plain_or_float = _PLAIN_OR_FLOAT.issuperset
# Floats in this range are written as repr() writes them (checked over the whole range of doubles:
# orjson differs only for 1e-9 <= |x| < 1e-4); zero is "0.0" or "-0.0" in both. NaN fails both tests.
_SAME_FLOAT_TEXT = (1e-3, 1.7976931348623157e308)
# Digits become "0": a run of 19 is an integer orjson may read as a float (2**63 has 19 digits).
_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def _refuse(value: object) -> NoReturn:
    """The ``default`` for orjson: whatever it cannot encode natively goes to the standard library."""
    raise TypeError


def _plain(value: dict[str, Any]) -> bool:
    """Whether orjson's text for *value*, which it accepted, is the standard library's text.

    Walks the containers one nesting level at a time (``gc.get_referents`` gives the values of dicts
    and the items of lists and tuples, in C); orjson accepted *value*, so it is at most 254 deep and
    acyclic, its keys are ``str``, and the walk never enters anything but a dict, list or tuple.
    """
    level = _referents(value)
    while level:
        if not _is_plain(map(type, level)):
            if not _is_plain_or_float(map(type, level)):
                return False  # an enum, a UUID, an orjson fragment: the standard library refuses them
            low, high = _SAME_FLOAT_TEXT
            for item in level:
                if type(item) is float and item != 0.0 and not low <= abs(item) <= high:
                    return False
        level = _referents(*level)
    return True


def encode(what: str, value: Mapping[str, Any]) -> str:
    """Encode a JSON object; raise `Invalid` naming *what* ("spec", "status") if it cannot be stored."""
    if type(value) is dict and not value:  # the usual empty status
        return "{}"
    if not isinstance(value, Mapping):
        raise Invalid(f"{what} must be a JSON object (a mapping), not {type(value).__name__}")
    document = value if isinstance(value, dict) else dict(value)
    try:
        text = _dumps(document, default=_refuse, option=_OPTIONS).decode()
        fast = _plain(document)
    except orjson.JSONEncodeError:
        fast = False
    if not fast:
        try:
            text = _encoder.encode(document)
        except (TypeError, ValueError, RecursionError) as exc:
            raise Invalid(f"{what} is not JSON-serialisable: {exc}") from exc
    if len(text) > MAX_DOCUMENT:
        raise Invalid(f"{what} is {len(text)} characters of JSON; at most {MAX_DOCUMENT}")
    if "\\u0000" in text and _NUL.search(text):
        raise Invalid(f"{what} contains the NUL character, which PostgreSQL cannot store")
    # orjson's text is valid UTF-8; ASCII text cannot hold a surrogate either.
    if not fast and not text.isascii() and _SURROGATE.search(text):
        raise Invalid(f"{what} contains a lone surrogate, which is not valid UTF-8")
    return text


def decode(text: str) -> dict[str, Any]:
    """Decode a stored JSON object into a fresh dict."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate in the text itself: only the standard library reads it
        value = _decode(text)
    else:
        if _LONG_NUMBER in data.translate(_DIGITS):
            value = _decode(text)
        else:
            try:
                value = _loads(data)
            except orjson.JSONDecodeError:
                value = _decode(text)  # reads it as before, or raises the error it always raised
    if not isinstance(value, dict):  # pragma: no cover - encode() only ever stores objects
        raise Invalid(f"stored document is not a JSON object: {text[:80]}")
    return value
