"""Kuma's resource types: the one registry the store, the HTTP API and the Kubernetes CRDs derive from.

Names, scopes, HTTP paths, short names and status flags are Kuma's own (its generated descriptors); the
Kubernetes columns follow Kuma's CRDs (group ``kuma.io``, version ``v1alpha1``, kind = type name).
"""

from __future__ import annotations

import enum

from attrs import frozen

import kv

__all__ = ["REGISTRY", "K8sKind", "ResourceType", "catalog", "get"]

MESH = kv.Scope.MESH
GLOBAL = kv.Scope.GLOBAL

# Labels whose values Kuma keeps in Kubernetes annotations, because they may be longer than a label value.
ANNOTATION_LABELS = frozenset({"kuma.io/display-name", "k8s.kuma.io/service-account", "kuma.io/workload"})
# The native Secret types Kuma keeps its Secrets and GlobalSecrets in.
SECRET_TYPES = {"Secret": "system.kuma.io/secret", "GlobalSecret": "system.kuma.io/global-secret"}
# Kuma's Config is a ConfigMap named as the Config, its text under this data key (pkg/plugins/config/k8s).
CONFIG_MAP_KEY = "config"
# Types whose Kubernetes object keeps the spec under ``status`` (as Kuma's CRD of DataplaneInsight does).
K8S_SPEC_IN_STATUS = frozenset({"DataplaneInsight"})


class K8sKind(enum.Enum):
    """How a type is kept in Kubernetes."""

    CLUSTER = "Cluster"  # a cluster-scoped custom object
    NAMESPACED = "Namespaced"  # a namespaced custom object; core name = name.namespace
    SECRET = "Secret"  # a native Secret in the system namespace
    CONFIG_MAP = "ConfigMap"  # a native ConfigMap in the system namespace


@frozen(kw_only=True)
class ResourceType:
    """What kuma-cp knows of a resource type.

    Attributes:
        name: the type name, also the Kubernetes kind (``MeshTrafficPermission``).
        scope: mesh-scoped or global.
        path: the HTTP API path segment (``meshtrafficpermissions``); "" for a type with no HTTP route.
        k8s: how Kubernetes keeps it.
        legacy: a protobuf type (its JSON spec is merged into the top level of the REST object and in
            Kubernetes the mesh is a top-level ``mesh`` field); new-style types have ``spec`` and a
            ``kuma.io/mesh`` label.
        has_status: whether it has a status, stored apart from the spec.
        read_only: whether the HTTP API refuses writes (insights are computed by the control plane).
        short_name: Kuma's short name, used in KRIs and by kumactl.
        policy: whether it is a policy.
        admin_only: only admins may read or write it over HTTP (Kuma's ``AdminOnly``).
        system_namespace_only: on Kubernetes, allowed only in the system namespace (Kuma's
            ``AllowedOnSystemNamespaceOnly``).
        alternative_path: a second HTTP path segment serving the same routes (``global-secrets``).
    """

    name: str
    scope: kv.Scope
    path: str
    k8s: K8sKind = K8sKind.NAMESPACED
    legacy: bool = False
    has_status: bool = False
    read_only: bool = False
    short_name: str = ""
    policy: bool = False
    admin_only: bool = False
    system_namespace_only: bool = False
    alternative_path: str = ""

    @property
    def k8s_plural(self) -> str:
        """The CRD plural: lower-case kind plus ``s``, or ``es`` after s, x, ch, sh (``meshtlses``)."""
        lower = self.name.lower()
        if lower.endswith("y") and lower[-2] not in "aeiou":
            return lower[:-1] + "ies"
        return lower + ("es" if lower.endswith(("s", "x", "ch", "sh")) else "s")


def _policy(name: str, short_name: str, *, has_status: bool = False) -> ResourceType:
    return ResourceType(
        name=name,
        scope=MESH,
        path=name.lower() + "s",
        short_name=short_name,
        policy=True,
        has_status=has_status,
    )


def _insight(name: str, scope: kv.Scope, path: str, k8s: K8sKind) -> ResourceType:
    """An insight: computed by the control plane, so read-only over HTTP."""
    return ResourceType(name=name, scope=scope, path=path, k8s=k8s, legacy=True, read_only=True)


def _new_style(
    name: str, path: str, short_name: str, *, has_status: bool = False, system_namespace_only: bool = False
) -> ResourceType:
    """A mesh-scoped new-style resource that is not a policy."""
    return ResourceType(
        name=name,
        scope=MESH,
        path=path,
        short_name=short_name,
        has_status=has_status,
        system_namespace_only=system_namespace_only,
    )


