"""Leader election on a Kubernetes Lease: client-go's ``leaderelection`` algorithm, as Kuma runs it.

Kuma's Kubernetes control plane elects its leader through controller-runtime: the Lease
``cp-leader-lease`` in the system namespace, lease 15s, renew deadline 10s, retry period 2s. The
algorithm (client-go's ``tryAcquireOrRenew``) compares no clocks across machines:

- acquire, every retry period (plus up to 1.2 times it of jitter): create the Lease when there is none;
  take it when it names no holder, names this instance, or has not changed for a whole lease duration
  of *this instance's* monotonic time since it was first seen with its current record (its *observed
  time*). Taking it from another holder increments ``leaseTransitions``.
- renew, every retry period: write a new ``renewTime`` at the resourceVersion last read. A leader that
  has not renewed successfully within the renew deadline (counted from the start of its last successful
  renewal, which precedes the write every candidate's observed time counts from) stops leading; one
  that sees another holder in the Lease stops at once. Then it is a candidate again.
- release (client-go's ``ReleaseOnCancel``): on stop, write an empty holder so that another instance
  takes over at its next attempt rather than a lease later.

Kuma logs ``leader election lost`` and exits the process when it loses the lease (controller-runtime's
manager returns that error); here the instance steps down and rejoins the election (see the README).
Every call is bounded in time; `is_leader` is false once the renew deadline has passed since the last
successful renewal, even while a call hangs. Callbacks run on the elector's thread.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

from kuma_cp.leader import _QUIET_FAILURES, LeaderElector, _bounded
from kv.drivers.k8s.lease import LeaseRecord

__all__ = ["JITTER_FACTOR", "LEASE_NAME", "KubernetesElector", "LeaseLock"]

log = logging.getLogger("kuma-cp.leader")
JITTER_FACTOR = 1.2  # client-go's leaderelection.JitterFactor
LEASE_NAME = "cp-leader-lease"  # Kuma's LeaderElectionID: the Lease in the system namespace


class LeaseLock(Protocol):
    """What the elector needs of its lock (`kv.drivers.k8s.lease.Lease`)."""

    namespace: str
    name: str

    def get(self, *, timeout: float | None = None) -> LeaseRecord | None: ...  # noqa: D102
    def create(self, record: LeaseRecord, *, timeout: float | None = None) -> LeaseRecord: ...  # noqa: D102
    def update(self, record: LeaseRecord, *, timeout: float | None = None) -> LeaseRecord: ...  # noqa: D102


class KubernetesElector(LeaderElector):
    """client-go's leader election on the Lease *lock*. Start it once.

    Args:
        lock: the Lease (``KubernetesDriver.lease("cp-leader-lease")``).
        instance_id: this instance, written as the Lease's ``holderIdentity``.
        lease_duration: seconds candidates wait, after last seeing the record change, before taking over.
        renew_deadline: seconds the leader keeps trying to renew before it stops leading.
        retry_period: seconds between attempts to acquire or renew.
    """

    def __init__(
        self,
        lock: LeaseLock,
        *,
        instance_id: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
    ) -> None:
        if lease_duration <= renew_deadline:  # client-go's checks and words
            raise ValueError("leaseDuration must be greater than renewDeadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError("renewDeadline must be greater than retryPeriod*JitterFactor")
        if retry_period <= 0:
            raise ValueError("retryPeriod must be greater than zero")
        super().__init__()
        self.instance_id = instance_id
        self.lock = lock
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry = retry_period
        self._observed: LeaseRecord | None = None
        self._observed_time = 0.0  # monotonic: when the observed record was first seen
        self._valid_until = 0.0  # monotonic: the renew deadline of the last successful renewal
        self._failures = 0
        self._random = random.Random()  # its own: the global one is the application's (and Hypothesis')
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kuma-cp-leader", daemon=True)

    @property
    def _description(self) -> str:
        return f"{self.lock.namespace}/{self.lock.name}"

    def is_leader(self) -> bool:  # noqa: D102 - documented on LeaderElector
        return self.leading.is_set() and time.monotonic() < self._valid_until

    def start(self) -> None:  # noqa: D102
        log.info("starting Leader Elector (instance %s, lease %s)", self.instance_id, self._description)
        self._thread.start()

    def stop(self) -> None:
        """Stop leading (callbacks run), release the Lease so another instance takes over at once, stop.

        Returns within about a lease duration even when the API server hangs.
        """
        log.info("stopping Leader Elector")
        self._stopping.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self._lease_duration + 1.0)
        self._set_leader(False)

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                log.info("attempting to acquire leader lease %s...", self._description)
                if not self._acquire():
                    break
                if self._stopping.is_set():  # won while stopping: hand it straight back
                    break
                self._set_leader(True)
                log.info("successfully acquired lease %s (instance %s)", self._description, self.instance_id)
                self._renew()
                if not self._stopping.is_set():  # as Kuma, before the components stop
                    log.info("leader election lost, stopping (instance %s)", self.instance_id)
                self._set_leader(False)
            self._set_leader(False)
            self._release()
        finally:
            self._set_leader(False)
            log.info("Leader Elector stopped")

    def _failed(self, what: str, exc: BaseException) -> None:
        self._failures += 1
        level = logging.ERROR if self._failures > _QUIET_FAILURES else logging.DEBUG
        log.log(level, "%s %s: %s (retries %d)", what, self._description, exc, self._failures - 1)

    def _acquire(self) -> bool:
        """Try every retry period (jittered) until the Lease is ours: True; False when stopping."""
        while not self._stopping.is_set():
            if self._try_acquire_or_renew(self._renew_deadline):
                return True
            self._stopping.wait(self._retry * (1 + self._random.random() * JITTER_FACTOR))
        return False

    def _renew(self) -> None:
        """Renew every retry period; return when stopping, when the Lease is another's, or at the deadline."""
        while not self._stopping.wait(self._retry):
            while not self._stopping.is_set():
                remaining = self._valid_until - time.monotonic()
                if remaining <= 0:
                    log.info(
                        "failed to renew lease %s: timed out waiting for the condition", self._description
                    )
                    return
                if self._try_acquire_or_renew(remaining):
                    break
                if self._observed is not None and self._observed.holder_identity != self.instance_id:
                    log.info(
                        "the lease %s was taken over by %s", self._description, self._observed.holder_identity
                    )
                    return
                self._stopping.wait(min(self._retry, max(self._valid_until - time.monotonic(), 0.0)))

    def _observe(self, record: LeaseRecord, now: float) -> None:
        if not record.same_record(self._observed):
            self._observed_time = now
        self._observed = record

    def _try_acquire_or_renew(self, timeout: float) -> bool:
        """client-go's ``tryAcquireOrRenew``, each call bounded by *timeout* seconds in all."""
        started = time.monotonic()
        deadline = started + timeout
        wall = datetime.now(UTC)

        def left() -> float:
            return max(deadline - time.monotonic(), 0.01)

        desired = LeaseRecord(
            holder_identity=self.instance_id,
            lease_duration_seconds=math.ceil(self._lease_duration),
            acquire_time=wall,
            renew_time=wall,
        )
        try:
            current = _bounded(lambda: self.lock.get(timeout=left()), left(), "kubernetes")
            if current is None:
                created = _bounded(lambda: self.lock.create(desired, timeout=left()), left(), "kubernetes")
                return self._won(created, started)
            self._observe(current, time.monotonic())
            ours = current.holder_identity == self.instance_id
            expires = self._observed_time + self._lease_duration
            if current.holder_identity and not ours and time.monotonic() < expires:
                log.debug("lock is held by %s and has not yet expired", current.holder_identity)
                self._failures = 0
                return False
            desired = LeaseRecord(
                holder_identity=self.instance_id,
                lease_duration_seconds=desired.lease_duration_seconds,
                acquire_time=current.acquire_time if ours else wall,
                renew_time=wall,
                lease_transitions=current.lease_transitions + (0 if ours else 1),
                resource_version=current.resource_version,
            )
            updated = _bounded(lambda: self.lock.update(desired, timeout=left()), left(), "kubernetes")
        except Exception as exc:
            self._failed(
                "error acquiring or renewing lease" if self.leading.is_set() else "error acquiring lease", exc
            )
            return False
        return self._won(updated, started)

    def _won(self, record: LeaseRecord, started: float) -> bool:
        self._failures = 0
        self._observe(record, time.monotonic())
        self._valid_until = started + self._renew_deadline
        return True

    def _release(self) -> None:
        """Hand the Lease back (an empty holder), if this instance was its last known holder."""
        held = self._observed
        if held is None or held.holder_identity != self.instance_id:
            return
        wall = datetime.now(UTC)
        released = LeaseRecord(
            lease_duration_seconds=1,
            acquire_time=wall,
            renew_time=wall,
            lease_transitions=held.lease_transitions,
            resource_version=held.resource_version,
        )
        timeout = self._renew_deadline
        try:
            _bounded(lambda: self.lock.update(released, timeout=timeout), timeout, "kubernetes")
        except Exception as exc:
            log.debug("could not release lease %s: %s", self._description, exc)
        else:
            self._observed = None
            log.info("released lease %s", self._description)
