"""The in-process index of one record type's rows: hashed lookups by (mesh, name), pages in O(page).

The memory driver keeps its records in one `Table` per type; the Kubernetes driver's watch cache keeps
what it has seen of each kind in one. Both serve ``list`` through `Table.page`, the one implementation of
the listing semantics for drivers that answer from memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from kv.driver import Query, Row, page

__all__ = ["Ident", "Table"]

Ident = tuple[str, str]  # (mesh, name)


class Table:
    """The rows of one type by (mesh, name), plus the same keys kept sorted for listing.

    Not thread-safe: its owner holds a lock around every call.
    """

    def __init__(self) -> None:
        self.rows: dict[Ident, Row] = {}
        self.order: list[Ident] = []

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, ident: Ident, row: Row) -> None:
        """Add the row at *ident*, or replace the one there (the order is kept)."""
        if ident not in self.rows:
            bisect.insort(self.order, ident)
        self.rows[ident] = row

    def remove(self, ident: Ident) -> None:
        """Remove the row at *ident* (which must be there)."""
        del self.rows[ident]
        del self.order[bisect.bisect_left(self.order, ident)]

    def clear(self) -> None:
        """Remove every row."""
        self.rows.clear()
        self.order.clear()

    def sorted_idents(self, mesh: str | None) -> Sequence[Ident]:
        """Every ident (of *mesh*, unless None), sorted."""
        if mesh is None:
            return self.order
        # (mesh,) sorts before every (mesh, name); (mesh + "\0",) after all of them and before any
        # longer mesh name, since names and meshes never contain NUL.
        lo = bisect.bisect_left(self.order, (mesh,))
        return self.order[lo : bisect.bisect_left(self.order, (mesh + "\0",), lo)]

    def page(self, query: Query) -> tuple[Sequence[Row], int]:
        """The rows *query* selects, sliced, and how many matched before slicing (`kv.driver.Driver.list`)."""
        if query.keys is not None:
            idents: Sequence[Ident] = sorted(query.keys & self.rows.keys())
        else:
            idents = self.sorted_idents(query.mesh)
        if query.name_contains is None and query.keys is None and query.labels is None:
            total = len(idents)  # nothing left to filter: slice before fetching rows
            end = None if query.limit is None else query.offset + query.limit
            return [self.rows[i] for i in idents[query.offset : end]], total
        return page([self.rows[i] for i in idents], query)
