"""Go's ``encoding/json`` syntax errors, so that a malformed body is reported in Kuma's words.

Kuma answers an unparsable PUT body with the error Go's decoder gives (``invalid character ','
looking for beginning of object key string``). Python's messages differ, so this module runs Go's
scanner state machine over the raw bytes of a body Python's parser refused: it reports the first
invalid byte exactly as Go does, including Go's ``unexpected end of JSON input`` and its nesting limit.
It also names JSON values as Go's type errors do (``number``, ``bool``...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["MAX_DEPTH", "go_kind", "loads", "quote_char", "syntax_error"]

MAX_DEPTH = 10000  # Go's maxNestingDepth
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_SPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ESCAPES = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): "true", ord("f"): "false", ord("n"): "null"}
_SHORT = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


class _SyntaxError(Exception):
    pass


def quote_char(c: int) -> str:
    """Go's ``quoteChar``: the byte as a rune in single quotes, escaped as ``strconv.Quote`` does."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    if c in _SHORT:
        return f"'{_SHORT[c]}'"
    if c < 0x20 or c == 0x7F:
        return f"'\\x{c:02x}'"
    if 0x80 <= c <= 0xA0 or c == 0xAD:  # not printable for strconv.IsPrint
        return f"'\\u{c:04x}'"
    if c == ord("\\"):
        return "'\\\\'"
    return f"'{chr(c)}'"


def _fail(c: int, context: str) -> _SyntaxError:
    return _SyntaxError(f"invalid character {quote_char(c)} {context}")


class _Scanner:
    """A transliteration of Go's ``encoding/json`` scanner (scanner.go), one byte at a time."""

    def __init__(self) -> None:
        self.step: Callable[[int], None] = self.begin_value
        self.stack: list[str] = []  # "key" | "value" (object) | "array"
        self.end_top = False

    def push(self, kind: str) -> None:
        self.stack.append(kind)
        if len(self.stack) > MAX_DEPTH:
            raise _SyntaxError("exceeded max depth")

    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("]"):
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("{"):
            self.push("key")
            self.step = self.begin_string_or_empty
        elif c == ord("["):
            self.push("array")
            self.step = self.begin_value_or_empty
        elif c == ord('"'):
            self.step = self.in_string
        elif c == ord("-"):
            self.step = self.neg
        elif c == ord("0"):
            self.step = self.zero
        elif c in _DIGITS:
            self.step = self.one
        elif c in _LITERALS:
            self.step = self.literal(_LITERALS[c], 1)
        else:
            raise _fail(c, "looking for beginning of value")

    def begin_string_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == ord("}"):
            self.stack[-1] = "value"
            self.end_value(c)
            return
        self.begin_string(c)

    def begin_string(self, c: int) -> None:
        if c in _SPACE:
            return
        if c != ord('"'):
            raise _fail(c, "looking for beginning of object key string")
        self.step = self.in_string

    def end_value(self, c: int) -> None:
        if not self.stack:
            self.step = self.end_top_step
            self.end_top = True
            self.end_top_step(c)
            return
        if c in _SPACE:
            self.step = self.end_value
            return
        top = self.stack[-1]
        if top == "key":
            if c != ord(":"):
                raise _fail(c, "after object key")
            self.stack[-1] = "value"
            self.step = self.begin_value
        elif top == "value":
            if c == ord(","):
                self.stack[-1] = "key"
                self.step = self.begin_string
            elif c == ord("}"):
                self.stack.pop()
                self.step = self.end_value
            else:
                raise _fail(c, "after object key:value pair")
        elif c == ord(","):
            self.step = self.begin_value
        elif c == ord("]"):
            self.stack.pop()
            self.step = self.end_value
        else:
            raise _fail(c, "after array element")

    def end_top_step(self, c: int) -> None:
        if c not in _SPACE:
            raise _fail(c, "after top-level value")

    def in_string(self, c: int) -> None:
        if c == ord('"'):
            self.step = self.end_value
        elif c == ord("\\"):
            self.step = self.in_escape
        elif c < 0x20:
            raise _fail(c, "in string literal")

    def in_escape(self, c: int) -> None:
        if c in _ESCAPES:
            self.step = self.in_string
        elif c == ord("u"):
            self.step = self.hex_digit(4)
        else:
            raise _fail(c, "in string escape code")

    def hex_digit(self, remaining: int) -> Callable[[int], None]:
        def step(c: int) -> None:
            if c not in _HEX:
                raise _fail(c, "in \\u hexadecimal character escape")
            self.step = self.in_string if remaining == 1 else self.hex_digit(remaining - 1)

        return step

    def neg(self, c: int) -> None:
        if c == ord("0"):
            self.step = self.zero
        elif c in _DIGITS:
            self.step = self.one
        else:
            raise _fail(c, "in numeric literal")

    def one(self, c: int) -> None:
        if c not in _DIGITS:
            self.zero(c)

    def zero(self, c: int) -> None:
        if c == ord("."):
            self.step = self.dot
        elif c in b"eE":
            self.step = self.exp
        else:
            self.end_value(c)

    def dot(self, c: int) -> None:
        if c not in _DIGITS:
            raise _fail(c, "after decimal point in numeric literal")
        self.step = self.dot0

    def dot0(self, c: int) -> None:
        if c in b"eE":
            self.step = self.exp
        elif c not in _DIGITS:
            self.end_value(c)

    def exp(self, c: int) -> None:
        if c in b"+-":
            self.step = self.exp_sign
        else:
            self.exp_sign(c)

    def exp_sign(self, c: int) -> None:
        if c not in _DIGITS:
            raise _fail(c, "in exponent of numeric literal")
        self.step = self.exp0

    def exp0(self, c: int) -> None:
        if c not in _DIGITS:
            self.end_value(c)

    def literal(self, word: str, at: int) -> Callable[[int], None]:
        def step(c: int) -> None:
            if c != ord(word[at]):
                raise _fail(c, f"in literal {word} (expecting {quote_char(ord(word[at]))})")
            self.step = self.end_value if at + 1 == len(word) else self.literal(word, at + 1)

        return step


def syntax_error(data: bytes) -> str | None:
    """Go's ``json.Valid`` error for *data*, or None if Go's decoder would accept its syntax."""
    scanner = _Scanner()
    try:
        for c in data:
            scanner.step(c)
        if not scanner.end_top:
            scanner.step(ord(" "))  # Go's scanner.eof(): a number ends at the end of input
    except _SyntaxError as exc:
        return str(exc)
    return None if scanner.end_top else "unexpected end of JSON input"


def go_kind(value: Any) -> str:
    """How Go's type errors name a decoded JSON value: ``string``, ``number``, ``bool``..."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "object"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes) -> Any:
    """Decode JSON as Go's decoder does: invalid UTF-8 becomes U+FFFD; ``NaN`` and ``Infinity`` are errors.

    Python's parser refuses every input Go's scanner refuses (the same grammar, once those constants
    are refused), so `syntax_error` is only needed to word the error. orjson decodes first (the
    same values, in C); what it refuses (invalid JSON, but also lone surrogates, deep nesting) is
    decoded by Python's parser, which decides, and so is any text with a run of 19 digits (orjson
    makes an integer beyond 64 bits a float).

    Raises:
        ValueError: the input is not JSON.
        RecursionError: it nests deeper than Python's parser goes.
    """
    text = data.decode("utf-8", errors="replace")
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, parse_constant=_refuse_constant)
