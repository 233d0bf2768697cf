"""The migration runner against a real PostgreSQL (KUMA_TEST_PG_DSN), one fresh database per test."""

from __future__ import annotations

import configparser
import json
import logging
import os
import socket
import threading
import time
import traceback
import urllib.parse
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from kuma_cp import migrate
from kuma_cp.migrate import MIGRATIONS, NEWEST, Migration, MigrationError, check_migrated, migrate_up

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = [
    1579518998,
    1580128050,
    1589041445,
    1592232449,
    1604501001,
    1605012491,
    1610445956,
    1677096751,
    1693473198,
    1701180642,
    1710856785,
]
NEWER = (
    "DB is migrated to newer version than Kuma. DB migration version 9999999999. "
    "Kuma migration version 1710856785. Run newer version of Kuma"
)
NOT_MIGRATED = 'database is not migrated. Run "kuma-cp migrate up" to update database to the newest schema'
DIRTY = "database schema_migrations row is dirty at version 1605012491 (a migration is in progress or failed)"


# --- without a server ---------------------------------------------------------------------------------


def test_migrations_are_kumas_files_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == VERSIONS
    assert NEWEST == MIGRATIONS[-1].version == 1710856785
    assert MIGRATIONS[0].name == "create_resources"
    assert MIGRATIONS[-1].name == "add_status"
    assert all(m.sql.strip() for m in MIGRATIONS)


def test_lock_id_is_golang_migrates() -> None:
    # golang-migrate's own vectors (database/util_test.go): the extra names come first, the database last.
    assert migrate._lock_id("database_name") == 1764327054
    assert migrate._lock_id("database_name", "schema_name_1") == 2453313553
    assert migrate._lock_id("database_name", "schema_name_1", "schema_name_2") == 3743845847


def test_every_package_is_listed_in_setup_cfg() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    assert "kuma_cp.schema = schema" in config["options"]["package_dir"].splitlines()
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("kv", "kuma_cp")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found | {"kuma_cp.schema"} <= listed


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url() -> sa.URL:
    dsn = os.environ.get("KUMA_TEST_PG_DSN")
    if not dsn:
        pytest.skip("KUMA_TEST_PG_DSN is not set (scripts/postgres start DIR prints one)")
    return sa.make_url(dsn).set(drivername="postgresql+psycopg")


@pytest.fixture
def db_url(server_url: sa.URL) -> Iterator[sa.URL]:
    """A fresh, empty database for this test only; dropped afterwards."""
    name = f"kuma_migrate_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture
def engine(db_url: sa.URL) -> Iterator[sa.Engine]:
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


def _rows(engine: sa.Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def _run(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


def _bookkeeping(engine: sa.Engine) -> list[tuple[Any, ...]]:
    return _rows(engine, "SELECT version, dirty FROM schema_migrations")


def _force(engine: sa.Engine, version: int, *, dirty: bool = False) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint not null primary key,"
            " dirty boolean not null)"
        )
        conn.exec_driver_sql("DELETE FROM schema_migrations")
        conn.execute(sa.text("INSERT INTO schema_migrations VALUES (:v, :d)"), {"v": version, "d": dirty})


def _migrate_to(engine: sa.Engine, version: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bool]:
    with monkeypatch.context() as patch:
        patch.setattr(migrate, "MIGRATIONS", [m for m in MIGRATIONS if m.version <= version])
        return migrate_up(engine)


def _tables(engine: sa.Engine) -> set[str]:
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    return {row[0] for row in _rows(engine, sql)}


def _columns(engine: sa.Engine, table: str) -> list[tuple[Any, ...]]:
    return _rows(
        engine,
        "SELECT ordinal_position, column_name, data_type, character_maximum_length, is_nullable,"
        " column_default FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = :table ORDER BY ordinal_position",
        table=table,
    )


# --- migrate up ---------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_fresh_database_is_migrated_once(engine: sa.Engine) -> None:
    assert migrate_up(engine) == (NEWEST, False)
    assert migrate_up(engine) == (NEWEST, True)
    assert _bookkeeping(engine) == [(NEWEST, False)]


@pytest.mark.postgres
def test_concurrent_migrations_are_serialised(engine: sa.Engine) -> None:
    start = threading.Barrier(2)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(migrate_up(engine))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [(NEWEST, False), (NEWEST, True)]
    assert _bookkeeping(engine) == [(NEWEST, False)]


@pytest.mark.postgres
def test_a_go_kuma_cp_holding_golang_migrates_lock_is_waited_for(engine: sa.Engine, db_url: sa.URL) -> None:
    # The key golang-migrate's Postgres driver hashes: schema, table, database, NUL-separated.
    key = zlib.crc32(f"public\x00schema_migrations\x00{db_url.database}".encode()) * 1486364155 % 2**32
    results: list[tuple[int, bool]] = []
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        thread = threading.Thread(target=lambda: results.append(migrate_up(engine)))
        thread.start()
        time.sleep(1)
        assert thread.is_alive()
        assert _tables(engine) == set()
        holder.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        thread.join(60)
    assert results == [(NEWEST, False)]


@pytest.mark.postgres
def test_a_newer_database_is_refused_unless_tolerated(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _force(engine, 9999999999)
    with pytest.raises(MigrationError) as refused:
        migrate_up(engine)
    assert str(refused.value) == NEWER
    with caplog.at_level(logging.INFO, logger="kuma-cp.postgres-migrate"):
        assert migrate_up(engine, tolerate_newer=True) == (9999999999, True)
    assert (
        caplog.records[-1]
        .getMessage()
        .startswith(
            "DB is at a newer migration version than the binary; tolerating because TolerateNewerDBVersions"
            " is enabled"
        )
    )
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=False)
    assert str(refused.value) == NEWER
    check_migrated(engine, tolerate_newer=True)
    assert _bookkeeping(engine) == [(9999999999, False)]


@pytest.mark.postgres
def test_a_dirty_database_is_refused(engine: sa.Engine) -> None:
    _force(engine, 1605012491, dirty=True)
    with pytest.raises(MigrationError) as refused:
        migrate_up(engine)
    assert str(refused.value) == (
        "error while executing up migration: Dirty database version 1605012491. Fix and force version."
    )
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=False)
    assert str(refused.value) == f"{DIRTY}; refusing to boot"
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=True)
    assert str(refused.value) == f"{DIRTY}; refusing to boot even with TolerateNewerDBVersions enabled"
    assert _bookkeeping(engine) == [(1605012491, True)]


