"""Section ``fixture``: what the pytest plugin's Postgres ``kv_store`` costs a test, and how it resets.

1. The ways to give a test an empty store, each timed after a test-sized workload (a global record and
   five owned ones): ``DELETE FROM resources`` (row triggers fire: Kuma's NOTIFY sends a change event per
   deleted row, which a later test's subscription could still receive), ``TRUNCATE resources`` (no row
   triggers), and a new database from a migrated template with a new pool. The plugin uses TRUNCATE: the
   fastest that also isolates change events.
2. A real pytest run of N tests that each write and list, on memory and on Postgres (the plugin's own
   fixture, on the same server): the Postgres cost per test beyond the first is
   ``(time(N) - time(1)) / (N - 1)``, from pytest's own duration.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

import kv
from bench.common import fmt, spread, table
from bench.pgsetup import migrate, with_db
from kv import testing
from kv.drivers.postgres import PostgresDriver

TEST = """
import os, kv, pytest

@pytest.mark.parametrize("i", range(int(os.environ["KV_BENCH_TESTS"])))
def test_write_and_read(kv_store, i):
    kv_store.create(kv.Record(key=kv.Key("Widget", "default", f"w{i}")))
    assert kv_store.list("Widget").total == 1
"""


def _workload(store: kv.Store) -> None:
    store.create(kv.Record(key=kv.Key("Tenant", "", "t")))
    for i in range(5):
        store.create(kv.Record(key=kv.Key("Widget", "default", f"w{i}")), owner=kv.Key("Tenant", "", "t"))


def _resets(dsn: str, rounds: int) -> dict[str, Any]:
    name = f"bench_fixture_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    migrate(with_db(dsn, name))
    catalog = testing.Types().catalog()
    driver = PostgresDriver.from_url(with_db(dsn, name), max_open_connections=4)
    store = kv.Store(driver, catalog=catalog)
    out: dict[str, Any] = {}
    try:
        with psycopg.connect(with_db(dsn, name), autocommit=True) as conn:
            for way, sql in (("DELETE", "DELETE FROM resources"), ("TRUNCATE", "TRUNCATE resources")):
                times = []
                for _ in range(rounds):
                    _workload(store)
                    start = time.perf_counter()
                    conn.execute(sql)
                    times.append((time.perf_counter() - start) * 1000)
                out[way] = spread(times)
        driver.close()
        times = []
        for _ in range(max(3, rounds // 10)):
            start = time.perf_counter()
            copy = f"bench_copy_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
            fresh = PostgresDriver.from_url(with_db(dsn, copy), max_open_connections=4)
            kv.Store(fresh, catalog=catalog).list("Widget")
            fresh.close()
            times.append((time.perf_counter() - start) * 1000)
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{copy}" WITH (FORCE)')
        out["new database from a template"] = spread(times)
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


def _pytest_seconds(directory: Path, backend: str, tests: int, dsn: str) -> float:
    env = os.environ | {"KV_BENCH_TESTS": str(tests)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--kv-backend={backend}"]
    done = subprocess.run(
        [*command, "--kv-postgres-dsn", dsn], cwd=directory, env=env, capture_output=True, text=True
    )
    found = re.search(r"(\d+) passed in ([\d.]+)s", done.stdout)
    assert done.returncode == 0, done.stdout[-2000:]
    assert found is not None
    assert int(found.group(1)) == tests
    return float(found.group(2))


def run(dsn: str, *, quick: bool, runs: int, log: Any) -> dict[str, Any]:
    """Time the resets, then the plugin's per-test cost through real pytest runs."""
    tests = 50 if quick else 500
    resets = _resets(dsn, 20 if quick else 200)
    log("fixture: resets timed")
    per_test: dict[str, list[float]] = {"memory": [], "postgres": []}
    with tempfile.TemporaryDirectory(prefix="kv-fixture-bench-") as work:
        directory = Path(work)
        (directory / "test_many.py").write_text(TEST)
        for _ in range(runs):
            for backend in ("memory", "postgres"):
                many = _pytest_seconds(directory, backend, tests, dsn)
                one = _pytest_seconds(directory, backend, 1, dsn)
                per_test[backend].append((many - one) / (tests - 1) * 1000)
    log("fixture: pytest runs done")
    extra = [p - m for p, m in zip(per_test["postgres"], per_test["memory"], strict=True)]
    return {
        "tests": tests,
        "reset_ms": resets,
        "per_test_ms": {b: spread(v) for b, v in per_test.items()},
        "postgres_over_memory_ms": spread(extra),
        "suite_of_500_s": statistics.median(per_test["postgres"]) * 500 / 1000,
    }


def render(result: dict[str, Any]) -> str:
    """The section as two tables."""
    rows = [[way, fmt(figure, 2)] for way, figure in result["reset_ms"].items()]
    first = table("Test fixture: an empty Postgres store (ms, median [min, max])", ["way", "ms"], rows)
    rows = [[backend, fmt(figure, 2)] for backend, figure in result["per_test_ms"].items()]
    rows.append(["postgres - memory", fmt(result["postgres_over_memory_ms"], 2)])
    title = f"Test fixture: a test beyond the first, in a pytest run of {result['tests']} (ms)"
    note = f"a 500-test suite on the Postgres fixture: about {result['suite_of_500_s']:.1f} s\n"
    return first + table(title, ["kv_store on", "ms per test"], rows) + note
