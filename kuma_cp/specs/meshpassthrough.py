"""MeshPassthrough (``pkg/plugins/policies/meshpassthrough``): traffic allowed out of the mesh, unproxied."""

from __future__ import annotations

import re
from typing import Literal

from kuma_cp.specs._policy_kit import GoDecoded, Uint32
from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import TopLevelTargetRef, validate_top_and_default
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import is_cidr, is_dns_name, is_ip
from kuma_cp.specs.validators import Errors, Path, field_must_be_one_of

__all__ = ["DEFINITION", "MeshPassthroughSpec"]

PROTOCOLS = ("tcp", "tls", "grpc", "http", "http2", "mysql")
_L7 = ("grpc", "http", "http2")  # one port may not carry two of these
_PARTIAL_WILDCARD = re.compile(r"\*[^.]+")
_BAD_DNS = "provided DNS has incorrect value"
_DUPLICATE = "is already defiend for this port and protocol"  # sic
_PORT_CLASH = (
    "using the same port in multiple matches requires the same protocol for the following protocols:"
    f" [{' '.join(_L7)}]"
)


class Match(Spec):
    """A destination let through: a domain, an IP or a CIDR, optionally on one port."""

    type: Literal["Domain", "IP", "CIDR"]
    value: str
    port: Uint32 | None = None
    protocol: Literal["tcp", "tls", "grpc", "http", "http2", "mysql"] = "tcp"


class Conf(Spec):
    """Which traffic passes through."""

    passthrough_mode: Literal["All", "Matched", "None"] | None = None
    append_match: list[Match] | None = None


class MeshPassthroughSpec(GoDecoded):
    """The spec of a MeshPassthrough."""

    target_ref: TopLevelTargetRef | None = None
    default: Conf = Conf()  # a Go struct, always marshalled


def _validate_domain(at: Path, match: Match) -> Errors:
    errors = Errors()
    if match.protocol in ("tcp", "mysql"):
        errors.at(at.field("protocol"), f"protocol {match.protocol} is not supported for a domain")
    if _PARTIAL_WILDCARD.match(match.value):
        errors.at(
            at.field("value"), "provided DNS has incorrect value, partial wildcard is currently not supported"
        )
    if match.port is None and match.value.startswith("*") and match.protocol in _L7:
        errors.at(at.field("port"), "wildcard domains doesn't work for all ports and layer 7 protocol")
    name = match.value[2:] if match.value.startswith("*.") else match.value
    if not name.startswith("*") and not is_dns_name(name):
        errors.at(at.field("value"), _BAD_DNS)
    return errors


def _validate_default(conf: Conf) -> Errors:
    errors = Errors()
    protocols: dict[int, str] = {}
    values: dict[tuple[int, str], set[str]] = {}
    for index, match in enumerate(conf.append_match or []):
        at = Path.rooted_at("appendMatch").index(index)
        if match.protocol == "mysql" and match.port is None:
            errors.at(at.field("port"), "port must be defined for Mysql protocol")
        if match.port is not None and not 0 < match.port <= 65535:
            errors.at(at.field("port"), "port must be a valid (1-65535)")
        if match.port is not None:
            known = protocols.get(match.port)
            if known is not None and known != match.protocol and match.protocol in _L7:
                reason = (
                    "using the same port in multiple matches requires the same protocol for the following"
                )
                errors.at(at.field("port"), f"{reason} protocols: [{' '.join(_L7)}]")
            else:
                protocols[match.port] = match.protocol
            seen = values.setdefault((match.port, match.protocol), set())
            if match.value in seen:
                errors.at(
                    at.field("value"), f"value {match.value} is already defiend for this port and protocol"
                )
            seen.add(match.value)
        if match.protocol not in PROTOCOLS:
            errors.add_at(at.field("protocol"), field_must_be_one_of("protocol", *PROTOCOLS))
        if match.type == "CIDR" and not is_cidr(match.value):
            errors.at(at.field("value"), "provided CIDR has incorrect value")
        elif match.type == "IP" and not is_ip(match.value):
            errors.at(at.field("value"), "provided IP has incorrect value")
        elif match.type == "Domain":
            errors.add(_validate_domain(at, match))
    return errors


def validate(spec: MeshPassthroughSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshPassthroughResource.validate``."""
    return validate_top_and_default(spec.target_ref, _validate_default(spec.default))


DEFINITION: Definition[MeshPassthroughSpec] = Definition(
    name="MeshPassthrough", spec=MeshPassthroughSpec, validator=validate
)
