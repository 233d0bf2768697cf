"""The corpus of valid and invalid specs per Kuma type (one YAML file per type or family).

Each file names its ``type`` (or holds a list of such documents) and lists:

- ``valid``: ``name``, ``spec`` and optionally ``stored``, the document Kuma would store (defaults
  applied, unknown fields dropped; ``spec`` itself when absent);
- ``invalid``: ``name``, ``spec`` and ``violations``, Kuma's ``invalid_parameters`` as
  ``[field, reason]`` pairs in Kuma's order;
- ``bad_request``: ``name``, ``spec`` and ``reason``, Go's decoding error (Kuma answers 400 ``Bad
  Request``, ``invalid <Type> object: "<reason>"``).

Optional per case: ``labels`` (for validators that read the meta), and, for the rules Kuma checks on the
resource's name at create (Mesh, Zone, destinations: RFC 1035), ``resource_name`` and the answer's
``title`` (``Failed to create a resource``); such cases run over HTTP only, since a definition never
sees the name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from attrs import frozen

__all__ = ["CASES", "Case"]

HERE = Path(__file__).parent


@frozen
class Case:
    """One corpus case."""

    type: str
    kind: str  # valid | invalid | bad_request
    name: str
    spec: dict[str, Any]
    expected: Any  # the stored document, the violations, or the decoding reason
    labels: dict[str, str]
    resource_name: str | None = None
    title: str = "Could not process a resource"

    @property
    def id(self) -> str:
        """The pytest id."""
        return f"{self.type}-{self.kind}-{self.name}"


def _cases(document: dict[str, Any]) -> list[Case]:
    cases = []
    for kind, key in (("valid", "stored"), ("invalid", "violations"), ("bad_request", "reason")):
        for item in document.get(kind) or []:
            expected = item.get(key, item["spec"]) if kind == "valid" else item[key]
            if kind == "invalid":
                expected = [tuple(v) for v in expected]
            labels = item.get("labels") or {}
            named = {k: item[k] for k in ("resource_name", "title") if k in item}
            cases.append(Case(document["type"], kind, item["name"], item["spec"], expected, labels, **named))
    return cases


def load() -> list[Case]:
    """Every case of every file, in file order."""
    cases: list[Case] = []
    for path in sorted(HERE.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            for doc in document if isinstance(document, list) else [document]:
                cases.extend(_cases(doc))
    return cases


CASES = load()
