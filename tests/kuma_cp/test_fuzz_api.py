"""Fuzzing the HTTP resource API behind its security layer, on the memory store and on Postgres.

Each example sends a few requests (`tests.kuma_cp.fuzz_http.requests`: well-formed ones with 0 to 4
mutations of method, path, query, headers and body). Every answer is checked: no 5xx but 503, no exception
out of the app, nothing logged at ERROR, every error in Kuma's ``/std-errors`` shape (routing errors in
go-restful's plain text), a refused request (4xx) leaves the store as it was, and whatever was stored
reads back. ``KUMA_TEST_SOAK=1`` runs many more examples (`EXAMPLES`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

import kv
from kuma_cp import migrate, resources
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.manager import ResourceManager
from kuma_cp.security import AccessConfig, AuthnConfig
from kuma_cp.security.middleware import secure_app
from tests.kuma_cp.fuzz_http import LOOPBACK, REMOTE, Request, check_answer, dumps, requests, snapshot

with warnings.catch_warnings():  # starlette warns that its TestClient prefers httpx2 (not installed)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

SOAK = bool(os.environ.get("KUMA_TEST_SOAK"))
EXAMPLES = {"memory": 3000 if SOAK else 300, "postgres": 1000 if SOAK else 120}
INFO = IndexInfo(hostname="cp-1", version="2.9.0", instance_id="cp-1-4f2a", cluster_id="c0ffee")


class Errors(logging.Handler):
    """Collects ERROR records (an unexpected exception in a handler is logged at ERROR)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged_errors() -> Iterator[Errors]:
    handler = Errors()
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


def serve(store: kv.Store) -> dict[tuple[str, int], TestClient]:
    """Test clients (local admin, remote anonymous) of the API as kuma-cp serves it, default Mesh made."""
    manager = ResourceManager(store)
    manager.create(resources.get("Mesh"), "", "default", spec={})
    app = secure_app(api_app(manager, info=INFO), store=store, authn=AuthnConfig(), access=AccessConfig())
    return {a: TestClient(app, base_url="http://localhost:5681", client=a) for a in (LOOPBACK, REMOTE)}


def send(clients: dict[tuple[str, int], TestClient], store: kv.Store, request: Request) -> int:
    """Send *request*, check the answer and the store; the status."""
    method, url, headers, body, address = request
    before = snapshot(store)
    answer = clients[address].request(method, url, headers=headers, content=body)
    status: int = answer.status_code
    check_answer(status, answer.headers.get("content-type", ""), answer.text, method)
    if status >= 400:
        assert snapshot(store) == before, (method, url, status)
    return status


def fuzz(
    reset: Callable[[], kv.Store], examples: int, errors: Errors, *, differential: bool = False
) -> dict[int, int]:
    """Run the fuzzer over stores *reset* empties; how often each status was answered.

    *differential*: also send every request to a memory store, which must answer with the same status
    (but where an ``If-Match`` names a version: memory's versions start at 1, Postgres's at 0).
    """
    seen: dict[int, int] = {}

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(batch=st.lists(requests(), min_size=1, max_size=5))
    def run(batch: list[Request]) -> None:
        store, oracle = reset(), kv.open("memory://", catalog=resources.catalog())
        clients, oracle_clients = serve(store), serve(oracle)
        for request in batch:
            status = send(clients, store, request)
            seen[status] = seen.get(status, 0) + 1
            assert not errors.records, [r.getMessage() for r in errors.records]
            if differential:
                expected = send(oracle_clients, oracle, request)
                assert status == expected or "if-match" in request[2], (request, status, expected)
        for key in snapshot(store):  # whatever was stored reads back, alone and in lists
            rtype = resources.get(key.type)
            path = f"/meshes/{key.mesh}/{rtype.path}" if key.mesh else f"/{rtype.path}"
            assert clients[LOOPBACK].get(f"{path}/{key.name}").status_code == 200, key
            assert clients[LOOPBACK].get(path).status_code == 200, key

    run()
    return seen


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest) -> Iterator[kv.Store]:
    """An empty store: memory, or Postgres in a fresh, migrated database."""
    if request.param == "memory":
        yield kv.open("memory://", catalog=resources.catalog())
        return
    from kv.drivers.postgres import PostgresDriver, create_engine

    dsn = request.getfixturevalue("pg_database")
    admin = create_engine(dsn, max_open_connections=1)
    migrate.migrate_up(admin)
    admin.dispose()
    driver = PostgresDriver.from_url(dsn, max_open_connections=2)
    yield kv.Store(driver, catalog=resources.catalog())
    driver.close()


