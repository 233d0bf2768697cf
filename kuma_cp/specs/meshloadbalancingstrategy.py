"""MeshLoadBalancingStrategy (``pkg/plugins/policies/meshloadbalancingstrategy``): algorithms and locality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field

from kuma_cp.specs._godecode import GO_INT32, GoDecodedSpec
from kuma_cp.specs._policy_kit import Uint32
from kuma_cp.specs.base import Duration, IntOrString, Spec
from kuma_cp.specs.common import OutboundTargetRef, TopLevelTargetRef, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_EMPTY,
    MUST_NOT_BE_SET,
    Errors,
    Path,
    int_or_string_at_least,
    integer_greater_than,
    percentage,
)

__all__ = ["DEFINITION", "MeshLoadBalancingStrategySpec"]


class AffinityTag(Spec):
    """A tag local-zone traffic prefers endpoints sharing, with its weight."""

    key: str
    weight: Uint32 | None = None


class LocalZone(Spec):
    """Priorities inside the local zone."""

    affinity_tags: list[AffinityTag] | None = None


class FromZone(Spec):
    """The zones a failover rule applies to."""

    zones: list[str]


class ToZone(Spec):
    """The zones a failover rule sends traffic to."""

    type: Literal["None", "Only", "Any", "AnyExcept"]
    zones: list[str] | None = None


class Failover(Spec):
    """One failover rule, in priority order."""

    from_: FromZone | None = Field(default=None, alias="from")
    to: ToZone


class FailoverThreshold(Spec):
    """The share of live endpoints below which the next priority is used."""

    percentage: Annotated[IntOrString, GO_INT32]


class CrossZone(Spec):
    """Priorities when the local zone's endpoints are unavailable."""

    failover: list[Failover] | None = None
    failover_threshold: FailoverThreshold | None = None


class LocalityAwareness(Spec):
    """Locality-aware load balancing."""

    disabled: bool | None = None
    local_zone: LocalZone | None = None
    cross_zone: CrossZone | None = None


class RoundRobin(Spec):
    """Round robin (no settings)."""


class Random(Spec):
    """Random choice (no settings)."""


class LeastRequest(Spec):
    """The fewest active requests among a few random hosts."""

    choice_count: int | None = Field(default=None, ge=2)
    active_request_bias: Annotated[IntOrString | None, GO_INT32] = None


class RingHash(Spec):
    """Consistent hashing on a ring."""

    hash_function: Literal["XXHash", "MurmurHash2"] | None = None
    min_ring_size: int | None = Field(default=None, ge=1, le=8000000)
    max_ring_size: int | None = Field(default=None, ge=1, le=8000000)


class Maglev(Spec):
    """Maglev consistent hashing."""

    table_size: int | None = Field(default=None, ge=1, le=5000011)


class LoadBalancer(Spec):
    """The load balancing algorithm (``type``) and its settings."""

    type: Literal["RoundRobin", "LeastRequest", "RingHash", "Random", "Maglev"]
    round_robin: RoundRobin | None = None
    least_request: LeastRequest | None = None
    ring_hash: RingHash | None = None
    random: Random | None = None
    maglev: Maglev | None = None


class Header(Spec):
    """Hash on a request header."""

    name: str = Field(min_length=1)


class Cookie(Spec):
    """Hash on a cookie (generated with the TTL when absent)."""

    name: str = Field(min_length=1)
    ttl: Duration | None = None
    path: str | None = None


class Connection(Spec):
    """Hash on the connection."""

    source_ip: bool | None = Field(default=None, alias="sourceIP")


class QueryParameter(Spec):
    """Hash on a URL query parameter."""

    name: str = Field(min_length=1)


class FilterState(Spec):
    """Hash on an object of Envoy's per-request filter state."""

    key: str = Field(min_length=1)


class HashPolicy(Spec):
    """One property the hash is computed from (``type`` names the one given)."""

    type: Literal["Header", "Cookie", "Connection", "QueryParameter", "FilterState"]
    terminal: bool | None = None
    header: Header | None = None
    cookie: Cookie | None = None
    connection: Connection | None = None
    query_parameter: QueryParameter | None = None
    filter_state: FilterState | None = None


class Conf(Spec):
    """The load balancing towards a destination."""

    locality_awareness: LocalityAwareness | None = None
    load_balancer: LoadBalancer | None = None
    hash_policies: list[HashPolicy] | None = None


class To(Spec):
    """The load balancing of the traffic to a destination."""

    target_ref: OutboundTargetRef
    default: Conf = Conf()  # a Go struct: always marshalled


