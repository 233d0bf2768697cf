"""``GET``, ``PUT`` and ``DELETE`` of one resource, plus entity tags.

Kuma's ``findResource``, ``createOrUpdateResource`` and ``deleteResource``, step by step.

Beyond Kuma: a GET answers ``ETag: "<version>"`` (so does a successful PUT), and a PUT or DELETE with
``If-Match`` is applied only while the resource is still at one of the given versions, else 412
``Precondition Failed`` and nothing changes; ``If-Match: *`` requires the resource to exist. The check
is the store's compare-and-set: a PUT updates with the matched version, a DELETE deletes at the matched
version (kv's conditional delete, atomic on every backend). Without
``If-Match`` everything is as in Kuma: a lost race is 409 ``Conflict``.
"""

from __future__ import annotations

import re

import attrs
from attrs import frozen
from starlette.requests import Request
from starlette.responses import Response

import kv
from kuma_cp.api.body import PROCESS, Body, parse
from kuma_cp.api.context import Api, Endpoint
from kuma_cp.api.errors import ApiError, Violation, error_response, from_exception, json_response, plain
from kuma_cp.api.errors import validation_error as invalid
from kuma_cp.api.formats import formatter
from kuma_cp.api.rest import compute_labels
from kuma_cp.api.validation import request_violations, rfc1035_violations, workload_error
from kuma_cp.resources import ResourceType

__all__ = ["MAX_BODY", "item_endpoint"]

GET_TITLE = "Could not retrieve a resource"
FIND_TITLE = "Failed to find a resource"
CREATE_TITLE = "Failed to create a resource"
UPDATE_TITLE = "Failed to update a resource"
DELETE_TITLE = "Could not delete a resource"
MAX_BODY = 4 << 20  # a spec may be 1 MiB (kv's limit); a body far larger is refused unread (413)
ZONE_READ_ONLY = (
    "On zone control plane you can only modify zone resources with 'kumactl apply' or via the HTTP API."
    " You can still use 'kumactl' or the HTTP API to modify the rest of the resource"
    " on the global control plane.\n"
)
_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"\x00-\x1f]*)"\s*(?:,|$)')


def etag(record: kv.Record) -> dict[str, str]:
    """The ``ETag`` header of *record*: its version, quoted."""
    return {"ETag": f'"{record.version}"'}


@frozen
class IfMatch:
    """A parsed ``If-Match``: ``*`` (any version) or strong entity tags (weak ones never match)."""

    any: bool
    versions: frozenset[str]


def parse_if_match(header: str | None) -> IfMatch | None:
    """Parse an ``If-Match`` header (``*`` or a list of entity tags); None when absent; 400 when malformed."""
    if header is None:
        return None
    if header.strip() == "*":
        return IfMatch(True, frozenset())
    versions, at = set(), 0
    while True:
        found = _ENTITY_TAG.match(header, at)
        if found is None:
            raise ApiError(400, "Bad Request", f"invalid If-Match header: {header!r}")
        if not found.group(1):  # If-Match compares strongly: a weak tag never matches
            versions.add(found.group(2))
        at = found.end()
        if at >= len(header):
            return IfMatch(False, frozenset(versions))


def _precondition_failed(detail: str) -> ApiError:
    return ApiError(412, "Precondition Failed", detail)


def _check_precondition(if_match: IfMatch | None, current: kv.Record | None) -> None:
    if if_match is None:
        return
    if current is None:
        raise _precondition_failed("If-Match: the resource does not exist")
    if not if_match.any and current.version not in if_match.versions:
        raise _precondition_failed("If-Match: the resource is no longer at the given version")


def _find(api: Api, rtype: ResourceType, mesh: str, name: str, title: str) -> kv.Record | None:
    try:
        return api.find(rtype, mesh, name)
    except Exception as exc:
        raise from_exception(exc, title) from exc


def _find_to_write(api: Api, rtype: ResourceType, mesh: str, name: str, title: str) -> kv.Record | None:
    # `_find` for PUT and DELETE: an unreadable resource is found as an empty record at its version,
    # so that an operator can repair it (PUT replaces it, If-Match against the stored version) or
    # delete it.
    try:
        return api.find(rtype, mesh, name)
    except kv.Corrupt as exc:
        return kv.Record(key=exc.key, version=exc.version)
    except Exception as exc:
        raise from_exception(exc, title) from exc


def _get(api: Api, rtype: ResourceType, mesh: str, name: str, pairs: list[tuple[str, str]]) -> Response:
    api.check_mesh(rtype, mesh)
    record = _find(api, rtype, mesh, name, GET_TITLE)
    if record is None:
        raise ApiError(404, GET_TITLE, "Not found")
    return json_response(formatter(api, rtype, pairs, GET_TITLE)(record), headers=etag(record))


def _create(api: Api, rtype: ResourceType, mesh: str, name: str, body: Body) -> Response:
    workload = workload_error(rtype, body.labels)
    if workload is not None:
        raise ApiError(400, "Bad Request", workload)
    violations = rfc1035_violations(rtype, body.name, body.labels)
    if violations:
        raise invalid(CREATE_TITLE, violations)
    labels = compute_labels(rtype, mesh=mesh, name=name, labels=body.labels, spec=body.spec, zone=api.zone)
    try:  # Kuma drops the body's status: the control plane computes it
        record = api.manager.create(rtype, mesh, name, spec=body.spec, status={}, labels=labels, checked=True)
    except Exception as exc:
        raise from_exception(exc, CREATE_TITLE) from exc
    return json_response({}, 201, etag(record))


