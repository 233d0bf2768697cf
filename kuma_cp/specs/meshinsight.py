"""MeshInsight (``api/mesh/v1alpha1/mesh_insight.proto``): what the Global control plane counts in a mesh.

Written only by the control plane (read-only over the API): the proxies by state, version, mTLS
backend and kind, and the resources by type. Kuma 3.0 removed ``services`` and
``dataplanesByType.gatewayBuiltin`` (unknown now, so dropped).
"""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._jsonpb import Message, UInt32
from kuma_cp.specs._wellknown import MapOf
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "MeshInsightSpec"]


class DataplaneStat(Message):
    """Proxies by state."""

    total: UInt32 = None
    online: UInt32 = None
    offline: UInt32 = None
    partially_degraded: UInt32 = None


class DpVersions(Message):
    """Proxies by kuma-dp version and by Envoy version."""

    kuma_dp: MapOf[DataplaneStat] = Field(None, alias="kumaDp")
    envoy: MapOf[DataplaneStat] = None


class MTLS(Message):
    """Proxies by the backend that issued their certificate, and by the backends they support."""

    issued_backends: MapOf[DataplaneStat] = Field(None, alias="issuedBackends")
    supported_backends: MapOf[DataplaneStat] = Field(None, alias="supportedBackends")


class DataplanesByType(Message):
    """Proxies by kind: standard, gateways, delegated gateways."""

    standard: DataplaneStat | None = None
    gateway: DataplaneStat | None = None
    gateway_delegated: DataplaneStat | None = Field(None, alias="gatewayDelegated")


class ResourceStat(Message):
    """How many resources of a type."""

    total: UInt32 = None


class MeshInsightSpec(Message):
    """The spec of a MeshInsight."""

    dataplanes: DataplaneStat | None = None
    dp_versions: DpVersions | None = Field(None, alias="dpVersions")
    m_tls: MTLS | None = Field(None, alias="mTLS")
    dataplanes_by_type: DataplanesByType | None = Field(None, alias="dataplanesByType")
    resources: MapOf[ResourceStat] = None


DEFINITION: Definition[MeshInsightSpec] = Definition(name="MeshInsight", spec=MeshInsightSpec, legacy=True)