REGISTRY: tuple[ResourceType, ...] = (
    ResourceType(name="Mesh", scope=GLOBAL, path="meshes", k8s=K8sKind.CLUSTER, legacy=True, short_name="m"),
    _insight("MeshInsight", GLOBAL, "mesh-insights", K8sKind.CLUSTER),
    ResourceType(name="Zone", scope=GLOBAL, path="zones", k8s=K8sKind.CLUSTER, legacy=True, short_name="z"),
    _insight("ZoneInsight", GLOBAL, "zone-insights", K8sKind.CLUSTER),
    ResourceType(name="Dataplane", scope=MESH, path="dataplanes", legacy=True, short_name="dp"),
    _insight("DataplaneInsight", MESH, "dataplane-insights", K8sKind.NAMESPACED),
    _insight("ServiceInsight", MESH, "service-insights", K8sKind.CLUSTER),  # mesh-scoped, cluster CRD
    ResourceType(name="Secret", scope=MESH, path="secrets", k8s=K8sKind.SECRET, legacy=True, admin_only=True),
    ResourceType(
        name="GlobalSecret",
        scope=GLOBAL,
        path="globalsecrets",
        k8s=K8sKind.SECRET,
        legacy=True,
        admin_only=True,
        alternative_path="global-secrets",
    ),
    # Kuma's internal configuration (the cluster id, ...): stored, but no HTTP route.
    ResourceType(name="Config", scope=GLOBAL, path="", k8s=K8sKind.CONFIG_MAP, legacy=True),
    _policy("MeshTrafficPermission", "mtp"),
    _policy("MeshTimeout", "mt"),
    ResourceType(name="MeshRetry", scope=MESH, path="meshretries", short_name="mr", policy=True),
    _policy("MeshCircuitBreaker", "mcb"),
    _policy("MeshHealthCheck", "mhc"),
    _policy("MeshRateLimit", "mrl"),
    _policy("MeshAccessLog", "mal", has_status=True),
    _policy("MeshTrace", "mtr", has_status=True),
    _policy("MeshFaultInjection", "mfi"),
    ResourceType(
        name="MeshLoadBalancingStrategy",
        scope=MESH,
        path="meshloadbalancingstrategies",
        short_name="mlbs",
        policy=True,
    ),
    ResourceType(name="MeshProxyPatch", scope=MESH, path="meshproxypatches", short_name="mpp", policy=True),
    ResourceType(name="MeshTLS", scope=MESH, path="meshtlses", short_name="mtls", policy=True),
    _policy("MeshHTTPRoute", "mhttpr"),
    _policy("MeshTCPRoute", "mtcpr"),
    _policy("MeshMetric", "mm", has_status=True),
    _policy("MeshPassthrough", "mp"),
    _new_style("MeshService", "meshservices", "msvc", has_status=True),
    _new_style(
        "MeshExternalService", "meshexternalservices", "extsvc", has_status=True, system_namespace_only=True
    ),
    _new_style("MeshMultiZoneService", "meshmultizoneservices", "mzsvc", has_status=True),
    ResourceType(
        name="HostnameGenerator",
        scope=GLOBAL,
        path="hostnamegenerators",
        short_name="hg",
        system_namespace_only=True,
    ),
    _new_style("MeshIdentity", "meshidentities", "mid", has_status=True, system_namespace_only=True),
    _new_style("MeshTrust", "meshtrusts", "mtrust", has_status=True, system_namespace_only=True),
    _new_style(
        "MeshOpenTelemetryBackend",
        "meshopentelemetrybackends",
        "motb",
        has_status=True,
        system_namespace_only=True,
    ),
    _new_style("MeshZoneAddress", "meshzoneaddresses", "mza"),
    _new_style("Workload", "workloads", "wl", has_status=True),
)

_BY_NAME = {t.name: t for t in REGISTRY}


def get(name: str) -> ResourceType:
    """The registered type called *name*; KeyError if there is none."""
    return _BY_NAME[name]


def catalog() -> kv.Catalog:
    """The kv catalog of every Kuma type, with Kuma's annotation-kept labels as free text."""
    return kv.Catalog.of((kv.RecordType(t.name, t.scope) for t in REGISTRY), ANNOTATION_LABELS)


# The types Kuma's own store tests use, for running kv's conformance kit on Kuma's registry.
KUMA_TEST_TYPES = {
    "owner": "Mesh",
    "item": "MeshExternalService",
    "with_status": "MeshService",
    "secret": "Secret",
}
