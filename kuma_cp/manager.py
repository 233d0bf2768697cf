"""The resource manager: Kuma's rules above the store, used by the HTTP API and the default resources.

- A mesh-scoped resource can only be created in an existing Mesh (``mesh of name X is not found``), and
  is owned by that Mesh, so deleting the Mesh deletes it (a MeshInsight is owned by the Mesh it describes).
- Timestamps come from here: creation time on create, modification time on every update.
- A Mesh that still has Dataplanes is not deleted unless ``store.unsafeDelete``.
- Every spec written is checked by its type's definition (`kuma_cp.specs`: defaulting, the OpenAPI
  checks, Go's decoding, the type's validator) and stored as Kuma would store it; a refused spec is
  `InvalidSpec` (a `kv.Invalid`) and nothing is written. The HTTP API, which has already run the same
  pipeline to answer in Kuma's words, says so with ``checked=True``.
- `upsert` is Kuma's read-modify-write with conflict retry: exponential backoff from
  ``store.upsert.conflictRetryBaseBackoff`` with ``conflictRetryJitterPercent`` jitter, at most
  ``conflictRetryMaxTimes`` retries; a create that races another create (AlreadyExists) is retried too.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

import kv
from kuma_cp import specs
from kuma_cp.config import StoreConfig, UpsertConfig
from kuma_cp.resources import ResourceType

__all__ = ["InvalidSpec", "MeshHasDataplanes", "MeshNotFound", "ResourceManager", "SkipUpsert", "owner_of"]

log = logging.getLogger("kuma-cp.manager")


class MeshNotFound(kv.NotFound):
    """A mesh-scoped resource names a Mesh that does not exist: ``mesh of name X is not found``."""

    def __init__(self, mesh: str) -> None:
        super().__init__(f"mesh of name {mesh} is not found", key=kv.Key("Mesh", "", mesh))
        self.mesh = mesh


class MeshHasDataplanes(kv.Invalid):
    """A Mesh with Dataplanes cannot be deleted (unless ``store.unsafeDelete``)."""

    def __init__(self, mesh: str) -> None:
        super().__init__(
            "unable to delete mesh, there are still some dataplanes attached", key=kv.Key("Mesh", "", mesh)
        )


class InvalidSpec(kv.Invalid):
    """A spec its type's definition refuses; ``violations`` are Kuma's (field, reason) pairs."""

    def __init__(self, key: kv.Key, reason: str, violations: list[tuple[str, str]]) -> None:
        super().__init__(f"{key.type} {key.name!r} is not valid: {reason}", key=key)
        self.violations = violations


def checked_spec(key: kv.Key, spec: Mapping[str, Any], labels: Mapping[str, str]) -> Mapping[str, Any]:
    """*spec* as its type's definition stores it; `InvalidSpec` when refused."""
    definition = specs.lookup(key.type)
    if definition is None:
        return spec
    meta = specs.Meta(name=key.name, mesh=key.mesh, labels=labels)
    try:
        return definition.check(dict(spec), meta)
    except specs.SchemaInvalid as exc:
        violations = specs.schema_violations(exc.messages)
    except specs.Undecodable as exc:
        raise InvalidSpec(key, exc.reason, []) from None
    except specs.SpecInvalid as exc:
        violations = exc.violations
    reason = "; ".join(f"{f}: {m}" if f else m for f, m in violations)
    raise InvalidSpec(key, reason, violations) from None


def owner_of(rtype: ResourceType, mesh: str, name: str) -> kv.Key | None:
    """The Mesh owning a resource: its mesh, or for a MeshInsight the Mesh it describes; None if global."""
    if rtype.name == "MeshInsight":
        return kv.Key("Mesh", "", name)
    if rtype.scope is kv.Scope.MESH:
        return kv.Key("Mesh", "", mesh)
    return None


