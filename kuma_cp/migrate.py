"""Kuma's Postgres schema migrations, with golang-migrate's bookkeeping, so Go and Python kuma-cp share a DB.

The migrations are the SQL files of the package ``kuma_cp.schema`` (the ``schema/`` directory of the
repository), named ``<version>_<title>.up.sql`` with Kuma's versions. As golang-migrate does, the version
lives in ``schema_migrations (version bigint not null primary key, dirty boolean not null)`` (at most one
row, in the current schema), and a whole run holds golang-migrate's advisory lock, so two ``migrate up``
(Python or Go) never interleave. Unlike golang-migrate, each file and its version row commit in one
transaction: a failing migration leaves the previous version, clean, instead of a dirty row.

Every failure is a `MigrationError`; no driver exception escapes and no message carries the password.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

__all__ = [
    "MIGRATIONS",
    "NEWEST",
    "Migration",
    "MigrationError",
    "check_migrated",
    "migrate_database",
    "migrate_up",
]

log = logging.getLogger("kuma-cp.postgres-migrate")

TABLE: Final = "schema_migrations"
_SALT: Final = 1486364155  # golang-migrate's advisoryLockIDSalt
_CHECK_CLIENT_SINCE: Final = 140000  # server_version_num of PostgreSQL 14: client_connection_check_interval
_FILE = re.compile(r"(?P<version>[0-9]+)_(?P<name>\w+)\.up\.sql")


class MigrationError(Exception):
    """The database cannot be migrated, or is not at a version this kuma-cp can run on."""


class Migration(NamedTuple):
    """One migration file: its version, its title and its SQL (run as one multi-statement string)."""

    version: int
    name: str
    sql: str


def _load() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("kuma_cp.schema").iterdir():
        if match := _FILE.fullmatch(entry.name):
            version = int(match["version"])
            found.append(Migration(version, match["name"], entry.read_text(encoding="utf-8")))
    found.sort()
    if len({m.version for m in found}) != len(found):
        raise MigrationError("two migration files share a version")
    return found


MIGRATIONS: list[Migration] = _load()
"""Kuma's migrations, oldest first."""
NEWEST: Final[int] = 1710856785
"""The newest migration version shipped (Kuma's ``add_status``)."""

_NOT_MIGRATED = 'database is not migrated. Run "kuma-cp migrate up" to update database to the newest schema'
_NEWER = (
    "DB is migrated to newer version than Kuma. DB migration version {db}. Kuma migration version {app}."
    " Run newer version of Kuma"
)
_TOLERATED = (
    "DB is at a newer migration version than the binary; tolerating because TolerateNewerDBVersions"
    " is enabled"
)
_DIRTY = "database schema_migrations row is dirty at version {db} (a migration is in progress or failed)"


def migrate_up(
    engine: Engine, *, tolerate_newer: bool = False, migrations: Sequence[Migration] | None = None
) -> tuple[int, bool]:
    """Applies every pending migration, each in its own transaction together with its version row.

    Args:
        engine: a SQLAlchemy engine on the database (``postgresql+psycopg://``).
        tolerate_newer: Kuma's ``store.postgres.tolerateNewerDBVersions``: a database migrated by a newer
            Kuma is left alone instead of refused.
        migrations: the migrations, oldest first (default: Kuma's, `MIGRATIONS`); tests inject others.

    Returns:
        The database version afterwards, and whether it was already migrated (nothing was applied).

    Raises:
        MigrationError: the database is unreachable, dirty, at a version this Kuma does not know (newer,
            unless tolerated), or a migration failed (the database then stays at the version before it).
    """
    migrations = list(MIGRATIONS if migrations is None else migrations)
    newest = migrations[-1].version
    with _locked(engine, "error while executing up migration: ") as (conn, table):
        current = _version(conn, table)
        if current is not None and current[1]:
            raise MigrationError(
                f"error while executing up migration: Dirty database version {current[0]}. "
                "Fix and force version."
            )
        version = current[0] if current is not None else None
        if version is not None and version > newest:
            if not tolerate_newer:
                raise MigrationError(_NEWER.format(db=version, app=newest))
            log.info('%s {"dbVersion": %d, "binaryVersion": %d}', _TOLERATED, version, newest)
            return version, True
        if version is not None and version not in {m.version for m in migrations}:
            raise MigrationError(
                f"DB migration version {version} is not one of Kuma's migration versions "
                f"({migrations[0].version} to {newest}); fix the {TABLE} table by forcing a known version"
            )
        pending = [m for m in migrations if version is None or m.version > version]
        for migration in pending:
            log.debug("applying migration %d_%s", migration.version, migration.name)
            try:
                with conn.begin():
                    conn.exec_driver_sql(migration.sql)
                    conn.execute(sa.text(f"DELETE FROM {table}"))
                    conn.execute(
                        sa.text(f"INSERT INTO {table} (version, dirty) VALUES (:version, false)"),
                        {"version": migration.version},
                    )
            except SQLAlchemyError as exc:
                raise MigrationError(
                    f"error while executing up migration: migration {migration.version}_{migration.name} "
                    f"failed: {_reason(exc, engine)}"
                ) from None
        return (pending[-1].version, False) if pending else (newest, True)


def migrate_database(url: str) -> tuple[int, bool]:
    """`migrate_up` on the database *url* names, through a one-connection engine of its own."""
    from kv.drivers.postgres import create_engine

    engine = create_engine(url, max_open_connections=1)
    try:
        return migrate_up(engine)
    finally:
        engine.dispose()


