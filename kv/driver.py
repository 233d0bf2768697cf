"""The contract between `kv.Store` and a storage backend.

A driver implements only primitives. Everything a caller could get wrong is checked by the `Store`
before a driver is called (key grammar, scope, labels, JSON, timestamps, offsets), and everything that
can be built once from primitives is built in the store (version checks on get, page tokens, decoding
and copying). `kv.testing` turns each sentence of this contract into a named check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from attrs import frozen

from kv.model import Key, ResourceChanged

__all__ = ["Driver", "Listener", "Query", "Row"]

Listener = Callable[[ResourceChanged], None]


@frozen(kw_only=True)
class Row:
    """A record as drivers see it: spec and status are JSON text, already validated by the store.

    Drivers may keep and return the same `Row` objects: the store never mutates them or their labels.
    """

    key: Key
    spec: str
    status: str
    labels: Mapping[str, str]
    creation_time: datetime
    modification_time: datetime
    owner: Key | None = None
    version: str = ""


@frozen(kw_only=True)
class Query:
    """A listing request.

    Attributes:
        type: only records of this type.
        mesh: only records in this mesh (None: every mesh).
        name_contains: only records whose name contains this literal substring (None: any).
        keys: only records whose (mesh, name) is in this set (None: any).
        labels: only records that have every one of these labels with these values (None: any).
        offset: skip this many matching records.
        limit: return at most this many (None: all).
    """

    type: str
    mesh: str | None = None
    name_contains: str | None = None
    keys: frozenset[tuple[str, str]] | None = None
    labels: Mapping[str, str] | None = None
    offset: int = 0
    limit: int | None = None

    def matches(self, row: Row) -> bool:
        """Whether a row of this query's type passes the filters."""
        key = row.key
        return (
            (self.mesh is None or key.mesh == self.mesh)
            and (self.name_contains is None or self.name_contains in key.name)
            and (self.keys is None or (key.mesh, key.name) in self.keys)
            and (self.labels is None or all(row.labels.get(k) == v for k, v in self.labels.items()))
        )


class Driver(Protocol):
    """A storage backend. Every method raises only `kv.KVError` subclasses.

    Required behaviour, each one a check in `kv.testing`:

    - ``create`` stores *row* with a new version and returns the stored row. If the key is taken it
      raises `AlreadyExists` and changes nothing; if ``row.owner`` names no stored record it raises
      `NotFound` and changes nothing.
    - ``update`` replaces spec, status, labels and modification time of the record at *key* iff its
      version equals *expected*, and returns the stored row with a version never used before for that
      record. Creation time and owner are kept. A missing record or another version: `Conflict`.
    - ``delete`` removes the record and, recursively, every record it owns; a missing one: `NotFound`.
      With *expected*, only if the record is at that version, atomically; else `Conflict`.
    - ``get`` returns the stored row; a missing one: `NotFound`. With *consistent*, it reads from where
      writes go (no read replica).
    - ``list`` returns the rows matching *query* ordered by (mesh, name) byte-wise, sliced by offset and
      limit, and the number of matching rows before slicing.
    - ``subscribe`` calls *listener* with a `ResourceChanged` after each committed change (including
      cascaded deletes) until the returned function is called. Listeners must not block.
    - ``transaction`` returns a context manager inside which this thread's operations commit together,
      or roll back together on any exception. A driver without transactions returns one that does
      nothing (as Kuma's memory and Kubernetes stores); the operations then apply one by one.
    - ``close`` releases connections; the driver is not used afterwards.
    - A store is shared by many threads: every method is thread-safe and ``update`` is an atomic
      compare-and-set.
    """

    name: str

    def create(self, row: Row) -> Row: ...  # noqa: D102 - the class docstring is the contract

    def update(  # noqa: D102
        self,
        key: Key,
        *,
        spec: str,
        status: str,
        labels: Mapping[str, str],
        modification_time: datetime,
        expected: str,
    ) -> Row: ...

    def delete(self, key: Key, *, expected: str | None = None) -> None: ...  # noqa: D102

    def get(self, key: Key, *, consistent: bool = False) -> Row: ...  # noqa: D102

    def list(self, query: Query) -> tuple[Sequence[Row], int]: ...  # noqa: D102

    def subscribe(self, listener: Listener) -> Callable[[], None]: ...  # noqa: D102

    def transaction(self) -> AbstractContextManager[None]: ...  # noqa: D102

    def close(self) -> None: ...  # noqa: D102


def page(rows: Sequence[Row], query: Query) -> tuple[Sequence[Row], int]:
    """Filter and slice *rows*, already of the query's type and sorted by (mesh, name).

    For drivers that filter in memory (memory, Kubernetes): the one implementation of the list
    semantics, so that they cannot drift apart.
    """
    if any(f is not None for f in (query.mesh, query.name_contains, query.keys, query.labels)):
        rows = [row for row in rows if query.matches(row)]
    end = None if query.limit is None else query.offset + query.limit
    return rows[query.offset : end], len(rows)
