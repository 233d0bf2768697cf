"""Kuma's HTTP resource API (kuma-cp's API server, port 5681) over a `ResourceManager`.

>>> import kv
>>> from kuma_cp import resources
>>> from kuma_cp.manager import ResourceManager
>>> manager = ResourceManager(kv.open("memory://", catalog=resources.catalog()))
>>> info = IndexInfo(hostname="cp-1", version="2.9.0", instance_id="cp-1-a1b2", cluster_id="")
>>> app = api_app(manager, info=info)  # an ASGI app: uvicorn.run(app, port=5681)

Routes, for every type of `kuma_cp.resources.REGISTRY` with HTTP path ``P`` (and again under its
alternative path, ``/global-secrets``; a type without a path, ``Config``, has none):

- global types: ``GET /P`` and ``GET|PUT|DELETE /P/{name}``;
- mesh-scoped types: ``GET /meshes/{mesh}/P``, ``GET|PUT|DELETE /meshes/{mesh}/P/{name}`` and
  ``GET /P`` (across all meshes);
- ``GET /`` (the index), ``GET /_resources`` (the type descriptions ``kumactl export`` reads) and
  ``GET /_kri/{kri}`` (the resource a KRI names, as its own GET answers it).

An unknown path (an unknown plural included) is 404 in Kuma's JSON error shape (Go Kuma answers
go-restful's plain ``404: Page Not Found``, which no client can read as an error); a known path with
another method is go-restful's ``405: Method Not Allowed`` (`kuma_cp.api.router`). Handlers run the
manager's blocking calls in worker threads, never on the event loop (a memory store's, which never
block, run on the loop: ``inline``). See `kuma_cp.api.handlers` for ``ETag``/``If-Match``, which
Kuma does not have.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

import kv
from kuma_cp import resources
from kuma_cp.api.context import Api, Endpoint
from kuma_cp.api.descriptors import resources_index
from kuma_cp.api.errors import ApiError, json_response
from kuma_cp.api.formats import formatter
from kuma_cp.api.handlers import item_endpoint
from kuma_cp.api.lists import list_endpoint
from kuma_cp.api.rest import KriError, kri, kri_core_name, parse_kri
from kuma_cp.api.router import Route, Router
from kuma_cp.manager import ResourceManager

__all__ = ["IndexInfo", "api_app"]


@frozen(kw_only=True)
class IndexInfo:
    """What ``GET /`` tells about this control plane.

    Attributes:
        hostname: the machine's hostname.
        version: the kuma-cp version.
        instance_id: this instance (Kuma: ``<hostname>-<4 characters of a UUID>``).
        cluster_id: the cluster's UUID (may be "" right after start).
        gui: where the GUI is served ("" when disabled).
    """

    hostname: str
    version: str
    instance_id: str
    cluster_id: str
    gui: str = "/gui"


def _index(info: IndexInfo) -> dict[str, Any]:
    # Kuma's generated Index struct, whose fields (and so JSON keys) are in alphabetical order.
    return {
        "clusterId": info.cluster_id,
        "gui": info.gui,
        "hostname": info.hostname,
        "instanceId": info.instance_id,
        "product": "Kuma",
        "version": info.version,
    }


def _static(body: dict[str, Any]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return json_response(body)

    return endpoint


GET_TITLE = "Could not retrieve a resource"
FORMAT_TITLE = "Could not format a resource"


def _kri_endpoint(api: Api) -> Endpoint:
    """``GET /_kri/{kri}``: Kuma's ``findByKriRoute`` (parse, find by the stored name, then format).

    Names are resolved as on Universal, where kuma-store's labels (display name = name) come from.
    Beyond Kuma: a KRI without a zone names a synced copy (a hashed name) in Kuma, so the KRI of a
    resource created here that carries no zone label (a Mesh, a MeshMultiZoneService: types zones do
    not provide) does not resolve there; here, when no such copy exists, the resource of that plain
    name is served if the KRI is its own.
    """

    def work(text: str, pairs: list[tuple[str, str]]) -> Response:
        try:
            identifier = parse_kri(text)
        except KriError as exc:  # Kuma's BadRequest: its title is always "Bad Request"
            raise ApiError(400, "Bad Request", f"bad request: {exc}") from None
        rtype, mesh = identifier.rtype, identifier.mesh
        record = api.find(rtype, mesh, kri_core_name(identifier, zone=api.zone))
        if record is None and not identifier.zone:
            local = api.find(rtype, mesh, identifier.name)
            if local is not None and kri(rtype, mesh, local.key.name, local.labels) == identifier.resource:
                record = local
        if record is None:
            raise ApiError(404, GET_TITLE, "Not found")
        body = formatter(api, rtype, pairs, FORMAT_TITLE)(record)
        return json_response(body, headers={"ETag": f'"{record.version}"'})

    async def endpoint(request: Request) -> Response:
        pairs = request.query_params.multi_items()
        return await api.respond(GET_TITLE, work, request.path_params["kri"], pairs)

    return endpoint


_GET = frozenset({"GET"})
_ITEM = frozenset({"GET", "PUT", "DELETE"})


def _routes(api: Api, info: IndexInfo) -> list[Route]:
    routes = [
        Route("/", _static(_index(info)), _GET),
        Route("/_resources", _static(resources_index(api.read_only)), _GET),
        Route("/_kri/{kri}", _kri_endpoint(api), _GET),
    ]
    for rtype in resources.REGISTRY:
        for segment in (rtype.path, rtype.alternative_path):
            if not segment:
                continue
            path = f"/{segment}"
            if rtype.scope is kv.Scope.MESH:
                in_mesh = f"/meshes/{{mesh}}{path}"
                routes.append(Route(in_mesh, list_endpoint(api, rtype, in_mesh), _GET))
                routes.append(Route(f"{in_mesh}/{{name}}", item_endpoint(api, rtype), _ITEM))
            routes.append(Route(path, list_endpoint(api, rtype, path), _GET))
            if rtype.scope is not kv.Scope.MESH:
                routes.append(Route(f"{path}/{{name}}", item_endpoint(api, rtype), _ITEM))
    return routes


def api_app(
    manager: ResourceManager,
    *,
    info: IndexInfo,
    read_only: bool = False,
    zone: str = "default",
    inline: bool = False,
    system_namespace: str = "kuma-system",
) -> ASGIApp:
    """Kuma's HTTP resource API over *manager*, as an ASGI application.

    Args:
        manager: where resources live.
        info: what ``GET /`` answers.
        read_only: refuse every write with 405 (``KUMA_API_SERVER_READ_ONLY``).
        zone: this zone control plane's name (``KUMA_MULTIZONE_ZONE_NAME``), for computed labels and
            for telling the resources a KRI names apart from copies synced from elsewhere.
        inline: *manager*'s calls never wait on I/O (a memory store): run them on the event loop
            rather than in a worker thread, sparing each request two thread switches.
        system_namespace: where ``?format=k8s`` places objects that need a namespace and name none.
    """
    api = Api(
        manager=manager,
        read_only=read_only,
        zone=zone,
        catalog=resources.catalog(),
        inline=inline,
        system_namespace=system_namespace,
    )
    return Router(_routes(api, info))
