"""The corpus over Kuma's HTTP API, on memory and on Postgres: what a kumactl user meets.

Each valid case is created (201) and read back as Kuma would have stored it; each invalid case is
refused with Kuma's body (400 ``Could not process a resource``, ``Resource is not valid``, the
violations in Kuma's order) or, for a spec Go cannot decode, 400 ``Bad Request``; a refused PUT
stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import kv
from kuma_cp import migrate, resources
from kuma_cp.api import api_app
from kuma_cp.api.rest import META_KEYS
from kuma_cp.manager import ResourceManager
from tests.kuma_cp.corpus import CASES, Case
from tests.kuma_cp.test_api import INFO, JSON, TestClient, std_error

WRITABLE = [c for c in CASES if c.type in {t.name for t in resources.REGISTRY if not t.read_only}]


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


def _path(rtype: resources.ResourceType, name: str) -> str:
    if rtype.name == "Mesh":
        return f"/meshes/{name}"
    if rtype.scope is kv.Scope.MESH:
        return f"/meshes/default/{rtype.path}/{name}"
    return f"/{rtype.path}/{name}"


def _body(rtype: resources.ResourceType, name: str, case: Case) -> dict[str, Any]:
    body: dict[str, Any] = {"type": rtype.name, "name": name}
    if rtype.scope is kv.Scope.MESH:
        body["mesh"] = "default"
    if case.labels:
        body["labels"] = case.labels
    if rtype.legacy:
        return {**case.spec, **body}
    return {**body, "spec": case.spec}


def _spec_of(rtype: resources.ResourceType, item: dict[str, Any]) -> Any:
    if not rtype.legacy:
        return item.get("spec", {})
    return {k: v for k, v in item.items() if k not in META_KEYS}


@pytest.mark.parametrize("case", WRITABLE, ids=[c.id for c in WRITABLE])
def test_case_over_http(client: TestClient, case: Case) -> None:
    rtype = resources.get(case.type)
    name = f"c-{abs(hash(case.id)) % 10**8}"
    path = _path(rtype, name)
    answer = client.put(path, content=json.dumps(_body(rtype, name, case)), headers=JSON)
    if case.kind == "valid":
        assert answer.status_code == 201, answer.text
        read = client.get(path)
        assert read.status_code == 200
        assert _spec_of(rtype, read.json()) == case.expected
        assert client.delete(path).status_code == 200
        return
    if case.kind == "invalid":
        expected = std_error(400, "Could not process a resource", "Resource is not valid", *case.expected)
    else:
        detail = f"invalid {case.type} object: {json.dumps(case.expected, ensure_ascii=False)}"
        expected = std_error(400, "Bad Request", detail)
    assert (answer.status_code, answer.json()) == (400, expected)
    assert client.get(path).status_code == 404  # nothing was stored
