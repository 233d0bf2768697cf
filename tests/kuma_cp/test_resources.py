"""Kuma's resource type registry, and the conformance kit run with Kuma's own test types."""

from __future__ import annotations

import kv
from kuma_cp import resources
from kv import testing

KUMA_TYPES = testing.Types(**resources.KUMA_TEST_TYPES)


def _kuma_memory() -> kv.Store:
    return kv.open("memory://", catalog=resources.catalog())


def test_registry_has_every_type_the_issue_names() -> None:
    names = {t.name for t in resources.REGISTRY}
    assert names >= {
        "Mesh", "MeshInsight", "Zone", "ZoneInsight", "Dataplane", "DataplaneInsight", "Secret",
        "GlobalSecret",
        "MeshTrafficPermission", "MeshTimeout", "MeshRetry", "MeshCircuitBreaker", "MeshHealthCheck",
        "MeshRateLimit", "MeshAccessLog", "MeshTrace", "MeshFaultInjection", "MeshLoadBalancingStrategy",
        "MeshProxyPatch", "MeshTLS", "MeshService", "MeshExternalService", "MeshMultiZoneService",
        "HostnameGenerator",
        # Kuma 3.0 (issue 13)
        "MeshHTTPRoute", "MeshTCPRoute", "MeshMetric", "MeshPassthrough", "MeshIdentity", "MeshTrust",
        "MeshOpenTelemetryBackend", "MeshZoneAddress", "Workload", "ServiceInsight", "Config",
    }  # fmt: skip


def test_names_paths_and_short_names_are_unique() -> None:
    for attribute in ("name", "path", "k8s_plural"):
        values = [getattr(t, attribute) for t in resources.REGISTRY if getattr(t, attribute)]
        assert len(values) == len(set(values)), attribute
    assert [t.name for t in resources.REGISTRY if not t.path] == ["Config"]  # no HTTP route
    short = [t.short_name for t in resources.REGISTRY if t.short_name]
    assert len(short) == len(set(short))


def test_kumas_paths_plurals_and_scopes() -> None:
    g, m = kv.Scope.GLOBAL, kv.Scope.MESH
    cluster, namespaced, secret = (
        resources.K8sKind.CLUSTER,
        resources.K8sKind.NAMESPACED,
        resources.K8sKind.SECRET,
    )
    expect = {
        "Mesh": ("meshes", "meshes", g, cluster),
        "ZoneInsight": ("zone-insights", "zoneinsights", g, cluster),
        "DataplaneInsight": ("dataplane-insights", "dataplaneinsights", m, namespaced),
        "GlobalSecret": ("globalsecrets", "globalsecrets", g, secret),
        "MeshRetry": ("meshretries", "meshretries", m, namespaced),
        "MeshTLS": ("meshtlses", "meshtlses", m, namespaced),
        "MeshProxyPatch": ("meshproxypatches", "meshproxypatches", m, namespaced),
        "MeshLoadBalancingStrategy": (
            "meshloadbalancingstrategies",
            "meshloadbalancingstrategies",
            m,
            namespaced,
        ),
        "HostnameGenerator": ("hostnamegenerators", "hostnamegenerators", g, namespaced),
    }
    for name, (path, plural, scope, k8s) in expect.items():
        described = resources.get(name)
        assert (described.path, described.k8s_plural, described.scope, described.k8s) == (
            path,
            plural,
            scope,
            k8s,
        )
    with_status = [t.name for t in resources.REGISTRY if t.has_status]
    assert with_status == [
        "MeshAccessLog",
        "MeshTrace",
        "MeshMetric",
        "MeshService",
        "MeshExternalService",
        "MeshMultiZoneService",
        "MeshIdentity",
        "MeshTrust",
        "MeshOpenTelemetryBackend",
        "Workload",
    ]


def test_the_catalog_enforces_kuma_scopes() -> None:
    store = _kuma_memory()
    with testing.raises(kv.Invalid):
        store.create(kv.Record(key=kv.Key("Dataplane", "", "dp-1")))
    with testing.raises(kv.Invalid):
        store.create(kv.Record(key=kv.Key("Mesh", "default", "m")))
    with testing.raises(kv.Invalid, 'invalid: unknown type "Gateway"'):
        store.create(kv.Record(key=kv.Key("Gateway", "default", "g")))
    labels = {"kuma.io/display-name": "Long Display Name (with spaces)"}
    assert store.create(kv.Record(key=kv.Key("Mesh", "", "m"), labels=labels)).labels == labels


def test_every_check_passes_with_kumas_types() -> None:
    for check in testing.CHECKS:
        testing.run_check(check, _kuma_memory, KUMA_TYPES)


def test_the_state_machine_agrees_with_kumas_types() -> None:
    testing.run_state_machine(_kuma_memory, KUMA_TYPES)
