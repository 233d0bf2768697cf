"""The Postgres driver: Kuma's ``resources`` table through SQLAlchemy Core on psycopg 3.

Every operation is one statement on an autocommit connection (no BEGIN/COMMIT round trips): create is
an INSERT ... RETURNING, update a compare-and-set ``UPDATE ... WHERE version = :held RETURNING`` with no
read before it, a page of a listing one statement that counts and slices in the same snapshot. Owner
cascade is the table's ``ON DELETE CASCADE`` foreign key. A version is Kuma's integer and the record's
creation time (`version_of`), so that it is never reused for a key.

SQLAlchemy builds the statements (`kv.drivers.postgres.sql`), compiled once; each call sends the compiled
text on a pooled psycopg connection (`kv.drivers.postgres.run`) and decodes the tuple it gets back.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from attrs import evolve
from sqlalchemy.engine import URL, Engine

from kv.driver import Listener as EventListener
from kv.driver import Query, Row
from kv.drivers.postgres.errors import translate_errors
from kv.drivers.postgres.listener import Listener
from kv.drivers.postgres.pool import create_engine
from kv.drivers.postgres.run import Runner
from kv.drivers.postgres.sql import (
    DELETE,
    DELETE_AT_VERSION,
    GET,
    INSERT,
    UPDATE,
    compiled,
    list_sql,
)
from kv.errors import Conflict, NotFound
from kv.events import Subscription
from kv.model import Key, ResourceChanged

__all__ = ["PostgresDriver", "version_of"]  # the statements and their SQL: kv.drivers.postgres.sql

MAX_PUSHED_KEYS = 10_000  # beyond this, filter keys in Python instead of binding 2 parameters per key


_labels_json = json.JSONEncoder(separators=(",", ":")).encode


def _naive_utc(value: datetime) -> datetime:  # the columns are timestamp without time zone
    return value.replace(tzinfo=None) if value.tzinfo is UTC else value.astimezone(UTC).replace(tzinfo=None)


_EPOCH = datetime(1970, 1, 1)
_MICROSECOND = timedelta(microseconds=1)
_HELD_VERSION = re.compile(r"(\d{1,10})-([0-9a-f]{1,15})")


def version_of(version: int, ctime: datetime) -> str:
    """The opaque version of a row: Kuma's integer, then the creation time in hex microseconds.

    Kuma's ``version`` column starts again at 0 when a record is deleted and created again, so a writer
    holding a version of the old record could update the new one (ABA). The creation time tells the two
    apart, and the compare-and-set checks both: versions are never reused for a key.
    """
    return f"{version}-{(ctime - _EPOCH) // _MICROSECOND:x}"


def _held(expected: str) -> dict[str, Any] | None:
    """The compare-and-set's parameters for the version a writer holds: Kuma's integer and the creation time.

    None if no row of this table could be at that version.
    """
    match = _HELD_VERSION.fullmatch(expected)
    if match is None or int(match[1]) >= 2**31:
        return None
    try:
        return {"expected": int(match[1]), "expected_ctime": _EPOCH + int(match[2], 16) * _MICROSECOND}
    except OverflowError:
        return None


_NO_LABELS = frozenset({None, "{}", "null"})


def _row(r: Sequence[Any]) -> Row:  # a tuple of COLUMNS
    (name, mesh, type_, version, spec, ctime, mtime, owner_name, owner_mesh, owner_type, labels, status) = r
    return Row(
        key=Key(type_, mesh, name),
        spec=spec or "{}",
        status=status or "{}",
        # Go Kuma writes null for none. Anything else is handed over as stored, for kv.reading to judge.
        labels={} if labels in _NO_LABELS else json.loads(labels),
        creation_time=ctime.replace(tzinfo=UTC),
        modification_time=mtime.replace(tzinfo=UTC),
        owner=None if owner_name is None else Key(owner_type, owner_mesh, owner_name),
        version=version_of(version, ctime),
    )


def _one(cursor: Any) -> Any:
    return cursor.fetchone()


def _all(cursor: Any) -> Any:
    return cursor.fetchall()


def _count(cursor: Any) -> int:
    return int(cursor.rowcount)


_GET, _INSERT, _UPDATE = compiled(GET), compiled(INSERT), compiled(UPDATE)
_DELETE, _DELETE_AT_VERSION = compiled(DELETE), compiled(DELETE_AT_VERSION)


def _pk(key: Key) -> dict[str, str]:
    return {"k_name": key.name, "k_mesh": key.mesh, "k_type": key.type}


def _psycopg_params(url: URL) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in url.query.items() if isinstance(v, str)}
    for name, value in (
        ("host", url.host),
        ("port", url.port),
        ("user", url.username),
        ("dbname", url.database),
    ):
        if value is not None:
            params[name] = value
    if url.password is not None:
        params["password"] = url.password
    return params


class PostgresDriver:
    """Records in Kuma's ``resources`` table. Thread-safe: a bounded pool serves concurrent callers."""

    name = "postgres"

    def __init__(self, engine: Engine, *, replica: Engine | None = None, replica_ratio: int = 100) -> None:
        self._engine = engine
        self._replica = replica
        self._runner = Runner(engine, replica, replica_ratio, str(id(self)))
        self._run = self._runner.run
        self._listeners: list[EventListener] = []
        self._listener: Listener | None = None
        self._lock = threading.Lock()
        self._connect_timeout = float(engine.url.query.get("connect_timeout", 5))  # type: ignore[arg-type]

    @classmethod
    def from_url(
        cls,
        url: str | URL | Mapping[str, str],
        *,
        replica_url: str | URL | Mapping[str, str] | None = None,
        replica_ratio: int = 100,
        **pool: Any,
    ) -> PostgresDriver:
        """Open a driver on ``postgresql://user:password@host:port/dbname?connect_timeout=5&...``.

        *url* may also be libpq keywords (see `to_url`); *pool* options are those of `create_engine`.
        """
        replica = None if replica_url is None else create_engine(replica_url, **pool)
        return cls(create_engine(url, **pool), replica=replica, replica_ratio=replica_ratio)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the operations inside on one connection, committed together or rolled back together.

        Any exception inside rolls back, cancellation (KeyboardInterrupt, SystemExit) included: unlike
        Kuma's ``InTx``, nothing is committed on the way out of an interrupted block. Nested blocks join
        the outer one. After an error inside, the transaction can only be rolled back.
        """
        with translate_errors(), self._runner.transaction():
            yield

    def create(self, row: Row) -> Row:  # noqa: D102 - the Driver protocol documents it
        owner = row.owner
        params = {
            **_pk(row.key),
            "spec": row.spec,
            "status": row.status,
            "labels": _labels_json(row.labels) if row.labels else "{}",
            "ctime": _naive_utc(row.creation_time),
            "mtime": _naive_utc(row.modification_time),
            "owner_name": None if owner is None else owner.name,
            "owner_mesh": None if owner is None else owner.mesh,
            "owner_type": None if owner is None else owner.type,
        }
        stored = self._run(_INSERT, params, _one, key=row.key, owner=owner)
        return _row(stored)

    def update(  # noqa: D102
        self,
        key: Key,
        *,
        spec: str,
        status: str,
        labels: Mapping[str, str],
        modification_time: datetime,
        expected: str,
    ) -> Row:
        if (held := _held(expected)) is None:
            raise Conflict.of(key)  # not a version this table could hold
        params = {
            **_pk(key),
            **held,
            "spec": spec,
            "status": status,
            "labels": _labels_json(labels) if labels else "{}",
            "mtime": _naive_utc(modification_time),
        }
        stored = self._run(_UPDATE, params, _one, key=key)
        if stored is None:
            raise Conflict.of(key)
        return _row(stored)

    def delete(self, key: Key, *, expected: str | None = None) -> None:  # noqa: D102
        if expected is None:
            deleted = self._run(_DELETE, _pk(key), _count, key=key)
        elif (held := _held(expected)) is None:
            deleted = 0
        else:
            params = {**_pk(key), **held}
            deleted = self._run(_DELETE_AT_VERSION, params, _count, key=key)
        if deleted:
            return
        # Nothing deleted: with a version, was it stale, or was nothing there at all?
        if expected is not None and self._run(_GET, _pk(key), _one, read=True, consistent=True, key=key):
            raise Conflict.of(key)
        raise NotFound.of(key)

    def get(self, key: Key, *, consistent: bool = False) -> Row:  # noqa: D102
        found = self._run(_GET, _pk(key), _one, read=True, consistent=consistent, key=key)
        if found is None:
            raise NotFound.of(key)
        return _row(found)

    def list(self, query: Query) -> tuple[Sequence[Row], int]:  # noqa: D102
        keys = query.keys
        if keys is not None and not keys:
            return [], 0
        if keys is not None and len(keys) > MAX_PUSHED_KEYS:  # filter in Python, slice after
            sql, params = list_sql(evolve(query, keys=None, offset=0, limit=None))
            found = self._run(sql, params, _all, read=True)
            rows = [_row(r) for r in found if (r[1], r[0]) in keys]
            end = None if query.limit is None else query.offset + query.limit
            return rows[query.offset : end], len(rows)
        sql, params = list_sql(query)
        found = self._run(sql, params, _all, read=True)
        if query.limit is None:
            return list(map(_row, found)), len(found)
        total = found[0][0] if found else 0
        return [_row(r[1:]) for r in found if r[1] is not None], total

    def subscribe(self, listener: EventListener) -> Callable[[], None]:  # noqa: D102
        with self._lock:
            if self._listener is None:
                self._listener = Listener(_psycopg_params(self._engine.url), self._deliver, self._lost)
                self._listener.start(timeout=self._connect_timeout + 5)
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return unsubscribe

    def _lost(self) -> None:
        """The listener reconnected: tell subscriptions that events may have been lost meanwhile."""
        for listener in self._listeners:
            if isinstance(listener, Subscription):
                listener.lost()

    def _deliver(self, event: ResourceChanged) -> None:
        for listener in self._listeners:
            listener(event)

    def close(self) -> None:  # noqa: D102
        with self._lock:
            if self._listener is not None:
                self._listener.stop()
                self._listener = None
            self._listeners = []
        self._engine.dispose()
        if self._replica is not None:
            self._replica.dispose()


if TYPE_CHECKING:
    from kv.driver import Driver

    _: type[Driver] = PostgresDriver
