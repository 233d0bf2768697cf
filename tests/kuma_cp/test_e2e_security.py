"""API security over real sockets, against a real kuma-cp process (the issue's acceptance tests)."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.kuma_cp.certs import CA
from tests.kuma_cp.e2e import ControlPlane, migrated_pg_env, running

REMOTE = {"Host": "kuma.example.com"}  # what a request through a proxy or from another host looks like
MESH = {"type": "Mesh", "name": "demo"}


def admin_token(plane: ControlPlane) -> str:
    secret = plane.api.get("/globalsecrets/admin-user-token")  # localhost is admin by default
    assert secret.status_code == 200, secret.text
    return base64.b64decode(secret.json()["data"]).decode()


def user_token(plane: ControlPlane, name: str, groups: list[str]) -> str:
    issued = plane.api.post("/tokens/user", json={"name": name, "groups": groups, "validFor": "1h"})
    assert issued.status_code == 200, issued.text
    assert issued.headers["content-type"].startswith("text/plain")
    return issued.text


@pytest.fixture
def cp() -> Iterator[ControlPlane]:
    with running() as plane:
        yield plane


@pytest.mark.parametrize(
    "headers",
    [
        REMOTE,
        {"X-Forwarded-For": "203.0.113.9"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_remote_looking_request_is_anonymous(cp: ControlPlane, headers: dict[str, str]) -> None:
    assert cp.api.get("/who-am-i", headers=headers).json()["name"] == "mesh-system:anonymous"
    assert cp.api.put("/meshes/demo", json=MESH, headers=headers).status_code == 403
    assert cp.api.get("/meshes/default/secrets", headers=headers).status_code == 403
    assert cp.api.get("/meshes", headers=headers).status_code == 200  # reads of non-secrets stay open
    assert cp.api.get("/who-am-i").json()["name"] == "mesh-system:admin"  # the same socket, local: admin


def test_tokens_work_on_both_ports_and_bad_ones_are_401(cp: ControlPlane) -> None:
    token = admin_token(cp)
    bearer = {**REMOTE, "Authorization": f"Bearer {token}"}
    assert cp.api.put("/meshes/demo", json=MESH, headers=bearer).status_code == 201
    context = ssl.create_default_context(cafile=str(Path(cp.work_dir, "kuma-cp.crt")))
    with httpx.Client(base_url=f"https://127.0.0.1:{cp.https_port}", verify=context) as https:
        assert https.get("/meshes/default/secrets", headers=bearer).status_code == 200
        assert https.get("/meshes/default/secrets", headers=REMOTE).status_code == 403
    header, payload, signature = token.split(".")
    tampered = ".".join((header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    refused = cp.api.get("/meshes", headers={**REMOTE, "Authorization": f"Bearer {tampered}"})
    assert refused.status_code == 401
    assert refused.json() == {
        "type": "/std-errors",
        "status": 401,
        "title": "Invalid authentication data",
        "detail": "Unauthenticated",
        "details": "Unauthenticated",
    }


def test_a_non_admin_user_cannot_read_secrets(cp: ControlPlane) -> None:
    token = user_token(cp, "john", ["team-a"])
    john = {**REMOTE, "Authorization": f"Bearer {token}"}
    assert cp.api.get("/who-am-i", headers=john).json() == {
        "name": "john",
        "groups": ["team-a", "mesh-system:authenticated"],
    }
    assert cp.put("/meshes/demo", MESH, **john).status_code == 201  # authenticated users may write
    denied = cp.api.get("/meshes/default/secrets", headers=john)
    assert denied.status_code == 403
    assert (
        denied.json()["detail"]
        == 'user "john/team-a,mesh-system:authenticated" cannot access the resource of type "Secret"'
    )
    assert cp.api.post("/tokens/user", json={"name": "x", "validFor": "1h"}, headers=john).status_code == 403
    for secret in (token, admin_token(cp)):
        assert secret not in cp.logs()
    assert "PRIVATE KEY" not in cp.logs()


def test_anonymous_writes_can_be_turned_back_on() -> None:
    with running({"KUMA_API_SERVER_AUTHN_ANONYMOUS_WRITES": "true"}) as plane:
        assert plane.api.put("/meshes/demo", json=MESH, headers=REMOTE).status_code == 201
        assert plane.api.get("/meshes/default/secrets", headers=REMOTE).status_code == 403  # still admin-only


def test_localhost_admin_can_be_turned_off() -> None:
    with running({"KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN": "false"}) as plane:
        assert plane.api.get("/who-am-i").json()["name"] == "mesh-system:anonymous"
        assert plane.api.get("/globalsecrets/admin-user-token").status_code == 403


@pytest.mark.postgres
def test_two_instances_on_one_database_accept_each_others_tokens(pg_database: str) -> None:
    env = migrated_pg_env(pg_database)
    first, second = ControlPlane(env), ControlPlane(env)
    try:
        first.wait_ready(timeout=60)
        second.wait_ready(timeout=60)
        token = user_token(first, "jane", ["ops"])
        jane = {**REMOTE, "Authorization": f"Bearer {token}"}
        assert second.api.get("/who-am-i", headers=jane).json()["name"] == "jane"
        assert admin_token(first) == admin_token(second)  # created once, by the leader
    finally:
        assert first.stop() == 0
        assert second.stop() == 0


def test_https_can_require_client_certificates(tmp_path: Path) -> None:
    authority = CA(tmp_path)
    ca, client = authority.cert, authority.issue("client")
    client_cert, client_key = client.cert, client.key
    plane = ControlPlane(
        {"KUMA_API_SERVER_HTTPS_REQUIRE_CLIENT_CERT": "true", "KUMA_API_SERVER_HTTPS_TLS_CA_FILE": str(ca)}
    )
    try:
        plane.wait_ready()
        url = f"https://127.0.0.1:{plane.https_port}/meshes"
        with_cert = ssl.create_default_context(cafile=str(Path(plane.work_dir, "kuma-cp.crt")))
        with_cert.load_cert_chain(str(client_cert), str(client_key))
        with httpx.Client(verify=with_cert) as https:
            assert https.get(url).status_code == 200
        without = ssl.create_default_context(cafile=str(Path(plane.work_dir, "kuma-cp.crt")))
        with (
            pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)),
            httpx.Client(verify=without) as https,
        ):
            https.get(url)
    finally:
        assert plane.stop() == 0, plane.logs()
