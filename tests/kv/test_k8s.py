"""What only the Kubernetes driver has: Kuma's object mapping, the API server's errors, kuma-cp on it."""

from __future__ import annotations

import base64
import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import kv
from kuma_cp import resources
from kuma_cp.crds import crd_documents, kinds
from kv import testing
from kv.drivers.k8s import Kind, KubernetesDriver
from tests.conftest import install_crds, k8s_kubeconfig

pytestmark = pytest.mark.k8s
KUMA_TYPES = testing.Types(**resources.KUMA_TEST_TYPES)
SYSTEM = "kuma-system"
MTP_SPEC = {  # valid Kuma 3.0: rules, not from
    "targetRef": {"kind": "Mesh"},
    "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://default"}}]}}],
}


def _clean(driver: KubernetesDriver) -> None:
    driver.refresh()
    for kind in driver._kinds.values():
        rows, _ = driver.list(kv.driver.Query(type=kind.type))
        for row in rows:
            with contextlib.suppress(kv.NotFound):  # already gone with its owner
                driver.delete(row.key)


@pytest.fixture(scope="module")
def kuma_driver() -> Iterator[KubernetesDriver]:
    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, crd_documents(with_schemas=False))  # Kuma's store cases write any spec
    driver = KubernetesDriver.from_url(
        kinds=kinds(),
        kubeconfig=kubeconfig,
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
    )
    yield driver
    driver.close()


@pytest.fixture
def store(kuma_driver: KubernetesDriver) -> kv.Store:
    _clean(kuma_driver)
    return kv.Store(kuma_driver, catalog=resources.catalog())


def _raw(driver: KubernetesDriver, kind: str, namespace: str | None, name: str) -> dict[str, Any]:
    k: Kind = driver._kinds[kind]
    result: dict[str, Any] = driver._call(k, "get", namespace, name=name)
    return result


@pytest.mark.parametrize(
    "check", [c for c in testing.CHECKS if c.kuma_case and c.kuma_case <= 26], ids=lambda c: c.name
)
def test_kumas_store_cases_with_kumas_kinds(check: testing.Check, kuma_driver: KubernetesDriver) -> None:
    def fresh() -> kv.Store:
        _clean(kuma_driver)
        return kv.Store(kuma_driver, catalog=resources.catalog())

    testing.run_check(check, fresh, KUMA_TYPES)


def test_objects_are_kumas_custom_objects(store: kv.Store, kuma_driver: KubernetesDriver) -> None:
    store.create(kv.Record(key=kv.Key("Mesh", "", "default"), spec={"skipCreatingInitialPolicies": ["*"]}))
    policy = kv.Record(
        key=kv.Key("MeshTrafficPermission", "default", "mtp-1.kuma-demo"),
        spec={"targetRef": {"kind": "Mesh"}},
        labels={"kuma.io/display-name": "A long display name, with spaces", "app": "web"},
    )
    store.create(policy, owner=kv.Key("Mesh", "", "default"))
    mesh = _raw(kuma_driver, "Mesh", None, "default")
    assert (mesh["apiVersion"], mesh["kind"], mesh["spec"]) == (
        "kuma.io/v1alpha1",
        "Mesh",
        {"skipCreatingInitialPolicies": ["*"]},
    )
    obj = _raw(kuma_driver, "MeshTrafficPermission", "kuma-demo", "mtp-1")
    assert obj["metadata"]["labels"]["kuma.io/mesh"] == "default"
    assert obj["metadata"]["labels"]["app"] == "web"
    assert obj["metadata"]["annotations"]["kuma.io/display-name"] == "A long display name, with spaces"
    assert obj["metadata"]["ownerReferences"][0]["name"] == "default"
    got = store.get("MeshTrafficPermission", "default", "mtp-1.kuma-demo")
    assert (got.labels, got.spec, got.owner) == (policy.labels, policy.spec, kv.Key("Mesh", "", "default"))
    with pytest.raises(kv.NotFound):
        store.get("MeshTrafficPermission", "other", "mtp-1.kuma-demo")  # the same object, another mesh


def test_legacy_types_keep_the_mesh_in_a_field(store: kv.Store, kuma_driver: KubernetesDriver) -> None:
    store.create(
        kv.Record(
            key=kv.Key("Dataplane", "demo", "dp-1.kuma-demo"), spec={"networking": {"address": "10.0.0.1"}}
        )
    )
    obj = _raw(kuma_driver, "Dataplane", "kuma-demo", "dp-1")
    assert (obj["mesh"], obj["spec"]["networking"]["address"]) == ("demo", "10.0.0.1")
    assert "kuma.io/mesh" not in (obj["metadata"].get("labels") or {})
    assert store.list("Dataplane", mesh="demo").total == 1


