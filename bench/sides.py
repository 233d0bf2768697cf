"""The two sides of the Postgres comparison: kv's public API, and bare psycopg running the SQL kv sends.

Both sides do the same work per operation: one autocommit statement on a connection of their own, the
spec encoded on the way in, and spec, status and labels decoded from the returned row on the way out. A
compare-and-set that loses reads the record again and retries; every retry is counted as a conflict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import psycopg

import kv
from bench.common import LABELS, Op, dataplane_spec, dumps, loads
from bench.pgsetup import SQL, list_sql
from kv.drivers.postgres import PostgresDriver

TYPE = "Dataplane"
SPEC = dataplane_spec()
Maker = Callable[[int], Op]


def _json(value: Any) -> str:
    return dumps(value)


class Tally:
    """Successful compare-and-sets per hot key, and lost ones (conflicts), counted per thread."""

    def __init__(self, threads: int, keys: int) -> None:
        self.done = [[0] * keys for _ in range(threads)]
        self.conflicts = [0] * threads

    def per_key(self) -> list[int]:
        return [sum(column) for column in zip(*self.done, strict=True)]


class KvSide:
    """kv.Store over the Postgres driver, one pool of *threads* connections."""

    name = "kv"

    def __init__(self, dsn: str, threads: int) -> None:
        self.store = kv.Store(PostgresDriver.from_url(dsn, max_open_connections=threads))

    def create(self, mesh: str, tag: str) -> Maker:
        def make(t: int) -> Op:
            return lambda i: self.store.create(
                kv.Record(key=kv.Key(TYPE, mesh, f"{tag}-{t}-{i}"), spec=SPEC, labels=LABELS)
            )

        return make

    def delete(self, mesh: str, tag: str) -> Maker:
        def make(t: int) -> Op:
            return lambda i: self.store.delete(TYPE, mesh, f"{tag}-{t}-{i}")

        return make

    def get(self, mesh: str, names: list[str]) -> Maker:
        def make(t: int) -> Op:
            return lambda i: self.store.get(TYPE, mesh, names[(t * 7919 + i) % len(names)])

        return make

    def list_all(self, mesh: str, expected: int) -> Maker:
        def make(t: int) -> Op:
            def op(i: int) -> None:
                assert len(self.store.list(TYPE, mesh=mesh).items) == expected

            return op

        return make

    def page(self, size: int, offset: int) -> Op:
        return lambda i: self.store.list(TYPE, page_size=size, offset=str(offset))

    def update(self, mesh: str, names: list[str], tally: Tally) -> Maker:
        def make(t: int) -> Op:
            held = {n: self.store.get(TYPE, mesh, n) for n in names}

            def op(i: int) -> None:
                k = (t + i) % len(names)
                record = held[names[k]]
                while True:
                    spec = {**record.spec, "counter": record.spec["counter"] + 1}
                    try:
                        record = self.store.update(attrs.evolve(record, spec=spec))
                        break
                    except kv.Conflict:
                        tally.conflicts[t] += 1
                        record = self.store.get(TYPE, mesh, names[k])
                held[names[k]] = record
                tally.done[t][k] += 1

            return op

        return make

    def close(self) -> None:
        self.store.close()


def decode(row: Any, at: int = 0) -> dict[str, Any]:
    """What the store makes of a row: key, version, times, and spec, status and labels parsed."""
    labels = row[at + 10]
    return {
        "key": (row[at + 2], row[at + 1], row[at]),
        "version": row[at + 3],
        "spec": loads(row[at + 4]),
        "creation_time": row[at + 5],
        "modification_time": row[at + 6],
        "labels": loads(labels) if labels else {},
        "status": loads(row[at + 11]),
    }


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RawSide:
    """Bare psycopg 3: one autocommit connection per thread, the driver's SQL text, rows decoded."""

    name = "raw"

    def __init__(self, dsn: str, threads: int) -> None:
        self.connections = [psycopg.connect(dsn, autocommit=True) for _ in range(threads)]
        self._lock = threading.Lock()

    def create(self, mesh: str, tag: str) -> Maker:
        def make(t: int) -> Op:
            conn, insert = self.connections[t], SQL["insert"]

            def op(i: int) -> object:
                created = now()
                params = {
                    "k_name": f"{tag}-{t}-{i}",
                    "k_mesh": mesh,
                    "k_type": TYPE,
                    "spec": _json(SPEC),
                    "status": "{}",
                    "labels": _json(LABELS),
                    "ctime": created,
                    "mtime": created,
                    "owner_name": None,
                    "owner_mesh": None,
                    "owner_type": None,
                }
                return decode(conn.execute(insert, params).fetchone())

            return op

        return make

    def delete(self, mesh: str, tag: str) -> Maker:
        def make(t: int) -> Op:
            conn, delete = self.connections[t], SQL["delete"]

            def op(i: int) -> None:
                params = {"k_name": f"{tag}-{t}-{i}", "k_mesh": mesh, "k_type": TYPE}
                assert conn.execute(delete, params).rowcount == 1

            return op

        return make

    def _get(self, conn: psycopg.Connection[Any], mesh: str, name: str) -> dict[str, Any]:
        row = conn.execute(SQL["get"], {"k_name": name, "k_mesh": mesh, "k_type": TYPE}).fetchone()
        assert row is not None
        return decode(row)

    def get(self, mesh: str, names: list[str]) -> Maker:
        def make(t: int) -> Op:
            conn = self.connections[t]
            return lambda i: self._get(conn, mesh, names[(t * 7919 + i) % len(names)])

        return make

    def list_all(self, mesh: str, expected: int) -> Maker:
        text, params = list_sql(TYPE, mesh=mesh)

        def make(t: int) -> Op:
            conn = self.connections[t]

            def op(i: int) -> None:
                assert len([decode(r) for r in conn.execute(text, params).fetchall()]) == expected

            return op

        return make

    def page(self, size: int, offset: int) -> Op:
        text, params = list_sql(TYPE, limit=size, offset=offset)
        conn = self.connections[0]

        def op(i: int) -> object:
            rows = conn.execute(text, params).fetchall()
            return [decode(r, 1) for r in rows if r[1] is not None], rows[0][0] if rows else 0

        return op

    def update(self, mesh: str, names: list[str], tally: Tally) -> Maker:
        def make(t: int) -> Op:
            conn, update = self.connections[t], SQL["update"]
            held = {n: self._get(conn, mesh, n) for n in names}

            def op(i: int) -> None:
                k = (t + i) % len(names)
                record = held[names[k]]
                while True:
                    spec = {**record["spec"], "counter": record["spec"]["counter"] + 1}
                    params = {
                        "k_name": names[k],
                        "k_mesh": mesh,
                        "k_type": TYPE,
                        "expected": record["version"],
                        "expected_ctime": record["creation_time"],  # kv's CAS: version and creation time
                        "spec": _json(spec),
                        "status": _json(record["status"]),
                        "labels": _json(record["labels"]),
                        "mtime": now(),
                    }
                    row = conn.execute(update, params).fetchone()
                    if row is not None:
                        record = decode(row)
                        break
                    tally.conflicts[t] += 1
                    record = self._get(conn, mesh, names[k])
                held[names[k]] = record
                tally.done[t][k] += 1

            return op

        return make

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
