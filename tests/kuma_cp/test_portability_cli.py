"""``kuma-cp export`` and ``kuma-cp import`` as operators run them: real processes, a real database."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

import kv
from bench.importing import import_text
from kuma_cp import resources
from kuma_cp.portability import yamlout
from tests.kuma_cp.e2e import migrated_pg_env, running

pytestmark = pytest.mark.postgres
KUMA_CP = [sys.executable, "-m", "kuma_cp"]
POLICY = {
    "type": "MeshTimeout",
    "mesh": "default",
    "name": "mt-1",
    "labels": {"team": "a"},
    "spec": {
        "targetRef": {"kind": "Mesh"},
        "to": [{"targetRef": {"kind": "Mesh"}, "default": {"connectionTimeout": "2s"}}],
    },
}


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KUMA_")} | extra


def _kuma_cp(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KUMA_CP, *args], env=_env(env), input=stdin, capture_output=True, text=True, timeout=120
    )


def _rows(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT * FROM resources ORDER BY type, mesh, name").fetchall()


def test_backup_and_restore_gives_the_same_bytes(pg_databases: Any, tmp_path: Path) -> None:
    source, target = migrated_pg_env(pg_databases()), migrated_pg_env(pg_databases())
    seeded = _kuma_cp(source, "import", "-f", "-", stdin=import_text(40))
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout == "imported 40 resources: 40 created, 0 updated, 0 unchanged\n"
    assert seeded.stderr == ""  # quiet when not on a terminal
    backup = tmp_path / "backup.yaml"
    exported = _kuma_cp(source, "export", "--profile", "all", "--include-admin", "-o", str(backup))
    assert exported.returncode == 0, exported.stderr
    again = _kuma_cp(source, "export", "--profile", "all", "--include-admin")
    assert again.stdout == backup.read_text()  # the same store, the same bytes
    restored = _kuma_cp(target, "import", "-f", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert _kuma_cp(target, "export", "--profile", "all", "-a").stdout == backup.read_text()
    assert _kuma_cp(target, "import", "-f", str(backup)).stdout.endswith(
        "0 created, 0 updated, 40 unchanged\n"
    )
    kube = _kuma_cp(source, "export", "--profile", "all", "--format", "kubernetes")
    assert kube.returncode == 0, kube.stderr
    assert kube.stdout.count("apiVersion: kuma.io/v1alpha1") == 40


def test_a_bad_file_changes_nothing_and_says_every_problem(pg_database: str, tmp_path: Path) -> None:
    env = migrated_pg_env(pg_database)
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: Mesh\nname: default\n---\ntype: Nope\nname: x\n---\ntype: Mesh\nname: UPPER\n")
    failed = _kuma_cp(env, "import", "-f", str(bad))
    assert failed.returncode == 1
    lines = failed.stderr.splitlines()
    assert lines[0] == f'Error: {bad}: document 2: unknown type "Nope"'
    assert lines[1].startswith(f"{bad}: document 3: Resource is not valid: name: ")
    assert lines[-1] == "nothing was imported"
    assert _rows(pg_database) == []
    dry = _kuma_cp(env, "import", "-f", "-", "--dry-run", stdin="type: Mesh\nname: default\n")
    assert dry.stdout == "would import 1 resources: 1 created, 0 updated, 0 unchanged\n"
    assert _rows(pg_database) == []
    assert _kuma_cp(env, "export", "--profile", "nope").stderr == 'Error: invalid profile: "nope"\n'
    missing = _kuma_cp(env, "import", "-f", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"Error: {tmp_path / 'missing.yaml'}: [Errno 2] No such file")


def test_an_import_killed_midway_leaves_postgres_unchanged(pg_database: str, tmp_path: Path) -> None:
    env = migrated_pg_env(pg_database)
    assert _kuma_cp(env, "import", "-f", "-", stdin="type: Mesh\nname: before\n").returncode == 0
    before = _rows(pg_database)
    big = tmp_path / "big.yaml"
    big.write_text(import_text(10_000))
    process = subprocess.Popen(
        [*KUMA_CP, "import", "-f", str(big)],
        env=_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    watcher = psycopg.connect(pg_database, autocommit=True)
    query = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 60
    while watcher.execute(query).fetchone() == (0,):  # until the import's transaction has written
        assert process.poll() is None, "the import ended before it began to write"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.5)  # well into its writes
    assert process.poll() is None  # midway: it has not finished
    process.send_signal(signal.SIGKILL)
    process.wait()
    watcher.close()
    assert process.returncode == -signal.SIGKILL
    assert _rows(pg_database) == before


def test_a_terminal_gets_a_progress_bar(pg_database: str, tmp_path: Path) -> None:
    env = migrated_pg_env(pg_database)
    big = tmp_path / "big.yaml"
    big.write_text(import_text(3000))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal's size
    process = subprocess.Popen(
        [*KUMA_CP, "import", "-f", str(big)], env=_env(env), stdout=subprocess.DEVNULL, stderr=follower
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    process.wait()
    os.close(leader)
    assert process.returncode == 0
    assert b"| 3000/3000 [" in seen
    assert b"resource/s]" in seen


def test_export_reads_a_running_control_plane(pg_database: str) -> None:
    with running() as plane:  # a memory store: only its API can export it
        assert plane.put("/meshes/default/meshtimeouts/mt-1", POLICY).status_code == 201
        url = f"http://127.0.0.1:{plane.api_port}"
        exported = _kuma_cp({}, "export", "--api", url, "--profile", "all", "-a")
    assert exported.returncode == 0, exported.stderr
    header, *docs = exported.stdout.split("---\n")
    assert header.startswith("# Product: Kuma, Version: ")
    assert any("name: mt-1" in d and "team: a" in d for d in docs)
    env = migrated_pg_env(pg_database)  # the same documents, restored into Postgres, export the same
    assert _kuma_cp(env, "import", "-f", "-", stdin=exported.stdout).returncode == 0
    assert _kuma_cp(env, "export", "--profile", "all", "-a").stdout == "---\n" + "---\n".join(docs)
    unreachable = _kuma_cp({}, "export", "--api", "http://127.0.0.1:1")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("Error: could not reach the control plane at http://127.0.0.1:1")


@pytest.mark.k8s
def test_universal_to_kubernetes(tmp_path: Path) -> None:
    from kuma_cp.crds import crd_documents
    from kv.drivers.k8s import provision
    from tests.conftest import install_crds, k8s_kubeconfig

    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, crd_documents(with_schemas=False))  # as tests/kv/test_k8s.py installs them
    api = provision.api_client(kubeconfig)
    for namespace in ("kuma-system", "team-a"):
        provision.ensure_namespace(api, namespace)
    api.close()  # type: ignore[no-untyped-call]
    mesh = f"m-{os.getpid()}"
    universal = tmp_path / "universal.yaml"
    universal.write_text(
        f"type: Mesh\nname: {mesh}\n---\n"
        + POLICY_YAML.format(mesh=mesh)
        + f"---\ntype: Secret\nmesh: {mesh}\nname: s-{mesh}\ndata: aGk=\n"
    )
    env = {"KUMA_STORE_TYPE": "kubernetes", "KUBECONFIG": kubeconfig}
    refused = _kuma_cp(env, "import", "-f", str(universal))
    assert refused.returncode == 1
    assert 'document 2: name "mt-1" must include namespace after the dot' in refused.stderr
    placed = _kuma_cp(env, "import", "-f", str(universal), "--namespace", "team-a")
    assert placed.stdout == "imported 3 resources: 3 created, 0 updated, 0 unchanged\n", placed.stderr
    try:
        exported = _kuma_cp(env, "export", "--profile", "all", "-a", "--format", "kubernetes")
        objects = {
            (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
            for d in yamlout.load_all(exported.stdout)
            if d and (d.get("mesh") or d["metadata"].get("labels", {}).get("kuma.io/mesh")) == mesh
        }
        assert objects == {("MeshTimeout", "team-a", "mt-1"), ("Secret", "kuma-system", f"s-{mesh}")}
    finally:
        store = kv.Store(_driver(kubeconfig), catalog=resources.catalog())
        store.delete("Mesh", "", mesh)  # and, Kuma's cascade, what is in it
        store.close()


POLICY_YAML = """type: MeshTimeout
name: mt-1
mesh: {mesh}
spec:
  targetRef: {{kind: Mesh}}
  to: [{{targetRef: {{kind: Mesh}}, default: {{connectionTimeout: 2s}}}}]
"""


def _driver(kubeconfig: str) -> Any:
    from kuma_cp.crds import kinds
    from kv.drivers.k8s import KubernetesDriver

    return KubernetesDriver.from_url(
        kinds=kinds(),
        kubeconfig=kubeconfig,
        system_namespace="kuma-system",
        annotation_labels=resources.ANNOTATION_LABELS,
    )
