"""The leader elector on a network that forgets its connections (a failover, a lost NAT entry)."""

from __future__ import annotations

import threading
import time

import pytest

from kuma_cp.leader import PostgresElector
from kv.drivers.postgres import create_engine
from tests.faults.conftest import PgServer
from tests.faults.proxy import Proxy

pytestmark = pytest.mark.postgres
LEASE = 1.0


def test_a_leader_whose_connections_all_die_silently_leads_again_soon(pg_server, proxy) -> None:
    server: PgServer = pg_server()
    cut: Proxy = proxy(server)
    # As kuma-cp makes it (statements wait up to 30s by default), with both of its connections open.
    engine = create_engine(
        server.url(port=cut.port, connect_timeout="2"), max_open_connections=2, min_open_connections=2
    )
    elector = PostgresElector(engine, instance_id="cp-0", lease=LEASE, heartbeat=LEASE / 5, retry=0.3)
    lost = threading.Event()
    elector.add_callbacks(on_stopped_leading=lost.set)
    try:
        elector.start()
        assert elector.leading.wait(10)
        cut.blackhole()
        assert lost.wait(2 * LEASE), "the leader did not step down"
        time.sleep(LEASE)  # the release and a first attempt are stuck on connections that went silent
        cut.restore(resume=False)  # ... and they stay silent: only timeouts free them
        healed = time.monotonic()
        assert elector.leading.wait(6 * LEASE), "leadership was not taken again within 6 leases"
        print(
            f"\nFAULT REPORT leader re-acquired {time.monotonic() - healed:.2f}s after the network came back"
        )
    finally:
        elector.stop()
        engine.dispose()
