"""The plugin's backends as a user's suite meets them (pytester): the choice, Postgres, Kubernetes, xdist."""

from __future__ import annotations

import glob

import pytest

from tests.conftest import k8s_kubeconfig, pg_dsn

pytest_plugins = ["pytester"]

ISOLATION = """
import kv

def test_writes(kv_store):
    kv_store.create(kv.Record(key=kv.Key("Widget", "default", "w")))
    assert kv_store.list("Widget").total == 1

def test_starts_empty(kv_store):
    assert kv_store.list("Widget").total == 0

def test_kuma_types(kuma_store):
    kuma_store.create(kv.Record(key=kv.Key("Mesh", "", "default")))
    owner = kv.Key("Mesh", "", "default")
    kuma_store.create(kv.Record(key=kv.Key("MeshTimeout", "default", "mt.kuma-system")), owner=owner)
    kuma_store.delete("Mesh", "", "default")
    assert kuma_store.list("MeshTimeout").total == 0  # Kuma's owner cascade

def test_kuma_starts_empty(kuma_store):
    assert kuma_store.list("Mesh").total == 0
"""


def _ids(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = pytester.runpytest("-p", "no:cacheprovider", "--co", "-q", *args)
    return [line for line in result.outlines if "::" in line]


def test_the_default_is_memory_and_ids_name_the_backend(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ISOLATION)
    ids = _ids(pytester)
    assert [i.split("::")[1] for i in ids] == [
        "test_writes[memory]",
        "test_starts_empty[memory]",
        "test_kuma_types[memory]",
        "test_kuma_starts_empty[memory]",
    ]
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4)


def test_backends_come_from_the_flag_or_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(ISOLATION)
    flagged = [i.split("::")[1] for i in _ids(pytester, "--kv-backend=postgres", "--kv-backend=memory")]
    assert flagged[:2] == ["test_writes[memory]", "test_writes[postgres]"]  # a stable order
    assert len(_ids(pytester, "--kv-backend=all")) == 12
    monkeypatch.setenv("KV_TEST_BACKENDS", "kubernetes, memory")
    assert [i.split("::")[1] for i in _ids(pytester)][:2] == [
        "test_writes[memory]",
        "test_writes[kubernetes]",
    ]
    monkeypatch.setenv("KV_TEST_BACKENDS", "cassandra")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert "KV_TEST_BACKENDS: unknown backends ['cassandra']" in result.stderr.str()


@pytest.mark.postgres
def test_postgres_on_a_given_server_isolates_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ISOLATION)
    chosen = ("--kv-backend=memory", "--kv-backend=postgres", f"--kv-postgres-dsn={pg_dsn()}")
    result = pytester.runpytest("-p", "no:cacheprovider", *chosen)
    result.assert_outcomes(passed=8)


@pytest.mark.postgres
def test_postgres_without_a_server_starts_a_throwaway_one(pytester: pytest.Pytester) -> None:
    before = set(glob.glob("/tmp/kv-postgres-*"))
    pytester.makepyfile(ISOLATION)
    result = pytester.runpytest("-p", "no:cacheprovider", "--kv-backend=postgres")
    result.assert_outcomes(passed=4)
    assert set(glob.glob("/tmp/kv-postgres-*")) == before  # stopped and removed


@pytest.mark.postgres
def test_under_xdist_each_worker_has_its_own_server_or_database(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        ISOLATION.replace("def test_", "def test_a_") + ISOLATION.replace("def test_", "def test_b_")
    )
    for extra in ([], [f"--kv-postgres-dsn={pg_dsn()}"]):
        result = pytester.runpytest("-p", "no:cacheprovider", "-n", "2", "--kv-backend=postgres", *extra)
        result.assert_outcomes(passed=8)


def test_missing_postgres_binaries_say_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("kv.testing.pgserver.DEBIAN_LAYOUT", "/nonexistent/*/bin")
    monkeypatch.delenv("KV_TEST_POSTGRES_DSN", raising=False)
    pytester.makepyfile(ISOLATION)
    result = pytester.runpytest("-p", "no:cacheprovider", "--kv-backend=postgres", "-k", "test_writes")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*the postgres backend: PostgreSQL's server binaries*apt-get install postgresql*"]
    )


def test_kubernetes_without_a_cluster_is_an_error_not_a_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ISOLATION)
    result = pytester.runpytest("-p", "no:cacheprovider", "--kv-backend=kubernetes", "-k", "test_writes")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the kubernetes backend needs a cluster: --kv-kubeconfig*"])


@pytest.mark.k8s
def test_kubernetes_isolates_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ISOLATION)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--kv-backend=kubernetes", f"--kv-kubeconfig={k8s_kubeconfig()}"
    )
    result.assert_outcomes(passed=4)
