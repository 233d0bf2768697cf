"""Migrations that fail or are killed, checked as an operator would: ``psql``, the version row and tables.

- A migration that fails leaves the database at the version before it, not dirty, unlocked and usable,
  and ``kuma-cp migrate up`` with Kuma's list then completes.
- ``kuma-cp migrate up`` killed with SIGKILL, while a statement waits on a lock another session holds or
  between two migrations, leaves a version that is not dirty and a schema that is exactly that
  version's; running it again completes.
- A dirty version row (left by Go kuma-cp) is refused by ``kuma-cp run`` and ``kuma-cp migrate up``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from kuma_cp.migrate import MIGRATIONS, NEWEST, Migration, MigrationError, check_migrated, migrate_up
from tests.kuma_cp.e2e import pg_env

pytestmark = pytest.mark.postgres

VERSIONS = [m.version for m in MIGRATIONS]
KUMA_CP = [sys.executable, "-m", "kuma_cp"]
# kuma-cp migrate up with every migration slowed down (a pg_sleep first), so that it can be killed midway.
SLOW_MIGRATE_UP = (
    "import sys\n"
    "from kuma_cp import cli, migrate\n"
    "migrate.MIGRATIONS[:] = [m._replace(sql='SELECT pg_sleep(0.15);' + m.sql) for m in migrate.MIGRATIONS]\n"
    "sys.argv = ['kuma-cp', 'migrate', 'up']\n"
    "cli.main()\n"
)


def kuma_env(dsn: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("KUMA_")}, **pg_env(dsn)}


def psql(dsn: str, command: str) -> list[str]:
    """What ``psql -At -c COMMAND`` prints, line by line."""
    done = subprocess.run(["psql", "-X", "-At", "-d", dsn, "-c", command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def version_row(dsn: str) -> list[str]:
    """The ``schema_migrations`` rows as psql shows them (``1592232449|f``); [] when there is none."""
    if "schema_migrations" not in tables(dsn):
        return []
    return psql(dsn, "SELECT version, dirty FROM schema_migrations")


def tables(dsn: str) -> set[str]:
    """The tables psql's ``dt`` command lists."""
    return {line.split("|")[1] for line in psql(dsn, "\\dt")}


def schema(dsn: str) -> list[str]:
    """Every column, index, constraint, trigger and function of the public schema, as psql shows them."""
    return psql(
        dsn,
        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default"
        " FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"
        " UNION ALL SELECT tablename, indexname, indexdef, NULL, NULL, NULL FROM pg_indexes"
        " WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
        " UNION ALL SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), NULL, NULL, NULL"
        " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        " AND conrelid::regclass::text <> 'schema_migrations'"
        " UNION ALL SELECT tgrelid::regclass::text, tgname, NULL, NULL, NULL, NULL FROM pg_trigger"
        " WHERE NOT tgisinternal UNION ALL SELECT proname, prosrc, NULL, NULL, NULL, NULL FROM pg_proc"
        " WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2, 3",
    )


def sessions_left(dsn: str, *, besides: int = 0) -> list[str]:
    """Other sessions on the database (but *besides*), and advisory locks anyone holds."""
    return psql(
        dsn,
        "SELECT pid, state, wait_event_type FROM pg_stat_activity"
        f" WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), {besides})"
        " UNION ALL SELECT pid, 'advisory lock', NULL FROM pg_locks WHERE locktype = 'advisory'",
    )


def engine_of(dsn: str) -> sa.Engine:
    """An autocommit engine on *dsn*, as kuma-cp's own engines are."""
    url = sa.make_url(dsn).set(drivername="postgresql+psycopg")
    return sa.create_engine(url, poolclass=sa.NullPool, isolation_level="AUTOCOMMIT")


def version_of(connection: psycopg.Connection[Any]) -> int | None:
    """The version row, read quickly (psql is too slow to see each migration go by)."""
    try:
        row = connection.execute("SELECT version FROM schema_migrations").fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return None if row is None else int(row[0])


def at_version(make_database: Callable[[], str], version: int | None) -> list[str]:
    """The schema of a database migrated straight to *version* (None: never migrated)."""
    reference = make_database()
    if version is not None:
        migrate_up(engine_of(reference), migrations=[m for m in MIGRATIONS if m.version <= version])
    return schema(reference)


def kuma_cp_migrate_up(dsn: str, *, already: bool = False) -> None:
    done = subprocess.run([*KUMA_CP, "migrate", "up"], env=kuma_env(dsn), capture_output=True, text=True)
    said = "DB has already been migrated" if already else "DB has been migrated"
    assert (done.returncode, done.stdout) == (0, f"{said} for Kuma 0.1.0\n"), done.stderr
    assert version_row(dsn) == [f"{NEWEST}|f"]


@pytest.fixture
def database(pg_databases: Callable[[], str]) -> str:
    return pg_databases()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# --- a migration that fails ---------------------------------------------------------------------------