@pytest.mark.postgres
def test_an_unknown_older_version_is_refused(engine: sa.Engine) -> None:
    _force(engine, 1600000000)
    with pytest.raises(MigrationError, match="version 1600000000 is not one of Kuma's migration versions"):
        migrate_up(engine)
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=True)
    assert str(refused.value) == NOT_MIGRATED


@pytest.mark.postgres
def test_a_failing_migration_leaves_the_previous_version_clean(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = "CREATE TABLE half_done (x int); ALTER TABLE resources ADD COLUMN half int; SELECT nope();"
    with monkeypatch.context() as patch:
        patch.setattr(migrate, "MIGRATIONS", [*MIGRATIONS[:2], Migration(1580128051, "broken", broken)])
        with pytest.raises(MigrationError) as failed:
            migrate_up(engine)
    assert str(failed.value).startswith(
        "error while executing up migration: migration 1580128051_broken failed:"
        " function nope() does not exist"
    )
    assert _bookkeeping(engine) == [(1580128050, False)]
    assert _tables(engine) == {"resources", "schema_migrations"}
    assert "half" not in {column[1] for column in _columns(engine, "resources")}
    # Fixed (the broken file is gone): the run resumes from where it stopped.
    assert migrate_up(engine) == (NEWEST, False)

    monkeypatch.setattr(migrate, "MIGRATIONS", [*MIGRATIONS, Migration(NEWEST + 1, "broken", broken)])
    with pytest.raises(MigrationError, match="migration 1710856786_broken failed"):
        migrate_up(engine)
    assert _bookkeeping(engine) == [(NEWEST, False)]
    assert "half_done" not in _tables(engine)
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=False)
    assert str(refused.value) == NOT_MIGRATED


# --- the boot gate ------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("tolerate", [False, True])
def test_boot_gate_passes_only_at_the_newest_version(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, tolerate: bool
) -> None:
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=tolerate)
    assert str(refused.value) == NOT_MIGRATED
    assert _tables(engine) == {"schema_migrations"}  # created by the check, as Kuma does
    assert _migrate_to(engine, 1693473198, monkeypatch) == (1693473198, False)
    with pytest.raises(MigrationError) as refused:
        check_migrated(engine, tolerate_newer=tolerate)
    assert str(refused.value) == NOT_MIGRATED
    migrate_up(engine)
    check_migrated(engine, tolerate_newer=tolerate)


