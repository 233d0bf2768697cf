"""``kuma-cp export`` as ``kumactl export``: its profiles, its order, its YAML, the same bytes every time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import kv
from kuma_cp import resources
from kuma_cp.portability import yamlout
from kuma_cp.portability.exporter import ExportError, StoreSource, export, plan

T0 = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
TARGET_REF = {"targetRef": {"kind": "Mesh"}, "to": [{"targetRef": {"kind": "Mesh"}, "default": {}}]}


def _put(store: kv.Store, type_name: str, mesh: str, name: str, spec: dict[str, Any], **labels: str) -> None:
    rtype = resources.get(type_name)
    owner = kv.Key("Mesh", "", mesh) if rtype.scope is kv.Scope.MESH else None
    record = kv.Record(key=kv.Key(type_name, mesh, name), spec=spec, labels=labels)
    store.create(record, owner=owner, creation_time=T0)


@pytest.fixture
def store() -> kv.Store:
    store = kv.open("memory://", catalog=resources.catalog())
    for mesh in ("zeta", "alpha"):
        _put(store, "Mesh", "", mesh, {}, **{"kuma.io/origin": "zone"})
    _put(store, "Dataplane", "alpha", "dp-1", {"networking": {"address": "10.0.0.1"}})
    _put(store, "MeshTimeout", "alpha", "mt-1", TARGET_REF, **{"kuma.io/origin": "zone", "team": "a"})
    _put(store, "MeshTimeout", "zeta", "mt-2", TARGET_REF)
    _put(store, "Secret", "zeta", "s-1", {"data": "aGk="})
    for name in ("user-token-signing-key-1", "envoy-admin-ca", "inter-cp-ca", "other"):
        _put(store, "GlobalSecret", "", name, {"data": "aGk="})
    return store


def _documents(store: kv.Store, **options: Any) -> list[dict[str, Any]]:
    text = "".join(export(StoreSource(store), **options))
    return [d for d in yamlout.load_all(text) if d is not None]


def _keys(docs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (d.get("type") or d["kind"], d.get("mesh", ""), d.get("name") or d["metadata"]["name"]) for d in docs
    ]


def test_federation_exports_meshes_first_then_secrets_and_no_targetref_policies(store: kv.Store) -> None:
    assert _keys(_documents(store)) == [
        ("Mesh", "", "alpha"),
        ("Mesh", "", "zeta"),
        ("Secret", "zeta", "s-1"),
        ("GlobalSecret", "", "other"),  # never envoy-admin-ca or inter-cp-ca
        ("GlobalSecret", "", "user-token-signing-key-1"),  # signing keys last
    ]


def test_federation_with_policies_adds_the_policies_mesh_by_mesh(store: kv.Store) -> None:
    keys = _keys(_documents(store, profile="federation-with-policies"))
    assert keys[2:5] == [
        ("Secret", "zeta", "s-1"),
        ("MeshTimeout", "alpha", "mt-1"),
        ("MeshTimeout", "zeta", "mt-2"),
    ]
    assert ("Dataplane", "alpha", "dp-1") not in keys  # zones own their Dataplanes


def test_all_skips_admin_types_unless_asked(store: kv.Store) -> None:
    keys = _keys(_documents(store, profile="all"))
    assert ("Dataplane", "alpha", "dp-1") in keys
    assert not {"Secret", "GlobalSecret"} & {k[0] for k in keys}
    with_admin = _keys(_documents(store, profile="all", include_admin=True))
    assert ("Secret", "zeta", "s-1") in with_admin


def test_no_dataplanes_drops_dataplanes() -> None:
    descriptors = [
        {"name": n, "includeInFederation": False} for n in ("Dataplane", "DataplaneInsight", "Mesh")
    ]
    assert [t.name for t in plan(descriptors, "no-dataplanes", False).types] == ["Mesh"]
    assert plan([{"name": "NoSuchType"}], "all", False).unknown == ["NoSuchType"]


def test_meshes_skip_initial_policies_and_federation_drops_the_origin_label(store: kv.Store) -> None:
    mesh = _documents(store)[0]
    assert mesh["skipCreatingInitialPolicies"] == ["*"]
    assert "labels" not in mesh  # its only label was kuma.io/origin
    timeout = next(
        d for d in _documents(store, profile="federation-with-policies") if d["type"] == "MeshTimeout"
    )
    assert timeout["labels"] == {"team": "a"}
    kept = next(d for d in _documents(store, profile="all") if d.get("name") == "mt-1")
    assert kept["labels"] == {"kuma.io/origin": "zone", "team": "a"}


def test_universal_text_is_kumactls(store: kv.Store) -> None:
    text = "".join(export(StoreSource(store), profile="all"))
    assert text.startswith(
        "---\n"
        'creationTime: "2024-05-01T10:00:00.123456Z"\n'
        "kri: kri_m____alpha_\n"
        "labels:\n"
        "  kuma.io/origin: zone\n"
        'modificationTime: "2024-05-01T10:00:00.123456Z"\n'
        "name: alpha\n"
        "type: Mesh\n"
        "skipCreatingInitialPolicies:\n"
        "- '*'\n"
        "---\n"
    )
    assert (
        "---\n"
        'creationTime: "2024-05-01T10:00:00.123456Z"\n'
        "kri: kri_mt_zeta___mt-2_\n"
        "mesh: zeta\n"
        'modificationTime: "2024-05-01T10:00:00.123456Z"\n'
        "name: mt-2\n"
        "spec:\n"
        "  targetRef:\n"
        "    kind: Mesh\n"
        "  to:\n"
        "  - default: {}\n"
        "    targetRef:\n"
        "      kind: Mesh\n"
        "type: MeshTimeout\n"
    ) in text


def test_kubernetes_format_separates_documents_and_keeps_the_system_namespace(store: kv.Store) -> None:
    _put(store, "MeshTimeout", "alpha", "elsewhere.team-ns", TARGET_REF)
    text = "".join(export(StoreSource(store), profile="federation-with-policies", fmt="kubernetes"))
    assert not text.startswith("---")
    docs = [d for d in yamlout.load_all(text) if d]
    assert docs[0] == {
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "Mesh",
        "metadata": {"creationTimestamp": "2024-05-01T10:00:00Z", "labels": {}, "name": "alpha"},
        "spec": {"skipCreatingInitialPolicies": ["*"]},
    }  # Go keeps the emptied labels map
    names = [d["metadata"]["name"] for d in docs]
    assert "elsewhere" not in names  # outside the system namespace: not applicable on a global
    every = [d["metadata"]["name"] for d in _documents(store, profile="all", fmt="kubernetes")]
    assert "elsewhere" in every


def test_the_same_store_gives_the_same_bytes(store: kv.Store) -> None:
    for fmt in ("universal", "kubernetes"):
        first = "".join(export(StoreSource(store, page_size=2), profile="all", fmt=fmt, include_admin=True))
        again = "".join(export(StoreSource(store), profile="all", fmt=fmt, include_admin=True))
        assert first
        assert first == again


def test_bad_arguments_are_kumas_errors(store: kv.Store) -> None:
    with pytest.raises(ExportError, match=r'^invalid profile: "nope"$'):
        export(StoreSource(store), profile="nope")
    with pytest.raises(ExportError, match=r'^invalid format: "yaml"$'):
        export(StoreSource(store), fmt="yaml")
