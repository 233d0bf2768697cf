"""MeshAccessLog (``pkg/plugins/policies/meshaccesslog``): where and how proxies log the traffic they see."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import (
    BackendResourceRef,
    ConditionsStatus,
    Match,
    OutboundTargetRef,
    TopLevelTargetRef,
    check_match,
    top_level,
    validate_target_ref,
)
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import is_file_path, is_json, is_url
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_EMPTY,
    Errors,
    Path,
    backend_resource_ref,
    otel_attribute_name,
)

__all__ = ["DEFINITION", "MeshAccessLogSpec"]


class JsonValue(Spec):
    """One field of a JSON log line."""

    key: str
    value: str


class Format(Spec):
    """The format of log lines: a plain template or JSON fields (Envoy command operators)."""

    type: Literal["Plain", "Json"]
    plain: str | None = None
    json_: list[JsonValue] | None = Field(default=None, alias="json")
    omit_empty_values: bool = False


class TCPBackend(Spec):
    """Logs sent to a TCP collector."""

    format: Format | None = None
    address: str = Field(min_length=1)


class FileBackend(Spec):
    """Logs written to a file."""

    format: Format | None = None
    path: str = Field(min_length=1)


class OtelAttribute(Spec):
    """One OpenTelemetry attribute of a log record; the value may hold placeholders."""

    key: str = Field(pattern=r"^[a-z]([a-z0-9]|[._][a-z0-9])*$")
    value: str


class OtelBackend(Spec):
    """Logs exported to an OpenTelemetry collector (a MeshOpenTelemetryBackend)."""

    attributes: list[OtelAttribute] | None = None
    body: Any = None  # any JSON value (x-kubernetes-preserve-unknown-fields)
    backend_ref: BackendResourceRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _untyped_null(cls, data: Any) -> Any:
        # an untyped property accepts null; Go decodes it as unset
        if isinstance(data, dict) and "body" in data and data["body"] is None:
            return {key: value for key, value in data.items() if key != "body"}
        return data


class Backend(Spec):
    """One access log backend."""

    type: Literal["Tcp", "File", "OpenTelemetry"]
    tcp: TCPBackend | None = None
    file: FileBackend | None = None
    open_telemetry: OtelBackend | None = None


class Conf(Spec):
    """The backends traffic is logged to."""

    backends: list[Backend] | None = None


class To(Spec):
    """Logging of the traffic towards some destinations."""

    target_ref: OutboundTargetRef
    default: Conf


class Rule(Spec):
    """Logging of inbound traffic, optionally only from some sources."""

    matches: list[Match] | None = None
    default: Conf


class MeshAccessLogSpec(Spec):
    """The spec of a MeshAccessLog."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = None
    rules: list[Rule] | None = None


def _validate_format(fmt: Format) -> Errors:
    errors = Errors()
    if fmt.type == "Plain":
        if fmt.plain is None:
            errors.at(Path.rooted_at("plain"), MUST_BE_DEFINED)
        elif not fmt.plain:
            errors.at(Path.rooted_at("plain"), MUST_NOT_BE_EMPTY)
        return errors
    if fmt.json_ is None:
        errors.at(Path.rooted_at("json"), MUST_BE_DEFINED)
        return errors
    if not fmt.json_:
        errors.violation("json", MUST_NOT_BE_EMPTY)
    for index, field in enumerate(fmt.json_):
        path = Path.rooted_at("json").index(index)
        if not field.key:
            errors.at(path.field("key"), "key cannot be empty")
        if not field.value:
            errors.at(path.field("value"), "value cannot be empty")
        if not is_json('{"' + field.key + '": "' + field.value + '"}'):
            errors.at(path, "is not a valid JSON object")
    return errors


def _validate_backend(backend: Backend) -> Errors:
    errors = Errors()
    if backend.type == "File":
        root = Path.rooted_at("file")
        if backend.file is None:
            errors.at(root, MUST_BE_DEFINED)
            return errors
        if backend.file.format is not None:
            errors.add_at(root.field("format"), _validate_format(backend.file.format))
        if not is_file_path(backend.file.path):
            errors.at(root.field("path"), "file backend requires a valid path")
    elif backend.type == "Tcp":
        root = Path.rooted_at("tcp")
        if backend.tcp is None:
            errors.at(root, MUST_BE_DEFINED)
            return errors
        if backend.tcp.format is not None:
            errors.add_at(root.field("format"), _validate_format(backend.tcp.format))
        if not is_url(backend.tcp.address):
            errors.at(root.field("address"), "tcp backend requires valid address")
    else:
        root = Path.rooted_at("openTelemetry")
        otel = backend.open_telemetry
        if otel is None:
            errors.at(root, MUST_BE_DEFINED)
            return errors
        if otel.backend_ref is None:
            errors.at(root.field("backendRef"), MUST_BE_DEFINED)
        else:
            errors.add_at(root.field("backendRef"), backend_resource_ref(otel.backend_ref))
        attributes = Errors()
        for index, attribute in enumerate(otel.attributes or []):
            key = Path.rooted_at("attributes").index(index).field("key")
            attributes.add(otel_attribute_name(key, attribute.key))
        errors.add_at(root, attributes)
    return errors


def _validate_default(conf: Conf) -> Errors:
    errors = Errors()
    if conf.backends is None:
        errors.violation("backends", MUST_BE_DEFINED)
        return errors
    for index, backend in enumerate(conf.backends):
        errors.add_at(Path.rooted_at("backends").index(index), _validate_backend(backend))
    return errors


_DESTINATIONS = ("Mesh", "MeshService", "MeshExternalService", "MeshMultiZoneService", "MeshHTTPRoute")


def validate(spec: MeshAccessLogSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshAccessLogResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules, to = spec.rules or [], spec.to or []
    errors.add_at(
        path.field("targetRef"),
        validate_target_ref(top_level(spec.target_ref), ("Mesh", "Dataplane"), inbound_policy=bool(rules)),
    )
    if rules and to:
        errors.at(path, "'to' must be empty when 'rules' is defined")
    if not rules and not to:
        errors.at(path, "at least one of 'to' or 'rules' has to be defined")
    for index, item in enumerate(to):
        at = Path.rooted_at("to").index(index)
        errors.add_at(path.concat(at.field("targetRef")), validate_target_ref(item.target_ref, _DESTINATIONS))
        errors.add_at(path.concat(at.field("default")), _validate_default(item.default))
    for index, rule in enumerate(rules):
        at = Path.rooted_at("rules").index(index)
        for match_index, match in enumerate(rule.matches or []):
            errors.add_at(path.concat(at.field("matches").index(match_index)), check_match(match))
        errors.add_at(path.concat(at.field("default")), _validate_default(rule.default))
    return errors


DEFINITION: Definition[MeshAccessLogSpec] = Definition(
    name="MeshAccessLog", spec=MeshAccessLogSpec, status=ConditionsStatus, validator=validate
)
