"""What Kuma's policies share (``api/common/v1alpha1``): target references, matches, and their checks.

Kuma 3.0 selects by kind, labels and section name only (``TargetRef``); the top-level reference of a
policy may only be ``Mesh`` or ``Dataplane`` (`TopLevelTargetRef`, an OpenAPI enum), and each policy's
validator narrows the kinds allowed in ``to``, ``rules`` and ``from`` with `validate_target_ref`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from kuma_cp.specs.base import Spec
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_BE_SET,
    MUST_NOT_BE_SET,
    Errors,
    Path,
    go_quote,
    one_of_message,
    rfc1123_subdomain_errors,
)

__all__ = [
    "TARGET_REF_KINDS",
    "Match",
    "OutboundTargetRef",
    "TargetRef",
    "TopLevelTargetRef",
    "validate_match",
    "validate_target_ref",
]

TARGET_REF_KINDS = (
    "Mesh",
    "Dataplane",
    "MeshService",
    "MeshExternalService",
    "MeshMultiZoneService",
    "MeshHTTPRoute",
)
TargetRefKind = Literal[
    "Mesh", "Dataplane", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute"
]
OutboundKind = Literal["Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute"]


class TargetRef(Spec):
    """A reference to what a policy (or part of it) applies to."""

    kind: TargetRefKind
    labels: dict[str, str] | None = None
    section_name: str | None = None


class TopLevelTargetRef(Spec):
    """A policy's top-level ``targetRef``: the whole mesh or some Dataplanes."""

    kind: Literal["Mesh", "Dataplane"]
    labels: dict[str, str] | None = None
    section_name: str | None = None


class OutboundTargetRef(Spec):
    """A ``to[].targetRef``: a destination."""

    kind: OutboundKind
    labels: dict[str, str] | None = None
    section_name: str | None = None


class _StringMatch(Spec):
    type: Literal["Exact", "Prefix"]
    value: str


class _SNIMatch(Spec):
    type: Literal["Exact"]
    value: str


class Match(Spec):
    """A rule's source match (``rules[].matches[]``): a SPIFFE ID or an SNI."""

    spiffe_id: _StringMatch | None = Field(default=None, alias="spiffeID")
    sni: _SNIMatch | None = None


AnyTargetRef = TargetRef | TopLevelTargetRef | OutboundTargetRef


def validate_target_ref(
    ref: AnyTargetRef | None,
    kinds: Sequence[str],
    *,
    inbound_policy: bool = False,
    kinds_error: str = "",
) -> Errors:
    """Kuma's ``mesh.ValidateTargetRef``, violations rooted at the reference.

    Callers pass ``top_level(ref)`` where Kuma validates ``ToTargetRef()`` of an absent reference.
    """
    errors = Errors()
    if ref is None or not ref.kind:
        errors.violation("kind", MUST_BE_DEFINED)
        return errors
    kind = ref.kind
    if kind not in kinds:
        errors.violation("kind", kinds_error or f"value '{kind}' is not supported")
        return errors
    labels, section = ref.labels or {}, ref.section_name or ""
    if kind == "Mesh":
        if labels:
            errors.violation("labels", f"{MUST_NOT_BE_SET} with kind {kind}")
        if section:
            errors.violation("sectionName", f"{MUST_NOT_BE_SET} with kind {kind}")
    elif kind == "Dataplane":
        if not inbound_policy and section:
            errors.violation("sectionName", "can only be used with inbound policies")
    elif kind in ("MeshService", "MeshMultiZoneService"):
        if not labels:
            errors.violation("labels", f"{MUST_BE_SET} when kind is {kind}")
    elif kind in ("MeshHTTPRoute", "MeshExternalService"):
        if section:
            errors.violation("sectionName", f"{MUST_NOT_BE_SET} with kind {kind}")
        if not labels:
            errors.violation("labels", f"{MUST_BE_SET} when kind is {kind}")
    return errors


def top_level(ref: TopLevelTargetRef | None) -> TopLevelTargetRef:
    """Kuma's ``TopLevelTargetRef.ToTargetRef``: an absent top-level reference is the whole mesh."""
    return ref if ref is not None else TopLevelTargetRef(kind="Mesh")


_TD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-_")
_PATH_CHARS = _TD_CHARS | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _spiffe_id_error(value: str) -> str | None:
    # go-spiffe's spiffeid.FromString, its checks in its order and its messages
    if not value:
        return "cannot be empty"
    if not value.startswith("spiffe://"):
        return "scheme is missing or invalid"
    domain, slash, path = value[len("spiffe://") :].partition("/")
    if any(c not in _TD_CHARS for c in domain):
        return (
            "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores"
        )
    if not domain:
        return "trust domain is missing"
    if not slash:
        return None
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "":
            return "path cannot have a trailing slash" if last else "path cannot contain empty segments"
        if segment in (".", ".."):
            return "path cannot contain dot segments"
        if any(c not in _PATH_CHARS for c in segment):
            return "path segment characters are limited to letters, numbers, dots, dashes, and underscores"
    return None


