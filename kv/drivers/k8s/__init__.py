"""The Kubernetes driver (Kuma's CRDs, Secrets and ConfigMaps); see `kv.drivers.k8s.driver` and `.kinds`."""

from kv.drivers.k8s.driver import KubernetesDriver
from kv.drivers.k8s.kinds import Kind, crd_manifest

__all__ = ["Kind", "KubernetesDriver", "crd_manifest"]
