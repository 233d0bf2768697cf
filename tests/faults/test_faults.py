"""Faults on a real PostgreSQL, under load (issue 8 §2): each test starts a server of its own.

Writers create and update records through one `kv.Store` (connect and statement timeouts set) while a
leader elector and the event bus run on the same database. During and after each fault:

- every call ends as done or `Unavailable`, never another error, and within a bound set by the timeouts;
- every acknowledged write is in the database afterwards, as acknowledged (read on a fresh connection);
- the store serves again by itself, the listener reconnects and reports the loss (a `Resync` on the bus,
  ``dropped`` on a kv subscription) and events flow again, the leader steps down and leads again;
- no error message and no log line carries the password.

``KUMA_TEST_SOAK=1`` repeats each fault ten times under a longer load.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import attrs
import pytest

import kv
from kv.drivers.postgres import PostgresDriver
from tests.faults.conftest import PgServer
from tests.faults.harness import TYPES, Load, rows_in
from tests.faults.observers import Observers
from tests.faults.proxy import Proxy

pytestmark = pytest.mark.postgres
SOAK = os.environ.get("KUMA_TEST_SOAK", "") not in ("", "0")
CYCLES = 10 if SOAK else 1
LOAD_S = 4.0 if SOAK else 1.0  # of load before each fault and after the last recovery
CONNECT_TIMEOUT = 2
STATEMENT_TIMEOUT = 2
APP = "kv-faults"
RECOVERY_S = 20.0
# The longest a call may take: waiting for a pooled connection, then a read that is retried once on a
# new connection (each: connect, then the statement), and some slack for a loaded 2-core machine.
OP_BOUND = CONNECT_TIMEOUT + 2 * (CONNECT_TIMEOUT + STATEMENT_TIMEOUT) + 1.5


def _nothing() -> None:
    pass


@attrs.define
class Fault:
    """*inject*, wait *lasts* seconds, *heal*; *loses_db*: the store's connections all break."""

    inject: Callable[[], None]
    heal: Callable[[], None] = _nothing
    lasts: float = 0.0
    loses_db: bool = True


def store_url(server: PgServer, port: int | None = None) -> str:
    """Where the store connects: the server or a proxy, with the timeouts and an application name."""
    return server.url(
        port=port,
        connect_timeout=str(CONNECT_TIMEOUT),
        application_name=APP,
        options=f"-c statement_timeout={STATEMENT_TIMEOUT * 1000}",
    )


def run(
    server: PgServer,
    url: str,
    fault: Fault,
    caplog: pytest.LogCaptureFixture,
    *,
    writers: int = 6,
    pool: int = 20,
    bound: float = OP_BOUND,
) -> dict[str, Any]:
    """Load, fault and recovery, *CYCLES* times, then every check; returns numbers for the report.

    *bound*: the longest any call may take.
    """
    caplog.set_level(logging.DEBUG)
    driver = PostgresDriver.from_url(url, max_open_connections=pool, statement_timeout=STATEMENT_TIMEOUT)
    store = kv.Store(driver, catalog=TYPES.catalog())
    observers = Observers.on_postgres(store, url)
    load = Load(store, writers=writers)
    cycles: list[dict[str, float | None]] = []
    try:
        observers.start()
        load.start()
        for _ in range(CYCLES):
            time.sleep(LOAD_S)
            cycles.append(_cycle(observers, fault))
        time.sleep(LOAD_S)
        load.stop(bound + 5)
        healed = time.monotonic()
        assert observers.event_flows(healed + RECOVERY_S) is not None, "events do not flow after the load"
        assert observers.leading_again(0, healed + RECOVERY_S) is not None, "not the leader after the load"
        observers.close()
        assert not load.unexpected, load.unexpected[:10]
        load.check_durable(rows_in(server))
        summary = load.summary()
        assert summary["max_op_s"] <= bound, summary
        assert summary["acknowledged"] > 0, summary
        assert summary["unavailable"] > 0, summary  # the fault was felt
        for text in [*load.messages, caplog.text]:
            assert server.password not in text
        assert store.get(TYPES.item, "faults", "w0-0").key.name == "w0-0"  # the same store, serving
    finally:
        load.stop(bound + 5, check=False)
        observers.close()
        store.close()
    for cycle in cycles:
        healed_at = cycle.pop("healed_at")
        cycle["write_s"] = _since(load.first_success_after(healed_at or 0), healed_at)
    report = {**summary, "cycles": cycles, "messages": sorted({m.split(" <- ")[0] for m in load.messages})}
    print(f"\nFAULT REPORT {report}")
    return report


