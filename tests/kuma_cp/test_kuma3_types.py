"""Kuma 3.0's types that kuma-store lacked, and the resource routes around them (issue 13, part 1).

Registry facts against Kuma's descriptors, the CRDs ``kuma-cp install crds`` prints, the JSON 404 of an
unknown plural, ``/global-secrets``, ``GET /_kri/{kri}``, the Dataplane ``tag``/``gateway`` filters (over
the in-process API of ``test_api``), and ``Config`` on every backend (a ConfigMap on Kubernetes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import yaml
from click.testing import CliRunner

import kv
from kuma_cp import resources
from kuma_cp.api.descriptors import resources_index
from kuma_cp.api.rest import KriError, hashed_name, kri_core_name, parse_kri
from kuma_cp.cli import cli
from kuma_cp.crds import crd_documents, kinds
from kuma_cp.manager import ResourceManager
from tests.conftest import MARKS, install_crds, k8s_kubeconfig
from tests.kuma_cp.spec_http import TestClient
from tests.kuma_cp.test_api import DP_BODY, MTP_SPEC, client, clock, default_mesh, manager, put, std_error

__all__ = ["client", "clock", "default_mesh", "manager"]  # test_api's fixtures, used here by name

G, M = kv.Scope.GLOBAL, kv.Scope.MESH
K = resources.K8sKind
# name: (scope, path, short name, has status, read-only, policy, legacy, k8s kind, k8s plural), as in
# Kuma's zz_generated descriptors and deployments/charts/kuma/crds (../shared/reference/kuma-types-2026.md).
NS = K.NAMESPACED
KUMA_3_TYPES = {
    "MeshHTTPRoute": (M, "meshhttproutes", "mhttpr", False, False, True, False, NS, "meshhttproutes"),
    "MeshTCPRoute": (M, "meshtcproutes", "mtcpr", False, False, True, False, NS, "meshtcproutes"),
    "MeshMetric": (M, "meshmetrics", "mm", True, False, True, False, NS, "meshmetrics"),
    "MeshPassthrough": (M, "meshpassthroughs", "mp", False, False, True, False, NS, "meshpassthroughs"),
    "MeshIdentity": (M, "meshidentities", "mid", True, False, False, False, NS, "meshidentities"),
    "MeshTrust": (M, "meshtrusts", "mtrust", True, False, False, False, NS, "meshtrusts"),
    "MeshOpenTelemetryBackend": (
        M, "meshopentelemetrybackends", "motb", True, False, False, False, NS, "meshopentelemetrybackends"
    ),
    "MeshZoneAddress": (M, "meshzoneaddresses", "mza", False, False, False, False, NS, "meshzoneaddresses"),
    "Workload": (M, "workloads", "wl", True, False, False, False, NS, "workloads"),
    "ServiceInsight": (M, "service-insights", "", False, True, False, True, K.CLUSTER, "serviceinsights"),
    "Config": (G, "", "", False, False, False, True, K.CONFIG_MAP, "configs"),
}  # fmt: skip
SYSTEM_NAMESPACE_ONLY = {
    "HostnameGenerator", "MeshExternalService", "MeshIdentity", "MeshOpenTelemetryBackend", "MeshTrust"
}  # fmt: skip
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
# A valid Kuma 3.0 spec of each new type with an HTTP route (Kuma's validator tests, and its rest.yaml).
SPECS: dict[str, dict[str, Any]] = {
    "MeshHTTPRoute": {"targetRef": {"kind": "Mesh"}, "to": []},
    "MeshTCPRoute": {
        "targetRef": {"kind": "Mesh"},
        "to": [
            {
                "targetRef": {"kind": "MeshService", "labels": {"kuma.io/display-name": "backend"}},
                "rules": [{"default": {"backendRefs": [{"kind": "MeshService", "labels": {"app": "db"}}]}}],
            }
        ],
    },
    "MeshMetric": {"targetRef": {"kind": "Mesh"}, "default": {"applications": [{"port": 8000}]}},
    "MeshPassthrough": {
        "targetRef": {"kind": "Mesh"},
        "default": {"appendMatch": [{"type": "Domain", "value": "example.com", "protocol": "tls"}]},
    },
    "MeshIdentity": {
        "selector": {"dataplane": {"matchLabels": {"app": "test"}}},
        "spiffeID": {"trustDomain": "{{ .Mesh }}.{{ .Zone }}.mesh.local"},
    },
    "MeshTrust": {
        "trustDomain": "default.zone-1.mesh.local",
        "caBundles": [{"type": "Pem", "pem": {"value": PEM}}],
    },
    "MeshOpenTelemetryBackend": {"endpoint": {"port": 4318}},
    "MeshZoneAddress": {"address": "192.168.0.1", "port": 10001},
    "Workload": {},
}  # fmt: skip


# --- the registry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(KUMA_3_TYPES))
def test_kuma_3_types_are_registered_as_kuma_describes_them(name: str) -> None:
    rtype = resources.get(name)
    got = (
        rtype.scope, rtype.path, rtype.short_name, rtype.has_status, rtype.read_only, rtype.policy,
        rtype.legacy, rtype.k8s, rtype.k8s_plural,
    )  # fmt: skip
    assert got == KUMA_3_TYPES[name]
    assert rtype.system_namespace_only == (name in SYSTEM_NAMESPACE_ONLY)
    assert (rtype.admin_only, rtype.alternative_path) == (False, "")


def test_descriptor_facts_beyond_the_columns() -> None:
    assert {t.name for t in resources.REGISTRY if t.admin_only} == {"Secret", "GlobalSecret"}
    assert {t.name for t in resources.REGISTRY if t.system_namespace_only} == SYSTEM_NAMESPACE_ONLY
    assert {t.name: t.alternative_path for t in resources.REGISTRY if t.alternative_path} == {
        "GlobalSecret": "global-secrets"
    }


def test_resources_index_describes_the_new_types_as_kumas_golden_file() -> None:
    # Kuma's pkg/api-server/testdata/base_endpoints/_resources.golden.json, these entries verbatim.
    by_name = {d["name"]: d for d in resources_index(read_only=False)["resources"]}
    assert "Config" not in by_name  # no HTTP path, so not described
    assert by_name["MeshHTTPRoute"] == {
        "includeInFederation": True,
        "name": "MeshHTTPRoute",
        "path": "meshhttproutes",
        "pluralDisplayName": "Mesh HTTP Routes",
        "policy": {
            "hasFromTargetRef": False,
            "hasRulesTargetRef": False,
            "hasToTargetRef": True,
            "isFromAsRules": False,
            "isTargetRef": True,
        },
        "readOnly": False,
        "scope": "Mesh",
        "shortName": "mhttpr",
        "singularDisplayName": "Mesh HTTP Route",
    }
    assert by_name["MeshOpenTelemetryBackend"] == {
        "includeInFederation": True,
        "name": "MeshOpenTelemetryBackend",
        "path": "meshopentelemetrybackends",
        "pluralDisplayName": "Mesh OpenTelemetry Backends",
        "readOnly": False,
        "scope": "Mesh",
        "shortName": "motb",
        "singularDisplayName": "Mesh OpenTelemetry Backend",
    }
    assert by_name["ServiceInsight"] == {
        "includeInFederation": False,
        "name": "ServiceInsight",
        "path": "service-insights",
        "pluralDisplayName": "Service Insights",
        "readOnly": True,
        "scope": "Mesh",
        "shortName": "",
        "singularDisplayName": "Service Insight",
    }
    federated = {n for n, d in by_name.items() if d["includeInFederation"]}
    assert {"MeshZoneAddress", "Workload", "ServiceInsight"}.isdisjoint(federated)
    assert {"MeshIdentity", "MeshTrust", "MeshMetric", "MeshPassthrough", "MeshTCPRoute"} <= federated
    assert by_name["MeshZoneAddress"]["pluralDisplayName"] == "Mesh Zone Addresses"
    assert by_name["MeshIdentity"]["pluralDisplayName"] == "Mesh Identities"


def test_install_crds_prints_a_crd_for_every_custom_kind() -> None:
    printed = CliRunner().invoke(cli, ["install", "crds"])
    assert printed.exit_code == 0, printed.output
    documents = list(yaml.safe_load_all(printed.output))
    assert documents == crd_documents()
    by_kind = {d["spec"]["names"]["kind"]: d for d in documents}
    assert set(by_kind) == {t.name for t in resources.REGISTRY if t.k8s in (K.CLUSTER, K.NAMESPACED)}
    for name, (*_, k8s, plural) in KUMA_3_TYPES.items():
        if k8s is K.CONFIG_MAP:
            assert name not in by_kind  # a native ConfigMap: no CRD
            continue
        crd = by_kind[name]
        assert (crd["metadata"]["name"], crd["spec"]["names"]["plural"]) == (f"{plural}.kuma.io", plural)
        assert crd["spec"]["scope"] == k8s.value
    insight = by_kind["ServiceInsight"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert insight["properties"]["mesh"] == {"type": "string"}  # mesh-scoped, but a cluster-scoped CRD
    config = next(k for k in kinds() if k.type == "Config")
    assert (config.scope, config.plural, config.data_key, config.mesh_scoped) == (
        "configmap",
        "configmaps",
        "config",
        False,
    )


# --- routes of the new types ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SPECS))
def test_every_new_type_has_kumas_routes(client: TestClient, default_mesh: None, name: str) -> None:
    rtype = resources.get(name)
    body = {"type": name, "mesh": "default", "name": "r-1", "spec": SPECS[name]}
    created = put(client, f"/meshes/default/{rtype.path}/r-1", body)
    assert created.status_code == 201, created.text
    got = client.get(f"/meshes/default/{rtype.path}/r-1").json()
    assert (got["type"], got["kri"], "status" in got) == (
        name,
        f"kri_{rtype.short_name}_default_default__r-1_",
        rtype.has_status,
    )
    assert client.get(f"/{rtype.path}").json()["total"] == 1
    assert client.get(f"/meshes/default/{rtype.path}").json()["total"] == 1
    assert client.delete(f"/meshes/default/{rtype.path}/r-1").status_code == 200


def test_service_insights_are_read_only(client: TestClient, default_mesh: None) -> None:
    body = {"type": "ServiceInsight", "mesh": "default", "name": "all-services-default"}
    refused = put(client, "/meshes/default/service-insights/all-services-default", body)
    assert (refused.status_code, refused.json()["title"]) == (405, "Method not allowed")
    assert client.get("/meshes/default/service-insights").json() == {"total": 0, "items": [], "next": None}
    assert client.get("/service-insights").status_code == 200


def test_config_has_no_route(client: TestClient, manager: ResourceManager) -> None:
    manager.create(resources.get("Config"), "", "kuma-cluster-id", spec={"config": "c0ffee"})
    for path in ("/configs", "/configs/kuma-cluster-id", "/config/kuma-cluster-id"):
        assert client.get(path).json() == std_error(404, "Not Found", "404: Page Not Found"), path


def test_an_unknown_plural_is_kumas_json_404(client: TestClient, default_mesh: None) -> None:
    not_found = std_error(404, "Not Found", "404: Page Not Found")
    for answer in (
        put(client, "/meshes/default/bogus/x", {"type": "Bogus", "mesh": "default", "name": "x"}),
        client.get("/bogus"),
        client.get("/bogus/x"),
        client.get("/meshes/default/bogus"),
        client.delete("/meshes/default/bogus/x"),
    ):
        assert (answer.status_code, answer.headers["content-type"]) == (404, "application/json")
        assert answer.json() == not_found


def test_global_secrets_is_an_alternative_path(client: TestClient) -> None:
    body = {"type": "GlobalSecret", "name": "gs-1", "data": "dGVzdAo="}
    assert put(client, "/global-secrets/gs-1", body).status_code == 201
    assert client.get("/globalsecrets/gs-1").json() == client.get("/global-secrets/gs-1").json()
    assert client.get("/global-secrets").json() == client.get("/globalsecrets").json()
    assert client.get("/global-secrets").json()["total"] == 1
    assert put(client, "/globalsecrets/gs-1", {**body, "data": "eAo="}).status_code == 200
    assert client.get("/global-secrets/gs-1").json()["data"] == "eAo="
    assert client.delete("/global-secrets/gs-1").status_code == 200
    assert client.get("/globalsecrets/gs-1").json()["title"] == "Could not retrieve a resource"


# --- GET /_kri/{kri} -----------------------------------------------------------------------------------


def test_a_kri_is_served_as_its_resources_get(client: TestClient, default_mesh: None) -> None:
    assert put(client, "/meshes/default/dataplanes/dp-1", DP_BODY).status_code == 201
    body = {"type": "MeshTrafficPermission", "mesh": "default", "name": "mtp-1", "spec": MTP_SPEC}
    assert put(client, "/meshes/default/meshtrafficpermissions/mtp-1", body).status_code == 201
    for path in (
        "/meshes/default",
        "/meshes/default/dataplanes/dp-1",
        "/meshes/default/meshtrafficpermissions/mtp-1",
    ):
        direct = client.get(path)
        by_kri = client.get(f"/_kri/{direct.json()['kri']}")
        assert (by_kri.status_code, by_kri.json(), by_kri.headers["etag"]) == (
            200,
            direct.json(),
            direct.headers["etag"],
        )
    # Kuma's get_dp_by_kri: the zone of the KRI is this zone, so the name is the resource's own
    assert client.get("/_kri/kri_dp_default_default__dp-1_").json()["name"] == "dp-1"
    assert client.get("/_kri/kri_mtp_default_default__mtp-1_?format=universal").status_code == 200
    assert client.get("/_kri/kri_m____default_").json()["name"] == "default"  # a global type
    assert client.get("/_kri/kri_mtp_default_default__mtp-1_sectionName").status_code == 200


def test_a_kri_without_a_zone_resolves_a_resource_created_here(
    client: TestClient, manager: ResourceManager, default_mesh: None
) -> None:
    # Beyond Kuma, which looks for a hashed copy only: types zones do not provide carry no zone label.
    spec = {"selector": {"meshService": {"matchLabels": {"app": "a"}}}, "ports": [{"port": 80}]}
    body = {"type": "MeshMultiZoneService", "mesh": "default", "name": "mzs-1", "spec": spec}
    assert put(client, "/meshes/default/meshmultizoneservices/mzs-1", body).status_code == 201
    direct = client.get("/meshes/default/meshmultizoneservices/mzs-1").json()
    assert direct["kri"] == "kri_mzsvc_default___mzs-1_"
    assert client.get(f"/_kri/{direct['kri']}").json() == direct
    mtp = resources.get("MeshTrafficPermission")
    manager.create(mtp, "default", "odd", spec=MTP_SPEC, labels={"kuma.io/display-name": "shown"})
    assert client.get("/_kri/kri_mtp_default___odd_").status_code == 404  # not the KRI of "odd"


def test_a_kri_of_a_resource_synced_from_elsewhere_names_its_hashed_copy(
    client: TestClient, manager: ResourceManager, default_mesh: None
) -> None:
    mtp = resources.get("MeshTrafficPermission")
    # Kuma's kri_endpoint_test: a copy from global (no zone), then one from zone-2 in namespace ns
    manager.create(mtp, "default", "without-namespace-c5v4498z5w4x9bcx", spec=MTP_SPEC)
    manager.create(mtp, "default", hashed_name("default", "p", "zone-2", "ns"), spec=MTP_SPEC)
    from_global = client.get("/_kri/kri_mtp_default___without-namespace_")
    assert from_global.json()["name"] == "without-namespace-c5v4498z5w4x9bcx"
    assert client.get("/_kri/kri_mtp_default_zone-2_ns_p_").status_code == 200
    assert client.get("/_kri/kri_mtp_default_default_ns_p_").status_code == 404  # local: no such name


def test_malformed_kris_are_kumas_400(client: TestClient, default_mesh: None) -> None:
    # Kuma's golden answers (get_resource_by_kri_bad-request, invalid_inbound_kri, almost_valid_inbound_kri)
    for text, detail in (
        ("kri___default_default__mtp-3_", 'bad request: unknown short name of resource type: ""'),
        ("invalid-kri", 'bad request: invalid identifier string: "invalid-kri"'),
        (
            "id_dp_default_test-zone__dp-1_main-port",
            "bad request: identifier must start with 'kri': \"id_dp_default_test-zone__dp-1_main-port\"",
        ),
        ("kri_bogus_default____", 'bad request: unknown short name of resource type: "bogus"'),
        ("kri_sec_default___x_", 'bad request: unknown short name of resource type: "sec"'),  # no KRI
    ):
        assert client.get(f"/_kri/{text}").json() == std_error(400, "Bad Request", detail), text


def test_a_missing_kri_is_kumas_404(client: TestClient, default_mesh: None) -> None:
    missing = std_error(404, "Could not retrieve a resource", "Not found")  # get_resource_by_kri_not-found
    for text in (
        "kri_mtp_default_default__mtp-2_",
        "kri_mtp_nope_default__mtp-2_",  # a mesh that does not exist: still the resource's 404
        "kri_dp____dp-1_",  # a mesh-scoped type without a mesh
        "kri_m_default___default_",  # a global type with a mesh
        "kri_mhttpr_default_default__NOT_A_NAME_",
    ):
        assert client.get(f"/_kri/{text}").json() == missing, text
    assert client.get("/_kri/").json()["status"] == 404
    assert (
        client.get("/_kri/kri_mtp_default_default__mtp-2_?format=yaml").status_code == 404
    )  # not found first


def test_a_kri_formats_as_kuma(client: TestClient, default_mesh: None) -> None:
    assert client.get("/_kri/kri_m____default_?format=kubernetes").json()["kind"] == "Mesh"
    assert client.get("/_kri/kri_m____default_?format=yaml").json() == std_error(
        400,
        "Could not format a resource",
        "Resource is not valid",
        ("", '"format" must be one of ["k8s", "kubernetes", "universal"]'),
    )


def test_kri_parsing_and_names_match_kumas_tests() -> None:
    identifier = parse_kri("kri_mt_producer-policy-flow_kuma-2_producer-policy-flow-ns_to-test-server_")
    assert (identifier.rtype.name, identifier.mesh, identifier.zone, identifier.namespace) == (
        "MeshTimeout",
        "producer-policy-flow",
        "kuma-2",
        "producer-policy-flow-ns",
    )
    assert parse_kri("kri_msvc_m_z_ns_name_a_b").section == "ab"  # the rest, joined without "_"
    # pkg/api-server/kri_endpoint_test.go
    system = "kuma-system"
    for text, zone, namespace, expected in (
        ("kri_mt_producer-policy-flow_kuma-2_producer-policy-flow-ns_to-test-server_", "kuma-1", system,
         "to-test-server-4cx47v8b5wcd4764.kuma-system"),
        ("kri_mt_producer-policy-flow__producer-policy-flow-ns_to-test-server_", "kuma-1", system,
         "to-test-server-5wxzc95dxv8zb244.kuma-system"),
        ("kri_mt_producer-policy-flow_kuma-1_producer-policy-flow-ns_to-test-server_", "kuma-1", system,
         "to-test-server.producer-policy-flow-ns"),
        ("kri_mtp_default___without-namespace_", "default", None, "without-namespace-c5v4498z5w4x9bcx"),
        ("kri_hg__default_kuma-system_local-mesh-service-1_", "default", system,
         "local-mesh-service-1.kuma-system"),
        ("kri_z____zone-1_", "", system, "zone-1"),
        ("kri_m____default_", "", system, "default"),
    ):  # fmt: skip
        assert kri_core_name(parse_kri(text), zone=zone, system_namespace=namespace) == expected, text
    assert hashed_name("", "dpi-1", "zone") == "dpi-1-bx2dwzbd24fxv29x"
    assert len(hashed_name("m", "n" * 300)) == 253
    with pytest.raises(KriError, match='invalid identifier string: "kri_\\\\x00"'):
        parse_kri("kri_\0")


# --- the Dataplane tag and gateway filters --------------------------------------------------------------


@pytest.fixture
def dataplanes(client: TestClient, default_mesh: None) -> None:
    assert put(client, "/meshes/other", {"type": "Mesh", "name": "other"}).status_code == 201
    for mesh, name, labels, gateway in (
        ("default", "web-1", {"app": "web", "version": "v1"}, None),
        ("default", "web-2", {"app": "web", "version": "v2-beta"}, None),
        ("default", "api-1", {"app": "backend-api"}, None),
        ("default", "gw-1", {}, {"tags": {"kuma.io/service": "edge-gateway", "app": "edge"}}),
        ("default", "gw-2", {}, {"type": "DELEGATED", "tags": {"kuma.io/service": "gw"}}),
        ("other", "web-3", {"app": "web"}, None),
    ):
        networking: dict[str, Any] = {"address": "10.0.0.1"}
        if gateway is None:
            networking["inbound"] = [{"port": 8080, "tags": {"team": "inbound-only"}}]  # 3.0: ignored
        else:
            networking["gateway"] = gateway
        body = {"type": "Dataplane", "mesh": mesh, "name": name, "labels": labels, "networking": networking}
        assert put(client, f"/meshes/{mesh}/dataplanes/{name}", body).status_code == 201


def names(client: TestClient, query: str) -> list[str]:
    answer = client.get(query)
    assert answer.status_code == 200, answer.text
    return [item["name"] for item in answer.json()["items"]]


def test_the_tag_filter_matches_labels_and_gateway_tags_fuzzily(
    client: TestClient, manager: ResourceManager, dataplanes: None
) -> None:
    assert names(client, "/meshes/default/dataplanes?tag=app:web") == ["web-1", "web-2"]
    assert names(client, "/dataplanes?tag=app:web") == ["web-1", "web-2", "web-3"]
    assert names(client, "/dataplanes?tag=app:we") == ["web-1", "web-2", "web-3"]  # contains
    assert names(client, "/dataplanes?tag=app:api") == ["api-1"]
    assert names(client, "/dataplanes?tag=app:web&tag=version:v1") == ["web-1"]  # ANDed
    assert names(client, "/dataplanes?tag=app:web&tag=app:backend") == ["api-1"]  # the last value wins
    labels = {"kuma.io/display-name": "db:primary"}  # a label kept as free text
    spec = {"networking": {"address": "10.0.0.2", "inbound": [{"port": 5432}]}}
    manager.create(resources.get("Dataplane"), "other", "db-1", spec=spec, labels=labels)
    assert names(client, "/dataplanes?tag=kuma.io/display-name:db:prim") == ["db-1"]  # split at the first ":"
    assert names(client, "/dataplanes?tag=version:*") == ["web-1", "web-2"]  # any value, key required
    assert names(client, "/dataplanes?tag=kuma.io/service:gateway") == ["gw-1"]  # a gateway's tags
    assert names(client, "/dataplanes?tag=app:edge") == ["gw-1"]
    assert names(client, "/dataplanes?tag=team:inbound") == []  # inbound tags are gone in 3.0
    assert names(client, "/dataplanes?tag=kuma.io/display-name:api") == ["api-1"]  # computed labels too
    assert len(names(client, "/dataplanes?tag=app")) == 7  # no ":": ignored
    assert names(client, "/dataplanes?tag=app:web&name=2") == ["web-2"]
    assert names(client, "/dataplanes?tag=app:web&filter[labels.version]=v1") == ["web-1"]
    assert names(client, "/meshes/default/meshtrafficpermissions?tag=app:web") == []  # Dataplanes only


def test_the_tag_filter_pages_what_it_kept(client: TestClient, dataplanes: None) -> None:
    first = client.get("/dataplanes?tag=app:web&size=2").json()
    assert ([i["name"] for i in first["items"]], first["total"]) == (["web-1", "web-2"], 3)
    assert first["next"] == "http://testserver/dataplanes?offset=2&size=2&tag=app%3Aweb"
    second = client.get("/dataplanes?tag=app:web&size=2&offset=2").json()
    assert ([i["name"] for i in second["items"]], second["total"], second["next"]) == (["web-3"], 3, None)
    assert client.get("/dataplanes?tag=app:web&offset=x").json()["detail"] == (
        'invalid: invalid offset: strconv.Atoi: parsing "x": invalid syntax'
    )


def test_the_gateway_filter(client: TestClient, dataplanes: None) -> None:
    assert names(client, "/dataplanes?gateway=true") == ["gw-1", "gw-2"]
    assert names(client, "/dataplanes?gateway=TRUE&tag=app:edge") == ["gw-1"]
    assert names(client, "/dataplanes?gateway=delegated") == ["gw-1", "gw-2"]
    assert names(client, "/meshes/default/dataplanes?gateway=false") == ["api-1", "web-1", "web-2"]
    assert client.get("/meshes/default/dataplanes?gateway=builtin").json() == std_error(
        400,
        "Could not retrieve resources",
        "Resource is not valid",
        ("/meshes/{mesh}/dataplanes.gateway", "should use `true`, `false` or `delegated` instead of builtin"),
    )


# --- Config on every backend ------------------------------------------------------------------------------

SYSTEM = "kuma-system"


def _kubernetes_store() -> Iterator[kv.Store]:
    from kv.drivers.k8s import KubernetesDriver

    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, crd_documents(with_schemas=False))  # as tests/kv/test_k8s.py installs them
    driver = KubernetesDriver.from_url(
        kinds=kinds(),
        kubeconfig=kubeconfig,
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
    )
    with contextlib.suppress(kv.NotFound):
        driver.delete(kv.Key("Config", "", "kuma-cluster-id"))
    yield kv.Store(driver, catalog=resources.catalog())
    driver.close()


@pytest.fixture(
    params=[pytest.param(name, marks=MARKS.get(name, ())) for name in ("memory", "postgres", "kubernetes")]
)
def kuma_store(request: pytest.FixtureRequest) -> Iterator[kv.Store]:
    """An empty store of Kuma's registry on each backend."""
    if request.param == "memory":
        yield kv.open("memory://", catalog=resources.catalog())
    elif request.param == "postgres":
        from kuma_cp import migrate
        from kv.drivers.postgres import PostgresDriver, create_engine

        dsn = request.getfixturevalue("pg_database")
        admin = create_engine(dsn, max_open_connections=1)
        migrate.migrate_up(admin)
        admin.dispose()
        driver = PostgresDriver.from_url(dsn, max_open_connections=2)
        yield kv.Store(driver, catalog=resources.catalog())
        driver.close()
    else:
        yield from _kubernetes_store()


