"""Fast JSON paths give the reference's results: go_json its bytes, gojson.loads its values and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kuma_cp import gojson
from kuma_cp.api.encoding import go_json, reference_json

_TEXT = st.text(st.characters(blacklist_categories=["Cs"]))  # Python's str.encode refuses lone surrogates
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses them
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-11, max_value=1e-3)  # where orjson and Python write floats differently
    | _TEXT
    | st.sampled_from(["<a href='x'>&amp;</a>", "\u2028\u2029", "\x00\x1f\x7f", "e-1", "0.0000", "  two  "])
)
JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner) | st.dictionaries(_TEXT, inner), max_leaves=40)


@given(JSON)
@example({"a": [1e-05, {"b": 5e-07}], "c": "x"})
@example([[], {}, [[{}]], {"k": []}])
def test_go_json_is_the_reference(value: Any) -> None:
    assert go_json(value) == reference_json(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, {"b": "<&>"}]}, b'{\n "a": [\n  1,\n  {\n   "b": "\\u003c\\u0026\\u003e"\n  }\n ]\n}'),
        ({"é": "\u2028"}, '{\n "é": "\\u2028"\n}'.encode()),
        ({1: 2}, b'{\n "1": 2\n}'),  # a key orjson refuses: the reference writes it
    ],
)
def test_go_json_writes_gos_indented_form(value: Any, expected: bytes) -> None:
    assert go_json(value) == expected


@given(JSON)
@example([18446744073709551616, -9223372036854775809, 1e-7])
def test_gojson_loads_decodes_as_pythons_parser(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False).encode()
    assert repr(gojson.loads(text)) == repr(json.loads(text))  # repr: 1 and 1.0 differ, as in Go


@pytest.mark.parametrize("text", [b"NaN", b"[1e400]", b'"\\ud800"', b"[1,]", b'{"a": 1, "a": 2}'])
def test_gojson_loads_refuses_and_accepts_as_before(text: bytes) -> None:
    def outcome(decode: Any) -> Any:
        try:
            return repr(decode(text))
        except ValueError as exc:
            return type(exc)

    assert outcome(gojson.loads) == outcome(
        lambda t: json.loads(t.decode(), parse_constant=gojson._refuse_constant)
    )
