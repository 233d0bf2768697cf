"""The API's routing: one dictionary lookup per request, in place of a scan over hundreds of patterns.

Kuma's routes have few shapes: ``/``, ``/_resources``, ``/_kri/{kri}``, ``/{plural}``,
``/{plural}/{name}``, ``/meshes/{mesh}/{plural}`` and ``/meshes/{mesh}/{plural}/{name}``. A path is
split on ``/`` and its literal segments (the plural, or ``_kri``) and segment count name the route,
so a request costs one lookup however many types there are (Starlette's router tried every route's
regular expression in turn: over 250 of them). A parameter is a non-empty segment, as Starlette's
``{name}`` is; an empty segment (``/meshes/``) matches nothing, as go-restful does not redirect.

What the router answers itself, in Kuma's shapes: an unknown path is 404 (Kuma's JSON error), a known
path with another method 405 ``Method Not Allowed`` with ``Allow`` (GET allows HEAD), and an exception
that escapes an endpoint 500 without its text (logged). Endpoints get a Starlette `Request` whose
``path_params`` are the segments' values.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from attrs import frozen
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from kuma_cp.api.context import Endpoint
from kuma_cp.api.errors import ApiError, error_response, plain

__all__ = ["Route", "Router"]

log = logging.getLogger("kuma-cp.api")

PARAM = "{}"  # a parameter segment in a route's shape


@frozen
class Route:
    """One route: its path template (``/meshes/{mesh}/dataplanes/{name}``), endpoint and methods."""

    template: str
    endpoint: Endpoint
    methods: frozenset[str]

    @property
    def shape(self) -> tuple[str, ...]:
        """The template's segments, each parameter as `PARAM`."""
        return tuple(PARAM if s.startswith("{") else s for s in self.template.strip("/").split("/") if s)

    @property
    def names(self) -> tuple[str, ...]:
        """The parameters' names, in path order."""
        return tuple(s[1:-1] for s in self.template.split("/") if s.startswith("{"))


# A split path's shape, by its number of segments: which of them are literals, which parameters.
_LITERAL = {1: (True,), 2: (True, False), 3: (True, False, True), 4: (True, False, True, False)}


class Router:
    """An ASGI app dispatching HTTP requests to *routes* (a path appears once, with all its methods)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._static: dict[str, Route] = {}
        self._shaped: dict[tuple[str, ...], tuple[Route, tuple[str, ...]]] = {}  # with its parameters' names
        for route in routes:
            if route.names:
                shape = route.shape
                if shape in self._shaped:
                    raise ValueError(f"two routes for {route.template}")
                self._shaped[shape] = (route, route.names)
            elif route.template in self._static:
                raise ValueError(f"two routes for {route.template}")
            else:
                self._static[route.template] = route

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route of *path* and its parameters, or None."""
        route = self._static.get(path)
        if route is not None:
            return route, {}
        segments = path[1:].split("/")
        literal = _LITERAL.get(len(segments))
        if literal is None or "" in segments:
            return None
        shape = tuple(s if lit else PARAM for s, lit in zip(segments, literal, strict=True))
        found = self._shaped.get(shape)
        if found is None:
            return None
        route, names = found
        values = [s for s, lit in zip(segments, literal, strict=True) if not lit]
        return route, dict(zip(names, values, strict=True))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP; lifespan events are acknowledged)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        found = self.match(scope["path"])
        if found is None:
            response = error_response(ApiError(404, "Not Found", "404: Page Not Found"))
        else:
            route, params = found
            method = scope["method"]
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                scope["path_params"] = params
                try:
                    response = await route.endpoint(Request(scope, receive))
                except Exception:  # the last resort (endpoints answer their own errors)
                    log.exception("an API request failed: %s %s", method, route.template)
                    response = error_response(ApiError(500, "Internal Server Error", "Internal Server Error"))
            else:
                allowed = route.methods | ({"HEAD"} if "GET" in route.methods else set())
                response = plain(405, "405: Method Not Allowed", {"Allow": ", ".join(sorted(allowed))})
        await response(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
