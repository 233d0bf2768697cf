"""MeshMultiZoneService (``pkg/core/resources/apis/meshmultizoneservice``): zones' MeshServices as one."""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._resources import (
    SUPPORTED_PROTOCOLS,
    VIP,
    Address,
    HostnameGeneratorStatus,
    Int32,
    LabelSelector,
    app_protocol_message,
)
from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import Condition
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import MUST_NOT_BE_EMPTY, Errors, Path

__all__ = ["DEFINITION", "MeshMultiZoneServiceSpec", "MeshMultiZoneServiceStatus"]


class Selector(Spec):
    """The MeshServices aggregated, by labels."""

    mesh_service: LabelSelector


class Port(Spec):
    """A port of the selected MeshServices, and its protocol."""

    name: str | None = None
    port: Int32
    app_protocol: str = "tcp"


class MeshMultiZoneServiceSpec(Spec):
    """The spec of a MeshMultiZoneService."""

    selector: Selector
    ports: list[Port] = Field(min_length=1)


class _MatchedMeshService(Spec):
    name: str
    namespace: str
    zone: str
    mesh: str


class MeshMultiZoneServiceStatus(Spec):
    """What the control plane observes: addresses, VIPs, the MeshServices matched, conditions."""

    addresses: list[Address] | None = None
    vips: list[VIP] | None = None
    mesh_services: list[_MatchedMeshService] | None = None
    hostname_generators: list[HostnameGeneratorStatus] | None = None
    conditions: list[Condition] | None = None


def validate(spec: MeshMultiZoneServiceSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshMultiZoneServiceResource.validate`` (the name's RFC 1035 rule is checked elsewhere)."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if not spec.selector.mesh_service.match_labels:
        errors.at(path.field("selector").field("meshService").field("matchLabels"), "cannot be empty")
    if not spec.ports:
        errors.at(path.field("ports"), "cannot be empty")
    for index, port in enumerate(spec.ports):
        at = path.field("ports").index(index)
        if port.name is not None and not port.name:
            errors.at(at.field("name"), MUST_NOT_BE_EMPTY)
        if port.app_protocol not in SUPPORTED_PROTOCOLS:  # as given: no lower-casing here, unlike MeshService
            errors.at(at.field("appProtocol"), app_protocol_message())
    return errors


DEFINITION: Definition[MeshMultiZoneServiceSpec] = Definition(
    name="MeshMultiZoneService",
    spec=MeshMultiZoneServiceSpec,
    status=MeshMultiZoneServiceStatus,
    validator=validate,
)
