"""Hypothesis strategies for specs, drawn from each definition's own OpenAPI schema, and mutations.

`specs_of` draws documents the definition's schema describes (Go durations where the schema marks one;
kuma-store's own small schema-to-strategy mapping: what Kuma's schemas use, nothing more),
`typed_paths` lists the places of a document whose JSON type the schema fixes, and `wrong_value` gives
a value of another JSON type for one of them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from hypothesis import strategies as st

from kuma_cp.specs import Definition
from kuma_cp.specs.schema import openapi

__all__ = ["specs_of", "typed_paths", "wrong_value"]

_DURATIONS = st.sampled_from(["0", "1s", "250ms", "5m", "1h", "90s", "1m30s"])
# Another JSON type, wrong for kube-openapi and for jsonpb alike (jsonpb reads "7" as a number and 7 as
# an enum's number, so strings get a bool and numbers a word)
_WRONG = {
    "string": True,
    "integer": "seven",
    "number": "seven",
    "boolean": "yes",
    "array": "x",
    "object": ["x"],
}
# What a client would type; NUL is refused by every backend's key and label rules, tested elsewhere
_TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_KEYS = st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
_SCALARS = st.one_of(st.text(_TEXT, max_size=8), st.integers(-5, 5), st.booleans())


_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "byte": st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
    "date-time": st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat().replace("+00:00", "Z")),
    "uint64": st.integers(0, 2**64 - 1).map(str),
}


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if node.get("format") in _FORMATS:
        return _FORMATS[node["format"]]
    if "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True).filter(lambda text: "\x00" not in text)
    low, high = node.get("minLength", 0), node.get("maxLength", 12)
    return st.text(_TEXT, min_size=low, max_size=max(low, min(high, 12)))


def strategy(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the OpenAPI *node* describes (kuma-store's ``x-kuma-*`` hints honoured)."""
    if node.get("x-kuma-duration"):
        return _DURATIONS
    if node.get("x-kubernetes-int-or-string"):
        return st.one_of(st.integers(0, 100), st.sampled_from(["1", "50", "100", "2.5"]))
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "string":
        return _string(node)
    if kind in ("integer", "number"):
        low, high = node.get("minimum", -10), node.get("maximum", 1000)
        ints = st.integers(int(low), int(high))
        return ints if kind == "integer" else st.one_of(ints, st.floats(low, high, allow_nan=False))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = strategy(node.get("items") or {})
        low = node.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=max(low, min(node.get("maxItems", 3), 3)))
    if kind == "object" or "properties" in node:
        return _object(node)
    return _SCALARS  # free-form (x-kubernetes-preserve-unknown-fields)


def _object(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = node.get("properties")
    if not properties:
        values = node.get("additionalProperties")
        return st.dictionaries(_KEYS, strategy(values) if isinstance(values, dict) else _SCALARS, max_size=3)
    required = set(node.get("required") or ())
    return st.fixed_dictionaries(
        {k: strategy(v) for k, v in properties.items() if k in required},
        optional={k: strategy(v) for k, v in properties.items() if k not in required},
    )


def schema_of(definition: Definition[Any]) -> dict[str, Any]:
    """The definition's schema with kuma-store's hints, as generators want it."""
    return openapi(definition.spec, hints=True)


def specs_of(definition: Definition[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Documents the definition's OpenAPI schema describes."""
    return _object(schema_of(definition))


def typed_paths(
    schema: dict[str, Any], document: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, JSON type) of every place in *document* whose type *schema* fixes."""
    kind = schema.get("type")
    if schema.get("x-kuma-duration"):
        kind = "string"
    if isinstance(kind, str) and path:
        yield path, kind
    if isinstance(document, dict):
        for key, value in document.items():
            sub = (schema.get("properties") or {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                yield from typed_paths(sub, value, (*path, key))
    elif isinstance(document, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(document):
            yield from typed_paths(schema["items"], value, (*path, index))


def wrong_value(kind: str) -> Any:
    """A value whose JSON type is not *kind*."""
    return _WRONG[kind]


def replaced(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of *document* with *value* at *path*."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: replaced(document[head], rest, value)}
    copy = list(document)
    copy[head] = replaced(document[head], rest, value)  # type: ignore[index]
    return copy


def dotted(path: tuple[str | int, ...], root: str = "spec") -> str:
    """kube-openapi's spelling of *path*: ``spec.to[0].default``."""
    out = root
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
