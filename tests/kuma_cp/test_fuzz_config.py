"""Every configuration variable kuma-cp knows, given every class of bad value, via the environment and YAML.

The variables are enumerated from `kuma_cp.config.Config` itself (every leaf setting, with its YAML path,
environment name and type), so a new variable is covered the day it is added. A bad value must be a
`ConfigError` naming the variable (its environment name, its YAML path, or Kuma's validation message
naming the field), never another exception, and never showing the Postgres password. A sample goes
through the real ``kuma-cp run`` and ``kuma-cp migrate up``: exit status 1, ``Error: ...``, no traceback,
nothing started.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kuma_cp.config import Config, ConfigError, load

PASSWORD = "pw-S3cr3t-value"


class Variable(NamedTuple):
    """One leaf setting: its YAML path, environment name, type and whether it is a secret."""

    path: str
    env: str
    kind: Any
    secret: bool


def _variables(cls: type[Any], prefix: str = "") -> Iterator[Variable]:
    for field in attrs.fields(attrs.resolve_types(cls)):
        path = f"{prefix}.{field.metadata['yaml']}" if prefix else field.metadata["yaml"]
        if attrs.has(field.type):
            yield from _variables(field.type, path)
        else:
            yield Variable(path, field.metadata["env"], field.type, field.metadata["secret"])


VARIABLES = list(_variables(Config))
IDS = [v.env for v in VARIABLES]
# Values no variable of the type accepts, from the environment and from YAML.
BAD_ENV = {
    int: ["abc", "1.5", "", "0x10", "1e3", "9" * 30, "-9" * 10, "٣", "1_000", " 5"],
    bool: ["abc", "yes", "on", "2", "", "TRUE1"],
    timedelta: ["abc", "5", "1x", "", "--1s", "1.2.3s", "9" * 20 + "h", "1e3s", "s", "-", "1s2"],
}
BAD_YAML = {
    int: ["abc", 1.5, True, [1], {"a": 1}, 10**30],
    bool: ["abc", "yes", 1, 1.5, [True], {"a": 1}],
    timedelta: ["abc", True, [1], {"a": 1}, 1e400, float("nan"), 10**30],
    str: [123, 1.5, True, [1], {"a": 1}],
}
# Values out of a variable's range: every count, port and duration refuses a negative, every port 65536.
OUT_OF_RANGE = {int: ["-1"], timedelta: ["-1s"]}
PORT_OUT_OF_RANGE = "65536"
# Variables with a closed set of values, and those that cannot be empty (for the store they configure).
ENUMS = {
    "KUMA_STORE_TYPE",
    "KUMA_STORE_POSTGRES_DRIVER_NAME",
    "KUMA_STORE_POSTGRES_TLS_MODE",
    "KUMA_API_SERVER_HTTPS_TLS_MIN_VERSION",
    "KUMA_API_SERVER_AUTHN_TYPE",
    "KUMA_ACCESS_TYPE",
}
NOT_EMPTY = ENUMS | {
    "KUMA_STORE_POSTGRES_HOST",
    "KUMA_STORE_POSTGRES_USER",
    "KUMA_STORE_POSTGRES_PASSWORD",
    "KUMA_STORE_POSTGRES_DB_NAME",
    "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE",
}
# Where Kuma's validation message names a field otherwise than by its YAML key.
KUMA_NAMES = {
    "KUMA_STORE_UPSERT_CONFLICT_RETRY_BASE_BACKOFF": "RetryBaseBackoff",
    "KUMA_STORE_POSTGRES_DRIVER_NAME": "driver name",
    "KUMA_API_SERVER_AUTHN_TYPE": "authn named",
}


def environ(variable: Variable, value: str) -> dict[str, str]:
    """*value* for *variable*, with the store the variable configures (so that it is validated)."""
    store = (
        "kubernetes" if variable.path.startswith(("store.kubernetes", "runtime.kubernetes")) else "postgres"
    )
    return {"KUMA_STORE_TYPE": store, "KUMA_STORE_POSTGRES_PASSWORD": PASSWORD, variable.env: value}


def refusal(environ: dict[str, str], config_file: str | None = None) -> str:
    """The message of the `ConfigError` loading gives (any other outcome fails the test)."""
    with pytest.raises(ConfigError) as refused:
        load(config_file=config_file, environ=environ)
    message = str(refused.value)
    assert PASSWORD not in message
    return message


def _squashed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def names(message: str, variable: Variable) -> bool:
    """Whether *message* names *variable*: its environment name, YAML path, or Kuma's name of the field."""
    if variable.env in message or f"for {variable.path}:" in message:
        return True
    wanted = KUMA_NAMES.get(variable.env, variable.path.rsplit(".", 1)[-1])
    return _squashed(wanted) in _squashed(message)


@pytest.mark.parametrize("variable", VARIABLES, ids=IDS)
def test_every_malformed_value_is_refused_naming_the_variable(variable: Variable, tmp_path: Path) -> None:
    for value in BAD_ENV.get(variable.kind, []):
        message = refusal(environ(variable, value))
        assert message.startswith(f"invalid value {value!r} for {variable.env}: "), message
    config_file = tmp_path / "kuma-cp.yaml"
    for yaml_value in BAD_YAML[variable.kind]:
        document: dict[str, Any] = {"store": {"postgres": {"password": PASSWORD}}}
        *sections, key = variable.path.split(".")
        where = document
        for section in sections:
            where = where.setdefault(section, {})
        where[key] = yaml_value
        config_file.write_text(yaml.safe_dump(document))
        message = refusal({}, str(config_file))
        assert f"for {variable.path}: " in message, (yaml_value, message)
        assert message.startswith(f"parsing configuration from file '{config_file}' failed: "), message