def check_migrated(engine: Engine, *, tolerate_newer: bool) -> None:
    """The boot gate of ``kuma-cp run``: passes iff the database is at this Kuma's newest version (or newer).

    As Kuma does, it creates ``schema_migrations`` when missing, under the migration lock, so it waits for
    a ``migrate up`` in progress. A dirty version row is refused in both modes (Kuma ignores it unless
    ``tolerate_newer``); with ``tolerate_newer`` the message is Kuma's.

    Args:
        engine: a SQLAlchemy engine on the database (``postgresql+psycopg://``).
        tolerate_newer: Kuma's ``store.postgres.tolerateNewerDBVersions``: a newer database passes too.

    Raises:
        MigrationError: the database is unreachable, not migrated (no version, or an older one), dirty,
            or newer than this Kuma (unless tolerated).
    """
    newest = MIGRATIONS[-1].version
    with _locked(engine, "cannot read the DB migration version: ") as (conn, table):
        current = _version(conn, table)
    if current is None:
        raise MigrationError(_NOT_MIGRATED)
    version, dirty = current
    if dirty:
        suffix = " even with TolerateNewerDBVersions enabled" if tolerate_newer else ""
        raise MigrationError(_DIRTY.format(db=version) + "; refusing to boot" + suffix)
    if version < newest:
        raise MigrationError(_NOT_MIGRATED)
    if version > newest and not tolerate_newer:
        raise MigrationError(_NEWER.format(db=version, app=newest))


@contextmanager
def _locked(engine: Engine, context: str) -> Iterator[tuple[Connection, str]]:
    """One connection holding golang-migrate's advisory lock, with ``schema_migrations`` ensured.

    Yields the connection (no transaction in progress) and the quoted, schema-qualified table name.
    Database errors inside become `MigrationError` prefixed with ``context``.

    The connection runs real transactions even on an autocommit engine (kuma-cp's own engines are), so
    that a migration and its version row commit together; and, where the server can (PostgreSQL 14+),
    the server checks every second that this client is still there, so that a ``migrate up`` killed
    while it waits on a lock does not leave a session holding golang-migrate's lock behind it.
    """
    try:
        conn = engine.connect()
        conn.execution_options(isolation_level="READ COMMITTED")
    except SQLAlchemyError as exc:
        raise MigrationError(f"cannot connect to DB: {_reason(exc, engine)}") from None
    locked: int | None = None
    watched = False
    try:
        if int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) >= _CHECK_CLIENT_SINCE:
            conn.execute(sa.text("SET client_connection_check_interval = '1s'"))
            watched = True
        database, schema = conn.execute(sa.text("SELECT current_database(), current_schema()")).one()
        if schema is None:
            raise MigrationError(f"{context}no schema is selected (check the search_path of the DB user)")
        locked = _lock_id(str(database), str(schema), TABLE)
        conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": locked})
        conn.commit()
        _ensure_table(conn, str(schema))
        conn.commit()
        yield conn, f"{_quote(str(schema))}.{_quote(TABLE)}"
    except SQLAlchemyError as exc:
        raise MigrationError(context + _reason(exc, engine)) from None
    finally:
        _release(conn, locked, watched)


def _release(conn: Connection, locked: int | None, watched: bool) -> None:
    """Unlocks, resets and closes; a connection that cannot unlock is discarded, so no pool keeps the lock."""
    try:
        if conn.in_transaction():
            conn.rollback()
        if locked is not None:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": locked})
        if watched:
            conn.execute(sa.text("RESET client_connection_check_interval"))
        conn.commit()
    except SQLAlchemyError:
        conn.invalidate()
    finally:
        conn.close()


def _ensure_table(conn: Connection, schema: str) -> None:
    """Creates the version table unless it exists (looked up first, so a read-only user can check)."""
    exists = conn.execute(
        sa.text(
            "SELECT count(1) FROM information_schema.tables"
            " WHERE table_schema = :schema AND table_name = :table"
        ),
        {"schema": schema, "table": TABLE},
    ).scalar_one()
    if not exists:
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS {_quote(schema)}.{_quote(TABLE)}"
                " (version bigint not null primary key, dirty boolean not null)"
            )
        )


def _version(conn: Connection, table: str) -> tuple[int, bool] | None:
    """The (version, dirty) row, or None when there is none (golang-migrate's nil version, -1, included)."""
    row = conn.execute(sa.text(f"SELECT version, dirty FROM {table} LIMIT 1")).one_or_none()
    conn.rollback()
    if row is None or (int(row[0]) < 0 and not row[1]):
        return None
    return int(row[0]), bool(row[1])


def _lock_id(database: str, *names: str) -> int:
    """golang-migrate's ``GenerateAdvisoryLockId``: uint32(CRC32-IEEE(names + database, NUL-joined) * salt).

    Its Postgres driver passes (database, schema, "schema_migrations"), so the hashed key is the schema,
    "schema_migrations" and the database name, in that order, each pair separated by a NUL character.
    """
    return (zlib.crc32("\x00".join((*names, database)).encode()) * _SALT) & 0xFFFFFFFF


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _reason(exc: SQLAlchemyError, engine: Engine) -> str:
    """The driver's message (not SQLAlchemy's wrapping), with the password masked wherever it appears."""
    message = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip()
    password = engine.url.password
    if password:
        for form in {password, urllib.parse.quote(password, safe=""), urllib.parse.quote_plus(password)}:
            message = message.replace(form, "*****")
    return message