def _since(moment: float | None, start: float | None) -> float | None:
    return None if moment is None or start is None else round(moment - start, 3)


def _cycle(observers: Observers, fault: Fault) -> dict[str, float | None]:
    dropped = observers.direct.dropped
    started = time.monotonic()
    fault.inject()
    time.sleep(fault.lasts)
    fault.heal()
    healed = time.monotonic()
    deadline = healed + RECOVERY_S
    cycle: dict[str, float | None] = {"healed_at": healed}
    if fault.loses_db:
        events = observers.event_flows(deadline)
        assert events is not None, "events did not flow again"
        cycle["events_s"] = _since(events, healed)
        stepped = observers.stepped_down_after(started)
        assert stepped is not None, "the leader did not step down"
        leading = observers.leading_again(stepped, deadline)
        assert leading is not None, "leadership was not taken again"
        assert observers.resyncs_after(started), "the bus sent no Resync"
        assert observers.direct.dropped > dropped, "the kv subscription was not told of the loss"
        cycle.update(stepped_down_s=_since(stepped, started), leader_s=_since(leading, healed))
    else:  # not required: a leader starved of connections may step down
        cycle["stepped_down_s"] = _since(observers.stepped_down_after(started), started)
    return cycle


def test_terminating_every_store_connection_mid_load(pg_server, caplog) -> None:
    server: PgServer = pg_server()

    def kill() -> None:
        killed = server.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            APP,
        )
        assert len(killed) >= 3  # at least a pooled connection, the listener and the elector's

    run(server, store_url(server), Fault(kill, kill, lasts=0.3), caplog)


def test_a_fast_restart_mid_load(pg_server, caplog) -> None:
    server: PgServer = pg_server()
    run(server, store_url(server), Fault(server.restart), caplog)


def test_a_network_that_resets_every_connection(pg_server, proxy, caplog) -> None:
    server: PgServer = pg_server()
    cut: Proxy = proxy(server)
    run(server, store_url(server, cut.port), Fault(cut.reset, cut.restore, lasts=2.0), caplog)


def test_a_network_that_blackholes_every_packet(pg_server, proxy, caplog) -> None:
    server: PgServer = pg_server()
    cut: Proxy = proxy(server)
    # A call that waited for the network to come back would take the whole outage: longer than allowed.
    bound = CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 2.0  # a read: its statement, then a new connection
    fault = Fault(cut.blackhole, cut.restore, lasts=bound + 2.0)
    run(server, store_url(server, cut.port), fault, caplog, bound=bound)


def test_a_network_that_forgets_every_open_connection(pg_server, proxy, caplog) -> None:
    """As a failover or a lost NAT entry: connections open during the outage stay dead, without a reset."""
    server: PgServer = pg_server()
    cut: Proxy = proxy(server)
    bound = CONNECT_TIMEOUT + STATEMENT_TIMEOUT + 2.0
    fault = Fault(cut.blackhole, lambda: cut.restore(resume=False), lasts=1.0)
    run(server, store_url(server, cut.port), fault, caplog, bound=bound)


def test_fewer_server_connections_than_the_pool(pg_server, caplog) -> None:
    server: PgServer = pg_server("-c max_connections=10")  # superuser_reserved_connections included
    report = run(server, store_url(server), Fault(_nothing, lasts=2.0, loses_db=False), caplog, writers=20)
    assert any("too many clients" in message for message in report["messages"]), report["messages"]
