"""MeshZoneAddress (``pkg/core/resources/apis/meshzoneaddress``): the public address of a zone's ingress."""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._resources import Int32
from kuma_cp.specs.base import Spec
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import is_dns_name, is_ip
from kuma_cp.specs.validators import MUST_NOT_BE_EMPTY, Errors, Path, port

__all__ = ["DEFINITION", "MeshZoneAddressSpec"]


class MeshZoneAddressSpec(Spec):
    """The spec of a MeshZoneAddress: where other zones reach this zone's ingress."""

    address: str = Field(min_length=1)
    port: Int32 = Field(ge=1, le=65535)


def _validate_address(path: Path, address: str) -> Errors:
    errors = Errors()
    if not address:
        errors.at(path, MUST_NOT_BE_EMPTY)
    elif address in ("0.0.0.0", "::"):
        errors.at(path, "must not be 0.0.0.0 or ::")
    elif not is_ip(address) and not is_dns_name(address):
        errors.at(path, "must be a valid IP address or domain name")
    return errors


def validate(spec: MeshZoneAddressSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshZoneAddressResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    errors.add(_validate_address(path.field("address"), spec.address))
    errors.add(port(path.field("port"), spec.port % (1 << 32)))  # Go checks it as a uint32
    return errors


DEFINITION: Definition[MeshZoneAddressSpec] = Definition(
    name="MeshZoneAddress", spec=MeshZoneAddressSpec, validator=validate
)
