"""Fixtures of the fault tests: servers and proxies of the test's own.

Each PostgreSQL server is the test's own (restarted, killed or overloaded at will) and is removed
afterwards, even when the test fails; TCP proxies in front of it cut the network.
"""

from __future__ import annotations

import glob
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.proxy import Proxy

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres"
ADMIN_APP = "kv-faults-admin"


class PgServer:
    """A running server started by ``scripts/postgres start``, with the role and database ``kuma``."""

    def __init__(self, directory: str, dsn: str) -> None:
        from sqlalchemy.engine import make_url

        self.directory = directory
        self.dsn = dsn
        url = make_url(dsn)
        self.password = str(url.password)
        self.host, self.port = str(url.host), int(url.port or 5432)

    def url(self, *, port: int | None = None, **query: str) -> str:
        """The DSN with another *port* (a proxy's) and libpq *query* parameters."""
        from sqlalchemy.engine import make_url

        url = make_url(self.dsn).set(port=port or self.port).update_query_dict(query)
        return url.render_as_string(hide_password=False)

    def sql(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        """Rows of *statement*, run on a fresh connection that is none of the store's."""
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5, application_name=ADMIN_APP) as c:
            cursor = c.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every connection is terminated; returns once it accepts again."""
        _script("restart", self.directory)


def _script(*args: str, options: str = "") -> str:
    env = {**os.environ, "KUMA_PG_SERVER_OPTIONS": options}
    done = subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/postgres {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


@pytest.fixture
def pg_server() -> Iterator[Callable[..., PgServer]]:
    """Starts servers of this test's own (``options``: extra server options), migrated; all removed after."""
    if os.geteuid() != 0 and not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("no PostgreSQL server binaries (scripts/postgres installs them when run as root)")
    from kuma_cp import migrate
    from kv.drivers.postgres import create_engine

    started: list[str] = []

    def start(options: str = "") -> PgServer:
        directory = tempfile.mkdtemp(prefix="kuma-faults-pg.")
        started.append(directory)
        server = PgServer(directory, _script("start", directory, options=options).strip().splitlines()[-1])
        engine = create_engine(server.dsn, max_open_connections=1)
        try:
            migrate.migrate_up(engine)
        finally:
            engine.dispose()
        return server

    try:
        yield start
    finally:
        for directory in started:
            _script("stop", directory)


@pytest.fixture
def proxy() -> Iterator[Callable[[PgServer], Proxy]]:
    """Starts TCP proxies in front of servers; all closed after the test."""
    made: list[Proxy] = []

    def make(server: PgServer) -> Proxy:
        made.append(Proxy((server.host, server.port)))
        return made[-1]

    try:
        yield make
    finally:
        for one in made:
            one.close()
