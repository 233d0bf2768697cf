"""MeshService (``pkg/core/resources/apis/meshservice``): a destination made of selected proxies."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from kuma_cp.specs._godecode import GO_INT32, GoDecodedSpec
from kuma_cp.specs._resources import (
    SUPPORTED_PROTOCOLS,
    VIP,
    Address,
    GoOmitEmpty,
    HostnameGeneratorStatus,
    Int32,
    LabelSelector,
    app_protocol_message,
)
from kuma_cp.specs.base import IntOrString, Spec
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import Errors, Path

__all__ = ["DEFINITION", "MeshServiceSpec", "MeshServiceStatus"]


class DataplaneRef(GoOmitEmpty):
    """One data plane proxy, by name."""

    omit_empty: ClassVar[frozenset[str]] = frozenset({"name"})
    name: str | None = None


class Selector(Spec):
    """The data plane proxies a MeshService is made of: one by name, or those with some labels."""

    dataplane_ref: DataplaneRef | None = None
    dataplane_labels: LabelSelector | None = None


class Port(Spec):
    """A port of the service, the port of the proxies' application it goes to, and its protocol."""

    name: str | None = None
    port: Int32
    target_port: Annotated[IntOrString | None, GO_INT32] = None  # an int32 to Go, or a name
    app_protocol: str = "tcp"  # omitempty in Go, kept when empty: Go reads "" and absent alike


class Identity(Spec):
    """An identity the service's proxies present."""

    type: Literal["SpiffeID"]
    value: str


class MeshServiceSpec(GoOmitEmpty, GoDecodedSpec):
    """The spec of a MeshService."""

    omit_empty: ClassVar[frozenset[str]] = frozenset({"ports"})
    state: Literal["Available", "Unavailable"] = "Unavailable"
    selector: Selector = Field(default_factory=Selector)  # a Go struct: always written, no schema default
    ports: list[Port] | None = None
    identities: list[Identity] | None = None


class _TLS(Spec):
    status: Literal["Ready", "NotReady"] | None = None


class _DataplaneProxies(Spec):
    connected: int | None = None
    healthy: int | None = None
    total: int | None = None


class MeshServiceStatus(Spec):
    """What the control plane observes of a MeshService: addresses, VIPs, TLS, proxies."""

    addresses: list[Address] | None = None
    vips: list[VIP] | None = None
    tls: _TLS | None = None
    hostname_generators: list[HostnameGeneratorStatus] | None = None
    dataplane_proxies: _DataplaneProxies | None = None


def validate(spec: MeshServiceSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshServiceResource.validate`` (the name's RFC 1035 rule is checked elsewhere)."""
    errors = Errors()
    ports = Path.rooted_at("spec").field("ports")
    for index, port in enumerate(spec.ports or []):
        if port.app_protocol and port.app_protocol.lower() not in SUPPORTED_PROTOCOLS:
            errors.at(ports.index(index).field("appProtocol"), app_protocol_message())
    selector = spec.selector
    if selector.dataplane_ref is not None and selector.dataplane_labels is not None:
        errors.at(
            Path.rooted_at("spec").field("selector"),
            "must specify only one of: dataplaneRef or dataplaneLabels",
        )
    return errors


DEFINITION: Definition[MeshServiceSpec] = Definition(
    name="MeshService", spec=MeshServiceSpec, status=MeshServiceStatus, validator=validate
)
