"""Leader election: memory, Kuma's pglock on a real PostgreSQL, client-go's Lease on a real API server.

The timings are a tenth of Kuma's or less (Postgres: lease 0.5s, heartbeat 0.1s; Kubernetes: lease 1.5s,
renew deadline 1s, retry 0.2s): neither algorithm compares clocks, so they behave the same at any
scale. The behaviour both share runs on both, through a `Backend` (make electors, plant, steal or keep
renewing the lock as another instance would); each Kubernetes test has a Lease of its own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from kuma_cp import migrate
from kuma_cp.leader import LOCK_NAME, LeaderElector, MemoryElector, PostgresElector, instance_id
from kv.drivers.postgres import create_engine
from tests.conftest import until

FAST = {"lease": 0.5, "heartbeat": 0.1, "retry": 0.2}
LEASE = FAST["lease"]


class Recorder:
    """Records an elector's callbacks, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.changed = threading.Condition()

    def attach(self, elector: LeaderElector) -> None:
        elector.add_callbacks(lambda: self._record("started"), lambda: self._record("stopped"))

    def _record(self, what: str) -> None:
        with self.changed:
            self.calls.append(what)
            self.changed.notify_all()

    def wait_for(self, calls: list[str], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.calls[: len(calls)] == calls, timeout)


def test_memory_elector_leads_from_start_to_stop() -> None:
    elector, recorder = MemoryElector(), Recorder()
    recorder.attach(elector)
    assert not elector.is_leader()
    elector.start()
    assert elector.is_leader()
    assert elector.leading.is_set()
    elector.stop()
    assert not elector.is_leader()
    assert recorder.calls == ["started", "stopped"]


def test_a_failing_callback_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    elector, recorder = MemoryElector(), Recorder()

    def broken() -> None:
        raise RuntimeError("component failed")

    elector.add_callbacks(on_started_leading=broken)
    recorder.attach(elector)
    elector.start()
    assert recorder.calls == ["started"]
    assert elector.is_leader()
    assert "leader callback failed" in caplog.text


def test_a_change_made_by_a_callback_comes_after_the_current_one() -> None:
    elector, recorder = MemoryElector(), Recorder()
    elector.add_callbacks(on_started_leading=elector.stop)
    recorder.attach(elector)
    elector.start()
    assert recorder.calls == ["started", "stopped"]  # every component saw the start before the stop
    assert not elector.is_leader()


def test_instance_ids_are_hostname_and_four_characters() -> None:
    first, second = instance_id(), instance_id()
    assert first != second
    assert len(first.rsplit("-", 1)[1]) == 4


def test_timings_that_cannot_work_are_refused() -> None:
    engine = create_engine("postgresql://kuma:pw@127.0.0.1:1/kuma")
    with pytest.raises(ValueError, match="heartbeat"):
        PostgresElector(engine, instance_id="a", lease=1.0, heartbeat=0.6)
    with pytest.raises(ValueError, match="heartbeat"):
        PostgresElector(engine, instance_id="a", lease=1.0, heartbeat=0)


def test_failures_are_logged_at_debug_three_times_then_as_errors(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine("postgresql://kuma:s3cret-pw@127.0.0.1:1/kuma?connect_timeout=1")  # refused
    elector = PostgresElector(engine, instance_id="a", lease=0.5, heartbeat=0.1, retry=0.01)
    caplog.set_level(logging.DEBUG, logger="kuma-cp.leader")

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage().startswith("error waiting for lock")]

    elector.start()
    try:
        assert until(lambda: len(failures()) >= 5, timeout=10)
        assert not elector.is_leader()
    finally:
        elector.stop()
    levels = [r.levelno for r in failures()[:5]]
    assert levels == [logging.DEBUG] * 3 + [logging.ERROR] * 2
    assert "postgres unavailable" in failures()[0].getMessage()
    assert "s3cret-pw" not in caplog.text


# --- the backends ------------------------------------------------------------------------------


K8S_FAST = {"lease_duration": 1.5, "renew_deadline": 1.0, "retry_period": 0.2}  # a tenth of Kuma's
K8S_NAMESPACE = "kuma-leader-test"