class SkipUpsert(Exception):
    """Raised by an upsert function to leave the resource as it is."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.define
class ResourceManager:
    """Kuma's resource manager over a kv store (anything with kv.Store's methods)."""

    store: Any
    config: StoreConfig = attrs.field(factory=StoreConfig)
    clock: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], None] = time.sleep

    def get(self, rtype: ResourceType, mesh: str, name: str, *, version: str | None = None) -> kv.Record:
        """The resource, or `kv.NotFound`."""
        return self.store.get(rtype.name, mesh, name, version=version)  # type: ignore[no-any-return]

    def list(
        self,
        rtype: ResourceType,
        *,
        mesh: str | None = None,
        name_contains: str | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        offset: str | None = None,
    ) -> kv.Page:
        """A page of resources ordered by (mesh, name)."""
        return self.store.list(  # type: ignore[no-any-return]
            rtype.name,
            mesh=mesh,
            name_contains=name_contains,
            labels=labels,
            page_size=page_size,
            offset=offset,
        )

    def _owner(self, rtype: ResourceType, mesh: str, name: str) -> kv.Key | None:
        owner = owner_of(rtype, mesh, name)
        if owner is None:
            return None
        try:
            self.store.get(owner.type, owner.mesh, owner.name)
        except kv.NotFound:
            raise MeshNotFound(owner.name) from None
        return owner

    def create(
        self,
        rtype: ResourceType,
        mesh: str,
        name: str,
        *,
        spec: Mapping[str, Any],
        status: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        checked: bool = False,
    ) -> kv.Record:
        """Create a resource, owned by its Mesh; `MeshNotFound` when the Mesh does not exist."""
        key = kv.Key(rtype.name, mesh, name)
        if not checked:
            spec = checked_spec(key, spec, labels or {})
        owner = self._owner(rtype, mesh, name)
        record = kv.Record(key=key, spec=spec, status=status or {}, labels=labels or {})
        return self.store.create(record, owner=owner, creation_time=self.clock())  # type: ignore[no-any-return]

    def update(
        self, record: kv.Record, *, labels: Mapping[str, str] | None = None, checked: bool = False
    ) -> kv.Record:
        """Update a resource read earlier (its version must still be current); mtime is now."""
        if not checked:
            spec = checked_spec(record.key, record.spec, record.labels if labels is None else labels)
            record = attrs.evolve(record, spec=spec)
        return self.store.update(record, modification_time=self.clock(), labels=labels)  # type: ignore[no-any-return]

    def delete(self, rtype: ResourceType, mesh: str, name: str, *, version: str | None = None) -> None:
        """Delete a resource and all it owns (with *version*: only at that version, else `kv.Conflict`).

        A Mesh with Dataplanes is refused unless ``store.unsafeDelete``.
        """
        unsafe = self.config.unsafe_delete
        if rtype.name == "Mesh" and not unsafe and self.store.list("Dataplane", mesh=name, page_size=1).total:
            raise MeshHasDataplanes(name)
        self.store.delete(rtype.name, mesh, name, version=version)

    def upsert(
        self, rtype: ResourceType, mesh: str, name: str, change: Callable[[kv.Record | None], kv.Record]
    ) -> kv.Record | None:
        """Create or update with *change* (given the current record or None), retrying lost races.

        *change* returns the record to write (its key is ignored) or raises `SkipUpsert`. Returns what
        was written, or None when skipped.
        """
        return _retrying(self.config.upsert, self.sleep, lambda: self._upsert_once(rtype, mesh, name, change))

    def _upsert_once(
        self, rtype: ResourceType, mesh: str, name: str, change: Callable[[kv.Record | None], kv.Record]
    ) -> kv.Record | None:
        try:
            current: kv.Record | None = self.store.get(rtype.name, mesh, name, consistent=True)
        except kv.NotFound:
            current = None
        try:
            wanted = change(current)
        except SkipUpsert:
            return None
        if current is None:
            return self.create(
                rtype, mesh, name, spec=wanted.spec, status=wanted.status, labels=wanted.labels
            )
        updated = attrs.evolve(current, spec=wanted.spec, status=wanted.status)
        return self.update(updated, labels=wanted.labels)


def _retrying(
    config: UpsertConfig, sleep: Callable[[float], None], attempt: Callable[[], kv.Record | None]
) -> kv.Record | None:
    backoff = config.conflict_retry_base_backoff.total_seconds()
    for retry in range(config.conflict_retry_max_times + 1):
        try:
            return attempt()
        except (kv.Conflict, kv.AlreadyExists):
            if retry == config.conflict_retry_max_times:
                raise
            jitter = backoff * config.conflict_retry_jitter_percent / 100
            sleep(max(0.0, backoff + random.uniform(-jitter, jitter)))
            backoff *= 2
            log.debug("upsert lost a race; retry %d", retry + 1)
    raise AssertionError("unreachable")  # pragma: no cover
