"""MeshFaultInjection (``pkg/plugins/policies/meshfaultinjection``): aborts, delays and bandwidth limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from kuma_cp.specs._godecode import GO_INT32, GoDecodedSpec
from kuma_cp.specs.base import Duration, IntOrString, Spec
from kuma_cp.specs.common import (
    Match,
    OutboundTargetRef,
    TopLevelTargetRef,
    check_match,
    top_level,
    validate_target_ref,
)
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    MUST_NOT_BE_DEFINED,
    Errors,
    Path,
    bandwidth,
    duration_not_negative,
    percentage,
    status_code,
)

__all__ = ["DEFINITION", "MeshFaultInjectionSpec"]

Percentage = Annotated[IntOrString, GO_INT32]


class AbortConf(Spec):
    """Answer a share of the requests with a status code instead of forwarding them."""

    http_status: int
    percentage: Percentage


class DelayConf(Spec):
    """Delay a share of the responses."""

    value: Duration
    percentage: Percentage


class ResponseBandwidthConf(Spec):
    """Limit the bandwidth of a share of the responses (``10kbps``, ``1 Mbps``...)."""

    limit: str
    percentage: Percentage


class FaultInjectionConf(Spec):
    """One set of HTTP faults."""

    abort: AbortConf | None = None
    delay: DelayConf | None = None
    response_bandwidth: ResponseBandwidthConf | None = None


class Conf(Spec):
    """The faults a rule or a ``to`` item injects."""

    http: list[FaultInjectionConf] | None = None


class Rule(Spec):
    """Inbound faults, optionally only for some sources."""

    matches: list[Match] | None = None
    default: Conf


class To(Spec):
    """Faults on the traffic to a destination (only the mesh's gateways have outbound faults)."""

    target_ref: OutboundTargetRef
    default: Conf = Conf()  # a Go struct: always marshalled


class MeshFaultInjectionSpec(GoDecodedSpec):
    """The spec of a MeshFaultInjection."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None
    rules: list[Rule] | None = None


def _validate_default(path: Path, conf: Conf) -> Errors:
    errors = Errors()
    http = path.field("http")
    for index, fault in enumerate(conf.http or []):  # Kuma's paths: http.abort[0], not http[0].abort
        if fault.abort is not None:
            at = http.field("abort").index(index)
            errors.add(status_code(at.field("httpStatus"), fault.abort.http_status))
            errors.add(percentage(at.field("percentage"), fault.abort.percentage, allow_zero=True))
        if fault.delay is not None:
            at = http.field("delay").index(index)
            errors.add(duration_not_negative(at.field("value"), fault.delay.value))
            errors.add(percentage(at.field("percentage"), fault.delay.percentage, allow_zero=True))
        if fault.response_bandwidth is not None:
            at = http.field("responseBandwidth").index(index)
            errors.add(bandwidth(at.field("limit"), fault.response_bandwidth.limit))
            errors.add(
                percentage(at.field("percentage"), fault.response_bandwidth.percentage, allow_zero=True)
            )
    return errors


def _validate_rules(rules: Sequence[Rule]) -> Errors:
    errors = Errors()
    for index, rule in enumerate(rules):
        at = Path.rooted_at("rules").index(index)
        matches = Errors()
        for position, match in enumerate(rule.matches or []):
            matches.add_at(Path.rooted_at("matches").index(position), check_match(match))
        errors.add_at(at, matches)
        errors.add(_validate_default(at.field("default"), rule.default))
    return errors


def _validate_to(top_kind: str, tos: Sequence[To]) -> Errors:
    errors = Errors()
    if top_kind not in ("Mesh", "MeshHTTPRoute") and tos:  # common_api.IncludesGateways
        errors.at(Path.rooted_at("to"), MUST_NOT_BE_DEFINED)
        return errors
    for index, to in enumerate(tos):
        at = Path.rooted_at("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(to.target_ref, ("Mesh",)))
        errors.add(_validate_default(at.field("default"), to.default))
    return errors


def validate(spec: MeshFaultInjectionSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshFaultInjectionResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules = spec.rules or []
    if spec.target_ref is not None:
        kinds = ("Mesh", "Dataplane")
        errors.add_at(
            path.field("targetRef"), validate_target_ref(spec.target_ref, kinds, inbound_policy=bool(rules))
        )
    errors.add_at(path, _validate_rules(rules))
    errors.add_at(path, _validate_to(top_level(spec.target_ref).kind, spec.to or []))
    return errors


DEFINITION: Definition[MeshFaultInjectionSpec] = Definition(
    name="MeshFaultInjection", spec=MeshFaultInjectionSpec, validator=validate
)
