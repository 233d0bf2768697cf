"""``kuma-cp install control-plane``: manifests that run this kuma-cp in a cluster as Kuma's Helm chart does.

What ``kumactl install control-plane`` renders from Kuma's chart (``deployments/charts/kuma``), cut down to
what this control plane runs and needs, with the chart's names, labels and ports (release ``kuma``):

- the system Namespace (``kuma.io/sidecar-injection: "false"``, as kumactl adds it) and the ServiceAccount
  ``kuma-control-plane``;
- RBAC granting what the Kubernetes store does with the API, nothing more: a ClusterRole on the ``kuma.io``
  kinds the store registers (the verbs Kuma's chart grants on them), and a Role in the system namespace on
  the leader-election Lease (``cp-leader-lease``: get and update, and create) and on Secrets and
  ConfigMaps (the store's Kuma Secrets, GlobalSecrets and Configs live there only, so no Secret outside
  it is readable; the store never patches them). No rule on namespaces, as in Kuma's chart, which grants
  only reads of them that this kuma-cp never makes: the store's attempt to create a missing namespace
  is refused and it goes on, so a namespaced policy's namespace must exist, as on Kuma;
- the Deployment (the chart's probes on the diagnostics port, its security contexts, Helm's environment
  for the Kubernetes store and ``KUMA_API_SERVER_READ_ONLY=true``) and the Service for 5680, 5681 and 5682;
- with ``with_crds``, Kuma's CustomResourceDefinitions (``kuma-cp install crds``).

Plain dicts only: no Kubernetes client here.
"""

from __future__ import annotations

from typing import Any

from kuma_cp.crds import crd_documents, kinds
from kuma_cp.leader_kubernetes import LEASE_NAME

__all__ = [
    "DIAGNOSTICS_PORT",
    "NAME",
    "cluster_role_rules",
    "control_plane_documents",
    "role_rules",
]

NAME = "kuma-control-plane"  # the chart's "{{ kuma.name }}-control-plane", for the release name kuma
DIAGNOSTICS_PORT = 5680
API_PORT = 5681
API_HTTPS_PORT = 5682
WORK_DIR = "/tmp/kuma"  # the root file system is read-only; the chart mounts an emptyDir on /tmp
# On Kuma's kinds, what Kuma's chart grants. The store (kv.drivers.k8s.driver) reads, lists and watches,
# creates, replaces and deletes; on Secrets and ConfigMaps exactly that (Kuma's chart adds patch).
STORE_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
NATIVE_VERBS = ["get", "list", "watch", "create", "update", "delete"]


def _labels() -> dict[str, str]:
    """The chart's ``kuma.cpLabels`` for the release ``kuma``, as kumactl renders them."""
    return {"app": NAME, **_selector()}


def _selector() -> dict[str, str]:
    return {"app.kubernetes.io/name": "kuma", "app.kubernetes.io/instance": "kuma"}


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = _labels()
    return meta


def cluster_role_rules() -> list[dict[str, Any]]:
    """The ClusterRole's rules: the store's verbs on every custom kind it registers, nothing else."""
    plurals = sorted({kind.plural for kind in kinds() if not kind.native})
    return [{"apiGroups": ["kuma.io"], "resources": plurals, "verbs": list(STORE_VERBS)}]


def role_rules() -> list[dict[str, Any]]:
    """The system namespace's Role: leader election's Lease, and the Secrets and ConfigMaps of the store."""
    native = sorted({kind.plural for kind in kinds() if kind.native})  # configmaps, secrets
    leases = {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"]}
    return [
        # The elector reads and replaces its one Lease (kv.drivers.k8s.lease), and creates it first; a
        # create cannot be limited to a name (the API server authorizes it before the body is read).
        {**leases, "resourceNames": [LEASE_NAME], "verbs": ["get", "update"]},
        {**leases, "verbs": ["create"]},
        {"apiGroups": [""], "resources": native, "verbs": list(NATIVE_VERBS)},
    ]


def _subjects(namespace: str) -> list[dict[str, str]]:
    return [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}]


