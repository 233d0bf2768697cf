"""The connection pool: a SQLAlchemy engine with Kuma's pool knobs, built from a URL or libpq keywords.

The engine's pool also keeps a stack of *held* connections for the driver's own statements (`Pool.acquire`,
`Held.release`): connections checked out of the SQLAlchemy pool once and lent again and again at the cost of
a list pop and a few comparisons, with the same health checks as a checkout (closed or broken, past its
jittered lifetime, idle too long, pinged after the health check interval). They count against the same
bound, and the pool reports them as idle.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import psycopg
import psycopg.errors
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from psycopg.abc import RV, PQGen
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

from kv.drivers.postgres.errors import translate_errors

__all__ = ["AnswerTimeout", "Held", "Pool", "TimedConnection", "create_engine", "to_url"]


class AnswerTimeout(psycopg.OperationalError):
    """The server did not answer within ``answer_timeout``: the connection was closed, not to be retried."""


class TimedConnection(psycopg.Connection[Any]):
    """A psycopg connection that waits at most ``answer_timeout`` seconds for each answer of the server.

    psycopg waits for a statement's result as long as it takes: when packets go nowhere (a network
    blackhole, a dead NAT entry) or the server hangs, forever. Past *answer_timeout* (0: no limit) the
    connection, mid-statement in an unknown state, is closed and the call raises
    `psycopg.OperationalError` (translated to `kv.errors.Unavailable`; a write may have been applied).
    Waits given a timeout of their own (``notifies(timeout=...)``) keep it.
    """

    answer_timeout: float = 0.0

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:  # noqa: D102
        if timeout is not None or not self.answer_timeout:
            return super().wait(gen, interval, timeout)
        try:
            return super().wait(gen, interval, self.answer_timeout)
        except _WAIT_TIMEOUT:
            self.close()
            raise AnswerTimeout(
                f"no answer from the server within {self.answer_timeout:g}s; connection closed"
            ) from None


_WAIT_TIMEOUT: type[Exception] = getattr(psycopg.errors, "_WaitTimeout", psycopg.errors.ConnectionTimeout)


def to_url(where: str | URL | Mapping[str, str]) -> URL:
    """A psycopg SQLAlchemy URL from a DSN, a URL, or libpq keywords (``host``, ``user``, ``dbname``…).

    Keywords are placed in the URL one by one, never concatenated into a string, so any password works.
    """
    if isinstance(where, str | URL):
        return make_url(where).set(drivername="postgresql+psycopg")
    rest = dict(where)
    port = rest.pop("port", None)
    return URL.create(
        "postgresql+psycopg",
        username=rest.pop("user", None),
        password=rest.pop("password", None),
        host=rest.pop("host", None),
        port=int(port) if port else None,
        database=rest.pop("dbname", None),
        query=rest,
    )


def _healthy(connection: Any, info: Mapping[str, Any], idle: float, now: float) -> bool:
    """Kuma's checks before a connection is used, whether lent (`Held`) or checked out of the queue.

    Not closed or broken, not past its jittered lifetime, not idle longer than the idle time, and, when
    idle past the health check interval, answering a ping. The limits are in *info*, set on connect.
    """
    if connection.closed or connection.broken or now > info["expires"] or idle > info["max_idle"]:
        return False
    if idle > info["ping_after"]:
        try:
            connection.execute("SELECT 1")
        except Exception:
            return False
    return True


class Held:
    """A connection lent by `Pool.acquire`: run statements on ``connection``, then `release` or `discard`."""

    __slots__ = ("_fairy", "_info", "_pool", "connection", "idle_since")

    def __init__(self, pool: Pool, fairy: Any) -> None:
        self._pool = pool
        self._fairy = fairy
        self._info: dict[str, float] = fairy.info
        self.connection: Any = fairy.driver_connection  # a psycopg.Connection, in autocommit
        self.idle_since = time.monotonic()

    def usable(self, now: float) -> bool:
        """Whether the connection may be lent now (pinging it if it was idle past the health interval)."""
        return _healthy(self.connection, self._info, now - self.idle_since, now)

    def release(self) -> None:
        """Give the connection back.

        It stays held while fewer than the pool's idle bound are; it is closed if it broke or was left in
        a transaction or mid-statement (e.g. interrupted).
        """
        pool, connection = self._pool, self.connection
        if connection.broken or connection.closed or connection.pgconn.transaction_status:  # not IDLE
            self.discard()
            return
        self.idle_since = time.monotonic()
        with pool.lock:  # so that a thread about to wait in the queue sees it held, or it goes to the queue
            keep = not pool.waiting and len(pool.held) < pool.size() and not pool.disposed
            if keep:
                pool.held.append(self)
        if not keep:
            self._fairy.close()  # back to the queue, where a waiting thread takes it

    def discard(self) -> None:
        """Close the connection for good (it broke, or it is past its lifetime)."""
        self._fairy.invalidate()


class Pool(QueuePool):
    """SQLAlchemy's queue pool, plus the stack of held connections the driver borrows from directly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[Held] = []
        self.disposed = False
        self.waiting = 0  # threads in the slow path: releases then go to the queue, where they wait
        self.lock = threading.Lock()

    def acquire(self) -> Held:
        """A healthy connection: a held one if any, else one checked out of the pool (waiting for it)."""
        candidate = self._pop()
        if candidate is not None:
            return candidate
        with self.lock:
            self.waiting += 1
            candidate = self._pop()  # released meanwhile, before this thread counted as waiting?
        try:
            return candidate if candidate is not None else Held(self, self.connect())
        finally:
            with self.lock:
                self.waiting -= 1

    def _pop(self) -> Held | None:
        held = self.held
        while held:
            try:
                candidate = held.pop()
            except IndexError:  # another thread took the last one
                break
            if candidate.usable(time.monotonic()):
                return candidate
            candidate.discard()
        return None

    def checkedin(self) -> int:  # noqa: D102 - held connections are idle ones
        return int(super().checkedin()) + len(self.held)

    def checkedout(self) -> int:  # noqa: D102
        return int(super().checkedout()) - len(self.held)

    def dispose(self) -> None:  # noqa: D102
        self.disposed = True
        while self.held:
            try:
                self.held.pop()._fairy.close()
            except IndexError:
                break
        super().dispose()


