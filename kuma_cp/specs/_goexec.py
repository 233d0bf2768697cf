"""Running a parsed Go template (``text/template``'s executor) on a struct of strings, as Kuma's checks do.

HostnameGenerator's validator renders its template with stub values (a struct of string fields and a
``label`` function) and checks the result is a DNS name. `render` runs the plain templates hostname
generators are made of (text, fields, variables, string literals, ``label`` calls and pipes into it,
``if``/``with``/``else``) with Go's output and Go's execution errors (``can't evaluate field X in type
...``, ``wrong number of args for label: want 1 got 0``). Anything else (``range``, ``template``, the
builtins, method chains on literals) raises `Unsupported`: its result is not computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from kuma_cp.specs._goparse import Node, Parsed, TemplateError

__all__ = ["Stub", "Unsupported", "render"]

_MISSING = object()  # Go's "missing" final value of a pipeline stage


class Unsupported(Exception):
    """The template uses what this executor does not run."""


class Stub:
    """The data a template runs on: a Go struct of string fields, and its Go type's name."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        self.type_name = "struct { " + "; ".join(f"{name} string" for name in fields) + " }"

    def __str__(self) -> str:
        return "{" + " ".join(self.fields.values()) + "}"  # fmt's %v of the struct


def _type_name(value: Any) -> str:
    if isinstance(value, Stub):
        return value.type_name
    return {str: "string", bool: "bool", int: "int"}.get(type(value), "float64")


class _State:
    def __init__(self, text: str, functions: Mapping[str, Callable[[str], str]]) -> None:
        self.text, self.functions = text, functions
        self.node: Node | None = None
        self.vars: list[tuple[str, Any]] = []

    def errorf(self, message: str) -> NoReturn:
        if self.node is None:
            raise TemplateError(f"template: : {message}")
        prefix = self.text[: self.node.pos]
        line, column = prefix.count("\n") + 1, len(prefix.rsplit("\n", 1)[-1].encode())
        raise TemplateError(f'template: :{line}:{column}: executing "" at <{self.node}>: {message}')

    def walk(self, dot: Any, node: Node, out: list[str]) -> None:
        if node.type == "list":
            for child in node.args:
                self.walk(dot, child, out)
        elif node.type == "text":
            out.append(node.text)
        elif node.type == "action":
            assert node.pipe is not None
            value = self.pipeline(dot, node.pipe)
            if not node.pipe.decl:
                out.append(self.printed(node, value))
        elif node.type in ("if", "with"):
            saved = len(self.vars)
            assert node.pipe is not None
            value = self.pipeline(dot, node.pipe)
            branch = node.list if _truth(value) else node.else_list
            if branch is not None:
                self.walk(value if node.type == "with" and _truth(value) else dot, branch, out)
            del self.vars[saved:]
        else:
            raise Unsupported(node.type)

    def printed(self, node: Node, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, Stub)):
            return str(value)
        raise Unsupported(str(node))

    def pipeline(self, dot: Any, pipe: Node) -> Any:
        value: Any = _MISSING
        for command in pipe.args:
            value = self.command(dot, command, value)
        for name in pipe.decl:
            self.vars.append((name, value))
        return value

    def command(self, dot: Any, command: Node, final: Any) -> Any:
        first = command.args[0]
        if first.type == "field":
            return self.fields(dot, first, first.ident, command.args, final)
        if first.type == "identifier":
            return self.call(dot, first, command.args, final)
        if first.type == "pipe" and len(command.args) == 1 and final is _MISSING:
            return self.pipeline(dot, first)
        if first.type not in ("variable", "string", "bool", "number", "dot", "nil"):
            raise Unsupported(str(command))
        self.node = first
        if first.type == "variable" and first.ident[1:]:
            value = next(v for name, v in reversed(self.vars) if name == first.ident[0])
            return self.fields(value, first, first.ident[1:], command.args, final)
        if len(command.args) > 1 or final is not _MISSING:
            self.errorf(f"can't give argument to non-function {first}")
        if first.type == "nil":
            self.errorf("nil is not a command")
        if first.type == "variable":
            return next(v for name, v in reversed(self.vars) if name == first.ident[0])
        return dot if first.type == "dot" else first.value

    def fields(self, receiver: Any, node: Node, names: list[str], args: list[Node], final: Any) -> Any:
        self.node = node
        for index, name in enumerate(names):
            last = index == len(names) - 1
            if isinstance(receiver, Stub) and name in receiver.fields:
                if last and (len(args) > 1 or final is not _MISSING):
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                receiver = receiver.fields[name]
            else:
                self.errorf(f"can't evaluate field {name} in type {_type_name(receiver)}")
        return receiver

    def call(self, dot: Any, node: Node, args: list[Node], final: Any) -> Any:
        function = self.functions.get(node.text)
        if function is None:
            raise Unsupported(node.text)
        self.node = node
        given = args[1:]
        count = len(given) + (final is not _MISSING)
        if count != 1:
            self.errorf(f"wrong number of args for {node.text}: want 1 got {count}")
        argument = self.string_arg(dot, given[0]) if given else final
        if not isinstance(argument, str):
            self.errorf(f"wrong type for value; expected string; got {_type_name(argument)}")
        return function(argument)

    def string_arg(self, dot: Any, arg: Node) -> Any:
        self.node = arg
        if arg.type == "string":
            return arg.value
        if arg.type == "dot":
            return dot
        if arg.type == "field":
            return self.fields(dot, arg, arg.ident, [arg], _MISSING)
        if arg.type == "nil":
            self.errorf("cannot assign nil to string")
        if arg.type in ("number", "bool"):
            self.errorf(f"expected string; found {arg}")
        raise Unsupported(str(arg))


def _truth(value: Any) -> bool:
    if isinstance(value, Stub):
        return True
    if isinstance(value, (str, bool, int, float)):
        return bool(value)
    raise Unsupported("truth")


def render(parsed: Parsed, text: str, dot: Stub, functions: Mapping[str, Callable[[str], str]]) -> str:
    """What ``Execute`` writes for *parsed* (from *text*) on *dot*; Go's `TemplateError` if it fails."""
    state = _State(text, functions)
    state.vars.append(("$", dot))
    out: list[str] = []
    state.walk(dot, parsed.root, out)
    return "".join(out)