def test_config_round_trips_on_every_backend(kuma_store: kv.Store) -> None:
    key = kv.Key("Config", "", "kuma-cluster-id")
    created = kuma_store.create(kv.Record(key=key, spec={"config": "0c3b9f5e-cluster"}, labels={"a": "b"}))
    got = kuma_store.get("Config", "", "kuma-cluster-id")
    assert (got.spec, got.labels, got.version) == (
        {"config": "0c3b9f5e-cluster"},
        {"a": "b"},
        created.version,
    )
    updated = kuma_store.update(attrs.evolve(got, spec={"config": '{"k": 1}'}))
    assert kuma_store.get("Config", "", "kuma-cluster-id").spec == {"config": '{"k": 1}'}
    assert [r.key for r in kuma_store.list("Config").items] == [key]
    with pytest.raises(kv.Invalid):
        kuma_store.create(kv.Record(key=kv.Key("Config", "default", "x")))  # a global type
    kuma_store.delete("Config", "", "kuma-cluster-id", version=updated.version)
    with pytest.raises(kv.NotFound):
        kuma_store.get("Config", "", "kuma-cluster-id")


@pytest.mark.k8s
def test_on_kubernetes_a_config_is_kumas_config_map() -> None:
    for store in _kubernetes_store():
        driver: Any = store.driver
        store.create(kv.Record(key=kv.Key("Config", "", "kuma-cluster-id"), spec={"config": "c0ffee"}))
        config_map = driver._call.core.read_namespaced_config_map("kuma-cluster-id", SYSTEM)
        assert (config_map.data, config_map.kind, config_map.metadata.namespace) == (
            {"config": "c0ffee"},
            "ConfigMap",
            SYSTEM,
        )
        with pytest.raises(kv.Invalid, match='only the string field "config"'):
            store.create(kv.Record(key=kv.Key("Config", "", "odd"), spec={"config": "x", "other": 1}))
        with pytest.raises(kv.Invalid, match='only the string field "config"'):
            store.create(kv.Record(key=kv.Key("Config", "", "odd"), spec={"config": 1}))
        written_by_kuma = {"metadata": {"name": "kuma-control-plane-config"}, "data": {"config": "{}"}}
        driver._call.core.create_namespaced_config_map(SYSTEM, written_by_kuma)
        driver.refresh()  # written behind the driver's back: its cache learns of it now
        try:
            got = store.get("Config", "", "kuma-control-plane-config")
            assert (got.spec, got.labels) == ({"config": "{}"}, {})
            assert "kuma-control-plane-config" in {r.key.name for r in store.list("Config").items}
        finally:
            driver._call.core.delete_namespaced_config_map("kuma-control-plane-config", SYSTEM)


@pytest.mark.k8s
def test_on_kubernetes_a_service_insight_is_cluster_scoped_with_its_mesh_in_a_field() -> None:
    for store in _kubernetes_store():
        driver: Any = store.driver
        with contextlib.suppress(kv.NotFound):
            store.delete("ServiceInsight", "demo", "all-services-demo")
        key = kv.Key("ServiceInsight", "demo", "all-services-demo")  # no ".namespace": cluster-scoped
        store.create(kv.Record(key=key, spec={"services": {"web": {"dataplanes": {"online": 1}}}}))
        try:
            obj = driver._call.custom.get_cluster_custom_object(
                "kuma.io", "v1alpha1", "serviceinsights", "all-services-demo"
            )
            assert (obj["kind"], obj["mesh"], obj["spec"]["services"]["web"]) == (
                "ServiceInsight",
                "demo",
                {"dataplanes": {"online": 1}},
            )
            assert [r.key for r in store.list("ServiceInsight", mesh="demo").items] == [key]
            assert store.list("ServiceInsight", mesh="other").total == 0
        finally:
            store.delete("ServiceInsight", "demo", "all-services-demo")