def create_engine(
    url: str | URL | Mapping[str, str],
    *,
    max_open_connections: int = 50,
    min_open_connections: int = 0,
    max_idle_connections: int = 50,
    max_connection_lifetime: float = 3600.0,
    max_connection_lifetime_jitter: float = 60.0,
    max_connection_idle_time: float = 1800.0,
    health_check_interval: float = 30.0,
    statement_timeout: float = 30.0,
) -> Engine:
    """A pooled SQLAlchemy engine with Kuma's pool knobs (times in seconds; 0 connections = unlimited).

    Dead connections are found before use without a round trip (psycopg's ``closed``/``broken`` flags);
    a connection idle longer than *health_check_interval* is pinged first; one older than its jittered
    lifetime or idle longer than *max_connection_idle_time* is replaced. A statement whose answer does
    not come within *statement_timeout* (0: no limit) fails and closes its connection (`TimedConnection`).
    """
    parsed = to_url(url)
    if "connect_timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"connect_timeout": "5"})
    unlimited = max_open_connections <= 0
    pool_size = max(1, max_idle_connections if unlimited else min(max_idle_connections, max_open_connections))
    engine = sa.create_engine(
        parsed,
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=-1 if unlimited else max(0, max_open_connections - pool_size),
        pool_timeout=float(parsed.query["connect_timeout"]),  # type: ignore[arg-type]
        pool_reset_on_return=None,  # autocommit: nothing to roll back
        poolclass=Pool,
    )

    @event.listens_for(engine, "do_connect")
    def do_connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> TimedConnection:
        connection = TimedConnection.connect(*cargs, **cparams)
        connection.answer_timeout = statement_timeout
        return connection

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        forever = float("inf")
        lifetime = max_connection_lifetime + random.uniform(0, max_connection_lifetime_jitter)
        record.info["expires"] = time.monotonic() + lifetime if max_connection_lifetime else forever
        record.info["max_idle"] = max_connection_idle_time or forever
        record.info["ping_after"] = health_check_interval or forever

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        now = time.monotonic()
        if not _healthy(dbapi_connection, record.info, now - record.info.get("idle_since", now), now):
            raise sa_exc.DisconnectionError("connection closed, broken, too old, too long idle or silent")

    if min_open_connections > 0:
        with translate_errors():
            warm = [engine.connect() for _ in range(min(min_open_connections, pool_size))]
            for connection in warm:
                connection.close()
    return engine