# --- connections --------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_wrong_password_is_reported_without_it(db_url: sa.URL) -> None:
    password = "s3cr%t p@ss:/?#&='\"\\wörd"
    engine = sa.create_engine(db_url.set(password=password))
    try:
        for attempt in (lambda: migrate_up(engine), lambda: check_migrated(engine, tolerate_newer=False)):
            with pytest.raises(MigrationError) as failed:
                attempt()
            message = str(failed.value)
            assert message.startswith("cannot connect to DB: ")
            assert "password authentication failed" in message
            shown = message + "".join(traceback.format_exception(failed.value))
            for form in (password, urllib.parse.quote(password, safe=""), "s3cr"):
                assert form not in shown
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_an_unreachable_server_is_reported(db_url: sa.URL) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = sa.create_engine(db_url.set(host="127.0.0.1", port=port))
    try:
        with pytest.raises(MigrationError, match=r"^cannot connect to DB: .*(refused|failed)"):
            migrate_up(engine)
    finally:
        engine.dispose()


# --- the schema Kuma ends with ------------------------------------------------------------------------


@pytest.mark.postgres
def test_final_schema_is_kumas(engine: sa.Engine) -> None:
    migrate_up(engine)
    varchar, ts, now, empty = "character varying", "timestamp without time zone", "now()", "'{}'::jsonb"
    assert _tables(engine) == {"resources", "locks", "schema_migrations"}
    # Position 2 was the namespace column, dropped by 1589041445: Kuma's table has the same gap.
    assert _columns(engine, "resources") == [
        (1, "name", varchar, 253, "NO", None),
        (3, "mesh", varchar, 100, "NO", None),
        (4, "type", varchar, 100, "NO", None),
        (5, "version", "integer", None, "NO", None),
        (6, "spec", "text", None, "YES", None),
        (7, "creation_time", ts, None, "NO", now),
        (8, "modification_time", ts, None, "NO", now),
        (9, "owner_name", varchar, 100, "YES", None),
        (10, "owner_mesh", varchar, 100, "YES", None),
        (11, "owner_type", varchar, 100, "YES", None),
        (12, "labels", "jsonb", None, "YES", empty),
        (13, "status", "jsonb", None, "NO", empty),
    ]
    assert _columns(engine, "locks") == [
        (1, "name", varchar, 255, "NO", None),
        (2, "record_version_number", "bigint", None, "YES", None),
        (3, "data", "bytea", None, "YES", None),
        (4, "owner", varchar, 255, "YES", None),
    ]
    assert _columns(engine, "schema_migrations") == [
        (1, "version", "bigint", None, "NO", None),
        (2, "dirty", "boolean", None, "NO", None),
    ]
    assert _rows(
        engine,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    ) == [
        ("locks", "locks_pkey", "PRIMARY KEY (name)"),
        (
            "resources",
            "owner_fk",
            "FOREIGN KEY (owner_name, owner_mesh, owner_type) REFERENCES resources(name, mesh, type)"
            " ON DELETE CASCADE",
        ),
        ("resources", "resources_pkey", "PRIMARY KEY (name, mesh, type)"),
        ("schema_migrations", "schema_migrations_pkey", "PRIMARY KEY (version)"),
    ]
    assert _rows(
        engine, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    ) == [
        ("locks_pkey", "CREATE UNIQUE INDEX locks_pkey ON public.locks USING btree (name)"),
        (
            "owner_fk_index",
            "CREATE INDEX owner_fk_index ON public.resources USING btree"
            " (owner_type, owner_mesh, owner_name)",
        ),
        (
            "resources_pkey",
            "CREATE UNIQUE INDEX resources_pkey ON public.resources USING btree (name, mesh, type)",
        ),
        (
            "schema_migrations_pkey",
            "CREATE UNIQUE INDEX schema_migrations_pkey ON public.schema_migrations USING btree (version)",
        ),
    ]
    triggers = _rows(
        engine,
        "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE NOT tgisinternal",
    )
    assert [(t[0], t[1], t[2].replace("EXECUTE PROCEDURE", "EXECUTE FUNCTION")) for t in triggers] == [
        (
            "resources",
            "products_notify_event",
            "CREATE TRIGGER products_notify_event AFTER INSERT OR DELETE OR UPDATE ON public.resources"
            " FOR EACH ROW EXECUTE FUNCTION notify_event()",
        )
    ]
    assert _rows(
        engine,
        "SELECT proname, prorettype::regtype::text, l.lanname FROM pg_proc p JOIN pg_language l"
        " ON l.oid = p.prolang WHERE pronamespace = 'public'::regnamespace",
    ) == [("notify_event", "trigger", "plpgsql")]
    assert _rows(
        engine,
        "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences"
        " WHERE sequence_schema = 'public'",
    ) == [("locks_rvn", "bigint", "1", "1")]
    assert _rows(engine, "SELECT pg_get_serial_sequence('locks', 'record_version_number')") == [
        ("public.locks_rvn",)
    ]


