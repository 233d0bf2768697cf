"""The leader electors on a network that fails: forgets connections, or lets nothing through any more.

Postgres: a failover or a lost NAT entry; Kubernetes: a leader cut off from the API server.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import pytest

from kuma_cp.leader import PostgresElector
from kv.drivers.postgres import create_engine
from tests.faults.conftest import PgServer
from tests.faults.proxy import Proxy

LEASE = 1.0


@pytest.mark.postgres
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


def _api_through(kubeconfig: str, port: int | None = None) -> Any:
    """A client of the test API server, through the loopback *port* (a proxy) when given."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
    if port is not None:
        configuration.refresh_api_key_hook = None  # it would load the kubeconfig's server again
        configuration.host = f"https://127.0.0.1:{port}"  # the serving certificate names 127.0.0.1
    configuration.retries = 0
    return client.ApiClient(configuration)


@pytest.mark.k8s
def test_a_kubernetes_leader_cut_off_from_the_api_server_stops_leading_within_the_renew_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from urllib.parse import urlsplit

    from kuma_cp.leader_kubernetes import KubernetesElector
    from kv.drivers.k8s.lease import Lease
    from tests.conftest import k8s_kubeconfig
    from tests.kuma_cp.test_leader import _ensure_namespace

    kubeconfig = k8s_kubeconfig()
    direct = _api_through(kubeconfig)
    server = urlsplit(direct.configuration.host)
    cut = Proxy((str(server.hostname), int(server.port or 443)))
    through_proxy = _api_through(kubeconfig, cut.port)
    _ensure_namespace(direct, "kuma-leader-test")
    timings = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.3}
    name = f"lease-{uuid.uuid4().hex[:10]}"
    leader = KubernetesElector(
        Lease(through_proxy, "kuma-leader-test", name), instance_id="cut-off", **timings
    )
    other = KubernetesElector(Lease(direct, "kuma-leader-test", name), instance_id="connected", **timings)
    lost = threading.Event()
    leader.add_callbacks(on_stopped_leading=lost.set)
    caplog.set_level(logging.DEBUG, logger="kuma-cp.leader")
    try:
        leader.start()
        assert leader.leading.wait(10)
        other.start()
        time.sleep(0.7)  # a few renewals seen by the other instance
        assert not other.is_leader()
        cut.blackhole()
        cut_at = time.monotonic()
        # is_leader turns false by the renew deadline (from the last renewal's start, before the cut) ...
        while True:
            now = time.monotonic()
            if not leader.is_leader():
                break
            assert now - cut_at < timings["renew_deadline"], "still the leader past the deadline"
            assert not other.is_leader(), "two leaders at once"
            time.sleep(0.005)
        # ... the components stop soon after, even though a call hangs, and it says so as Kuma does
        assert lost.wait(timings["renew_deadline"] + 0.5), "the leader did not step down"
        assert any(r.getMessage().startswith("leader election lost") for r in caplog.records)
        # the other takes over one lease after it last saw a renewal, and never while the first leads
        assert other.leading.wait(timings["lease_duration"] + 1.5)
        taken_at = time.monotonic()
        assert not leader.is_leader()
        print(f"\nFAULT REPORT lease taken over {taken_at - cut_at:.2f}s after the leader was cut off")
        cut.restore()
        time.sleep(0.7)  # the cut-off instance is a candidate again: it sees the new holder and waits
        assert other.is_leader()
        assert not leader.is_leader()
    finally:
        cut.restore()
        other.stop()
        leader.stop()
        cut.close()
        direct.close()
        through_proxy.close()
