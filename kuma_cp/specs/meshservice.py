"""MeshService (``pkg/core/resources/apis/meshservice``): a destination made of selected proxies."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

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
from kuma_cp.specs.base import DECODE_ERROR, IntOrString, Spec
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import Errors, Path

__all__ = ["DEFINITION", "MeshServiceSpec", "MeshServiceStatus"]


def _target_port(value: Any) -> Any:
    # intstr.IntOrString holds an int32, which only Go's decoder bounds (the schema says integer or string)
    if isinstance(value, int) and not -(1 << 31) <= value < 1 << 31:
        where = "Go struct field Port.spec.ports.targetPort"
        raise PydanticCustomError(
            DECODE_ERROR, f"json: cannot unmarshal number {value} into {where} of type int32"
        )
    return value


TargetPort = Annotated[IntOrString, AfterValidator(_target_port)]
"""The port of the application a MeshService port goes to: a number, or the name of a proxy's inbound."""


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
    target_port: TargetPort | None = None
    app_protocol: str = "tcp"  # omitempty in Go, kept when empty: Go reads "" and absent alike


class Identity(Spec):
    """An identity the service's proxies present."""

    type: Literal["SpiffeID"]
    value: str


class MeshServiceSpec(GoOmitEmpty):
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