def test_secrets_are_native_secrets_in_the_system_namespace(
    store: kv.Store, kuma_driver: KubernetesDriver
) -> None:
    value = base64.b64encode(b"s3cret").decode()
    store.create(kv.Record(key=kv.Key("Secret", "default", "sec-1"), spec={"data": value}))
    store.create(kv.Record(key=kv.Key("GlobalSecret", "", "gsec-1"), spec={"data": value}))
    secret = kuma_driver._call.core.read_namespaced_secret("sec-1", SYSTEM)
    assert (secret.type, secret.data, secret.metadata.labels["kuma.io/mesh"]) == (
        "system.kuma.io/secret",
        {"value": value},
        "default",
    )
    assert (
        kuma_driver._call.core.read_namespaced_secret("gsec-1", SYSTEM).type == "system.kuma.io/global-secret"
    )
    assert [r.key.name for r in store.list("Secret").items] == ["sec-1"]
    assert [r.key.name for r in store.list("GlobalSecret").items] == ["gsec-1"]
    assert store.get("Secret", "default", "sec-1").spec == {"data": value}


def test_kumas_name_rules_and_the_api_servers_refusals_are_invalid(
    store: kv.Store, kuma_driver: KubernetesDriver
) -> None:
    with testing.raises(
        kv.Invalid, 'invalid: name "mtp-1" must include namespace after the dot, ex. "name.namespace"'
    ):
        store.create(kv.Record(key=kv.Key("MeshTrafficPermission", "default", "mtp-1")))
    long_namespace = "n" * 70  # a valid kv name, but no Kubernetes namespace can be that long
    with pytest.raises((kv.Invalid, kv.NotFound)) as caught:
        store.create(kv.Record(key=kv.Key("MeshTrafficPermission", "default", f"mtp-1.{long_namespace}")))
    assert isinstance(caught.value, kv.KVError)


def test_objects_written_by_go_kuma_read_as_kuma_reads_them(
    store: kv.Store, kuma_driver: KubernetesDriver
) -> None:
    kind = kuma_driver._kinds["MeshTimeout"]
    kuma_driver._call.ensure_namespace("kuma-demo")
    body = {
        "apiVersion": "kuma.io/v1alpha1",
        "kind": "MeshTimeout",
        "metadata": {"name": "mt-1", "namespace": "kuma-demo", "labels": {"team": "a"}},
        "spec": {"targetRef": {"kind": "Mesh"}},
    }
    kuma_driver._call(kind, "create", "kuma-demo", body=body)
    kuma_driver.refresh()  # written behind the driver's back: its cache learns of it now
    got = store.get("MeshTimeout", "default", "mt-1.kuma-demo")  # no kuma.io/mesh label reads as "default"
    assert (got.labels, got.spec, got.owner) == ({"team": "a"}, {"targetRef": {"kind": "Mesh"}}, None)
    assert got.creation_time == got.modification_time


def test_an_unreachable_api_server_is_unavailable_and_nothing_leaks(tmp_path: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:{port}',"
        " insecure-skip-tls-verify: true}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t}}]\n"
    )
    driver = KubernetesDriver.from_url(kinds=kinds(), kubeconfig=str(config), timeout=(1, 2))
    store = kv.Store(driver, catalog=resources.catalog())
    for call in (
        lambda: store.get("Mesh", "", "default"),
        lambda: store.list("Mesh"),
        lambda: store.create(kv.Record(key=kv.Key("Mesh", "", "x"))),
        lambda: store.delete("Mesh", "", "x"),
    ):
        with pytest.raises(kv.Unavailable):
            call()


def test_kuma_cp_run_on_kubernetes_serves_the_api_end_to_end(kuma_driver: KubernetesDriver) -> None:
    from tests.kuma_cp.e2e import ControlPlane

    _clean(kuma_driver)
    kuma_driver._call.ensure_namespace(
        SYSTEM
    )  # the operator's, as with Go Kuma: kuma-cp refuses to start without
    migrate = subprocess.run(
        [sys.executable, "-m", "kuma_cp", "migrate", "up"],
        env={"KUMA_STORE_TYPE": "kubernetes"},
        capture_output=True,
        text=True,
    )
    assert "migrations are not supported for Kubernetes resource store" in migrate.stderr
    plane = ControlPlane(
        {
            "KUMA_STORE_TYPE": "kubernetes",
            "KUBECONFIG": k8s_kubeconfig(),
            "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": SYSTEM,
        }
    )
    try:
        plane.wait_ready(timeout=60)
        policy = {
            "type": "MeshTrafficPermission",
            "mesh": "default",
            "name": "mtp-1.kuma-demo",
            "spec": MTP_SPEC,
        }
        assert plane.put("/meshes/default/meshtrafficpermissions/mtp-1.kuma-demo", policy).status_code == 201
        assert plane.api.get("/meshes/default/meshtrafficpermissions").json()["total"] == 1
    finally:
        assert plane.stop() == 0, plane.logs()
    assert _raw(kuma_driver, "Mesh", None, "default")["kind"] == "Mesh"
    obj = _raw(kuma_driver, "MeshTrafficPermission", "kuma-demo", "mtp-1")
    assert obj["spec"] == MTP_SPEC
