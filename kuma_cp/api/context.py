"""What every handler shares: the manager and the server's settings, and running work off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from attrs import frozen
from starlette.requests import Request
from starlette.responses import Response

import kv
from kuma_cp import resources
from kuma_cp.api.errors import ApiError, error_response, from_exception
from kuma_cp.manager import ResourceManager
from kuma_cp.resources import ResourceType

__all__ = ["MESH_TITLE", "Api", "Endpoint", "query_parameter"]

Endpoint = Callable[[Request], Awaitable[Response]]

MESH_TITLE = "Failed to retrieve Mesh"
_MESH = resources.get("Mesh")
# The threads blocking store calls run in, shared by every server of the process. A plain executor:
# anyio's (Starlette's run_in_threadpool) costs a capacity limiter and a cancel scope per call, a
# fifth of the event loop's time on a Postgres GET. As many threads as anyio's default allows.
_WORKERS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="kuma-cp-api-worker")


def query_parameter(pairs: Sequence[tuple[str, str]], key: str) -> str:
    """Go's ``QueryParameter``: the first value of *key* among a request's query *pairs*, else ""."""
    return next((v for k, v in pairs if k == key), "")


@frozen(kw_only=True)
class Api:
    """The API server's state.

    Attributes:
        manager: where resources are read and written.
        read_only: every write is refused (``KUMA_API_SERVER_READ_ONLY``).
        zone: this control plane's zone name (``kuma.io/zone`` label).
        catalog: the store's catalog (label grammar for filters).
        inline: the manager's calls never wait on I/O (a memory store), so `respond` runs them on the
            event loop: a hop to a worker thread and back costs more than such a call.
        system_namespace: where ``?format=k8s`` places Secrets and namespaced objects without a namespace
            (``KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE``).
    """

    manager: ResourceManager
    read_only: bool
    zone: str
    catalog: kv.Catalog
    inline: bool = False
    system_namespace: str = "kuma-system"

    def find(self, rtype: ResourceType, mesh: str, name: str) -> kv.Record | None:
        """The resource, or None when there is none (a key no store could hold included)."""
        try:
            return self.manager.get(rtype, mesh, name)
        except (kv.NotFound, kv.Invalid):
            return None

    def check_mesh(self, rtype: ResourceType, mesh: str) -> None:
        """Kuma's ``meshFromRequest``: a mesh in the URL must exist, else 404 ``Failed to retrieve Mesh``."""
        if rtype.scope is kv.Scope.MESH and mesh and self.find(_MESH, "", mesh) is None:
            raise ApiError(404, MESH_TITLE, "Not found")

    async def respond(self, title: str, work: Callable[..., Response], *args: Any) -> Response:
        """Run *work* (blocking manager calls) in a worker thread (unless `inline`); answer errors as Kuma.

        *title* is the context of errors *work* does not title itself. No exception escapes: an
        unexpected one is logged and answered 500 without its text.
        """
        try:
            if self.inline:
                return work(*args)
            return await asyncio.get_running_loop().run_in_executor(_WORKERS, work, *args)
        except Exception as exc:  # every failure becomes an answer; from_exception logs the unexpected
            return error_response(from_exception(exc, title))
