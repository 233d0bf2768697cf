"""Kuma's ``DataplaneResource.Validate`` (``pkg/core/resources/apis/mesh/dataplane_validator.go``).

Kept as Kuma has it, quirks included: the transparent proxy's violations are under
``networking.transparentProxing``, and an address is compared as a string where Kuma does (a service
address equal to the Dataplane's address) and as an IP where it does (the admin port against the
interfaces on 127.0.0.1). Proto3 zero values arrive as None (`kuma_cp.specs._jsonpb`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from kuma_cp.specs.golib import is_dns_name, is_ip
from kuma_cp.specs.validators import MUST_BE_DEFINED, Errors, Path, go_quote

if TYPE_CHECKING:
    from kuma_cp.specs.dataplane import (
        DataplaneSpec,
        Gateway,
        Inbound,
        Networking,
        Outbound,
        ServiceProbe,
        TransparentProxying,
    )
    from kuma_cp.specs.definition import Meta

__all__ = ["parse_protocol", "validate", "validate_port", "validate_tags"]

SERVICE_TAG, PROTOCOL_TAG = "kuma.io/service", "kuma.io/protocol"
_KINDS = ("MeshExternalService", "MeshMultiZoneService", "MeshService")  # sorted, as Kuma lists them
_BAD_KIND = "invalid value. Available values are: " + ",".join(_KINDS)
_PROTOCOLS = ("http", "http2", "tcp", "tls", "grpc", "mysql")
_PROTOCOL_HINT = "Allowed values: grpc, http, http2, tcp"
_DIFFER = "serviceAddress and servicePort has to differ from address and port"
_TAG_NAME = re.compile(r"[a-zA-Z0-9.\-_:/]*")
_TAG_VALUE = re.compile(r"[a-zA-Z0-9.\-_:]*")
_IDENTIFIER = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_IDENTIFIER_MSG = (
    "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character"
)
_OTHER_TYPES = "is used by listeners of different types"
_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_protocol(protocol: str) -> str | None:
    """Kuma's ``ParseProtocol``: the protocol, lowercased, or None when unknown."""
    lowered = protocol.lower()
    return lowered if lowered in _PROTOCOLS else None


def validate_port(path: Path, port: int | None) -> Errors:
    """Kuma's ``mesh.ValidatePort``: 1 to 65535."""
    errors = Errors()
    if not 0 < (port or 0) <= 65535:
        errors.at(path, "port must be in the range [1, 65535]")
    return errors


def validate_tags(path: Path, tags: dict[str, str], *, require_service: bool) -> Errors:
    """Kuma's ``ValidateTags`` as a gateway uses it (its protocol may only be ``tcp``)."""
    errors = Errors()
    if PROTOCOL_TAG in tags and parse_protocol(tags[PROTOCOL_TAG]) != "tcp":
        reason = f"other values than tcp are not allowed, provided value {go_quote(tags[PROTOCOL_TAG])}"
        errors.at(path.key(PROTOCOL_TAG), reason)
    for key in sorted(tags):
        if not key:
            errors.at(path, "tag name must be non-empty")
        if not _TAG_NAME.fullmatch(key):
            reason = "tag name must consist of alphanumeric characters, dots, dashes, slashes and underscores"
            errors.at(path.key(key), reason)
        if not tags[key]:
            errors.at(path.key(key), "tag value must be non-empty")
        if not _TAG_VALUE.fullmatch(tags[key]):
            reason = "tag value must consist of alphanumeric characters, dots, dashes and underscores"
            errors.at(path.key(key), reason)
    if require_service and SERVICE_TAG not in tags:
        errors.at(path, f"mandatory tag {go_quote(SERVICE_TAG)} is missing")
    return errors


def _ip(text: str) -> IP | None:
    # Go's net.ParseIP, an IPv4-mapped IPv6 address being its IPv4 address
    if not is_ip(text):
        return None
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _on_loopback(text: str) -> bool:
    # Kuma's overlap(127.0.0.1, net.ParseIP(text)): a wildcard address or 127.0.0.1 itself
    address = _ip(text)
    return address is not None and (address.is_unspecified or address == _LOOPBACK)


