"""MeshCircuitBreaker (``pkg/plugins/policies/meshcircuitbreaker``): connection limits, outlier detection.

Kuma's validator reports a rule's configuration at ``spec.from[i].default`` (its path from before
``rules`` replaced ``from``); the violations keep that path, as clients see it.
"""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._policy_kit import GoDecoded, Uint32, at_least_one
from kuma_cp.specs.base import Duration, IntOrString, Spec
from kuma_cp.specs.common import OutboundTargetRef, TopLevelTargetRef, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    HAS_TO_BE_GREATER_THAN_ZERO,
    MUST_BE_DEFINED,
    Errors,
    Path,
    decimal_of,
    duration_greater_than_zero_or_nil,
    int_percentage_or_nil,
    integer_greater_than,
    percentage_or_nil,
)

__all__ = ["DEFINITION", "MeshCircuitBreakerSpec"]


class ConnectionLimits(Spec):
    """Upper bounds on connections and requests to a destination."""

    max_connections: Uint32 | None = None
    max_connection_pools: Uint32 | None = None
    max_pending_requests: Uint32 | None = None
    max_retries: Uint32 | None = None
    max_requests: Uint32 | None = None


class DetectorTotalFailures(Spec):
    """Ejects a host after consecutive failures of any kind."""

    consecutive: Uint32 | None = None


class DetectorGatewayFailures(Spec):
    """Ejects a host after consecutive gateway failures."""

    consecutive: Uint32 | None = None


class DetectorLocalOriginFailures(Spec):
    """Ejects a host after consecutive locally originated failures."""

    consecutive: Uint32 | None = None


class DetectorSuccessRateFailures(Spec):
    """Ejects hosts whose success rate is far below the cluster's."""

    minimum_hosts: Uint32 | None = None
    request_volume: Uint32 | None = None
    standard_deviation_factor: IntOrString | None = None


class DetectorFailurePercentageFailures(Spec):
    """Ejects hosts whose failure percentage is above a threshold."""

    minimum_hosts: Uint32 | None = None
    request_volume: Uint32 | None = None
    threshold: Uint32 | None = None


class Detectors(Spec):
    """The ways outlier hosts are detected."""

    total_failures: DetectorTotalFailures | None = None
    gateway_failures: DetectorGatewayFailures | None = None
    local_origin_failures: DetectorLocalOriginFailures | None = None
    success_rate: DetectorSuccessRateFailures | None = None
    failure_percentage: DetectorFailurePercentageFailures | None = None


class OutlierDetection(Spec):
    """Ejection of misbehaving hosts."""

    disabled: bool | None = None
    interval: Duration | None = None
    base_ejection_time: Duration | None = None
    max_ejection_percent: Uint32 | None = None
    split_external_and_local_errors: bool | None = None
    detectors: Detectors | None = None
    healthy_panic_threshold: IntOrString | None = None


class Conf(Spec):
    """What a rule or a ``to`` item configures."""

    connection_limits: ConnectionLimits | None = None
    outlier_detection: OutlierDetection | None = None


class Rule(Spec):
    """Inbound circuit breaking."""

    # A Go struct, not a pointer: always marshalled; no schema default, so a null is refused.
    default: Conf = Field(default_factory=Conf)


class To(Spec):
    """Circuit breaking towards a destination."""

    target_ref: OutboundTargetRef
    default: Conf = Field(default_factory=Conf)


