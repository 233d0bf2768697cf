"""MeshTimeout (``pkg/plugins/policies/meshtimeout``): connection, idle and HTTP timeouts."""

from __future__ import annotations

from pydantic import Field

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
    Errors,
    Path,
    duration_greater_than_zero_or_nil,
    duration_not_negative_or_nil,
    must_be_nil,
)

__all__ = ["DEFINITION", "MeshTimeoutSpec"]


class Http(Spec):
    """HTTP timeouts."""

    request_timeout: Duration | None = None
    stream_idle_timeout: Duration | None = None
    max_stream_duration: Duration | None = None
    max_connection_duration: Duration | None = None
    request_headers_timeout: Duration | None = None


class Conf(Spec):
    """The timeouts a rule or a ``to`` item sets."""

    connection_timeout: Duration | None = None
    idle_timeout: Duration | None = None
    http: Http | None = None


class To(Spec):
    """Timeouts towards a destination."""

    target_ref: OutboundTargetRef
    default: Conf = Field(default_factory=Conf)  # a Go struct, not a pointer: always marshalled


class Rule(Spec):
    """Inbound timeouts, optionally only for some sources."""

    matches: list[Match] | None = None
    default: Conf = Field(default_factory=Conf)


class MeshTimeoutSpec(Spec):
    """The spec of a MeshTimeout."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None
    rules: list[Rule] | None = None


_SOURCE_MSG = (
    "can't be specified when matches contain spiffeID because this field cannot be conditioned on source"
    " identity"
)
_ROUTE_MSG = "can't be specified when top-level TargetRef is referencing MeshHTTPRoute"


def _validate_http(path: Path, http: Http | None) -> Errors:
    errors = Errors()
    if http is None:
        return errors
    fields = (
        ("requestTimeout", http.request_timeout),
        ("streamIdleTimeout", http.stream_idle_timeout),
        ("maxStreamDuration", http.max_stream_duration),
        ("maxConnectionDuration", http.max_connection_duration),
    )
    if all(value is None for _, value in fields):
        errors.at(path, "at least one timeout in this section should be configured")
    for name, value in (*fields, ("requestHeadersTimeout", http.request_headers_timeout)):
        errors.add(duration_not_negative_or_nil(path.field(name), value))
    return errors


def _validate_default(path: Path, conf: Conf, top_kind: str) -> Errors:
    errors = Errors()
    if conf.connection_timeout is None and conf.idle_timeout is None and conf.http is None:
        errors.at(path, "at least one timeout should be configured")
        return errors
    if top_kind == "MeshHTTPRoute":  # unreachable in 3.0 (an OpenAPI enum), kept as Kuma keeps it
        errors.add(must_be_nil(path.field("connectionTimeout"), conf.connection_timeout, _ROUTE_MSG))
        errors.add(must_be_nil(path.field("idleTimeout"), conf.idle_timeout, _ROUTE_MSG))
        if conf.http is not None:
            http = path.field("http")
            errors.add(
                must_be_nil(http.field("maxStreamDuration"), conf.http.max_stream_duration, _ROUTE_MSG)
            )
            errors.add(
                must_be_nil(
                    http.field("maxConnectionDuration"), conf.http.max_connection_duration, _ROUTE_MSG
                )
            )
    errors.add(duration_greater_than_zero_or_nil(path.field("connectionTimeout"), conf.connection_timeout))
    errors.add(duration_not_negative_or_nil(path.field("idleTimeout"), conf.idle_timeout))
    errors.add(_validate_http(path.field("http"), conf.http))
    return errors


def _validate_source_conditioned(path: Path, conf: Conf) -> Errors:
    errors = Errors()
    errors.add(must_be_nil(path.field("connectionTimeout"), conf.connection_timeout, _SOURCE_MSG))
    errors.add(must_be_nil(path.field("idleTimeout"), conf.idle_timeout, _SOURCE_MSG))
    if conf.http is not None:
        http = path.field("http")
        errors.add(
            must_be_nil(http.field("requestHeadersTimeout"), conf.http.request_headers_timeout, _SOURCE_MSG)
        )
        errors.add(must_be_nil(http.field("maxStreamDuration"), conf.http.max_stream_duration, _SOURCE_MSG))
        errors.add(
            must_be_nil(http.field("maxConnectionDuration"), conf.http.max_connection_duration, _SOURCE_MSG)
        )
    return errors


def _validate_matches(path: Path, default_path: Path, matches: list[Match], conf: Conf) -> Errors:
    errors, spiffe = validate_rule_matches(path, matches)
    if spiffe:
        errors.add(_validate_source_conditioned(default_path, conf))
    return errors


def validate(spec: MeshTimeoutSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshTimeoutResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules, to = spec.rules or [], spec.to or []
    if spec.target_ref is not None:
        errors.add_at(
            path.field("targetRef"),
            validate_target_ref(spec.target_ref, ("Mesh", "Dataplane"), inbound_policy=bool(rules)),
        )
    if rules and to:
        errors.at(path, "fields 'to' must be empty when 'rules' is defined")
    if not rules and not to:
        errors.at(path, "at least one of 'to' or 'rules' has to be defined")
    top_kind: str = top_level(spec.target_ref).kind
    destinations = ("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute")
    for index, item in enumerate(to):
        at = Path.rooted_at("to").index(index)
        kinds = ("Mesh", "MeshExternalService") if top_kind == "MeshHTTPRoute" else destinations
        errors.add_at(path.concat(at.field("targetRef")), validate_target_ref(item.target_ref, kinds))
        errors.add_at(path, _validate_default(at.field("default"), item.default, top_kind))
    for index, rule in enumerate(rules):
        at = Path.rooted_at("rules").index(index)
        errors.add_at(
            path,
            _validate_matches(at.field("matches"), at.field("default"), rule.matches or [], rule.default),
        )
        errors.add_at(path, _validate_default(at.field("default"), rule.default, top_kind))
    return errors


DEFINITION: Definition[MeshTimeoutSpec] = Definition(
    name="MeshTimeout", spec=MeshTimeoutSpec, validator=validate
)