def _uses_inbound(networking: Networking, port: int) -> bool:
    for inbound in networking.inbound or []:
        dataplane_ip = inbound.address or networking.address or ""
        workload_ip = inbound.service_address or dataplane_ip
        workload_port = inbound.service_port or inbound.port or 0
        if port == (inbound.port or 0) and _on_loopback(dataplane_ip):
            return True
        if port == workload_port and _on_loopback(workload_ip):
            return True
    return False


def _uses_outbound(networking: Networking, port: int) -> bool:
    return any(
        port == (outbound.port or 0) and _on_loopback(outbound.address or "127.0.0.1")
        for outbound in networking.outbound or []
    )


def _validate_address(path: Path, address: str | None) -> Errors:
    errors = Errors()
    at = path.field("address")
    if not address:
        errors.at(at, "address can't be empty")
        return errors
    if address in ("0.0.0.0", "::"):
        errors.at(at, "must not be 0.0.0.0 or ::")
    if not is_ip(address) and not is_dns_name(address):
        errors.at(at, "address has to be valid IP address or domain name")
    return errors


def _validate_service_probe(probe: ServiceProbe | None) -> Errors:
    errors = Errors()
    if probe is None:
        return errors
    path = Path.rooted_at("serviceProbe")
    for name, duration in (("interval", probe.interval), ("timeout", probe.timeout)):
        if duration == "0s":  # jsonpb's form of a zero duration
            errors.at(path.field(name), "must have a positive value")
    thresholds = (
        ("unhealthyThreshold", probe.unhealthy_threshold),
        ("healthyThreshold", probe.healthy_threshold),
    )
    for name, threshold in thresholds:
        if threshold == 0:
            errors.at(path.field(name), "must have a positive value")
    return errors


def _validate_inbound(inbound: Inbound, dataplane_address: str) -> Errors:
    errors = Errors()
    port, service_port = inbound.port or 0, inbound.service_port or 0
    errors.add(validate_port(Path.rooted_at("port"), port))
    if service_port:
        errors.add(validate_port(Path.rooted_at("servicePort"), service_port))
    if inbound.service_address:
        if not is_ip(inbound.service_address):
            errors.violation("serviceAddress", "serviceAddress has to be valid IP address")
        if inbound.service_address == dataplane_address and service_port in (0, port):
            errors.violation("serviceAddress", _DIFFER)
    if inbound.address:
        if not is_ip(inbound.address):
            errors.violation("address", "address has to be valid IP address")
        if inbound.address == inbound.service_address and service_port in (0, port):
            errors.violation("serviceAddress", _DIFFER)
    if inbound.protocol and parse_protocol(inbound.protocol) is None:
        errors.violation("protocol", f"has an invalid value {go_quote(inbound.protocol)}. {_PROTOCOL_HINT}")
    errors.add(_validate_service_probe(inbound.service_probe))
    return errors


def _validate_outbound(outbound: Outbound) -> Errors:
    errors = Errors()
    errors.add(validate_port(Path.rooted_at("port"), outbound.port))
    if outbound.address and not is_ip(outbound.address):
        errors.violation("address", "address has to be valid IP address")
    ref = outbound.backend_ref
    if ref is None:
        errors.violation("backendRef", MUST_BE_DEFINED)
        return errors
    if ref.kind not in _KINDS:
        errors.violation("backendRef.kind", _BAD_KIND)
    if not ref.name and not ref.labels:
        errors.violation("backendRef", "either 'name' or 'labels' should be specified")
    if ref.kind != "MeshExternalService":  # its port comes from its endpoints
        errors.add(validate_port(Path.rooted_at("backendRef").field("port"), ref.port))
    return errors