class Backend:
    """One store's election as the tests see it: electors, and the lock as other instances write it."""

    name: str
    lease: float  # seconds a silent holder keeps the lock
    after_release: float  # seconds from a leader's stop to its successor, had the lock been released

    def make(self, name: str) -> Any:
        raise NotImplementedError

    def owner(self) -> str | None:
        """The lock's holder now (None: nobody)."""
        raise NotImplementedError

    def plant(self, owner: str) -> None:
        """The lock held by *owner*, as a crashed instance leaves it."""
        raise NotImplementedError

    def steal(self, owner: str) -> None:
        """*owner* takes the lock from whoever holds it (as if it had never seen them renew)."""
        raise NotImplementedError

    def renew(self, owner: str) -> None:
        """*owner*, holding the lock, renews it."""
        raise NotImplementedError


class PostgresBackend(Backend):
    name, lease, after_release = "postgres", LEASE, 3 * LEASE  # candidates try once a lease

    def __init__(self, dsn: str, make: Callable[[str], PostgresElector]) -> None:
        self.dsn, self._make = dsn, make

    def make(self, name: str) -> PostgresElector:
        return self._make(name)

    def owner(self) -> str | None:
        owner = _lock_owner(self.dsn)
        return None if owner is None else str(owner)

    def plant(self, owner: str) -> None:
        _sql(self.dsn, "INSERT INTO locks VALUES (%s, nextval('locks_rvn'), NULL, %s)", LOCK_NAME, owner)

    def steal(self, owner: str) -> None:
        _sql(
            self.dsn,
            "UPDATE locks SET record_version_number = nextval('locks_rvn'), owner = %s WHERE name = %s",
            owner,
            LOCK_NAME,
        )

    def renew(self, owner: str) -> None:
        _sql(
            self.dsn,
            "UPDATE locks SET record_version_number = nextval('locks_rvn') WHERE name = %s",
            LOCK_NAME,
        )


class KubernetesBackend(Backend):
    name, lease = "kubernetes", K8S_FAST["lease_duration"]
    # Candidates try every retry period (plus jitter); without a release, the successor would wait until
    # a lease after it last saw the leader renew, at most a retry period before the stop.
    after_release = K8S_FAST["lease_duration"] - K8S_FAST["retry_period"] - 0.05

    def __init__(self, api: Any, lease_name: str) -> None:
        from kv.drivers.k8s.lease import Lease

        self.api, self.lease_name = api, lease_name
        self.lock = Lease(api, K8S_NAMESPACE, lease_name)
        self.made: list[LeaderElector] = []

    def make(self, name: str) -> LeaderElector:
        from kuma_cp.leader_kubernetes import KubernetesElector
        from kv.drivers.k8s.lease import Lease

        elector = KubernetesElector(
            Lease(self.api, K8S_NAMESPACE, self.lease_name), instance_id=name, **K8S_FAST
        )
        self.made.append(elector)
        return elector

    def owner(self) -> str | None:
        record = self.lock.get()
        return record.holder_identity or None if record is not None else None

    def _record(self, owner: str, transitions: int = 0, version: str = "") -> Any:
        from kv.drivers.k8s.lease import LeaseRecord

        now = datetime.now(UTC)
        return LeaseRecord(
            holder_identity=owner,
            lease_duration_seconds=1,
            acquire_time=now,
            renew_time=now,
            lease_transitions=transitions,
            resource_version=version,
        )

    def plant(self, owner: str) -> None:
        self.lock.create(self._record(owner))

    def steal(self, owner: str) -> None:
        current = self.lock.get()
        assert current is not None
        self.lock.update(self._record(owner, current.lease_transitions + 1, current.resource_version))

    def renew(self, owner: str) -> None:
        current = self.lock.get()
        assert current is not None
        self.lock.update(self._record(owner, current.lease_transitions, current.resource_version))


def _ensure_namespace(api: Any, namespace: str) -> None:
    """The namespace exists (kuma-cp creates none: the operator does)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
        )
    except ApiException as exc:
        if exc.status != 409:
            raise


@pytest.fixture(scope="module")
def k8s_api() -> Iterator[Any]:
    from kubernetes import config

    from tests.conftest import k8s_kubeconfig

    api = config.new_client_from_config(config_file=k8s_kubeconfig())  # type: ignore[no-untyped-call]
    _ensure_namespace(api, K8S_NAMESPACE)
    yield api
    api.close()


@pytest.fixture(
    params=[
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("kubernetes", marks=pytest.mark.k8s),
    ]
)
def election(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Each test's own lock on the store under test; every elector made is stopped afterwards."""
    if request.param == "postgres":
        yield PostgresBackend(request.getfixturevalue("lock_db"), request.getfixturevalue("elector_factory"))
        return
    backend = KubernetesBackend(request.getfixturevalue("k8s_api"), f"lease-{uuid.uuid4().hex[:10]}")
    yield backend
    for elector in backend.made:
        elector.stop()