def rbac_documents(namespace: str) -> list[dict[str, Any]]:
    """The ClusterRole, ClusterRoleBinding, Role and RoleBinding of the ServiceAccount in *namespace*."""
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": _meta(NAME), "rules": cluster_role_rules()},
        {
            "apiVersion": rbac,
            "kind": "ClusterRoleBinding",
            "metadata": _meta(NAME),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": _subjects(namespace),
        },
        {"apiVersion": rbac, "kind": "Role", "metadata": _meta(NAME, namespace), "rules": role_rules()},
        {
            "apiVersion": rbac,
            "kind": "RoleBinding",
            "metadata": _meta(NAME, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": _subjects(namespace),
        },
    ]


def _service(namespace: str) -> dict[str, Any]:
    meta = _meta(NAME, namespace)
    meta["annotations"] = {"prometheus.io/port": str(DIAGNOSTICS_PORT), "prometheus.io/scrape": "true"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "ports": [
                {"port": DIAGNOSTICS_PORT, "name": "diagnostics", "appProtocol": "http"},
                {"port": API_PORT, "name": "http-api-server", "appProtocol": "http"},
                {"port": API_HTTPS_PORT, "name": "https-api-server", "appProtocol": "https"},
            ],
            "selector": {"app": NAME, **_selector()},
        },
    }


def _environment(namespace: str, api_read_only: bool) -> list[dict[str, str]]:
    env = {  # Helm's defaults for a control plane on Kubernetes that this kuma-cp reads, sorted as Helm does
        "KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN": "false",
        "KUMA_API_SERVER_READ_ONLY": "true" if api_read_only else "false",
        "KUMA_DEFAULTS_SKIP_MESH_CREATION": "false",
        "KUMA_GENERAL_WORK_DIR": WORK_DIR,
        "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": namespace,
        "KUMA_STORE_TYPE": "kubernetes",
    }
    return [{"name": name, "value": value} for name, value in sorted(env.items())]


def _deployment(namespace: str, image: str, replicas: int, api_read_only: bool) -> dict[str, Any]:

    def probe(path: str) -> dict[str, Any]:
        return {"timeoutSeconds": 10, "httpGet": {"path": path, "port": DIAGNOSTICS_PORT}}

    container = {
        "name": "control-plane",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
        "env": _environment(namespace, api_read_only),
        "command": ["kuma-cp"],
        "args": ["--log-level=info", "run"],
        "ports": [
            {"containerPort": DIAGNOSTICS_PORT, "name": "diagnostics", "protocol": "TCP"},
            {"containerPort": API_PORT},
            {"containerPort": API_HTTPS_PORT},
        ],
        "livenessProbe": probe("/healthy"),
        "readinessProbe": probe("/ready"),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, namespace),
        "spec": {
            "replicas": replicas,
            "minReadySeconds": 0,
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": {**_selector(), "app": NAME}},
            "template": {
                "metadata": {"labels": _labels()},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": True,
                    "restartPolicy": "Always",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def control_plane_documents(
    *,
    namespace: str = "kuma-system",
    image: str,
    replicas: int = 1,
    api_read_only: bool = True,
    with_crds: bool = False,
) -> list[dict[str, Any]]:
    """Every manifest, in kumactl's order: Namespace, ServiceAccount, CRDs, RBAC, Service, Deployment.

    Args:
        namespace: the system namespace (``KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE``).
        image: an image with this ``kuma-cp`` on its PATH, run as a non-root user (``runAsNonRoot``).
        replicas: the Deployment's replicas (one leads, see leader election).
        api_read_only: ``KUMA_API_SERVER_READ_ONLY``, true as Helm sets it on Kubernetes, where resources
            are written with kubectl.
        with_crds: include Kuma's CustomResourceDefinitions.
    """
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"kuma.io/sidecar-injection": "false"}},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, namespace)},
    ]
    if with_crds:
        documents.extend(crd_documents())
    documents.extend(rbac_documents(namespace))
    documents.append(_service(namespace))
    documents.append(_deployment(namespace, image, replicas, api_read_only))
    return documents
