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


class K8sKind(enum.Enum):
    """How a type is kept in Kubernetes."""

    CLUSTER = "Cluster"  # a cluster-scoped custom object
    NAMESPACED = "Namespaced"  # a namespaced custom object; core name = name.namespace
    SECRET = "Secret"  # a native Secret in the system namespace


@frozen(kw_only=True)
class ResourceType:
    """What kuma-cp knows of a resource type.

    Attributes:
        name: the type name, also the Kubernetes kind (``MeshTrafficPermission``).
        scope: mesh-scoped or global.
        path: the HTTP API path segment (``meshtrafficpermissions``).
        k8s: how Kubernetes keeps it.
        legacy: a protobuf type (its JSON spec is merged into the top level of the REST object and in
            Kubernetes the mesh is a top-level ``mesh`` field); new-style types have ``spec`` and a
            ``kuma.io/mesh`` label.
        has_status: whether it has a status, stored apart from the spec.
        read_only: whether the HTTP API refuses writes (insights are computed by the control plane).
        short_name: Kuma's short name, used in KRIs and by kumactl.
        policy: whether it is a policy.
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


REGISTRY: tuple[ResourceType, ...] = (
    ResourceType(name="Mesh", scope=GLOBAL, path="meshes", k8s=K8sKind.CLUSTER, legacy=True, short_name="m"),
    _insight("MeshInsight", GLOBAL, "mesh-insights", K8sKind.CLUSTER),
    ResourceType(name="Zone", scope=GLOBAL, path="zones", k8s=K8sKind.CLUSTER, legacy=True, short_name="z"),
    _insight("ZoneInsight", GLOBAL, "zone-insights", K8sKind.CLUSTER),
    ResourceType(name="Dataplane", scope=MESH, path="dataplanes", legacy=True, short_name="dp"),
    _insight("DataplaneInsight", MESH, "dataplane-insights", K8sKind.NAMESPACED),
    ResourceType(name="Secret", scope=MESH, path="secrets", k8s=K8sKind.SECRET, legacy=True),
    ResourceType(name="GlobalSecret", scope=GLOBAL, path="globalsecrets", k8s=K8sKind.SECRET, legacy=True),
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
    ResourceType(name="MeshService", scope=MESH, path="meshservices", has_status=True, short_name="msvc"),
    ResourceType(
        name="MeshExternalService",
        scope=MESH,
        path="meshexternalservices",
        has_status=True,
        short_name="extsvc",
    ),
    ResourceType(
        name="MeshMultiZoneService",
        scope=MESH,
        path="meshmultizoneservices",
        has_status=True,
        short_name="mzsvc",
    ),
    ResourceType(name="HostnameGenerator", scope=GLOBAL, path="hostnamegenerators", short_name="hg"),
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