@pytest.mark.parametrize("variable", VARIABLES, ids=IDS)
def test_every_value_out_of_range_is_refused_naming_the_variable(variable: Variable) -> None:
    values = list(OUT_OF_RANGE.get(variable.kind, []))
    if variable.kind is int and variable.path.lower().endswith("port"):
        values.append(PORT_OUT_OF_RANGE)
    if variable.env in ENUMS:
        values.append("mysql")
    if variable.env in NOT_EMPTY:
        values.append("")
    for value in values:
        message = refusal(environ(variable, value))
        assert message.startswith("configuration validation failed: "), message
        assert names(message, variable), (value, message)


def test_the_variables_are_all_enumerated() -> None:
    assert len(VARIABLES) == len({v.env for v in VARIABLES}) == len({v.path for v in VARIABLES})
    assert all(v.env.startswith("KUMA_") for v in VARIABLES)
    assert {"KUMA_STORE_TYPE", "KUMA_STORE_POSTGRES_PASSWORD", "KUMA_DIAGNOSTICS_SERVER_PORT"} <= set(IDS)
    assert ENUMS | NOT_EMPTY | KUMA_NAMES.keys() <= set(IDS)  # no stale name in the tables above


@settings(max_examples=1500 if os.environ.get("KUMA_TEST_SOAK") else 300)
@given(variable=st.sampled_from(VARIABLES), value=st.text(max_size=12))
def test_any_text_in_any_variable_loads_or_is_named(variable: Variable, value: str) -> None:
    message = ""
    try:
        load(config_file=None, environ=environ(variable, value))
    except ConfigError as exc:  # anything else fails the test
        message = str(exc)
    assert PASSWORD not in message
    assert not message or names(message, variable), (variable, value, message)


# --- through the real command -----------------------------------------------------------------------

CLI_SAMPLE = {
    "unknown store type": (
        {"KUMA_STORE_TYPE": "mysql"},
        "Type should be either postgres, kubernetes or memory",
    ),
    "port not a number": ({"KUMA_API_SERVER_HTTP_PORT": "abc"}, "KUMA_API_SERVER_HTTP_PORT"),
    "port out of range": ({"KUMA_DIAGNOSTICS_SERVER_PORT": "70000"}, ".ServerPort must be in the range"),
    "malformed duration": (
        {"KUMA_STORE_TYPE": "postgres", "KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME": "1x"},
        "KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME",
    ),
    "huge duration": (
        {"KUMA_STORE_CACHE_EXPIRATION_TIME": "9" * 20 + "h"},
        "KUMA_STORE_CACHE_EXPIRATION_TIME",
    ),
    "huge number": ({"KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES": "9" * 30}, "value out of range"),
    "bad boolean": ({"KUMA_STORE_UNSAFE_DELETE": "yes"}, "KUMA_STORE_UNSAFE_DELETE"),
    "negative count": (
        {"KUMA_STORE_TYPE": "postgres", "KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS": "-1"},
        "MaxOpenConnections cannot be negative",
    ),
    "leader election timings": (
        {"KUMA_STORE_TYPE": "kubernetes", "KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE": "20s"},
        "leaseDuration must be greater than renewDeadline",
    ),
    "unknown authn": (
        {"KUMA_API_SERVER_AUTHN_TYPE": "ldap"},
        "there is not implementation of authn named ldap",
    ),
    "yaml": (
        {"config": "store:\n  type: postgres\n  postgres:\n    password: PW\n    port: abc\n"},
        "store.postgres.port",
    ),
    "yaml password of a wrong type": ({"config": "store:\n  postgres:\n    password: [PW]\n"}, "(secret)"),
}


@pytest.mark.parametrize(
    ("command", "cases"),
    [(["run"], list(CLI_SAMPLE)), (["migrate", "up"], ["unknown store type", "malformed duration", "yaml"])],
)
def test_the_command_refuses_bad_configuration_with_status_1(
    command: list[str], cases: list[str], tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KUMA_")}
    base |= {"KUMA_STORE_POSTGRES_PASSWORD": PASSWORD, "KUMA_GENERAL_WORK_DIR": str(tmp_path)}
    running = {}
    for case in cases:  # all at once: each is a Python start-up
        env = dict(CLI_SAMPLE[case][0])
        args = [sys.executable, "-m", "kuma_cp", *command]
        if "config" in env:
            config_file = tmp_path / f"{case}.yaml".replace(" ", "-")
            config_file.write_text(env.pop("config").replace("PW", PASSWORD))
            args += ["-c", str(config_file)]
        running[case] = subprocess.Popen(
            args, env=base | env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    for case, process in running.items():
        out, err = process.communicate(timeout=60)
        assert process.returncode == 1, (case, err)
        last = err.rstrip().splitlines()[-1]
        assert last.startswith("Error: "), (case, err)
        assert CLI_SAMPLE[case][1] in last, (case, err)
        assert "Traceback" not in err, (case, err)
        assert "starting Control Plane" not in err, (case, err)  # nothing started
        assert "migrated" not in out, (case, out)
        assert PASSWORD not in out + err, case
