"""The security layer in front of the resource API, as a pure ASGI middleware.

In order, for each HTTP request: who the caller is (local admin, else a ``Bearer`` user token, else
anonymous; a bad token is 401), CORS (only with an allow-list), ``GET /who-am-i`` and
``POST /tokens/user``, then authorization: Secrets and GlobalSecrets are for ``adminResources`` only
(403), and, beyond Kuma, anonymous callers may not write (403) unless ``anonymousWrites``. Finally the
request body is read up to the limit (413 beyond, without reading further) and handed to the app with
the caller in ``scope["state"]["user"]``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kuma_cp.api.errors import ApiError, error_response, from_exception, json_response, plain
from kuma_cp.loader import parse_duration
from kuma_cp.security.config import AccessConfig, AuthnConfig
from kuma_cp.security.identity import ADMIN, ANONYMOUS, User, is_local_admin, request_headers
from kuma_cp.security.tokens import InvalidToken, TokenIssuer, TokenValidator

__all__ = ["DEFAULT_BODY_LIMIT", "SecurityMiddleware", "secure_app"]

log = logging.getLogger("kuma-cp.api.authn")

DEFAULT_BODY_LIMIT = 4 << 20
_WRITES = frozenset({"PUT", "POST", "DELETE", "PATCH"})
_BEARER = "Bearer "
_CORS_METHODS = "GET, PUT, POST, DELETE, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type, If-Match"


def _secret_type(path: str) -> str | None:
    """``Secret`` or ``GlobalSecret`` when *path* reads or writes one, else None."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["secrets"] or (len(parts) >= 3 and parts[0] == "meshes" and parts[2] == "secrets"):
        return "Secret"
    if parts[:1] in (["globalsecrets"], ["global-secrets"]):
        return "GlobalSecret"
    return None


def _denied(detail: str) -> Response:
    return error_response(ApiError(403, "Access Denied", detail))


class _TooLarge(Exception):
    pass


