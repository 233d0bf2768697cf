"""``kuma-cp import``: every problem reported at once, nothing half-written, times and labels kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import kv
from kuma_cp import resources
from kuma_cp.portability import documents, importer, yamlout
from tests.conftest import kuma_pg_store

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MESH = "type: Mesh\nname: default\n"
TIMEOUT = """type: MeshTimeout
name: {name}
mesh: default
labels: {{team: a}}
creationTime: "2024-05-01T10:00:00.5Z"
modificationTime: "2024-05-02T10:00:00Z"
spec:
  targetRef: {{kind: Mesh}}
  to: [{{targetRef: {{kind: Mesh}}, default: {{connectionTimeout: {timeout}}}}}]
"""


def _memory() -> kv.Store:
    return kv.open("memory://", catalog=resources.catalog())


def _read(text: str, source: str = "in.yaml", **options: Any) -> list[documents.Document]:
    docs, problems = documents.read(text, source, now=NOW, **options)
    assert problems == []
    return docs


def _problems(text: str, **options: Any) -> list[str]:
    return [str(p) for p in documents.read(text, "in.yaml", now=NOW, **options)[1]]


def _import(store: kv.Store, text: str, **options: Any) -> importer.Outcome:
    return importer.run(store, _read(text), **options)


def test_every_problem_is_reported_with_its_file_and_document() -> None:
    text = "\n---\n".join(
        [
            MESH,
            "type: NoSuchType\nname: x\n",
            TIMEOUT.format(name="mt-1", timeout="soon"),
            "- a list\n",
            "type: Mesh\nname: Bad_Name\n",
            TIMEOUT.format(name="mt-2", timeout="1s"),
        ]
    )
    problems = _problems(text)
    assert problems[0] == 'in.yaml: document 2: unknown type "NoSuchType"'
    assert problems[1] == (
        'in.yaml: document 3: invalid MeshTimeout object: "time: invalid duration \\"soon\\""'
    )
    assert problems[2] == "in.yaml: document 4: a document is a map of fields, not list"
    assert problems[3].startswith("in.yaml: document 5: Resource is not valid: name: ")
    assert len(problems) == 4


def test_yaml_that_is_not_yaml_names_the_document() -> None:
    problems = _problems(MESH + "---\nkey: [unclosed\n")
    assert len(problems) == 1
    assert problems[0].startswith("in.yaml: document 2: not YAML: ")


def test_missing_meshes_repeats_and_taken_keys_are_found_before_any_write() -> None:
    store = _memory()
    _import(store, MESH)
    docs = _read(TIMEOUT.format(name="mt-1", timeout="1s")) + _read(
        TIMEOUT.format(name="mt-2", timeout="1s").replace("mesh: default", "mesh: nowhere")
        + "---\n"
        + MESH
        + "---\n"
        + TIMEOUT.format(name="mt-1", timeout="2s"),
        "b.yaml",
    )
    with pytest.raises(importer.ImportFailed) as failed:
        importer.run(store, docs, mode="create")
    assert failed.value.problems == [
        "b.yaml: document 1: mesh of name nowhere is not found",
        'b.yaml: document 2: resource already exists: type="Mesh" name="default" mesh="" (--mode create)',
        "b.yaml: document 3: the same resource as in.yaml document 1",
    ]
    assert store.list("MeshTimeout").total == 0


def test_times_and_labels_are_kept_and_absent_times_are_now() -> None:
    store = _memory()
    assert str(_import(store, MESH + "---\n" + TIMEOUT.format(name="mt-1", timeout="1s"))) == (
        "imported 2 resources: 2 created, 0 updated, 0 unchanged"
    )
    timeout = store.get("MeshTimeout", "default", "mt-1")
    assert timeout.creation_time == datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert timeout.modification_time == datetime(2024, 5, 2, 10, tzinfo=UTC)
    assert timeout.labels == {"team": "a"}
    assert timeout.owner == kv.Key("Mesh", "", "default")  # deleting the Mesh deletes it, as in Kuma
    mesh = store.get("Mesh", "", "default")
    assert mesh.creation_time == mesh.modification_time == NOW


def test_upsert_is_idempotent_and_updates_what_changed() -> None:
    store = _memory()
    text = MESH + "---\n" + TIMEOUT.format(name="mt-1", timeout="1s")
    _import(store, text)
    before = store.get("MeshTimeout", "default", "mt-1")
    assert str(_import(store, text)) == "imported 2 resources: 0 created, 0 updated, 2 unchanged"
    assert store.get("MeshTimeout", "default", "mt-1").version == before.version
    changed = _import(store, MESH + "---\n" + TIMEOUT.format(name="mt-1", timeout="9s"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    after = store.get("MeshTimeout", "default", "mt-1")
    assert after.spec["to"][0]["default"]["connectionTimeout"] == "9s"
    assert after.creation_time == before.creation_time


def test_dry_run_counts_and_changes_nothing() -> None:
    store = _memory()
    _import(store, MESH)
    outcome = _import(store, MESH + "---\n" + TIMEOUT.format(name="mt-1", timeout="1s"), dry_run=True)
    assert str(outcome) == "would import 2 resources: 1 created, 0 updated, 1 unchanged"
    assert store.list("MeshTimeout").total == 0


def test_kubernetes_objects_import_as_the_resources_they_hold() -> None:
    store = _memory()
    exported = (
        "apiVersion: kuma.io/v1alpha1\nkind: Mesh\nmetadata: {name: default}\nspec: {}\n---\n"
        "apiVersion: kuma.io/v1alpha1\nkind: MeshTimeout\n"
        "metadata: {name: mt-1, namespace: kuma-system, labels: {kuma.io/mesh: default},"
        " annotations: {kuma.io/display-name: mt-1}, creationTimestamp: '2024-05-01T10:00:00Z'}\n"
        "spec: {targetRef: {kind: Mesh}, to: [{targetRef: {kind: Mesh}, default: {idleTimeout: 1s}}]}\n---\n"
        "apiVersion: v1\nkind: Secret\ntype: system.kuma.io/secret\n"
        "metadata: {name: s-1, namespace: kuma-system, labels: {kuma.io/mesh: default}}\n"
        "data: {value: aGk=}\n"
    )
    _import(store, exported)
    timeout = store.get("MeshTimeout", "default", "mt-1.kuma-system")
    assert timeout.labels == {"kuma.io/mesh": "default", "kuma.io/display-name": "mt-1"}
    assert timeout.creation_time == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert store.get("Secret", "default", "s-1").spec == {"data": "aGk="}
    placed = _read(exported, namespace="team-a")[1]
    assert placed.key.name == "mt-1.team-a"
    assert _problems("apiVersion: v1\nkind: Secret\ntype: Opaque\nmetadata: {name: x}\n") == [
        "in.yaml: document 1: a Secret of type 'Opaque' is not a Kuma secret"
    ]


def test_universal_names_on_kubernetes_follow_name_dot_namespace() -> None:
    def text(name: str) -> str:
        return MESH + "---\n" + TIMEOUT.format(name=name, timeout="1s")

    assert _read(text("mt.ns-1"), kubernetes=True)[1].key.name == "mt.ns-1"
    assert _read(text("mt"), kubernetes=True, namespace="ns-2")[1].key.name == "mt.ns-2"
    assert _read(text("mt.ns-2"), kubernetes=True, namespace="ns-2")[1].key.name == "mt.ns-2"
    assert _read(MESH, kubernetes=True, namespace="ns-2")[0].key.name == "default"  # cluster-scoped
    assert _problems(text("mt"), kubernetes=True) == [
        'in.yaml: document 2: name "mt" must include namespace after the dot, ex. "name.namespace"'
        " (or give --namespace)"
    ]
    assert _problems(text("mt"), kubernetes=True, namespace="Team_A") == [
        'in.yaml: document 2: namespace "Team_A" of name "mt.Team_A" is not a valid Kubernetes namespace'
    ]
    long = "n" * 64
    assert _problems(text(f"mt.{long}"), kubernetes=True) == [
        f'in.yaml: document 2: namespace "{long}" of name "mt.{long}" is not a valid Kubernetes namespace'
    ]
    assert _problems(text("mt")) == []  # Universal: any name Kuma allows


@pytest.mark.postgres
def test_on_postgres_a_failure_midway_writes_nothing(pg_database: str) -> None:
    store, racer = kuma_pg_store(pg_database), kuma_pg_store(pg_database)
    texts = [MESH] + [TIMEOUT.format(name=f"mt-{i}", timeout="1s") for i in range(5)]
    docs = _read("---\n".join(texts))

    def race(_: int, calls: list[int] = []) -> None:  # noqa: B006 - counts this import's writes
        calls.append(1)
        if len(calls) == 3:  # another writer takes mt-3's name while the import is midway
            racer.create(kv.Record(key=kv.Key("MeshTimeout", "default", "mt-3")), owner=None)

    with pytest.raises(importer.ImportFailed) as failed:
        importer.run(store, docs, progress=race)
    assert failed.value.problems[0].startswith("in.yaml: document 5: resource already exists")
    assert failed.value.summary == "nothing was imported"
    assert [r.key.name for r in store.list("MeshTimeout").items] == ["mt-3"]  # only the racer's
    assert store.list("Mesh").total == 0
    store.close()
    racer.close()


def test_on_memory_a_failure_midway_says_what_was_written() -> None:
    store = _memory()
    docs = _read("---\n".join([MESH] + [TIMEOUT.format(name=f"mt-{i}", timeout="1s") for i in range(3)]))

    def progress(_: int) -> None:  # another writer takes mt-2's name after the first MeshTimeout
        if store.list("MeshTimeout").total == 1:
            store.create(
                kv.Record(key=kv.Key("MeshTimeout", "default", "mt-2")), owner=kv.Key("Mesh", "", "default")
            )

    with pytest.raises(importer.ImportFailed) as failed:
        importer.run(store, docs, progress=progress)
    assert failed.value.summary.startswith("3 resources were written before the failure")


def test_export_documents_read_back_as_yaml() -> None:
    assert list(yamlout.load_all(yamlout.dump({"t": "2024-01-01T00:00:00Z"}))) == [
        {"t": "2024-01-01T00:00:00Z"}
    ]
