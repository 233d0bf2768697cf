"""The fault harness on Kubernetes: an API server and etcd of the tests' own, and the load with deletes.

`KubeServer` wraps a directory started by ``scripts/kube-apiserver start``: it kills etcd or the API
server and starts them again with the very command lines they were started with (same flags, ports and
data directory), compacts etcd through its v3 HTTP gateway, and writes kubeconfigs that go through a
`tests.faults.proxy.Proxy`. `ChurnLoad` is `tests.faults.harness.Load` whose writers also delete.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import kv
from kv.drivers.k8s import Kind
from tests.conftest import kube_client
from tests.faults.harness import MESH, TYPES, KeyState, Load, matches

__all__ = [
    "KINDS",
    "MESH",
    "SYSTEM_NAMESPACE",
    "ChurnLoad",
    "KubeServer",
    "ReadBackStore",
    "ensure_namespace",
    "rows_of",
    "script",
    "touch",
    "wipe",
]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kube-apiserver"
GROUP = "faults.kv.kuma.io"
SYSTEM_NAMESPACE = "kv-faults-system"
_SCOPES = {TYPES.owner: False, TYPES.item: True, TYPES.with_status: True, TYPES.secret: True}
KINDS = [
    Kind(type=t, plural=t.lower() + "s", mesh_scoped=m, layout="mesh-namespace", group=GROUP)
    for t, m in _SCOPES.items()
]


def script(*args: str) -> str:
    """Run ``scripts/kube-apiserver`` with *args*; its stdout."""
    done = subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/kube-apiserver {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _flag(argv: list[str], name: str) -> str:
    return next(a.split("=", 1)[1] for a in argv if a.startswith(name + "="))


class KubeServer:
    """etcd and kube-apiserver running in *directory* (``scripts/kube-apiserver start`` made it)."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.kubeconfig = str(self.directory / "kubeconfig")
        self._argv = {name: self._cmdline(name) for name in ("etcd", "apiserver")}
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self.api_port = int(_flag(self._argv["apiserver"], "--secure-port"))
        self.etcd_url = _flag(self._argv["apiserver"], "--etcd-servers")
        self._token = (self.directory / "tokens.csv").read_text().splitlines()[0].split(",")[0]
        self._tls = ssl.create_default_context(cafile=str(self.directory / "serving.crt"))

    def _pid(self, name: str) -> int:
        return int((self.directory / f"{name}.pid").read_text().strip())

    def _cmdline(self, name: str) -> list[str]:
        raw = Path(f"/proc/{self._pid(name)}/cmdline").read_bytes()
        return [part.decode() for part in raw.split(b"\0") if part]

    def _running(self, pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return False
        return state != "Z"

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL, timeout: float = 15.0) -> None:
        """Send *sig* to etcd or the API server (*name*: ``etcd``, ``apiserver``); returns once it is gone."""
        pid = self._pid(name)
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while self._running(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + timeout
            time.sleep(0.02)
        child = self._children.pop(name, None)
        if child is not None:
            child.wait(5)

    def start(self, name: str, *extra: str) -> None:
        """Start etcd or the API server again as first started, plus *extra* flags for this start only."""
        with open(self.directory / f"{name}.log", "ab") as log:
            child = subprocess.Popen(
                [*self._argv[name], *extra],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._children[name] = child
        (self.directory / f"{name}.pid").write_text(f"{child.pid}\n")  # so that `stop` stops it

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until etcd is healthy and the API server ready; seconds waited."""
        started = time.monotonic()
        while not (self._etcd_healthy() and self._api_ready()):
            for name, child in self._children.items():
                assert child.poll() is None, f"{name} exited: see {self.directory}/{name}.log"
            assert time.monotonic() - started < timeout, f"not ready after {timeout}s"
            time.sleep(0.05)
        return time.monotonic() - started

    def _etcd_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as answer:
                return bool(json.load(answer).get("health") == "true")
        except OSError:
            return False

    def _api_ready(self) -> bool:
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.api_port}/readyz", headers={"Authorization": f"Bearer {self._token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2, context=self._tls) as answer:
                return bool(answer.read() == b"ok")
        except OSError:
            return False

    def _etcd(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.etcd_url}{path}", data=json.dumps(body).encode())
        with urllib.request.urlopen(request, timeout=5) as answer:
            found: dict[str, Any] = json.load(answer)
            return found

    def compact(self) -> int:
        """Compact etcd at its current revision (physically); the revision."""
        revision = int(
            self._etcd("/v3/kv/range", {"key": base64.b64encode(b"\0").decode()})["header"]["revision"]
        )
        self._etcd("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def kubeconfig_via(self, port: int) -> str:
        """A kubeconfig for the same server through 127.0.0.1:*port* (a proxy); the certificate still fits."""
        text = (self.directory / "kubeconfig").read_text()
        path = self.directory / f"kubeconfig-{port}"
        path.write_text(
            re.sub(r"server: https://127\.0\.0\.1:\d+", f"server: https://127.0.0.1:{port}", text)
        )
        path.chmod(0o600)
        return str(path)

    def stop(self) -> None:
        """``scripts/kube-apiserver stop``: both servers stopped, the directory removed."""
        script("stop", str(self.directory))
        for child in self._children.values():
            child.wait(5)


class ReadBackStore(kv.Store):
    """The load's view of the store: its reads (the read-backs of unknown outcomes) ask the API server.

    A read-back from the driver's watch cache may be a moment behind, and would make the writer hold a
    version older than the one stored: its next update would conflict, and the check would blame a
    lost write. The writes are the store's own.
    """

    def get(
        self, type: str, mesh: str, name: str, *, version: str | None = None, consistent: bool = False
    ) -> kv.Record:
        """`kv.Store.get`, always consistent."""
        return super().get(type, mesh, name, version=version, consistent=True)


class ChurnLoad(Load):
    """`Load` whose writers also delete: every *delete_every*-th step of a record held is a delete.

    A delete is conditional (at the version held); after an acknowledged one the next step creates the
    record again. A delete that failed with `Unavailable` may or may not have happened: the writer reads
    the record again (NotFound: it happened) before going on.
    """

    def __init__(self, store: kv.Store, *, writers: int, keys: int = 4, delete_every: int = 5) -> None:
        super().__init__(store, writers=writers, keys=keys)
        self.delete_every = delete_every
        self.deleting: set[str] = set()  # names whose delete's outcome is unknown

    def _step(self, state: KeyState, spec: dict[str, Any]) -> None:
        key, held = state.key, state.held
        if key.name in self.deleting:
            read = self._call("get", lambda: self.store.get(key.type, key.mesh, key.name))
            if isinstance(read, kv.NotFound):
                state.held = None
                self.deleting.discard(key.name)
            elif isinstance(read, kv.Record):
                if not matches(read, state):
                    self._violation(
                        f"{key.name}: read back {read.version} {read.spec} after a delete of {held}"
                    )
                state.held = read
                self.deleting.discard(key.name)
            else:
                time.sleep(0.02)
            return
        if held is None or state.uncertain is not None or spec["seq"] % self.delete_every:
            super()._step(state, spec)
            return

        def delete() -> kv.Record:
            self.store.delete(key.type, key.mesh, key.name, version=held.version)
            return held

        if isinstance(self._call("delete", delete), kv.Record):
            state.held = None
            with self._lock:
                self.acknowledged += 1
        else:
            self.deleting.add(key.name)
            time.sleep(0.02)

    def check_durable(self, rows: Any) -> None:
        """`Load.check_durable`, where a record whose delete's outcome is unknown may also be gone."""
        for state in (s for states in self.states for s in states):
            if state.key.name in self.deleting and state.key.name not in rows:
                state.held = None
        super().check_durable(rows)

    def keys(self) -> list[kv.Key]:
        """Every key the writers use."""
        return [s.key for states in self.states for s in states]


def rows_of(store: kv.Store, keys: list[kv.Key]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The records at *keys* as the API server has them (consistent reads): name -> (version, spec)."""
    rows = {}
    for key in keys:
        try:
            record = store.get(key.type, key.mesh, key.name, consistent=True)
        except kv.NotFound:
            continue
        rows[key.name] = (record.version, dict(record.spec))
    return rows


def wipe(kubeconfig: str) -> None:
    """Delete every object of `KINDS` (a bare API server runs no namespace controller to do it)."""
    from kv.drivers.k8s import provision

    with kube_client(kubeconfig) as api:
        provision.delete_objects(api, KINDS)


def touch(kubeconfig: str, times: int) -> None:
    """Write *times* times to a record of `TYPES.owner` straight to the API server: revisions go on."""
    from kubernetes import client

    kind = KINDS[0]
    body = {"apiVersion": kind.api_version, "kind": kind.type, "metadata": {"name": "touched"}, "spec": {}}
    with kube_client(kubeconfig) as api:
        custom: Any = client.CustomObjectsApi(api)
        for n in range(times):
            body["spec"] = {"n": n}
            custom.create_cluster_custom_object(kind.group, kind.version, kind.plural, body)
            custom.delete_cluster_custom_object(kind.group, kind.version, kind.plural, "touched")


def ensure_namespace(kubeconfig: str, namespace: str) -> None:
    """Create *namespace* unless it exists."""
    from kubernetes import client

    with kube_client(kubeconfig) as api:
        core: Any = client.CoreV1Api(api)
        try:
            core.create_namespace({"metadata": {"name": namespace}})
        except client.ApiException as exc:
            if exc.status != 409:
                raise
