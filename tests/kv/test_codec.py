"""kv.codec against the standard-library codec it replaced, kept here as the oracle.

The property guaranteed (and tested) is the strong one: for every value, `codec.encode` accepts exactly
what the oracle accepts, raises `Invalid` with the same message for the rest, and writes byte-identical
text; for every text, `codec.decode` returns the same value as the oracle (same types, same float
signs, same key order) or raises the same error. The one documented exception is decoding text nested
between about 1000 and 1024 deep, which the oracle may refuse with `RecursionError` and orjson reads.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import json
import math
import re
import types
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kv import codec
from kv.errors import Invalid

# --- the oracle: kv/codec.py as it was before orjson, verbatim ---------------------------------------

_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE = re.compile("[\ud800-\udfff]")
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_decode = json.JSONDecoder().decode


def oracle_encode(what: str, value: Mapping[str, Any]) -> str:
    if type(value) is dict and not value:
        return "{}"
    if not isinstance(value, Mapping):
        raise Invalid(f"{what} must be a JSON object (a mapping), not {type(value).__name__}")
    try:
        text = _encoder.encode(value if isinstance(value, dict) else dict(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise Invalid(f"{what} is not JSON-serialisable: {exc}") from exc
    if len(text) > codec.MAX_DOCUMENT:
        raise Invalid(f"{what} is {len(text)} characters of JSON; at most {codec.MAX_DOCUMENT}")
    if "\\u0000" in text and _NUL.search(text):
        raise Invalid(f"{what} contains the NUL character, which PostgreSQL cannot store")
    if not text.isascii() and _SURROGATE.search(text):
        raise Invalid(f"{what} contains a lone surrogate, which is not valid UTF-8")
    return text


def oracle_decode(text: str) -> dict[str, Any]:
    value = _decode(text)
    if not isinstance(value, dict):
        raise Invalid(f"stored document is not a JSON object: {text[:80]}")
    return value


# --- odd values ----------------------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = 1
    NAME = "n"


class Level(enum.IntEnum):
    LOW = 1


class Mode(enum.StrEnum):
    FAST = "fast"


class FloatTag(float, enum.Enum):
    HALF = 0.5


class Str(str):
    pass


class Int(int):
    pass


class Float(float):
    pass


class Dict(dict[str, Any]):
    pass


class List(list[Any]):
    pass


class Pair(NamedTuple):
    a: int
    b: int


@dataclasses.dataclass
class Point:
    x: int = 1


ODD = [
    Colour.RED,
    Colour.NAME,
    Level.LOW,
    Mode.FAST,
    FloatTag.HALF,
    uuid.UUID(int=7),
    datetime.datetime(2024, 1, 2, 3, 4, 5),
    datetime.date(2024, 1, 2),
    datetime.time(1, 2),
    Point(),
    {1, 2},
    frozenset(),
    b"bytes",
    bytearray(b"x"),
    object(),
    decimal.Decimal("1.5"),
    1j,
    Str("sub"),
    Int(5),
    Float(1.5),
    Float("nan"),
    Dict(a=1),
    List([1]),
    Pair(1, 2),
    collections.OrderedDict(a=1),
    types.MappingProxyType({"a": 1}),
    orjson.Fragment(b"[1]"),
    math.nan,
    -math.inf,
    range(2),
]

BIG = [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, -(2**64), 10**30, -(10**400)]
FLOATS = [
    0.0,
    -0.0,
    1.0,
    0.1,
    1e16,
    1e15,
    1e-5,
    2.5e-7,
    1e-9,
    9.99e-10,
    1e-4,
    1e-3,
    1e308,
    1.7976931348623157e308,
]
FLOATS += [5e-324, 1e22, 123456789012345680.0, math.inf, -math.inf, math.nan]
TRICKY = [
    "\x00",
    "a\\u0000",
    "\\\\u0000",
    "\ud800",
    "\udfff",
    "\\",
    '"',
    "\u2028",
    "é✓",
    "\x7f",
    "\x1f",
    "\x85",
]

characters = st.characters(exclude_categories=())  # includes lone surrogates and NUL
strings = st.text(characters, max_size=12) | st.sampled_from(TRICKY)
floats = st.floats() | st.sampled_from(FLOATS) | st.floats(min_value=1e-10, max_value=1e-3)
integers = st.integers() | st.sampled_from(BIG) | st.integers(min_value=-(2**70), max_value=2**70)
leaves = st.none() | st.booleans() | integers | floats | strings
keys = strings | st.sampled_from(
    [1, -(2**70), 1.5, math.nan, -0.0, True, None, (1, 2), Str("k"), Mode.FAST, Level.LOW]
)
odd = st.sampled_from(ODD)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=5)
        | st.dictionaries(strings, children, max_size=5)
        | st.dictionaries(keys, children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
    )


def nest(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


plain = st.recursive(leaves, containers, max_leaves=20)
values = st.recursive(leaves | odd, containers, max_leaves=20)
documents = st.dictionaries(strings, plain | values, max_size=6)
depths = st.just(0) | st.integers(0, 1200)  # applied in the test: Hypothesis cannot print deep values
tops = documents | st.dictionaries(keys, values, max_size=4) | values | odd


EXAMPLES = settings().max_examples * 10  # ten times the profile's: each example is cheap


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except Invalid as exc:
        return "invalid", str(exc)
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        return type(exc).__name__, str(exc)


def assert_same_value(got: Any, want: Any) -> None:
    """Equal with types, float signs, NaNs and key order: repr tells 1 from 1.0 and -0.0 from 0.0."""
    assert repr(got) == repr(want)


# --- encode ----------------------------------------------------------------------------------------


@settings(max_examples=EXAMPLES)
@given(tops, depths)
@example({"a": math.nan}, 0)
@example({"a": [1.0, {"b": math.inf}]}, 0)
@example({"a": 1e-5}, 0)
@example({"a": Colour.RED}, 0)
@example({"a": uuid.UUID(int=1)}, 0)
@example(1, 300)
@example(1, 5000)
@example(Colour.RED, 300)
@example({1: "a", "1": "b", None: 1, 1.5: 2}, 0)
@example({"a": 2**64}, 0)
def test_encode_agrees_with_the_stdlib_codec(value: Any, depth: int) -> None:
    if depth:
        value = {"deep": nest(value, depth)}
    got, want = outcome(codec.encode, "spec", value), outcome(oracle_encode, "spec", value)
    assert got == want  # same acceptance, same message, byte-identical text
    if got[0] == "ok":
        assert_same_value(codec.decode(got[1]), oracle_decode(want[1]))


@pytest.mark.parametrize("value", ODD + BIG + FLOATS + TRICKY, ids=repr)
def test_every_odd_value_is_accepted_or_refused_as_before(value: Any) -> None:
    for document in ({"v": value}, {"v": [value, {"w": value}]}):
        got = outcome(codec.encode, "status", document)
        assert got == outcome(oracle_encode, "status", document)
        if got[0] == "ok":
            assert_same_value(codec.decode(got[1]), oracle_decode(got[1]))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": math.nan}, "Out of range float values are not JSON compliant"),
        ({"a": [math.inf]}, "Out of range float values are not JSON compliant"),
        ({"a": Colour.RED}, "Object of type Colour is not JSON serializable"),
        ({"a": uuid.UUID(int=1)}, "Object of type UUID is not JSON serializable"),
        ({"a": datetime.date(2024, 1, 1)}, "Object of type date is not JSON serializable"),
        ({"a": Point()}, "Object of type Point is not JSON serializable"),
        ({"a": {1}}, "Object of type set is not JSON serializable"),
        ({"a": b"x"}, "Object of type bytes is not JSON serializable"),
        ({"a": orjson.Fragment(b"1")}, "Object of type Fragment is not JSON serializable"),
        ({(1,): 1}, "keys must be str, int, float, bool or None, not tuple"),
        ({"a": "\x00"}, "contains the NUL character"),
        ({"a": "\ud800"}, "contains a lone surrogate"),
        ({"a": nest(1, 5000)}, "maximum recursion depth exceeded"),
        ({"a": "x" * codec.MAX_DOCUMENT}, f"characters of JSON; at most {codec.MAX_DOCUMENT}"),
    ],
)
def test_what_the_stdlib_refused_is_still_invalid(value: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid, match=re.escape(message)):
        codec.encode("spec", value)


def test_a_cycle_is_invalid() -> None:
    value: dict[str, Any] = {}
    value["self"] = [value]
    with pytest.raises(Invalid, match="Circular reference detected"):
        codec.encode("spec", value)


def test_what_the_stdlib_accepted_orjson_alone_would_not_still_encodes() -> None:
    cases: dict[str, Any] = {
        '{"a":18446744073709551616}': {"a": 2**64},
        '{"1":1,"1.5":2,"false":3,"null":4}': {1: 1, 1.5: 2, False: 3, None: 4},
        '{"a":"s","i":5,"f":1.5}': {"a": Str("s"), "i": Int(5), "f": Float(1.5)},
        '{"a":[1,2]}': {"a": Pair(1, 2)},
        '{"a":1e-05,"b":2.5e-07}': {"a": 1e-5, "b": 2.5e-7},
        '{"a":' + '[{"k":' * 150 + "{}" + "}]" * 150 + "}": {"a": nest({}, 300)},
    }
    for text, value in cases.items():
        assert codec.encode("spec", value) == text


def test_just_under_the_size_limit_encodes() -> None:
    value = {"a": "x" * (codec.MAX_DOCUMENT - len('{"a":""}'))}
    assert len(codec.encode("spec", value)) == codec.MAX_DOCUMENT
    with pytest.raises(Invalid, match="at most"):
        codec.encode("spec", {"a": value["a"] + "é"})  # counted in characters, as before


# --- decode ----------------------------------------------------------------------------------------

NUMBER = r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?"
numbers = st.from_regex(NUMBER, fullmatch=True) | st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "01", "1."]
)
number_texts = st.lists(numbers, min_size=1, max_size=4).map(lambda ns: '{"n":[' + ",".join(ns) + "]}")
token_texts = st.lists(
    st.sampled_from(
        [
            *'{}[]:,"0123456789-.eE \t\n',
            "\\u",
            "\\ud800",
            "\\u0000",
            "null",
            "true",
            "NaN",
            "é",
            "\ud800",
            "\x00",
        ]
    ),
    max_size=30,
).map("".join)
stored_texts = documents.map(lambda doc: outcome(oracle_encode, "spec", doc)).filter(lambda o: o[0] == "ok")


@settings(max_examples=EXAMPLES)
@given(stored_texts.map(lambda o: o[1]) | number_texts | token_texts.map(lambda t: "{" + t) | token_texts)
@example('{"a":18446744073709551616,"b":-9223372036854775809,"c":123456789012345678901234567890}')
@example('{"a":1e400,"b":NaN,"c":-Infinity}')
@example('{"a":"\\ud800","\\udc00":1}')
@example('{"a":1,"b":2,"a":3}')
@example('{"n":0.1000000000000000055511151231257827021181583404541015625}')
@example('{"a":"\ud800"}')
@example("[1]")
@example('{"a":1}x')
def test_decode_agrees_with_the_stdlib_codec(text: str) -> None:
    got, want = outcome(codec.decode, text), outcome(oracle_decode, text)
    assert got[0] == want[0]
    if got[0] == "ok":
        assert_same_value(got[1], want[1])
    else:
        assert got == want


@pytest.mark.parametrize(
    "number",
    [
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "9" * 400,
    ],
)
def test_decode_keeps_big_integers_exact(number: str) -> None:
    value = codec.decode('{"a":' + number + "}")["a"]
    assert type(value) is int
    assert value == int(number)


def test_decode_reads_nesting_the_stdlib_might_not() -> None:
    # The documented difference: orjson reads up to 1024 levels; the stdlib's limit is the recursion limit.
    text = '{"a":' + "[" * 1000 + "]" * 1000 + "}"
    value: Any = codec.decode(text)["a"]
    for _ in range(999):
        (value,) = value
    assert value == []


def test_decode_returns_fresh_containers() -> None:
    text = codec.encode("spec", {"a": [{"b": [1]}], "c": {}})
    first, second = codec.decode(text), codec.decode(text)
    assert first == second
    assert first is not second
    assert first["a"] is not second["a"]
    assert first["a"][0]["b"] is not second["a"][0]["b"]
    assert first["c"] is not second["c"]


# --- the fast path is taken for ordinary documents --------------------------------------------------


def dataplane() -> dict[str, Any]:
    from bench.common import dataplane_spec

    return dataplane_spec(7)


def test_an_ordinary_spec_never_reaches_the_stdlib(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataplane()
    spec["extra"] = {"none": None, "floats": [0.5, -0.0, 1e300], "unicode": "é✓\u2028", "tuple": (1, "x")}
    want = oracle_encode("spec", spec)

    def stdlib(*args: object) -> Any:
        raise AssertionError("fell back to the standard library")

    monkeypatch.setattr(codec._encoder, "encode", stdlib)
    monkeypatch.setattr(codec, "_decode", stdlib)
    text = codec.encode("spec", spec)
    assert text == want
    assert_same_value(codec.decode(text), oracle_decode(want))
