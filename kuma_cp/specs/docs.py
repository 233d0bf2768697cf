"""The reference of every type's spec, rendered from the definitions (the third thing they make).

    python -m kuma_cp.specs.docs > docs/RESOURCES.md

Each type gets a table of its spec's fields (path, type, required, allowed values, default and limits)
from the same structural schema `kuma-cp install crds` prints; ``tests`` check the committed file is
current, so the docs never drift from what the API accepts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from kuma_cp import resources, specs
from kuma_cp.specs.schema import openapi

__all__ = ["render"]

_LIMITS = (
    ("minimum", "≥ {}"),
    ("maximum", "≤ {}"),
    ("minLength", "length ≥ {}"),
    ("maxLength", "length ≤ {}"),
    ("minItems", "items ≥ {}"),
    ("maxItems", "items ≤ {}"),
    ("pattern", "matches `{}`"),
    ("format", "format {}"),
)


def _kind(node: dict[str, Any]) -> str:
    if node.get("x-kuma-duration"):
        return "duration"
    if node.get("x-kubernetes-int-or-string"):
        return "int or string"
    if node.get("x-kubernetes-preserve-unknown-fields") and "type" not in node:
        return "any"
    kind = str(node.get("type", "object"))
    if kind == "array":
        return f"array of {_kind(node.get('items') or {})}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map of {_kind(node['additionalProperties'])}"
    return kind


def _rows(node: dict[str, Any], path: str, required: bool) -> Iterator[list[str]]:
    notes = [text.format(node[key]) for key, text in _LIMITS if key in node]
    if "enum" in node:
        notes.insert(0, "one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    default = f"`{json.dumps(node['default'])}`" if "default" in node else ""
    if path:
        yield [f"`{path}`", _kind(node), "yes" if required else "", "; ".join(notes), default]
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        node, path = node["items"], f"{path}[]"
    needed = set(node.get("required") or ())
    for name, sub in (node.get("properties") or {}).items():
        yield from _rows(sub, f"{path}.{name}" if path else name, name in needed)


def render() -> str:
    """The whole reference, as Markdown."""
    lines = [
        "# Kuma's resource model: the spec of every stored type",
        "",
        "Rendered by `python -m kuma_cp.specs.docs` from the definitions in `kuma_cp/specs/` (the same",
        "definitions the API validates with and `kuma-cp install crds` derives its schemas from); do not",
        "edit by hand. Durations are Go durations (`1m30s`), stored as Go prints them (`1h0m0s`).",
        "Legacy (protobuf) types also accept each field's proto name (`snake_case`).",
        "",
    ]
    for rtype in resources.REGISTRY:
        definition = specs.lookup(rtype.name)
        if definition is None:
            continue
        kind = "legacy (protobuf)" if definition.legacy else "new-style"
        where = f"`/{rtype.path}`" if rtype.path else "no HTTP route"
        lines += [f"## {rtype.name}", "", f"{kind}, {rtype.scope.value} scope, {where}.", ""]
        rows = list(_rows(openapi(definition.spec, hints=True), "", False))
        if not rows:
            lines += ["No fields.", ""]
            continue
        lines += ["| field | type | required | allowed | default |", "|---|---|---|---|---|"]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