def test_huge_payloads_are_refused_and_change_nothing(any_store: kv.Store, logged_errors: Errors) -> None:
    clients = serve(any_store)
    path = "/meshes/default/meshtimeouts/big"

    def body(size: int) -> bytes:
        to = {"kind": "MeshService", "labels": {"app": "x" * size}}  # a kept field: the stored spec is big
        spec = {"to": [{"targetRef": to, "default": {"idleTimeout": "1s"}}]}
        return dumps({"type": "MeshTimeout", "name": "big", "mesh": "default", "spec": spec})

    assert (
        send(clients, any_store, ("PUT", path, {"content-type": "application/json"}, body(1 << 20), LOOPBACK))
        == 400
    )
    assert (
        send(clients, any_store, ("PUT", path, {"content-type": "application/json"}, body(5 << 20), LOOPBACK))
        == 413
    )
    assert (
        send(clients, any_store, ("PUT", path, {"content-type": "application/json"}, body(1000), LOOPBACK))
        == 201
    )
    assert (
        send(clients, any_store, ("PUT", path, {"content-type": "application/json"}, body(1 << 20), LOOPBACK))
        == 400
    )
    to = {"kind": "MeshService", "labels": {"app": "x" * 1000}}
    stored = {"to": [{"targetRef": to, "default": {"idleTimeout": "1s"}}]}
    assert any_store.get("MeshTimeout", "default", "big").spec == stored
    assert not logged_errors.records


def test_a_valid_session_succeeds(any_store: kv.Store, logged_errors: Errors) -> None:
    """What kumactl does, step by step: the fuzzer's well-formed requests do reach the success paths."""
    client, json_type = serve(any_store)[LOOPBACK], {"content-type": "application/json"}
    assert client.put("/meshes/m1", json={"type": "Mesh", "name": "m1"}, headers=json_type).status_code == 201
    for i in range(3):
        dataplane = {
            "type": "Dataplane",
            "mesh": "m1",
            "name": f"dp-{i}",
            "networking": {"address": "10.0.0.1"},
        }
        assert client.put(f"/meshes/m1/dataplanes/dp-{i}", json=dataplane).status_code == 201
    page = client.get("/meshes/m1/dataplanes?size=2").json()
    assert (page["total"], len(page["items"])) == (3, 2)
    assert client.get(page["next"]).json()["items"][0]["name"] == "dp-2"
    for name in ("a%00", "%C3%A9", "DP"):  # no stored name holds them: nothing found (Postgres refuses NUL)
        assert client.get(f"/meshes/m1/dataplanes?name={name}").json()["total"] == 0
    mtp = {
        "type": "MeshTrafficPermission",
        "mesh": "m1",
        "name": "allow",
        "spec": {
            "targetRef": {"kind": "Mesh"},
            "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://m1"}}]}}],
        },
    }
    created = client.put("/meshes/m1/meshtrafficpermissions/allow", json=mtp)
    assert created.status_code == 201
    updated = client.put(
        "/meshes/m1/meshtrafficpermissions/allow", json=mtp, headers={"if-match": created.headers["etag"]}
    )
    assert updated.status_code == 200
    assert client.delete("/meshes/m1").status_code == 400  # Dataplanes remain
    for i in range(3):
        assert client.delete(f"/meshes/m1/dataplanes/dp-{i}").status_code == 200
    assert client.delete("/meshes/m1").status_code == 200
    assert set(snapshot(any_store)) == {kv.Key("Mesh", "", "default")}
    assert not logged_errors.records


def test_fuzz_api_on_memory(logged_errors: Errors) -> None:
    seen = fuzz(lambda: kv.open("memory://", catalog=resources.catalog()), EXAMPLES["memory"], logged_errors)
    assert seen.keys() & {200, 201}, seen  # the fuzzer reached the success paths
    assert seen.keys() & {400, 404, 405, 412, 415}, seen


@pytest.mark.postgres
def test_fuzz_api_on_postgres(pg_database: str, logged_errors: Errors) -> None:
    from kv.drivers.postgres import PostgresDriver, create_engine

    admin = create_engine(pg_database, max_open_connections=2)
    migrate.migrate_up(admin)
    driver = PostgresDriver.from_url(pg_database, max_open_connections=4)

    def reset() -> kv.Store:
        with admin.connect() as connection:
            connection.exec_driver_sql("DELETE FROM resources")
        return kv.Store(driver, catalog=resources.catalog())

    try:
        seen = fuzz(reset, EXAMPLES["postgres"], logged_errors, differential=True)
    finally:
        driver.close()
        admin.dispose()
    assert seen.keys() & {200, 201}, seen
    assert seen.keys() & {400, 404, 405, 412, 415}, seen
