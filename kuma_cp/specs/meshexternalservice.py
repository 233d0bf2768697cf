"""MeshExternalService (``pkg/core/resources/apis/meshexternalservice``): a destination outside the mesh."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kuma_cp.specs._resources import (
    VIP,
    Address,
    Extension,
    HostnameGeneratorStatus,
    Int32,
    SecureDataSource,
    validate_secure_data_source,
)
from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import TlsVersion, validate_tls_version
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import is_dns_name, is_ip
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_EMPTY,
    Errors,
    Path,
    field_must_be_one_of,
    must_be_one_of,
)

__all__ = ["DEFINITION", "MeshExternalServiceSpec", "MeshExternalServiceStatus"]

_PORT = "port must be a valid (1-65535)"
_MATCH_PROTOCOLS = ("tcp", "grpc", "http", "http2")
_MODES = ("SkipSAN", "SkipCA", "SkipAll", "Secured")
_SAN_TYPES = ("Prefix", "Exact")


class Match(Spec):
    """The traffic routed to the service: the port (and protocol) mesh services address it on."""

    type: Literal["HostnameGenerator"] = "HostnameGenerator"
    port: Int32 = Field(ge=1, le=65535)
    protocol: Literal["tcp", "grpc", "http", "http2"] = "tcp"


class Endpoint(Spec):
    """Where the traffic goes: an IP or a domain name, a port, a failover priority."""

    address: str = Field(min_length=1)
    port: Int32 = Field(ge=1, le=65535)
    priority: int | None = Field(default=None, ge=0, le=128)


class SANMatch(Spec):
    """A subject alternative name the service's certificate must present."""

    type: Literal["Exact", "Prefix"] = "Exact"
    value: str


class Verification(Spec):
    """How the proxy verifies the service's certificate, and the client certificate it presents."""

    mode: Literal["SkipSAN", "SkipCA", "Secured", "SkipAll"] = "Secured"
    server_name: str | None = None
    subject_alt_names: list[SANMatch] | None = None
    ca_cert: SecureDataSource | None = None
    client_cert: SecureDataSource | None = None
    client_key: SecureDataSource | None = None


class Tls(Spec):
    """TLS the proxy originates towards the service."""

    enabled: bool = False
    version: TlsVersion | None = None
    allow_renegotiation: bool = False
    verification: Verification | None = None


class MeshExternalServiceSpec(Spec):
    """The spec of a MeshExternalService."""

    match: Match
    extension: Extension | None = None
    endpoints: list[Endpoint] | None = None
    tls: Tls | None = None


class MeshExternalServiceStatus(Spec):
    """What the control plane allocated: a VIP and generated hostnames."""

    vip: VIP | None = None
    addresses: list[Address] | None = None
    hostname_generators: list[HostnameGeneratorStatus] | None = None


def _validate_match(match: Match) -> Errors:
    errors = Errors()
    if match.type not in ("HostnameGenerator", ""):
        errors.violation("type", f"unrecognized type '{match.type}' - only 'HostnameGenerator' is supported")
    if not 0 < match.port <= 65535:
        errors.violation("port", _PORT)
    if match.protocol not in _MATCH_PROTOCOLS:
        errors.add_at(Path.rooted_at("protocol"), field_must_be_one_of("protocol", *_MATCH_PROTOCOLS))
    return errors


def _validate_endpoints(endpoints: list[Endpoint]) -> Errors:
    errors = Errors()
    for index, endpoint in enumerate(endpoints):
        at = Path.root().index(index)
        ip, dns = is_ip(endpoint.address), is_dns_name(endpoint.address)
        for known in (ip, dns):  # Kuma checks the port once per way the address is valid
            if known and not 0 < endpoint.port <= 65535:
                errors.at(at.field("port"), _PORT)
        if not ip and not dns:
            errors.at(at.field("address"), "address has to be a valid IP or hostname")
    return errors


def _validate_source(path: Path, source: SecureDataSource | None) -> Errors:
    # the control plane never reads its own files or environment for a MeshExternalService
    errors = Errors()
    if source is not None and source.type in ("File", "EnvVar"):
        errors.at(path.field("type"), must_be_one_of(source.type, "Secret", "InsecureInline"))
        return errors
    return validate_secure_data_source(path, source)


def _validate_sources(verification: Verification) -> Errors:
    errors = Errors()
    path = Path.rooted_at("verification")
    errors.add(_validate_source(path.field("caCert"), verification.ca_cert))
    errors.add(_validate_source(path.field("clientCert"), verification.client_cert))
    errors.add(_validate_source(path.field("clientKey"), verification.client_key))
    return errors


def _validate_tls(tls: Tls) -> Errors:
    errors = Errors()
    if tls.version is not None:
        errors.add_at(Path.rooted_at("version"), validate_tls_version(tls.version))
    verification = tls.verification
    if verification is None:
        return errors
    path = Path.rooted_at("verification")
    if verification.server_name is not None and not is_dns_name(verification.server_name):
        errors.at(path.field("serverName"), "must be a valid DNS name")
    if verification.mode not in (*_MODES, ""):
        errors.add_at(path.field("mode"), field_must_be_one_of("mode", *_MODES))
    for index, san in enumerate(verification.subject_alt_names or []):
        if san.type not in _SAN_TYPES:
            at = path.field("subjectAltNames").index(index).field("type")
            errors.add_at(at, field_must_be_one_of("type", *_SAN_TYPES))
    if verification.client_cert is not None and verification.client_key is None:
        errors.at(path.field("clientKey"), MUST_BE_DEFINED + " when clientCert is defined")
    if verification.client_cert is None and verification.client_key is not None:
        errors.at(path.field("clientCert"), MUST_BE_DEFINED + " when clientKey is defined")
    errors.add(_validate_sources(verification))
    return errors


def validate(spec: MeshExternalServiceSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshExternalServiceResource.validate`` (the name's RFC 1035 rule is checked elsewhere)."""
    errors = Errors()
    path = Path.rooted_at("spec")
    errors.add_at(path.field("match"), _validate_match(spec.match))
    if spec.extension is None:  # with an extension, endpoints and TLS are the extension's to check
        if spec.endpoints is not None:
            errors.add_at(path.field("endpoints"), _validate_endpoints(spec.endpoints))
        if spec.tls is not None:
            errors.add_at(path.field("tls"), _validate_tls(spec.tls))
    elif spec.tls is not None and spec.tls.verification is not None:
        errors.add_at(path.field("tls"), _validate_sources(spec.tls.verification))
    if spec.extension is not None and not spec.extension.type:
        errors.at(path.field("extension").field("type"), MUST_NOT_BE_EMPTY)
    return errors


DEFINITION: Definition[MeshExternalServiceSpec] = Definition(
    name="MeshExternalService",
    spec=MeshExternalServiceSpec,
    status=MeshExternalServiceStatus,
    validator=validate,
)
