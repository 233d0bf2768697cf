"""Where the Kubernetes client's configuration comes from, and the start-up check of the cluster.

`configure` runs on files and environment variables only; `preflight` against the real API server (kinds
of a group nobody installed, a namespace that does not exist) and a port nobody listens on.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.config import incluster_config

import kv
from kv.drivers.k8s import Kind, crd_manifest
from kv.drivers.k8s.connect import INSTALL_CRDS, configure, preflight, server_url
from tests.conftest import install_crds, k8s_kubeconfig

TOKEN = "s3cr3t-t0ken-value"


def _kubeconfig(path: Path, server: str, token: str = TOKEN) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": token}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No configuration anywhere: an empty home, no KUBECONFIG, not in a pod. Returns the home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return home


# --- configure ------------------------------------------------------------------------------------------


def test_no_configuration_anywhere_is_one_permanent_line_naming_every_place(nowhere: Path) -> None:
    with pytest.raises(kv.Invalid) as missing:
        configure()
    message = str(missing.value)
    assert "\n" not in message
    assert not missing.value.retryable
    for place in (
        "in-cluster",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "KUBECONFIG",
        "~/.kube/config",
    ):
        assert place in message, message
    assert str(nowhere / ".kube" / "config") in message


def test_the_order_is_controller_runtimes(
    nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (nowhere / ".kube").mkdir()
    _kubeconfig(nowhere / ".kube" / "config", "https://home.example:6443")
    assert configure().host == "https://home.example:6443"  # the last resort
    # In a pod (its service account), the pod's own configuration wins over ~/.kube/config.
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("pod-token")
    ca.write_text("not checked until used")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert configure().host == "https://10.0.0.1:443"
    # KUBECONFIG wins over the pod's, and an explicit kubeconfig over KUBECONFIG.
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "env.yaml", "https://env.example:6443")))
    assert configure().host == "https://env.example:6443"
    explicit = _kubeconfig(tmp_path / "explicit.yaml", "https://explicit.example:6443")
    assert configure(str(explicit)).host == "https://explicit.example:6443"


def test_a_pod_without_its_service_account_falls_back_and_says_so(
    nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "no-token"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(
        kv.Invalid, match=r"in-cluster configuration failed \(Service token file does not exist"
    ):
        configure()
    (nowhere / ".kube").mkdir()
    _kubeconfig(nowhere / ".kube" / "config", "https://home.example:6443")
    assert configure().host == "https://home.example:6443"


def test_a_named_kubeconfig_that_is_missing_or_broken_is_named_never_shown(
    nowhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(kv.Invalid, match="kubeconfig /no/such/file does not exist"):
        configure("/no/such/file")
    monkeypatch.setenv("KUBECONFIG", f"/no/such/file:{tmp_path}/neither")
    with pytest.raises(kv.Invalid, match=r"KUBECONFIG=/no/such/file:.*: no such file"):
        configure()
    broken = tmp_path / "broken.yaml"
    for content in (
        f"users: [{{token: {TOKEN}\n",
        f"kind: Config\nusers: [{{name: u, user: {{token: {TOKEN}}}}}]\n",
    ):
        broken.write_text(content)
        monkeypatch.setenv("KUBECONFIG", str(broken))
        with pytest.raises(kv.Invalid) as refused:
            configure()
        assert str(broken) in str(refused.value)
        assert TOKEN not in str(refused.value)
        assert "\n" not in str(refused.value)


def test_the_server_is_named_without_user_information() -> None:
    configuration = client.Configuration()
    configuration.host = "https://admin:hunter2@api.example:6443/prefix"
    assert server_url(configuration) == "https://api.example:6443/prefix"


# --- preflight on the real API server -------------------------------------------------------------------

GROUP = "preflight.kv.kuma.io"
INSTALLED = Kind(type="Gadget", plural="gadgets", scope="cluster", mesh_scoped=False, group=GROUP)
ALSO_INSTALLED = Kind(type="Gizmo", plural="gizmos", group=GROUP)
SECRET = Kind(type="Secret", plural="secrets", scope="secret", secret_type="system.kuma.io/secret")


def _absent(n: int, group: str = "absent.kv.kuma.io") -> list[Kind]:
    return [Kind(type=f"Absent{i}", plural=f"absent{i}s", group=group) for i in range(n)]


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, [crd_manifest(INSTALLED), crd_manifest(ALSO_INSTALLED)])
    api = client.ApiClient(configure(kubeconfig))
    yield api
    api.close()  # type: ignore[no-untyped-call]


def _refusal(api: Any, kinds: list[Kind], namespace: str = "default") -> kv.KVError:
    with pytest.raises(kv.KVError) as refused:
        preflight(api, kinds, namespace)
    assert "\n" not in str(refused.value)
    return refused.value


@pytest.mark.k8s
def test_a_ready_cluster_passes_with_one_call_per_group_version_and_one_for_the_namespace(api: Any) -> None:
    calls: list[None] = []
    preflight(api, [INSTALLED, ALSO_INSTALLED, SECRET], "default", lambda: calls.append(None))
    assert len(calls) == 2  # the group's discovery document, the namespace; native kinds need no call


@pytest.mark.k8s
def test_missing_crds_are_named_with_how_to_install_them(api: Any) -> None:
    refused = _refusal(api, [INSTALLED, *_absent(2), Kind(type="Nope", plural="nopes", group=GROUP)])
    assert type(refused) is kv.KVError
    url = server_url(api.configuration)
    assert str(refused) == (
        f"CustomResourceDefinitions not installed on the Kubernetes API server at {url}: "
        "absent0s.absent.kv.kuma.io, absent1s.absent.kv.kuma.io, "
        f"nopes.{GROUP} (install them: {INSTALL_CRDS})"
    )
    many = str(_refusal(api, _absent(14)))
    assert (
        "absent9s.absent.kv.kuma.io and 4 more (install them: kuma-cp install crds | kubectl apply -f -)"
        in many
    )


@pytest.mark.k8s
def test_a_crd_of_the_wrong_scope_is_named(api: Any) -> None:
    namespaced = Kind(type="Gadget", plural="gadgets", scope="namespaced", group=GROUP)
    assert f"wrong scope on {server_url(api.configuration)}: gadgets.{GROUP} (Namespaced expected)" in str(
        _refusal(api, [namespaced])
    )


@pytest.mark.k8s
def test_a_missing_system_namespace_is_named(api: Any) -> None:
    refused = _refusal(api, [INSTALLED, SECRET], "no-such-system")
    assert "the system namespace 'no-such-system' does not exist" in str(refused)
    assert "kubectl create namespace no-such-system" in str(refused)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_dead_server_is_unavailable_naming_its_url_never_the_token(tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{_free_port()}"
    dead = client.ApiClient(configure(str(_kubeconfig(tmp_path / "dead.yaml", url))))
    with pytest.raises(kv.Unavailable) as refused:
        preflight(dead, [INSTALLED], "default")
    assert str(refused.value).startswith(f"the Kubernetes API server at {url} cannot be reached: ")
    assert "Connection refused" in str(refused.value)
    assert TOKEN not in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.k8s
def test_refused_credentials_are_named_never_the_token(api: Any, tmp_path: Path) -> None:
    document = yaml.safe_load(Path(k8s_kubeconfig()).read_text())
    for user in document["users"]:
        user["user"] = {"token": TOKEN}  # the right server and CA, a token it never issued
    wrong_file = tmp_path / "wrong.yaml"
    wrong_file.write_text(yaml.safe_dump(document))
    wrong = client.ApiClient(configure(str(wrong_file)))
    refused = _refusal(wrong, [INSTALLED])
    url = server_url(api.configuration)
    assert str(refused).startswith(f"the Kubernetes API server at {url} refused the credentials: 401")
    assert TOKEN not in str(refused)