BROKEN = {
    "a division by zero after DDL": "CREATE TABLE half_done (x int); INSERT INTO half_done SELECT 1/0",
    "a syntax error": "CREATE TABLE half_done (x int); ALTER TABLE nope ADD COLUMN;",
    "a NUL in a jsonb value": "CREATE TABLE half_done (x jsonb); INSERT INTO half_done SELECT '\"\\u0000\"'",
    # The migration itself succeeds; writing its version row fails (as a lost connection would make it).
    "its version row cannot be written": (
        "CREATE TABLE half_done (x int);"
        " CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE 'no'; END$$;"
        " CREATE TRIGGER refuse BEFORE INSERT ON schema_migrations EXECUTE FUNCTION refuse();"
    ),
}


@pytest.mark.parametrize(
    ("after", "problem"),
    [
        (0, "a syntax error"),
        (4, "a NUL in a jsonb value"),
        (7, "its version row cannot be written"),
        (len(MIGRATIONS), "a division by zero after DDL"),
    ],
)
def test_a_failing_migration_leaves_the_previous_version_clean_and_usable(
    database: str, pg_databases: Callable[[], str], after: int, problem: str
) -> None:
    previous = VERSIONS[after - 1] if after else None
    broken = Migration((previous or VERSIONS[0]) + 1 if after else VERSIONS[0] - 1, "broken", BROKEN[problem])
    with pytest.raises(MigrationError, match=f"migration {broken.version}_broken failed: "):
        migrate_up(engine_of(database), migrations=[*MIGRATIONS[:after], broken, *MIGRATIONS[after:]])
    assert version_row(database) == ([f"{previous}|f"] if previous else [])
    assert "half_done" not in tables(database)
    assert schema(database) == at_version(pg_databases, previous)
    assert sessions_left(database) == []  # no session, no advisory lock left behind
    kuma_cp_migrate_up(database, already=previous == NEWEST)  # Kuma's list completes from there
    check_migrated(engine_of(database), tolerate_newer=False)
    assert schema(database) == at_version(pg_databases, NEWEST)


# --- kuma-cp migrate up killed ------------------------------------------------------------------------


def test_migrate_up_killed_while_waiting_on_a_lock_leaves_no_dirty_version(
    database: str, pg_databases: Callable[[], str]
) -> None:
    migrate_up(engine_of(database), migrations=MIGRATIONS[:4])  # next: 1604501001 alters resources
    with psycopg.connect(database) as blocker:  # an operator's session holding the table
        blocker.execute("LOCK TABLE resources IN ACCESS EXCLUSIVE MODE")
        process = subprocess.Popen(
            [*KUMA_CP, "migrate", "up"], env=kuma_env(database), stderr=subprocess.DEVNULL
        )
        waiting = (
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        wait_for(lambda: psql(database, waiting), "migrate up to wait on the lock")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert version_row(database) == [f"{VERSIONS[3]}|f"]
        # The server notices the dead client and ends its session (and golang-migrate's advisory lock) even
        # while the lock it waits on is still held, so a new migrate up is not blocked by a ghost.
        wait_for(
            lambda: sessions_left(database, besides=blocker.info.backend_pid) == [], "the end", timeout=5
        )
    assert schema(database) == at_version(pg_databases, VERSIONS[3])
    kuma_cp_migrate_up(database)
    assert schema(database) == at_version(pg_databases, NEWEST)


@pytest.mark.parametrize("kill_at", [VERSIONS[0], VERSIONS[6]])
def test_migrate_up_killed_between_migrations_leaves_no_dirty_version(
    database: str, pg_databases: Callable[[], str], kill_at: int
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_MIGRATE_UP], env=kuma_env(database), stderr=subprocess.DEVNULL
    )
    try:  # killed as soon as kill_at is committed, in the next migration's pg_sleep
        with psycopg.connect(database, autocommit=True) as watcher:
            wait_for(lambda: version_of(watcher) == kill_at, f"version {kill_at}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    wait_for(lambda: sessions_left(database) == [], "the killed session to end", timeout=10)
    assert version_row(database) == [f"{kill_at}|f"]
    assert schema(database) == at_version(pg_databases, kill_at)  # the next migration left no trace
    kuma_cp_migrate_up(database)


# --- a dirty version row ------------------------------------------------------------------------------


def test_kuma_cp_refuses_a_dirty_database(database: str) -> None:
    migrate_up(engine_of(database), migrations=MIGRATIONS[:6])
    psql(database, f"UPDATE schema_migrations SET dirty = true WHERE version = {VERSIONS[5]}")
    env = kuma_env(database) | {"KUMA_API_SERVER_HTTP_PORT": "0", "KUMA_DIAGNOSTICS_SERVER_PORT": "0"}
    expected = {
        ("run",): f"Error: database schema_migrations row is dirty at version {VERSIONS[5]} (a migration is"
        " in progress or failed); refusing to boot",
        ("migrate", "up"): f"Error: error while executing up migration: Dirty database version {VERSIONS[5]}."
        " Fix and force version.",
    }
    for command, message in expected.items():
        done = subprocess.run([*KUMA_CP, *command], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert done.stderr.rstrip().splitlines()[-1] == message
        assert "starting Control Plane runtime" not in done.stderr
    assert version_row(database) == [f"{VERSIONS[5]}|t"]  # left for the operator to fix, untouched
