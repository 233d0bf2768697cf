"""The lexer of Go's ``text/template`` (``text/template/parse/lex.go``), for `kuma_cp.specs._goparse`.

Kuma parses some of its specs' fields as Go templates (HostnameGenerator's ``template``, MeshIdentity's
SPIFFE ID parts) and reports Go's parse errors verbatim, so the tokens, their lines and the lexer's
error messages are Go's: default delimiters, trim markers (``{{- `` and `` -}}``), comments, and the
``break``/``continue`` keywords (no function of those names is ever defined by Kuma).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kuma_cp.specs._gotree import KEYWORDS, Item, Kind, go_quote, go_rune

__all__ = ["lex"]

_EOF = ""  # what next() answers at the end of the input
_SPACES = " \t\r\n"
_LEFT, _RIGHT = "{{", "}}"


def _space(char: str) -> bool:
    return char != _EOF and char in _SPACES


def _alnum(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdecimal()


def _left_trim(text: str) -> bool:
    return len(text) >= 2 and text[0] == "-" and _space(text[1])


def _right_trim(text: str) -> bool:
    return len(text) >= 2 and _space(text[0]) and text[1] == "-"


State = Callable[[], "State | None"]


class _Lexer:
    def __init__(self, text: str) -> None:
        self.input, self.pos, self.start = text, 0, 0
        self.at_eof, self.paren_depth, self.line, self.start_line = False, 0, 1, 1
        self.inside = False
        self.item = Item(Kind.EOF, 0, "EOF", 1)

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return _EOF
        char = self.input[self.pos]
        self.pos += 1
        self.line += int(char == "\n")
        return char

    def peek(self) -> str:
        char = self.next()
        self.backup()
        return char

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            self.line -= int(self.input[self.pos] == "\n")

    def this_item(self, kind: Kind) -> Item:
        item = Item(kind, self.start, self.input[self.start : self.pos], self.start_line)
        self.start, self.start_line = self.pos, self.line
        return item

    def emit(self, kind: Kind) -> State | None:
        self.item = self.this_item(kind)
        return None

    def emit_item(self, item: Item) -> State | None:
        self.item = item
        return None

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start, self.start_line = self.pos, self.line

    def accept(self, valid: str) -> bool:
        char = self.next()
        if char != _EOF and char in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while self.accept(valid):
            pass

    def errorf(self, message: str) -> State | None:
        self.item = Item(Kind.ERROR, self.start, message, self.start_line)
        self.start, self.pos, self.input = 0, 0, ""
        return None

    def next_item(self) -> Item:
        self.item = Item(Kind.EOF, self.pos, "EOF", self.start_line)
        state: State | None = self.lex_inside_action if self.inside else self.lex_text
        while state is not None:
            state = state()
        return self.item

    def at_right_delim(self) -> tuple[bool, bool]:
        if _right_trim(self.input[self.pos :]) and self.input.startswith(_RIGHT, self.pos + 2):
            return True, True
        return self.input.startswith(_RIGHT, self.pos), False

    def lex_text(self) -> State | None:
        found = self.input.find(_LEFT, self.pos)
        if found >= 0:
            if found > self.pos:
                self.pos = found
                trim = 0
                if _left_trim(self.input[self.pos + len(_LEFT) :]):
                    text = self.input[self.start : self.pos]
                    trim = len(text) - len(text.rstrip(_SPACES))
                self.pos -= trim
                self.line += self.input.count("\n", self.start, self.pos)
                item = self.this_item(Kind.TEXT)
                self.pos += trim
                self.ignore()
                if item.val:
                    return self.emit_item(item)
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.line += self.input.count("\n", self.start, self.pos)
            return self.emit(Kind.TEXT)
        return self.emit(Kind.EOF)

    def lex_left_delim(self) -> State | None:
        self.pos += len(_LEFT)
        after = 2 if _left_trim(self.input[self.pos :]) else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        item = self.this_item(Kind.LEFT_DELIM)
        self.inside = True
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.emit_item(item)

    def _skip_trimmed(self) -> None:
        rest = self.input[self.pos :]
        self.pos += len(rest) - len(rest.lstrip(_SPACES))

    def lex_comment(self) -> State | None:
        self.pos += 2
        found = self.input.find("*/", self.pos)
        if found < 0:
            return self.errorf("unclosed comment")
        self.pos = found + 2
        delim, trim = self.at_right_delim()
        if not delim:
            return self.errorf("comment ends before closing delimiter")
        self.line += self.input.count("\n", self.start, self.pos)
        self.this_item(Kind.COMMENT)
        self.pos += (2 if trim else 0) + len(_RIGHT)
        if trim:
            self._skip_trimmed()
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> State | None:
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(_RIGHT)
        item = self.this_item(Kind.RIGHT_DELIM)
        if trim:
            self._skip_trimmed()
            self.ignore()
        self.inside = False
        return self.emit_item(item)

    def lex_inside_action(self) -> State | None:
        if self.at_right_delim()[0]:
            return self.lex_right_delim if self.paren_depth == 0 else self.errorf("unclosed left paren")
        char = self.next()
        simple = {"=": Kind.ASSIGN, "|": Kind.PIPE}
        if char == _EOF:
            return self.errorf("unclosed action")
        if _space(char):
            self.backup()
            return self.lex_space
        if char in simple:
            return self.emit(simple[char])
        if char == ":":
            return self.errorf("expected :=") if self.next() != "=" else self.emit(Kind.DECLARE)
        states = {'"': self.lex_quote, "`": self.lex_raw_quote, "$": self.lex_variable, "'": self.lex_char}
        if char in states:
            return states[char]
        if char == "." and self.pos < len(self.input) and not "0" <= self.input[self.pos] <= "9":
            return self.lex_field
        if char in "+-." or "0" <= char <= "9":
            self.backup()
            return self.lex_number
        if _alnum(char):
            self.backup()
            return self.lex_identifier
        if char == "(":
            self.paren_depth += 1
            return self.emit(Kind.LEFT_PAREN)
        if char == ")":
            self.paren_depth -= 1
            return (
                self.errorf("unexpected right paren") if self.paren_depth < 0 else self.emit(Kind.RIGHT_PAREN)
            )
        if ord(char) < 0x80 and char.isprintable():
            return self.emit(Kind.CHAR)
        return self.errorf(f"unrecognized character in action: {go_rune(char)}")

    def lex_space(self) -> State | None:
        spaces = 0
        while _space(self.peek()):
            self.next()
            spaces += 1
        if _right_trim(self.input[self.pos - 1 :]) and self.input.startswith(_RIGHT, self.pos + 1):
            self.backup()
            if spaces == 1:
                return self.lex_right_delim
        return self.emit(Kind.SPACE)

    def at_terminator(self) -> bool:
        char = self.peek()
        return (
            _space(char)
            or char in (_EOF, ".", ",", "|", ":", ")", "(")
            or self.input.startswith(_RIGHT, self.pos)
        )

    def lex_identifier(self) -> State | None:
        while True:
            char = self.next()
            if _alnum(char):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                return self.errorf(f"bad character {go_rune(char)}")
            if word in KEYWORDS:
                return self.emit(KEYWORDS[word])
            return self.emit(Kind.BOOL if word in ("true", "false") else Kind.IDENTIFIER)

    def lex_field(self) -> State | None:
        return self.lex_field_or_variable(Kind.FIELD)

    def lex_variable(self) -> State | None:
        return self.emit(Kind.VARIABLE) if self.at_terminator() else self.lex_field_or_variable(Kind.VARIABLE)

    def lex_field_or_variable(self, kind: Kind) -> State | None:
        if self.at_terminator():
            return self.emit(Kind.VARIABLE if kind is Kind.VARIABLE else Kind.DOT)
        while True:
            char = self.next()
            if not _alnum(char):
                self.backup()
                break
        if not self.at_terminator():
            return self.errorf(f"bad character {go_rune(char)}")
        return self.emit(kind)

    def _quoted(self, quote: str, what: str, kind: Kind) -> State | None:
        while True:
            char = self.next()
            if char == "\\" and quote != "`":
                char = self.next()
                if char not in (_EOF, "\n"):
                    continue
            if char == _EOF or (char == "\n" and quote != "`"):
                return self.errorf(f"unterminated {what}")
            if char == quote:
                return self.emit(kind)

    def lex_char(self) -> State | None:
        return self._quoted("'", "character constant", Kind.CHAR_CONSTANT)

    def lex_quote(self) -> State | None:
        return self._quoted('"', "quoted string", Kind.STRING)

    def lex_raw_quote(self) -> State | None:
        return self._quoted("`", "raw quoted string", Kind.RAW_STRING)

    def lex_number(self) -> State | None:
        if not self.scan_number():
            return self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
        if self.peek() in ("+", "-"):
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                return self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
            return self.emit(Kind.COMPLEX)
        return self.emit(Kind.NUMBER)

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            for prefix, allowed in (("xX", "0123456789abcdefABCDEF_"), ("oO", "01234567_"), ("bB", "01_")):
                if self.accept(prefix):
                    digits = allowed
                    break
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if _alnum(self.peek()):
            self.next()
            return False
        return True


def lex(text: str) -> Iterator[Item]:
    """The items of *text*, as the parser pulls them: after an error or the end, EOF for ever."""
    lexer = _Lexer(text)
    while True:
        yield lexer.next_item()
