"""Loading typed configuration the way Kuma does: defaults, then a YAML file, then environment variables.

Each attrs field of a config class names its YAML key and environment variable in its metadata
(``setting("type", env="KUMA_STORE_TYPE")``); nested config classes are sections. The YAML file is read
non-strictly (unknown keys are ignored, as Kuma's loader does); a value of the wrong shape, in YAML or
in the environment, is a `ConfigError` that names where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import yaml

__all__ = ["ConfigError", "load", "parse_duration", "setting"]

T = TypeVar("T", bound=attrs.AttrsInstance)
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_MAX_SECONDS = 2**63 / 1e9  # Go's time.Duration: int64 nanoseconds
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)  # no spaces, underscores or non-ASCII digits
_INT64 = 2**63  # Go's int on 64-bit platforms: larger values are "out of range"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class ConfigError(Exception):
    """The configuration cannot be used; the message says which value and why."""


def setting(
    yaml_key: str, *, env: str | None = None, default: Any = attrs.NOTHING, secret: bool = False
) -> Any:
    """Declare a config field: its YAML key, environment variable and default."""
    return attrs.field(default=default, metadata={"yaml": yaml_key, "env": env, "secret": secret})


def section(yaml_key: str, cls: type[Any]) -> Any:
    """Declare a nested config section, defaulting to *cls* built from its own defaults."""
    return attrs.field(factory=cls, metadata={"yaml": yaml_key, "env": None, "secret": False})


def _seconds(value: float, text: str) -> timedelta:
    # Go's durations are int64 nanoseconds (about 292 years); anything longer is invalid, as in Go.
    if not abs(value) < _MAX_SECONDS:  # NaN included
        raise ValueError(f'time: invalid duration "{text}"')
    return timedelta(seconds=value)


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration ("1s", "200ms", "1h30m", "0"); raise ValueError otherwise."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in ("-", "+") else text
    if body == "0":
        return timedelta(0)
    if not body or _DURATION.sub("", body):
        raise ValueError(f'time: invalid duration "{text}"')
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(body))
    return _seconds(sign * seconds, text)


def format_duration(value: timedelta) -> str:
    """Format a duration as Go prints it, near enough for logs: 1s, 200ms, 1h0m0s."""
    total = value.total_seconds()
    if total and abs(total) < 1:
        return f"{total * 1000:g}ms"
    hours, rest = divmod(int(total), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{total:g}s"


def _convert(kind: Any, value: Any, origin: str, *, secret: bool = False) -> Any:
    text = value if isinstance(value, str) else None
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError("want true or false")
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError("want an integer")
            if isinstance(value, str) and not _INTEGER.fullmatch(value):  # Go's strconv, not Python's int()
                raise ValueError("want an integer")
            number = int(value)
            if not -_INT64 <= number < _INT64:
                raise ValueError("value out of range")
            return number
        if kind is timedelta:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return _seconds(value, str(value))  # YAML numbers are seconds
            if text is None:
                raise ValueError("want a duration such as 1s or 200ms")
            return parse_duration(text)
        if kind is str:
            if isinstance(value, str):
                return value
            # YAML reads unquoted 0777 as 511 and yes as true: refuse rather than store something else.
            raise ValueError("want a string (quote the value in YAML)")
    except ValueError as exc:
        shown = "(secret)" if secret else repr(value)
        raise ConfigError(f"invalid value {shown} for {origin}: {exc}") from None
    raise TypeError(f"unsupported config field type {kind!r}")  # pragma: no cover - a programming error


def _build(
    cls: type[T], document: Mapping[str, Any], environ: Mapping[str, str], path: str, file: str | None
) -> T:
    values: dict[str, Any] = {}
    in_file = f"parsing configuration from file '{file}' failed: "  # what a value from the file is prefixed
    for field in attrs.fields(attrs.resolve_types(cls)):
        key, env, kind = field.metadata["yaml"], field.metadata["env"], field.type
        where = f"{path}.{key}" if path else key
        if attrs.has(kind):
            sub = document.get(key) if isinstance(document, Mapping) else None
            if sub is not None and not isinstance(sub, Mapping):
                raise ConfigError(
                    f"{in_file}invalid value for {where}: want a mapping, got {type(sub).__name__}"
                )
            values[field.name] = _build(kind, sub or {}, environ, where, file)
            continue
        secret = field.metadata["secret"]
        if isinstance(document, Mapping) and document.get(key) is not None:
            try:
                values[field.name] = _convert(kind, document[key], where, secret=secret)
            except ConfigError as exc:
                raise ConfigError(f"{in_file}{exc}") from None
        if env and env in environ:
            values[field.name] = _convert(kind, environ[env], env, secret=secret)
    return cls(**values)


def _yaml_error(exc: Exception) -> str:
    """Where and what, never the offending line: it may hold a password."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def load(cls: type[T], *, config_file: str | None, environ: Mapping[str, str]) -> T:
    """Build *cls*: its defaults, overridden by *config_file* (YAML), overridden by *environ*."""
    document: Any = {}
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(
                f"unable to access configuration file '{config_file}', please check if the file exists "
                "and has the correct permissions"
            )
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"parsing configuration from file '{config_file}' failed: {_yaml_error(exc)}"
            ) from None
        if not isinstance(document, Mapping):
            raise ConfigError(f"parsing configuration from file '{config_file}' failed: not a YAML mapping")
    return _build(cls, document, environ, "", config_file)


def redacted(config: Any) -> dict[str, Any]:
    """The config as a YAML-shaped dict for logs, every secret shown as ``*****``."""
    shown: dict[str, Any] = {}
    for field in attrs.fields(type(config)):
        value = getattr(config, field.name)
        if attrs.has(type(value)):
            shown[field.metadata["yaml"]] = redacted(value)
        elif field.metadata["secret"]:
            shown[field.metadata["yaml"]] = "*****"
        else:
            shown[field.metadata["yaml"]] = format_duration(value) if isinstance(value, timedelta) else value
    return shown
