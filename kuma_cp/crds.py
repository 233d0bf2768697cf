"""Kuma's Kubernetes kinds and CRDs, generated from the resource type registry (never written twice).

``kuma-cp install crds | kubectl apply -f -`` installs them; the Kubernetes store maps records with the
same `kinds`.
"""

from __future__ import annotations

from typing import Any

import attrs

from kuma_cp import specs
from kuma_cp.resources import (
    CONFIG_MAP_KEY,
    K8S_SPEC_IN_STATUS,
    REGISTRY,
    SECRET_TYPES,
    K8sKind,
    ResourceType,
)
from kuma_cp.specs.schema import openapi
from kv.drivers.k8s.kinds import Kind, crd_manifest

__all__ = ["crd_documents", "kinds"]


def _kind(rtype: ResourceType) -> Kind:
    mesh_scoped = rtype.scope.value == "Mesh"
    if rtype.k8s is K8sKind.SECRET:
        return Kind(
            type=rtype.name,
            plural="secrets",
            scope="secret",
            mesh_scoped=mesh_scoped,
            secret_type=SECRET_TYPES[rtype.name],
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
        spec_field="status" if rtype.name in K8S_SPEC_IN_STATUS else "spec",
    )


def kinds() -> list[Kind]:
    """The Kubernetes kind of every registered Kuma type."""
    return [_kind(rtype) for rtype in REGISTRY]


def schemas(type_name: str) -> dict[str, dict[str, Any]]:
    """The structural schemas of a new-style type's ``spec`` and ``status``, from its definition.

    Legacy (protobuf) types keep free-form fields, as Kuma's CRDs of them do.
    """
    definition = specs.lookup(type_name)
    if definition is None or definition.legacy:
        return {}
    out = {"spec": {"type": "object", **openapi(definition.spec)}}
    if definition.status is not None:
        out["status"] = {"type": "object", **openapi(definition.status)}
    return out


def crd_documents(*, with_schemas: bool = True, group: str | None = None) -> list[dict[str, object]]:
    """The CustomResourceDefinitions of every custom kind (Secrets and ConfigMaps are native: none).

    Args:
        with_schemas: give new-style kinds the structural schemas of their definitions (as Kuma's CRDs
            do), so that the API server validates and prunes what is written with kubectl; without,
            every spec is free-form (for stores that keep arbitrary documents, e.g. kv's own tests).
        group: another API group than Kuma's (tests install both kinds of CRDs on one API server).
    """
    documents = []
    for kind in kinds():
        if kind.native:
            continue
        if group is not None:
            kind = attrs.evolve(kind, group=group)
        documents.append(crd_manifest(kind, schemas(kind.type) if with_schemas else None))
    return documents
