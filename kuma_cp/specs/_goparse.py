"""The parser of Go's ``text/template`` (``text/template/parse/parse.go``): Go's parse tree and errors.

`parse` answers the tree of a template (and the templates it ``define``s) or raises `TemplateError`
with Go's message (``template: :1: function "invalid" not defined``), as ``template.New("").Funcs(...)
.Parse(text)`` does with the functions *funcs* plus ``text/template``'s builtins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NoReturn

from kuma_cp.specs._golex import lex
from kuma_cp.specs._gotree import (
    BUILTINS,
    OPERAND_START,
    Item,
    Kind,
    Node,
    Parsed,
    TemplateError,
    go_quote,
    is_empty,
    item_text,
    number,
    unquote,
)

__all__ = ["Node", "Parsed", "TemplateError", "parse"]

_LITERALS = ("bool", "dot", "nil", "number", "string")  # what cannot start a later pipeline stage
_MAX_DEPTH = 10000


class _Tree:
    def __init__(self, items: Iterator[Item], funcs: frozenset[str], trees: dict[str, Node]) -> None:
        self.items, self.funcs, self.trees = items, funcs, trees
        self.token = [Item(Kind.EOF, 0, "EOF", 1)] * 3
        self.peek_count, self.action_line, self.range_depth, self.depth = 0, 0, 0, 0
        self.vars = ["$"]

    def next(self) -> Item:
        if self.peek_count > 0:
            self.peek_count -= 1
        else:
            self.token[0] = next(self.items)
        return self.token[self.peek_count]

    def backup(self, *pushed: Item) -> None:
        # Go's backup (no argument), backup2(t1) and backup3(t2, t1)
        for index, item in enumerate(reversed(pushed), start=1):
            self.token[index] = item
        self.peek_count = len(pushed) + 1 if pushed else self.peek_count + 1

    def peek(self) -> Item:
        if self.peek_count > 0:
            return self.token[self.peek_count - 1]
        self.peek_count, self.token[0] = 1, next(self.items)
        return self.token[0]

    def next_non_space(self) -> Item:
        token = self.next()
        while token.kind is Kind.SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> Item:
        token = self.next_non_space()
        self.backup()
        return token

    def errorf(self, message: str) -> NoReturn:
        raise TemplateError(f"template: :{self.token[0].line}: {message}")

    def expect(self, *kinds: Kind, context: str) -> Item:
        token = self.next_non_space()
        if token.kind not in kinds:
            self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> NoReturn:
        if token.kind is Kind.ERROR:
            extra = ""
            if self.action_line not in (0, token.line):
                extra = f" in action started at :{self.action_line}"
                extra = extra[len(" in action") :] if token.val.endswith(" action") else extra
            self.errorf(f"{token.val}{extra}")
        self.errorf(f"unexpected {item_text(token)} in {context}")

    def add(self, name: str, root: Node) -> None:
        old = self.trees.get(name)
        if old is None or is_empty(old):
            self.trees[name] = root
        elif not is_empty(root):
            self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def parse(self) -> Node:
        root = Node("list", self.peek().pos)
        while self.peek().kind is not Kind.EOF:
            if self.peek().kind is Kind.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().kind is Kind.DEFINE:
                    _Tree(self.items, self.funcs, self.trees).definition()
                    continue
                self.backup(delim)
            node = self.text_or_action()
            if node.type in ("end", "else"):
                self.errorf(f"unexpected {node}")
            root.args.append(node)
        return root

    def definition(self) -> None:
        context = "define clause"
        name = self.expect(Kind.STRING, Kind.RAW_STRING, context=context)
        try:
            text = unquote(name.val)
        except ValueError as exc:
            self.errorf(str(exc))
        self.expect(Kind.RIGHT_DELIM, context=context)
        root, end = self.item_list()
        if end.type != "end":
            self.errorf(f"unexpected {end} in {context}")
        self.add(text, root)

    def item_list(self) -> tuple[Node, Node]:
        items = Node("list", self.peek_non_space().pos)
        while self.peek_non_space().kind is not Kind.EOF:
            node = self.text_or_action()
            if node.type in ("end", "else"):
                return items, node
            items.args.append(node)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.kind is Kind.TEXT:
            return Node("text", token.pos, token.line, text=token.val)
        if token.kind is not Kind.LEFT_DELIM:
            self.unexpected(token, "input")
        self.action_line = token.line
        try:
            return self.action()
        finally:
            self.action_line = 0

    def action(self) -> Node:
        token = self.next_non_space()
        kind = token.kind
        if kind in (Kind.BREAK, Kind.CONTINUE):
            self.expect(Kind.RIGHT_DELIM, context="{{" + token.val + "}}")
            if self.range_depth == 0:
                self.errorf("{{" + token.val + "}} outside {{range}}")
            return Node(token.val, token.pos, token.line)
        if kind in (Kind.IF, Kind.RANGE, Kind.WITH):
            return self.control(token.val)
        if kind is Kind.END:
            return Node("end", self.expect(Kind.RIGHT_DELIM, context="end").pos)
        if kind is Kind.ELSE:
            peek = self.peek_non_space()
            if peek.kind in (Kind.IF, Kind.WITH):
                return Node("else", peek.pos, peek.line)
            token = self.expect(Kind.RIGHT_DELIM, context="else")
            return Node("else", token.pos, token.line)
        if kind in (Kind.BLOCK, Kind.TEMPLATE):
            return self.template(kind)
        self.backup()
        token = self.peek()
        return Node("action", token.pos, token.line, pipe=self.pipeline("command", Kind.RIGHT_DELIM))

    def template(self, kind: Kind) -> Node:
        context = "block clause" if kind is Kind.BLOCK else "template clause"
        token = self.next_non_space()
        if token.kind not in (Kind.STRING, Kind.RAW_STRING):
            self.unexpected(token, context)
        try:
            name = unquote(token.val)
        except ValueError as exc:
            self.errorf(str(exc))
        pipe = None
        if kind is Kind.BLOCK:
            pipe = self.pipeline(context, Kind.RIGHT_DELIM)
            block = _Tree(self.items, self.funcs, self.trees)
            root, end = block.item_list()
            if end.type != "end":
                self.errorf(f"unexpected {end} in {context}")
            block.add(name, root)
        elif self.next_non_space().kind is not Kind.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, Kind.RIGHT_DELIM)
        return Node("template", token.pos, token.line, text=name, pipe=pipe)

    def control(self, context: str) -> Node:
        saved = len(self.vars)
        try:
            pipe = self.pipeline(context, Kind.RIGHT_DELIM)
            self.range_depth += int(context == "range")
            items, following = self.item_list()
            self.range_depth -= int(context == "range")
            else_list = None
            if following.type == "else":
                chained = {"if": Kind.IF, "with": Kind.WITH}.get(context)
                if chained is not None and self.peek().kind is chained:
                    self.next()
                    else_list = Node("list", following.pos, args=[self.control(context)])
                else:
                    else_list, following = self.item_list()
                    if following.type != "end":
                        self.errorf(f"expected end; found {following}")
            return Node(context, pipe.pos, pipe.line, pipe=pipe, list=items, else_list=else_list)
        finally:
            del self.vars[saved:]

    def pipeline(self, context: str, end: Kind) -> Node:
        token = self.peek_non_space()
        pipe = Node("pipe", token.pos, token.line)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.kind is end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.kind not in OPERAND_START:
                self.unexpected(token, context)
            self.backup()
            pipe.args.append(self.command())

    def declarations(self, pipe: Node, context: str) -> None:
        while (variable := self.peek_non_space()).kind is Kind.VARIABLE:
            self.next()
            after = self.peek()
            following = self.peek_non_space()
            if following.kind in (Kind.ASSIGN, Kind.DECLARE):
                self.next_non_space()
                pipe.decl.append(variable.val)
                self.vars.append(variable.val)
            elif following.kind is Kind.CHAR and following.val == ",":
                self.next_non_space()
                pipe.decl.append(variable.val)
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (Kind.VARIABLE, Kind.RIGHT_DELIM, Kind.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif after.kind is Kind.SPACE:
                self.backup(variable, after)
            else:
                self.backup(variable)
            return

    def check_pipeline(self, pipe: Node, context: str) -> None:
        if not pipe.args:
            self.errorf(f"missing value for {context}")
        for stage, command in enumerate(pipe.args[1:], start=2):
            if command.args[0].type in _LITERALS:
                self.errorf(f"non executable command in pipeline stage {stage}")

    def command(self) -> Node:
        command = Node("command", self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                command.args.append(operand)
            token = self.next()
            if token.kind is Kind.SPACE:
                continue
            if token.kind in (Kind.RIGHT_DELIM, Kind.RIGHT_PAREN):
                self.backup()
            elif token.kind is not Kind.PIPE:
                self.unexpected(token, "operand")
            break
        if not command.args:
            self.errorf("empty command")
        return command

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().kind is not Kind.FIELD:
            return node
        chain = Node("chain", self.peek().pos, args=[node])
        while self.peek().kind is Kind.FIELD:
            chain.ident.append(self.next().val[1:])
        if node.type in ("field", "variable"):
            return Node(node.type, chain.pos, ident=[*node.ident, *chain.ident])
        if node.type in _LITERALS:
            self.errorf(f"unexpected . after term {go_quote(str(node))}")
        return chain

    def term(self) -> Node | None:
        token = self.next_non_space()
        kind, pos, text = token.kind, token.pos, token.val
        if kind is Kind.IDENTIFIER:
            if text not in self.funcs:
                self.errorf(f"function {go_quote(text)} not defined")
            return Node("identifier", pos, text=text)
        if kind in (Kind.DOT, Kind.NIL):
            return Node(kind.name.lower(), pos, text="." if kind is Kind.DOT else "nil")
        if kind is Kind.VARIABLE:
            ident = text.split(".")
            if ident[0] not in self.vars:
                self.errorf(f"undefined variable {go_quote(ident[0])}")
            return Node("variable", pos, ident=ident)
        if kind is Kind.FIELD:
            return Node("field", pos, ident=text[1:].split("."))
        if kind is Kind.BOOL:
            return Node("bool", pos, text=text, value=text == "true")
        if kind is Kind.LEFT_PAREN:
            if self.depth >= _MAX_DEPTH:
                self.errorf("max expression depth exceeded")
            self.depth += 1
            try:
                return self.pipeline("parenthesized pipeline", Kind.RIGHT_PAREN)
            finally:
                self.depth -= 1
        if kind in (Kind.CHAR_CONSTANT, Kind.COMPLEX, Kind.NUMBER, Kind.STRING, Kind.RAW_STRING):
            try:
                value = unquote(text) if kind in (Kind.STRING, Kind.RAW_STRING) else number(token)
            except ValueError as exc:
                self.errorf(str(exc))
            return Node("string" if isinstance(value, str) else "number", pos, text=text, value=value)
        self.backup()
        return None


def parse(text: str, funcs: Iterable[str] = ()) -> Parsed:
    """*text* parsed as by ``template.New("").Funcs(funcs).Parse(text)``; `TemplateError` if Go fails."""
    trees: dict[str, Node] = {}
    tree = _Tree(lex(text), BUILTINS | frozenset(funcs), trees)
    root = tree.parse()
    tree.add("", root)
    return Parsed(trees.get("", root), trees)