def _immutable_zone(current: dict[str, str], wanted: dict[str, str]) -> list[Violation]:
    field, key = 'labels["kuma.io/zone"]', "kuma.io/zone"
    if key not in current:
        return []
    if key not in wanted:
        return [(field, f'is immutable, cannot be removed (was "{current[key]}")')]
    if wanted[key] != current[key]:
        return [(field, f'is immutable, cannot be changed from "{current[key]}" to "{wanted[key]}"')]
    return []


def _update(
    api: Api, rtype: ResourceType, current: kv.Record, body: Body, if_match: IfMatch | None
) -> Response:
    mesh, name = current.key.mesh, current.key.name
    before = compute_labels(
        rtype, mesh=mesh, name=name, labels=current.labels, spec=current.spec, zone=api.zone
    )
    labels = compute_labels(rtype, mesh=mesh, name=name, labels=body.labels, spec=body.spec, zone=api.zone)
    violations = _immutable_zone(before, labels)
    if violations:
        raise invalid("Could not update a resource", violations)
    violations = rfc1035_violations(rtype, name, current.labels)
    if violations:
        raise invalid(UPDATE_TITLE, violations)
    wanted = attrs.evolve(current, spec=body.spec)  # the whole spec replaced; status and ctime kept
    try:  # compare-and-set at the version read (which If-Match, if given, has matched)
        record = api.manager.update(wanted, labels=labels, checked=True)
    except kv.Conflict as exc:
        if if_match is not None and (not if_match.any or api.find(rtype, mesh, name) is None):
            raise _precondition_failed("If-Match: the resource changed while it was being updated") from exc
        raise from_exception(exc, UPDATE_TITLE) from exc
    except Exception as exc:
        raise from_exception(exc, UPDATE_TITLE) from exc
    return json_response({}, 200, etag(record))


def _put(
    api: Api, rtype: ResourceType, mesh: str, name: str, raw: bytes, if_match: IfMatch | None
) -> Response:
    api.check_mesh(rtype, mesh)
    body = parse(rtype, raw)
    current = _find_to_write(api, rtype, mesh, name, FIND_TITLE)
    _check_precondition(if_match, current)
    violations = request_violations(
        rtype,
        url_name=name,
        url_mesh=mesh,
        body_type=body.type,
        body_name=body.name,
        body_mesh=body.mesh,
        labels=body.labels,
        zone=api.zone,
    )
    if violations:
        raise invalid(PROCESS, violations)
    if current is None:
        return _create(api, rtype, mesh, name, body)
    return _update(api, rtype, current, body, if_match)


def _delete_matched(api: Api, rtype: ResourceType, current: kv.Record, if_match: IfMatch) -> None:
    mesh, name = current.key.mesh, current.key.name
    try:  # the store's conditional delete: atomic on every backend
        api.manager.delete(rtype, mesh, name, version=None if if_match.any else current.version)
    except kv.Conflict as exc:
        raise _precondition_failed("If-Match: the resource changed while it was being deleted") from exc
    except kv.NotFound as exc:
        raise _precondition_failed("If-Match: the resource was deleted meanwhile") from exc


def _delete(api: Api, rtype: ResourceType, mesh: str, name: str, if_match: IfMatch | None) -> Response:
    api.check_mesh(rtype, mesh)
    current = _find_to_write(api, rtype, mesh, name, DELETE_TITLE)
    if current is None and if_match is None:
        raise ApiError(404, DELETE_TITLE, "Not found")
    _check_precondition(if_match, current)
    try:
        if if_match is None or current is None:
            api.manager.delete(rtype, mesh, name)
        else:
            _delete_matched(api, rtype, current, if_match)
    except Exception as exc:
        raise from_exception(exc, DELETE_TITLE) from exc
    return json_response({})


def _is_json(content_type: str | None) -> bool:
    # go-restful's Consumes check: any of the comma-separated types, parameters ignored.
    media_types = (part.split(";", 1)[0].strip().lower() for part in (content_type or "").split(","))
    return "application/json" in media_types


async def _body(request: Request) -> bytes | None:
    """The request's body, or None when it is larger than `MAX_BODY` (the rest is left unread)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def item_endpoint(api: Api, rtype: ResourceType) -> Endpoint:
    """The handler of ``GET|PUT|DELETE`` on one resource of *rtype*."""

    async def endpoint(request: Request) -> Response:
        mesh, name = request.path_params.get("mesh", ""), request.path_params["name"]
        if request.method in ("GET", "HEAD"):
            pairs = request.query_params.multi_items()
            return await api.respond(GET_TITLE, _get, api, rtype, mesh, name, pairs)
        if request.method == "PUT" and not _is_json(request.headers.get("content-type")):
            return plain(415, "415: Unsupported Media Type")
        if rtype.read_only or api.read_only:
            return error_response(ApiError(405, "Method not allowed", ZONE_READ_ONLY))
        try:
            if_match = parse_if_match(request.headers.get("if-match"))
        except ApiError as exc:
            return error_response(exc)
        if request.method == "DELETE":
            return await api.respond(DELETE_TITLE, _delete, api, rtype, mesh, name, if_match)
        raw = await _body(request)
        if raw is None:
            return error_response(ApiError(413, PROCESS, f"the request body is larger than {MAX_BODY} bytes"))
        return await api.respond(PROCESS, _put, api, rtype, mesh, name, raw, if_match)

    return endpoint