class SecurityMiddleware:
    """Authentication, authorization, CORS, token issuing and a body limit around *app*.

    Args:
        app: the ASGI app to protect (the resource API).
        validator: checks ``Bearer`` tokens.
        issuer: issues tokens for ``POST /tokens/user``.
        authn: ``apiServer.authn``.
        access: ``access`` (static RBAC).
        cors_allowed_domains: allowed origins, ``.*`` for any; empty: no CORS headers at all.
        body_limit: the largest request body accepted, in bytes.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        validator: TokenValidator,
        issuer: TokenIssuer,
        authn: AuthnConfig,
        access: AccessConfig,
        cors_allowed_domains: Sequence[str] = (),
        body_limit: int = DEFAULT_BODY_LIMIT,
    ) -> None:
        self.app = app
        self.validator = validator
        self.issuer = issuer
        self.authn = authn
        self.access = access
        self.cors = tuple(d.lower() for d in cors_allowed_domains)
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: HTTP requests are checked, anything else passes through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = request_headers(scope)
        method, path = scope["method"], scope["path"]
        send = self._cors(headers.get("origin", ""), send)
        user = ANONYMOUS
        if self.authn.localhost_is_admin and is_local_admin(scope, headers):
            user = ADMIN
        elif not ((method == "GET" and path == "/") or path.startswith("/gui")):
            authorization = headers.get("authorization", "")
            if authorization.startswith(_BEARER):
                try:
                    user = await run_in_threadpool(self.validator.validate, authorization[len(_BEARER) :])
                except InvalidToken as exc:
                    log.info("authentication failed: %s", exc.reason)  # the reason only, never the token
                    error = ApiError(401, "Invalid authentication data", "Unauthenticated")
                    await error_response(error)(scope, receive, send)
                    return
        scope.setdefault("state", {})["user"] = user
        response = await self._answer(scope, receive, method, path, headers, user)
        if response is not None:
            await response(scope, receive, send)
            return
        try:
            body = await self._read_body(receive, headers)
        except _TooLarge:
            detail = f"the request body is larger than {self.body_limit} bytes"
            await error_response(ApiError(413, "Request Entity Too Large", detail))(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _answer(
        self, scope: Scope, receive: Receive, method: str, path: str, headers: dict[str, str], user: User
    ) -> Response | None:
        """The security layer's own answer to the request, or None to pass it to the app."""
        preflight = method == "OPTIONS" and "access-control-request-method" in headers
        if preflight and self.cors and self._origin_allowed(headers.get("origin", "")):
            return Response(status_code=200)
        if path == "/who-am-i":
            if method != "GET":
                return plain(405, "405: Method Not Allowed")
            return json_response({"name": user.name, "groups": list(user.groups)})
        if path == "/tokens/user":
            if method != "POST":
                return plain(405, "405: Method Not Allowed")
            return await self._user_token(receive, headers, user)
        secret_type = _secret_type(path)
        if secret_type is not None and not self.access.static.admin_resources.allows(user):
            return _denied(f'user "{user}" cannot access the resource of type "{secret_type}"')
        if method in _WRITES and user == ANONYMOUS and not self.authn.anonymous_writes:
            return _denied(
                f'user "{user}" cannot write resources; send a token or enable '
                "KUMA_API_SERVER_AUTHN_ANONYMOUS_WRITES"
            )
        return None

    async def _user_token(self, receive: Receive, headers: dict[str, str], user: User) -> Response:
        if not self.access.static.generate_user_token.allows(user):
            return _denied("action not allowed")
        try:
            request = json.loads(await self._read_body(receive, headers))
        except _TooLarge:
            detail = f"the request body is larger than {self.body_limit} bytes"
            return error_response(ApiError(413, "Request Entity Too Large", detail))
        except ValueError:
            return Response(status_code=400)
        name, groups, valid_for_text = _token_request(request)
        if name is None:
            return Response(status_code=400)  # Kuma: a body that does not decode is a bare 400
        violations: list[tuple[str, str]] = []
        if name == "":
            violations.append(("name", "cannot be empty"))
        valid_for = timedelta(0)
        if valid_for_text == "":
            violations.append(("validFor", "cannot be empty"))
        else:
            try:
                valid_for = parse_duration(valid_for_text)
            except ValueError as exc:
                violations.append(("validFor", f"is invalid: {exc}"))
            if valid_for == timedelta(0):
                violations.append(("validFor", "cannot be empty or nil"))
        if violations:
            return error_response(ApiError(400, "Invalid request", "Resource is not valid", violations))
        if not self.authn.tokens.enable_issuer:
            detail = "issuing tokens using the control plane is disabled."
            return error_response(ApiError(400, "Could not issue a token", detail))
        try:
            token = await run_in_threadpool(self.issuer.issue, name, groups, valid_for)
        except Exception as exc:  # logged by from_exception, answered without its text
            return error_response(from_exception(exc, "Could not issue a token"))
        return Response(token, media_type="text/plain")

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.body_limit:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _origin_allowed(self, origin: str) -> bool:
        return bool(origin) and (".*" in self.cors or origin.lower() in self.cors)

    def _cors(self, origin: str, send: Send) -> Send:
        if not self.cors or not self._origin_allowed(origin):
            return send

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", b"Access-Control-Allow-Origin"),
                    (b"access-control-allow-methods", _CORS_METHODS.encode()),
                    (b"access-control-allow-headers", _CORS_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return send_with_cors


def _token_request(request: Any) -> tuple[str | None, list[str], str]:
    """(name, groups, validFor) of a ``/tokens/user`` body; name None when its shape is wrong."""
    if not isinstance(request, dict):
        return None, [], ""
    name, groups, valid_for = (
        request.get("name", ""),
        request.get("groups") or [],
        request.get("validFor", ""),
    )
    shapes_ok = isinstance(name, str) and isinstance(valid_for, str) and isinstance(groups, list)
    if not shapes_ok or not all(isinstance(g, str) for g in groups):
        return None, [], ""
    return name, groups, valid_for


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def secure_app(
    api_app: ASGIApp,
    *,
    store: Any,
    authn: AuthnConfig,
    access: AccessConfig,
    cors_allowed_domains: Sequence[str] = (),
    body_limit: int = DEFAULT_BODY_LIMIT,
) -> ASGIApp:
    """*api_app* behind `SecurityMiddleware`, validating and issuing tokens with keys in *store*.

    *store* is the kv store (or resource manager) the GlobalSecrets live in; reads go to it directly
    (with the validator's own cache of at most one second), so tokens issued by any instance on the
    same database are accepted.
    """
    return SecurityMiddleware(
        api_app,
        validator=TokenValidator(store),
        issuer=TokenIssuer(store),
        authn=authn,
        access=access,
        cors_allowed_domains=cors_allowed_domains,
        body_limit=body_limit,
    )
