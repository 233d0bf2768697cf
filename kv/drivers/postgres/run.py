"""Where the driver's statements run: held psycopg connections, transactions, the replica, one read retry.

A statement is compiled SQL text (`kv.drivers.postgres.sql`) executed on a psycopg connection lent by the
engine's pool (`kv.drivers.postgres.pool.Pool.acquire`), in autocommit: one round trip, the rows as tuples.
Inside `Runner.transaction` every statement of the thread runs on the transaction's connection. When
SQLAlchemy engine events are listened to (instrumentation, tests), statements go through SQLAlchemy's
``exec_driver_sql`` instead, the same text on the same pool, so that those events fire.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, TypeVar

import psycopg
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Engine

from kv.drivers.postgres.errors import DATABASE_ERRORS, translate
from kv.drivers.postgres.pool import AnswerTimeout
from kv.model import Key

__all__ = ["Runner"]

T = TypeVar("T")
Execute = Callable[[str, Mapping[str, Any]], Any]  # runs SQL, returns a cursor (or a SQLAlchemy result)
_IDLE = psycopg.pq.TransactionStatus.IDLE
_ratio = random.Random()  # its own: the global one belongs to the application


def _dead(exc: BaseException, connection: Any) -> bool:
    """Whether *exc* says the connection had died (closed by the server, network gone)."""
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and bool(
        connection.closed or connection.broken
    )


class Runner:
    """Runs statements for one driver: on the primary, or for non-consistent reads on the replica by ratio."""

    def __init__(self, engine: Engine, replica: Engine | None, replica_ratio: int, name: str) -> None:
        self.engine = engine
        self._replica = replica
        self._replica_ratio = replica_ratio
        self._tx: ContextVar[Execute | None] = ContextVar(f"kv-postgres-tx-{name}", default=None)

    def run(
        self,
        sql: str,
        params: Mapping[str, Any],
        result: Callable[[Any], T],
        *,
        read: bool = False,
        consistent: bool = False,
        key: Key | None = None,
        owner: Key | None = None,
    ) -> T:
        """``result(cursor)`` after running *sql*.

        A read outside a transaction is retried once if the connection it got had died. Writes are never
        retried: they may have been applied. Database errors are raised translated (about *key*, *owner*).
        """
        try:
            return self._run(sql, params, result, read, consistent)
        except DATABASE_ERRORS as exc:
            raise translate(exc, key, owner) from exc

    def _run(
        self, sql: str, params: Mapping[str, Any], result: Callable[[Any], T], read: bool, consistent: bool
    ) -> T:
        tx = self._tx.get()
        if tx is not None:
            return result(tx(sql, params))
        engine = self.engine
        replica = self._replica
        if read and not consistent and replica is not None and _ratio.randrange(100) < self._replica_ratio:
            engine = replica
        for attempt in (1, 2):
            if engine._has_events:  # someone listens to SQLAlchemy's events: let SQLAlchemy run it
                try:
                    with engine.connect() as connection:
                        return result(connection.exec_driver_sql(sql, params))
                except sa_exc.DBAPIError as exc:
                    if not read or attempt == 2 or not exc.connection_invalidated:
                        raise
                    continue
            held = engine.pool.acquire()  # type: ignore[attr-defined]
            connection = held.connection
            try:
                found = result(connection.execute(sql, params))
            except BaseException as exc:
                if _dead(exc, connection):
                    held.discard()
                    # A read is retried once on a connection that had died before it was used, but not
                    # after waiting a whole statement timeout: that would double the caller's wait.
                    if read and attempt == 1 and not isinstance(exc, AnswerTimeout):
                        continue
                else:
                    held.release()
                raise
            held.release()
            return found
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run this thread's statements inside on one connection, in one READ COMMITTED transaction.

        Committed at the end, or rolled back on any exception (cancellation included). Nested blocks join
        the outer one.
        """
        if self._tx.get() is not None:
            yield
            return
        if self.engine._has_events:
            with self.engine.connect() as sa_connection:
                sa_connection = sa_connection.execution_options(isolation_level="READ COMMITTED")
                with sa_connection.begin():
                    token = self._tx.set(sa_connection.exec_driver_sql)
                    try:
                        yield
                    finally:
                        self._tx.reset(token)
            return
        held = self.engine.pool.acquire()  # type: ignore[attr-defined]
        connection = held.connection
        try:
            connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            token = self._tx.set(connection.execute)
            try:
                yield
            except BaseException:
                if connection.pgconn.transaction_status != _IDLE and not connection.broken:
                    with suppress(psycopg.Error):  # the original error matters, not this one
                        connection.execute("ROLLBACK")
                raise
            finally:
                self._tx.reset(token)
            connection.execute("COMMIT")
        finally:
            held.release()  # discarded instead if broken, or still in a transaction
