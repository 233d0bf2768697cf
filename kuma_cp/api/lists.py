"""Listing resources: pagination, filters and the ``next`` link (``listResources``, ``pagination.go``).

``GET /<path>`` (all meshes, or a global type) and ``GET /meshes/{mesh}/<path>`` answer
``{"total": N, "items": [...], "next": "<url>" | null}``. Query parameters:

- ``size``: 1 to 1000, default 100; else 400 ``Invalid page size`` with Kuma's reasons.
- ``offset``: the opaque token of the previous ``next`` (a decimal index); a bad one is 400 with the
  store's message (Kuma's: ``invalid: invalid offset: strconv.Atoi: parsing "x": invalid syntax``).
- ``name``: only names containing it.
- ``filter[labels.<key>]=<value>``: only resources with that label value (ANDed). Other ``filter[...]``
  keys are refused as Kuma refuses them.
- Dataplanes only (Kuma's ``filters.Resource``): ``tag=<key>:<value>`` (repeatable, ANDed; a value
  without ``:`` is ignored) keeps a Dataplane whose gateway tags or whose labels have every key with a
  value containing the given one (``*``: any value). Kuma 3.0 removed inbound tags, so those are not
  looked at. ``gateway=true|false|delegated``: only Dataplanes that are (or are not) gateways.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

from starlette.requests import Request
from starlette.responses import Response

import kv
from kuma_cp.api.context import Api, Endpoint, query_parameter
from kuma_cp.api.errors import ApiError, Violation, json_response, validation_error
from kuma_cp.api.formats import formatter
from kuma_cp.resources import ResourceType
from kv.names import check_labels
from kv.store import parse_offset

__all__ = ["LIST_TITLE", "list_endpoint"]

LIST_TITLE = "Could not retrieve resources"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_ATOI = re.compile(r"[+-]?[0-9]+")
_INT64 = 2**63


def _size_error(reason: str) -> ApiError:
    return ApiError(400, LIST_TITLE, "Invalid page size", [("size", reason)])


def page_size(pairs: Sequence[tuple[str, str]]) -> int:
    """The ``size`` parameter as Kuma's ``pagination`` reads it (``strconv.Atoi``)."""
    text = query_parameter(pairs, "size")
    if not text:
        return DEFAULT_PAGE_SIZE
    if not _ATOI.fullmatch(text) or not -_INT64 <= int(text) < _INT64:
        raise _size_error("invalid format")
    size = int(text)
    if size <= 0:
        raise _size_error("must be greater than 0")
    if size > MAX_PAGE_SIZE:
        raise _size_error(f"invalid page size of {size}. Maximum page size is {MAX_PAGE_SIZE}")
    return size


def label_filters(pairs: Sequence[tuple[str, str]], route: str) -> dict[str, str]:
    """The ``filter[labels.<key>]`` parameters (the last value of each), or Kuma's violations."""
    violations: list[Violation] = []
    filters: dict[str, str] = {}
    for key in sorted({k for k, _ in pairs if k.startswith("filter[")}):
        field = f"{route}.{key}"
        if not key.startswith("filter[labels."):
            violations.append((field, "filters are only supported on labels"))
            continue
        closing = key.find("]")
        if closing != len(key) - 1:  # a suffix such as [eq], or no closing bracket at all
            violations.append((field, "advanced filters are not supported"))
            continue
        filters[key[len("filter[labels.") : closing]] = [v for k, v in pairs if k == key][-1]
    if violations:
        raise validation_error(LIST_TITLE, violations)
    return filters


Matcher = Callable[[kv.Record], bool]
_GATEWAY_MODES = ("", "true", "false", "delegated")


def _fuzzy(selector: Mapping[str, str], tags: Any) -> bool:
    """Kuma's ``TagSelector.MatchesFuzzy``: every key present, its value containing the wanted one."""
    if not selector:
        return True
    if not isinstance(tags, Mapping):
        return False
    return all(isinstance(tags.get(k), str) and (v == "*" or v in tags[k]) for k, v in selector.items())


def _gateway(record: kv.Record) -> Mapping[str, Any] | None:
    networking = record.spec.get("networking")
    gateway = networking.get("gateway") if isinstance(networking, Mapping) else None
    return gateway if isinstance(gateway, Mapping) else None


