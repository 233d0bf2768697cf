"""Kuma's resource model: one definition per stored type, its spec (and status), and its validator.

Each module defines one type (or a family) as pydantic models written from Kuma's Go types and the
OpenAPI schema Kuma ships, plus the type's semantic validator (Kuma's ``validator.go``); `DEFINITIONS`
lists them. Kuma's next type is one module here and one line in `_MODULES`.

`lookup` gives a type's `Definition`; `Definition.check` runs Kuma's write pipeline on a spec (see
`kuma_cp.specs.definition`).
"""

from __future__ import annotations

import importlib
from typing import Any

from kuma_cp.specs.definition import (
    Definition,
    Meta,
    SchemaInvalid,
    SpecError,
    SpecInvalid,
    Undecodable,
    schema_violations,
)

__all__ = [
    "DEFINITIONS",
    "Definition",
    "Meta",
    "SchemaInvalid",
    "SpecError",
    "SpecInvalid",
    "Undecodable",
    "lookup",
    "schema_violations",
]

_MODULES = (
    "meshtimeout",
    "meshloadbalancingstrategy",
    "meshfaultinjection",
    "meshtcproute",
    "meshtrafficpermission",
    "meshretry",
    "meshcircuitbreaker",
    "meshhealthcheck",
    "meshratelimit",
    "meshhttproute",
    "meshaccesslog",
    "meshtrace",
    "meshmetric",
    "meshtls",
    "meshpassthrough",
    "meshproxypatch",
    "mesh",
    "dataplane",
    "zone",
    "secret",
    "config",
    "meshinsight",
    "zoneinsight",
    "dataplaneinsight",
    "serviceinsight",
    "meshservice",
    "meshexternalservice",
    "meshmultizoneservice",
    "hostnamegenerator",
    "meshidentity",
    "meshtrust",
    "meshopentelemetrybackend",
    "meshzoneaddress",
    "workload",
)


def _load() -> dict[str, Definition[Any]]:
    definitions: dict[str, Definition[Any]] = {}
    for name in _MODULES:
        module = importlib.import_module(f"kuma_cp.specs.{name}")
        for definition in getattr(module, "DEFINITIONS", None) or (module.DEFINITION,):
            definitions[definition.name] = definition
    return definitions


DEFINITIONS: dict[str, Definition[Any]] = _load()


def lookup(type_name: str) -> Definition[Any] | None:
    """The definition of *type_name*, or None for a type without one."""
    return DEFINITIONS.get(type_name)
