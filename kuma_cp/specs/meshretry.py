"""MeshRetry (``pkg/plugins/policies/meshretry``): TCP, HTTP and gRPC retries towards destinations.

Kuma's validator roots a ``to`` item's configuration at ``conf`` (``spec.to[0].default.conf.http``),
although the document has no such field; the violations keep that path, as clients see it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kuma_cp.specs._policy_kit import GoDecoded, HeaderMatch, HeaderName, Uint32
from kuma_cp.specs.base import Duration, Spec
from kuma_cp.specs.common import OutboundTargetRef, TopLevelTargetRef, top_level, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    HAS_TO_BE_GREATER_THAN_ZERO,
    MUST_BE_DEFINED,
    MUST_BE_DEFINED_AND_GREATER_THAN_ZERO,
    MUST_NOT_BE_EMPTY,
    Errors,
    Path,
    duration_greater_than_zero,
    string_defined,
)

__all__ = ["DEFINITION", "MeshRetrySpec"]

GRPCRetryOn = Literal["Canceled", "DeadlineExceeded", "Internal", "ResourceExhausted", "Unavailable"]
HTTP_RETRY_ON = frozenset(
    {
        "5xx",
        "GatewayError",
        "Reset",
        "Retriable4xx",
        "ConnectFailure",
        "EnvoyRatelimited",
        "RefusedStream",
        "Http3PostConnectFailure",
        *(f"HttpMethod{m}" for m in ("Connect", "Delete", "Get", "Head", "Options", "Patch", "Post", "Put")),
        "HttpMethodTrace",
    }
)
# The codes Go's http.StatusText knows (net/http/status.go).
_STATUS_CODES = frozenset(
    {
        *range(100, 104),
        *range(200, 209),
        226,
        *range(300, 306),
        307,
        308,
        *range(400, 419),
        *range(421, 427),
        *(428, 429, 431, 451),
        *range(500, 509),
        510,
        511,
    }
)


class TCP(Spec):
    """TCP retries."""

    max_connect_attempt: Uint32 | None = None


class BackOff(Spec):
    """The exponential back-off between retries."""

    base_interval: Duration | None = None
    max_interval: Duration | None = None


class ResetHeader(Spec):
    """A response header telling when to retry."""

    name: HeaderName
    format: Literal["Seconds", "UnixTimestamp"]


class RateLimitedBackOff(Spec):
    """The back-off when the upstream rate-limits, read from its headers."""

    reset_headers: list[ResetHeader] | None = None
    max_interval: Duration | None = None


class Predicate(Spec):
    """How to choose another host for a retry."""

    predicate: Literal["OmitPreviousHosts", "OmitHostsWithTags", "OmitPreviousPriorities"]
    tags: dict[str, str] | None = None
    update_frequency: int = 2


class HTTP(Spec):
    """HTTP retries."""

    num_retries: Uint32 | None = None
    per_try_timeout: Duration | None = None
    back_off: BackOff | None = None
    rate_limited_back_off: RateLimitedBackOff | None = None
    retry_on: list[str] | None = None
    retriable_response_headers: list[HeaderMatch] | None = None
    retriable_request_headers: list[HeaderMatch] | None = None
    host_selection: list[Predicate] | None = None
    host_selection_max_attempts: int | None = None


class GRPC(Spec):
    """gRPC retries."""

    num_retries: Uint32 | None = None
    per_try_timeout: Duration | None = None
    back_off: BackOff | None = None
    rate_limited_back_off: RateLimitedBackOff | None = None
    retry_on: list[GRPCRetryOn] | None = None


class Conf(Spec):
    """The retries towards a destination."""

    tcp: TCP | None = None
    http: HTTP | None = None
    grpc: GRPC | None = None


class To(Spec):
    """Retries towards a destination."""

    target_ref: OutboundTargetRef
    # A Go struct, not a pointer: always marshalled; no schema default, so a null is refused.
    default: Conf = Field(default_factory=Conf)


class MeshRetrySpec(GoDecoded):
    """The spec of a MeshRetry."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None


def _http_retry_on_known(value: str) -> bool:
    if value in HTTP_RETRY_ON:
        return True
    digits = value[1:] if value[:1] in "+-" else value
    return digits.isascii() and digits.isdigit() and int(value) in _STATUS_CODES  # strconv.Atoi


