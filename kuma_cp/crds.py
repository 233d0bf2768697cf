"""Kuma's Kubernetes kinds and CRDs, generated from the resource type registry (never written twice).

``kuma-cp install crds | kubectl apply -f -`` installs them; the Kubernetes store maps records with the
same `kinds`.
"""

from __future__ import annotations

from kuma_cp.resources import REGISTRY, K8sKind, ResourceType
from kv.drivers.k8s.kinds import Kind, crd_manifest

__all__ = ["crd_documents", "kinds"]

_SECRET_TYPES = {"Secret": "system.kuma.io/secret", "GlobalSecret": "system.kuma.io/global-secret"}
# Kuma's Config is a ConfigMap named as the Config, its text under this data key (pkg/plugins/config/k8s).
CONFIG_MAP_KEY = "config"


def _kind(rtype: ResourceType) -> Kind:
    mesh_scoped = rtype.scope.value == "Mesh"
    if rtype.k8s is K8sKind.SECRET:
        return Kind(
            type=rtype.name,
            plural="secrets",
            scope="secret",
            mesh_scoped=mesh_scoped,
            secret_type=_SECRET_TYPES[rtype.name],
        )
    if rtype.k8s is K8sKind.CONFIG_MAP:
        return Kind(
            type=rtype.name,
            plural="configmaps",
            scope="configmap",
            mesh_scoped=mesh_scoped,
            data_key=CONFIG_MAP_KEY,
        )
    return Kind(
        type=rtype.name,
        plural=rtype.k8s_plural,
        scope="cluster" if rtype.k8s is K8sKind.CLUSTER else "namespaced",
        mesh_scoped=mesh_scoped,
        mesh_field=rtype.legacy and mesh_scoped,
        spec_field="status" if rtype.name == "DataplaneInsight" else "spec",  # as Kuma's CRD keeps it
    )


def kinds() -> list[Kind]:
    """The Kubernetes kind of every registered Kuma type."""
    return [_kind(rtype) for rtype in REGISTRY]


def crd_documents() -> list[dict[str, object]]:
    """The CustomResourceDefinitions of every custom kind (Secrets and ConfigMaps are native: none)."""
    return [crd_manifest(kind) for kind in kinds() if not kind.native]
