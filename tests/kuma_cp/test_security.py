"""`kuma_cp.security`: identity, user tokens, RBAC, CORS and body limits, against Kuma's exact answers."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import attrs
import httpx
import jwt
import pytest
from attrs import frozen
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import kv
from kuma_cp import resources
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.api.errors import json_response
from kuma_cp.loader import load, section
from kuma_cp.manager import ResourceManager
from kuma_cp.security import (
    ADMIN,
    ANONYMOUS,
    AccessConfig,
    AuthnConfig,
    InvalidToken,
    TokenIssuer,
    TokenValidator,
    User,
    bootstrap_admin_token,
    ensure_signing_key,
    is_local_admin,
)
from kuma_cp.security.config import AccessRule
from kuma_cp.security.middleware import SecurityMiddleware, secure_app
from kuma_cp.security.tokens import ADMIN_TOKEN, REVOCATIONS
from kv.drivers.memory import MemoryDriver

INFO = IndexInfo(hostname="cp-1", version="2.9.0", instance_id="cp-1-4f2a", cluster_id="c0ffee")
REMOTE = ("203.0.113.7", 40000)
LOOPBACK = ("127.0.0.1", 40000)
UNAUTHENTICATED = {
    "type": "/std-errors",
    "status": 401,
    "title": "Invalid authentication data",
    "detail": "Unauthenticated",
    "details": "Unauthenticated",
}
ANON = "mesh-system:anonymous/mesh-system:unauthenticated"
SECRET_DATA = base64.b64encode(b"s3cr3t-value").decode()


def denied(detail: str) -> dict[str, Any]:
    return {
        "type": "/std-errors",
        "status": 403,
        "title": "Access Denied",
        "detail": detail,
        "details": detail,
    }


@pytest.fixture(scope="module")
def shared_pem() -> bytes:
    """One signing key for the module: RSA generation is slow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def put_secret(store: kv.Store, name: str, data: bytes) -> None:
    spec = {"data": base64.b64encode(data).decode()}
    store.create(kv.Record(key=kv.Key("GlobalSecret", "", name), spec=spec))


def new_store(driver: Any = None) -> kv.Store:
    return kv.Store(driver or MemoryDriver(), catalog=resources.catalog())


@pytest.fixture
def store(shared_pem: bytes) -> kv.Store:
    store = new_store()
    put_secret(store, "user-token-signing-key-1", shared_pem)
    ResourceManager(store).create(resources.get("Mesh"), "", "default", spec={})
    return store


def make_app(store: kv.Store, *, authn: AuthnConfig | None = None, **options: Any) -> Any:
    return secure_app(
        api_app(ResourceManager(store), info=INFO),
        store=store,
        authn=authn or AuthnConfig(),
        access=options.pop("access", AccessConfig()),
        **options,
    )


def call(
    app: Any,
    method: str,
    path: str,
    *,
    client: tuple[str, int] = REMOTE,
    headers: dict[str, str] | None = None,
    token: str | None = None,
    **kwargs: Any,
) -> httpx.Response:
    headers = dict(headers or {})
    if token is not None:
        headers["authorization"] = f"Bearer {token}"

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:5681") as http:
            return await http.request(method, path, headers=headers, **kwargs)

    return asyncio.run(go())


def issue(store: kv.Store, name: str = "alice", groups: Any = ("team-a",), **kwargs: Any) -> str:
    valid_for = kwargs.pop("valid_for", timedelta(hours=1))
    return TokenIssuer(store, **kwargs).issue(name, groups, valid_for)


# --- configuration -------------------------------------------------------------------------------


@frozen
class AuthnRoot:
    authn: AuthnConfig = section("authn", AuthnConfig)
    access: AccessConfig = section("access", AccessConfig)


def test_config_defaults_are_kumas() -> None:
    authn, access = AuthnConfig(), AccessConfig()
    assert (authn.type, authn.localhost_is_admin, authn.anonymous_writes) == ("tokens", True, False)
    assert authn.tokens.bootstrap_admin_token
    assert authn.tokens.enable_issuer
    assert authn.tokens.validator.use_secrets
    assert access.type == "static"
    admin = (("mesh-system:admin",), ("mesh-system:admin",))
    everyone = ((), ("mesh-system:unauthenticated", "mesh-system:authenticated"))
    static = access.static
    admins: tuple[AccessRule, ...] = (
        static.admin_resources,
        static.generate_user_token,
        static.generate_dp_token,
        static.generate_zone_token,
    )
    for rule in admins:
        assert (rule.user_list, rule.group_list) == admin
    everyones: tuple[AccessRule, ...] = (
        static.view_config_dump,
        static.view_stats,
        static.view_clusters,
        static.control_plane_metadata,
    )
    for rule in everyones:
        assert (rule.user_list, rule.group_list) == everyone
    assert static.admin_resources.allows(ADMIN)
    assert not static.admin_resources.allows(ANONYMOUS)
    assert static.view_stats.allows(ANONYMOUS)


