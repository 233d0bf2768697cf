"""A kuma-cp API on memory or Postgres for spec tests, and the PUT bodies and paths of Kuma's types."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import kv
from kuma_cp import migrate, resources
from kuma_cp.api import api_app
from kuma_cp.api.rest import META_KEYS
from kuma_cp.manager import ResourceManager
from tests.kuma_cp.test_api import INFO, JSON

with warnings.catch_warnings():  # starlette warns that its TestClient prefers httpx2 (not installed)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

__all__ = ["TestClient", "body_of", "client", "path_of", "spec_of"]


@pytest.fixture(scope="module", params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    closing: Callable[[], None] = lambda: None  # noqa: E731
    if request.param == "memory":
        store = kv.open("memory://", catalog=resources.catalog())
    else:
        from kv.drivers.postgres import PostgresDriver, create_engine

        dsn = request.getfixturevalue("pg_module_databases")()
        admin = create_engine(dsn, max_open_connections=1)
        migrate.migrate_up(admin)
        admin.dispose()
        driver = PostgresDriver.from_url(dsn, max_open_connections=2)
        store, closing = kv.Store(driver, catalog=resources.catalog()), driver.close
    with TestClient(api_app(ResourceManager(store), info=INFO)) as test_client:
        mesh = {"type": "Mesh", "name": "default"}
        assert test_client.put("/meshes/default", content=json.dumps(mesh), headers=JSON).status_code == 201
        yield test_client
    closing()


def path_of(rtype: resources.ResourceType, name: str) -> str:
    if rtype.name == "Mesh":
        return f"/meshes/{name}"
    if rtype.scope is kv.Scope.MESH:
        return f"/meshes/default/{rtype.path}/{name}"
    return f"/{rtype.path}/{name}"


def body_of(
    rtype: resources.ResourceType, name: str, spec: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any]:
    """The PUT body of a resource with *spec* (legacy types: the spec at the top level)."""
    body: dict[str, Any] = {"type": rtype.name, "name": name}
    if rtype.scope is kv.Scope.MESH:
        body["mesh"] = "default"
    if labels:
        body["labels"] = labels
    if rtype.legacy:
        return {**spec, **body}
    return {**body, "spec": spec}


def spec_of(rtype: resources.ResourceType, item: dict[str, Any]) -> Any:
    if not rtype.legacy:
        return item.get("spec", {})
    return {k: v for k, v in item.items() if k not in META_KEYS}
