"""The Kubernetes driver's watch cache, on a real API server.

What is read from it and what still asks the server, how objects written behind the driver's back
arrive, owner cascades from its index, and a watch that expires (410 Gone).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

import kv
from kuma_cp import resources
from kuma_cp.crds import crd_documents, kinds
from kv.drivers.k8s import KubernetesDriver
from tests.conftest import install_crds, k8s_kubeconfig, until

pytestmark = pytest.mark.k8s
SYSTEM = "kuma-system"
MT_SPEC = {"targetRef": {"kind": "Mesh"}}


def _driver(**options: Any) -> KubernetesDriver:
    return KubernetesDriver.from_url(
        kinds=kinds(),
        kubeconfig=k8s_kubeconfig(),
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
        **options,
    )


@pytest.fixture(scope="module")
def crds() -> None:
    install_crds(k8s_kubeconfig(), crd_documents(with_schemas=False))


@pytest.fixture
def driver(crds: None, request: pytest.FixtureRequest) -> Iterator[KubernetesDriver]:
    driver = _driver(**getattr(request, "param", {}))
    yield driver
    driver.close()


class Requests:
    """Counts the requests a driver makes: every one passes its rate limiter."""

    def __init__(self, driver: KubernetesDriver, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        acquire = driver._limiter.acquire

        def counted() -> None:
            self.count += 1
            acquire()

        monkeypatch.setattr(driver._limiter, "acquire", counted)
        for informer in driver._informers.values():
            monkeypatch.setattr(informer, "_before_call", counted)


def _mesh(store: kv.Store, name: str) -> kv.Record:
    with contextlib.suppress(kv.NotFound):
        store.delete("Mesh", "", name)
    return store.create(kv.Record(key=kv.Key("Mesh", "", name), spec={}))


def test_reads_come_from_the_cache_and_consistent_ones_from_the_server(
    driver: KubernetesDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = kv.Store(driver, catalog=resources.catalog())
    mesh = _mesh(store, "cache-reads")
    requests = Requests(driver, monkeypatch)
    for _ in range(50):
        assert store.get("Mesh", "", "cache-reads").version == mesh.version
        assert "cache-reads" in {r.key.name for r in store.list("Mesh").items}
    with pytest.raises(kv.NotFound):
        store.get("Mesh", "", "no-such-mesh")
    assert requests.count == 0, "a read asked the API server"
    assert store.get("Mesh", "", "cache-reads", consistent=True).version == mesh.version
    assert requests.count == 1


def test_writes_read_back_at_once_and_others_arrive_through_the_watch(driver: KubernetesDriver) -> None:
    store = kv.Store(driver, catalog=resources.catalog())
    mesh = _mesh(store, "cache-watch")
    updated = store.update(
        kv.Record(key=mesh.key, spec={"skipCreatingInitialPolicies": ["*"]}, version=mesh.version)
    )
    assert store.get("Mesh", "", "cache-watch").version == updated.version  # no wait: read your writes
    body = {
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "Mesh",
        "metadata": {"name": "cache-behind"},
        "spec": {},
    }
    driver._call.custom.create_cluster_custom_object("kuma.io", "v1alpha1", "meshes", body)  # another writer
    try:
        assert store.get("Mesh", "", "cache-behind", consistent=True).key.name == "cache-behind"
        assert until(lambda: "cache-behind" in {r.key.name for r in store.list("Mesh").items}, 5.0)
    finally:
        driver._call.custom.delete_cluster_custom_object("kuma.io", "v1alpha1", "meshes", "cache-behind")
    assert until(lambda: "cache-behind" not in {r.key.name for r in store.list("Mesh").items}, 5.0)
    store.delete("Mesh", "", "cache-watch")
    with pytest.raises(kv.NotFound):
        store.get("Mesh", "", "cache-watch")  # a delete is gone from the cache when it returns


def _owned(store: kv.Store, mesh: str, count: int) -> list[kv.Key]:
    keys = [kv.Key("MeshTimeout", mesh, f"mt-{i}.{SYSTEM}") for i in range(count)]
    for key in keys:
        store.create(kv.Record(key=key, spec=MT_SPEC), owner=kv.Key("Mesh", "", mesh))
    return keys


@pytest.mark.parametrize(
    "driver", [{}, {"skip_owner_references": {"Mesh"}}], indirect=True, ids=["refs", "skip"]
)
def test_a_mesh_owns_its_resources_and_deleting_it_lists_nothing(
    driver: KubernetesDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = kv.Store(driver, catalog=resources.catalog())
    mesh = _mesh(store, "cache-owner")
    keys = _owned(store, "cache-owner", 4)
    obj = driver._call.custom.get_namespaced_custom_object(
        "kuma.io", "v1alpha1", SYSTEM, "meshtimeouts", "mt-0"
    )
    references = obj["metadata"].get("ownerReferences") or []
    if driver._skip_references:  # KUMA_RUNTIME_KUBERNETES_SKIP_MESH_OWNER_REFERENCE: no garbage collection
        assert references == []
    else:
        mesh_obj = driver._call.custom.get_cluster_custom_object(
            "kuma.io", "v1alpha1", "meshes", "cache-owner"
        )
        assert references == [
            {
                "apiVersion": "kuma.io/v1alpha1",
                "kind": "Mesh",
                "name": "cache-owner",
                "uid": mesh_obj["metadata"]["uid"],
            }
        ]
    for informer in driver._informers.values():
        informer.sync()  # every kind watched, as under kuma-cp
    requests = Requests(driver, monkeypatch)
    store.delete("Mesh", "", mesh.key.name)
    assert requests.count == 1 + len(keys), "a delete made other requests than one DELETE per object"
    for key in keys:
        with pytest.raises(kv.NotFound):
            store.get(key.type, key.mesh, key.name, consistent=True)


def test_an_expired_watch_lists_again_and_subscribers_are_told(driver: KubernetesDriver) -> None:
    store = kv.Store(driver, catalog=resources.catalog())
    _mesh(store, "cache-gone")
    with store.subscribe() as subscription:
        informer = driver._informers["Mesh"]
        dropped = subscription.dropped
        body = {
            "apiVersion": "kuma.io/v1alpha1",
            "kind": "Mesh",
            "metadata": {"name": "cache-gone-2"},
            "spec": {},
        }
        informer._version = "1"  # long compacted away: the API server answers the next watch with 410 Gone
        informer.stop()  # cut the open watch: it resumes from that version
        driver._call.custom.create_cluster_custom_object("kuma.io", "v1alpha1", "meshes", body)
        try:
            assert until(lambda: subscription.dropped > dropped, 5.0), "no gap reported after a 410"
            assert until(lambda: "cache-gone-2" in {r.key.name for r in store.list("Mesh").items}, 5.0)
            store.create(kv.Record(key=kv.Key("Mesh", "", "cache-gone-3"), spec={}))
            assert until(
                lambda: any(
                    isinstance(e, kv.ResourceChanged) and e.name == "cache-gone-3"
                    for e in iter(lambda: subscription.get(timeout=0.05), None)
                ),
                5.0,
            ), "events did not resume after the re-list"
        finally:
            for name in ("cache-gone", "cache-gone-2", "cache-gone-3"):
                with contextlib.suppress(kv.NotFound):
                    store.delete("Mesh", "", name)
