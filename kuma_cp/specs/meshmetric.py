"""MeshMetric (``pkg/plugins/policies/meshmetric``): which metrics proxies expose or push, and where."""

from __future__ import annotations

from typing import Literal

from kuma_cp.specs._policy_kit import GoDecoded, Uint32
from kuma_cp.specs.base import Duration, Spec
from kuma_cp.specs.common import (
    BackendResourceRef,
    ConditionsStatus,
    TopLevelTargetRef,
    validate_top_and_default,
)
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.golib import go_regexp_compiles
from kuma_cp.specs.validators import MUST_BE_DEFINED, Errors, Path, backend_resource_ref, port

__all__ = ["DEFINITION", "MeshMetricSpec"]


class Selector(Spec):
    """A selection of Envoy metrics by name."""

    type: Literal["Prefix", "Regex", "Exact", "Contains"]
    match: str


class Profile(Spec):
    """A predefined set of metrics."""

    name: Literal["All", "Basic", "None"]


class Profiles(Spec):
    """The metrics of the sidecar: profiles, then selectors to exclude and include."""

    append_profiles: list[Profile] | None = None
    exclude: list[Selector] | None = None
    include: list[Selector] | None = None


class Sidecar(Spec):
    """The sidecar's own metrics."""

    profiles: Profiles | None = None
    include_unused: bool | None = None


class Application(Spec):
    """An application's metrics endpoint, scraped by the sidecar."""

    name: str | None = None
    path: str = "/metrics"
    address: str | None = None
    port: Uint32


class PrometheusTls(Spec):
    """How Prometheus scrapes the proxy."""

    mode: Literal["Disabled", "ProvidedTLS", "ActiveMTLSBackend"] = "Disabled"


class PrometheusBackend(Spec):
    """Metrics exposed for Prometheus to scrape."""

    client_id: str | None = None
    port: Uint32 = 5670
    path: str = "/metrics"
    tls: PrometheusTls | None = None


class OpenTelemetryBackend(Spec):
    """Metrics pushed to an OpenTelemetry collector (a MeshOpenTelemetryBackend)."""

    backend_ref: BackendResourceRef | None = None
    refresh_interval: Duration | None = None


class Backend(Spec):
    """One metrics backend."""

    type: Literal["Prometheus", "OpenTelemetry"]
    prometheus: PrometheusBackend | None = None
    open_telemetry: OpenTelemetryBackend | None = None


class Conf(Spec):
    """The metrics configuration."""

    sidecar: Sidecar | None = None
    applications: list[Application] | None = None
    backends: list[Backend] | None = None


class MeshMetricSpec(GoDecoded):
    """The spec of a MeshMetric."""

    target_ref: TopLevelTargetRef | None = None
    default: Conf = Conf()  # a Go struct, always marshalled


def _validate_selectors(selectors: list[Selector], kind: str) -> Errors:
    errors = Errors()
    for index, selector in enumerate(selectors):
        if selector.type == "Regex" and not go_regexp_compiles(selector.match):
            errors.at(Path.rooted_at(kind).index(index).field("match"), "invalid regex")
    return errors


def _validate_sidecar(sidecar: Sidecar | None) -> Errors:
    errors = Errors()
    if sidecar is None or sidecar.profiles is None:
        return errors
    profiles = sidecar.profiles
    if profiles.exclude is not None:
        errors.add_at(Path.rooted_at("profiles"), _validate_selectors(profiles.exclude, "exclude"))
    if profiles.include is not None:
        errors.add_at(Path.rooted_at("profiles"), _validate_selectors(profiles.include, "include"))
    return errors  # profile names are an OpenAPI enum: Kuma's own check of them never fires


def _validate_backends(backends: list[Backend]) -> Errors:
    errors = Errors()
    for index, backend in enumerate(backends):
        path = Path.rooted_at("backend").index(index)
        if backend.type == "Prometheus":
            if backend.prometheus is None:
                errors.at(path.field("prometheus"), MUST_BE_DEFINED)
            else:
                errors.add(port(path.field("port"), backend.prometheus.port))
            continue
        otel = backend.open_telemetry
        if otel is None:
            errors.at(path.field("openTelemetry"), MUST_BE_DEFINED)
        elif otel.backend_ref is None:
            errors.at(path.field("openTelemetry").field("backendRef"), MUST_BE_DEFINED)
        else:
            errors.add_at(
                path.field("openTelemetry").field("backendRef"), backend_resource_ref(otel.backend_ref)
            )
    return errors


def _validate_default(conf: Conf) -> Errors:
    errors = Errors()
    errors.add_at(Path.rooted_at("sidecar"), _validate_sidecar(conf.sidecar))
    applications = Errors()
    for index, application in enumerate(conf.applications or []):
        applications.add(port(Path.rooted_at("application").index(index), application.port))
    errors.add_at(Path.rooted_at("applications"), applications)
    errors.add_at(Path.rooted_at("backends"), _validate_backends(conf.backends or []))
    return errors


def validate(spec: MeshMetricSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshMetricResource.validate``."""
    return validate_top_and_default(spec.target_ref, _validate_default(spec.default))


DEFINITION: Definition[MeshMetricSpec] = Definition(
    name="MeshMetric", spec=MeshMetricSpec, status=ConditionsStatus, validator=validate
)
