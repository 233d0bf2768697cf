"""MeshHTTPRoute's validator (Kuma's ``meshhttproute/api/v1alpha1/validation.go``), check for check."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kuma_cp.specs._policy_kit import at_least_one
from kuma_cp.specs._routes import BACKEND_KINDS, validate_backend_ref, validate_backend_refs
from kuma_cp.specs.common import validate_target_ref
from kuma_cp.specs.definition import Meta
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_DEFINED,
    MUST_NOT_BE_SET,
    Errors,
    Path,
    rfc1123_subdomain_errors,
)

if TYPE_CHECKING:
    from kuma_cp.specs._routes import HeaderMatch
    from kuma_cp.specs.meshhttproute import (
        Filter,
        HeaderModifier,
        Match,
        MeshHTTPRouteSpec,
        PathMatch,
        QueryParamsMatch,
        Rule,
        To,
    )

__all__ = ["validate"]

_ROOT = Path.root()
_PREFIX_ONLY = "can only appear if all matches match a path prefix"
_TRAILING_SLASH = (
    "does not need a trailing slash because only a `/`-separated prefix or an entire path is matched"
)


def _validate_path(match: PathMatch | None) -> Errors:
    errors = Errors()
    if match is None:
        return errors
    value = Path.rooted_at("value")
    if match.type == "PathPrefix" and match.value != "/":
        if match.value.endswith("/"):
            errors.at(value, _TRAILING_SLASH)
        if not match.value.startswith("/"):
            errors.at(value, "must be an absolute path")
    elif match.type == "Exact" and not match.value.startswith("/"):
        errors.at(value, "must be an absolute path")
    return errors


def _validate_headers(headers: Sequence[HeaderMatch]) -> Errors:
    errors = Errors()
    for index, header in enumerate(headers):
        if header.type in ("Present", "Absent") and header.value:
            errors.at(_ROOT.index(index).field("value"), MUST_NOT_BE_DEFINED)
    return errors


def _validate_query_params(matches: Sequence[QueryParamsMatch]) -> Errors:
    errors = Errors()
    seen: set[str] = set()
    for index, match in enumerate(matches):
        if match.name in seen:
            errors.at(_ROOT.index(index).field("name"), f"multiple entries for name {match.name}")
        seen.add(match.name)
    return errors


def _validate_matches(matches: Sequence[Match]) -> Errors:
    errors = Errors()
    for index, match in enumerate(matches):
        at = _ROOT.index(index)
        errors.add_at(at.field("path"), _validate_path(match.path))
        errors.add_at(at.field("queryParams"), _validate_query_params(match.query_params or []))
        errors.add_at(at.field("headers"), _validate_headers(match.headers or []))
    return errors


def _is_ip(value: str) -> bool:
    # k8s.io/utils/net.ParseIPSloppy: IPv4 parts may have leading zeros
    parts = value.split(".")
    if len(parts) == 4 and all(part.isascii() and part.isdigit() for part in parts):
        return all(int(part) <= 255 for part in parts)
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _validate_precise_hostname(hostname: str | None) -> Errors:
    errors = Errors()
    if hostname is None:
        return errors
    if _is_ip(hostname):
        errors.at(_ROOT, "cannot be an IP address")
        return errors
    for reason in rfc1123_subdomain_errors(hostname):
        errors.at(_ROOT, reason)
    return errors


def _validate_header_modifier(modifier: HeaderModifier) -> Errors:
    errors = Errors()
    if modifier.set is None and modifier.add is None and modifier.remove is None:
        errors.at(_ROOT, at_least_one("set", "add", "remove"))
        return errors
    seen: set[str] = set()
    names = (
        *(("set", i, h.name) for i, h in enumerate(modifier.set or [])),
        *(("add", i, h.name) for i, h in enumerate(modifier.add or [])),
        *(("remove", i, name) for i, name in enumerate(modifier.remove or [])),
    )
    for field, index, name in names:
        if name in seen:
            errors.at(_ROOT.field(field).index(index).field("name"), "duplicate header name")
        seen.add(name)
    return errors


def _any_match_without_prefix(matches: Sequence[Match]) -> bool:
    return any(match.path is None or match.path.type != "PathPrefix" for match in matches)


def _validate_filter(at: Path, item: Filter, matches: Sequence[Match]) -> Errors:
    errors = Errors()
    if item.type in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        request = item.type == "RequestHeaderModifier"
        field = at.field("requestHeaderModifier" if request else "responseHeaderModifier")
        modifier = item.request_header_modifier if request else item.response_header_modifier
        if modifier is None:
            errors.at(field, MUST_BE_DEFINED)
        else:
            errors.add_at(field, _validate_header_modifier(modifier))
    elif item.type in ("RequestRedirect", "URLRewrite"):
        redirect = item.type == "RequestRedirect"
        field = at.field("requestRedirect" if redirect else "urlRewrite")
        action = item.request_redirect if redirect else item.url_rewrite
        if action is None:
            errors.at(field, MUST_BE_DEFINED)
            return errors
        rewrite = action.path
        if (
            rewrite is not None
            and rewrite.replace_prefix_match is not None
            and _any_match_without_prefix(matches)
        ):
            errors.at(field.field("path").field("replacePrefixMatch"), _PREFIX_ONLY)
        errors.add_at(field.field("hostname"), _validate_precise_hostname(action.hostname))
        if item.url_rewrite is not None and not redirect and item.url_rewrite.host_to_backend_hostname:
            errors.at(field.field("hostToBackendHostname"), MUST_NOT_BE_SET)
            if item.url_rewrite.hostname is not None:
                errors.at(field.field("hostToBackendHostname"), "cannot be set together with hostname")
    elif item.type == "RequestMirror":
        if item.request_mirror is None:
            errors.at(at.field("requestMirror"), MUST_BE_DEFINED)
            return errors
        ref_path = at.field("requestMirror").field("backendRef")
        errors.add_at(ref_path, validate_target_ref(item.request_mirror.backend_ref, BACKEND_KINDS))
        errors.add_at(ref_path, validate_backend_ref(item.request_mirror.backend_ref))
    return errors


def _validate_rules(rules: Sequence[Rule]) -> Errors:
    errors = Errors()
    for index, rule in enumerate(rules):
        at = _ROOT.index(index)
        errors.add_at(at.field("matches"), _validate_matches(rule.matches))
        filters = Errors()
        for position, item in enumerate(rule.default.filters or []):
            filters.add(_validate_filter(_ROOT.index(position), item, rule.matches))
        errors.add_at(at.field("default").field("filters"), filters)
        errors.add_at(
            at.field("default").field("backendRefs"), validate_backend_refs(rule.default.backend_refs or [])
        )
    return errors


def _validate_tos(tos: Sequence[To]) -> Errors:
    errors = Errors()
    for index, to in enumerate(tos):
        at = _ROOT.index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(to.target_ref, BACKEND_KINDS))
        errors.add_at(at.field("rules"), _validate_rules(to.rules))
        if to.hostnames:
            errors.at(at.field("hostnames"), MUST_NOT_BE_DEFINED)
    return errors


def validate(spec: MeshHTTPRouteSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshHTTPRouteResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if spec.target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(spec.target_ref, ("Mesh", "Dataplane")))
    errors.add_at(path.field("to"), _validate_tos(spec.to or []))
    return errors
