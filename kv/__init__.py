"""kv: versioned records over interchangeable drivers (memory, Postgres, Kubernetes).

>>> import kv
>>> store = kv.open("memory://")
>>> stored = store.create(kv.Record(key=kv.Key("Widget", "default", "w-1"), spec={"size": 1}))
>>> stored.version
'1'
>>> store.update(kv.Record(key=stored.key, spec={"size": 2}, version=stored.version)).spec
{'size': 2}
"""

from __future__ import annotations

from typing import Any

from kv.drivers import open_driver
from kv.errors import AlreadyExists, Conflict, Corrupt, Invalid, KVError, NotFound, Unavailable
from kv.events import Subscription
from kv.model import Catalog, Key, Op, Page, Record, RecordType, ResourceChanged, Scope
from kv.store import Store

__all__ = [
    "AlreadyExists",
    "Catalog",
    "Conflict",
    "Corrupt",
    "Invalid",
    "KVError",
    "Key",
    "NotFound",
    "Op",
    "Page",
    "Record",
    "RecordType",
    "ResourceChanged",
    "Scope",
    "Store",
    "Subscription",
    "Unavailable",
    "open",
    "open_driver",
]


def open(url: str = "memory://", *, catalog: Catalog | None = None, **options: Any) -> Store:
    """Open a store on the driver for *url*; *options* go to the driver."""
    return Store(open_driver(url, **options), catalog=catalog)
