"""Latency of the kv Postgres driver against raw psycopg running the same SQL on the same server.

Both sides: one autocommit connection from a warm pool or held open, the exact statements the driver
emits (compiled from its SQLAlchemy statements), a ~1 KB Dataplane spec, and the row decoded (spec and
status parsed from JSON). Prints median and p99 per operation and the ratio kv/raw.

    python bench/pg_ops.py postgresql://kuma:...@127.0.0.1:PORT/kuma [--n 2000]

The database must be migrated (``kuma-cp migrate up``); the benchmark uses its own record type and cleans up.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import kv
from kv.drivers.postgres import PostgresDriver
from kv.drivers.postgres.driver import GET, UPDATE

SPEC = {
    "networking": {
        "address": "10.1.2.3",
        "inbound": [
            {
                "port": 8080 + i,
                "servicePort": 80 + i,
                "tags": {"kuma.io/service": f"backend-{i}", "version": "v1"},
            }
            for i in range(8)
        ],
        "outbound": [{"port": 10000 + i, "tags": {"kuma.io/service": f"redis-{i}"}} for i in range(4)],
    }
}
KEY = kv.Key("BenchDataplane", "default", "dp-1")


def _sql(statement: sa.Executable) -> tuple[str, dict[str, object]]:
    """The SQL text the driver sends (psycopg's %(name)s placeholders) and its constant parameters."""
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[attr-defined]
    return str(compiled), {k: v for k, v in compiled.params.items() if v is not None}


def _time(fn: Callable[[], object], n: int) -> list[float]:
    for _ in range(min(200, n)):  # warm up
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def _row(p: list[float]) -> str:
    p = sorted(p)
    return f"median {statistics.median(p):7.1f} µs  p99 {p[int(len(p) * 0.99) - 1]:7.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dsn")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()

    store = kv.Store(PostgresDriver.from_url(args.dsn, max_open_connections=2))
    raw = psycopg.connect(args.dsn, autocommit=True)
    raw.execute("DELETE FROM resources WHERE type = %s", (KEY.type,))
    record = store.create(kv.Record(key=KEY, spec=SPEC, labels={"kuma.io/zone": "zone-1"}))
    pk = {"k_name": KEY.name, "k_mesh": KEY.mesh, "k_type": KEY.type}
    (get_sql, _), (update_sql, update_constants) = _sql(GET), _sql(UPDATE)
    spec_text = json.dumps(SPEC, separators=(",", ":"))
    mtime = record.creation_time.replace(tzinfo=None)  # type: ignore[union-attr]
    held = {"record": record, "version": int(record.version)}

    def kv_get() -> object:
        return store.get(KEY.type, KEY.mesh, KEY.name)

    def raw_get() -> object:
        row = raw.execute(get_sql, pk).fetchone()
        assert row is not None
        return json.loads(row[4]), json.loads(row[11])

    def kv_update() -> object:  # compare-and-set with the version held from the last write
        held["record"] = store.update(held["record"])  # type: ignore[arg-type]
        return held["record"]

    def raw_update() -> object:
        params = {
            **update_constants,
            **pk,
            "expected": held["version"],
            "spec": spec_text,
            "status": "{}",
            "labels": '{"kuma.io/zone":"zone-1"}',
            "mtime": mtime,
        }
        row = raw.execute(update_sql, params).fetchone()
        assert row is not None
        held["version"] = row[3]
        return json.loads(row[4]), json.loads(row[11])

    print(
        f"# {platform.python_implementation()} {platform.python_version()}, psycopg {psycopg.__version__}, "
        f"SQLAlchemy {sa.__version__}, server {raw.info.server_version}, n={args.n}, spec {len(spec_text)} B"
    )
    for name, kv_fn, raw_fn in (("get", kv_get, raw_get), ("update", kv_update, None)):
        kv_s = _time(kv_fn, args.n)
        if raw_fn is None:  # raw update continues from the version the kv updates left
            held["version"] = int(held["record"].version)  # type: ignore[union-attr]
            raw_fn = raw_update
        raw_s = _time(raw_fn, args.n)
        ratio = statistics.median(kv_s) / statistics.median(raw_s)
        print(f"{name:7s} kv  {_row(kv_s)}")
        print(f"{name:7s} raw {_row(raw_s)}")
        print(f"{name:7s} ratio kv/raw (median) {ratio:.2f}")
    raw.execute("DELETE FROM resources WHERE type = %s", (KEY.type,))
    store.close()
    raw.close()


if __name__ == "__main__":
    main()
