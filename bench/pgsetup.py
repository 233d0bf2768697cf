"""The PostgreSQL side of the set-up: a server, a scratch database migrated by Kuma's migrations, bulk loads.

Every run gets a fresh database (``kv_bench_<pid>``) on the server it is given, dropped at the end, so that
tables start without bloat and nothing else on the server is touched. When no server is given, a
throwaway one is started with ``scripts/postgres`` and stopped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench.common import LABELS, ROOT, dataplane_spec
from kv.driver import Query
from kv.drivers.postgres.sql import DELETE, GET, INSERT, UPDATE, compiled
from kv.drivers.postgres.sql import list_sql as sql_list

__all__ = ["SQL", "bulk_load", "delete_mesh", "list_sql", "migrate", "server", "with_db"]

SQL = {
    name: compiled(s)
    for name, s in (("get", GET), ("insert", INSERT), ("update", UPDATE), ("delete", DELETE))
}


def list_sql(type_name: str, *, mesh: str | None = None, limit: int | None = None, offset: int = 0) -> Any:
    """The text and parameters of the listing statement the driver runs for this query."""
    return sql_list(Query(type=type_name, mesh=mesh, limit=limit, offset=offset))


def with_db(dsn: str, dbname: str) -> str:
    """*dsn* with its database replaced by *dbname*."""
    return make_url(dsn).set(database=dbname).render_as_string(hide_password=False)


# What a production server does (and scripts/postgres, for tests, does not): every commit durable.
DURABLE = "-c fsync=on -c full_page_writes=on -c synchronous_commit=on"


@contextmanager
def server(dsn: str | None, *, fsync: bool = True) -> Iterator[str]:
    """A DSN on a fresh, migrated database: on the server *dsn* names, else on a throwaway server.

    The throwaway server is durable (`DURABLE`) unless *fsync* is false.
    """
    with ExitStack() as stack:
        if dsn is None:
            where = tempfile.mkdtemp(prefix="kv-bench-pg-")
            env = {**os.environ, "KUMA_PG_SERVER_OPTIONS": DURABLE if fsync else ""}
            started = subprocess.run(
                [str(ROOT / "scripts" / "postgres"), "start", where], capture_output=True, text=True, env=env
            )
            if started.returncode != 0:
                raise RuntimeError(f"scripts/postgres start failed:\n{started.stderr}")
            stack.callback(subprocess.run, [str(ROOT / "scripts" / "postgres"), "stop", where], check=False)
            dsn = started.stdout.strip().splitlines()[-1]
        scratch = f"kv_bench_{os.getpid()}"
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
        stack.callback(_drop, dsn, scratch)
        target = with_db(dsn, scratch)
        migrate(target)
        yield target


def _drop(dsn: str, scratch: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))


def migrate(dsn: str) -> None:
    """Apply Kuma's migrations to the database *dsn* names."""
    from kuma_cp import migrate as migrations

    migrations.migrate_database(dsn)


def server_info(dsn: str) -> dict[str, str]:
    """The server's version and the settings that decide write latency."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        info = {"server_version": str(conn.execute("SHOW server_version").fetchone()[0])}  # type: ignore[index]
        for setting in ("fsync", "full_page_writes", "synchronous_commit", "shared_buffers"):
            info[setting] = str(conn.execute(f"SHOW {setting}").fetchone()[0])  # type: ignore[index]
        info["prepare_threshold"] = f"{conn.prepare_threshold} (psycopg default, both sides)"
    return info


def bulk_load(conn: psycopg.Connection[Any], type_name: str, keys: Sequence[tuple[str, str]]) -> None:
    """COPY one Dataplane row per (mesh, name) into ``resources`` (row triggers fire)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    labels = json.dumps(LABELS, separators=(",", ":"))
    columns = "name, mesh, type, version, spec, creation_time, modification_time, labels, status"
    with conn.cursor() as cursor, cursor.copy(f"COPY resources ({columns}) FROM STDIN") as copy:
        for i, (mesh, name) in enumerate(keys):
            spec = json.dumps(dataplane_spec(i), separators=(",", ":"))
            copy.write_row((name, mesh, type_name, 1, spec, now, now, labels, "{}"))
    conn.execute("ANALYZE resources")


def delete_mesh(conn: psycopg.Connection[Any], type_name: str, meshes: Sequence[str]) -> None:
    """Remove every record of *type_name* in *meshes*."""
    conn.execute("DELETE FROM resources WHERE type = %s AND mesh = ANY(%s)", (type_name, list(meshes)))