@pytest.mark.postgres
def test_changes_are_announced_on_resource_events(engine: sa.Engine) -> None:
    migrate_up(engine)
    with engine.connect() as listener:
        listener.exec_driver_sql("LISTEN resource_events")
        listener.commit()
        pg = listener.connection.driver_connection
        assert isinstance(pg, psycopg.Connection)
        _run(
            engine,
            "INSERT INTO resources (name, mesh, type, version, spec) VALUES ('m1', '', 'Mesh', 1, '{}')",
        )
        _run(
            engine,
            "INSERT INTO resources (name, mesh, type, version, spec, owner_name, owner_mesh, owner_type)"
            " VALUES ('dp-1', 'm1', 'Dataplane', 1, '{}', 'm1', '', 'Mesh')",
        )
        _run(engine, "UPDATE resources SET version = 2 WHERE name = 'dp-1'")
        _run(engine, "DELETE FROM resources WHERE type = 'Mesh'")  # cascades to dp-1
        events = [json.loads(n.payload) for n in pg.notifies(timeout=10, stop_after=5)]
    mesh = {"name": "m1", "mesh": "", "type": "Mesh"}
    dataplane = {"name": "dp-1", "mesh": "m1", "type": "Dataplane"}
    assert events[:3] == [
        {"action": "INSERT", "data": mesh},
        {"action": "INSERT", "data": dataplane},
        {"action": "UPDATE", "data": dataplane},
    ]
    assert sorted(events[3:], key=json.dumps) == sorted(
        [{"action": "DELETE", "data": mesh}, {"action": "DELETE", "data": dataplane}], key=json.dumps
    )


# --- data written by older Kuma -----------------------------------------------------------------------


@pytest.mark.postgres
def test_rows_of_the_first_schema_are_carried_to_the_newest(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _migrate_to(engine, 1580128050, monkeypatch) == (1580128050, False)
    _run(
        engine,
        "INSERT INTO resources (name, namespace, mesh, type, version, spec, creation_time, modification_time)"
        " VALUES ('default', '', 'default', 'Mesh', 1, '{}', '2020-01-01', '2020-01-01'),"
        " ('dp-1', '', 'default', 'Dataplane', 3, '{\"a\": 1}', '2020-01-01', '2020-01-02'),"
        " ('dp-1', '', 'default', 'DataplaneInsight', 3, '{}', '2020-01-01', '2020-01-02'),"
        " ('lost', '', 'gone', 'TrafficRoute', 1, '{}', '2020-01-01', '2020-01-01'),"
        " ('zone-1', '', 'zone-1', 'Zone', 1, '{}', '2020-01-01', '2020-01-01')",
    )
    assert migrate_up(engine) == (NEWEST, False)
    # DataplaneInsight is dropped; what has no Mesh (the Zone included, as in Kuma) is deleted as an orphan.
    assert _rows(
        engine,
        "SELECT name, mesh, type, version, spec, modification_time::text, owner_name, owner_mesh, owner_type,"
        " labels::text, status::text FROM resources ORDER BY type, name",
    ) == [
        (
            "dp-1",
            "default",
            "Dataplane",
            3,
            '{"a": 1}',
            "2020-01-02 00:00:00",
            "default",
            "",
            "Mesh",
            "{}",
            "{}",
        ),
        ("default", "", "Mesh", 1, "{}", "2020-01-01 00:00:00", None, None, None, "{}", "{}"),
    ]
    _run(engine, "DELETE FROM resources WHERE type = 'Mesh'")
    assert _rows(engine, "SELECT count(*) FROM resources") == [(0,)]


@pytest.mark.postgres
def test_a_database_left_at_an_intermediate_version_is_completed(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _migrate_to(engine, 1604501001, monkeypatch) == (1604501001, False)
    _run(
        engine,
        "INSERT INTO resources (name, mesh, type, version, spec, owner_name, owner_mesh, owner_type)"
        " VALUES ('default', '', 'Mesh', 1, '{}', NULL, NULL, NULL),"
        " ('web', 'default', 'TrafficRoute', 2, '{}', 'default', '', 'Mesh')",
    )
    with pytest.raises(sa.exc.DataError):  # names were at most 100 characters then
        _run(
            engine, f"INSERT INTO resources (name, mesh, type, version) VALUES ('{'n' * 253}', '', 'Mesh', 1)"
        )
    assert migrate_up(engine) == (NEWEST, False)
    assert _rows(engine, "SELECT name, labels::text, status::text FROM resources ORDER BY name") == [
        ("default", "{}", "{}"),
        ("web", "{}", "{}"),
    ]
    _run(engine, f"INSERT INTO resources (name, mesh, type, version) VALUES ('{'n' * 253}', '', 'Mesh', 1)")
    check_migrated(engine, tolerate_newer=False)
