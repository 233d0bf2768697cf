"""The values kv deals in: keys, records, pages, record types and change events.

Everything here is immutable (attrs ``frozen``). Records hold spec and status as plain mappings; the
store hands every caller fresh copies, so mutating what you got never changes what is stored.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from attrs import field, frozen

__all__ = [
    "Catalog",
    "Key",
    "Op",
    "Page",
    "Record",
    "RecordType",
    "ResourceChanged",
    "Scope",
]

JSONObject = Mapping[str, Any]


@frozen(order=True)
class Key:
    """The identity of a record: (type, mesh, name). ``mesh`` is ``""`` for global types.

    Keys order as Kuma lists records: by type, then mesh, then name, byte-wise.
    """

    type: str
    mesh: str
    name: str

    def __str__(self) -> str:
        return f"{self.type}/{self.mesh}/{self.name}" if self.mesh else f"{self.type}/{self.name}"


def _dict(value: Mapping[str, Any] | None) -> dict[str, Any]:
    # A copy, so the record does not share the caller's dict. Anything else is kept as given for the
    # store to reject with Invalid, rather than failing here with whatever dict() raises.
    if value is None:
        return {}
    return dict(value) if isinstance(value, Mapping) else value


@frozen(kw_only=True)
class Record:
    """A versioned resource.

    Attributes:
        key: type, mesh and name.
        spec: the resource's specification, a JSON object.
        status: the resource's status, a JSON object stored apart from the spec (``{}`` if none).
        labels: string labels, round-tripped exactly.
        creation_time: when it was created, timezone-aware UTC (set by the store).
        modification_time: when it was last written, timezone-aware UTC (set by the store).
        owner: the record this one belongs to; deleting the owner deletes this record.
        version: opaque; compare for equality only. Empty on a record not yet stored.
    """

    key: Key
    spec: JSONObject = field(factory=dict, converter=_dict)
    status: JSONObject = field(factory=dict, converter=_dict)
    labels: Mapping[str, str] = field(factory=dict, converter=_dict)
    creation_time: datetime | None = None
    modification_time: datetime | None = None
    owner: Key | None = None
    version: str = ""


@frozen
class Page:
    """One page of a listing.

    Attributes:
        items: the records of this page, ordered by (mesh, name).
        total: how many records match the filters, across all pages.
        next_offset: the token for the next page, ``""`` on the last one.
    """

    items: tuple[Record, ...]
    total: int
    next_offset: str = ""


class Scope(enum.Enum):
    """Whether records of a type live in a mesh (Kuma's ``Mesh`` scope) or outside any (``Global``)."""

    MESH = "Mesh"
    GLOBAL = "Global"


@frozen
class RecordType:
    """What the store must know of a record type to validate keys: its name and scope."""

    name: str
    scope: Scope = Scope.MESH


@frozen
class Catalog:
    """The record types a store accepts, and label keys whose values are free text.

    Attributes:
        types: the accepted types by name. Empty means any well-formed type name is accepted and its
            scope is not checked (handy for tests; production stores register their types).
        free_label_keys: label keys whose values may be any string up to 4096 characters instead of a
            Kubernetes label value (the Kubernetes driver keeps these as annotations).
    """

    types: Mapping[str, RecordType] = field(factory=dict)
    free_label_keys: frozenset[str] = frozenset()

    @classmethod
    def of(cls, types: Iterable[RecordType], free_label_keys: Iterable[str] = ()) -> Catalog:
        """Build a catalog from a list of types."""
        return cls({t.name: t for t in types}, frozenset(free_label_keys))


class Op(enum.Enum):
    """What happened to a record."""

    CREATE = "Create"
    UPDATE = "Update"
    DELETE = "Delete"


@frozen
class ResourceChanged:
    """A change event: *op* happened to the record (type, mesh, name)."""

    op: Op
    type: str
    mesh: str
    name: str

    @property
    def key(self) -> Key:
        """The key of the changed record."""
        return Key(self.type, self.mesh, self.name)
