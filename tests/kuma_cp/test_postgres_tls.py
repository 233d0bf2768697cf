"""kuma-cp on a Postgres that accepts TLS only, as every cloud Postgres does.

Kuma's four modes, a client certificate, SNI, and the whole control plane (store, LISTEN, leader
election) over TLS.

The module starts its own server (`scripts/postgres`) with ``ssl=on`` and a ``pg_hba.conf`` of
``hostssl`` lines only; its CA and certificates are made here. The server certificate names
``localhost`` only, so that ``verifyFull`` on ``127.0.0.1`` must fail where ``verifyCa`` passes. The
database ``certdb`` also requires a client certificate whose name is the user's
(``clientcert=verify-full``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

import kv
from kuma_cp import stores
from kuma_cp.config import Config
from kuma_cp.loader import load
from kuma_cp.pgconfig import libpq_params
from tests.conftest import until
from tests.kuma_cp.certs import CA, Issued
from tests.kuma_cp.e2e import pg_env, running

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "kuma-Test-Pw1"  # scripts/postgres's
HBA = """\
local all all trust
hostssl certdb all 127.0.0.1/32 scram-sha-256 clientcert=verify-full
hostssl all all 127.0.0.1/32 scram-sha-256
"""


@attrs.frozen
class TlsServer:
    port: int
    ca: Path
    wrong_ca: Path
    client: Issued
    stranger: Issued  # signed by the right CA, for another user


@pytest.fixture(scope="module")
def server() -> Iterator[TlsServer]:
    work = Path(tempfile.mkdtemp(prefix="kv-pg-tls-"))  # not under pytest's 0700 tmp: the server reads it
    os.chmod(work, 0o755)
    tls = work / "tls"
    tls.mkdir()
    os.chmod(tls, 0o755)
    authority = CA(tls)
    server_cert = authority.issue("server", hosts=("localhost",))
    fixture = TlsServer(
        port=0,
        ca=authority.cert,
        wrong_ca=CA(tls, "wrong-ca").cert,
        client=authority.issue("client", common_name="kuma"),
        stranger=authority.issue("stranger", common_name="someone-else"),
    )
    options = f"-c ssl=on -c ssl_cert_file={server_cert.cert} -c ssl_key_file={server_cert.key}"
    options += f" -c ssl_ca_file={authority.cert}"
    env = {**os.environ, "KUMA_PG_SERVER_OPTIONS": options}
    if os.getuid() == 0:  # as root the server runs as "postgres", which must own its key
        shutil.chown(server_cert.key, "postgres")
    started = subprocess.run(
        [str(ROOT / "scripts/postgres"), "start", str(work / "pg")], env=env, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    port = make_url(started.stdout.strip()).port
    assert port is not None
    (work / "pg/data/pg_hba.conf").write_text(HBA)
    with psycopg.connect(host=str(work / "pg"), port=port, user="postgres", dbname="postgres") as admin:
        admin.autocommit = True
        admin.execute("SELECT pg_reload_conf()")
        admin.execute("CREATE DATABASE certdb OWNER kuma")
    try:
        yield attrs.evolve(fixture, port=port)
    finally:
        subprocess.run([str(ROOT / "scripts/postgres"), "stop", str(work / "pg")], check=False)
        shutil.rmtree(work, ignore_errors=True)


def _env(server: TlsServer, *, host: str = "localhost", db: str = "kuma", **tls: Any) -> dict[str, str]:
    env = pg_env(f"postgresql://kuma:{PASSWORD}@{host}:{server.port}/{db}")
    env["KUMA_STORE_POSTGRES_HOST"] = host
    names = {
        "mode": "MODE",
        "ca": "CA_PATH",
        "cert": "CERT_PATH",
        "key": "KEY_PATH",
        "no_sni": "DISABLE_SSLSNI",
    }
    return env | {f"KUMA_STORE_POSTGRES_TLS_{names[k]}": str(v) for k, v in tls.items()}


def _config(env: dict[str, str]) -> Config:
    return load(Config, config_file=None, environ=env)


def _use(env: dict[str, str]) -> None:
    """Migrate over TLS, open the store as ``kuma-cp run`` does, write and read a Mesh."""
    config = _config(env)
    stores.migrate(config)
    store = stores.open_store(config)
    try:
        name = f"tls-{os.urandom(4).hex()}"
        store.create(kv.Record(key=kv.Key("Mesh", "", name), spec={}))
        assert store.get("Mesh", "", name).key.name == name
    finally:
        store.close()


def _connect(env: dict[str, str]) -> psycopg.Connection[Any]:
    return psycopg.connect(make_conninfo(**libpq_params(_config(env).store.postgres)))


def _refused(env: dict[str, str]) -> str:
    with pytest.raises((stores.SetupError, kv.KVError)) as refused:
        _use(env)
    message = str(refused.value)
    assert PASSWORD not in message
    return message


@pytest.mark.parametrize(
    ("mode", "host", "ca"),
    [
        ("verifyNone", "127.0.0.1", None),  # encrypted, the server unchecked
        ("verifyCa", "127.0.0.1", "right"),  # the CA checked, not the name
        ("verifyFull", "localhost", "right"),
    ],
)
def test_each_checking_mode_connects_when_its_checks_pass(
    server: TlsServer, mode: str, host: str, ca: str | None
) -> None:
    tls: dict[str, Any] = {"ca": server.ca} if ca else {}
    _use(_env(server, host=host, mode=mode, **tls))


@pytest.mark.parametrize(
    ("mode", "host", "ca", "reason"),
    [
        ("disable", "localhost", None, "no encryption"),
        ("verifyCa", "127.0.0.1", "wrong", "certificate verify failed"),
        ("verifyFull", "localhost", "wrong", "certificate verify failed"),
        ("verifyFull", "127.0.0.1", "right", "does not match host name"),
    ],
)
def test_each_mode_refuses_what_it_must_with_a_clear_error(
    server: TlsServer, mode: str, host: str, ca: str | None, reason: str
) -> None:
    path = {"right": server.ca, "wrong": server.wrong_ca}
    tls: dict[str, Any] = {"ca": path[ca]} if ca else {}
    message = _refused(_env(server, host=host, mode=mode, **tls))
    assert reason in message


def test_a_database_requiring_a_client_certificate(server: TlsServer) -> None:
    tls: dict[str, Any] = {"mode": "verifyFull", "ca": server.ca}
    _use(_env(server, db="certdb", cert=server.client.cert, key=server.client.key, **tls))
    assert "certificate" in _refused(_env(server, db="certdb", **tls))
    stranger = _refused(_env(server, db="certdb", cert=server.stranger.cert, key=server.stranger.key, **tls))
    assert 'authentication failed for user "kuma"' in stranger  # the server logs the CN mismatch


class _SniProbe:
    """A server that answers Postgres's SSLRequest and records the name the client's TLS hello asks for."""

    def __init__(self, authority: CA) -> None:
        cert = authority.issue("probe", hosts=("localhost",))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert.cert, cert.key)
        self.names: list[str | None] = []
        self.context.sni_callback = lambda _sock, name, _ctx: self.names.append(name)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            with conn:
                conn.recv(8)  # SSLRequest: length 8, code 80877103
                conn.sendall(b"S")
                with contextlib.suppress(ssl.SSLError, OSError):
                    self.context.wrap_socket(conn, server_side=True).close()


def test_sni_is_sent_unless_disabled(tmp_path: Path) -> None:
    probe = _SniProbe(CA(tmp_path))
    for disable in (False, True):
        env = _env_for_probe(probe.port, disable)
        with contextlib.suppress(psycopg.OperationalError):  # the probe hangs up after the handshake
            _connect(env).close()
    assert until(lambda: len(probe.names) >= 2, 5), probe.names
    assert probe.names == ["localhost", None]


def _env_for_probe(port: int, disable_sni: bool) -> dict[str, str]:
    env = pg_env(f"postgresql://kuma:{PASSWORD}@localhost:{port}/kuma")
    tls = {"KUMA_STORE_POSTGRES_TLS_MODE": "verifyNone", "KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT": "2"}
    return env | tls | {"KUMA_STORE_POSTGRES_TLS_DISABLE_SSLSNI": str(disable_sni).lower()}


def test_kuma_cp_runs_over_tls_with_a_client_certificate(server: TlsServer) -> None:
    """migrate, the store, LISTEN and the leader's lock, all on TLS connections (verifyFull, client cert)."""
    client: dict[str, Any] = {"cert": server.client.cert, "key": server.client.key}
    env = _env(server, db="certdb", mode="verifyFull", ca=server.ca, **client)
    migrate = [sys.executable, "-m", "kuma_cp", "migrate", "up"]
    migrated = subprocess.run(migrate, env={**os.environ, **env}, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    created = 'store_events{operation="Create",resource_type="Mesh"}'
    with running(env) as plane:
        assert until(lambda: plane.metric("leader") == 1.0, 20), plane.logs()
        assert until(lambda: plane.api.get("/meshes/default").status_code == 200, 20), plane.logs()
        assert plane.put("/meshes/over-tls", {"type": "Mesh", "name": "over-tls"}).status_code == 201
        # The create came back through the LISTEN connection to the event bus.
        assert until(lambda: (plane.metric(created) or 0) >= 2, 10), plane.logs()  # default, over-tls
        with _connect(env) as conn:
            rows = conn.execute(
                "SELECT s.ssl, s.client_dn, a.query FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)"
                " WHERE a.datname = 'certdb' AND a.pid <> pg_backend_pid()"
            ).fetchall()
    assert rows, "kuma-cp held no connection"
    assert all(ssl_on and dn.endswith("CN=kuma") for ssl_on, dn, _ in rows), rows
    assert any(query.upper().startswith("LISTEN") for _, _, query in rows), rows
