"""Kuma's ``resources`` table as Go Kuma, older versions and hand edits leave it, read through kv and HTTP.

Rows are inserted with SQL. A row that cannot be read (the issue's MeshTimeout whose spec is ``not json``)
is left out of lists, a GET of it is a 500 naming it and the problem, it is logged once and counted in
``store_corrupt_resources``; rows written by Go Kuma, with unknown fields, older shapes and removed types,
load and are served as stored.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.exceptions import StarletteDeprecationWarning

import kv
from kuma_cp import migrate, resources
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.manager import ResourceManager
from kuma_cp.metrics import MeteredStore, Metrics
from kv.driver import Row
from kv.drivers.memory import MemoryDriver
from kv.drivers.postgres import PostgresDriver, create_engine
from tests.kuma_cp.e2e import migrated_pg_env, running

with warnings.catch_warnings():  # starlette warns that its TestClient prefers httpx2 (not installed)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

INFO = IndexInfo(hostname="cp-1", version="3.0.0", instance_id="cp-1-4f2a", cluster_id="c0ffee")
NOT_JSON = "spec is not valid JSON (Expecting value: line 1 column 1 (char 0))"
POLICY_LABELS = {"kuma.io/mesh": "default", "kuma.io/origin": "zone", "kuma.io/env": "universal"}
# (type, mesh, name, spec, labels, status, owned by its mesh): as Go Kuma 2.x writes them.
GO_ROWS: list[tuple[str, str, str, dict[str, Any], dict[str, str] | None, dict[str, Any]]] = [
    (  # Kuma 3.0 removed mtls from Mesh: an older row still has it
        "Mesh",
        "",
        "default",
        {
            "mtls": {"enabledBackend": "ca-1", "backends": [{"name": "ca-1", "type": "builtin"}]},
            "skipCreatingInitialPolicies": ["*"],
            "aFieldFromTheFuture": {"x": 1},
        },
        None,  # Go writes null for no labels
        {},
    ),
    ("Mesh", "", "demo", {}, None, {}),
    (  # Kuma 3.0 removed inbound tags
        "Dataplane",
        "default",
        "dp-1",
        {
            "networking": {
                "address": "10.0.0.1",
                "inbound": [{"port": 8080, "tags": {"kuma.io/service": "web"}}],
            }
        },
        {"kuma.io/mesh": "default", "kuma.io/origin": "zone"},
        {},
    ),
    (  # `from`, an older shape of MeshTimeout, and a field no version knows
        "MeshTimeout",
        "default",
        "t-old",
        {
            "targetRef": {"kind": "Mesh"},
            "from": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1h"}}],
            "unknownKey": True,
        },
        POLICY_LABELS,
        {},
    ),
    (
        "MeshService",
        "default",
        "web",
        {"selector": {"dataplaneTags": {"app": "web"}}, "ports": [{"port": 80, "appProtocol": "http"}]},
        POLICY_LABELS,
        {"vips": [{"ip": "241.0.0.1"}], "futureStatus": "ok"},
    ),
    (  # types Kuma 3.0 no longer has, still in the table
        "MeshGateway",
        "default",
        "gw-1",
        {"selectors": [{"match": {"kuma.io/service": "gw"}}], "conf": {"listeners": [{"port": 8080}]}},
        None,
        {},
    ),
    ("ZoneIngress", "", "zi-1", {"networking": {"address": "10.0.0.2", "port": 10001}}, None, {}),
]


def sql(dsn: str, statement: str, *params: object) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(statement, params or None)


def insert(
    dsn: str,
    type_: str,
    mesh: str,
    name: str,
    spec: str,
    labels: str = "null",
    status: str = "{}",
) -> None:
    """A row as Go Kuma inserts it (`pgx_store.go` Create): version 0, owned by its Mesh if in one."""
    owner = (mesh, "", "Mesh") if mesh else (None, None, None)
    sql(
        dsn,
        "INSERT INTO resources (name, mesh, type, version, spec, creation_time, modification_time,"
        " owner_name, owner_mesh, owner_type, labels, status)"
        " VALUES (%s, %s, %s, 0, %s, now(), now(), %s, %s, %s, %s, %s)",
        name,
        mesh,
        type_,
        spec,
        *owner,
        labels,
        status,
    )


def insert_go_rows(dsn: str) -> None:
    for type_, mesh, name, spec, labels, status in GO_ROWS:
        insert(dsn, type_, mesh, name, json.dumps(spec), json.dumps(labels), json.dumps(status))


@pytest.fixture
def dsn(pg_database: str) -> str:
    engine = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(engine)
    engine.dispose()
    return pg_database


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def store(dsn: str, metrics: Metrics) -> Iterator[kv.Store]:
    """Kuma's catalog on Postgres, reporting unreadable rows to the metrics as `kuma-cp run` wires it."""
    with kv.Store(
        PostgresDriver.from_url(dsn, max_open_connections=2), catalog=resources.catalog()
    ) as opened:
        opened.on_corrupt = metrics.record_corrupt
        yield opened


