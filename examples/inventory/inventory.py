"""A small inventory service kept in kv: stock per item and warehouse, changed with compare-and-set.

The example project of kuma-store's README: it uses only the installed package (``kv``), and its tests
(``tests/``) run on every backend with ``pytest --kv-backend=all``.
"""

from __future__ import annotations

import attrs

import kv

CATALOG = kv.Catalog.of([kv.RecordType("Warehouse", kv.Scope.GLOBAL), kv.RecordType("Item")])


class OutOfStock(Exception):
    """A shipment larger than the stock."""


class Inventory:
    """Warehouses (global records) and the items in them (records in the warehouse's mesh)."""

    def __init__(self, store: kv.Store) -> None:
        self.store = store

    def open_warehouse(self, name: str) -> None:
        """A new warehouse; deleting it deletes its items."""
        self.store.create(kv.Record(key=kv.Key("Warehouse", "", name)))

    def stock(self, warehouse: str, item: str) -> int:
        """How many of *item* the warehouse holds."""
        try:
            return int(self.store.get("Item", warehouse, item).spec["count"])
        except kv.NotFound:
            return 0

    def _change(self, warehouse: str, item: str, delta: int) -> int:
        while True:  # optimistic concurrency: read, change, write at the version read; retry a lost race
            try:
                current = self.store.get("Item", warehouse, item)
            except kv.NotFound:
                if delta < 0:
                    raise OutOfStock(item) from None
                record = kv.Record(key=kv.Key("Item", warehouse, item), spec={"count": delta})
                try:
                    self.store.create(record, owner=kv.Key("Warehouse", "", warehouse))
                    return delta
                except kv.AlreadyExists:
                    continue
            count = int(current.spec["count"]) + delta
            if count < 0:
                raise OutOfStock(item)
            try:
                self.store.update(attrs.evolve(current, spec={"count": count}))
                return count
            except kv.Conflict:
                continue

    def receive(self, warehouse: str, item: str, count: int) -> int:
        """Add *count* of *item*; the new stock."""
        return self._change(warehouse, item, count)

    def ship(self, warehouse: str, item: str, count: int) -> int:
        """Take *count* of *item* out; the new stock, or `OutOfStock` (and nothing changes)."""
        return self._change(warehouse, item, -count)

    def close_warehouse(self, name: str) -> None:
        """Delete the warehouse and every item in it."""
        self.store.delete("Warehouse", "", name)
