"""Starting real ``kuma-cp run`` processes on free loopback ports, for the end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx


def free_ports(count: int) -> list[int]:
    """*count* distinct free loopback ports (probed at once: one at a time, the kernel may repeat one)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def pg_env(dsn: str) -> dict[str, str]:
    """Kuma's environment variables for the database *dsn* names."""
    from sqlalchemy.engine import make_url

    url = make_url(dsn)
    return {
        "KUMA_STORE_TYPE": "postgres",
        "KUMA_STORE_POSTGRES_HOST": str(url.host),
        "KUMA_STORE_POSTGRES_PORT": str(url.port),
        "KUMA_STORE_POSTGRES_USER": str(url.username),
        "KUMA_STORE_POSTGRES_PASSWORD": str(url.password),
        "KUMA_STORE_POSTGRES_DB_NAME": str(url.database),
    }


def migrated_pg_env(dsn: str) -> dict[str, str]:
    """Kuma's environment for the database *dsn* names, after ``kuma-cp migrate up`` has run on it."""
    env = pg_env(dsn)
    migrated = subprocess.run(
        [sys.executable, "-m", "kuma_cp", "migrate", "up"], env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    return env


class ControlPlane:
    """One ``kuma-cp run`` process and HTTP clients for its API and diagnostics ports."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.api_port, self.https_port, self.diagnostics_port = free_ports(3)
        self.work_dir = tempfile.mkdtemp(prefix="kuma-cp-e2e-")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KUMA_")}
        environ.update(
            {
                "KUMA_API_SERVER_HTTP_INTERFACE": "127.0.0.1",
                "KUMA_API_SERVER_HTTP_PORT": str(self.api_port),
                "KUMA_DIAGNOSTICS_SERVER_PORT": str(self.diagnostics_port),
                "KUMA_API_SERVER_HTTPS_INTERFACE": "127.0.0.1",
                "KUMA_API_SERVER_HTTPS_PORT": str(self.https_port),
                "KUMA_GENERAL_WORK_DIR": self.work_dir,
            }
        )
        environ.update(env or {})
        self.log_path = f"/tmp/kuma-cp-e2e-{self.api_port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kuma_cp", "run"], env=environ, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=10)
        self.diagnostics = httpx.Client(base_url=f"http://127.0.0.1:{self.diagnostics_port}", timeout=10)

    def logs(self) -> str:
        with open(self.log_path) as log:
            return log.read()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"kuma-cp exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if self.diagnostics.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"kuma-cp not ready after {timeout}s:\n{self.logs()}")

    def metric(self, name: str) -> float | None:
        """The value of an unlabelled metric (or the sum over its labels), None when absent."""
        total = None
        for line in self.diagnostics.get("/metrics").text.splitlines():
            if line.startswith((name + " ", name + "{")):
                total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
        return total

    def put(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return self.api.put(path, json=body, headers=headers)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.api.close()
            self.diagnostics.close()
            self._log.close()
            shutil.rmtree(self.work_dir, ignore_errors=True)
        return code


@contextmanager
def running(env: Mapping[str, str] | None = None) -> Iterator[ControlPlane]:
    """A ready `ControlPlane`, stopped at the end of the block, which must exit 0 (its logs say why not)."""
    plane = ControlPlane(env)
    try:
        plane.wait_ready()
        yield plane
    finally:
        assert plane.stop() == 0, plane.logs()
