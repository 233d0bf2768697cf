"""The pieces of Go's ``text/template`` its lexer and parser share: item kinds, literals, parse-tree nodes.

- `Kind` and `Item`: the lexer's tokens (``text/template/parse/lex.go``), `item_text` how Go shows one
  in an error, `go_rune` and `go_quote` Go's ``%#U`` and ``%q``.
- `unquote`, `unquote_char` and `number`: ``strconv``'s reading of string, character and number
  literals, with Go's errors (``invalid syntax``, ``illegal number syntax: "1x"``).
- `Node` (one class for Go's node types), `Parsed` and `TemplateError`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kuma_cp.specs.base import _go_quote as go_quote

__all__ = [
    "BUILTINS",
    "KEYWORDS",
    "OPERAND_START",
    "Item",
    "Kind",
    "Node",
    "Parsed",
    "TemplateError",
    "go_quote",
    "go_rune",
    "is_empty",
    "item_text",
    "number",
    "unquote",
    "unquote_char",
]

Kind = enum.IntEnum(
    "Kind",
    "ERROR BOOL CHAR CHAR_CONSTANT COMMENT COMPLEX ASSIGN DECLARE EOF FIELD IDENTIFIER "
    "LEFT_DELIM LEFT_PAREN NUMBER PIPE RAW_STRING RIGHT_DELIM RIGHT_PAREN SPACE STRING TEXT "
    "VARIABLE KEYWORD BLOCK BREAK CONTINUE DOT DEFINE ELSE END IF NIL RANGE TEMPLATE WITH",
)
"""Go's item types, in Go's order: those above ``KEYWORD`` are keywords."""


KEYWORDS = {
    ".": Kind.DOT,
    "block": Kind.BLOCK,
    "break": Kind.BREAK,
    "continue": Kind.CONTINUE,
    "define": Kind.DEFINE,
    "else": Kind.ELSE,
    "end": Kind.END,
    "if": Kind.IF,
    "range": Kind.RANGE,
    "nil": Kind.NIL,
    "template": Kind.TEMPLATE,
    "with": Kind.WITH,
}


class Item(NamedTuple):
    """A token: its kind, position (a character offset), text and line."""

    kind: Kind
    pos: int
    val: str
    line: int


def go_rune(char: str) -> str:
    """Go's ``%#U`` of a character: ``U+005B '['``."""
    code = f"U+{ord(char):04X}"
    return f"{code} '{char}'" if char.isprintable() else code


BUILTINS = frozenset(
    {"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println"}
    | {"urlquery", "eq", "ge", "gt", "le", "lt", "ne"}
)  # text/template's own functions
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_HEX_WIDTH = {"x": 2, "u": 4, "U": 8}


class TemplateError(Exception):
    """Go's error for a template that does not parse (or, from the executor, does not run)."""


@dataclass
class Node:
    """A parse-tree node: *type* is Go's node kind in lower case (``field``, ``pipe``, ``if``...)."""

    type: str
    pos: int
    line: int = 0
    text: str = ""  # text, literal as written, identifier or template name
    ident: list[str] = field(default_factory=list)  # field or variable parts
    value: Any = None  # a literal's value
    args: list[Node] = field(default_factory=list)  # command arguments, pipeline commands, list nodes
    decl: list[str] = field(default_factory=list)  # variables a pipeline declares
    pipe: Node | None = None
    list: Node | None = None
    else_list: Node | None = None

    def __str__(self) -> str:
        kind = self.type
        if kind == "field":
            return "." + ".".join(self.ident)
        if kind in ("variable", "dot", "nil", "bool", "number", "string", "identifier"):
            return ".".join(self.ident) if kind == "variable" else self.text
        if kind == "chain":
            head = str(self.args[0])
            return (f"({head})" if self.args[0].type == "pipe" else head) + "".join(
                "." + f for f in self.ident
            )
        if kind == "command":
            return " ".join(f"({a})" if a.type == "pipe" else str(a) for a in self.args)
        if kind == "pipe":
            decl = ", ".join(self.decl) + (" := " if self.decl else "")
            return decl + " | ".join(str(c) for c in self.args)
        if kind == "action":
            return "{{" + str(self.pipe) + "}}"
        return "{{" + kind + (f" {go_quote(self.text)}" if kind == "template" else "") + "}}"


@dataclass
class Parsed:
    """A parsed template: its root list and the templates it defines, by name."""

    root: Node
    templates: dict[str, Node]


def item_text(token: Item) -> str:
    """Go's ``item.String()``: how an error shows a token."""
    if token.kind is Kind.EOF:
        return "EOF"
    if token.kind is Kind.ERROR:
        return token.val
    if token.kind > Kind.KEYWORD:
        return f"<{token.val}>"
    return go_quote(token.val[:10]) + "..." if len(token.val.encode()) > 10 else go_quote(token.val)


def unquote_char(text: str, quote: str) -> tuple[str, str]:
    """Go's ``strconv.UnquoteChar``: the first character of *text* and the rest; ValueError if bad."""
    char = text[:1]
    if not char or (char == quote and quote in "'\""):
        raise ValueError("invalid syntax")
    if char != "\\":
        return char, text[1:]
    escape, rest = text[1:2], text[2:]
    if escape in _ESCAPES:
        return _ESCAPES[escape], rest
    if escape in "'\"" and escape:
        if escape != quote:
            raise ValueError("invalid syntax")
        return escape, rest
    if escape in _HEX_WIDTH and escape:
        digits, rest = rest[: _HEX_WIDTH[escape]], rest[_HEX_WIDTH[escape] :]
        if len(digits) < _HEX_WIDTH[escape] or not re.fullmatch("[0-9a-fA-F]+", digits):
            raise ValueError("invalid syntax")
        code = int(digits, 16)
        if escape != "x" and (code > 0x10FFFF or 0xD800 <= code < 0xE000):
            raise ValueError("invalid syntax")
        return chr(code), rest
    digits = text[1:4]
    if len(digits) == 3 and re.fullmatch("[0-7]{3}", digits) and int(digits, 8) <= 255:
        return chr(int(digits, 8)), text[4:]
    raise ValueError("invalid syntax")


def unquote(text: str) -> str:
    """Go's ``strconv.Unquote`` of a double-quoted or raw string literal; ValueError if bad."""
    if text[:1] == "`":
        return text[1:-1].replace("\r", "")
    body, out = text[1:-1], []
    while body:
        char, body = unquote_char(body, '"')
        out.append(char)
    return "".join(out)


def number(token: Item) -> Any:
    """Go's ``newNumber``: the value of a number or character token; ValueError with Go's message."""
    text = token.val
    if token.kind is Kind.CHAR_CONSTANT:
        char, tail = unquote_char(text[1:], "'")
        if tail != "'":
            raise ValueError(f"malformed character constant: {text}")
        return ord(char)
    if token.kind is Kind.COMPLEX:
        return complex(text.replace("_", "").replace("i", "j"))
    plain = text[:-1] if text.endswith("i") else text
    if re.fullmatch(r"[+-]?0[0-7_]+", plain):
        plain = plain.replace("0", "0o", 1) if plain[0] == "0" else plain[0] + "0o" + plain[2:]
    try:
        return int(plain, 0)
    except ValueError:
        pass
    try:
        value = float.fromhex(plain) if "x" in plain.lower() else float(plain)
    except ValueError:
        raise ValueError(f"illegal number syntax: {go_quote(text)}") from None
    if not any(c in text for c in ".eEpP"):
        raise ValueError(f"integer overflow: {go_quote(text)}")
    return value


OPERAND_START = (  # the items a command may start with
    *(Kind.BOOL, Kind.CHAR_CONSTANT, Kind.COMPLEX, Kind.DOT, Kind.FIELD, Kind.IDENTIFIER),
    *(Kind.NUMBER, Kind.NIL, Kind.RAW_STRING, Kind.STRING, Kind.VARIABLE, Kind.LEFT_PAREN),
)


def is_empty(node: Node) -> bool:
    """Go's ``IsEmptyTree``: nothing but blank text."""
    if node.type == "list":
        return all(is_empty(child) for child in node.args)
    return node.type == "text" and not node.text.strip()
