"""Preparing a cluster for a `KubernetesDriver` in tests: CRDs installed once, namespaces, a clean slate.

Tools for test fixtures (kv's pytest plugin), not for production: a control plane's CRDs are installed
by its operator (``kuma-cp install crds | kubectl apply -f -``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kv.drivers.k8s.kinds import NATIVE_KINDS, Kind, crd_manifest

__all__ = ["api_client", "delete_namespace", "delete_objects", "ensure_namespace", "install_crds"]


def install_crds(api: client.ApiClient, kinds: Iterable[Kind], *, timeout: float = 60) -> None:
    """Create the CRDs of *kinds* (existing ones are kept) and wait until every one is served."""
    extensions = client.ApiextensionsV1Api(api)
    manifests: list[Any] = [crd_manifest(kind) for kind in kinds if kind.scope not in NATIVE_KINDS]
    for manifest in manifests:
        try:
            extensions.create_custom_resource_definition(manifest)
        except ApiException as exc:
            if exc.status != 409:
                raise
    deadline = time.monotonic() + timeout
    for manifest in manifests:
        while True:
            crd = extensions.read_custom_resource_definition(manifest["metadata"]["name"])
            conditions = (crd.status.conditions if crd.status else None) or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {manifest['metadata']['name']} not established after {timeout}s")
            time.sleep(0.05)


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    """Create the namespace *name* unless it exists."""
    with contextlib.suppress(ApiException):
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def delete_namespace(api: client.ApiClient, name: str) -> None:
    """Delete the namespace *name* (and, in the background, what it holds); a missing one is fine."""
    with contextlib.suppress(ApiException):
        client.CoreV1Api(api).delete_namespace(name)


def delete_objects(api: client.ApiClient, kinds: Iterable[Kind]) -> None:
    """Delete every custom object of *kinds*, cluster-wide."""
    custom = client.CustomObjectsApi(api)
    for kind in kinds:
        if kind.scope in NATIVE_KINDS:
            continue
        found: Any = custom.list_cluster_custom_object(kind.group, kind.version, kind.plural)
        for obj in found.get("items") or []:
            meta = obj["metadata"]
            try:
                if meta.get("namespace"):
                    custom.delete_namespaced_custom_object(
                        kind.group, kind.version, meta["namespace"], kind.plural, meta["name"]
                    )
                else:
                    custom.delete_cluster_custom_object(kind.group, kind.version, kind.plural, meta["name"])
            except ApiException as exc:
                if exc.status != 404:  # 404: gone already (an owner's cascade)
                    raise


def api_client(kubeconfig: str | None = None) -> client.ApiClient:
    """A client of the cluster *kubeconfig* names (else found as `KubernetesDriver.from_url` finds it)."""
    from kv.drivers.k8s import connect

    return client.ApiClient(connect.configure(kubeconfig))