def validate_match(match: Match, dns1123_subdomain_errors: Sequence[str] = ()) -> Errors:
    """Kuma's ``mesh.ValidateMatch``: a valid SPIFFE ID, a set SNI type and value."""
    errors = Errors()
    if match.spiffe_id is not None:
        reason = _spiffe_id_error(match.spiffe_id.value)
        if reason:
            errors.violation("spiffeID", f"must be a valid Spiffe ID: {reason}")
    if match.sni is not None:
        if not match.sni.value:
            errors.violation("sni.value", MUST_BE_SET)
        else:
            for reason in dns1123_subdomain_errors:
                errors.violation("sni.value", reason)
    return errors


def unrecognized(value: str, *supported: str) -> str:
    """Kuma's ``unrecognized type "X", supported values are: A, B``."""
    return f"unrecognized type {go_quote(value)}, supported values are: {', '.join(supported)}"


class BackendResourceRef(Spec):
    """A reference to a backend resource of the mesh (a MeshOpenTelemetryBackend), by labels."""

    kind: Literal["MeshOpenTelemetryBackend"]
    labels: dict[str, str] | None = None


_CONDITION_TYPE = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)


class Condition(Spec):
    """One condition of a resource's status (``api/common/v1alpha1.Condition``), set by the control plane."""

    type: str = Field(max_length=316, pattern=_CONDITION_TYPE)
    status: Literal["True", "False", "Unknown"]
    reason: str = Field(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field(max_length=32768)


class ConditionsStatus(Spec):
    """A policy's status: its conditions (``Generated``, ``BackendRefsResolved``...)."""

    conditions: list[Condition] | None = None


def check_match(match: Match) -> Errors:
    """Kuma's ``mesh.ValidateMatch`` whole: `validate_match` with the SNI's RFC 1123 subdomain check."""
    return validate_match(match, rfc1123_subdomain_errors(match.sni.value) if match.sni else ())


def validate_rule_matches(path: Path, matches: Sequence[Match]) -> tuple[Errors, bool]:
    """The checks of an inbound rule's ``matches`` (at *path*), and whether one is on a SPIFFE ID.

    Each match is checked as `check_match` does and must name a SPIFFE ID or an SNI; a SPIFFE ID match
    needs a known type. Callers refuse, when a SPIFFE ID is matched, what cannot depend on the source.
    """
    errors, spiffe = Errors(), False
    for index, match in enumerate(matches):
        where = path.index(index)
        errors.add_at(where, check_match(match))
        if match.spiffe_id is None and match.sni is None:
            errors.at(where, "must specify at least one of 'spiffeID' or 'sni'")
        elif match.spiffe_id is not None:
            spiffe = True
            if not match.spiffe_id.type:
                errors.at(where.field("spiffeID").field("type"), MUST_BE_SET)
            elif match.spiffe_id.type not in ("Exact", "Prefix"):
                reason = unrecognized(match.spiffe_id.type, "Exact", "Prefix")
                errors.at(where.field("spiffeID").field("type"), reason)
    return errors, spiffe


TLS_VERSIONS = ("TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13")
TlsVersionName = Literal["TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13"]


class TlsVersion(Spec):
    """The TLS versions allowed (``api/common/v1alpha1/tls.Version``): ``TLSAuto`` leaves it to Envoy."""

    min: TlsVersionName = "TLSAuto"
    max: TlsVersionName = "TLSAuto"


def validate_tls_version(version: TlsVersion) -> Errors:
    """Kuma's ``tls.ValidateVersion``: known versions, the minimum not above the maximum."""
    errors = Errors()
    for name in ("min", "max"):
        if getattr(version, name) not in TLS_VERSIONS:
            errors.violation(name, one_of_message(name, "must be", TLS_VERSIONS))
    order = {name: rank for rank, name in enumerate(TLS_VERSIONS[1:])}  # TLSAuto is never out of order
    if version.min in order and version.max in order and order[version.min] > order[version.max]:
        errors.violation("min", "min version must be lower than max")
    return errors


def validate_top_and_default(target_ref: TopLevelTargetRef | None, default: Errors) -> Errors:
    """The validator of a policy with one ``default`` (MeshMetric, MeshTrace, MeshPassthrough).

    Its top-level ``targetRef`` (Mesh or Dataplane), then *default*'s violations under ``spec.default``.
    """
    errors = Errors()
    path = Path.rooted_at("spec")
    if target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(target_ref, ("Mesh", "Dataplane")))
    errors.add_at(path.field("default"), default)
    return errors