def _validate_transparent_proxying(proxying: TransparentProxying | None) -> Errors:
    errors = Errors()
    if proxying is None or proxying.reachable_backends is None:
        return errors
    path = Path.rooted_at("reachableBackends.refs")
    for index, ref in enumerate(proxying.reachable_backends.refs or []):
        at = path.index(index)
        if ref.kind not in _KINDS:
            errors.at(at.field("kind"), _BAD_KIND)
        if ref.name:
            if len(ref.name.encode()) > 253:
                errors.at(at.field("name"), "value length must less or equal 253")
            elif not _IDENTIFIER.fullmatch(ref.name):
                errors.at(at.field("name"), _IDENTIFIER_MSG)
        if not ref.name and not ref.namespace and not ref.labels:
            errors.at(at.field("name"), "name or labels are required")
        if not ref.name and ref.namespace:
            errors.at(at.field("name"), "name is required, when namespace is defined")
        if (ref.name or ref.namespace) and ref.labels:
            errors.at(at.field("labels"), "labels cannot be defined when name is specified")
    return errors


def _validate_networking(networking: Networking) -> Errors:
    errors = Errors()
    path = Path.rooted_at("networking")
    errors.add(_validate_address(path, networking.address))
    for index, inbound in enumerate(networking.inbound or []):
        errors.add_at(
            path.field("inbound").index(index), _validate_inbound(inbound, networking.address or "")
        )
    for index, outbound in enumerate(networking.outbound or []):
        errors.add_at(path.field("outbound").index(index), _validate_outbound(outbound))
    errors.add_at(
        path.field("transparentProxing"), _validate_transparent_proxying(networking.transparent_proxying)
    )
    return errors


def _validate_listeners(networking: Networking) -> Errors:
    errors = Errors()
    names = {inbound.name or str(inbound.port or 0) for inbound in networking.inbound or []}
    types: dict[str, str | int | None] = {}
    for index, listener in enumerate(networking.listeners or []):
        at = Path.root().index(index)
        if listener.type is None:
            errors.at(at.field("type"), "type must be ZoneIngress or ZoneEgress")
        errors.add(_validate_address(at, listener.address))
        errors.add(validate_port(at.field("port"), listener.port))
        if listener.name:
            if listener.name in names:
                reason = f"name {go_quote(listener.name)} must be unique across inbounds and listeners"
                errors.at(at.field("name"), reason)
            names.add(listener.name)
        key = f"{listener.address or ''}:{listener.port or 0}"
        if key in types:
            same = types[key] == listener.type
            reason = (
                "is already used by another listener" if same else "is used by listeners of different types"
            )
            errors.at(at, f"address:port {key} {reason}")
        else:
            types[key] = listener.type
        for inbound in networking.inbound or []:
            if f"{inbound.address or networking.address or ''}:{inbound.port or 0}" == key:
                errors.at(at, f"address:port {key} collides with an inbound listener")
                break
    return errors


def _validate_gateway(gateway: Gateway) -> Errors:
    tags = gateway.tags or {}
    return validate_tags(Path.rooted_at("tags"), tags, require_service=bool(tags))


def validate(spec: DataplaneSpec, meta: Meta) -> Errors:
    """Kuma's ``DataplaneResource.Validate``."""
    errors = Errors()
    net = Path.rooted_at("networking")
    networking = spec.networking
    if networking is None:
        errors.at(net, MUST_BE_DEFINED)
        return errors
    if networking.admin is not None:
        port = networking.admin.port or 0
        if _uses_inbound(networking, port):
            errors.at(net.field("admin").field("port"), "must differ from inbound")
        if _uses_outbound(networking, port):
            errors.at(net.field("admin").field("port"), "must differ from outbound")
    gateway = networking.gateway
    if gateway is not None and gateway.type is None:  # a DELEGATED gateway (the zero value)
        if networking.inbound:
            errors.at(net.field("inbound"), "inbound cannot be defined for delegated gateways")
        if networking.listeners:
            errors.at(net.field("listeners"), "listeners cannot be defined for delegated gateways")
        errors.add_at(net.field("gateway"), _validate_gateway(gateway))
        errors.add(_validate_networking(networking))
    else:
        errors.add(_validate_networking(networking))
        errors.add_at(net.field("listeners"), _validate_listeners(networking))
    return errors