@pytest.fixture
def client(store: kv.Store, metrics: Metrics) -> Iterator[TestClient]:
    manager = ResourceManager(MeteredStore(store, metrics))
    with TestClient(api_app(manager, info=INFO), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def corrupt(dsn: str) -> str:
    """The issue's rows: a readable MeshTimeout either side of one whose spec is ``not json``."""
    insert(dsn, "Mesh", "", "default", "{}")
    insert(dsn, "Mesh", "", "demo", "{}")
    insert(dsn, "MeshTimeout", "default", "t0", '{"targetRef": {"kind": "Mesh"}}')
    insert(dsn, "MeshTimeout", "default", "t1", "not json")
    insert(dsn, "MeshTimeout", "demo", "t2", '{"targetRef": {"kind": "Mesh"}}')
    return dsn


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


@pytest.mark.postgres
def test_a_corrupt_row_is_left_out_of_lists_and_its_get_names_the_problem(
    corrupt: str, client: TestClient, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        assert names(client.get("/meshes/default/meshtimeouts")) == ["t0"]
        assert names(client.get("/meshtimeouts")) == ["t0", "t2"]
        assert client.get("/meshtimeouts").json()["total"] == 3  # stored rows, readable or not
        response = client.get("/meshes/default/meshtimeouts/t1")
        assert response.status_code == 500
        detail = f"the stored resource meshes/default/meshtimeouts/t1 could not be read: {NOT_JSON}"
        assert response.json() == {
            "type": "/std-errors",
            "status": 500,
            "title": "Could not retrieve a resource",
            "detail": detail,
            "details": detail,
        }
    first = client.get("/meshtimeouts?size=1")  # a page stays full; next steps over the corrupt row
    assert names(first) == ["t0"]
    second = client.get(first.json()["next"])
    assert (names(second), second.json()["next"]) == (["t2"], None)
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in warned] == [logging.WARNING]  # once, for t1, and nothing at ERROR
    assert 'type="MeshTimeout" name="t1" mesh="default"' in warned[0].getMessage()
    assert NOT_JSON in warned[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    assert b'store_corrupt_resources{resource_type="MeshTimeout"} 1.0' in metrics.render()


@pytest.mark.postgres
def test_deleting_a_corrupt_row_through_kv_always_works(corrupt: str, store: kv.Store) -> None:
    with pytest.raises(kv.Corrupt) as caught:
        store.get("MeshTimeout", "default", "t1")
    store.delete("MeshTimeout", "default", "t1", version=caught.value.version)
    assert [r.key.name for r in store.list("MeshTimeout").items] == ["t0", "t2"]


@pytest.fixture
def planted() -> Iterator[TestClient]:
    """The API on memory, with a MeshTimeout row planted straight into the driver (past the store)."""
    driver = MemoryDriver()
    store = kv.Store(driver, catalog=resources.catalog())
    store.create(kv.Record(key=kv.Key("Mesh", "", "default")))
    when = store.get("Mesh", "", "default").creation_time
    assert when is not None
    key = kv.Key("MeshTimeout", "default", "t1")
    row = Row(key=key, spec="not json", status="{}", labels={}, creation_time=when, modification_time=when)
    driver.create(row)
    with TestClient(api_app(ResourceManager(store), info=INFO), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_corrupt_row_can_be_deleted_over_http(planted: TestClient) -> None:
    assert planted.delete("/meshes/default/meshtimeouts/t1").status_code == 200
    assert planted.get("/meshes/default/meshtimeouts/t1").status_code == 404


def test_a_put_overwrites_a_corrupt_row(planted: TestClient) -> None:
    to = [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1h"}}]
    body = {
        "type": "MeshTimeout",
        "mesh": "default",
        "name": "t1",
        "spec": {"targetRef": {"kind": "Mesh"}, "to": to},
    }
    assert planted.put("/meshes/default/meshtimeouts/t1", json=body).status_code == 200
    stored = [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1h0m0s"}}]  # as Go stores it
    assert planted.get("/meshes/default/meshtimeouts/t1").json()["spec"] == {
        "targetRef": {"kind": "Mesh"},
        "to": stored,
    }


@pytest.mark.postgres
def test_go_kuma_rows_load_through_kv_as_stored(dsn: str) -> None:
    insert_go_rows(dsn)
    with kv.Store(PostgresDriver.from_url(dsn, max_open_connections=1)) as store:  # any type
        for type_, mesh, name, spec, labels, status in GO_ROWS:
            record = store.get(type_, mesh, name)
            assert (record.spec, record.labels, record.status) == (spec, labels or {}, status)
            assert record.owner == (kv.Key("Mesh", "", mesh) if mesh else None)
            listed = store.list(type_, mesh=mesh or None).items
            assert record in listed
    with kv.Store(PostgresDriver.from_url(dsn, max_open_connections=1), catalog=resources.catalog()) as kuma:
        assert [r.key.name for r in kuma.list("Mesh").items] == ["default", "demo"]
        assert [r.key.name for r in kuma.list("MeshTimeout").items] == ["t-old"]


@pytest.mark.postgres
def test_go_kuma_rows_are_served_over_http_as_stored(dsn: str, client: TestClient) -> None:
    insert_go_rows(dsn)
    assert names(client.get("/meshes")) == ["default", "demo"]
    mesh = client.get("/meshes/default").json()
    assert (mesh["mtls"], mesh["aFieldFromTheFuture"]) == (GO_ROWS[0][3]["mtls"], {"x": 1})
    dataplane = client.get("/meshes/default/dataplanes/dp-1").json()
    assert dataplane["networking"] == GO_ROWS[2][3]["networking"]
    assert names(client.get("/meshes/default/meshtimeouts")) == ["t-old"]
    assert client.get("/meshes/default/meshtimeouts/t-old").json()["spec"] == GO_ROWS[3][3]
    service = client.get("/meshes/default/meshservices/web").json()
    assert (service["spec"], service["status"]) == (GO_ROWS[4][3], GO_ROWS[4][5])
    for path in ("/meshes/default/meshgateways", "/zoneingresses", "/", "/_resources", "/dataplanes"):
        assert client.get(path).status_code < 500, path
    assert client.delete("/meshes/default").status_code == 400  # Dataplanes remain
    assert client.delete("/meshes/demo").status_code == 200


@pytest.mark.postgres
def test_kuma_cp_run_counts_and_logs_a_corrupt_row_once(corrupt: str) -> None:
    with running(migrated_pg_env(corrupt)) as plane:
        for _ in range(3):
            assert names(plane.api.get("/meshtimeouts")) == ["t0", "t2"]
            assert plane.api.get("/meshes/default/meshtimeouts/t1").status_code == 500
        assert plane.metric("store_corrupt_resources") == 1.0
    logs = plane.logs()
    assert logs.count("could not be read") == 1, logs
    assert "Traceback" not in logs
    assert "unexpected error" not in logs
