"""Configuration: Kuma's names, defaults, precedence and messages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kuma_cp.config import ConfigError, load
from kuma_cp.loader import parse_duration, redacted


def test_defaults_are_kumas() -> None:
    config = load(environ={})
    assert config.store.type == "memory"
    assert config.store.kubernetes.system_namespace == "kuma-system"
    assert (config.store.cache.enabled, config.store.cache.expiration_time) == (True, timedelta(seconds=1))
    upsert = config.store.upsert
    assert (upsert.conflict_retry_base_backoff, upsert.conflict_retry_max_times) == (
        timedelta(milliseconds=200),
        10,
    )
    assert upsert.conflict_retry_jitter_percent == 30
    assert config.store.unsafe_delete is False


def test_yaml_then_environment_win_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text("store:\n  type: kubernetes\n  cache:\n    expirationTime: 5s\n  unknownKey: ignored\n")
    config = load(config_file=str(path), environ={})
    assert (config.store.type, config.store.cache.expiration_time) == ("kubernetes", timedelta(seconds=5))
    config = load(
        config_file=str(path), environ={"KUMA_STORE_TYPE": "memory", "KUMA_STORE_CACHE_ENABLED": "false"}
    )
    assert (config.store.type, config.store.cache.enabled) == ("memory", False)


def test_a_bad_store_type_gets_kumas_message() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ={"KUMA_STORE_TYPE": "mysql"})
    assert str(caught.value) == (
        "configuration validation failed: Store validation failed: "
        "Type should be either postgres, kubernetes or memory"
    )


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"KUMA_STORE_CACHE_ENABLED": "yes"}, "KUMA_STORE_CACHE_ENABLED: want true or false"),
        ({"KUMA_STORE_CACHE_EXPIRATION_TIME": "soon"}, 'time: invalid duration "soon"'),
        ({"KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES": "ten"}, "KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES"),
        ({"KUMA_STORE_UPSERT_CONFLICT_RETRY_BASE_BACKOFF": "-1s"}, "RetryBaseBackoff cannot be lower than 0"),
        ({"KUMA_STORE_TYPE": "kubernetes", "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": ""}, "SystemNamespace"),
    ],
)
def test_bad_environment_values_are_named(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        load(environ=env)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("store: [unclosed", "parsing configuration from file"),
        ("- a list", "not a YAML mapping"),
        ("store: 3", "want a mapping"),
        ("store:\n  cache:\n    enabled: maybe\n", "store.cache.enabled: want true or false"),
        (
            "store:\n  type: mysql\n",
            "parsing configuration from file '.*' failed: configuration validation failed",
        ),
    ],
)
def test_bad_yaml_is_a_clear_error(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        load(config_file=str(path), environ={})


def test_a_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unable to access configuration file '/no/such\.yaml'"):
        load(config_file="/no/such.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("200ms", 0.2), ("1h30m", 5400), ("1.5m", 90), ("0", 0), ("-2s", -2), ("10us", 1e-5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "s", "1d", "1 s", "1s2"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_redacted_config_is_yaml_shaped() -> None:
    shown = redacted(load(environ={}))
    assert shown["store"]["type"] == "memory"
    assert shown["store"]["cache"] == {"enabled": True, "expirationTime": "1s"}
    assert shown["store"]["upsert"]["conflictRetryBaseBackoff"] == "200ms"
