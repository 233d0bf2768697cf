"""What Kuma's routes share (``api/common/v1alpha1``): backend references and header matches.

`BackendRef` is a `TargetRef` (Go embeds it) with a weight (schema default 1) and a port; routes
accept only real destinations as backends (`validate_backend_refs`), and a MeshMultiZoneService
needs a port (`validate_backend_ref`, Kuma's ``validators.ValidateBackendRef``). Go decodes the port
into a ``uint32``: a negative one passes the OpenAPI schema (``format: int32``) and fails at decoding
(`Uint32`). `HeaderMatch` is `_policy_kit`'s, stored as Go stores it: an empty ``value`` is left out
(a Go string marked ``omitempty``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from kuma_cp.specs import _policy_kit
from kuma_cp.specs._policy_kit import Uint32
from kuma_cp.specs.common import TargetRef, validate_target_ref
from kuma_cp.specs.validators import MUST_BE_DEFINED, Errors, Path, in_range

__all__ = [
    "BACKEND_KINDS",
    "BackendRef",
    "HeaderMatch",
    "validate_backend_ref",
    "validate_backend_refs",
]

BACKEND_KINDS = ("MeshService", "MeshExternalService", "MeshMultiZoneService")
_MAX_UINT32 = (1 << 32) - 1


class HeaderMatch(_policy_kit.HeaderMatch):
    """How to match a request header; an empty value is not stored."""

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("value") == "":
            del data["value"]  # a Go string marked omitempty
        return data


class BackendRef(TargetRef):
    """Where a route forwards (or mirrors) traffic."""

    kind: Literal[  # the schema's order, which kube-openapi's enum message keeps
        "Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute", "Dataplane"
    ]
    weight: int = Field(default=1, ge=0, le=_MAX_UINT32)
    port: Uint32 | None = None


def validate_backend_ref(ref: BackendRef) -> Errors:
    """Kuma's ``validators.ValidateBackendRef``."""
    errors = Errors()
    if ref.kind == "MeshMultiZoneService" and ref.port is None:
        errors.at(Path.rooted_at("port"), f"{MUST_BE_DEFINED} with kind MeshMultiZoneService")
    if ref.weight > _MAX_UINT32:
        errors.at(Path.rooted_at("weight"), in_range(0, _MAX_UINT32))
    return errors


def validate_backend_refs(refs: Iterable[BackendRef]) -> Errors:
    """A route's ``backendRefs``: real destinations only, each a valid backend."""
    errors = Errors()
    for index, ref in enumerate(refs):
        at = Path.root().index(index)
        errors.add_at(at, validate_target_ref(ref, BACKEND_KINDS))
        errors.add_at(at, validate_backend_ref(ref))
    return errors
