"""MeshRateLimit (``pkg/plugins/policies/meshratelimit``): local HTTP request and TCP connection limits.

Inbound limits are ``rules`` on a Dataplane; ``to`` is accepted only under a top-level ``Mesh`` (the
gateways' case), where ``rules`` are refused instead.
"""

from __future__ import annotations

from pydantic import Field

from kuma_cp.specs._policy_kit import GoDecoded, HeaderModifier, Uint32, at_least_one
from kuma_cp.specs.base import Duration, Spec
from kuma_cp.specs.common import (
    Match,
    OutboundTargetRef,
    TopLevelTargetRef,
    top_level,
    validate_rule_matches,
    validate_target_ref,
)
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_DEFINED,
    Errors,
    Path,
    duration_greater_than,
    integer_greater_than,
)

__all__ = ["DEFINITION", "MeshRateLimitSpec"]

_SOURCE_MSG = (
    "can't be specified when matches contain spiffeID because this field cannot be conditioned on source"
    " identity"
)


class Rate(Spec):
    """So many requests or connections per interval."""

    num: Uint32
    interval: Duration


class OnRateLimit(Spec):
    """The answer to a limited request."""

    status: Uint32 | None = None
    headers: HeaderModifier | None = None


class LocalHTTP(Spec):
    """The local HTTP request limit."""

    disabled: bool | None = None
    request_rate: Rate | None = None
    on_rate_limit: OnRateLimit | None = None


class LocalTCP(Spec):
    """The local TCP connection limit."""

    disabled: bool | None = None
    connection_rate: Rate | None = None


class Local(Spec):
    """Limits enforced by each proxy on its own."""

    http: LocalHTTP | None = None
    tcp: LocalTCP | None = None


class Conf(Spec):
    """What a rule or a ``to`` item limits."""

    local: Local | None = None


class Rule(Spec):
    """Inbound limits, optionally only for some sources."""

    matches: list[Match] | None = None
    # A Go struct, not a pointer: always marshalled; no schema default, so a null is refused.
    default: Conf = Field(default_factory=Conf)


class To(Spec):
    """Limits towards a destination (gateways)."""

    target_ref: OutboundTargetRef
    default: Conf = Field(default_factory=Conf)


class MeshRateLimitSpec(GoDecoded):
    """The spec of a MeshRateLimit."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None
    rules: list[Rule] | None = None


def _validate_rate(path: Path, rate: Rate) -> Errors:
    errors = Errors()
    errors.add(integer_greater_than(path.field("num"), rate.num, 0))
    errors.add(duration_greater_than(path.field("interval"), rate.interval, "50ms"))
    return errors


def _validate_default(path: Path, conf: Conf) -> Errors:
    errors = Errors()
    path = path.field("local")
    local = conf.local
    if local is None:
        errors.at(path, MUST_BE_DEFINED)
        return errors
    if local.tcp is None and local.http is None:
        errors.at(path, at_least_one("tcp", "http"))
    if (http := local.http) is not None:
        at = path.field("http")
        if http.disabled is None and http.request_rate is None and http.on_rate_limit is None:
            errors.at(at, at_least_one("disabled", "requestRate", "onRateLimit"))
        else:
            if http.request_rate is not None:
                errors.add(_validate_rate(at.field("requestRate"), http.request_rate))
            if http.on_rate_limit is not None:
                status = http.on_rate_limit.status
                errors.add(integer_greater_than(at.field("onRateLimit").field("status"), status, 0))
    if (tcp := local.tcp) is not None:
        at = path.field("tcp")
        if tcp.disabled is None and tcp.connection_rate is None:
            errors.at(at, at_least_one("disabled", "connectionRate"))
        elif tcp.connection_rate is not None:
            errors.add(_validate_rate(at.field("connectionRate"), tcp.connection_rate))
    return errors


def _validate_rules(top_kind: str, rules: list[Rule]) -> Errors:
    errors = Errors()
    if rules and top_kind in ("Mesh", "MeshHTTPRoute"):  # IncludesGateways, or a route
        errors.at(Path.rooted_at("rules"), MUST_NOT_BE_DEFINED)
        return errors
    for index, rule in enumerate(rules):
        at = Path.rooted_at("rules").index(index)
        matched, spiffe = validate_rule_matches(at.field("matches"), rule.matches or [])
        errors.add(matched)
        if spiffe and rule.default.local is not None and rule.default.local.tcp is not None:
            errors.at(at.field("default").field("local").field("tcp"), _SOURCE_MSG)
        errors.add(_validate_default(at.field("default"), rule.default))
    return errors


def _validate_to(top_kind: str, to: list[To]) -> Errors:
    errors = Errors()
    if to and top_kind not in ("Mesh", "MeshHTTPRoute"):  # IncludesGateways
        errors.at(Path.rooted_at("to"), MUST_NOT_BE_DEFINED)
        return errors
    for index, item in enumerate(to):
        at = Path.rooted_at("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(item.target_ref, ("Mesh",)))
        errors.add(_validate_default(at.field("default"), item.default))
    return errors


def validate(spec: MeshRateLimitSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshRateLimitResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules, to = spec.rules or [], spec.to or []
    if rules and to:
        errors.at(path, "field 'to' must be empty when 'rules' is defined")
    if not rules and not to:
        errors.at(path, "at least one of 'to' or 'rules' has to be defined")
    if spec.target_ref is not None:
        errors.add_at(
            path.field("targetRef"),
            validate_target_ref(spec.target_ref, ("Mesh", "Dataplane"), inbound_policy=bool(rules)),
        )
    top_kind: str = top_level(spec.target_ref).kind
    errors.add_at(path, _validate_rules(top_kind, rules))
    errors.add_at(path, _validate_to(top_kind, to))
    return errors


DEFINITION: Definition[MeshRateLimitSpec] = Definition(
    name="MeshRateLimit", spec=MeshRateLimitSpec, validator=validate
)
