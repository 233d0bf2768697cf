"""The in-process index of one record type's rows: hashed lookups by (mesh, name), pages in O(page).

The sorted keys are a `sortedcontainers.SortedList` (a list of sorted sublists), so that adding or
removing a key costs O(log n): a plain sorted list moves every later key on each insert (4.4 µs at
100k keys, 13 µs at 300k, against under 1 µs at any size here).

The memory driver keeps its records in one `Table` per type; the Kubernetes driver's watch cache keeps
what it has seen of each kind in one. Both serve ``list`` through `Table.page`, the one implementation of
the listing semantics for drivers that answer from memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sortedcontainers import SortedList

from kv.driver import Query, Row, page

__all__ = ["Ident", "Table"]

Ident = tuple[str, str]  # (mesh, name)


class Table:
    """The rows of one type by (mesh, name), plus the same keys kept sorted for listing.

    Not thread-safe: its owner holds a lock around every call.
    """

    def __init__(self) -> None:
        self.rows: dict[Ident, Row] = {}
        self.order: SortedList[Ident] = SortedList()

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, ident: Ident, row: Row) -> None:
        """Add the row at *ident*, or replace the one there (the order is kept)."""
        if ident not in self.rows:
            self.order.add(ident)
        self.rows[ident] = row

    def remove(self, ident: Ident) -> None:
        """Remove the row at *ident* (which must be there)."""
        del self.rows[ident]
        self.order.remove(ident)

    def clear(self) -> None:
        """Remove every row."""
        self.rows.clear()
        self.order.clear()

    def _span(self, mesh: str | None) -> tuple[int, int]:
        """The positions in `order` of *mesh*'s idents (every ident when None)."""
        if mesh is None:
            return 0, len(self.order)
        # (mesh, "") sorts before every (mesh, name); (mesh + "\0", "") after all of them and before
        # any longer mesh name, since names are never empty and never contain NUL.
        return self.order.bisect_left((mesh, "")), self.order.bisect_left((mesh + "\0", ""))

    def sorted_idents(self, mesh: str | None) -> Iterable[Ident]:
        """Every ident (of *mesh*, unless None), sorted."""
        lo, hi = self._span(mesh)
        return self.order.islice(lo, hi)

    def page(self, query: Query) -> tuple[Sequence[Row], int]:
        """The rows *query* selects, sliced, and how many matched before slicing (`kv.driver.Driver.list`)."""
        if query.keys is not None:
            idents: Iterable[Ident] = sorted(query.keys & self.rows.keys())
        elif query.name_contains is None and query.labels is None:
            lo, hi = self._span(query.mesh)  # nothing to filter: slice the index itself, O(log n + page)
            start = min(hi, lo + query.offset)
            end = hi if query.limit is None else min(hi, start + query.limit)
            return [self.rows[i] for i in self.order.islice(start, end)], hi - lo
        else:
            idents = self.sorted_idents(query.mesh)
        return page([self.rows[i] for i in idents], query)