def _validate_back_offs(path: Path, back_off: BackOff | None, limited: RateLimitedBackOff | None) -> Errors:
    errors = Errors()
    if back_off is not None and back_off.base_interval is None and back_off.max_interval is None:
        errors.at(path.field("backOff"), MUST_NOT_BE_EMPTY)
    if limited is not None:
        at = path.field("rateLimitedBackOff")
        if limited.max_interval is not None:
            errors.add(duration_greater_than_zero(at.field("maxInterval"), limited.max_interval))
        if limited.reset_headers is None:
            errors.at(at.field("resetHeaders"), MUST_BE_DEFINED)
        for index, header in enumerate(limited.reset_headers or []):
            errors.add(string_defined(at.field("resetHeaders").index(index).field("name"), header.name))
    return errors


def _validate_host_selection(path: Path, predicates: list[Predicate]) -> Errors:
    errors = Errors()
    priority = False
    for index, predicate in enumerate(predicates):
        at = path.index(index)
        if predicate.predicate == "OmitHostsWithTags" and predicate.tags is None:
            errors.at(at.field("tags"), MUST_BE_DEFINED)
        elif predicate.predicate == "OmitPreviousPriorities":
            if priority:
                errors.at(at.field("predicate"), "OmitPreviousPriorities must only be specified once")
            if predicate.update_frequency <= 0:
                errors.at(at.field("updateFrequency"), MUST_BE_DEFINED_AND_GREATER_THAN_ZERO)
            priority = True
    return errors


def _validate_http(path: Path, http: HTTP) -> Errors:
    errors = Errors()
    configured = (
        http.num_retries,
        http.per_try_timeout,
        http.back_off,
        http.retry_on,
        http.retriable_request_headers,
        http.retriable_response_headers,
        http.rate_limited_back_off,
        http.host_selection,
    )
    if all(value is None for value in configured):
        errors.at(path, MUST_NOT_BE_EMPTY)
    errors.add(_validate_back_offs(path, http.back_off, http.rate_limited_back_off))
    for index, item in enumerate(http.retry_on or []):
        if not _http_retry_on_known(item):
            errors.at(path.field("retryOn").index(index), f"unknown item '{item}'")
    if http.host_selection is not None:
        errors.add(_validate_host_selection(path.field("hostSelection"), http.host_selection))
    return errors


def _validate_grpc(path: Path, grpc: GRPC) -> Errors:
    errors = Errors()
    configured = (
        grpc.num_retries,
        grpc.per_try_timeout,
        grpc.back_off,
        grpc.retry_on,
        grpc.rate_limited_back_off,
    )
    if all(value is None for value in configured):
        errors.at(path, MUST_NOT_BE_EMPTY)
    errors.add(_validate_back_offs(path, grpc.back_off, grpc.rate_limited_back_off))
    return errors  # retryOn: an OpenAPI enum already


def _validate_default(conf: Conf) -> Errors:
    errors = Errors()
    path = Path.rooted_at("conf")
    if conf.tcp is None and conf.http is None and conf.grpc is None:
        errors.at(path, "at least one of the 'tcp', 'http', 'grpc' must be specified")
    if conf.tcp is not None:
        if conf.tcp.max_connect_attempt is None:
            errors.at(path.field("tcp"), MUST_NOT_BE_EMPTY)
        elif conf.tcp.max_connect_attempt == 0:
            errors.at(path.field("tcp").field("maxConnectAttempt"), HAS_TO_BE_GREATER_THAN_ZERO)
    if conf.http is not None:
        errors.add(_validate_http(path.field("http"), conf.http))
    if conf.grpc is not None:
        errors.add(_validate_grpc(path.field("grpc"), conf.grpc))
    return errors


def validate(spec: MeshRetrySpec, meta: Meta) -> Errors:
    """Kuma's ``MeshRetryResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if spec.target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(spec.target_ref, ("Mesh", "Dataplane")))
    top_kind: str = top_level(spec.target_ref).kind
    if top_kind == "MeshHTTPRoute":  # unreachable in 3.0 (an OpenAPI enum), kept as Kuma keeps it
        kinds: tuple[str, ...] = ("Mesh", "MeshExternalService")
    else:
        kinds = ("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute")
    for index, item in enumerate(spec.to or []):
        at = path.field("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(item.target_ref, kinds))
        errors.add_at(at.field("default"), _validate_default(item.default))
    return errors


DEFINITION: Definition[MeshRetrySpec] = Definition(name="MeshRetry", spec=MeshRetrySpec, validator=validate)
