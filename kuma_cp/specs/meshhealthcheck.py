"""MeshHealthCheck (``pkg/plugins/policies/meshhealthcheck``): active TCP, HTTP and gRPC health checks."""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._policy_kit import HeaderModifier, at_least_one
from kuma_cp.specs.base import Duration, Spec
from kuma_cp.specs.common import OutboundTargetRef, TopLevelTargetRef, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    Errors,
    Path,
    duration_greater_than_zero_or_nil,
    file_path_or_nil,
    int_percentage_or_nil,
    status_code,
    string_defined,
    value_greater_than_zero_or_nil,
)

__all__ = ["DEFINITION", "MeshHealthCheckSpec"]


class TcpHealthCheck(Spec):
    """A TCP check: connect, optionally send a payload and expect some back (base64)."""

    disabled: bool | None = None
    send: str | None = None
    receive: list[str] | None = None


class HttpHealthCheck(Spec):
    """An HTTP check."""

    disabled: bool | None = None
    path: str | None = None
    request_headers_to_add: HeaderModifier | None = None
    expected_statuses: list[int] | None = None


class GrpcHealthCheck(Spec):
    """A gRPC health check."""

    disabled: bool | None = None
    service_name: str | None = None
    authority: str | None = None


class Conf(Spec):
    """How to check the health of a destination's endpoints."""

    interval: Duration | None = None
    timeout: Duration | None = None
    unhealthy_threshold: int | None = None
    healthy_threshold: int | None = None
    initial_jitter: Duration | None = None
    interval_jitter: Duration | None = None
    interval_jitter_percent: int | None = None
    fail_traffic_on_panic: bool | None = None
    event_log_path: str | None = None
    always_log_health_check_failures: bool | None = None
    no_traffic_interval: Duration | None = None
    tcp: TcpHealthCheck | None = None
    http: HttpHealthCheck | None = None
    grpc: GrpcHealthCheck | None = None
    reuse_connection: bool | None = None


class To(Spec):
    """Health checks towards a destination."""

    target_ref: OutboundTargetRef
    # A Go struct, not a pointer: always marshalled; no schema default, so a null is refused.
    default: Conf = Field(default_factory=Conf)


class MeshHealthCheckSpec(Spec):
    """The spec of a MeshHealthCheck."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None


def _validate_http(path: Path, http: HttpHealthCheck) -> Errors:
    errors = Errors()
    if http.path is not None:
        errors.add(string_defined(path.field("path"), http.path))
    for index, status in enumerate(http.expected_statuses or []):
        errors.add(status_code(path.field("expectedStatuses").index(index), status))
    return errors


def _validate_default(conf: Conf) -> Errors:
    errors = Errors()
    path = Path.rooted_at("default")
    errors.add(duration_greater_than_zero_or_nil(path.field("interval"), conf.interval))
    errors.add(duration_greater_than_zero_or_nil(path.field("timeout"), conf.timeout))
    errors.add(value_greater_than_zero_or_nil(path.field("unhealthyThreshold"), conf.unhealthy_threshold))
    errors.add(value_greater_than_zero_or_nil(path.field("healthyThreshold"), conf.healthy_threshold))
    errors.add(duration_greater_than_zero_or_nil(path.field("initialJitter"), conf.initial_jitter))
    errors.add(duration_greater_than_zero_or_nil(path.field("intervalJitter"), conf.interval_jitter))
    errors.add(int_percentage_or_nil(path.field("intervalJitterPercent"), conf.interval_jitter_percent))
    errors.add(duration_greater_than_zero_or_nil(path.field("noTrafficInterval"), conf.no_traffic_interval))
    errors.add(file_path_or_nil(path.field("eventLogPath"), conf.event_log_path))
    if conf.http is not None:
        errors.add(_validate_http(path.field("http"), conf.http))
    if conf.http is None and conf.tcp is None and conf.grpc is None:
        errors.at(path, at_least_one("http", "tcp", "grpc"))
    return errors


def validate(spec: MeshHealthCheckSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshHealthCheckResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if spec.target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(spec.target_ref, ("Mesh", "Dataplane")))
    destinations = ("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService")
    for index, item in enumerate(spec.to or []):
        at = path.field("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(item.target_ref, destinations))
        errors.add_at(at, _validate_default(item.default))
    return errors


DEFINITION: Definition[MeshHealthCheckSpec] = Definition(
    name="MeshHealthCheck", spec=MeshHealthCheckSpec, validator=validate
)