def test_config_environment_names() -> None:
    environ = {
        "KUMA_API_SERVER_AUTHN_TYPE": "tokens",
        "KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN": "false",
        "KUMA_API_SERVER_AUTHN_ANONYMOUS_WRITES": "true",
        "KUMA_API_SERVER_AUTHN_TOKENS_BOOTSTRAP_ADMIN_TOKEN": "false",
        "KUMA_API_SERVER_AUTHN_TOKENS_ENABLE_ISSUER": "false",
        "KUMA_API_SERVER_AUTHN_TOKENS_VALIDATOR_USE_SECRETS": "false",
        "KUMA_ACCESS_STATIC_ADMIN_RESOURCES_USERS": "alice, bob",
        "KUMA_ACCESS_STATIC_ADMIN_RESOURCES_GROUPS": "",
        "KUMA_ACCESS_STATIC_GET_CONFIG_DUMP_GROUPS": "ops",
    }
    root = load(AuthnRoot, config_file=None, environ=environ)
    authn = root.authn
    assert (authn.localhost_is_admin, authn.anonymous_writes) == (False, True)
    assert (authn.tokens.bootstrap_admin_token, authn.tokens.enable_issuer) == (False, False)
    assert not authn.tokens.validator.use_secrets
    rule = root.access.static.admin_resources
    assert (rule.user_list, rule.group_list) == (("alice", "bob"), ())
    assert rule.allows(User("bob", ()))
    assert not rule.allows(ADMIN)
    assert root.access.static.view_config_dump.group_list == ("ops",)


# --- the localhost rule ----------------------------------------------------------------------------


def scope(client: Any = LOOPBACK, **headers: str) -> dict[str, Any]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "client": client, "headers": raw}


