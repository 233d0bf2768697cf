"""A coordination.k8s.io/v1 Lease used as a lock, as client-go's ``resourcelock.LeaseLock`` uses one.

`Lease` reads the lock's record (`LeaseRecord`: the holder, its lease and when it was acquired and last
renewed, how many times it changed hands) with the object's resourceVersion, creates it, and replaces it
at the resourceVersion it was read at, so that of two candidates writing after the same read, only one
succeeds (409 → `Conflict`). The algorithm that uses it is the caller's (``kuma_cp.leader_kubernetes``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
from kubernetes import client

from kv.drivers.k8s.errors import translate_errors
from kv.errors import NotFound, quote
from kv.model import Key

__all__ = ["Lease", "LeaseRecord"]

_MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime, as the API server stores it


def _format(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).strftime(_MICRO_TIME)


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # written by someone else in a form Python does not read: not a time we know
        return None


@attrs.frozen(kw_only=True)
class LeaseRecord:
    """client-go's ``LeaderElectionRecord`` and the resourceVersion of the Lease it was read from.

    Equality (`same_record`) leaves out the version: client-go compares records, not objects.
    """

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    lease_transitions: int = 0
    resource_version: str = ""
    """The Lease's resourceVersion when read ("" for a record not read from the API server)."""

    def same_record(self, other: LeaseRecord | None) -> bool:
        """Whether *other* holds the same record (whatever the object's version)."""
        return other is not None and attrs.evolve(other, resource_version=self.resource_version) == self

    def spec(self) -> dict[str, Any]:
        """The Lease's ``spec``, as client-go's LeaseLock writes it."""
        return {
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": _format(self.acquire_time),
            "renewTime": _format(self.renew_time),
            "leaseTransitions": self.lease_transitions,
        }

    @classmethod
    def of(cls, obj: dict[str, Any]) -> LeaseRecord:
        """The record of a Lease object (as JSON); missing fields read as client-go reads them."""
        spec = obj.get("spec") or {}

        def integer(field: str) -> int:
            value = spec.get(field)
            return value if isinstance(value, int) else 0

        holder = spec.get("holderIdentity")
        return cls(
            holder_identity=holder if isinstance(holder, str) else "",
            lease_duration_seconds=integer("leaseDurationSeconds"),
            acquire_time=_parse(spec.get("acquireTime")),
            renew_time=_parse(spec.get("renewTime")),
            lease_transitions=integer("leaseTransitions"),
            resource_version=str((obj.get("metadata") or {}).get("resourceVersion") or ""),
        )


class Lease:
    """The Lease *name* in *namespace*, as a lock.

    Args:
        api: the client to call through.
        namespace: the Lease's namespace (Kuma's system namespace), which must exist.
        name: the Lease's name (Kuma's ``cp-leader-lease``).
        timeout: the default (connect, read) timeout of every call, in seconds.
        before_call: called before every request (the client-side rate limiter).
    """

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        name: str,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        before_call: Callable[[], None] | None = None,
    ) -> None:
        self._leases: Any = client.CoordinationV1Api(api)  # the client's annotations are partial
        self.namespace = namespace
        self.name = name
        self._timeout = timeout
        self._before_call = before_call
        self._key = Key("Lease", "", name)

    def __repr__(self) -> str:
        return f"Lease({self.namespace}/{self.name})"

    def _call(self, method: Callable[..., Any], *args: Any, timeout: float | None) -> Any:
        """*method*'s answer as JSON (no model objects: a Lease is small and read field by field)."""
        if self._before_call is not None:
            self._before_call()
        limit = self._timeout if timeout is None else (min(self._timeout[0], timeout), timeout)
        response = method(*args, _request_timeout=limit, _preload_content=False)
        return json.loads(response.data or b"{}")

    def get(self, *, timeout: float | None = None) -> LeaseRecord | None:
        """The lock's record, or None when there is no Lease; *timeout* (seconds) overrides the default."""
        try:
            with translate_errors(self._key):
                obj = self._call(
                    self._leases.read_namespaced_lease, self.name, self.namespace, timeout=timeout
                )
        except NotFound:
            return None
        return LeaseRecord.of(obj)

    def _body(self, record: LeaseRecord, *, with_version: bool) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if with_version:
            metadata["resourceVersion"] = record.resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": record.spec(),
        }

    def create(self, record: LeaseRecord, *, timeout: float | None = None) -> LeaseRecord:
        """Create the Lease with *record*; `AlreadyExists` when another candidate created it first.

        Raises `NotFound` when the namespace does not exist: namespaces are the operator's (Kuma's RBAC
        grants no namespace creation), as for every object the driver writes.
        """
        body = self._body(record, with_version=False)
        try:
            with translate_errors(self._key):
                created = self._call(
                    self._leases.create_namespaced_lease, self.namespace, body, timeout=timeout
                )
        except NotFound:
            raise NotFound(
                f"the namespace {quote(self.namespace)} of the Lease does not exist", key=self._key
            ) from None
        return LeaseRecord.of(created)

    def update(self, record: LeaseRecord, *, timeout: float | None = None) -> LeaseRecord:
        """Replace the Lease's record where it is still at ``record.resource_version``.

        Raises `Conflict` when it moved on (or was deleted) since it was read.
        """
        body = self._body(record, with_version=True)
        with translate_errors(self._key, conflict_when_missing=True):
            replaced = self._call(
                self._leases.replace_namespaced_lease, self.name, self.namespace, body, timeout=timeout
            )
        return LeaseRecord.of(replaced)
