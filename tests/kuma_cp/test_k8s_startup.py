"""``kuma-cp run`` on a Kubernetes store that cannot work: one line ``Error: ...``, status 1, nothing started.

Three cases are real processes, all started at once: no cluster configured anywhere, a kubeconfig
pointing at a dead port, a missing system namespace. Missing CRDs run the same command in this process
(click's runner), with Kuma's kinds moved to a group nobody installed: a second API server without CRDs
would cost more CPU than the whole rest of this module on a small CI machine.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client

import kv
from kuma_cp import crds
from kuma_cp.cli import cli
from kv.drivers.k8s.connect import configure, preflight
from tests.conftest import install_crds, k8s_kubeconfig


def _base(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    drop = ("KUMA_", "KUBECONFIG", "KUBERNETES_SERVICE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {
        "HOME": str(home),  # no ~/.kube/config
        "KUMA_STORE_TYPE": "kubernetes",
        "KUMA_GENERAL_WORK_DIR": str(tmp_path / "work"),
        "KUMA_API_SERVER_HTTP_PORT": "0",  # should it start after all, it takes no fixed port
        "KUMA_API_SERVER_HTTPS_PORT": "0",
        "KUMA_DIAGNOSTICS_SERVER_PORT": "0",
    }


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kuma_cp", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _error_line(process: subprocess.Popen[str]) -> str:
    """The one ``Error:`` line of a run that must fail at start-up (asserted the only one, and last)."""
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, err
    assert err.rstrip().splitlines()[-1] == errors[0], err
    assert "starting Control Plane runtime" not in err, err  # nothing started
    return errors[0]


def _ensure_kuma_crds(kubeconfig: str) -> None:
    """Install Kuma's CRDs unless they are there (one discovery call when they are)."""
    api = client.ApiClient(configure(kubeconfig))
    try:
        preflight(api, crds.kinds(), "default")
    except kv.KVError:
        install_crds(kubeconfig, crds.crd_documents(with_schemas=False))
    finally:
        api.close()  # type: ignore[no-untyped-call]


def _dead_kubeconfig(path: Path) -> tuple[Path, str, str]:
    document = yaml.safe_load(Path(k8s_kubeconfig()).read_text())
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"https://127.0.0.1:{s.getsockname()[1]}"
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = url
    path.write_text(yaml.safe_dump(document))
    return path, url, document["users"][0]["user"]["token"]


@pytest.mark.k8s
def test_start_up_failures_are_one_line_and_status_1(tmp_path: Path) -> None:
    kubeconfig = k8s_kubeconfig()
    _ensure_kuma_crds(kubeconfig)  # so that the namespace is what is missing
    base = _base(tmp_path)
    dead, dead_url, token = _dead_kubeconfig(tmp_path / "dead.yaml")
    running = {
        "nothing configured": _start(base),
        "dead server": _start(base | {"KUBECONFIG": str(dead)}),
        "no system namespace": _start(
            base | {"KUBECONFIG": kubeconfig, "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": "no-such-system"}
        ),
    }
    nothing = _error_line(running["nothing configured"])
    for place in ("in-cluster", "KUBERNETES_SERVICE_HOST", "KUBECONFIG", "~/.kube/config"):
        assert place in nothing, nothing
    assert nothing.startswith("Error: could not configure the Kubernetes client: no Kubernetes configuration")
    line = _error_line(running["dead server"])
    assert line.startswith(f"Error: the Kubernetes API server at {dead_url} cannot be reached: "), line
    assert token not in line
    line = _error_line(running["no system namespace"])
    assert "the system namespace 'no-such-system' does not exist" in line, line


@pytest.mark.k8s
def test_an_api_server_without_the_crds_is_one_line_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = [attrs.evolve(kind, group="absent.kuma.io") for kind in crds.kinds()]
    monkeypatch.setattr(crds, "kinds", lambda: absent)
    for name, value in _base(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KUBECONFIG", k8s_kubeconfig())
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    line = result.stderr.rstrip().splitlines()[-1]
    assert line.startswith(
        "Error: CustomResourceDefinitions not installed on the Kubernetes API server at "
    ), line
    assert "meshes.absent.kuma.io, meshinsights.absent.kuma.io" in line, line
    assert line.endswith("more (install them: kuma-cp install crds | kubectl apply -f -)"), line
