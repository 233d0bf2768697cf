"""ServiceInsight (``api/mesh/v1alpha1/service_insight.proto``): per-service statistics, legacy.

Kuma 3.0 no longer computes it (and deletes leftovers on every insight resync), but the type stays
readable: a map of service name to its status, proxy counts, mTLS backends, kind, address and zones.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kuma_cp.specs._jsonpb import REPEATED, Item, Message, ProtoEnum, String, UInt32
from kuma_cp.specs._wellknown import MapOf, UInt32Item
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "ServiceInsightSpec"]

_SERVICE = "kuma.mesh.v1alpha1.ServiceInsight.Service"
_STATUS = ProtoEnum(
    f"{_SERVICE}.Status", ("none", "offline", "partially_degraded", "online", "not_available")
)
_TYPE = ProtoEnum(f"{_SERVICE}.Type", ("internal", "external", "gateway_delegated"))  # 3 is reserved


class DataplaneStat(Message):
    """The service's proxies by state."""

    total: UInt32 = None
    online: UInt32 = None
    offline: UInt32 = None


class Service(Message):
    """One service's statistics."""

    status: Annotated[str | int | None, _STATUS] = None
    dataplanes: DataplaneStat | None = None
    issued_backends: MapOf[UInt32Item] = Field(None, alias="issuedBackends")
    service_type: Annotated[str | int | None, _TYPE] = Field(None, alias="serviceType")
    address_port: String = Field(None, alias="addressPort")
    zones: Annotated[list[Item] | None, REPEATED] = None


class ServiceInsightSpec(Message):
    """The spec of a ServiceInsight."""

    services: MapOf[Service] = None


DEFINITION: Definition[ServiceInsightSpec] = Definition(
    name="ServiceInsight", spec=ServiceInsightSpec, legacy=True
)