# --- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture
def lock_db(pg_database: str) -> str:
    engine = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(engine)
    engine.dispose()
    return pg_database


@pytest.fixture
def elector_factory(lock_db: str) -> Iterator[Callable[..., PostgresElector]]:
    made: list[PostgresElector] = []
    engines = []

    def make(name: str, **timings: float) -> PostgresElector:
        engine = create_engine(lock_db, max_open_connections=2)
        engines.append(engine)
        t = {**FAST, **timings}
        elector = PostgresElector(
            engine, instance_id=name, lease=t["lease"], heartbeat=t["heartbeat"], retry=t["retry"]
        )
        made.append(elector)
        return elector

    yield make
    for elector in made:
        elector.stop()
    for engine in engines:
        engine.dispose()


def _sql(dsn: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


def _lock_owner(dsn: str) -> object:
    rows = _sql(dsn, "SELECT owner FROM locks WHERE name = %s", LOCK_NAME)
    return rows[0][0] if rows else None


def _leaders(electors: list[Any]) -> list[str]:
    return [e.instance_id for e in electors if e.is_leader()]


def _watch_for_split_brain(electors: list[Any], seconds: float) -> set[str]:
    """Sample for *seconds*: never two leaders at once; return who led."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        leaders = _leaders(electors)
        assert len(leaders) <= 1, f"two leaders at once: {leaders}"
        seen.update(leaders)
        time.sleep(0.005)
    return seen


# --- on both stores -----------------------------------------------------------------------------


def test_three_electors_elect_exactly_one_leader(election: Backend) -> None:
    electors = [election.make(f"cp-{i}") for i in range(3)]
    for elector in electors:
        elector.start()
    assert until(lambda: len(_leaders(electors)) == 1, timeout=4 * election.lease)
    (leader,) = _leaders(electors)
    # renewals keep it, for several leases; no flapping
    assert _watch_for_split_brain(electors, 2 * election.lease) == {leader}
    assert election.owner() == leader


def test_stopping_the_leader_elects_another_and_releases_the_lock(election: Backend) -> None:
    electors = [election.make(f"cp-{i}") for i in range(3)]
    for elector in electors:
        elector.start()
    assert until(lambda: len(_leaders(electors)) == 1, timeout=4 * election.lease)
    leader = next(e for e in electors if e.is_leader())
    started = time.monotonic()
    leader.stop()
    assert time.monotonic() - started < election.lease + 0.5  # prompt
    assert election.owner() != leader.instance_id  # released (or already taken by a successor)
    assert not leader.is_leader()
    assert not leader._thread.is_alive()
    others = [e for e in electors if e is not leader]
    # released, so the next attempt wins, before the lease of a silent holder could have passed
    deadline = started + election.after_release
    assert until(lambda: len(_leaders(others)) == 1, timeout=deadline - time.monotonic())
    (successor,) = _leaders(others)
    assert successor != leader.instance_id
    assert _watch_for_split_brain(electors, 2 * election.lease) == {successor}
    assert election.owner() == successor


def test_a_stale_lock_is_taken_over_only_after_a_whole_lease(election: Backend) -> None:
    election.plant("crashed-cp")
    elector = election.make("cp-0")
    started = time.monotonic()
    elector.start()
    assert elector.leading.wait(timeout=4 * election.lease)
    assert time.monotonic() - started >= election.lease  # the crashed holder might have been alive until then
    assert election.owner() == "cp-0"


def test_a_holder_that_keeps_renewing_is_never_displaced(election: Backend) -> None:
    election.plant("other-cp")
    stop = threading.Event()

    def renew() -> None:  # another instance, alive: it renews five times a lease
        while not stop.wait(election.lease / 5):
            election.renew("other-cp")

    other = threading.Thread(target=renew, daemon=True)
    other.start()
    elector = election.make("cp-0")
    try:
        elector.start()
        assert not elector.leading.wait(timeout=2 * election.lease)
        assert election.owner() == "other-cp"
    finally:
        stop.set()
        other.join()
    assert elector.leading.wait(timeout=4 * election.lease)  # the other one stopped renewing
    assert election.owner() == "cp-0"


def test_a_leader_whose_lock_is_taken_steps_down_at_its_next_renewal(election: Backend) -> None:
    elector, recorder = election.make("cp-0"), Recorder()
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started"], timeout=4 * election.lease)
    election.steal("thief")
    stolen = time.monotonic()
    assert recorder.wait_for(["started", "stopped"], timeout=election.lease)
    assert time.monotonic() - stolen < 0.6 * election.lease
    assert not elector.is_leader()
    assert election.owner() == "thief"  # not released: it was not this instance's any more
    # the thief never renews: after a lease of silence the lock comes back
    assert recorder.wait_for(["started", "stopped", "started"], timeout=4 * election.lease)
    assert election.owner() == "cp-0"


def test_a_callback_may_stop_its_elector(election: Backend) -> None:
    elector, recorder = election.make("cp-0"), Recorder()
    elector.add_callbacks(on_started_leading=elector.stop)  # e.g. a component that fails at start
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started", "stopped"], timeout=4 * election.lease)
    assert until(lambda: not elector._thread.is_alive(), timeout=2 * election.lease)
    assert not elector.is_leader()
    assert election.owner() is None  # released on the way out


# --- PostgreSQL only ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_a_leader_whose_connections_are_killed_steps_down_then_comes_back(
    lock_db: str, elector_factory
) -> None:
    elector, recorder = elector_factory("cp-0"), Recorder()
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started"], timeout=4 * LEASE)
    killed = _sql(
        lock_db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert killed
    assert recorder.wait_for(["started", "stopped"], timeout=LEASE)
    assert recorder.wait_for(["started", "stopped", "started"], timeout=6 * LEASE)
    assert elector.is_leader()


@pytest.mark.postgres
def test_a_leader_whose_heartbeat_hangs_steps_down_before_its_lease_ends(
    lock_db: str, elector_factory
) -> None:
    elector, recorder = elector_factory("cp-0"), Recorder()
    recorder.attach(elector)
    elector.start()
    assert recorder.wait_for(["started"], timeout=4 * LEASE)
    with psycopg.connect(lock_db) as blocker:  # a transaction holding the row: heartbeats block on it
        blocker.execute("SELECT * FROM locks WHERE name = %s FOR UPDATE", (LOCK_NAME,))
        blocked = time.monotonic()
        assert until(lambda: not elector.is_leader(), timeout=LEASE)
        assert time.monotonic() - blocked < 0.9 * LEASE + 0.05  # before anyone else could take over
        assert recorder.wait_for(["started", "stopped"], timeout=LEASE)
        blocker.rollback()
    assert recorder.wait_for(["started", "stopped", "started"], timeout=6 * LEASE)


# --- Kubernetes only ----------------------------------------------------------------------------


def test_kubernetes_timings_that_cannot_work_are_refused() -> None:
    from kuma_cp.leader_kubernetes import KubernetesElector

    lock: Any = object()
    for timings, words in (
        ({"lease_duration": 1.0, "renew_deadline": 1.0}, "leaseDuration must be greater than renewDeadline"),
        ({"renew_deadline": 2.0, "retry_period": 2.0}, "renewDeadline must be greater than retryPeriod"),
        ({"renew_deadline": 2.0, "retry_period": 0.0}, "retryPeriod must be greater than zero"),
    ):
        with pytest.raises(ValueError, match=words):
            KubernetesElector(lock, instance_id="a", **timings)


def test_kubernetes_failures_are_logged_at_debug_three_times_then_as_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from kubernetes import client

    from kuma_cp.leader_kubernetes import KubernetesElector
    from kv.drivers.k8s.lease import Lease

    configuration = client.Configuration(
        host="https://127.0.0.1:1", api_key={"authorization": "Bearer s3cret"}
    )
    configuration.retries = 0
    api: Any = client.ApiClient(configuration)  # refused at once
    elector = KubernetesElector(Lease(api, "kuma-system", "cp-leader-lease"), instance_id="a", **K8S_FAST)
    caplog.set_level(logging.DEBUG, logger="kuma-cp.leader")

    def failures() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage().startswith("error acquiring lease")]

    elector.start()
    try:
        assert until(lambda: len(failures()) >= 5, timeout=10)
        assert not elector.is_leader()
    finally:
        elector.stop()
        api.close()
    assert [r.levelno for r in failures()[:5]] == [logging.DEBUG] * 3 + [logging.ERROR] * 2
    assert "kuma-system/cp-leader-lease: kubernetes unavailable" in failures()[0].getMessage()
    assert "s3cret" not in caplog.text


@pytest.mark.k8s
def test_the_lease_names_its_holder_and_counts_transitions(k8s_api: Any) -> None:
    backend = KubernetesBackend(k8s_api, f"lease-{uuid.uuid4().hex[:10]}")
    first, second = backend.make("cp-0"), backend.make("cp-1")
    try:
        first.start()
        assert first.leading.wait(4 * backend.lease)
        record = backend.lock.get()
        assert record is not None
        assert (record.holder_identity, record.lease_transitions) == ("cp-0", 0)
        assert record.lease_duration_seconds == 2  # whole seconds in the Lease: 1.5s rounded up
        acquired = record.acquire_time
        time.sleep(3 * K8S_FAST["retry_period"])
        renewed = backend.lock.get()
        assert renewed is not None
        assert renewed.acquire_time == acquired  # renewals keep the acquire time, move the renew time
        assert renewed.renew_time is not None
        assert record.renew_time is not None
        assert renewed.renew_time > record.renew_time
        second.start()
        first.stop()
        assert second.leading.wait(2 * backend.lease)
        taken = backend.lock.get()
        assert taken is not None
        # cp-0 handed it back (a transition), cp-1 took it from nobody: client-go counts that one too
        assert (taken.holder_identity, taken.lease_transitions) == ("cp-1", 1)
    finally:
        first.stop()
        second.stop()
    released = backend.lock.get()
    assert released is not None
    assert (released.holder_identity, released.lease_transitions) == ("", 1)


# --- kuma-cp run on Kubernetes ------------------------------------------------------------------------

E2E_LEASE, E2E_RETRY = 3.0, 2.0  # the retry period is controller-runtime's 2s; the renew deadline 2.5s


def _leader_gauge(plane: Any) -> float | None:
    value: float | None = plane.metric("leader")
    return value


@pytest.mark.k8s
def test_two_kuma_cp_on_one_cluster_one_leads_and_the_other_takes_over_when_it_is_killed(
    k8s_api: Any,
) -> None:
    import re
    import signal

    from kuma_cp.crds import crd_documents
    from kv.drivers.k8s.lease import Lease
    from tests.conftest import install_crds, k8s_kubeconfig
    from tests.kuma_cp.e2e import ControlPlane

    install_crds(k8s_kubeconfig(), crd_documents(with_schemas=False))
    namespace = f"kuma-lt-{uuid.uuid4().hex[:8]}"  # its own system namespace, so its own cp-leader-lease
    _ensure_namespace(k8s_api, namespace)
    env = {
        "KUMA_STORE_TYPE": "kubernetes",
        "KUBECONFIG": k8s_kubeconfig(),
        "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": namespace,
        "KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_LEASE_DURATION": f"{E2E_LEASE:g}s",
        "KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE": "2.5s",
    }
    planes = [ControlPlane(env), ControlPlane(env)]
    try:
        for plane in planes:
            plane.wait_ready(timeout=60)
        assert until(lambda: sorted(_leader_gauge(p) or 0.0 for p in planes) == [0.0, 1.0], timeout=10)
        for _ in range(4):  # exactly one, for a while
            assert sorted(_leader_gauge(p) or 0.0 for p in planes) == [0.0, 1.0]
            time.sleep(0.3)
        leader, follower = sorted(planes, key=lambda p: -(_leader_gauge(p) or 0.0))
        record = Lease(k8s_api, namespace, "cp-leader-lease").get()
        assert record is not None
        assert re.search(rf"instance {re.escape(record.holder_identity)} became the leader", leader.logs())
        leader.process.send_signal(signal.SIGKILL)  # no release: the follower waits out the lease
        leader.process.wait(5)
        killed = time.monotonic()
        # within a lease after the follower last saw a renewal, and its next attempt (jittered); loaded
        # CI machines answer slowly, hence the slack
        assert until(lambda: _leader_gauge(follower) == 1.0, timeout=E2E_LEASE + 2.2 * E2E_RETRY + 3)
        print(f"\nkuma-cp took over {time.monotonic() - killed:.2f}s after the leader was SIGKILLed")
        taken = Lease(k8s_api, namespace, "cp-leader-lease").get()
        assert taken is not None
        assert taken.holder_identity != record.holder_identity
        assert taken.lease_transitions == record.lease_transitions + 1
        assert f"instance {taken.holder_identity} became the leader" in follower.logs()
    finally:
        codes = [plane.stop() for plane in planes]
    assert codes[planes.index(follower)] == 0, follower.logs()
    released = Lease(k8s_api, namespace, "cp-leader-lease").get()
    assert released is not None
    assert released.holder_identity == ""  # the follower released it on its way out
