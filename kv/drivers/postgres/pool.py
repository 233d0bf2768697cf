"""The connection pool: a SQLAlchemy engine with Kuma's pool knobs, built from a URL or libpq keywords."""

from __future__ import annotations

import random
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

from kv.drivers.postgres.errors import translate_errors

__all__ = ["TimedConnection", "create_engine", "to_url"]


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
            raise psycopg.OperationalError(
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
    )

    @event.listens_for(engine, "do_connect")
    def do_connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> TimedConnection:
        connection = TimedConnection.connect(*cargs, **cparams)
        connection.answer_timeout = statement_timeout
        return connection

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        record.info["expires"] = (
            time.monotonic() + max_connection_lifetime + random.uniform(0, max_connection_lifetime_jitter)
        )

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        now = time.monotonic()
        idle = now - record.info.get("idle_since", now)
        if (
            dbapi_connection.closed
            or dbapi_connection.broken
            or (max_connection_lifetime and now > record.info.get("expires", now + 1))
            or (max_connection_idle_time and idle > max_connection_idle_time)
        ):
            raise sa_exc.DisconnectionError("connection closed, broken, too old or idle too long")
        if health_check_interval and idle > health_check_interval:
            try:
                dbapi_connection.execute("SELECT 1")
            except Exception as exc:
                raise sa_exc.DisconnectionError("health check failed") from exc

    if min_open_connections > 0:
        with translate_errors():
            warm = [engine.connect() for _ in range(min(min_open_connections, pool_size))]
            for connection in warm:
                connection.close()
    return engine
