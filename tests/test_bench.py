"""The benchmarks still run (a smoke test: it checks they work, not how fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pg_dsn

BENCH = Path(__file__).parent.parent / "bench"


@pytest.mark.postgres
def test_pg_ops_benchmark_runs_and_prints_ratios() -> None:
    dsn = pg_dsn()
    result = subprocess.run(
        [sys.executable, str(BENCH / "pg_ops.py"), dsn, "--n", "30"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ratio kv/raw") == 2
    assert dsn.split("@")[0].split(":")[-1] not in result.stdout  # the password is not printed
