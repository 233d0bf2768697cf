"""MeshOpenTelemetryBackend (``pkg/core/resources/apis/meshopentelemetrybackend``): a shared OTel collector.

An empty spec is valid: the collector on the node (kuma-dp resolves the address, port 4317, gRPC).
"""

from __future__ import annotations

from typing import Literal

from kuma_cp.specs._resources import Int32
from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import Condition
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import is_dns_name, is_ip
from kuma_cp.specs.validators import MUST_NOT_BE_EMPTY, Errors, Path, field_must_be_one_of, port

__all__ = ["DEFINITION", "MeshOpenTelemetryBackendSpec", "MeshOpenTelemetryBackendStatus"]

_PROTOCOLS = ("grpc", "http")
_MODES = ("Disabled", "Optional", "Required")
_PRECEDENCES = ("ExplicitFirst", "EnvFirst")


class Endpoint(Spec):
    """The collector's address, port and (HTTP only) base path."""

    address: str | None = None
    port: Int32 | None = None
    path: str | None = None


class EnvPolicy(Spec):
    """Whether the standard ``OTEL_EXPORTER_OTLP_*`` variables take part in the exporter's configuration."""

    mode: Literal["Disabled", "Optional", "Required"] = "Optional"
    precedence: Literal["ExplicitFirst", "EnvFirst"] = "EnvFirst"
    allow_signal_overrides: bool | None = None


class MeshOpenTelemetryBackendSpec(Spec):
    """The spec of a MeshOpenTelemetryBackend."""

    endpoint: Endpoint | None = None
    protocol: Literal["grpc", "http"] | None = None
    env: EnvPolicy | None = None


class MeshOpenTelemetryBackendStatus(Spec):
    """Whether policies reference the backend (the ``ReferencedByPolicies`` condition)."""

    conditions: list[Condition] | None = None


def _validate_path(path: str | None, protocol: str) -> Errors:
    errors = Errors()
    if not path:
        return errors
    at = Path.rooted_at("path")
    if protocol in ("grpc", ""):
        errors.at(at, "must not be set when protocol is grpc")
        return errors
    if not path.startswith("/"):
        errors.at(at, "must start with /")
    if any(char in path for char in "?#"):
        errors.at(at, "must not contain query or fragment")
    return errors


def _validate_endpoint(endpoint: Endpoint, protocol: str) -> Errors:
    errors = Errors()
    if endpoint.address is not None:
        if not endpoint.address:
            errors.violation("address", MUST_NOT_BE_EMPTY)
        elif not is_ip(endpoint.address) and not is_dns_name(endpoint.address):
            errors.violation("address", "address has to be a valid IP or hostname")
    if endpoint.port is not None:
        errors.add(port(Path.rooted_at("port"), endpoint.port % (1 << 32)))  # Go checks it as a uint32
    errors.add(_validate_path(endpoint.path, protocol))
    return errors


def _validate_env(env: EnvPolicy | None) -> Errors:
    errors = Errors()
    if env is None:
        return errors
    if env.mode and env.mode not in _MODES:
        errors.add_at(Path.rooted_at("mode"), field_must_be_one_of("mode", *_MODES))
    if env.precedence and env.precedence not in _PRECEDENCES:
        errors.add_at(Path.rooted_at("precedence"), field_must_be_one_of("precedence", *_PRECEDENCES))
    return errors


def validate(spec: MeshOpenTelemetryBackendSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshOpenTelemetryBackendResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    protocol = spec.protocol or "grpc"
    if spec.endpoint is not None:
        errors.add_at(path.field("endpoint"), _validate_endpoint(spec.endpoint, protocol))
    if protocol and protocol not in _PROTOCOLS:
        errors.add_at(path.field("protocol"), field_must_be_one_of("protocol", *_PROTOCOLS))
    errors.add_at(path.field("env"), _validate_env(spec.env))
    return errors


DEFINITION: Definition[MeshOpenTelemetryBackendSpec] = Definition(
    name="MeshOpenTelemetryBackend",
    spec=MeshOpenTelemetryBackendSpec,
    status=MeshOpenTelemetryBackendStatus,
    validator=validate,
)
