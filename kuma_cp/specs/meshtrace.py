"""MeshTrace (``pkg/plugins/policies/meshtrace``): the tracing backend, sampling and tags of proxies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kuma_cp.specs.base import IntOrString, Spec
from kuma_cp.specs.common import (
    BackendResourceRef,
    ConditionsStatus,
    TopLevelTargetRef,
    validate_top_and_default,
)
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import is_url, parse_url
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_DEFINED,
    MUST_NOT_BE_EMPTY,
    Errors,
    Path,
    backend_resource_ref,
    decimal_of,
    must_have_only_one,
)

__all__ = ["DEFINITION", "MeshTraceSpec"]


class ZipkinBackend(Spec):
    """A Zipkin collector."""

    url: str
    trace_id128bit: bool = Field(default=False, alias="traceId128bit")
    api_version: Literal["httpJson", "httpProto"] = "httpJson"
    shared_span_context: bool = True


class DatadogBackend(Spec):
    """A Datadog agent (host and port only)."""

    url: str
    split_service: bool = False


class OpenTelemetryBackend(Spec):
    """An OpenTelemetry collector (a MeshOpenTelemetryBackend)."""

    backend_ref: BackendResourceRef | None = None


class Backend(Spec):
    """The tracing backend."""

    type: Literal["Zipkin", "Datadog", "OpenTelemetry"]
    zipkin: ZipkinBackend | None = None
    datadog: DatadogBackend | None = None
    open_telemetry: OpenTelemetryBackend | None = None


class Sampling(Spec):
    """Percentages of requests traced (an integer or a decimal in a string)."""

    overall: IntOrString | None = None
    client: IntOrString | None = None
    random: IntOrString | None = None


class HeaderTag(Spec):
    """A tag taken from a request header."""

    name: str
    default: str | None = None


class Tag(Spec):
    """A custom tag: a literal or a header's value."""

    name: str
    literal: str | None = None
    header: HeaderTag | None = None


class Conf(Spec):
    """The tracing configuration."""

    backends: list[Backend] | None = Field(default=None, max_length=1)
    sampling: Sampling | None = None
    tags: list[Tag] | None = None


class MeshTraceSpec(Spec):
    """The spec of a MeshTrace."""

    target_ref: TopLevelTargetRef | None = None
    default: Conf = Conf()  # a Go struct, always marshalled


def _validate_sampling(value: Any) -> Errors:
    errors = Errors()
    number = decimal_of(value)
    if number is None:
        errors.violation("", "string is not a number")
    elif not 0 <= number <= 100:
        errors.violation("", "must be between 0 and 100")
    return errors


def _validate_datadog(path: Path, url: str) -> Errors:
    errors = Errors()
    parsed = parse_url(url, request=True)
    if parsed is None:
        errors.at(path, "must be a valid url")
        return errors
    if parsed.scheme != "http":
        errors.at(path, "scheme must be http")
    port = parsed.port
    if not port:
        errors.at(path, "port " + MUST_BE_DEFINED)
    elif not 0 < int(port) <= 65535:
        errors.at(path, "port must be a valid (1-65535)")
    others = (
        ("opaque", parsed.opaque),
        ("user", parsed.user),
        ("path", parsed.path),
        ("query", parsed.raw_query),
        ("fragment", parsed.fragment),
    )
    for name, value in others:  # Kuma walks a Go map here: its order varies from call to call
        if value:
            errors.at(path, f"{name} {MUST_NOT_BE_DEFINED}")
    return errors


def _validate_backend(backend: Backend, path: Path) -> Errors:
    errors = Errors()
    if backend.type == "Datadog":
        if backend.datadog is None:
            errors.at(path.field("datadog"), MUST_BE_DEFINED)
        else:
            errors.add(_validate_datadog(path.field("datadog").field("url"), backend.datadog.url))
    elif backend.type == "Zipkin":
        at = path.field("zipkin")
        if backend.zipkin is None:
            errors.at(at, MUST_BE_DEFINED)
        elif not backend.zipkin.url:
            errors.at(at.field("url"), MUST_NOT_BE_EMPTY)
        elif not is_url(backend.zipkin.url):
            errors.at(at.field("url"), "must be a valid url")
    else:
        at = path.field("openTelemetry")
        if backend.open_telemetry is None:
            errors.at(at, MUST_BE_DEFINED)
        elif backend.open_telemetry.backend_ref is None:
            errors.at(at.field("backendRef"), MUST_BE_DEFINED)
        else:
            errors.add_at(at.field("backendRef"), backend_resource_ref(backend.open_telemetry.backend_ref))
    return errors


def _validate_default(conf: Conf) -> Errors:
    errors = Errors()
    backends = Path.rooted_at("backends")
    if conf.backends is None:
        errors.at(backends, MUST_BE_DEFINED)
    if len(conf.backends or []) == 1:
        errors.add(_validate_backend((conf.backends or [])[0], backends.index(0)))
    elif len(conf.backends or []) > 1:
        errors.at(backends, "must have zero or one backend defined")
    for index, tag in enumerate(conf.tags or []):
        path = Path.rooted_at("tags").index(index)
        if not tag.name:
            errors.at(path.field("name"), MUST_NOT_BE_EMPTY)
        if (tag.header is not None) == (tag.literal is not None):
            errors.at(path, must_have_only_one("tag", "header", "literal"))
    if conf.sampling is not None:
        sampling = Path.rooted_at("sampling")
        for name in ("client", "random", "overall"):
            value = getattr(conf.sampling, name)
            if value is not None:
                errors.add_at(sampling.field(name), _validate_sampling(value))
    return errors


def validate(spec: MeshTraceSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshTraceResource.validate``."""
    return validate_top_and_default(spec.target_ref, _validate_default(spec.default))


DEFINITION: Definition[MeshTraceSpec] = Definition(
    name="MeshTrace", spec=MeshTraceSpec, status=ConditionsStatus, validator=validate
)
