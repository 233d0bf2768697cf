"""What Go's ``encoding/json`` says of a document it cannot read: `json_syntax_error`.

A port of the scanner's error messages (``invalid character 'x' looking for beginning of value``,
``unexpected EOF``) for the first value of a text, as ``json.Decoder.Decode`` reads it.
"""

from __future__ import annotations

__all__ = ["json_syntax_error"]

_HEX = "0123456789abcdefABCDEF"
_WS = " \t\r\n"
_DIGITS = "0123456789"


class _Syntax(Exception):
    pass


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _quote_char(char: str) -> str:
    # Go's quoteChar of the offending byte (the first byte of a multi-byte character)
    if char in "'\"":
        return "'\\''" if char == "'" else "'\"'"
    code = char.encode()[0]
    byte = chr(code)
    if byte == "\\":
        body = "\\\\"
    elif byte in _GO_ESCAPES:
        body = _GO_ESCAPES[byte]
    elif byte.isprintable():
        body = byte
    else:
        body = f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"
    return f"'{body}'"


class _Scanner:
    """Go's ``encoding/json`` scanner, for its error messages only."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def _peek(self) -> str:
        if self.pos >= len(self.text):
            raise _Syntax("unexpected EOF")
        return self.text[self.pos]

    def _fail(self, context: str) -> _Syntax:
        return _Syntax(f"invalid character {_quote_char(self.text[self.pos])} {context}")

    def _skip(self) -> str:
        while self._peek() in _WS:
            self.pos += 1
        return self._peek()

    def value(self) -> None:
        char = self._skip()
        if char == "{":
            self._container("}", object_=True)
        elif char == "[":
            self._container("]", object_=False)
        elif char == '"':
            self._string()
        elif char == "-" or char in _DIGITS:
            self._number()
        else:
            for word in ("true", "false", "null"):
                if char == word[0]:
                    for expected in word[1:]:
                        self.pos += 1
                        if self._peek() != expected:
                            raise self._fail(f"in literal {word} (expecting {_quote_char(expected)})")
                    self.pos += 1
                    return
            raise self._fail("looking for beginning of value")

    def _container(self, close: str, *, object_: bool) -> None:
        self.pos += 1
        if self._skip() == close:
            self.pos += 1
            return
        while True:
            if object_:
                if self._skip() != '"':
                    raise self._fail("looking for beginning of object key string")
                self._string()
                if self._skip() != ":":
                    raise self._fail("after object key")
                self.pos += 1
            self.value()
            char = self._skip()
            self.pos += 1
            if char == close:
                return
            if char != ",":
                self.pos -= 1
                raise self._fail("after object key:value pair" if object_ else "after array element")

    def _string(self) -> None:
        self.pos += 1
        while (char := self._peek()) != '"':
            if ord(char) < 0x20:
                raise self._fail("in string literal")
            self.pos += 1
            if char == "\\":
                escape = self._peek()
                if escape == "u":
                    for _ in range(4):
                        self.pos += 1
                        if self._peek() not in _HEX:
                            raise self._fail("in \\u hexadecimal character escape")
                elif escape not in '"\\/bfnrt':
                    raise self._fail("in string escape code")
                self.pos += 1
        self.pos += 1

    def _digits(self, context: str) -> None:
        if self._peek() not in _DIGITS:
            raise self._fail(context)
        while self.pos < len(self.text) and self.text[self.pos] in _DIGITS:
            self.pos += 1

    def _next_is(self, chars: str) -> bool:
        if self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1
            return True
        return False

    def _number(self) -> None:
        self._next_is("-")
        if not self._next_is("0"):
            self._digits("in numeric literal")
        if self._next_is("."):
            self._digits("after decimal point in numeric literal")
        if self._next_is("eE"):
            self._next_is("+-")
            self._digits("in exponent of numeric literal")


def json_syntax_error(text: str) -> str | None:
    """The error Go's ``json.Decoder.Decode`` gives for the first value of *text*, or None if it reads."""
    if not text.strip(_WS):
        return "EOF"
    try:
        _Scanner(text).value()
    except _Syntax as exc:
        return str(exc)
    return None