class MeshCircuitBreakerSpec(GoDecoded):
    """The spec of a MeshCircuitBreaker."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None
    rules: list[Rule] | None = None


def _positive(path: Path, *fields: tuple[str, int | None]) -> Errors:
    errors = Errors()
    for name, value in fields:
        errors.add(integer_greater_than(path.field(name), value, 0))
    return errors


def _validate_detectors(path: Path, detectors: Detectors | None) -> Errors:
    errors = Errors()
    if detectors is None:
        errors.at(path, MUST_BE_DEFINED)
        return errors
    kinds = ("totalFailures", "gatewayFailures", "localOriginFailures", "successRate", "failurePercentage")
    if all(getattr(detectors, name) is None for name in type(detectors).model_fields):
        errors.at(path, at_least_one(*kinds))
        return errors
    for name, consecutive in (
        ("totalFailures", detectors.total_failures),
        ("gatewayFailures", detectors.gateway_failures),
        ("localOriginFailures", detectors.local_origin_failures),
    ):
        if consecutive is not None:
            errors.add(_positive(path.field(name), ("consecutive", consecutive.consecutive)))
    if (rate := detectors.success_rate) is not None:
        at = path.field("successRate")
        errors.add(
            _positive(at, ("minimumHosts", rate.minimum_hosts), ("requestVolume", rate.request_volume))
        )
        if rate.standard_deviation_factor is not None:
            factor = decimal_of(rate.standard_deviation_factor)
            if factor is None:
                errors.at(at.field("standardDeviationFactor"), "invalid number")
            elif factor <= 0:
                errors.at(at.field("standardDeviationFactor"), HAS_TO_BE_GREATER_THAN_ZERO)
    if (failures := detectors.failure_percentage) is not None:
        at = path.field("failurePercentage")
        errors.add(
            _positive(
                at, ("minimumHosts", failures.minimum_hosts), ("requestVolume", failures.request_volume)
            )
        )
        errors.add(int_percentage_or_nil(at.field("threshold"), failures.threshold))
    return errors


def _validate_outlier_detection(path: Path, detection: OutlierDetection) -> Errors:
    errors = Errors()
    errors.add(duration_greater_than_zero_or_nil(path.field("interval"), detection.interval))
    errors.add(
        duration_greater_than_zero_or_nil(path.field("baseEjectionTime"), detection.base_ejection_time)
    )
    errors.add(int_percentage_or_nil(path.field("maxEjectionPercent"), detection.max_ejection_percent))
    errors.add(percentage_or_nil(path.field("healthyPanicThreshold"), detection.healthy_panic_threshold))
    errors.add(_validate_detectors(path.field("detectors"), detection.detectors))
    return errors


def _validate_default(path: Path, conf: Conf) -> Errors:
    errors = Errors()
    if conf.connection_limits is None and conf.outlier_detection is None:
        errors.at(path, "at least one of: 'connectionLimits' or 'outlierDetection' should be configured")
        return errors
    if (limits := conf.connection_limits) is not None:
        errors.add(
            _positive(
                path.field("connectionLimits"),
                ("maxConnections", limits.max_connections),
                ("maxConnectionPools", limits.max_connection_pools),
                ("maxPendingRequests", limits.max_pending_requests),
                ("maxRetries", limits.max_retries),
                ("maxRequests", limits.max_requests),
            )
        )
    if conf.outlier_detection is not None:
        errors.add(_validate_outlier_detection(path.field("outlierDetection"), conf.outlier_detection))
    return errors


def validate(spec: MeshCircuitBreakerSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshCircuitBreakerResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules, to = spec.rules or [], spec.to or []
    if spec.target_ref is not None:
        errors.add_at(
            path.field("targetRef"),
            validate_target_ref(spec.target_ref, ("Mesh", "Dataplane"), inbound_policy=bool(rules)),
        )
    if not rules and not to:
        errors.at(path, "at least one of 'to' or 'rules' has to be defined")
    for index, rule in enumerate(rules):
        errors.add(_validate_default(path.field("from").index(index).field("default"), rule.default))
    destinations = ("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService")
    for index, item in enumerate(to):
        at = path.field("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(item.target_ref, destinations))
        errors.add(_validate_default(at.field("default"), item.default))
    return errors


DEFINITION: Definition[MeshCircuitBreakerSpec] = Definition(
    name="MeshCircuitBreaker", spec=MeshCircuitBreakerSpec, validator=validate
)
