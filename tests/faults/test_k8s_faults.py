"""Faults on a real kube-apiserver and etcd, under load: one pair of servers for the module, of its own.

Four writers create, update and delete records through one `kv.Store` on the Kubernetes driver, which
reaches the API server through a TCP proxy (`tests.faults.proxy`), while the event bus and a kv
subscription follow the store. Each fault: a kube-apiserver SIGKILL and start (same flags and ports),
an etcd SIGKILL and start (same data directory), every connection reset (the watches dropped, the API
server up), and an etcd compaction while the watches are cut (they come back to 410 Gone). A Kubernetes
leader elector holds the Lease through the same proxy throughout. After each:

- every call ended as done or `Unavailable` (never another error) within `OP_BOUND`;
- every acknowledged write is in etcd, as acknowledged (read back with ``get(consistent=True)``);
- the cache converges: ordinary ``get`` and ``list`` show exactly that within `CONVERGE_S` of the load's end;
- events flow again (a marker written after healing arrives on the bus); after the 410 the kv
  subscription reports the gap (``dropped`` grew), so consumers resync;
- the elector leads again within `RECOVERY_S` of healing.

Figures are printed as ``FAULT REPORT`` lines (docs/RELIABILITY.md §6 has the table).
"""

from __future__ import annotations

import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

import kv
from kuma_cp.leader_kubernetes import LEASE_NAME, KubernetesElector
from kv.drivers.k8s import KubernetesDriver, crd_manifest
from tests.conftest import install_crds
from tests.faults.harness import MESH, TYPES
from tests.faults.kube import (
    KINDS,
    SYSTEM_NAMESPACE,
    ChurnLoad,
    KubeServer,
    ReadBackStore,
    ensure_namespace,
    rows_of,
    script,
    touch,
    wipe,
)
from tests.faults.observers import Observers
from tests.faults.proxy import Proxy

pytestmark = pytest.mark.k8s
WRITERS = 4
LOAD_S = 1.5  # of load before the fault, and again after events flow again
TIMEOUT = (2.0, 5.0)  # the driver's (connect, read) per request
RECOVERY_S = 30.0  # for events to flow again once the fault is healed
CONVERGE_S = 5.0
# The longest a call may take: a write is up to three requests (the owner's or the record's live read when
# the cache lacks it, then the write), each of one connect and one read timeout, tried twice (the
# driver's one urllib3 retry): 3 x 2 x 7 s in theory, about one request's 2 x 7 s in practice.
OP_BOUND = 30.0
# The elector: a fifth of Kuma's lease (15 s) and renew deadline (10 s), client-go's retry ratio.
ELECTION = {"lease_duration": 3.0, "renew_deadline": 2.0, "retry_period": 0.5}


@pytest.fixture(scope="module")
def kube() -> Iterator[KubeServer]:
    """The etcd and kube-apiserver of this module's own, with `KINDS` and the system namespace."""
    directory = tempfile.mkdtemp(prefix="kuma-faults-k8s.")
    try:
        script("start", directory)
    except BaseException:
        script("stop", directory)
        raise
    server = KubeServer(directory)
    try:
        install_crds(server.kubeconfig, [crd_manifest(kind) for kind in KINDS])
        ensure_namespace(server.kubeconfig, SYSTEM_NAMESPACE)
        yield server
    finally:
        server.stop()  # and reaps the servers this module started again


def _nothing(proxy: Proxy) -> None:
    pass


@attrs.define
class Fault:
    """*inject*, wait *lasts* seconds, *heal* (both given the proxy); *gap*: the watch must report a gap."""

    inject: Callable[[Proxy], None]
    heal: Callable[[Proxy], None] = _nothing
    lasts: float = 0.0
    gap: bool = False


def _since(moment: float | None, start: float) -> float | None:
    return None if moment is None else round(moment - start, 3)


def converged(
    store: kv.Store, rows: dict[str, tuple[str, dict[str, Any]]], keys: list[kv.Key], deadline: float
) -> str:
    """Wait until ordinary reads (the cache) show exactly *rows*; '' if they did, else what differed."""
    while True:
        differences = []
        try:
            for key in keys:
                try:
                    record = store.get(key.type, key.mesh, key.name)
                    seen: tuple[str, dict[str, Any]] | None = (record.version, dict(record.spec))
                except kv.NotFound:
                    seen = None
                if seen != rows.get(key.name):
                    differences.append(f"get {key.name}: {seen} != {rows.get(key.name)}")
            listed = {r.key.name: (r.version, dict(r.spec)) for r in store.list(TYPES.item, mesh=MESH).items}
            if listed != rows:
                differences.append(f"list: {sorted(listed)} != {sorted(rows)}")
        except kv.Unavailable as exc:
            differences.append(f"Unavailable: {exc}")
        if not differences:
            return ""
        if time.monotonic() > deadline:
            return "; ".join(differences[:5])
        time.sleep(0.05)


