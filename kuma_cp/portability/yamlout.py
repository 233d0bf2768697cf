"""YAML as ``kumactl`` writes it (``sigs.k8s.io/yaml`` over go-yaml v2), and YAML read as Go reads it.

`dump` gives the bytes Go gives for a JSON-shaped value: map keys in go-yaml's order (`go_key_order`:
digit runs compared as numbers, non-letters before letters), strings plain unless they would read
back as something else (then double-quoted, ``"0001-01-01T00:00:00Z"``, ``"true"``, ``"1"``), or
single-quoted when plain cannot hold them (``'*'``), multi-line strings as literal blocks, long strings
folded at 80 columns (libyaml's rule, which PyYAML and go-yaml share), sequences not indented under their
key.

`load_all` reads documents as ``sigs.k8s.io/yaml`` does: a timestamp stays the string it is.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

__all__ = ["dump", "go_key_order", "load_all"]

_GO_BOOLS = frozenset({"y", "Y", "n", "N"})  # booleans to go-yaml v2 but strings to PyYAML (YAML 1.1)
# What PyYAML resolves "*", "!", "&" (yaml) and "=" (value) to: plain strings to go-yaml v2.
_GO_STRINGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:yaml", "tag:yaml.org,2002:value"})


def _letter(char: str) -> bool:
    return unicodedata.category(char).startswith("L")


def _digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"  # Go's unicode.IsDigit


def _number(text: str, start: int, value: int) -> tuple[int, int]:
    """*value* followed by the digit run at *start*, as go-yaml v2 counts it, and where the run ends."""
    end = start
    while end < len(text) and _digit(text[end]):
        value = value * 10 + ord(text[end]) - 48  # rune - '0', for every decimal digit, as Go does
        end += 1
    return value, end


def _less(a: str, b: str) -> bool:
    # go-yaml v2's keyList.Less on two strings.
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x == y:
            continue
        if _letter(x) and _letter(y):
            return x < y
        if _letter(x) or _letter(y):
            return _letter(y)
        lead = 0
        if x == "0" or y == "0":  # a zero inside a number (after a non-zero digit) is not a leading one
            j = i - 1
            while j >= 0 and _digit(a[j]):
                if a[j] != "0":
                    lead = 1
                    break
                j -= 1
        an, aend = _number(a, i, lead)
        bn, bend = _number(b, i, lead)
        if an != bn:
            return an < bn
        if aend != bend:
            return aend < bend
        return x < y
    return len(a) < len(b)


def _compare(a: str, b: str) -> int:
    return -1 if _less(a, b) else (1 if _less(b, a) else 0)


go_key_order = functools.cmp_to_key(_compare)
"""A sort key that orders strings as go-yaml v2 orders a map's keys."""


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted((str(k) for k in value), key=go_key_order)}
    if isinstance(value, list | tuple):
        return [_sorted(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper with go-yaml v2's choice of string styles."""


_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
# What go-yaml v2's resolver reads as numbers (strconv.ParseInt(s, 0, 64), then ParseFloat) and timestamps.
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?"
)
# Line breaks other than \n, which YAML folds when read back from a plain or single-quoted scalar.
_BREAKS = ("\x85", "\u2028", "\u2029", "\r")


def _go_reads_as_other(text: str) -> bool:
    """Whether go-yaml v2 would read *text*, written plain, as something else than this string."""
    if text in _GO_BOOLS or _BASE60.fullmatch(text):
        return True
    if not text or text[0] not in "+-.0123456789":
        return False
    plain = text.replace("_", "")
    if _GO_INT.fullmatch(plain) or _GO_TIME.fullmatch(text):
        return True
    try:
        float(plain)
    except ValueError:
        return False
    return plain == plain.strip()


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    if any(b in text for b in _BREAKS):  # only a double-quoted scalar keeps them
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    implicit = dumper.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if implicit not in _GO_STRINGS or _go_reads_as_other(text):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


_Dumper.add_representer(str, _string)


def dump(value: Any) -> str:
    """*value* (JSON-shaped) as ``sigs.k8s.io/yaml.Marshal`` writes it."""
    if isinstance(value, Mapping) and not value:
        return "{}\n"
    return yaml.dump(
        _sorted(value),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=80,  # go-yaml v2.4.0 (sigs.k8s.io/yaml's fork) folds long plain and quoted strings at 80
    )


# libyaml's parser when PyYAML has it (ten times faster than the pure-Python one), else PyYAML's own.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's safe loader that leaves timestamps as strings, as ``sigs.k8s.io/yaml`` does."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> Iterator[Any]:
    """The documents of *text*, in order (an empty document is None)."""
    return yaml.load_all(text, Loader=_Loader)
