"""The check registry, the record types the checks use, and small assertion helpers (no pytest)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from attrs import frozen

from kv.errors import KVError
from kv.model import Catalog, Key, Record, RecordType, Scope
from kv.store import Store

__all__ = ["CHECKS", "Check", "StoreFactory", "Types", "check", "raises", "run_check"]

StoreFactory = Callable[[], Store]
E = TypeVar("E", bound=KVError)


@frozen
class Types:
    """The record types the checks create, so a driver can run them with the types it supports.

    Defaults are generic; the Kuma run uses Mesh, MeshExternalService, MeshService and Secret (the
    types of Kuma's own store tests).

    Attributes:
        owner: a global type that owns others (Kuma: Mesh).
        item: a mesh-scoped type (Kuma: MeshExternalService).
        with_status: a mesh-scoped type that has a status (Kuma: MeshService).
        secret: another mesh-scoped type, owned like Kuma's Secrets (Kuma: Secret).
    """

    owner: str = "Tenant"
    item: str = "Widget"
    with_status: str = "Gauge"
    secret: str = "Token"

    def catalog(self) -> Catalog:
        """A catalog registering exactly these types."""
        mesh_types = (self.item, self.with_status, self.secret)
        return Catalog.of([RecordType(self.owner, Scope.GLOBAL)] + [RecordType(t) for t in mesh_types])


@frozen
class Check:
    """One named obligation of the driver contract.

    Attributes:
        name: the check's name (its function's).
        run: the check; it gets a fresh, empty store and the types to use.
        kuma_case: the number of the Kuma store test case it ports (see the module docs), if any.
    """

    name: str
    run: Callable[[Store, Types], None]
    kuma_case: int | None = None

    @property
    def doc(self) -> str:
        """The check's docstring: the sentence of the contract it proves."""
        return (self.run.__doc__ or "").strip()


CHECKS: list[Check] = []


def check(*, kuma: int | None = None) -> Callable[[Callable[[Store, Types], None]], Check]:
    """Register a check function in `CHECKS`."""

    def register(fn: Callable[[Store, Types], None]) -> Check:
        registered = Check(fn.__name__, fn, kuma)
        CHECKS.append(registered)
        return registered

    return register


def run_check(one: Check, factory: StoreFactory, types: Types | None = None) -> None:
    """Run one check on a fresh store from *factory*."""
    one.run(factory(), types or Types())


@contextmanager
def raises(kind: type[E], message: str | None = None) -> Iterator[list[E]]:
    """Expect exactly *kind* (not a parent, not a sibling) and, if given, exactly *message*."""
    caught: list[E] = []
    try:
        yield caught
    except KVError as exc:
        if type(exc) is not kind:
            raise AssertionError(f"expected {kind.__name__}, got {type(exc).__name__}: {exc}") from exc
        if message is not None and str(exc) != message:
            raise AssertionError(f"expected message {message!r}, got {str(exc)!r}") from exc
        caught.append(exc)
    else:
        raise AssertionError(f"expected {kind.__name__}, nothing was raised")


MESH = "default-mesh"
NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
SECOND = timedelta(seconds=1)

# The spec of Kuma's test helper createResource: a MeshExternalService on demo.example.com:80.
ITEM_SPEC: dict[str, Any] = {
    "match": {"type": "HostnameGenerator", "port": 80, "protocol": "http"},
    "endpoints": [{"address": "demo.example.com", "port": 80}],
}


def item(
    store: Store,
    types: Types,
    name: str,
    *,
    mesh: str = MESH,
    labels: dict[str, str] | None = None,
    owner: Key | None = None,
) -> Record:
    """Create an item as Kuma's ``createResource`` helper does, and return it as stored."""
    record = Record(key=Key(types.item, mesh, name), spec=ITEM_SPEC, labels=labels or {})
    return store.create(record, owner=owner, creation_time=NOW)


def owner(store: Store, types: Types, name: str = MESH) -> Record:
    """Create the owner record (Kuma: the Mesh) the owner checks hang everything on."""
    return store.create(Record(key=Key(types.owner, "", name)), creation_time=NOW)
