"""Kuma's error bodies (``/std-errors``) and the translation of manager and store errors into them.

Every error the API answers has Kuma's shape (``pkg/core/rest/errors``)::

    {"type": "/std-errors", "status": 404, "title": "Could not retrieve a resource",
     "detail": "Not found", "invalid_parameters": [...], "details": "Not found", "causes": [...]}

``invalid_parameters`` and its deprecated mirror ``causes`` appear only when there are violations. The
title names what was being done (the caller's context, as in Kuma's ``HandleError``), except where
Kuma fixes it (``Bad Request``, ``Conflict``). Routing errors (unknown path, wrong method, wrong media
type) are go-restful's plain-text bodies instead, see `plain`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response

import kv
from kuma_cp import resources
from kuma_cp.api.encoding import go_json
from kuma_cp.manager import MeshHasDataplanes, MeshNotFound

__all__ = [
    "NOT_VALID",
    "ApiError",
    "error_response",
    "from_exception",
    "json_response",
    "plain",
    "validation_error",
]

log = logging.getLogger("kuma-cp.api")

NOT_VALID = "Resource is not valid"
Violation = tuple[str, str]  # (field, reason), as Kuma's validators.Violation


class ApiError(Exception):
    """An error answer in Kuma's shape.

    Attributes:
        status: the HTTP status.
        title: a short summary; Kuma names the operation that failed.
        detail: what went wrong.
        violations: (field, reason) pairs, Kuma's ``invalid_parameters``.
        headers: extra response headers.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        violations: Sequence[Violation] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.violations = list(violations)
        self.headers = dict(headers or {})


def validation_error(title: str, violations: Sequence[Violation]) -> ApiError:
    """Kuma's answer to a `validators.ValidationError`: 400, ``Resource is not valid``."""
    return ApiError(400, title, NOT_VALID, violations)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response encoded as go-restful writes it: indented by one space, HTML characters escaped."""
    return Response(
        go_json(body), status_code=status, headers=dict(headers or {}), media_type="application/json"
    )


def plain(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """go-restful's plain-text routing errors (``404: Page Not Found``)."""
    return Response(text, status_code=status, headers=dict(headers or {}), media_type="text/plain")


def error_response(error: ApiError) -> Response:
    """Render *error* as Kuma does, fields in Kuma's order."""
    body: dict[str, Any] = {
        "type": "/std-errors",
        "status": error.status,
        "title": error.title,
        "detail": error.detail,
    }
    if error.violations:
        body["invalid_parameters"] = [{"field": f, "reason": r} for f, r in error.violations]
    body["details"] = error.detail
    if error.violations:
        body["causes"] = [{"field": f, "message": r} for f, r in error.violations]
    return json_response(body, error.status, error.headers)


def _path(key: kv.Key) -> str:
    """The resource's API path without the leading slash (``meshes/default/meshtimeouts/t1``)."""
    try:
        plural = resources.get(key.type).path
    except KeyError:  # not a type of this control plane: its name will do
        plural = key.type
    return f"meshes/{key.mesh}/{plural}/{key.name}" if key.mesh else f"{plural}/{key.name}"


def from_exception(exc: BaseException, title: str) -> ApiError:
    """Translate a manager or store error as Kuma's ``HandleError`` does, in the context *title*.

    Anything unexpected is logged with its traceback and answered ``500 Internal Server Error``, never
    with the exception's text. `kv.Unavailable` is answered 503 with ``Retry-After``: Kuma says 500
    for a store it cannot reach, but the failure is transient and the request may be retried, which is
    what 503 tells clients and load balancers. `kv.Corrupt` (a stored resource that cannot be read) is
    500 with a detail naming the resource and the problem, never its content (Kuma: ``Internal Server
    Error``, after failing the whole list).
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, MeshNotFound):  # a kv.NotFound, but Kuma answers it 400
        return ApiError(400, title, "Mesh is not found", [("mesh", f"mesh of name {exc.mesh} is not found")])
    if isinstance(exc, kv.NotFound):
        return ApiError(404, title, "Not found")
    if isinstance(exc, MeshHasDataplanes):  # a kv.Invalid, but Kuma reports it as a violation
        return validation_error(title, [("mesh", exc.reason)])
    if isinstance(exc, (kv.AlreadyExists, kv.Conflict)):
        return ApiError(409, "Conflict", str(exc))
    if isinstance(exc, kv.Invalid):
        return ApiError(400, title, str(exc))
    if isinstance(exc, kv.Unavailable):
        log.warning("%s: the store is unavailable: %s", title, exc)
        return ApiError(503, title, "Service unavailable", headers={"Retry-After": "1"})
    if isinstance(exc, kv.Corrupt):  # the store has logged it, once per version: no traceback here
        return ApiError(500, title, f"the stored resource {_path(exc.key)} could not be read: {exc.reason}")
    log.error("%s: unexpected error", title, exc_info=exc)
    return ApiError(500, title, "Internal Server Error")
