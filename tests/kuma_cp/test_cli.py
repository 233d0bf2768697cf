"""``kuma-cp`` as operators run it: a real process, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.kuma_cp.e2e import free_ports, pg_env

KUMA_CP = [sys.executable, "-m", "kuma_cp"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUMA_")}
    http, https, diagnostics = free_ports(3)
    env.update(
        {
            "KUMA_API_SERVER_HTTP_PORT": str(http),
            "KUMA_API_SERVER_HTTPS_PORT": str(https),
            "KUMA_DIAGNOSTICS_SERVER_PORT": str(diagnostics),
            "KUMA_GENERAL_WORK_DIR": tempfile.mkdtemp(prefix="kuma-cp-cli-"),
        }
    )
    env.update(extra)
    return env


def _start(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*KUMA_CP, *args], env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(process: subprocess.Popen[str], text: str, timeout: float = 20) -> str:
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    process.kill()
    raise AssertionError(f"{text!r} not logged; got:\n{seen}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_on_memory_serves_until_a_signal_then_exits_0(signum: signal.Signals) -> None:
    process = _start("run")
    try:
        logged = _wait_for(process, "starting Control Plane runtime")
        process.send_signal(signum)
        _, rest = process.communicate(timeout=10)
    finally:  # never leave a control plane running behind a failed test
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "kuma-cp runs with an in-memory database and its state isn't preserved between restarts" in logged
    assert "starting Control Plane" in logged
    assert process.returncode == 0, rest
    assert "stopping without error, waiting for all components to stop" in rest
    assert "all components have stopped" in rest


def test_run_with_a_bad_store_type_exits_1_and_starts_nothing() -> None:
    result = subprocess.run(
        [*KUMA_CP, "run"], env=_env(KUMA_STORE_TYPE="mysql"), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "could not load the configuration" in result.stderr
    assert result.stderr.rstrip().endswith(
        "Error: configuration validation failed: Store validation failed: "
        "Type should be either postgres, kubernetes or memory"
    )
    assert "starting Control Plane" not in result.stderr


def test_run_with_malformed_yaml_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "kuma-cp.yaml"
    config.write_text("store: {type: [")
    result = subprocess.run(
        [*KUMA_CP, "run", "-c", str(config)], env=_env(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert f"Error: parsing configuration from file '{config}' failed" in result.stderr


@pytest.mark.parametrize(("store", "name"), [("memory", "Memory"), ("kubernetes", "Kubernetes")])
def test_migrate_up_is_refused_for_stores_without_migrations(store: str, name: str) -> None:
    result = subprocess.run(
        [*KUMA_CP, "migrate", "up"],
        env=_env(KUMA_STORE_TYPE=store),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"Error: migrations are not supported for {name} resource store" in result.stderr


def test_help_lists_the_commands_and_flags() -> None:
    out = subprocess.run([*KUMA_CP, "--help"], capture_output=True, text=True, check=True, timeout=30).stdout
    for word in ("run", "migrate", "version", "--log-level"):
        assert word in out
    run_help = subprocess.run([*KUMA_CP, "run", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--config-file" in run_help


def test_version_prints_the_installed_version() -> None:
    out = subprocess.run([*KUMA_CP, "version"], capture_output=True, text=True, check=True, timeout=30).stdout
    assert out.startswith("kuma-cp: 0.")


def _pg_env(dsn: str, **extra: str) -> dict[str, str]:
    return _env(**{**pg_env(dsn), **extra})


@pytest.mark.postgres
def test_postgres_run_refuses_an_unmigrated_database_then_migrate_up_lets_it_start(pg_database: str) -> None:
    env = _pg_env(pg_database)
    refused = subprocess.run([*KUMA_CP, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.rstrip().endswith(
        'Error: database is not migrated. Run "kuma-cp migrate up" to update database to the newest schema'
    )
    first = subprocess.run([*KUMA_CP, "migrate", "up"], env=env, capture_output=True, text=True, timeout=60)
    assert (first.returncode, first.stdout) == (0, "DB has been migrated for Kuma 0.1.0\n"), first.stderr
    again = subprocess.run([*KUMA_CP, "migrate", "up"], env=env, capture_output=True, text=True, timeout=60)
    assert (again.returncode, again.stdout) == (0, "DB has already been migrated for Kuma 0.1.0\n")
    process = subprocess.Popen(
        [*KUMA_CP, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        logged = _wait_for(process, "starting Control Plane runtime (store postgres)")
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=10)
    assert '"password": "*****"' in logged
    assert env["KUMA_STORE_POSTGRES_PASSWORD"] not in logged + rest
    assert process.returncode == 0, rest


@pytest.mark.postgres
def test_postgres_errors_never_show_the_password(pg_database: str) -> None:
    env = _pg_env(pg_database, KUMA_STORE_POSTGRES_PASSWORD="S3cr3t-p@ss'w\\rd")
    for command in (["run"], ["migrate", "up"]):
        result = subprocess.run([*KUMA_CP, *command], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert "password authentication failed" in result.stderr
        assert "S3cr3t" not in result.stderr + result.stdout


def test_postgres_run_against_nothing_fails_fast_and_clearly() -> None:
    env = _env(
        KUMA_STORE_TYPE="postgres", KUMA_STORE_POSTGRES_PORT="1", KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT="2"
    )
    started = time.monotonic()
    result = subprocess.run([*KUMA_CP, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "Error: cannot connect to DB:" in result.stderr
    assert time.monotonic() - started < 15
