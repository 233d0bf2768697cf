"""kuma-cp as operators and kumactl meet it: a real process, real ports, real signals, real HTTP."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.kuma_cp.e2e import ControlPlane, migrated_pg_env, running

DATAPLANE: dict[str, Any] = {
    "type": "Dataplane",
    "mesh": "demo",
    "name": "dp-1",
    "networking": {"address": "10.1.2.1", "inbound": [{"port": 1234, "tags": {"kuma.io/service": "web"}}]},
}
MTP: dict[str, Any] = {
    "type": "MeshTrafficPermission",
    "mesh": "demo",
    "name": "mtp-1",
    "spec": {
        "targetRef": {"kind": "Mesh"},
        "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://demo"}}]}}],
    },
}


@pytest.fixture
def cp() -> Iterator[ControlPlane]:
    with running() as plane:
        yield plane


def test_the_index_and_the_default_mesh(cp: ControlPlane) -> None:
    index = cp.api.get("/").json()
    assert index["product"] == "Kuma"
    assert {"hostname", "version", "instanceId", "clusterId"} <= index.keys()
    meshes = cp.api.get("/meshes").json()
    assert [m["name"] for m in meshes["items"]] == ["default"]
    assert cp.diagnostics.get("/healthy").status_code == 200


def test_crud_on_a_mesh_a_dataplane_and_a_policy(cp: ControlPlane) -> None:
    assert cp.put("/meshes/demo", {"type": "Mesh", "name": "demo"}).status_code == 201
    assert cp.put("/meshes/demo/dataplanes/dp-1", DATAPLANE).status_code == 201
    assert cp.put("/meshes/demo/meshtrafficpermissions/mtp-1", MTP).status_code == 201
    dataplane = cp.api.get("/meshes/demo/dataplanes/dp-1").json()
    assert (dataplane["type"], dataplane["mesh"], dataplane["name"]) == ("Dataplane", "demo", "dp-1")
    assert dataplane["networking"]["address"] == "10.1.2.1"
    assert "spec" not in dataplane
    policy = cp.api.get("/meshes/demo/meshtrafficpermissions/mtp-1").json()
    assert policy["spec"] == MTP["spec"]
    deny = [{"default": {"deny": [{"spiffeID": {"type": "Exact", "value": "spiffe://demo/ns/x"}}]}}]
    updated = {**MTP, "spec": {**MTP["spec"], "rules": deny}}
    assert cp.put("/meshes/demo/meshtrafficpermissions/mtp-1", updated).status_code == 200
    assert cp.api.get("/meshes/demo/meshtrafficpermissions/mtp-1").json()["spec"]["rules"] == deny
    assert cp.api.delete("/meshes/demo/meshtrafficpermissions/mtp-1").status_code == 200
    assert cp.api.get("/meshes/demo/meshtrafficpermissions/mtp-1").status_code == 404


def test_pagination_like_kumactl(cp: ControlPlane) -> None:
    cp.put("/meshes/demo", {"type": "Mesh", "name": "demo"})
    for i in range(5):
        body = {**DATAPLANE, "name": f"dp-{i}"}
        assert cp.put(f"/meshes/demo/dataplanes/dp-{i}", body).status_code == 201
    names, url = [], "/meshes/demo/dataplanes?size=2"
    while url:
        page = cp.api.get(url).json()
        assert page["total"] == 5
        names += [item["name"] for item in page["items"]]
        url = page["next"]
    assert names == [f"dp-{i}" for i in range(5)]
    assert cp.api.get("/dataplanes?size=2&offset=4").json()["next"] is None


def test_errors_are_kumas(cp: ControlPlane) -> None:
    bad_json = cp.api.put(
        "/meshes/default/dataplanes/dp-1", content=b"{,}", headers={"content-type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["type"] == "/std-errors"
    mismatch = cp.put("/meshes/default/dataplanes/dp-1", {**DATAPLANE, "mesh": "default", "name": "other"})
    assert mismatch.status_code == 400
    assert cp.api.get("/meshes/default/dataplanes/nope").json()["status"] == 404
    assert cp.api.get("/meshes/missing/dataplanes").status_code == 404
    assert cp.api.get("/no/such/path").status_code == 404
    assert cp.api.get("/meshes/default/dataplanes/dp-1").status_code == 404  # nothing half-written


def test_deleting_a_mesh_removes_its_resources(cp: ControlPlane) -> None:
    cp.put("/meshes/demo", {"type": "Mesh", "name": "demo"})
    cp.put("/meshes/demo/dataplanes/dp-1", DATAPLANE)
    cp.put("/meshes/demo/meshtrafficpermissions/mtp-1", MTP)
    assert cp.api.delete("/meshes/demo").status_code == 400  # a Dataplane is still attached
    assert cp.api.delete("/meshes/demo/dataplanes/dp-1").status_code == 200
    assert cp.api.delete("/meshes/demo").status_code == 200
    assert cp.api.get("/meshtrafficpermissions").json()["total"] == 0


def test_etag_and_if_match_stop_lost_updates(cp: ControlPlane) -> None:
    cp.put("/meshes/demo", {"type": "Mesh", "name": "demo"})
    cp.put("/meshes/demo/meshtrafficpermissions/mtp-1", MTP)
    etag = cp.api.get("/meshes/demo/meshtrafficpermissions/mtp-1").headers["etag"]
    assert cp.put("/meshes/demo/meshtrafficpermissions/mtp-1", MTP, **{"If-Match": etag}).status_code == 200
    other = {**MTP, "spec": {**MTP["spec"], "targetRef": {"kind": "Dataplane"}}}  # valid, and different
    stale = cp.put("/meshes/demo/meshtrafficpermissions/mtp-1", other, **{"If-Match": etag})
    assert stale.status_code == 412
    assert cp.api.get("/meshes/demo/meshtrafficpermissions/mtp-1").json()["spec"] == MTP["spec"]


def test_metrics_count_store_operations(cp: ControlPlane) -> None:
    cp.api.get("/meshes/default")
    text = cp.diagnostics.get("/metrics").text
    assert 'store_count{operation="get",resource_type="Mesh"}' in text or "store_bucket" in text
    assert cp.metric("leader") == 1.0


def test_sigterm_during_requests_exits_0_promptly() -> None:
    plane = ControlPlane()
    plane.wait_ready()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                plane.api.get("/meshes")
            except Exception:
                return

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    code = plane.stop(signal.SIGTERM)
    stop.set()
    worker.join()
    assert code == 0, plane.logs()
    assert time.monotonic() - started < 10
    assert "all components have stopped" in plane.logs()


def test_skipping_the_default_mesh() -> None:
    with running({"KUMA_DEFAULTS_SKIP_MESH_CREATION": "true"}) as plane:
        assert plane.api.get("/meshes").json()["total"] == 0


def test_the_api_servers_close_a_silent_connection_at_the_header_timeout() -> None:
    with running({"KUMA_API_SERVER_READ_HEADER_TIMEOUT": "300ms"}) as plane:
        for port in (plane.api_port, plane.https_port):  # plain and TLS: the TLS handshake never starts
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                started = time.monotonic()
                assert sock.recv(1) == b""
                assert 0.25 <= time.monotonic() - started < 2.0
        assert plane.api.get("/meshes").status_code == 200  # and serves on


@pytest.mark.postgres
def test_postgres_data_survives_a_restart(pg_database: str) -> None:
    env = migrated_pg_env(pg_database)
    first = ControlPlane(env)
    first.wait_ready()
    assert first.put("/meshes/demo", {"type": "Mesh", "name": "demo"}).status_code == 201
    assert first.stop() == 0
    with running(env) as second:
        assert [m["name"] for m in second.api.get("/meshes").json()["items"]] == ["default", "demo"]


@pytest.mark.postgres
def test_postgres_two_instances_one_leader_and_failover(pg_database: str) -> None:
    env = migrated_pg_env(pg_database)
    planes = [ControlPlane(env), ControlPlane(env)]
    try:
        for plane in planes:
            plane.wait_ready(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sorted(p.metric("leader") or 0 for p in planes) != [0, 1]:
            time.sleep(0.5)
        leaders = [p for p in planes if p.metric("leader") == 1]
        assert len(leaders) == 1, [p.logs() for p in planes]
        (follower,) = [p for p in planes if p is not leaders[0]]
        # an event written through the follower reaches the leader's bus
        before = leaders[0].metric("store_events") or 0
        assert follower.put("/meshes/demo", {"type": "Mesh", "name": "demo"}).status_code == 201
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (leaders[0].metric("store_events") or 0) <= before:
            time.sleep(0.2)
        assert (leaders[0].metric("store_events") or 0) > before
        leaders[0].stop(signal.SIGKILL)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and follower.metric("leader") != 1:
            time.sleep(0.5)
        assert follower.metric("leader") == 1, follower.logs()
        assert len(follower.api.get("/meshes").json()["items"]) == 2  # exactly one default Mesh
    finally:
        for plane in planes:
            plane.stop()


def test_https_serves_the_same_api_with_a_generated_certificate_that_is_reused(tmp_path: Any) -> None:
    import os
    import ssl
    import warnings
    from pathlib import Path

    import httpx

    work_dir = str(tmp_path / "work")
    plane = ControlPlane({"KUMA_GENERAL_WORK_DIR": work_dir})
    try:
        plane.wait_ready()
        cert = os.path.join(work_dir, "kuma-cp.crt")
        assert oct(os.stat(os.path.join(work_dir, "kuma-cp.key")).st_mode & 0o777) == "0o600"
        context = ssl.create_default_context(cafile=cert)
        with httpx.Client(base_url=f"https://127.0.0.1:{plane.https_port}", verify=context) as https:
            assert [m["name"] for m in https.get("/meshes").json()["items"]] == ["default"]
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(cert)
        with warnings.catch_warnings():  # a client stuck at TLS 1.1 is what this checks is refused
            warnings.simplefilter("ignore", DeprecationWarning)
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=old) as legacy:
            legacy.get(f"https://127.0.0.1:{plane.https_port}/meshes")
        first = Path(cert).read_text()
    finally:
        assert plane.stop() == 0, plane.logs()
    again = ControlPlane({"KUMA_GENERAL_WORK_DIR": work_dir})
    try:
        again.wait_ready()
        assert Path(work_dir, "kuma-cp.crt").read_text() == first  # generated once, then reused
    finally:
        assert again.stop() == 0
