"""``kuma-cp install control-plane``: what it prints, and that its RBAC is just enough, on a real API server.

The Kubernetes tests need the test API server of ``scripts/kube-apiserver`` (RBAC mode, with a static token
for kuma-cp's ServiceAccount in ``sa-token`` next to its kubeconfig), and a kubectl (``scripts/kubectl``
finds one, or unpacks Debian's).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import kv
from kuma_cp import install, leader_kubernetes, resources
from kuma_cp.cli import cli
from kuma_cp.config import load
from kuma_cp.crds import crd_documents, kinds
from kuma_cp.diagnostics import diagnostics_app
from kuma_cp.metrics import Metrics
from kv import testing
from tests.conftest import install_crds, k8s_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = "kuma-system"
SA_USER = f"system:serviceaccount:{SYSTEM}:kuma-control-plane"
KUMA_TYPES = testing.Types(**resources.KUMA_TEST_TYPES)


def _printed(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["install", "control-plane", *args])
    assert result.exit_code == 0, result.output
    return list(yaml.safe_load_all(result.output))


def _by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in documents if doc["kind"] != "CustomResourceDefinition"}


# --- what it prints ----------------------------------------------------------------------------------


def test_it_prints_the_charts_objects_in_kumactls_order() -> None:
    documents = _printed()
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        ("Namespace", "kuma-system"),
        ("ServiceAccount", "kuma-control-plane"),
        ("ClusterRole", "kuma-control-plane"),
        ("ClusterRoleBinding", "kuma-control-plane"),
        ("Role", "kuma-control-plane"),
        ("RoleBinding", "kuma-control-plane"),
        ("Service", "kuma-control-plane"),
        ("Deployment", "kuma-control-plane"),
    ]
    labels = {
        "app": "kuma-control-plane",
        "app.kubernetes.io/name": "kuma",
        "app.kubernetes.io/instance": "kuma",
    }
    for doc in documents[1:]:
        assert doc["metadata"]["labels"] == labels
    assert documents[0]["metadata"]["labels"] == {"kuma.io/sidecar-injection": "false"}
    with_crds = _printed("--with-crds")
    assert [d for d in with_crds if d["kind"] == "CustomResourceDefinition"] == crd_documents()
    assert [d for d in with_crds if d["kind"] != "CustomResourceDefinition"] == documents


def test_rbac_is_the_stores_kinds_and_the_system_namespaces_objects_only() -> None:
    objects = _by_kind(_printed("--namespace", "mesh-cp"))
    custom = sorted(kind.plural for kind in kinds() if not kind.native)
    assert objects["ClusterRole"]["rules"] == [
        {
            "apiGroups": ["kuma.io"],
            "resources": custom,
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
        }
    ]
    role = objects["Role"]
    assert role["metadata"]["namespace"] == "mesh-cp"
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["cp-leader-lease"],
            "verbs": ["get", "update"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps", "secrets"],
            "verbs": ["get", "list", "watch", "create", "update", "delete"],
        },
    ]
    subject = [{"kind": "ServiceAccount", "name": "kuma-control-plane", "namespace": "mesh-cp"}]
    for binding, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        assert objects[binding]["subjects"] == subject
        assert objects[binding]["roleRef"]["kind"] == role_kind
    assert objects["RoleBinding"]["metadata"]["namespace"] == "mesh-cp"


def test_the_deployment_runs_kuma_cp_on_the_kubernetes_store_as_helm_does() -> None:
    objects = _by_kind(_printed("--namespace", "mesh-cp", "--image", "example/kuma-cp:1", "--replicas", "3"))
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kuma-control-plane"
    (container,) = pod["containers"]
    assert container["image"] == "example/kuma-cp:1"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["KUMA_STORE_TYPE"] == "kubernetes"
    assert env["KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE"] == "mesh-cp"
    assert env["KUMA_API_SERVER_READ_ONLY"] == "true"
    assert env["KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN"] == "false"
    config = load(environ=env)  # this kuma-cp reads every variable as meant
    assert (config.store.type, config.store.kubernetes.system_namespace) == ("kubernetes", "mesh-cp")
    assert (config.api_server.read_only, config.api_server.authn.localhost_is_admin) == (True, False)
    assert config.general.work_dir.startswith("/tmp/")  # the emptyDir: the root file system is read-only
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["command"] == ["kuma-cp"]
    assert CliRunner().invoke(cli, [*container["args"], "--help"]).exit_code == 0  # its arguments parse
    assert container["args"][-1] == "run"
    assert [p["containerPort"] for p in container["ports"]] == [5680, 5681, 5682]
    probes = {name: container[name]["httpGet"] for name in ("livenessProbe", "readinessProbe")}
    assert probes == {
        "livenessProbe": {"path": "/healthy", "port": 5680},
        "readinessProbe": {"path": "/ready", "port": 5680},
    }
    served = {route.path for route in diagnostics_app(Metrics(), lambda: True).routes}  # type: ignore[attr-defined]
    assert {p["path"] for p in probes.values()} <= served
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    service = objects["Service"]["spec"]
    assert [(p["port"], p["name"]) for p in service["ports"]] == [
        (5680, "diagnostics"),
        (5681, "http-api-server"),
        (5682, "https-api-server"),
    ]
    assert service["selector"] == selector
    for flag, value in (("--api-read-only=false", "false"), ("--api-read-only", "true")):
        (container,) = _by_kind(_printed(flag))["Deployment"]["spec"]["template"]["spec"]["containers"]
        assert {"name": "KUMA_API_SERVER_READ_ONLY", "value": value} in container["env"]


def test_bad_flags_are_refused() -> None:
    for args in (["--replicas", "0"], ["--api-read-only=maybe"]):
        result = CliRunner().invoke(cli, ["install", "control-plane", *args])
        assert result.exit_code == 2, result.output


# --- on a real API server, in RBAC mode ----------------------------------------------------------------


def _kubectl() -> str:
    found = subprocess.run([str(ROOT / "scripts" / "kubectl"), "--path"], capture_output=True, text=True)
    assert found.returncode == 0, f"no kubectl: {found.stderr}"
    return found.stdout.strip()


class Cluster:
    """The test API server as its admin and as kuma-cp's ServiceAccount (a kubeconfig with its token)."""

    def __init__(self, tmp: Path) -> None:
        from kubernetes import client, config

        self.kubeconfig = k8s_kubeconfig()
        token_file = Path(self.kubeconfig).parent / "sa-token"
        if not token_file.exists():
            pytest.skip(
                f"no ServiceAccount token {token_file}: the API server is not scripts/kube-apiserver's"
            )
        self.kubectl = _kubectl()
        admin_config = yaml.safe_load(Path(self.kubeconfig).read_text())
        for user in admin_config["users"]:
            user["user"] = {"token": token_file.read_text().strip()}
        self.sa_kubeconfig = str(tmp / "sa-kubeconfig")
        Path(self.sa_kubeconfig).write_text(yaml.safe_dump(admin_config))
        self.admin: Any = config.new_client_from_config(config_file=self.kubeconfig)  # type: ignore[no-untyped-call]
        self.sa: Any = config.new_client_from_config(config_file=self.sa_kubeconfig)  # type: ignore[no-untyped-call]
        self.admin_core: Any = client.CoreV1Api(self.admin)
        self.sa_core: Any = client.CoreV1Api(self.sa)

    def apply(self, documents: list[dict[str, Any]], *args: str) -> str:
        done = subprocess.run(
            [self.kubectl, "--kubeconfig", self.kubeconfig, "apply", *args, "-f", "-"],
            input=yaml.safe_dump_all(documents),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def close(self) -> None:
        self.admin.close()
        self.sa.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The RBAC of ``install control-plane`` applied for real (with the Namespace and ServiceAccount)."""
    k8s = Cluster(tmp_path_factory.mktemp("install"))
    try:
        install_crds(k8s.kubeconfig, crd_documents(with_schemas=False))  # as tests/kv/test_k8s.py
        rbac = ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
        k8s.apply([d for d in install.control_plane_documents(image="unused") if d["kind"] in rbac])
        from kubernetes.client.exceptions import ApiException

        with contextlib.suppress(ApiException):  # the namespace of the checks' policies, the operator's
            k8s.admin_core.create_namespace({"metadata": {"name": "demo"}})
        yield k8s
    finally:
        k8s.close()


@pytest.mark.k8s
def test_the_api_server_accepts_every_manifest(cluster: Cluster) -> None:
    printed = CliRunner().invoke(cli, ["install", "control-plane", "--with-crds"])  # in-process: faster
    assert printed.exit_code == 0, printed.output
    done = subprocess.run(
        [cluster.kubectl, "--kubeconfig", cluster.kubeconfig, "apply", "--dry-run=server", "-f", "-"],
        input=printed.output,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    accepted = [line for line in done.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(list(yaml.safe_load_all(printed.output))), done.stdout
    assert "deployment.apps/kuma-control-plane created (server dry run)" in accepted


def _sa_driver(cluster: Cluster) -> Any:
    from kv.drivers.k8s import KubernetesDriver

    return KubernetesDriver.from_url(
        kinds=kinds(),
        kubeconfig=cluster.sa_kubeconfig,
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
    )


def _clean(driver: Any, types: tuple[str, ...]) -> None:
    for type_name in types:
        rows, _ = driver.list(kv.driver.Query(type=type_name))
        for row in rows:
            with contextlib.suppress(kv.NotFound):  # already gone with its owner
                driver.delete(row.key)


@pytest.mark.k8s
def test_kumas_store_cases_pass_as_the_service_account(cluster: Cluster) -> None:
    driver = _sa_driver(cluster)
    types = (KUMA_TYPES.owner, KUMA_TYPES.item, KUMA_TYPES.with_status, KUMA_TYPES.secret)

    def fresh() -> kv.Store:
        _clean(driver, types)
        return kv.Store(driver, catalog=resources.catalog())

    try:
        for check in testing.CHECKS:
            if check.kuma_case and check.kuma_case <= 26:  # as tests/kv/test_k8s.py runs them
                testing.run_check(check, fresh, KUMA_TYPES)
        _clean(driver, types)
    finally:
        driver.close()


@pytest.mark.k8s
def test_kuma_cp_runs_as_the_service_account(cluster: Cluster) -> None:
    from kubernetes import client

    from tests.kuma_cp.e2e import ControlPlane

    driver = _sa_driver(cluster)
    try:
        _clean(driver, ("Mesh",))
    finally:
        driver.close()
    plane = ControlPlane(
        {
            "KUMA_STORE_TYPE": "kubernetes",
            "KUBECONFIG": cluster.sa_kubeconfig,
            "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": SYSTEM,
        }
    )
    try:
        plane.wait_ready(timeout=60)
        deadline = time.monotonic() + 20
        while plane.api.get("/meshes/default").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m["name"] for m in plane.api.get("/meshes").json()["items"]] == ["default"]
        policy = {
            "type": "MeshTrafficPermission",
            "mesh": "default",
            "name": f"mtp-1.{SYSTEM}",
            "spec": {
                "targetRef": {"kind": "Mesh"},
                "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://x"}}]}}],
            },
        }
        path = f"/meshes/default/meshtrafficpermissions/mtp-1.{SYSTEM}"
        assert plane.put(path, policy).status_code == 201, plane.logs()
        assert plane.metric("leader") == 1.0
        lease = client.CoordinationV1Api(cluster.admin).read_namespaced_lease(
            leader_kubernetes.LEASE_NAME, SYSTEM
        )
        holder = lease.spec.holder_identity if lease.spec else None
        assert holder, "the leader holds no Lease"
        assert f"instance {holder} became the leader" in plane.logs()
    finally:
        assert plane.stop() == 0, plane.logs()
    assert "Forbidden" not in plane.logs(), plane.logs()


@pytest.mark.k8s
def test_secrets_outside_the_system_namespace_are_forbidden_to_the_service_account(cluster: Cluster) -> None:
    from kubernetes.client.exceptions import ApiException

    secret = {"metadata": {"name": "install-test"}, "stringData": {"value": "s3cret"}}
    with contextlib.suppress(ApiException):
        cluster.admin_core.create_namespaced_secret("default", secret)
    forbidden: tuple[Callable[[], Any], ...] = (
        lambda: cluster.sa_core.read_namespaced_secret("install-test", "default"),
        lambda: cluster.sa_core.list_namespaced_secret("default"),
        lambda: cluster.sa_core.create_namespaced_secret("default", {"metadata": {"name": "sa-test"}}),
        lambda: cluster.sa_core.list_secret_for_all_namespaces(),
        lambda: cluster.sa_core.create_namespace({"metadata": {"name": "sa-made"}}),  # namespaces: none
    )
    for call in forbidden:
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.status == 403, caught.value
        assert SA_USER in str(caught.value.body)
    created = cluster.sa_core.create_namespaced_secret(SYSTEM, {"metadata": {"name": "sa-test"}})
    try:
        assert cluster.sa_core.read_namespaced_secret("sa-test", SYSTEM).metadata.uid == created.metadata.uid
        assert "sa-test" in [s.metadata.name for s in cluster.sa_core.list_namespaced_secret(SYSTEM).items]
    finally:
        cluster.sa_core.delete_namespaced_secret("sa-test", SYSTEM)
