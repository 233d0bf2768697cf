r"""Response bodies as go-restful writes them: indented by one space, HTML characters escaped.

Go's ``json.MarshalIndent(v, "", " ")`` with ``SetEscapeHTML``: ``<``, ``>``, ``&``, U+2028 and U+2029
become ``\u003c``-style escapes, other non-ASCII characters are written as they are. The reference
rendering is `json.dumps` with ``indent=1``, whose pure-Python encoder cost a third of a GET's time;
`go_json` gets the same bytes from orjson (in C) indented by two, then halves each line's indent (a JSON
string never holds a raw newline, so every line starts with its indentation only); when no string holds
two spaces in a row, which the compact form shows, every pair of spaces is indentation and one replace
halves them all (a page of 100 Dataplanes: 2.5 ms line by line).

orjson writes a float as Python does except between 1e-10 and 1e-4 in magnitude (``0.00001`` for
``1e-05``, ``5e-7`` for ``5e-07``): output that may hold such a number, and anything orjson refuses
(integers beyond 64 bits, non-string keys), is rendered by the reference instead. NaN and infinities,
which JSON cannot hold and no stored spec has, are the one difference left: orjson writes ``null``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["go_json", "reference_json"]

_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPE_TABLE = str.maketrans(_GO_ESCAPES)
_GO_ESCAPE_BYTES = tuple((c.encode(), e.encode()) for c, e in _GO_ESCAPES.items())
_GO_ESCAPED = re.compile(b"|".join(re.escape(c) for c, _ in _GO_ESCAPE_BYTES))
# orjson's small floats: a one-digit negative exponent ending a value, or four zeros after a point (a
# string holding either only costs the slower rendering).
_SMALL_EXPONENT = re.compile(rb"e-[0-9](?:[,\n\]]|$)")
_SMALL_PLAIN = b"0.0000"


def reference_json(body: Any) -> bytes:
    """*body* as Go would write it, by the standard library (the definition `go_json` matches)."""
    return json.dumps(body, ensure_ascii=False, indent=1).translate(_GO_ESCAPE_TABLE).encode()


def _halve_indent(text: bytes) -> bytes:
    lines = text.split(b"\n")
    return b"\n".join([line[(len(line) - len(line.lstrip(b" "))) // 2 :] for line in lines])


def _halved(text: bytes, body: Any) -> bytes:
    if b"  " in orjson.dumps(body):  # a string holds two spaces: halve indents line by line
        return _halve_indent(text)
    return text.replace(b"  ", b" ")  # every run of two spaces is indentation: all halved in one pass


def go_json(body: Any) -> bytes:
    """*body* as Go would write it: the bytes of `reference_json`, faster."""
    try:
        text = orjson.dumps(body, option=orjson.OPT_INDENT_2)
    except TypeError:  # orjson.JSONEncodeError: a big integer, a non-string key, an unknown type
        return reference_json(body)
    if _SMALL_PLAIN in text or _SMALL_EXPONENT.search(text):
        return reference_json(body)
    text = _halved(text, body)
    if _GO_ESCAPED.search(text) is None:  # one scan; the common case
        return text
    for character, escape in _GO_ESCAPE_BYTES:
        text = text.replace(character, escape)
    return text
