"""Dataplane (``api/mesh/v1alpha1/dataplane.proto``): a data plane proxy's inbounds, outbounds and more.

A legacy protobuf type: its body is read with jsonpb (`kuma_cp.specs._jsonpb`), fields in the order of
the ``.proto`` file, so that the first value jsonpb refuses is the one reported. Kuma 3.0 removed
``networking.inbound[].tags``, ``networking.outbound[].tags``, ``networking.advertisedAddress``,
``probes`` and ``metrics``: they are unknown fields now, accepted and dropped. The checks are Kuma's
``DataplaneResource.Validate`` (`kuma_cp.specs._dataplane_rules`).

On top of what is validated here, Kuma's Dataplane manager changes a spec before storing it (see
`managed`): the zone name as the ``kuma.io/zone`` tag of a gateway, and on create, an inbound with a
service probe starts ``NotReady``.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import Field

from kuma_cp.specs._dataplane_rules import validate
from kuma_cp.specs._jsonpb import (
    REPEATED,
    Bool,
    Duration,
    Item,
    Message,
    ProtoEnum,
    String,
    StringMap,
    UInt32,
    UInt32Value,
)
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "DataplaneSpec", "Networking", "managed"]

_PREFIX = "kuma.mesh.v1alpha1.Dataplane.Networking"


def _named(name: str) -> Any:
    # a proto field whose proto name is already camelCase: it has that one spelling
    return Field(None, validation_alias=name, serialization_alias=name)


class Health(Message):
    """Whether an inbound is ready (set by Kubernetes or a health checker)."""

    ready: Bool = None


class Tcp(Message):
    """The TCP checker of a service probe (no settings)."""


class ServiceProbe(Message):
    """Envoy's health checking of the application next to it."""

    interval: Duration = None
    timeout: Duration = None
    unhealthy_threshold: UInt32Value = None
    healthy_threshold: UInt32Value = None
    tcp: Tcp | None = None


class Inbound(Message):
    """A port the proxy serves for its application."""

    port: UInt32 = None
    service_port: UInt32 = _named("servicePort")
    service_address: String = _named("serviceAddress")
    address: String = None
    health: Health | None = None
    service_probe: ServiceProbe | None = _named("serviceProbe")
    state: Annotated[
        str | int | None, ProtoEnum(f"{_PREFIX}.Inbound.State", ("Ready", "NotReady", "Ignored"))
    ] = None
    name: String = None
    protocol: String = None


class BackendRef(Message):
    """The destination of an outbound: a MeshService, MeshExternalService or MeshMultiZoneService."""

    kind: String = None
    name: String = None
    port: UInt32 = None
    labels: StringMap = None


class Outbound(Message):
    """A destination the proxy reaches for its application."""

    address: String = None
    port: UInt32 = None
    backend_ref: BackendRef | None = _named("backendRef")


class Gateway(Message):
    """A delegated gateway (Kong, Contour...): traffic into it is not proxied by Kuma."""

    tags: StringMap = None
    type: Annotated[str | int | None, ProtoEnum(f"{_PREFIX}.Gateway.GatewayType", ("DELEGATED",))] = None


class ReachableBackendRef(Message):
    """A backend reachable through the transparent proxy."""

    kind: String = None
    name: String = None
    namespace: String = None
    port: UInt32Value = None
    labels: StringMap = None


class ReachableBackends(Message):
    """The backends reachable through the transparent proxy (all when unset)."""

    refs: Annotated[list[ReachableBackendRef] | None, REPEATED] = None


class TransparentProxying(Message):
    """The transparent proxy's redirection."""

    redirect_port_inbound: UInt32 = None
    redirect_port_outbound: UInt32 = None
    direct_access_services: Annotated[list[Item] | None, REPEATED] = None
    ip_family_mode: Annotated[
        str | int | None,
        ProtoEnum(
            f"{_PREFIX}.TransparentProxying.IpFamilyMode", ("UnSpecified", "DualStack", "IPv4", "IPv6")
        ),
    ] = None
    reachable_backends: ReachableBackends | None = None


class EnvoyAdmin(Message):
    """Envoy's admin API."""

    port: UInt32 = None


class Listener(Message):
    """A zone proxy listener (ZoneIngress or ZoneEgress) of the Dataplane."""

    type: Annotated[
        str | int | None, ProtoEnum(f"{_PREFIX}.Listener.Type", ("Unspecified", "ZoneIngress", "ZoneEgress"))
    ] = None
    address: String = None
    port: UInt32 = None
    name: String = None
    state: Annotated[str | int | None, ProtoEnum(f"{_PREFIX}.Listener.State", ("Ready", "NotReady"))] = None


class Networking(Message):
    """The proxy's address and interfaces."""

    address: String = None
    gateway: Gateway | None = None
    inbound: Annotated[list[Inbound] | None, REPEATED] = None
    outbound: Annotated[list[Outbound] | None, REPEATED] = None
    transparent_proxying: TransparentProxying | None = None
    admin: EnvoyAdmin | None = None
    listeners: Annotated[list[Listener] | None, REPEATED] = None


class DataplaneSpec(Message):
    """The spec of a Dataplane (beside ``type``, ``name`` and ``mesh`` at the top of the REST body)."""

    networking: Networking | None = None


def managed(document: dict[str, Any], *, zone: str, create: bool) -> dict[str, Any]:
    """What Kuma's Dataplane manager stores for a valid *document* (a `DataplaneSpec` dump).

    A gateway gets the zone's name as its ``kuma.io/zone`` tag (when *zone* is set); on create, an
    inbound with a service probe starts ``NotReady`` and unhealthy (``health: {}``).
    """
    out = copy.deepcopy(document)
    networking = out.get("networking") or {}
    if zone and "gateway" in networking:
        networking["gateway"]["tags"] = {**networking["gateway"].get("tags", {}), "kuma.io/zone": zone}
    for inbound in networking.get("inbound", []) if create else []:
        if "serviceProbe" in inbound:
            inbound["state"], inbound["health"] = "NotReady", {}
    return out


DEFINITION: Definition[DataplaneSpec] = Definition(
    name="Dataplane", spec=DataplaneSpec, validator=validate, legacy=True
)
