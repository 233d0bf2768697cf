"""The Kubernetes runtime's configuration (``runtime.kubernetes``): leader election, client rate, owners.

Names, environment variables and defaults are Go Kuma's (``pkg/config/plugins/runtime/k8s``). Kuma
validates none of these settings; what a Go kuma-cp would only find when it starts (client-go's leader
elector refusing its timings) or never (a negative burst, on which client-go's token bucket blocks
forever) is refused here, when the configuration loads, in Kuma's style and with client-go's words.
As in Kuma, the section is validated only where it is used: when ``store.type`` is ``kubernetes``.
"""

from __future__ import annotations

from datetime import timedelta

from attrs import frozen

from kuma_cp.loader import section, setting

__all__ = [
    "LEADER_ELECTION_RETRY_PERIOD",
    "ClientConfig",
    "KubernetesRuntimeConfig",
    "LeaderElectionConfig",
    "RuntimeConfig",
    "validate_kubernetes_runtime",
]

LEADER_ELECTION_RETRY_PERIOD = timedelta(seconds=2)
"""How often a candidate tries to acquire or renew the lease: controller-runtime's default, as in Kuma."""
_JITTER_FACTOR = 1.2  # client-go's leaderelection.JitterFactor


@frozen
class LeaderElectionConfig:
    """Leader election on a Lease in the system namespace (``runtime.kubernetes.leaderElection``)."""

    lease_duration: timedelta = setting(
        "leaseDuration",
        env="KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_LEASE_DURATION",
        default=timedelta(seconds=15),
    )
    """15s, as Kuma: how long candidates wait after the leader's last renewal before taking over."""
    renew_deadline: timedelta = setting(
        "renewDeadline",
        env="KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE",
        default=timedelta(seconds=10),
    )
    """10s, as Kuma: how long the leader keeps retrying a renewal before it steps down."""


@frozen
class ClientConfig:
    """The client's own rate limit towards the API server (``runtime.kubernetes.clientConfig``)."""

    qps: int = setting("qps", env="KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_QPS", default=100)
    """100, as Kuma: requests per second on average; 0 means client-go's default of 5."""
    burst_qps: int = setting("burstQps", env="KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_BURST_QPS", default=100)
    """100, as Kuma: requests allowed at once above the average; 0 means client-go's default of 10."""


@frozen
class KubernetesRuntimeConfig:
    """Kubernetes-specific settings (``runtime.kubernetes``)."""

    leader_election: LeaderElectionConfig = section("leaderElection", LeaderElectionConfig)
    client_config: ClientConfig = section("clientConfig", ClientConfig)
    skip_mesh_owner_reference: bool = setting(
        "skipMeshOwnerReference", env="KUMA_RUNTIME_KUBERNETES_SKIP_MESH_OWNER_REFERENCE", default=False
    )
    """Off, as Kuma: resources are owned by their Mesh, so deleting a Mesh deletes them (on, for Argo CD)."""


@frozen
class RuntimeConfig:
    """Environment-specific settings (``runtime``)."""

    kubernetes: KubernetesRuntimeConfig = section("kubernetes", KubernetesRuntimeConfig)


def validate_kubernetes_runtime(k8s: KubernetesRuntimeConfig) -> list[str]:
    """What is wrong with *k8s*, each without the ``Kubernetes validation failed`` prefix.

    The leader election checks are client-go's (``NewLeaderElector``), in its order and words, with
    controller-runtime's retry period of 2s. A negative QPS, which client-go takes to mean "no limit",
    is refused: Kuma documents only positive values and 0, and a typo should not lift the limit.
    """
    problems = []
    lease, renew = k8s.leader_election.lease_duration, k8s.leader_election.renew_deadline
    retry = LEADER_ELECTION_RETRY_PERIOD * _JITTER_FACTOR
    for failed, message in (
        (lease <= renew, "leaseDuration must be greater than renewDeadline"),
        (
            renew <= retry,
            f"renewDeadline must be greater than retryPeriod*JitterFactor ({retry.total_seconds():g}s)",
        ),
    ):
        if failed:
            problems.append(f".LeaderElection is not valid: {message}")
            break  # client-go stops at its first complaint
    client = k8s.client_config
    for name, value in ((".Qps", client.qps), (".BurstQps", client.burst_qps)):
        if value < 0:
            problems.append(f".ClientConfig is not valid: {name} cannot be negative")
    return problems
