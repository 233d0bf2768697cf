"""The benchmark harness runs and reports every section (a smoke test: it checks it works, not how fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import k8s_kubeconfig, pg_dsn

ROOT = Path(__file__).parent.parent
PG_OPS = {"create", "get", "update (CAS)", "delete", "list 100", "list 300"}
MEMORY_OPS = {"create", "get", "update (CAS)", "delete", "list 100"}
FIGURES = {"ops_per_s", "p50_us", "p99_us"}
K8S_ROWS = [
    ("page of 100", 5),
    ("page of 100", 10),
    ("page of 100", 20),
    ("get", 20),
    ("create", 20),
    ("update", 20),
]


def _bench(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stdout


def _spread(figure: dict[str, float]) -> None:
    assert figure["min"] <= figure["median"] <= figure["max"]


def _check_memory(section: dict[str, Any]) -> None:
    assert {row["op"] for row in section["rows"]} == MEMORY_OPS
    for row in section["rows"]:
        assert row["kv"].keys() >= FIGURES
        assert row["bare"].keys() >= FIGURES
        _spread(row["ratio_kv_over_bare"])
    scale = {(row["records"], row["op"]) for row in section["scale"]}
    assert scale == {(n, op) for n in (100, 1000) for op in ("create", "delete", "page of 100")}


def _check_notify(section: dict[str, Any]) -> None:
    rows = section["rows"]
    assert {(row["op"], row["concurrency"]) for row in rows} == {
        (op, c) for op in ("create", "update") for c in (1, 8)
    }
    for row in rows:
        assert row["with_trigger"]["ops_per_s"]["median"] > 0
        assert row["without_trigger"]["ops_per_s"]["median"] > 0
        _spread(row["ratio_with_over_without"])


@pytest.mark.postgres
def test_the_throwaway_server_is_durable_unless_asked(tmp_path: Path) -> None:
    report, stdout = _bench(tmp_path, "--only", "notify")
    settings = report["machine"]["postgres"]
    assert (settings["fsync"], settings["full_page_writes"], settings["synchronous_commit"]) == (
        "on",
        "on",
        "on",
    )
    assert report["config"]["fsync"] is True
    _check_notify(report["sections"]["notify"])
    assert "fsync=on" in stdout
    quick, _ = _bench(tmp_path, "--only", "notify", "--no-fsync")
    assert quick["machine"]["postgres"]["fsync"] == "off"


def test_memory_section_runs_without_postgres(tmp_path: Path) -> None:
    report, stdout = _bench(tmp_path, "--only", "memory")
    assert set(report["sections"]) == {"memory"}
    _check_memory(report["sections"]["memory"])
    assert {"cpu", "cores", "python", "psycopg", "sqlalchemy"} <= report["machine"].keys()
    assert "## Memory" in stdout


@pytest.mark.postgres
def test_every_section_runs_on_postgres(tmp_path: Path) -> None:
    dsn = pg_dsn()
    report, stdout = _bench(tmp_path, "--dsn", dsn)
    sections = report["sections"]
    assert set(sections) == {"pg", "notify", "memory", "page", "http", "spec", "import", "fixture"}
    assert report["machine"]["postgres"]["server_version"]

    pg = sections["pg"]["rows"]
    assert {(row["op"], row["concurrency"]) for row in pg} == {(op, c) for op in PG_OPS for c in (1, 2, 8)}
    for row in pg:
        assert row["kv"].keys() >= FIGURES
        assert row["raw"].keys() >= FIGURES
        _spread(row["ratio_kv_over_raw"])
        if row["op"] == "update (CAS)":
            assert row["lost_updates"] == {"kv": 0, "raw": 0}
    _check_notify(sections["notify"])
    _check_memory(sections["memory"])
    page = sections["page"]["rows"]
    places = [(row["records"], row["offset"]) for row in page]
    assert places == [(500, 0), (500, 250), (2000, 0), (2000, 1000)]
    for row in page:
        assert row.keys() >= {"kv", "raw", "kuma", "ratio_kuma_over_kv"}
    http = sections["http"]["rows"]
    assert {(row["store"], row["method"]) for row in http} == {
        (store, method) for store in ("memory", "postgres") for method in ("GET", "PUT")
    }
    floor = sections["http"]["floor"]  # scripts/test installs wrk
    assert {(row["store"], row["method"]) for row in floor} == {
        (store, method) for store in ("memory", "postgres") for method in ("GET", "PUT", "GET page of 100")
    }
    for row in floor:
        _spread(row["ratio"])
        assert 0 < row["ratio"]["median"] < 1.5, row  # kuma-cp does more than the floor's nothing
    spec = sections["spec"]["rows"]
    assert [row["type"] for row in spec] == ["Dataplane", "MeshHTTPRoute"]
    for row in spec:
        _spread(row["ratio"])
        assert row["checked_ops_per_s"]["median"] > 0
        assert row["unchecked_ops_per_s"]["median"] > 0
    imported = sections["import"]
    assert imported["resources"] == 500
    for figure in ("read", "write", "total", "raw", "memory", "ratio_write", "ratio_total"):
        _spread(imported[figure])
    assert imported["ratio_total"]["median"] > 1  # validating and writing costs more than writing alone
    fixture = sections["fixture"]
    assert set(fixture["reset_ms"]) == {"DELETE", "TRUNCATE", "new database from a template"}
    for figure in (*fixture["reset_ms"].values(), *fixture["per_test_ms"].values()):
        _spread(figure)
        assert figure["median"] > 0
    titles = (
        "## Postgres",
        "## Postgres writes with and without",
        "## Memory",
        "## Pagination",
        "## HTTP",
        "## HTTP floor",
        "## Spec validation",
        "## Import",
        "## Test fixture: an empty Postgres store",
    )
    for title in titles:
        assert title in stdout
    password = dsn.split("@")[0].split(":")[-1]
    assert password not in stdout  # the password is never shown
    assert password not in json.dumps(report)


@pytest.mark.k8s
def test_kubernetes_section_runs_on_the_test_api_server(tmp_path: Path) -> None:
    k8s_kubeconfig()  # the bench uses KUMA_TEST_KUBECONFIG's server, else this skips (no server of its own)
    report, stdout = _bench(tmp_path, "--only", "k8s")
    assert set(report["sections"]) == {"k8s"}
    assert report["machine"]["kubernetes"]["server_version"].startswith("v")
    section = report["sections"]["k8s"]
    assert [(row["op"], row["records"]) for row in section["rows"]] == K8S_ROWS
    for row in section["rows"]:
        ways = {"kv", "live", "raw"} if row["op"] in ("page of 100", "get") else {"kv", "raw"}
        assert {way for way in ("kv", "live", "raw") if way in row} == ways
        for way in ways:
            assert row[way].keys() >= FIGURES
        _spread(row["ratio_kv_over_raw"])
        if "live" in ways:
            _spread(row["ratio_live_over_kv"])
    assert section["page_growth_small_to_large"].keys() == {"kv", "live"}
    assert "## Kubernetes" in stdout
    assert "target <= 3x" in stdout
