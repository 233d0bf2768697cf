"""How kv record types map onto Kubernetes objects (pure data; imports no client).

Two layouts of a record type (a `Kind`):

- **Kuma's** (``layout="kuma"``), exactly as Kuma's CRDs (semantics reference §5): group ``kuma.io``,
  version ``v1alpha1``, kind = type name. A cluster-scoped kind's object name is the record name; a
  namespaced kind's record name is ``<name>.<namespace>``, split at the last dot. The mesh is the
  ``kuma.io/mesh`` label (new-style types) or a top-level ``mesh`` field (legacy types). A kind may
  instead be a native object in the system namespace: a ``Secret`` of a given type (Kuma's Secrets and
  GlobalSecrets) or a ``ConfigMap`` whose one data entry holds the spec field of the same name (Kuma's
  Configs).
- **Mesh as namespace** (``layout="mesh-namespace"``), for kv users who are not Kuma: a mesh-scoped record
  (type, mesh, name) is the object ``name`` in namespace ``mesh``, so names repeat across meshes exactly as
  on the other backends; global types are cluster-scoped.

Whatever the layout, the store's own creation and modification times and the record's exact labels travel
in annotations, so a record reads back as written: Kubernetes itself has no modification time and keeps
creation time in seconds. Objects written by Go Kuma, without those annotations, read as Kuma reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from attrs import frozen

__all__ = ["ANNOTATION_PREFIX", "NATIVE_KINDS", "Kind", "crd_manifest"]

ANNOTATION_PREFIX = "kv.kuma.io/"
Layout = Literal["kuma", "mesh-namespace"]
Scope = Literal["cluster", "namespaced", "secret", "configmap"]
NATIVE_KINDS = {"secret": "Secret", "configmap": "ConfigMap"}  # scope -> the native object's kind


@frozen(kw_only=True)
class Kind:
    """One record type's Kubernetes shape.

    Attributes:
        type: the kv record type, also the Kubernetes kind.
        plural: the resource's plural name (``meshtrafficpermissions``).
        scope: ``cluster`` or ``namespaced`` custom objects, or native objects in the system namespace:
            ``secret`` (Secrets) or ``configmap`` (ConfigMaps).
        mesh_scoped: whether records of the type live in a mesh.
        layout: ``kuma`` or ``mesh-namespace`` (see the module docstring).
        mesh_field: Kuma's legacy types keep the mesh in a top-level ``mesh`` field, not a label.
        spec_field: where the spec lives (Kuma's insights keep theirs under ``status``).
        secret_type: the native Secret's type (``system.kuma.io/secret``) when scope is ``secret``.
        data_key: when scope is ``configmap``, the spec's one (string) field, kept as the ConfigMap's
            data entry of the same name (``config``).
        group: the API group.
        version: the API version.
    """

    type: str
    plural: str
    scope: Scope = "namespaced"
    mesh_scoped: bool = True
    layout: Layout = "kuma"
    mesh_field: bool = False
    spec_field: str = "spec"
    secret_type: str = ""
    data_key: str = ""
    group: str = "kuma.io"
    version: str = "v1alpha1"

    @property
    def api_version(self) -> str:
        """``group/version``."""
        return f"{self.group}/{self.version}"

    @property
    def native(self) -> bool:
        """Whether objects of the kind are native Kubernetes objects in the system namespace."""
        return self.scope in NATIVE_KINDS

    @property
    def namespaced(self) -> bool:
        """Whether objects of the kind live in a namespace."""
        return self.scope != "cluster" and not (self.layout == "mesh-namespace" and not self.mesh_scoped)


def crd_manifest(kind: Kind, schemas: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, object]:
    """The CustomResourceDefinition of *kind* (apiextensions.k8s.io/v1), as Kuma declares its CRDs.

    ``spec`` and ``status`` have the structural schemas *schemas* gives them (the API server then
    validates and prunes them) and otherwise keep unknown fields. There is no status subresource: status
    is written by a normal update, as in Kuma.
    """
    free = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    properties: dict[str, object] = {
        field: dict((schemas or {}).get(field) or free) for field in ("spec", "status")
    }
    if kind.mesh_field:
        properties["mesh"] = {"type": "string"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{kind.group}"},
        "spec": {
            "group": kind.group,
            "names": {
                "kind": kind.type,
                "listKind": f"{kind.type}List",
                "plural": kind.plural,
                "singular": kind.type.lower(),
            },
            "scope": "Namespaced" if kind.namespaced else "Cluster",
            "versions": [
                {
                    "name": kind.version,
                    "served": True,
                    "storage": True,
                    "subresources": {},
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}},
                }
            ],
        },
    }