def run(kube: KubeServer, fault: Fault) -> dict[str, Any]:
    """Load, the fault, recovery, then every check; returns the figures for the report."""
    wipe(kube.kubeconfig)
    proxy = Proxy(("127.0.0.1", kube.api_port))
    driver = KubernetesDriver.from_url(
        kinds=KINDS,
        kubeconfig=kube.kubeconfig_via(proxy.port),
        system_namespace=SYSTEM_NAMESPACE,
        timeout=TIMEOUT,
    )
    catalog = TYPES.catalog()
    store = kv.Store(driver, catalog=catalog)
    elector = KubernetesElector(driver.lease(LEASE_NAME), instance_id="fault-cp", **ELECTION)
    observers = Observers(store, elector)
    load = ChurnLoad(ReadBackStore(driver, catalog=catalog), writers=WRITERS)
    try:
        observers.start()
        load.start()
        time.sleep(LOAD_S)
        dropped = observers.direct.dropped
        started = time.monotonic()
        fault.inject(proxy)
        time.sleep(fault.lasts)
        fault.heal(proxy)
        healed = time.monotonic()
        events = observers.event_flows(healed + RECOVERY_S)
        assert events is not None, f"events did not flow again within {RECOVERY_S}s of healing"
        stepped = observers.stepped_down_after(started)
        leading = observers.leading_again(stepped, healed + RECOVERY_S) if stepped else healed
        assert leading is not None, f"the elector did not lead again within {RECOVERY_S}s of healing"
        time.sleep(LOAD_S)
        load.stop(OP_BOUND + 5)
        stopped = time.monotonic()
        gap = observers.direct.dropped - dropped
        rows = rows_of(store, load.keys())
        load.check_durable(rows)
        differences = converged(store, rows, load.keys(), time.monotonic() + CONVERGE_S)
        converge_s = time.monotonic() - stopped
        summary = load.summary()
        report = {
            **summary,
            "fault_s": round(healed - started, 3),
            "write_s": _since(load.first_success_after(healed), healed),
            "events_s": _since(events, healed),
            "stepped_down_s": _since(stepped, started),
            "leader_s": _since(max(leading, healed), healed),
            "converge_s": round(converge_s, 3),
            "gap": gap,
            "resyncs": len(observers.resyncs_after(started)),
            "messages": sorted({m.split(" <- ")[0][:160] for m in load.messages}),
        }
        print(f"\nFAULT REPORT {report}")
        assert not load.unexpected, load.unexpected[:10]
        assert summary["max_op_s"] <= OP_BOUND, summary
        assert summary["acknowledged"] > 0, summary
        assert not differences, f"the cache did not converge within {CONVERGE_S}s: {differences}"
        if fault.gap:
            assert gap > 0, "the kv subscription was not told of the gap (dropped did not grow)"
            assert report["resyncs"] > 0, "the bus sent no Resync"
        return report
    finally:
        load.stop(OP_BOUND + 5, check=False)
        observers.close()
        store.close()
        proxy.close()


def test_an_api_server_killed_and_started_again(kube: KubeServer) -> None:
    def restart(proxy: Proxy) -> None:
        kube.kill("apiserver", signal.SIGKILL)
        kube.start("apiserver")
        kube.wait_ready()

    run(kube, Fault(restart))


def test_etcd_killed_and_started_again(kube: KubeServer) -> None:
    def kill(proxy: Proxy) -> None:
        kube.kill("etcd", signal.SIGKILL)

    def start(proxy: Proxy) -> None:
        kube.start("etcd")
        kube.wait_ready()

    run(kube, Fault(kill, start, lasts=1.0))


def test_every_connection_reset_while_the_api_server_stays_up(kube: KubeServer) -> None:
    run(kube, Fault(lambda proxy: proxy.reset(), lambda proxy: proxy.restore(), lasts=1.0))


def test_a_compaction_while_the_watches_are_cut_makes_them_answer_410(kube: KubeServer) -> None:
    # The API server's watch cache would serve the old revisions from its window: without it, a watch
    # reads etcd, and a compacted revision answers 410 Gone, as it does past the window in production.
    kube.kill("apiserver")
    kube.start("apiserver", "--watch-cache=false")
    kube.wait_ready()

    def cut_write_compact(proxy: Proxy) -> None:
        proxy.reset()  # the watches drop and cannot come back ...
        touch(kube.kubeconfig, 3)  # ... while revisions go on, straight to the API server ...
        kube.compact()  # ... and etcd forgets them

    try:
        run(kube, Fault(cut_write_compact, lambda proxy: proxy.restore(), gap=True))
    finally:
        kube.kill("apiserver")
        kube.start("apiserver")
        kube.wait_ready()
