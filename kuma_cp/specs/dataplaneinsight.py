"""DataplaneInsight (``api/mesh/v1alpha1/dataplane_insight.proto``): a proxy's xDS sessions and identity.

Written only by the control plane (read-only over the API): one subscription per ADS stream (when it
connected and disconnected, xDS counters, versions), the proxy's certificate, the metadata it sent,
and how its OpenTelemetry backends were resolved. ``subscriptions[].id`` and the other
``protoc-gen-validate`` rules of the ``.proto`` are not run by Kuma (no validator is generated).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kuma_cp.specs._jsonpb import REPEATED, Bool, Item, Message, String, StringMap, UInt32
from kuma_cp.specs._wellknown import Struct, Timestamp, UInt64
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "DataplaneInsightSpec", "ServiceStats"]


class ServiceStats(Message):
    """xDS (or KDS) responses sent, acknowledged and rejected; 64-bit counters, stored as strings."""

    responses_sent: UInt64 = None
    responses_acknowledged: UInt64 = None
    responses_rejected: UInt64 = None


class SubscriptionStatus(Message):
    """A subscription's counters, in total and per xDS service."""

    last_update_time: Timestamp = None
    total: ServiceStats | None = None
    cds: ServiceStats | None = None
    eds: ServiceStats | None = None
    lds: ServiceStats | None = None
    rds: ServiceStats | None = None


class KumaDpVersion(Message):
    """The kuma-dp build."""

    version: String = None
    git_tag: String = Field(None, alias="gitTag")
    git_commit: String = Field(None, alias="gitCommit")
    build_date: String = Field(None, alias="buildDate")
    kuma_cp_compatible: Bool = Field(None, alias="kumaCpCompatible")


class EnvoyVersion(Message):
    """The Envoy build."""

    version: String = None
    build: String = None
    kuma_dp_compatible: Bool = Field(None, alias="kumaDpCompatible")


class Version(Message):
    """The proxy's versions."""

    kuma_dp: KumaDpVersion | None = Field(None, alias="kumaDp")
    envoy: EnvoyVersion | None = None
    dependencies: StringMap = None


class Subscription(Message):
    """One ADS stream between the proxy and a control plane instance."""

    id: String = None
    control_plane_instance_id: String = None
    connect_time: Timestamp = None
    disconnect_time: Timestamp = None
    status: SubscriptionStatus | None = None
    version: Version | None = None
    generation: UInt32 = None


class MTLS(Message):
    """The proxy's current certificate."""

    certificate_expiration_time: Timestamp = None
    last_certificate_regeneration: Timestamp = None
    certificate_regenerations: UInt32 = None
    issued_backend: String = Field(None, alias="issuedBackend")
    supported_backends: Annotated[list[Item] | None, REPEATED] = Field(None, alias="supportedBackends")


class Signal(Message):
    """How one signal (traces, logs, metrics) of a backend was resolved."""

    enabled: Bool = None
    env_allowed: Bool = Field(None, alias="envAllowed")
    env_input_present: Bool = Field(None, alias="envInputPresent")
    state: String = None
    override_kinds: Annotated[list[Item] | None, REPEATED] = Field(None, alias="overrideKinds")
    missing_fields: Annotated[list[Item] | None, REPEATED] = Field(None, alias="missingFields")
    blocked_reasons: Annotated[list[Item] | None, REPEATED] = Field(None, alias="blockedReasons")


class Backend(Message):
    """One OpenTelemetry backend of the proxy."""

    name: String = None
    traces: Signal | None = None
    logs: Signal | None = None
    metrics: Signal | None = None


class OpenTelemetry(Message):
    """The proxy's OpenTelemetry backends."""

    backends: Annotated[list[Backend] | None, REPEATED] = None


class DataplaneInsightSpec(Message):
    """The spec of a DataplaneInsight."""

    subscriptions: Annotated[list[Subscription] | None, REPEATED] = None
    m_tls: MTLS | None = Field(None, alias="mTLS")
    metadata: Struct = None
    open_telemetry: OpenTelemetry | None = Field(None, alias="openTelemetry")


DEFINITION: Definition[DataplaneInsightSpec] = Definition(
    name="DataplaneInsight", spec=DataplaneInsightSpec, legacy=True
)
