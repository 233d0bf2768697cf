"""Section ``import``: ``kuma-cp import`` of 10k resources, against raw psycopg writing the same rows.

The documents are what ``kuma-cp export`` writes: 4 Meshes, then Dataplanes and MeshTimeouts spread over
them, in Universal YAML. kv's import is timed in its two steps, as ``kuma-cp import`` runs them: reading
and validating every document (YAML, Kuma's schema, defaulting and validators), then writing them all in
one transaction on Postgres. The baseline is bare psycopg running kv's own INSERT for the same rows, with
the same values, in one transaction: what writing alone costs. The memory store's write is shown too.
Every run starts from an empty ``resources`` table.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

import kv
from bench.common import fmt, spread, table
from bench.pgsetup import SQL
from kuma_cp import resources
from kuma_cp.portability import documents, importer
from kv.drivers.postgres import PostgresDriver

MESHES = 4
TIMEOUT = (
    'type: MeshTimeout\nmesh: {mesh}\nname: mt-{i}\ncreationTime: "2024-05-01T10:00:00Z"\n'
    "labels: {{team: t{team}}}\nspec:\n  targetRef: {{kind: Mesh}}\n  to:\n"
    "  - targetRef: {{kind: Mesh}}\n    default: {{connectionTimeout: {ms}ms, idleTimeout: 1h}}\n"
)
DATAPLANE = (
    'type: Dataplane\nmesh: {mesh}\nname: dp-{i}\ncreationTime: "2024-05-01T10:00:00Z"\n'
    "labels: {{kuma.io/workload: web-{team}}}\nnetworking:\n  address: 10.{a}.{b}.1\n"
    "  inbound:\n  - port: 8080\n    name: http\n"
)


def import_text(count: int) -> str:
    """*count* resources as ``kuma-cp export`` writes them: the Meshes first, then the rest."""
    docs = [f"type: Mesh\nname: mesh-{m}\n" for m in range(MESHES)]
    for i in range(count - MESHES):
        template = TIMEOUT if i % 2 else DATAPLANE
        values = {"mesh": f"mesh-{i % MESHES}", "i": i, "team": i % 7, "ms": 100 + i % 900}
        docs.append(template.format(**values, a=i // 250 % 250, b=i % 250))
    return "".join("---\n" + d for d in docs)


def _raw(dsn: str, docs: list[documents.Document]) -> float:
    rows = []
    for doc in docs:  # the parameters prepared before the clock starts: the floor is the writing alone
        record, owner = doc.record, "" if doc.key.type == "Mesh" else doc.key.mesh
        created = (record.creation_time or datetime.now(UTC)).replace(tzinfo=None)
        rows.append(
            {
                "k_name": doc.key.name,
                "k_mesh": doc.key.mesh,
                "k_type": doc.key.type,
                "spec": json.dumps(record.spec),
                "status": json.dumps(record.status),
                "labels": json.dumps(record.labels),
                "ctime": created,
                "mtime": created,
                "owner_name": owner or None,
                "owner_mesh": "" if owner else None,
                "owner_type": "Mesh" if owner else None,
            }
        )
    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(SQL["insert"], rows)
        return time.perf_counter() - start


def _clean(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM resources")


def _kv(store: kv.Store, text: str) -> tuple[float, float, list[documents.Document]]:
    start = time.perf_counter()
    docs, problems = documents.read(text, "bench.yaml", now=datetime.now(UTC))
    assert not problems, problems[:3]
    read = time.perf_counter() - start
    start = time.perf_counter()
    outcome = importer.run(store, docs)
    assert outcome.created == len(docs), outcome
    return read, time.perf_counter() - start, docs


def run(dsn: str, *, quick: bool, runs: int, log: Any) -> dict[str, Any]:
    """Import *count* resources *runs* times on Postgres (kv, then raw) and on memory."""
    count = 500 if quick else 10_000
    text = import_text(count)
    store = kv.Store(PostgresDriver.from_url(dsn, max_open_connections=2), catalog=resources.catalog())
    figures: dict[str, list[float]] = {"read": [], "write": [], "total": [], "raw": [], "memory": []}
    figures |= {"ratio_write": [], "ratio_total": []}
    try:
        for rep in range(runs):
            _clean(dsn)
            read, write, docs = _kv(store, text)
            _clean(dsn)
            raw = _raw(dsn, docs)
            memory = _kv(kv.open("memory://", catalog=resources.catalog()), text)[1]
            for name, value in (("read", read), ("write", write), ("total", read + write), ("raw", raw)):
                figures[name].append(value)
            figures["memory"].append(memory)
            figures["ratio_write"].append(write / raw)
            figures["ratio_total"].append((read + write) / raw)
            log(f"import run {rep + 1}/{runs}: {count} resources, read {read:.2f} s, write {write:.2f} s")
    finally:
        store.close()
        _clean(dsn)
    return {"resources": count} | {name: spread(values) for name, values in figures.items()}


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    count = result["resources"]

    def per(figure: dict[str, float]) -> dict[str, float]:
        return {k: v * 1e6 / count if k != "runs" else v for k, v in figure.items()}

    steps = (
        ("read + validate (kv)", "read"),
        ("write, Postgres (kv)", "write"),
        ("kuma-cp import, Postgres (kv)", "total"),
        ("write, raw psycopg (kv's INSERT)", "raw"),
        ("write, memory (kv)", "memory"),
    )
    rows = [[label, fmt(result[key], 2), fmt(per(result[key]), 0)] for label, key in steps]
    title = f"Import: {count:,} resources in one transaction (median [min, max] over runs)"
    note = (
        f"kv write / raw write: {fmt(result['ratio_write'], 2)}x; "
        f"whole import / raw write: {fmt(result['ratio_total'], 2)}x\n"
    )
    return table(title, ["step", "seconds", "µs per resource"], rows) + note
