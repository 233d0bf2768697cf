"""ZoneInsight (``api/system/v1alpha1/zone_insight.proto``): a zone control plane's KDS sessions.

Written only by the Global control plane (read-only over the API): one subscription per KDS stream
(when, from which instances, counters per resource type, version, the zone's configuration as JSON
text), the last health check, and which Global instance serves each KDS stream.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kuma_cp.specs._jsonpb import REPEATED, Bool, Message, String, UInt32
from kuma_cp.specs._wellknown import MapOf, Timestamp
from kuma_cp.specs.dataplaneinsight import ServiceStats
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "ZoneInsightSpec"]


class SubscriptionStatus(Message):
    """A KDS subscription's counters, in total and per resource type."""

    last_update_time: Timestamp = None
    total: ServiceStats | None = None
    stat: MapOf[ServiceStats] = None


class KumaCpVersion(Message):
    """The zone control plane's build."""

    version: String = None
    git_tag: String = Field(None, alias="gitTag")
    git_commit: String = Field(None, alias="gitCommit")
    build_date: String = Field(None, alias="buildDate")
    kuma_cp_global_compatible: Bool = Field(None, alias="kumaCpGlobalCompatible")


class Version(Message):
    """The zone control plane's version."""

    kuma_cp: KumaCpVersion | None = Field(None, alias="kumaCp")


class Subscription(Message):
    """One KDS stream between the zone and a Global instance."""

    id: String = None
    global_instance_id: String = None
    connect_time: Timestamp = None
    disconnect_time: Timestamp = None
    status: SubscriptionStatus | None = None
    version: Version | None = None
    generation: UInt32 = None
    config: String = None
    auth_token_provided: Bool = None
    zone_instance_id: String = None


class EnvoyAdminStreams(Message):
    """The Global instances serving the Envoy admin streams (deprecated for ``kdsStreams``)."""

    config_dump_global_instance_id: String = None
    stats_global_instance_id: String = None
    clusters_global_instance_id: String = None


class HealthCheck(Message):
    """The last health check received from the zone."""

    time: Timestamp = None


class KDSStream(Message):
    """A KDS stream: the Global instance serving it, since when."""

    global_instance_id: String = None
    connect_time: Timestamp = None


class KDSStreams(Message):
    """The zone's KDS streams."""

    clusters: KDSStream | None = None
    config_dump: KDSStream | None = None
    stats: KDSStream | None = None
    global_to_zone: KDSStream | None = None
    zone_to_global: KDSStream | None = None


class ZoneInsightSpec(Message):
    """The spec of a ZoneInsight."""

    subscriptions: Annotated[list[Subscription] | None, REPEATED] = None
    envoy_admin_streams: EnvoyAdminStreams | None = None
    health_check: HealthCheck | None = None
    kds_streams: KDSStreams | None = None


DEFINITION: Definition[ZoneInsightSpec] = Definition(name="ZoneInsight", spec=ZoneInsightSpec, legacy=True)
