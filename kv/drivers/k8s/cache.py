"""What the driver has seen of one kind: its objects as records, indexed for get, pages and owners.

A `KindCache` is filled by its kind's informer (`kv.drivers.k8s.informer`) from a LIST and then WATCH
events, and by the driver's own writes as they return (write-through), so a write is visible to the next
read in the same process without waiting for its watch event. Nothing in it ever moves backwards:

- an object is replaced only by a newer resourceVersion of it (a late watch event of an older version,
  or a write-through of a version the watch has already passed, changes nothing);
- an object this process deleted leaves a tombstone (its uid), so an older event of it still on its way
  cannot bring it back; the watch's DELETED event, or a LIST without it, retires the tombstone;
- a re-LIST (after a 410 Gone) replaces the contents, except for objects known to be newer than the
  list and for tombstoned ones.

resourceVersions are compared as integers (etcd revisions, as every API server in practice sends them);
one that is not an integer counts as newer than anything, so it is never ignored.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable, Sequence

from attrs import frozen

from kv.driver import Query, Row
from kv.index import Ident, Table

__all__ = ["Entry", "KindCache", "revision_of"]

_GONE = 4096  # uids of the latest deletions seen by the watch that are remembered


def revision_of(version: str) -> int:
    """A resourceVersion as an integer to compare; a non-integer one is newer than any."""
    return int(version) if version.isdigit() else 1 << 62


@frozen(kw_only=True)
class Entry:
    """One object as the cache keeps it: its record and what writes and owner lookups need of it.

    Attributes:
        row: the record the object holds.
        namespace: the object's namespace (None: cluster-scoped).
        name: the object's name.
        uid: the object's uid.
        owners: the uids of the objects that own it (ownerReferences and kv's owner-uid label).
        owner_uid: the uid in kv's owner-uid label (kept on update).
        references: the object's ownerReferences, as they are (kept on update).
    """

    row: Row
    namespace: str | None
    name: str
    uid: str
    owners: tuple[str, ...] = ()
    owner_uid: str | None = None
    references: tuple[dict[str, object], ...] = ()

    @property
    def ident(self) -> Ident:
        """Where the record is: (mesh, name)."""
        return (self.row.key.mesh, self.row.key.name)

    @property
    def revision(self) -> int:
        """The object's resourceVersion, to compare."""
        return revision_of(self.row.version)


class KindCache:
    """The objects of one kind; thread-safe. `synced` is set once a first LIST has filled it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table = Table()
        self._entries: dict[Ident, Entry] = {}
        self._objects: dict[tuple[str | None, str], Ident] = {}  # (namespace, name) -> where its record is
        self._children: dict[str, set[Ident]] = {}  # owner uid -> the records it owns
        self._tombstones: set[str] = set()  # uids of objects this process deleted, until the watch agrees
        self._gone: collections.OrderedDict[str, None] = collections.OrderedDict()  # uids the watch deleted
        self.synced = threading.Event()

    # --- reads -------------------------------------------------------------------------------------

    def get(self, ident: Ident) -> Entry | None:
        """The entry at *ident*, or None."""
        return self._entries.get(ident)  # one dict read is atomic

    def page(self, query: Query) -> tuple[Sequence[Row], int]:
        """A listing, as `kv.driver.Driver.list`."""
        with self._lock:
            return self._table.page(query)

    def owned_by(self, uid: str) -> list[Entry]:
        """The entries owned by the object with *uid*."""
        with self._lock:
            return [self._entries[i] for i in self._children.get(uid, ()) if i in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    # --- changes -----------------------------------------------------------------------------------

    def put(self, entry: Entry) -> bool:
        """Keep *entry* unless the cache has a newer version of the object or deleted it; whether kept."""
        with self._lock:
            return self._put(entry)

    def _put(self, entry: Entry) -> bool:
        if entry.uid in self._tombstones:
            return False
        where = (entry.namespace, entry.name)
        ident = self._objects.get(where)
        if ident is not None:
            current = self._entries[ident]
            if current.uid == entry.uid and current.revision >= entry.revision:
                return False
            self._drop(ident)
        ident = entry.ident
        if ident in self._entries:  # another object claimed the same record (a mesh label edited by hand)
            self._drop(ident)
        self._entries[ident] = entry
        self._objects[where] = ident
        self._table.put(ident, entry.row)
        for owner in entry.owners:
            self._children.setdefault(owner, set()).add(ident)
        return True

    def _drop(self, ident: Ident) -> Entry:
        entry = self._entries.pop(ident)
        self._table.remove(ident)
        self._objects.pop((entry.namespace, entry.name), None)
        for owner in entry.owners:
            if (siblings := self._children.get(owner)) is not None:
                siblings.discard(ident)
                if not siblings:
                    del self._children[owner]
        return entry

    def delete(self, namespace: str | None, name: str, uid: str, *, ours: bool = False) -> Entry | None:
        """Forget the object (a DELETED event, or *ours*: this process deleted it); the entry, if any."""
        with self._lock:
            if not ours:
                self._tombstones.discard(uid)
                self._gone[uid] = None
                if len(self._gone) > _GONE:
                    self._gone.popitem(last=False)
            elif uid not in self._gone:  # the watch has not told yet: an older event may still come
                self._tombstones.add(uid)
            ident = self._objects.get((namespace, name))
            if ident is None or self._entries[ident].uid != uid:
                return None
            return self._drop(ident)

    def replace(self, entries: Iterable[Entry], revision: int) -> None:
        """The contents of a LIST at *revision*; what was written after it, and tombstones, stay."""
        listed = list(entries)
        with self._lock:
            self._tombstones &= {e.uid for e in listed}  # not listed: the deletion is in the list already
            keep = [e for e in self._entries.values() if e.revision > revision]  # written since
            self._entries.clear()
            self._objects.clear()
            self._children.clear()
            self._table.clear()
            for entry in [*listed, *keep]:
                self._put(entry)
        self.synced.set()