def _gateway_mode(mode: str, gateway: Mapping[str, Any] | None) -> bool:
    if mode == "true":
        return gateway is not None
    if mode == "false":
        return gateway is None
    if mode == "delegated":  # the type's zero value (absent) is DELEGATED
        return gateway is not None and gateway.get("type", "DELEGATED") in ("DELEGATED", 0)
    return True


def dataplane_filter(pairs: Sequence[tuple[str, str]], route: str) -> Matcher | None:
    """The ``gateway`` and ``tag`` filters of a Dataplane list; None when neither is given."""
    mode = query_parameter(pairs, "gateway").lower()
    if mode not in _GATEWAY_MODES:
        reason = f"should use `true`, `false` or `delegated` instead of {mode}"
        raise validation_error(LIST_TITLE, [(f"{route}.gateway", reason)])
    tags: dict[str, str] = {}
    for key, value in pairs:
        name, colon, wanted = value.partition(":")  # ":" may appear in a value: split at the first
        if key == "tag" and colon:
            tags[name] = wanted
    if not mode and not tags:
        return None

    def matches(record: kv.Record) -> bool:
        gateway = _gateway(record)
        if not _gateway_mode(mode, gateway):
            return False
        return _fuzzy(tags, gateway.get("tags") if gateway else None) or _fuzzy(tags, record.labels)

    return matches


def _filtered_page(records: Sequence[kv.Record], matches: Matcher, size: int, start: int) -> kv.Page:
    """A page of the records that *matches* keeps, from index *start*, with the store's page tokens."""
    kept = [record for record in records if matches(record)]
    end = start + size
    return kv.Page(tuple(kept[start:end]), len(kept), str(end) if end < len(kept) else "")


def next_link(request: Request, pairs: Sequence[tuple[str, str]], next_offset: str) -> str | None:
    """Kuma's ``nextLink``: this request's URL with ``offset`` replaced, keys sorted; None at the end."""
    if not next_offset:
        return None
    kept = [(k, v) for k, v in pairs if k != "offset"] + [("offset", next_offset)]
    query = "&".join(
        f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k, v in sorted(kept, key=lambda kv: kv[0])
    )
    scheme = "https" if request.url.scheme in ("https", "wss") else "http"
    host = request.headers.get("host", "")
    path = quote(request.scope.get("path", "/"), safe="$&+,/:;=@")
    return f"{scheme}://{host}{path}?{query}"


def _page(
    api: Api,
    rtype: ResourceType,
    mesh: str,
    name: str,
    labels: Mapping[str, str],
    size: int,
    offset: str,
    matches: Matcher | None = None,
) -> kv.Page:
    api.check_mesh(rtype, mesh)
    try:
        check_labels(api.catalog, labels)
    except kv.Invalid:  # no stored resource can carry such a label: nothing matches
        parse_offset(offset)  # a bad offset is still an error
        return kv.Page((), 0)
    if matches is not None:  # filtered here, so every record is read, then paged as the store pages
        start = parse_offset(offset)
        every = api.manager.list(rtype, mesh=mesh or None, name_contains=name or None, labels=labels or None)
        return _filtered_page(every.items, matches, size, start)
    return api.manager.list(
        rtype,
        mesh=mesh or None,
        name_contains=name or None,
        labels=labels or None,
        page_size=size,
        offset=offset or None,
    )


def list_endpoint(api: Api, rtype: ResourceType, route: str) -> Endpoint:
    """The handler of a list route of *rtype* (*route* is its template, named in filter violations)."""

    async def endpoint(request: Request) -> Response:
        pairs = request.query_params.multi_items()
        mesh = request.path_params.get("mesh", "")

        def work() -> Response:
            form = formatter(api, rtype, pairs, LIST_TITLE)
            size = page_size(pairs)
            labels = label_filters(pairs, route)
            matches = dataplane_filter(pairs, route) if rtype.name == "Dataplane" else None
            name, offset = query_parameter(pairs, "name"), query_parameter(pairs, "offset")
            page = _page(api, rtype, mesh, name, labels, size, offset, matches)
            body = {
                "total": page.total,
                "items": [form(record) for record in page.items],
                "next": next_link(request, pairs, page.next_offset),
            }
            return json_response(body)

        return await api.respond(LIST_TITLE, work)

    return endpoint