@pytest.mark.parametrize(
    ("client", "headers"),
    [
        (LOOPBACK, {"host": "localhost:5681"}),
        (LOOPBACK, {"host": "LOCALHOST."}),
        (LOOPBACK, {"host": "127.0.0.1:5681"}),
        (("127.9.9.9", 1), {"host": "127.0.0.2:5681"}),
        (("::1", 1), {"host": "[::1]:5681"}),
        (LOOPBACK, {"host": "localhost:5681", "sec_fetch_site": "same-origin"}),
        (LOOPBACK, {"host": "localhost:5681", "sec_fetch_site": "none"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://localhost:5681"}),
        (LOOPBACK, {"host": "localhost", "origin": "http://localhost"}),
        (LOOPBACK, {"host": "localhost:443", "origin": "https://localhost"}),
        (LOOPBACK, {"host": "localhost:5681", "x_forwarded_for": ""}),
    ],
)
def test_direct_loopback_calls_are_admin(client: Any, headers: dict[str, str]) -> None:
    assert is_local_admin(scope(client, **headers))


@pytest.mark.parametrize(
    ("client", "headers"),
    [
        (REMOTE, {"host": "localhost:5681"}),
        (None, {"host": "localhost:5681"}),
        (("localhost.evil.com", 1), {"host": "localhost:5681"}),
        (LOOPBACK, {"host": "localhost:5681", "forwarded": "for=198.51.100.1"}),
        (LOOPBACK, {"host": "localhost:5681", "x_forwarded_for": "198.51.100.1"}),
        (LOOPBACK, {"host": "localhost:5681", "x_real_ip": "198.51.100.1"}),
        (LOOPBACK, {}),
        (LOOPBACK, {"host": "cp.example.com:5681"}),
        (LOOPBACK, {"host": "10.0.0.1:5681"}),
        (LOOPBACK, {"host": "localhost:99999"}),
        (LOOPBACK, {"host": "localhost:0"}),
        (LOOPBACK, {"host": "localhost:"}),
        (LOOPBACK, {"host": "localhost:56a1"}),
        (LOOPBACK, {"host": "user@localhost:5681"}),
        (LOOPBACK, {"host": "localhost:5681", "sec_fetch_site": "cross-site"}),
        (LOOPBACK, {"host": "localhost:5681", "sec_fetch_site": "same-site"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "null"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://evil.example.com"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://localhost:5681/path"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://localhost:5681?q=1"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://u@localhost:5681"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://127.0.0.1:5681"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://localhost"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://localhost:5682"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "ftp://localhost:5681"}),
        (LOOPBACK, {"host": "localhost:5681", "origin": "http://localhost:5681:"}),
    ],
)
def test_each_condition_alone_denies_local_admin(client: Any, headers: dict[str, str]) -> None:
    assert not is_local_admin(scope(client, **headers))


def test_who_am_i_over_http(store: kv.Store) -> None:
    app = make_app(store)
    local = call(app, "GET", "/who-am-i", client=LOOPBACK)
    assert local.json() == {
        "name": "mesh-system:admin",
        "groups": ["mesh-system:admin", "mesh-system:authenticated"],
    }
    remote = call(app, "GET", "/who-am-i")
    assert remote.json() == {"name": "mesh-system:anonymous", "groups": ["mesh-system:unauthenticated"]}
    foreign = call(app, "GET", "/who-am-i", client=LOOPBACK, headers={"origin": "http://evil.example.com"})
    assert foreign.json()["name"] == "mesh-system:anonymous"
    off = make_app(store, authn=AuthnConfig(localhost_is_admin=False))
    assert call(off, "GET", "/who-am-i", client=LOOPBACK).json()["name"] == "mesh-system:anonymous"


# --- tokens ------------------------------------------------------------------------------------------


def test_a_valid_token_authenticates(store: kv.Store) -> None:
    token = issue(store)
    response = call(make_app(store), "GET", "/who-am-i", token=token)
    assert response.json() == {"name": "alice", "groups": ["team-a", "mesh-system:authenticated"]}


def test_token_shape_is_kumas(store: kv.Store) -> None:
    now = 1_900_000_000
    token = issue(store, "bob", None, clock=lambda: now, valid_for=timedelta(hours=24))
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": "1", "typ": "JWT"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"Name", "Groups", "exp", "nbf", "iat", "jti"}
    assert (claims["Name"], claims["Groups"]) == ("bob", None)
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (now - 5, now - 5, now + 86400)
    assert str(uuid.UUID(claims["jti"])) == claims["jti"]


def forge(claims: dict[str, Any], key: Any, algorithm: str, kid: Any = "1") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def bad_tokens(store: kv.Store, pem: bytes) -> dict[str, str]:
    now = int(time.time())
    claims = {
        "Name": "mallory",
        "Groups": ["mesh-system:admin"],
        "exp": now + 600,
        "nbf": now - 5,
        "jti": "j-1",
    }
    good = issue(store)
    head, _, signature = good.split(".")
    forged_payload = b64json(claims)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = serialization.load_pem_private_key(pem, password=None)
    revoked = issue(store)
    put_secret(
        store,
        REVOCATIONS,
        f"other,{jwt.decode(revoked, options={'verify_signature': False})['jti']}\n".encode(),
    )
    return {
        "expired": issue(store, clock=lambda: now - 7200),
        "not yet valid": issue(store, clock=lambda: now + 3600),
        "tampered": f"{head}.{forged_payload}.{signature}",
        "wrong key": forge(claims, other_key, "RS256"),
        "unknown kid": forge(claims, private, "RS256", kid="7"),
        "no kid": jwt.encode(claims, private, algorithm="RS256"),  # type: ignore[arg-type]
        "numeric kid": f"{b64json({'alg': 'RS256', 'kid': 1, 'typ': 'JWT'})}.{forged_payload}.{signature}",
        "alg none": forge(claims, None, "none"),
        "alg HS256": forge(claims, "a-shared-secret-of-32-bytes-long!", "HS256"),
        "RS512": forge(claims, private, "RS512"),
        "garbage": "not-a-jwt",
        "revoked": revoked,
    }


def test_every_bad_token_is_401_with_kumas_body(store: kv.Store, shared_pem: bytes) -> None:
    app = make_app(store)
    for what, token in bad_tokens(store, shared_pem).items():
        response = call(app, "GET", "/meshes", token=token)
        assert (what, response.status_code, response.json()) == (what, 401, UNAUTHENTICATED)


def test_validator_reasons(store: kv.Store, shared_pem: bytes) -> None:
    validator = TokenValidator(store)
    tokens = bad_tokens(store, shared_pem)
    reasons = {}
    for what in ("expired", "not yet valid", "revoked", "alg HS256", "unknown kid", "no kid"):
        with pytest.raises(InvalidToken) as caught:
            validator.validate(tokens[what])
        reasons[what] = caught.value.reason
    assert reasons == {
        "expired": "token has expired",
        "not yet valid": "token is not valid yet",
        "revoked": "token is revoked",
        "alg HS256": "unsupported token alg HS256. Allowed algorithm is RS256",
        "unknown kid": "there is no signing key in the Control Plane with KID 7",
        "no kid": "kid header not found",
    }


def test_what_is_not_a_bearer_token_stays_anonymous(store: kv.Store) -> None:
    app = make_app(store)
    for value in ("bearer x.y.z", "Basic YWxpY2U6cHc=", "Bearerx.y.z", "Token abc"):
        response = call(app, "GET", "/who-am-i", headers={"authorization": value})
        assert (value, response.status_code, response.json()["name"]) == (value, 200, "mesh-system:anonymous")


def test_skipped_routes_and_local_admin_never_validate_tokens(store: kv.Store) -> None:
    app = make_app(store)
    assert call(app, "GET", "/", token="garbage").status_code == 200
    assert call(app, "GET", "/gui/x", token="garbage").status_code == 404
    local = call(app, "GET", "/who-am-i", client=LOOPBACK, token="garbage")
    assert (local.status_code, local.json()["name"]) == (200, "mesh-system:admin")
    assert call(app, "POST", "/", token="garbage").status_code == 401


# --- authorization -----------------------------------------------------------------------------------

MESH_BODY = {"type": "Mesh", "name": "demo"}


def test_anonymous_writes_are_refused_unless_enabled(store: kv.Store) -> None:
    detail = (
        f'user "{ANON}" cannot write resources; send a token or enable KUMA_API_SERVER_AUTHN_ANONYMOUS_WRITES'
    )
    for method in ("PUT", "DELETE", "POST", "PATCH"):
        response = call(make_app(store), method, "/meshes/demo", json=MESH_BODY)
        assert (method, response.status_code, response.json()) == (method, 403, denied(detail))
    assert call(make_app(store), "GET", "/meshes/default").status_code == 200
    assert store.list("Mesh").total == 1
    open_app = make_app(store, authn=AuthnConfig(anonymous_writes=True))
    assert call(open_app, "PUT", "/meshes/demo", json=MESH_BODY).status_code == 201
    with_token = call(
        make_app(store), "PUT", "/meshes/demo2", json={"type": "Mesh", "name": "demo2"}, token=issue(store)
    )
    assert with_token.status_code == 201
    assert [r.key.name for r in store.list("Mesh").items] == ["default", "demo", "demo2"]


@pytest.mark.parametrize(
    ("path", "rtype"),
    [
        ("/meshes/default/secrets/s1", "Secret"),
        ("/meshes/default/secrets", "Secret"),
        ("/secrets", "Secret"),
        ("/globalsecrets", "GlobalSecret"),
        ("/globalsecrets/user-token-signing-key-1", "GlobalSecret"),
        ("/global-secrets/admin-user-token", "GlobalSecret"),
    ],
)
def test_secrets_are_for_admins_only(store: kv.Store, path: str, rtype: str) -> None:
    app = make_app(store)
    manager = ResourceManager(store)
    manager.create(resources.get("Secret"), "default", "s1", spec={"data": SECRET_DATA})
    anonymous = call(app, "GET", path)
    detail = f'user "{ANON}" cannot access the resource of type "{rtype}"'
    assert (anonymous.status_code, anonymous.json()) == (403, denied(detail))
    assert SECRET_DATA not in anonymous.text
    member = call(app, "GET", path, token=issue(store, "alice", ["team-a"]))
    detail = f'user "alice/team-a,mesh-system:authenticated" cannot access the resource of type "{rtype}"'
    assert (member.status_code, member.json()) == (403, denied(detail))
    admin_token = issue(store, "root", ["mesh-system:admin"])
    # /global-secrets is Kuma's alias of /globalsecrets, which the resource API does not serve.
    if "global-secrets" not in path:
        assert call(app, "GET", path, token=admin_token).status_code == 200
        assert call(app, "GET", path, client=LOOPBACK).status_code == 200
    put = call(
        app,
        "PUT",
        "/meshes/default/secrets/s2",
        token=issue(store),
        json={"type": "Secret", "name": "s2", "mesh": "default", "data": SECRET_DATA},
    )
    assert put.status_code == 403


def test_admin_reads_a_secret(store: kv.Store) -> None:
    ResourceManager(store).create(resources.get("Secret"), "default", "s1", spec={"data": SECRET_DATA})
    response = call(
        make_app(store),
        "GET",
        "/meshes/default/secrets/s1",
        token=issue(store, "root", ["mesh-system:admin"]),
    )
    assert (response.status_code, response.json()["data"]) == (200, SECRET_DATA)


# --- POST /tokens/user ------------------------------------------------------------------------------


def invalid(*violations: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "/std-errors",
        "status": 400,
        "title": "Invalid request",
        "detail": "Resource is not valid",
        "invalid_parameters": [{"field": f, "reason": r} for f, r in violations],
        "details": "Resource is not valid",
        "causes": [{"field": f, "message": r} for f, r in violations],
    }


def test_user_token_endpoint(store: kv.Store) -> None:
    app = make_app(store)
    body = {"name": "john", "groups": ["team-a"], "validFor": "24h0m0s"}
    anonymous = call(app, "POST", "/tokens/user", json=body)
    assert (anonymous.status_code, anonymous.json()) == (403, denied("action not allowed"))
    member = call(app, "POST", "/tokens/user", json=body, token=issue(store))
    assert (member.status_code, member.json()) == (403, denied("action not allowed"))

    def post(payload: Any) -> httpx.Response:
        content = payload if isinstance(payload, str) else json.dumps(payload)
        return call(app, "POST", "/tokens/user", content=content, client=LOOPBACK)

    assert (post("{not json").status_code, post("{not json").content) == (400, b"")
    assert post({"name": 1, "validFor": "1h"}).status_code == 400
    cases = [
        ({}, [("name", "cannot be empty"), ("validFor", "cannot be empty")]),
        ({"name": "john", "validFor": "0s"}, [("validFor", "cannot be empty or nil")]),
        (
            {"name": "john", "validFor": "ten days"},
            [
                ("validFor", 'is invalid: time: invalid duration "ten days"'),
                ("validFor", "cannot be empty or nil"),
            ],
        ),
    ]
    for payload, violations in cases:
        response = post(payload)
        assert (response.status_code, response.json()) == (400, invalid(*violations))
    issued = post(body)
    assert issued.status_code == 200
    assert issued.headers["content-type"].startswith("text/plain")
    token = issued.text
    assert token.count(".") == 2
    who = call(app, "GET", "/who-am-i", token=token).json()
    assert who == {"name": "john", "groups": ["team-a", "mesh-system:authenticated"]}
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert abs(exp - (time.time() + 86400)) < 60
    assert call(app, "GET", "/tokens/user", client=LOOPBACK).status_code == 405


def test_user_token_issuer_disabled(store: kv.Store) -> None:
    authn = AuthnConfig(tokens=attrs.evolve(AuthnConfig().tokens, enable_issuer=False))
    response = call(
        make_app(store, authn=authn),
        "POST",
        "/tokens/user",
        client=LOOPBACK,
        json={"name": "j", "validFor": "1h"},
    )
    detail = "issuing tokens using the control plane is disabled."
    expected = {
        "type": "/std-errors",
        "status": 400,
        "title": "Could not issue a token",
        "detail": detail,
        "details": detail,
    }
    assert (response.status_code, response.json()) == (400, expected)


# --- signing keys, two instances, bootstrap ---------------------------------------------------------


def test_two_instances_on_one_database_share_keys_and_revocations() -> None:
    driver = MemoryDriver()
    first, second = new_store(driver), new_store(driver)
    assert ensure_signing_key(first) == 1
    assert ensure_signing_key(ResourceManager(second)) == 1
    names = [r.key.name for r in first.list("GlobalSecret").items]
    assert names == ["user-token-signing-key-1"]
    pem = base64.b64decode(first.get("GlobalSecret", "", "user-token-signing-key-1").spec["data"])
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert serialization.load_pem_private_key(pem, password=None).key_size == 2048  # type: ignore[union-attr]
    token = issue(first)
    validator = TokenValidator(second, ttl=0)
    assert validator.validate(token) == User("alice", ("team-a", "mesh-system:authenticated"))
    assert call(make_app(second), "GET", "/who-am-i", token=token).json()["name"] == "alice"
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    put_secret(first, REVOCATIONS, jti.encode())
    with pytest.raises(InvalidToken, match="token is revoked"):
        validator.validate(token)


def test_the_issuer_signs_with_the_highest_serial(store: kv.Store, shared_pem: bytes) -> None:
    put_secret(store, "user-token-signing-key-10", shared_pem)
    put_secret(store, "user-token-signing-key-2", shared_pem)
    token = issue(store)
    assert jwt.get_unverified_header(token)["kid"] == "10"
    assert TokenValidator(store).validate(token).name == "alice"
    assert ensure_signing_key(store) == 10


def test_bootstrap_admin_token_once_with_racing_instances(store: kv.Store) -> None:
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def run() -> None:
        barrier.wait()
        results.append(bootstrap_admin_token(store))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    record = store.get("GlobalSecret", "", ADMIN_TOKEN)
    token = base64.b64decode(record.spec["data"]).decode()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert abs(claims["exp"] - claims["iat"] - 87600 * 3600 - 5) <= 1
    assert TokenValidator(store).validate(token) == User(
        "mesh-system:admin", ("mesh-system:admin", "mesh-system:authenticated")
    )
    assert bootstrap_admin_token(store) is False
    assert store.get("GlobalSecret", "", ADMIN_TOKEN).version == record.version  # not written again


# --- body limit, CORS, logs ----------------------------------------------------------------------------


def test_a_huge_body_is_413_without_being_read(store: kv.Store) -> None:
    app = make_app(store, authn=AuthnConfig(anonymous_writes=True), body_limit=1024)
    declared = call(app, "PUT", "/meshes/demo", content=b"x" * 2048)
    assert declared.status_code == 413
    assert declared.json()["title"] == "Request Entity Too Large"
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"y" * 600, "more_body": True}  # endless, no length

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    request = {
        "type": "http",
        "method": "PUT",
        "path": "/meshes/demo",
        "headers": [(b"host", b"cp:5681")],
        "client": REMOTE,
    }
    asyncio.run(app(request, receive, send))
    assert (sent[0]["status"], reads) == (413, 2)
    assert store.list("Mesh").total == 1
    small = call(app, "PUT", "/meshes/demo", json=MESH_BODY)
    assert small.status_code == 201


def test_cors_headers_only_when_configured(store: kv.Store) -> None:
    origin = {"origin": "https://GUI.example.com"}
    plain = call(make_app(store), "GET", "/meshes", headers=origin)
    assert not [h for h in plain.headers if h.startswith("access-control-")]
    app = make_app(store, cors_allowed_domains=["https://gui.example.com"])
    allowed = call(app, "GET", "/meshes", headers=origin)
    assert allowed.headers["access-control-allow-origin"] == "https://GUI.example.com"
    other = call(app, "GET", "/meshes", headers={"origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers
    regexp_like = call(
        make_app(store, cors_allowed_domains=["https://.*.example.com"]), "GET", "/meshes", headers=origin
    )
    assert "access-control-allow-origin" not in regexp_like.headers
    anything = call(
        make_app(store, cors_allowed_domains=[".*"]), "GET", "/meshes", headers={"origin": "https://x.test"}
    )
    assert anything.headers["access-control-allow-origin"] == "https://x.test"
    preflight = call(
        app, "OPTIONS", "/meshes/demo", headers={**origin, "access-control-request-method": "PUT"}
    )
    assert preflight.status_code == 200
    assert "PUT" in preflight.headers["access-control-allow-methods"]


def test_no_token_or_key_material_in_logs(
    store: kv.Store, shared_pem: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = make_app(store)
    tokens = bad_tokens(store, shared_pem)
    for token in tokens.values():
        assert call(app, "GET", "/meshes", token=token).status_code == 401
    issued = call(app, "POST", "/tokens/user", client=LOOPBACK, json={"name": "j", "validFor": "1h"}).text
    bootstrap_admin_token(store)
    admin = base64.b64decode(store.get("GlobalSecret", "", ADMIN_TOKEN).spec["data"]).decode()
    assert "authentication failed: token has expired" in caplog.text
    secrets = [*tokens.values(), issued, admin, shared_pem.decode(), base64.b64encode(shared_pem).decode()]
    for secret in secrets:
        for part in secret.split("."):
            if len(part) > 16:
                assert part not in caplog.text


def test_the_user_reaches_the_app_in_scope_state(store: kv.Store) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        user = scope["state"]["user"]
        await json_response({"name": user.name})(scope, receive, send)

    wrapped = SecurityMiddleware(
        app,
        validator=TokenValidator(store),
        issuer=TokenIssuer(store),
        authn=AuthnConfig(),
        access=AccessConfig(),
    )
    assert call(wrapped, "GET", "/x", token=issue(store, "zed")).json() == {"name": "zed"}
