"""`Store`: the one front door to a driver.

The store checks every argument once (key grammar and scope, labels, JSON, timestamps, page tokens)
before a driver runs, so that all backends accept exactly the same records and fail with the same
errors. It also builds, once, what drivers need not: version checks on get, page tokens, and decoding
spec and status into fresh objects for each caller.

Rows become records in `kv.reading`, which judges stored content for every driver: a get of a row that
cannot be read raises `Corrupt`, a listing leaves it out and still fills the page (see `Store.list`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import attrs

from kv import codec, names
from kv.driver import Driver, Query, Row
from kv.errors import AlreadyExists, Conflict, Corrupt, Invalid, quote
from kv.events import Subscription
from kv.model import Catalog, Key, Page, Record
from kv.reading import Reader, record_of

__all__ = ["Store"]

_OFFSET = re.compile(r"[+-]?[0-9]+")
MAX_OFFSET = 2**31 - 1
MAX_SCOPES_CHECKED = 4096


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_offset(token: str | None) -> int:
    """Parse a page token (a decimal index, as Kuma's); bad tokens are `Invalid` with Kuma's reasons."""
    if token is None or token == "":
        return 0
    if not isinstance(token, str) or not _OFFSET.fullmatch(token):
        raise Invalid(f"invalid offset: strconv.Atoi: parsing {quote(str(token))}: invalid syntax")
    offset = int(token)
    if offset < 0:
        raise Invalid("invalid offset: must be non-negative")
    if offset > MAX_OFFSET:
        raise Invalid("invalid offset: exceeds maximum value")
    return offset


class Store:
    """A versioned record store over a `kv.driver.Driver`. Thread-safe; share one per process.

    Args:
        driver: the backend.
        catalog: the accepted record types and free-text label keys (default: any type, unscoped).
        clock: where timestamps come from when a caller gives none (timezone-aware UTC).
        on_corrupt: called once per version of each unreadable record met (also the attribute of that
            name, which may be set later); it must not block.
    """

    def __init__(
        self,
        driver: Driver,
        *,
        catalog: Catalog | None = None,
        clock: Callable[[], datetime] = _utcnow,
        on_corrupt: Callable[[Corrupt], None] | None = None,
    ) -> None:
        self.driver = driver
        self.catalog = catalog or Catalog()
        self._clock = clock
        self._scopes_checked: set[tuple[str, str]] = set()  # (type, mesh) pairs found valid
        self._reader = Reader(on_corrupt)

    @property
    def on_corrupt(self) -> Callable[[Corrupt], None] | None:
        """Called once per version of each unreadable record met (see `kv.reading.Reader`)."""
        return self._reader.on_corrupt

    @on_corrupt.setter
    def on_corrupt(self, hook: Callable[[Corrupt], None] | None) -> None:
        self._reader.on_corrupt = hook

    def _key(self, key: object) -> Key:
        """`names.check_key`, remembering valid (type, mesh) pairs so that only the name is checked again."""
        if type(key) is Key and (key.type, key.mesh) in self._scopes_checked:
            names.check_name(key.name)
            return key
        checked = names.check_key(self.catalog, key)
        if type(key) is Key and len(self._scopes_checked) < MAX_SCOPES_CHECKED:
            self._scopes_checked.add((key.type, key.mesh))
        return checked

    def _content(
        self, record: Record, labels: Mapping[str, str] | None
    ) -> tuple[Key, str, str, dict[str, str]]:
        if not isinstance(record, Record):
            raise Invalid(f"expected a kv.Record, not {type(record).__name__}")
        return (
            self._key(record.key),
            codec.encode("spec", record.spec),
            codec.encode("status", record.status),
            names.check_labels(self.catalog, record.labels if labels is None else labels),
        )

    def create(
        self,
        record: Record,
        *,
        owner: Key | None = None,
        creation_time: datetime | None = None,
        modification_time: datetime | None = None,
    ) -> Record:
        """Store a new record and return it as stored, with its first version.

        The creation time is *creation_time*, else ``record.creation_time``, else now; the modification
        time is *modification_time* (a restore keeps the one it had), else the creation time. The owner
        is *owner*, else ``record.owner``; deleting the owner deletes this record.

        Raises:
            AlreadyExists: the key is taken; nothing changed.
            NotFound: the owner does not exist; nothing changed.
            Invalid: the record can never be stored (see `kv.names`).
        """
        key, spec, status, checked_labels = self._content(record, None)
        owner = owner if owner is not None else record.owner
        when = creation_time if creation_time is not None else record.creation_time
        ctime = self._clock() if when is None else names.utc("creation time", when)
        mtime = ctime if modification_time is None else names.utc("modification time", modification_time)
        if owner == key:  # an owner exists before what it owns (a self-referencing FK would allow it)
            self.driver.get(key)  # NotFound, as for any missing owner, unless the key is taken:
            raise AlreadyExists.of(key)
        row = Row(
            key=key,
            spec=spec,
            status=status,
            labels=checked_labels,
            creation_time=ctime,
            modification_time=mtime,
            owner=None if owner is None else names.check_owner(self.catalog, owner),
        )
        return record_of(self.driver.create(row))

    def update(
        self,
        record: Record,
        *,
        modification_time: datetime | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Record:
        """Replace spec, status and labels of a record iff it is still at ``record.version``.

        Labels are *labels* if given (``{}`` clears them), else ``record.labels``. The modification time
        is *modification_time*, else now. Creation time and owner never change.

        Raises:
            Conflict: the record changed since it was read, or no longer exists, or the record has no
                version. Read it again and retry.
            Invalid: the new content can never be stored.
        """
        key, spec, status, checked_labels = self._content(record, labels)
        if not record.version:
            raise Conflict.of(key)
        if modification_time is None:
            mtime = self._clock()
        else:
            mtime = names.utc("modification time", modification_time)
        row = self.driver.update(
            key,
            spec=spec,
            status=status,
            labels=checked_labels,
            modification_time=mtime,
            expected=record.version,
        )
        return record_of(row)

    def delete(self, type: str, mesh: str, name: str, *, version: str | None = None) -> None:
        """Delete a record and, recursively, every record it owns; with *version*, only at that version.

        Raises:
            NotFound: there is no such record (a wrong mesh included).
            Conflict: *version* is given and the record is at another one; nothing was deleted.
        """
        self.driver.delete(self._key(Key(type, mesh, name)), expected=version)

    def get(
        self,
        type: str,
        mesh: str,
        name: str,
        *,
        version: str | None = None,
        consistent: bool = False,
    ) -> Record:
        """Return a record; *consistent* reads where writes go (never a read replica).

        Raises:
            NotFound: there is no such record.
            Conflict: *version* is given and the record is at another one.
            Corrupt: the record cannot be read; it can still be deleted, or updated at ``Corrupt.version``.
        """
        key = self._key(Key(type, mesh, name))
        row = self.driver.get(key, consistent=consistent)
        if version is not None and row.version != version:
            raise Conflict.of(key)
        return self._reader.record(row)

    def list(
        self,
        type: str,
        *,
        mesh: str | None = None,
        name_contains: str | None = None,
        keys: Iterable[Key] | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        offset: str | None = None,
    ) -> Page:
        """List records of a type, ordered by (mesh, name), leaving out those that cannot be read.

        Offsets and ``total`` count stored records, readable or not: ``total`` is how many match the
        filters, unreadable ones included (so it may exceed the items of all pages together). A page
        still holds *page_size* readable records while more follow (the store reads on past the
        unreadable ones), and its ``next_offset`` points just after the last record it read.

        Args:
            type: the record type.
            mesh: only this mesh (None or ``""``: every mesh).
            name_contains: only names containing this literal substring.
            keys: only these keys (all of *type*).
            labels: only records carrying all these labels with these values.
            page_size: at most this many items (0: all, and *offset* is ignored).
            offset: the ``next_offset`` of the previous page.

        Raises:
            Invalid: a bad filter, page size or offset.
        """
        names.check_type(self.catalog, type)
        if mesh:
            names.check_mesh(None, mesh)
        if name_contains is not None and not isinstance(name_contains, str):
            raise Invalid("name_contains must be a string")
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 0:
            raise Invalid(f"page size must be a non-negative integer, got {page_size!r}")
        start = parse_offset(offset)
        if name_contains and "\0" in name_contains:  # no name holds NUL, and PostgreSQL refuses it in text
            return Page((), 0, "")
        query = Query(
            type=type,
            mesh=mesh or None,
            name_contains=name_contains or None,
            keys=None if keys is None else self._key_set(type, keys),
            labels=None if not labels else names.check_labels(self.catalog, labels),
            offset=start if page_size else 0,
            limit=page_size or None,
        )
        rows, total = self.driver.list(query)
        items = self._reader.records(rows)
        end = start + page_size
        # Some rows could not be read: read on, just as many more, until the page is full or none follow.
        while page_size and len(items) < page_size and end < total:
            missing = page_size - len(items)
            rows, total = self.driver.list(attrs.evolve(query, offset=end, limit=missing))
            if not rows:
                break
            items += self._reader.records(rows)
            end += missing
        return Page(items, total, str(end) if page_size and end < total else "")

    @staticmethod
    def _key_set(type_name: str, keys: Iterable[Any]) -> frozenset[tuple[str, str]]:
        chosen = set()
        for key in keys:
            if not isinstance(key, Key) or key.type != type_name:
                raise Invalid(f"keys must be kv.Key values of type {quote(type_name)}, got {key!r}")
            chosen.add((key.mesh, key.name))
        return frozenset(chosen)

    def transaction(self) -> AbstractContextManager[None]:
        """Operations inside (in this thread) commit together, or roll back on any exception.

        Postgres only; on memory and Kubernetes the operations apply one by one, as in Kuma.
        """
        return self.driver.transaction()

    def subscribe(self, *, buffer: int = 100) -> Subscription:
        """Receive a `ResourceChanged` for every committed change, in commit order, until closed."""
        subscription = Subscription(buffer)
        subscription.attach(self.driver.subscribe(subscription))
        return subscription

    def close(self) -> None:
        """Close the driver."""
        self.driver.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
