"""What only the Postgres driver has: the server itself, its failures, and Go Kuma's rows."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import psycopg.sql
import pytest
import sqlalchemy as sa

import kv
from kuma_cp import migrate
from kv.drivers.postgres import PostgresDriver, create_engine
from kv.drivers.postgres.driver import version_of
from kv.testing import Types

pytestmark = pytest.mark.postgres
TYPES = Types()
CATALOG = TYPES.catalog()
WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
WHEN_NAIVE = WHEN.replace(tzinfo=None)


def _store(dsn: str, **options: object) -> kv.Store:
    return kv.Store(PostgresDriver.from_url(dsn, **options), catalog=CATALOG)  # type: ignore[arg-type]


def _item(name: str, mesh: str = "m") -> kv.Record:
    return kv.Record(key=kv.Key(TYPES.item, mesh, name), spec={"port": 80}, labels={"app": "web"})


@pytest.fixture
def migrated(pg_database: str) -> str:
    engine = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(engine)
    engine.dispose()
    return pg_database


@pytest.fixture
def store(migrated: str) -> Iterator[kv.Store]:
    with _store(migrated) as opened:
        yield opened


def _sql(dsn: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def _every_operation(store: kv.Store) -> list[tuple[str, BaseException | None]]:
    record = _item("a")
    calls: list[tuple[str, Callable[[], object]]] = [
        ("create", lambda: store.create(record)),
        ("update", lambda: store.update(kv.Record(key=record.key, version=version_of(1, WHEN_NAIVE)))),
        ("delete", lambda: store.delete(TYPES.item, "m", "a")),
        ("get", lambda: store.get(TYPES.item, "m", "a")),
        ("list", lambda: store.list(TYPES.item)),
        ("page", lambda: store.list(TYPES.item, page_size=5)),
    ]
    outcomes: list[tuple[str, BaseException | None]] = []
    for name, call in calls:
        try:
            call()
        except Exception as exc:
            outcomes.append((name, exc))
        else:
            outcomes.append((name, None))
    return outcomes


def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    store = _store(f"postgresql://kuma:secret-pw@127.0.0.1:{port}/kuma?connect_timeout=2")
    for name, outcome in _every_operation(store):
        assert type(outcome) is kv.Unavailable, (name, outcome)
        assert outcome.retryable
        assert "secret-pw" not in str(outcome)


def test_a_server_that_never_answers_is_unavailable_within_the_timeout() -> None:
    with socket.socket() as blackhole:  # accepts TCP connections into its backlog, never speaks
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(64)
        port = blackhole.getsockname()[1]
        store = _store(f"postgresql://kuma:kuma@127.0.0.1:{port}/kuma?connect_timeout=1")
        started = time.monotonic()
        with pytest.raises(kv.Unavailable):
            store.get(TYPES.item, "m", "a")
        assert time.monotonic() - started < 5


def test_no_database_error_leaks_from_an_unmigrated_database(pg_database: str) -> None:
    with _store(pg_database) as store:
        for name, outcome in _every_operation(store):
            assert isinstance(outcome, kv.KVError), (name, outcome)
            assert "resources" in str(outcome), outcome


def _kill_backends(dsn: str) -> int:
    rows = _sql(
        dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    return len(rows)


def test_reads_survive_connections_killed_by_the_server(migrated: str) -> None:
    with _store(migrated) as store:
        store.create(_item("a"))
        assert store.list(TYPES.item).total == 1  # the pooled connection is now idle
        assert _kill_backends(migrated) >= 1
        assert store.get(TYPES.item, "m", "a").key.name == "a"  # retried on a fresh connection
        _kill_backends(migrated)
        assert store.list(TYPES.item, page_size=1).total == 1


def test_writes_on_killed_connections_fail_typed_then_recover(migrated: str) -> None:
    with _store(migrated) as store:
        created = store.create(_item("a"))
        _kill_backends(migrated)
        with contextlib.suppress(kv.Unavailable):  # not retried: it might have been applied
            store.update(created)
        # CAS makes a retry by the caller safe: either it applies or it conflicts.
        with contextlib.suppress(kv.Conflict):
            store.update(created)
        assert store.get(TYPES.item, "m", "a").version != created.version


def test_a_password_with_every_special_character_works(migrated: str) -> None:
    password = "p@ss:w/o'rd\\%\" ;?&="
    role = f"odd_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per run
    with psycopg.connect(migrated, autocommit=True) as admin:  # no parameters in utility statements
        create = psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
        admin.execute(create.format(psycopg.sql.Identifier(role), psycopg.sql.Literal(password)))
    _sql(migrated, f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
    url = sa.engine.make_url(migrated)
    params = {
        "host": str(url.host),
        "port": str(url.port),
        "user": role,
        "password": password,
        "dbname": str(url.database),
    }
    with kv.Store(PostgresDriver.from_url(params), catalog=CATALOG) as store:
        assert store.create(_item("a")).version.startswith("0-")
    wrong = {**params, "password": password + "x"}
    with pytest.raises(kv.Unavailable) as caught:
        kv.Store(PostgresDriver.from_url(wrong), catalog=CATALOG).get(TYPES.item, "m", "a")
    assert password not in str(caught.value)
    assert "password authentication failed" in str(caught.value)
    _sql(migrated, f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
    _sql(migrated, f'DROP OWNED BY "{role}"')
    _sql(migrated, f'DROP ROLE "{role}"')


def test_a_page_reads_only_its_rows(store: kv.Store) -> None:
    for i in range(300):
        store.create(_item(f"r-{i:03d}"))
    fetched: list[int] = []
    engine = store.driver._engine  # type: ignore[attr-defined]
    sa.event.listen(engine, "after_cursor_execute", lambda *a: fetched.append(a[1].rowcount))
    page = store.list(TYPES.item, page_size=10, offset="250")
    assert (page.total, len(page.items), page.next_offset) == (300, 10, "260")
    assert [r.key.name for r in page.items] == [f"r-{i:03d}" for i in range(250, 260)]
    assert fetched == [10]  # ten rows crossed the wire, not three hundred


def test_times_are_utc_whatever_the_session_time_zone(migrated: str) -> None:
    name = sa.engine.make_url(migrated).database
    _sql(migrated, f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Kolkata'")
    with _store(migrated) as store:
        store.create(_item("a"), creation_time=WHEN)
        assert store.get(TYPES.item, "m", "a").creation_time == WHEN
    [(stored,)] = _sql(migrated, "SELECT creation_time FROM resources")
    assert stored == WHEN.replace(tzinfo=None)  # timestamp without time zone, in UTC as Kuma writes it


def test_rows_written_by_go_kuma_are_read_and_updated(migrated: str) -> None:
    _sql(
        migrated,
        "INSERT INTO resources (name, mesh, type, version, spec, creation_time, modification_time,"
        " labels, status) VALUES ('default', '', %s, 0,"
        " '{\"skipCreatingInitialPolicies\":[\"*\"]}', %s, %s, 'null', '{}')",
        TYPES.owner,
        WHEN.replace(tzinfo=None),
        WHEN.replace(tzinfo=None),
    )
    with _store(migrated) as store:
        mesh = store.get(TYPES.owner, "", "default")
        assert (mesh.version, mesh.labels, mesh.creation_time) == (version_of(0, WHEN_NAIVE), {}, WHEN)
        assert mesh.spec == {"skipCreatingInitialPolicies": ["*"]}
        assert store.update(mesh).version == version_of(1, WHEN_NAIVE)
        store.create(_item("a", mesh="default"), owner=mesh.key)
    rows = _sql(
        migrated,
        "SELECT name, version, labels, owner_name, owner_mesh, owner_type FROM resources ORDER BY name",
    )
    assert rows == [
        ("a", 0, {"app": "web"}, "default", "", TYPES.owner),
        ("default", 1, {}, None, None, None),
    ]


def test_a_transaction_commits_together_or_not_at_all(store: kv.Store) -> None:
    with store.transaction():
        store.create(_item("a"))
        store.create(_item("b"))
    assert store.list(TYPES.item).total == 2
    for interruption in (RuntimeError("boom"), KeyboardInterrupt()):

        def interrupted(interruption: BaseException = interruption) -> None:
            with store.transaction():
                store.create(_item("c"))
                store.delete(TYPES.item, "m", "a")
                raise interruption

        with pytest.raises(type(interruption)):
            interrupted()
        assert [r.key.name for r in store.list(TYPES.item).items] == ["a", "b"]


def test_reads_go_to_the_replica_by_ratio_and_consistent_reads_never_do(
    migrated: str, pg_databases: Callable[[], str]
) -> None:
    primary_dsn, replica_dsn = migrated, pg_databases()
    engine = create_engine(replica_dsn, max_open_connections=1)
    migrate.migrate_up(engine)
    engine.dispose()
    with _store(replica_dsn) as replica:
        replica.create(kv.Record(key=kv.Key(TYPES.item, "m", "a"), spec={"from": "replica"}))
    for ratio, expected in ((100, "replica"), (0, "primary")):
        with _store(primary_dsn, replica_url=replica_dsn, replica_ratio=ratio) as store:
            if ratio == 100:
                store.create(kv.Record(key=kv.Key(TYPES.item, "m", "a"), spec={"from": "primary"}))
            assert store.get(TYPES.item, "m", "a").spec == {"from": expected}
            assert store.get(TYPES.item, "m", "a", consistent=True).spec == {"from": "primary"}


def test_events_resume_after_the_listener_connection_is_killed(store: kv.Store, migrated: str) -> None:
    with store.subscribe() as events:
        store.create(_item("a"))
        assert events.get(timeout=5) == kv.ResourceChanged(kv.Op.CREATE, TYPES.item, "m", "a")
        _kill_backends(migrated)
        deadline = time.monotonic() + 15
        got = None
        while got is None and time.monotonic() < deadline:  # events while it reconnects are lost
            store.update(store.get(TYPES.item, "m", "a"))
            got = events.get(timeout=0.5)
        assert got == kv.ResourceChanged(kv.Op.UPDATE, TYPES.item, "m", "a")


def test_the_pool_never_opens_more_than_its_bound(migrated: str) -> None:
    # Only the store's own connections count: the probes' own, closing, may still be listed for a moment.
    dsn = f"{migrated}{'&' if '?' in migrated else '?'}application_name=kv-pool-bound"
    with _store(dsn, max_open_connections=3) as store:
        store.create(_item("a"))
        errors: list[BaseException] = []

        def hammer() -> None:
            try:
                for _ in range(30):
                    store.get(TYPES.item, "m", "a")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=hammer) for _ in range(12)]
        for thread in threads:
            thread.start()
        peak = 0
        while any(t.is_alive() for t in threads):
            [(count,)] = _sql(
                migrated,
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kv-pool-bound'",
            )
            peak = max(peak, int(count))  # type: ignore[call-overload]
        for thread in threads:
            thread.join()
        assert errors == []
        assert 1 <= peak <= 3


def test_kv_open_picks_the_driver_by_url_scheme(migrated: str) -> None:
    for scheme in ("postgresql", "postgres"):
        with kv.open(scheme + ":" + migrated.partition(":")[2], catalog=CATALOG) as store:
            assert store.driver.name == "postgres"
            assert store.list(TYPES.item).total == 0
