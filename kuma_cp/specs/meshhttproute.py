"""MeshHTTPRoute (``pkg/plugins/policies/meshhttproute``): HTTP matches, filters and backends.

The models are here; the validator (Kuma's ``validation.go``) is in `_meshhttproute_validation`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kuma_cp.specs._godecode import GO_INT32, GoDecodedSpec, int_enum, max_items
from kuma_cp.specs._meshhttproute_validation import validate
from kuma_cp.specs._policy_kit import HeaderKeyValue
from kuma_cp.specs._routes import BackendRef, HeaderMatch
from kuma_cp.specs.base import IntOrString, Spec
from kuma_cp.specs.common import OutboundTargetRef, TopLevelTargetRef
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "MeshHTTPRouteSpec"]

PRECISE_HOSTNAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
PreciseHostname = Annotated[str, Field(min_length=1, max_length=253, pattern=PRECISE_HOSTNAME_PATTERN)]
Method = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]


class PathMatch(Spec):
    """A request path match."""

    value: str = Field(min_length=1)
    type: Literal["Exact", "PathPrefix", "RegularExpression"]


class QueryParamsMatch(Spec):
    """A query parameter match."""

    type: Literal["Exact", "RegularExpression"]
    name: str = Field(min_length=1)
    value: str


class Match(Spec):
    """What requests a rule applies to (every part given must match)."""

    path: PathMatch | None = None
    method: Method | None = None
    query_params: list[QueryParamsMatch] | None = None
    headers: list[HeaderMatch] | None = None


class HeaderModifier(Spec):
    """Headers to set, add and remove (at most 16 of each)."""

    set: Annotated[list[HeaderKeyValue] | None, max_items(16)] = None
    add: Annotated[list[HeaderKeyValue] | None, max_items(16)] = None
    remove: Annotated[list[str] | None, max_items(16)] = None


class PathRewrite(Spec):
    """A path rewrite: the full path, or the matched prefix."""

    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    replace_full_path: str | None = None
    replace_prefix_match: str | None = None


class RequestRedirect(Spec):
    """Answer with a redirect."""

    scheme: Literal["http", "https"] | None = None
    hostname: PreciseHostname | None = None
    path: PathRewrite | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    status_code: Annotated[int, int_enum(301, 302, 303, 307, 308)] = 302


class URLRewrite(Spec):
    """Rewrite the request before forwarding it."""

    hostname: PreciseHostname | None = None
    path: PathRewrite | None = None
    host_to_backend_hostname: bool | None = None


class RequestMirror(Spec):
    """Mirror (a share of) the requests to another backend."""

    percentage: Annotated[IntOrString | None, GO_INT32] = None
    backend_ref: BackendRef


class Filter(Spec):
    """One filter applied to matching requests; ``type`` names the one that must be given."""

    type: Literal[
        "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror"
    ]
    request_header_modifier: HeaderModifier | None = None
    response_header_modifier: HeaderModifier | None = None
    request_redirect: RequestRedirect | None = None
    url_rewrite: URLRewrite | None = None
    request_mirror: RequestMirror | None = None


class RuleConf(Spec):
    """What a rule does: filters and backends."""

    filters: list[Filter] | None = None
    backend_refs: list[BackendRef] | None = None


class Rule(Spec):
    """Matches and what to do with the requests they match."""

    matches: list[Match] = Field(min_length=1)
    default: RuleConf


class To(Spec):
    """The rules for traffic to a destination."""

    hostnames: list[str] | None = None
    target_ref: OutboundTargetRef
    rules: list[Rule]


class MeshHTTPRouteSpec(GoDecodedSpec):
    """The spec of a MeshHTTPRoute."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None


DEFINITION: Definition[MeshHTTPRouteSpec] = Definition(
    name="MeshHTTPRoute", spec=MeshHTTPRouteSpec, validator=validate
)
