"""Workload (``pkg/core/resources/apis/workload``): data plane proxies grouped by the workload they run.

Its spec is empty (Kuma generates Workloads and fills their status); the validator bounds the name.
"""

from __future__ import annotations

from kuma_cp.specs.base import Spec
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import Errors, Path, max_length

__all__ = ["DEFINITION", "WorkloadSpec", "WorkloadStatus"]

_DISPLAY_NAME = "kuma.io/display-name"


class WorkloadSpec(Spec):
    """The spec of a Workload: nothing (Go's ``struct{}``)."""


class _DataplaneProxies(Spec):
    connected: int
    healthy: int
    total: int


class WorkloadStatus(Spec):
    """How many of the workload's proxies are connected and healthy."""

    dataplane_proxies: _DataplaneProxies | None = None


def validate(spec: WorkloadSpec, meta: Meta) -> Errors:
    """Kuma's ``WorkloadResource.validate``: a display name of at most 253 bytes."""
    return max_length(Path.rooted_at("name"), 253, meta.labels.get(_DISPLAY_NAME) or meta.name)


DEFINITION: Definition[WorkloadSpec] = Definition(
    name="Workload", spec=WorkloadSpec, status=WorkloadStatus, validator=validate
)