class MeshLoadBalancingStrategySpec(GoDecodedSpec):
    """The spec of a MeshLoadBalancingStrategy."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None


_ROOT = Path.root()
_HASH_FIELDS = {  # a hash policy's type: its field, by JSON name and attribute
    "Header": ("header", "header"),
    "Cookie": ("cookie", "cookie"),
    "Connection": ("connection", "connection"),
    "QueryParameter": ("queryParameter", "query_parameter"),
    "FilterState": ("filterState", "filter_state"),
}
_ONLY_HASH_POLICIES = (
    "field is not allowed when targetRef.kind is MeshHTTPRoute, only hashPolicies is supported"
)


def _validate_local_zone(zone: LocalZone | None) -> Errors:
    errors = Errors()
    if zone is None:
        return errors
    tags = zone.affinity_tags or []
    weighted = 0
    for index, tag in enumerate(tags):
        at = Path.rooted_at("affinityTags").index(index)
        if not tag.key:
            errors.at(at.field("key"), MUST_NOT_BE_EMPTY)
        if tag.weight is not None:
            errors.add(integer_greater_than(at.field("weight"), tag.weight, 0))
            weighted += 1
    if weighted and weighted != len(tags):
        errors.violation("affinityTags", "all or none affinity tags should have weight")
    return errors


def _validate_failover(at: Path, failover: Failover) -> Errors:
    errors = Errors()
    if failover.from_ is not None:
        zones = at.field("from").field("zones")
        if not failover.from_.zones:
            errors.at(zones, MUST_NOT_BE_EMPTY)
        for index, zone in enumerate(failover.from_.zones):
            if not zone:
                errors.at(zones.index(index), MUST_NOT_BE_EMPTY)
    kind, zones_path = failover.to.type, at.field("to").field("zones")
    if kind in ("Any", "None") and failover.to.zones:
        errors.at(zones_path, f"must be empty when type is {kind}")
    elif kind in ("AnyExcept", "Only") and not failover.to.zones:
        errors.at(zones_path, f"must not be empty when type is {kind}")
    return errors


def _validate_cross_zone(cross: CrossZone | None, target: OutboundTargetRef) -> Errors:
    errors = Errors()
    if cross is None:
        return errors
    if target.kind == "MeshService" and (target.section_name or target.labels):
        errors.at(_ROOT, f"{MUST_NOT_BE_SET}: MeshService traffic is local")
    for index, failover in enumerate(cross.failover or []):
        errors.add(_validate_failover(Path.rooted_at("failover").index(index), failover))
    if cross.failover_threshold is not None:
        threshold = Path.rooted_at("failoverThreshold").field("percentage")
        errors.add(percentage(threshold, cross.failover_threshold.percentage, allow_zero=False))
    return errors


def _validate_load_balancer(balancer: LoadBalancer | None) -> Errors:
    errors = Errors()
    if balancer is not None and balancer.type == "LeastRequest" and balancer.least_request is not None:
        bias = Path.rooted_at("leastRequest").field("activeRequestBias")
        errors.add(int_or_string_at_least(bias, balancer.least_request.active_request_bias, 0))
    return errors


def _absolute_or_none(cookie: Cookie | None) -> bool:
    return cookie is None or cookie.path is None or cookie.path.startswith("/")


def _validate_hash_policies(policies: Sequence[HashPolicy] | None) -> Errors:
    errors = Errors()
    for index, policy in enumerate(policies or []):
        field, attribute = _HASH_FIELDS[policy.type]
        if getattr(policy, attribute) is None:
            errors.at(_ROOT.index(index).field(field), MUST_BE_DEFINED)
        elif policy.type == "Cookie" and not _absolute_or_none(policy.cookie):
            errors.at(_ROOT.index(index).field("cookie").field("path"), "must be an absolute path")
    return errors


def _validate_conf(conf: Conf, target: OutboundTargetRef) -> Errors:
    errors = Errors()
    if target.kind == "MeshHTTPRoute":
        errors.add_at(Path.rooted_at("hashPolicies"), _validate_hash_policies(conf.hash_policies))
        if conf.load_balancer is not None:
            errors.violation("loadBalancer", _ONLY_HASH_POLICIES)
        if conf.locality_awareness is not None:
            errors.violation("localityAwareness", _ONLY_HASH_POLICIES)
        return errors
    errors.add_at(Path.rooted_at("loadBalancer"), _validate_load_balancer(conf.load_balancer))
    locality = Errors()
    if conf.locality_awareness is not None:
        locality.add_at(Path.rooted_at("localZone"), _validate_local_zone(conf.locality_awareness.local_zone))
        cross = _validate_cross_zone(conf.locality_awareness.cross_zone, target)
        locality.add_at(Path.rooted_at("crossZone"), cross)
    errors.add_at(Path.rooted_at("localityAwareness"), locality)
    errors.add_at(Path.rooted_at("hashPolicies"), _validate_hash_policies(conf.hash_policies))
    return errors


def validate(spec: MeshLoadBalancingStrategySpec, meta: Meta) -> Errors:
    """Kuma's ``MeshLoadBalancingStrategyResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if spec.target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(spec.target_ref, ("Mesh", "Dataplane")))
    destinations = ("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute")
    for index, to in enumerate(spec.to or []):
        at = path.field("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(to.target_ref, destinations))
        errors.add_at(at.field("default"), _validate_conf(to.default, to.target_ref))
    return errors


DEFINITION: Definition[MeshLoadBalancingStrategySpec] = Definition(
    name="MeshLoadBalancingStrategy", spec=MeshLoadBalancingStrategySpec, validator=validate
)
