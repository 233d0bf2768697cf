"""Kuma's HTTP resource API (`kuma_cp.api`) over an in-memory store, against Kuma's golden answers."""

from __future__ import annotations

import asyncio
import json
import threading
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

import kv
from kuma_cp import gojson, resources
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.gojson import syntax_error
from kuma_cp.manager import ResourceManager

with warnings.catch_warnings():  # starlette warns that its TestClient prefers httpx2 (not installed)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

INFO = IndexInfo(hostname="cp-1", version="2.9.0", instance_id="cp-1-4f2a", cluster_id="c0ffee")
JSON = {"content-type": "application/json"}
NOW = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
MESH, DATAPLANE, MTP = (
    resources.get("Mesh"),
    resources.get("Dataplane"),
    resources.get("MeshTrafficPermission"),
)
MESH_SERVICE = resources.get("MeshService")
DP_BODY = {
    "type": "Dataplane",
    "mesh": "default",
    "name": "dp-1",
    "networking": {"address": "10.1.2.1", "inbound": [{"port": 1234}]},
}
MTP_SPEC = {
    "targetRef": {"kind": "Mesh"},
    "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://default"}}]}}],
}
ZONE_LABELS = {
    "kuma.io/display-name": "dp-1",
    "kuma.io/env": "universal",
    "kuma.io/mesh": "default",
    "kuma.io/origin": "zone",
    "kuma.io/zone": "default",
}


class Clock:
    """A settable clock for the manager, so that timestamps can be asserted."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def memory() -> kv.Store:
    return kv.open("memory://", catalog=resources.catalog())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def manager(clock: Clock) -> ResourceManager:
    return ResourceManager(memory(), clock=clock)


@pytest.fixture
def client(manager: ResourceManager) -> Iterator[TestClient]:
    with TestClient(api_app(manager, info=INFO)) as test_client:
        yield test_client


def put(client: TestClient, path: str, body: Any, **headers: str) -> Any:
    return client.put(path, content=json.dumps(body), headers={**JSON, **headers})


def std_error(status: int, title: str, detail: str, *violations: tuple[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "/std-errors", "status": status, "title": title, "detail": detail}
    if violations:
        body["invalid_parameters"] = [{"field": f, "reason": r} for f, r in violations]
    body["details"] = detail
    if violations:
        body["causes"] = [{"field": f, "message": r} for f, r in violations]
    return body


def without_times(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("creationTime", "modificationTime")}


@pytest.fixture
def default_mesh(client: TestClient) -> None:
    assert put(client, "/meshes/default", {"type": "Mesh", "name": "default"}).status_code == 201


# --- index and type descriptions ---------------------------------------------------------------------


def test_the_index_is_kumas(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "clusterId": "c0ffee",
        "gui": "/gui",
        "hostname": "cp-1",
        "instanceId": "cp-1-4f2a",
        "product": "Kuma",
        "version": "2.9.0",
    }
    assert answer.text.startswith('{\n "clusterId": "c0ffee",\n')  # go-restful's one-space indent


def test_resources_describes_every_type_as_kuma(client: TestClient) -> None:
    described = client.get("/_resources").json()["resources"]
    assert [d["name"] for d in described] == sorted(t.name for t in resources.REGISTRY if t.path)
    by_name = {d["name"]: d for d in described}
    assert list(by_name["Dataplane"]) == [
        "includeInFederation",
        "name",
        "path",
        "pluralDisplayName",
        "readOnly",
        "scope",
        "shortName",
        "singularDisplayName",
    ]
    assert by_name["Dataplane"]["includeInFederation"] is False
    assert by_name["MeshTrafficPermission"] == {
        "includeInFederation": True,
        "name": "MeshTrafficPermission",
        "path": "meshtrafficpermissions",
        "pluralDisplayName": "Mesh Traffic Permissions",
        "policy": {
            "hasFromTargetRef": False,
            "hasRulesTargetRef": True,
            "hasToTargetRef": False,
            "isFromAsRules": False,
            "isTargetRef": True,
        },
        "readOnly": False,
        "scope": "Mesh",
        "shortName": "mtp",
        "singularDisplayName": "Mesh Traffic Permission",
    }
    assert (by_name["MeshTLS"]["singularDisplayName"], by_name["MeshTLS"]["pluralDisplayName"]) == (
        "Mesh TLS",
        "Mesh TLSes",
    )
    assert by_name["MeshLoadBalancingStrategy"]["pluralDisplayName"] == "Mesh Load Balancing Strategies"
    assert by_name["Mesh"]["pluralDisplayName"] == "Meshes"
    assert by_name["MeshInsight"]["readOnly"] is True
    assert by_name["ZoneInsight"]["scope"] == "Global"


# --- CRUD --------------------------------------------------------------------------------------------


def test_mesh_crud(client: TestClient, clock: Clock) -> None:
    created = put(client, "/meshes/demo", {"type": "Mesh", "name": "demo"})
    assert (created.status_code, created.json(), created.headers["etag"]) == (201, {}, '"1"')
    got = client.get("/meshes/demo")
    assert got.headers["etag"] == '"1"'
    assert list(got.json()) == ["type", "name", "creationTime", "modificationTime", "labels", "kri"]
    assert got.json() == {
        "type": "Mesh",
        "name": "demo",
        "creationTime": "2024-05-01T10:00:00.123456Z",
        "modificationTime": "2024-05-01T10:00:00.123456Z",
        "labels": {"kuma.io/display-name": "demo", "kuma.io/origin": "zone"},
        "kri": "kri_m____demo_",
    }
    clock.now = NOW + timedelta(seconds=5, microseconds=-123456 + 120000)
    updated = put(
        client, "/meshes/demo", {"type": "Mesh", "name": "demo", "skipCreatingInitialPolicies": ["*"]}
    )
    assert (updated.status_code, updated.json(), updated.headers["etag"]) == (200, {}, '"2"')
    got = client.get("/meshes/demo").json()
    assert got["creationTime"] == "2024-05-01T10:00:00.123456Z"
    assert got["modificationTime"] == "2024-05-01T10:00:05.12Z"
    clock.now = datetime(2024, 5, 1, 10, 0, 7, tzinfo=UTC)
    put(client, "/meshes/demo", {"type": "Mesh", "name": "demo"})
    assert client.get("/meshes/demo").json()["modificationTime"] == "2024-05-01T10:00:07Z"
    assert got["skipCreatingInitialPolicies"] == ["*"]
    deleted = client.delete("/meshes/demo")
    assert (deleted.status_code, deleted.json()) == (200, {})
    gone = client.get("/meshes/demo")
    assert gone.status_code == 404
    assert gone.json() == std_error(404, "Could not retrieve a resource", "Not found")


def test_dataplane_has_kumas_merged_shape(client: TestClient, default_mesh: None) -> None:
    assert put(client, "/meshes/default/dataplanes/dp-1", DP_BODY).status_code == 201
    body = client.get("/meshes/default/dataplanes/dp-1").json()
    # Kuma's put_update_dataplanes_01.golden.json, timestamps aside
    assert without_times(body) == {
        "type": "Dataplane",
        "mesh": "default",
        "name": "dp-1",
        "labels": ZONE_LABELS,
        "kri": "kri_dp_default_default__dp-1_",
        "networking": {"address": "10.1.2.1", "inbound": [{"port": 1234}]},
    }
    assert list(body) == [
        "type",
        "mesh",
        "name",
        "creationTime",
        "modificationTime",
        "labels",
        "kri",
        "networking",
    ]
    moved = {**DP_BODY, "networking": {"address": "10.1.2.9"}}
    assert put(client, "/meshes/default/dataplanes/dp-1", moved).status_code == 200
    assert client.get("/meshes/default/dataplanes/dp-1").json()["networking"] == {"address": "10.1.2.9"}
    assert client.get("/dataplanes").json()["total"] == 1
    assert client.delete("/meshes/default/dataplanes/dp-1").json() == {}
    assert client.delete("/meshes/default/dataplanes/dp-1").json() == std_error(
        404, "Could not delete a resource", "Not found"
    )


def test_a_dataplanes_listeners_and_proxy_type_labels_are_computed(
    client: TestClient, default_mesh: None
) -> None:
    body = {
        **DP_BODY,
        "labels": {"kuma.io/proxy-type": "gateway", "team": "a"},
        "networking": {
            "address": "10.0.0.1",
            "listeners": [{"type": "ZoneIngress", "address": "10.0.0.1", "port": 10001}],
        },
    }
    assert put(client, "/meshes/default/dataplanes/dp-1", body).status_code == 201
    labels = client.get("/meshes/default/dataplanes/dp-1").json()["labels"]
    assert labels == {**ZONE_LABELS, "team": "a", "kuma.io/listener-zoneingress": "enabled"}


def test_policy_has_a_spec_and_the_mesh_defaults(client: TestClient, default_mesh: None) -> None:
    body = {"type": "MeshTrafficPermission", "name": "mtp-1", "spec": MTP_SPEC}  # no mesh: "default"
    assert put(client, "/meshes/default/meshtrafficpermissions/mtp-1", body).status_code == 201
    got = client.get("/meshes/default/meshtrafficpermissions/mtp-1").json()
    assert without_times(got) == {
        "type": "MeshTrafficPermission",
        "mesh": "default",
        "name": "mtp-1",
        "labels": {**ZONE_LABELS, "kuma.io/display-name": "mtp-1"},
        "kri": "kri_mtp_default_default__mtp-1_",
        "spec": MTP_SPEC,
    }
    deny = {
        "rules": [{"default": {"deny": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/a"}}]}}]
    }
    replaced = put(client, "/meshes/default/meshtrafficpermissions/mtp-1", {**body, "spec": deny})
    assert replaced.status_code == 200
    assert client.get("/meshes/default/meshtrafficpermissions/mtp-1").json()["spec"] == deny
    put(client, "/meshes/other", {"type": "Mesh", "name": "other"})
    elsewhere = put(client, "/meshes/other/meshtrafficpermissions/mtp-1", body)
    assert elsewhere.json() == std_error(
        400,
        "Could not process a resource",
        "Resource is not valid",
        ("mesh", "mesh from the URL has to be the same as in body"),
    )


def test_status_is_the_control_planes(
    client: TestClient, manager: ResourceManager, default_mesh: None
) -> None:
    path = "/meshes/default/meshservices/redis"
    spec = {
        "selector": {"dataplaneLabels": {"matchLabels": {"app": "redis"}}},
        "ports": [{"port": 6379, "targetPort": 6379, "appProtocol": "tcp"}],
    }
    body = {"type": "MeshService", "name": "redis", "mesh": "default", "spec": spec, "status": {"vips": [1]}}
    assert put(client, path, body).status_code == 201
    got = client.get(path).json()
    stored = {"state": "Unavailable", **spec}  # the schema's default state, as Kuma stores it
    assert (got["spec"], got["status"]) == (stored, {})  # as Kuma: a PUT's status is not taken
    assert got["snis"] == [{"port": 6379, "sni": "sni.msvc.default.default.redis.6379"}]
    assert list(got)[-3:] == ["snis", "spec", "status"]
    current = manager.get(MESH_SERVICE, "default", "redis")
    manager.update(attrs.evolve(current, status={"vips": [{"ip": "10.0.0.1"}]}))
    assert put(client, path, {**body, "status": {}}).status_code == 200
    assert client.get(path).json()["status"] == {"vips": [{"ip": "10.0.0.1"}]}


def test_secrets_are_zone_resources(client: TestClient, default_mesh: None) -> None:
    body = {
        "type": "GlobalSecret",
        "name": "sec-1",
        "data": "dGVzdAo=",
        "creationTime": "2018-07-17T16:05:36.995Z",
    }
    assert put(client, "/globalsecrets/sec-1", body).status_code == 201
    # Kuma's put_globalsecret_01.golden.json, timestamps aside
    assert without_times(client.get("/globalsecrets/sec-1").json()) == {
        "type": "GlobalSecret",
        "name": "sec-1",
        "labels": {
            "kuma.io/display-name": "sec-1",
            "kuma.io/env": "universal",
            "kuma.io/origin": "zone",
            "kuma.io/zone": "default",
        },
        "data": "dGVzdAo=",
    }


def test_a_kri_uses_the_namespace_and_display_name_labels(
    manager: ResourceManager, client: TestClient
) -> None:
    manager.create(MESH, "", "default", spec={})
    labels = {"k8s.kuma.io/namespace": "ns1"}
    manager.create(DATAPLANE, "default", "dp-1", spec={"networking": {"address": "10.1.2.1"}}, labels=labels)
    item = client.get("/meshes/default/dataplanes").json()["items"][0]
    assert (item["labels"], item["kri"]) == (labels, "kri_dp_default__ns1_dp-1_")  # list_dp_with_label_filter


def test_get_format(client: TestClient, default_mesh: None) -> None:
    assert client.get("/meshes/default?format=universal").json()["name"] == "default"
    assert client.get("/meshes/default?format=yaml").json() == std_error(
        400,
        "Could not retrieve a resource",
        "Resource is not valid",
        ("", '"format" must be one of ["k8s", "kubernetes", "universal"]'),
    )
    k8s = client.get("/meshes/default?format=k8s").json()
    assert (k8s["kind"], k8s["apiVersion"], k8s["metadata"]["name"]) == (
        "Mesh",
        "kuma.io/v1alpha1",
        "default",
    )


# --- lists -------------------------------------------------------------------------------------------


@pytest.fixture
def three_meshes(client: TestClient) -> None:
    for name in ("m3", "m1", "m2"):
        assert put(client, f"/meshes/{name}", {"type": "Mesh", "name": name}).status_code == 201


def names(answer: Any) -> list[str]:
    return [item["name"] for item in answer.json()["items"]]


def test_pagination(client: TestClient, three_meshes: None) -> None:
    first = client.get("/meshes?size=2")
    assert list(first.json()) == ["total", "items", "next"]
    assert (first.json()["total"], names(first), first.json()["next"]) == (
        3,
        ["m1", "m2"],
        "http://testserver/meshes?offset=2&size=2",
    )
    last = client.get(first.json()["next"])
    assert (last.json()["total"], names(last), last.json()["next"]) == (3, ["m3"], None)
    middle = client.get("/meshes?size=2&offset=1")  # Kuma's list_mesh_03
    assert (names(middle), middle.json()["next"]) == (["m2", "m3"], None)
    past = client.get("/meshes?offset=10")
    assert past.json() == {"total": 3, "items": [], "next": None}
    assert names(client.get("/meshes")) == ["m1", "m2", "m3"]
    kept = client.get("/meshes?size=1&name=m&zeta=z%20z").json()["next"]
    assert kept == "http://testserver/meshes?name=m&offset=1&size=1&zeta=z+z"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("size=invalid", "invalid format"),
        ("size=0", "must be greater than 0"),
        ("size=-3", "must be greater than 0"),
        ("size=2000", "invalid page size of 2000. Maximum page size is 1000"),
        ("size=99999999999999999999", "invalid format"),
    ],
)
def test_bad_page_sizes(client: TestClient, query: str, reason: str) -> None:
    answer = client.get(f"/meshes?{query}")
    assert answer.status_code == 400
    assert answer.json() == std_error(
        400, "Could not retrieve resources", "Invalid page size", ("size", reason)
    )


def test_bad_offset(client: TestClient) -> None:
    detail = 'invalid: invalid offset: strconv.Atoi: parsing "invalid": invalid syntax'
    assert client.get("/meshes?offset=invalid").json() == std_error(
        400, "Could not retrieve resources", detail
    )


def test_name_and_label_filters(client: TestClient, default_mesh: None) -> None:
    for name, namespace in (("dp-1", "ns1"), ("dp-2", "ns2"), ("web-1", "ns1")):
        body = {**DP_BODY, "name": name, "labels": {"k8s.kuma.io/namespace": namespace}}
        assert put(client, f"/meshes/default/dataplanes/{name}", body).status_code == 201
    assert names(client.get("/meshes/default/dataplanes?name=dp")) == ["dp-1", "dp-2"]
    assert names(client.get("/dataplanes?name=-1")) == ["dp-1", "web-1"]
    by_label = client.get("/meshes/default/dataplanes?filter[labels.k8s.kuma.io/namespace]=ns1")
    assert (by_label.json()["total"], names(by_label)) == (2, ["dp-1", "web-1"])
    both = "/dataplanes?filter[labels.k8s.kuma.io/namespace]=ns1&name=web"
    assert names(client.get(both)) == ["web-1"]
    assert client.get("/dataplanes?filter[labels.k8s.kuma.io/namespace]=no%20such").json()["total"] == 0
    assert client.get("/dataplanes?filter[labels.]=x&size=1").json() == {
        "total": 0,
        "items": [],
        "next": None,
    }
    bad_offset = client.get("/dataplanes?filter[labels.]=x&offset=-1")
    assert bad_offset.json()["detail"] == "invalid: invalid offset: must be non-negative"


def test_bad_filters(client: TestClient, default_mesh: None) -> None:
    bad = client.get("/meshes/default/dataplanes?filter[labelds.k8s.kuma.io/namespace]=ns1")
    assert bad.json() == std_error(
        400,
        "Could not retrieve resources",
        "Resource is not valid",
        (
            "/meshes/{mesh}/dataplanes.filter[labelds.k8s.kuma.io/namespace]",
            "filters are only supported on labels",
        ),
    )
    advanced = client.get("/dataplanes?filter[labels.k8s.kuma.io/namespace][eq]=ns1")
    assert advanced.json()["invalid_parameters"] == [
        {
            "field": "/dataplanes.filter[labels.k8s.kuma.io/namespace][eq]",
            "reason": "advanced filters are not supported",
        }
    ]


# --- errors ------------------------------------------------------------------------------------------


def test_malformed_json_is_gos_error(client: TestClient, default_mesh: None) -> None:
    answer = client.put("/meshes/default/dataplanes/dp-5", content=b"{,\n}", headers=JSON)
    detail = "invalid Dataplane object: \"invalid character ',' looking for beginning of object key string\""
    assert answer.json() == std_error(400, "Bad Request", detail)  # Kuma's put_dataplanes_05
    typed = put(client, "/meshes/default/dataplanes/dp-5", {**DP_BODY, "name": 4})
    detail = (
        'invalid Dataplane object: "json: cannot unmarshal number into Go struct field ResourceMeta.name'
        ' of type string"'
    )
    assert typed.json() == std_error(400, "Bad Request", detail)  # put_dataplanes_08


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"", "unexpected end of JSON input"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b'"\x01"', "invalid character '\\x01' in string literal"),
        (b"{} x", "invalid character 'x' after top-level value"),
        (b"1.", "invalid character ' ' after decimal point in numeric literal"),
        (b"tru", "invalid character ' ' in literal true (expecting 'e')"),  # Go's eof() steps a space
        (b"nuLL", "invalid character 'L' in literal null (expecting 'l')"),
        (b"NaN", "invalid character 'N' looking for beginning of value"),
        (b"\xef\xbb\xbf{}", "invalid character '\u00ef' looking for beginning of value"),
        (b'"\\q"', "invalid character 'q' in string escape code"),
        (b"[" * 10001, "exceeded max depth"),
        (b' {"a": [1, 2.5e-3, true, null, "\\u00e9"]} ', None),
    ],
)
def test_syntax_errors_read_as_gos(text: bytes, error: str | None) -> None:
    assert syntax_error(text) == error


JSON_TOKENS = st.sampled_from(
    [
        *(b"{", b"}", b"[", b"]", b":", b",", b'"a"', b'"', b"\\", b"1", b"-", b".", b"e", b"0", b" "),
        *(b"true", b"nul", b"NaN", b"\x01", b"\xff", b"\xc3\xa9", b"u", b"\\u12", b"+"),
    ]
)


@given(data=st.lists(JSON_TOKENS, max_size=12).map(b"".join) | st.binary(max_size=12))
def test_gos_scanner_and_the_parser_agree(data: bytes) -> None:
    try:
        gojson.loads(data)
        parsed = True
    except ValueError:
        parsed = False
    assert parsed == (syntax_error(data) is None)


def test_a_workload_label_must_be_a_dns_1035_label(client: TestClient, default_mesh: None) -> None:
    good = put(
        client, "/meshes/default/dataplanes/dp-1", {**DP_BODY, "labels": {"kuma.io/workload": "my-wl"}}
    )
    assert good.status_code == 201
    bad = put(
        client,
        "/meshes/default/dataplanes/dp-2",
        {**DP_BODY, "name": "dp-2", "labels": {"kuma.io/workload": "1wl"}},
    )
    detail = (  # Kuma's workload_label_validation_02
        'bad request: labels["kuma.io/workload"]: must be a valid DNS-1035 label (at most 63 characters, '
        "matching regex [a-z]([-a-z0-9]*[a-z0-9])?): a DNS-1035 label must consist of lower case "
        "alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric "
        "character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    )
    assert bad.json() == std_error(400, "Bad Request", detail)


def test_name_type_and_mesh_checks_are_kumas(client: TestClient, default_mesh: None) -> None:
    body = {**DP_BODY, "mesh": "def$ault", "name": "dp-4$"}
    answer = put(client, "/meshes/default/dataplanes/dp-5", body)  # Kuma's put_dataplanes_06
    assert answer.json() == std_error(
        400,
        "Could not process a resource",
        "Resource is not valid",
        ("name", "name from the URL has to be the same as in body"),
        ("mesh", "mesh from the URL has to be the same as in body"),
        (
            "name",
            "invalid characters. A lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character",
        ),
        (
            "mesh",
            "invalid characters. Valid characters are numbers, lowercase latin letters and '-', '_', '.'"
            " symbols.",
        ),
    )
    wrong_type = put(client, "/meshes/default/dataplanes/dp-3", {**DP_BODY, "type": "Mesh", "name": "dp-3"})
    assert wrong_type.json()["invalid_parameters"] == [
        {"field": "type", "reason": "type from the URL has to be the same as in body"}
    ]
    long_name = "a" * 254
    too_long = put(client, "/meshes/default/dataplanes/foo", {**DP_BODY, "name": long_name})
    assert too_long.json()["invalid_parameters"] == [
        {"field": "name", "reason": "name from the URL has to be the same as in body"},
        {"field": "name", "reason": "value length must less or equal 253"},
    ]
    assert client.get("/dataplanes").json()["total"] == 0  # nothing half-written


def test_new_style_bodies_meet_kumas_schema(client: TestClient, default_mesh: None) -> None:
    path = "/meshes/default/meshtrafficpermissions/sample"
    wrong = put(client, path, {"type": "TrafficPermission", "name": "sample", "spec": MTP_SPEC})
    assert wrong.json() == std_error(  # Kuma's put_mtp_01
        400,
        "Could not process a resource",
        "Resource is not valid",
        ("", "type in body should be one of [MeshTrafficPermission]"),
    )
    bare = put(client, path, {"labels": {"a": 1}})
    assert [p["reason"] for p in bare.json()["invalid_parameters"]] == [
        'labels.a in body must be of type string: "number"',
        "name in body is required",
        "spec in body is required",
        "type in body is required",
    ]
    labels = {"foo/bar/baz": "bar", "": "bar", "foo": "^*bar"}
    bad_labels = put(  # Kuma's put_mtp_02.request.json: a valid spec, so only the labels are wrong
        client, path, {"type": "MeshTrafficPermission", "name": "sample", "labels": labels, "spec": MTP_SPEC}
    )
    key_rule = (
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    )
    assert bad_labels.json()["invalid_parameters"] == [  # Kuma's put_mtp_02
        {"field": 'labels[""]', "reason": "name part must be non-empty"},
        {"field": 'labels[""]', "reason": "name part " + key_rule},
        {
            "field": 'labels["foo"]',
            "reason": "a valid label must be an empty string or consist of alphanumeric characters, '-', '_'"
            " or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or"
            " 'my_value',  or '12345', regex used for validation is "
            "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        },
        {
            "field": 'labels["foo/bar/baz"]',
            "reason": "a valid label key "
            + key_rule
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        },
    ]


def test_label_rules_of_a_zone(client: TestClient, default_mesh: None) -> None:
    path = "/meshes/default/meshtrafficpermissions/mtp-1"
    body = {"type": "MeshTrafficPermission", "name": "mtp-1", "spec": MTP_SPEC}
    other_zone = put(client, path, {**body, "labels": {"kuma.io/origin": "zone", "kuma.io/zone": "east"}})
    assert other_zone.json()["invalid_parameters"] == [
        {"field": 'labels["kuma.io/zone"]', "reason": "kuma.io/zone label should have default value"}
    ]
    other_mesh = put(
        client, path, {**body, "labels": {"kuma.io/mesh": "demo"}}
    )  # resource_400onmeshlabeldiffer
    assert other_mesh.json()["invalid_parameters"] == [
        {
            "field": 'labels["kuma.io/mesh"]',
            "reason": "kuma.io/mesh label must not differ from mesh set on resource",
        }
    ]
    origin = put(client, path, {**body, "labels": {"kuma.io/origin": "mars"}})
    assert origin.json()["invalid_parameters"] == [
        {"field": 'labels["kuma.io/origin"]', "reason": 'unknown resource origin "mars"'}
    ]


def test_dns_1035_names(client: TestClient, default_mesh: None) -> None:
    answer = put(client, "/meshes/aa.a", {"type": "Mesh", "name": "aa.a"})  # Kuma's put_meshes_04
    reason = (
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
        "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
        "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    )
    assert answer.json() == std_error(
        400, "Failed to create a resource", "Resource is not valid", ("name", reason)
    )
    assert client.get("/meshes/aa.a").status_code == 404


def test_a_missing_mesh(client: TestClient) -> None:
    missing = std_error(404, "Failed to retrieve Mesh", "Not found")
    assert put(client, "/meshes/nope/dataplanes/dp-1", {**DP_BODY, "mesh": "nope"}).json() == missing
    assert client.get("/meshes/nope/dataplanes/dp-1").json() == missing
    assert client.get("/meshes/nope/meshtrafficpermissions").json() == missing
    assert client.delete("/meshes/nope/dataplanes/dp-1").json() == missing
    assert client.get("/meshes/NOT_A_NAME/dataplanes").status_code == 404


def test_routing_errors_are_go_restfuls(client: TestClient, default_mesh: None) -> None:
    unknown = client.get("/no/such/path")  # go-restful's text, but in Kuma's JSON error shape
    assert (unknown.status_code, unknown.json()) == (404, std_error(404, "Not Found", "404: Page Not Found"))
    assert client.get("/meshes/").status_code == 404
    wrong_method = client.post("/meshes/default")
    assert (wrong_method.status_code, wrong_method.text) == (405, "405: Method Not Allowed")
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}
    no_type = client.put("/meshes/x", content=json.dumps({"type": "Mesh", "name": "x"}))
    assert (no_type.status_code, no_type.text) == (415, "415: Unsupported Media Type")
    text = client.put("/meshes/x", content="{}", headers={"content-type": "text/plain"})
    assert text.status_code == 415
    charset = client.put(
        "/meshes/x",
        content=json.dumps({"type": "Mesh", "name": "x"}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 201


def test_read_only_types(client: TestClient, default_mesh: None) -> None:
    for answer in (
        put(client, "/mesh-insights/default", {}),
        client.delete("/meshes/default/dataplane-insights/x"),
    ):
        assert answer.status_code == 405
        assert answer.json()["title"] == "Method not allowed"
        assert answer.json()["detail"].startswith("On zone control plane you can only modify zone resources")
    assert client.get("/mesh-insights").json() == {"total": 0, "items": [], "next": None}


def test_read_only_server(manager: ResourceManager) -> None:
    manager.create(MESH, "", "default", spec={})
    with TestClient(api_app(manager, info=INFO, read_only=True)) as client:
        assert put(client, "/meshes/demo", {"type": "Mesh", "name": "demo"}).status_code == 405
        assert client.delete("/meshes/default").status_code == 405
        assert client.get("/meshes/default").status_code == 200
        assert all(d["readOnly"] for d in client.get("/_resources").json()["resources"])
    assert [r.key.name for r in manager.list(MESH).items] == ["default"]


# --- races, cascade ----------------------------------------------------------------------------------


OTHER_WRITER = {"skipCreatingInitialPolicies": ["other-writer"]}


class RacedManager(ResourceManager):
    """Another writer gets in between the API's read and its write."""

    def create(self, rtype: Any, mesh: str, name: str, **kwargs: Any) -> kv.Record:
        super().create(rtype, mesh, name, spec=OTHER_WRITER)
        return super().create(rtype, mesh, name, **kwargs)

    def update(self, record: kv.Record, **kwargs: Any) -> kv.Record:
        super().update(attrs.evolve(record, spec=OTHER_WRITER))
        return super().update(record, **kwargs)


def test_lost_races_are_409() -> None:
    manager = RacedManager(memory())
    with TestClient(api_app(manager, info=INFO)) as client:
        created = put(client, "/meshes/race", {"type": "Mesh", "name": "race"})
        detail = 'resource already exists: type="Mesh" name="race" mesh=""'
        assert created.json() == std_error(409, "Conflict", detail)
        updated = put(client, "/meshes/race", {"type": "Mesh", "name": "race"})
        assert updated.json() == std_error(
            409, "Conflict", 'resource conflict: type="Mesh" name="race" mesh=""'
        )
        assert client.get("/meshes/race").json()["skipCreatingInitialPolicies"] == ["other-writer"]


def test_deleting_a_mesh(client: TestClient, default_mesh: None) -> None:
    assert put(client, "/meshes/default/dataplanes/dp-1", DP_BODY).status_code == 201
    body = {"type": "MeshTrafficPermission", "name": "mtp-1", "spec": MTP_SPEC}
    assert put(client, "/meshes/default/meshtrafficpermissions/mtp-1", body).status_code == 201
    refused = client.delete("/meshes/default")
    assert refused.json() == std_error(
        400,
        "Could not delete a resource",
        "Resource is not valid",
        ("mesh", "unable to delete mesh, there are still some dataplanes attached"),
    )
    assert client.delete("/meshes/default/dataplanes/dp-1").status_code == 200
    assert client.delete("/meshes/default").status_code == 200
    assert client.get("/meshtrafficpermissions").json()["total"] == 0
    assert put(client, "/meshes/default", {"type": "Mesh", "name": "default"}).status_code == 201
    assert client.get("/meshes/default/meshtrafficpermissions").json()["total"] == 0


# --- ETag and If-Match -------------------------------------------------------------------------------


def test_if_match_on_put(client: TestClient, default_mesh: None) -> None:
    path, body = (
        "/meshes/default/meshtrafficpermissions/mtp-1",
        {"type": "MeshTrafficPermission", "name": "mtp-1"},
    )
    deny = {
        "rules": [{"default": {"deny": [{"spiffeID": {"type": "Exact", "value": "spiffe://default/a"}}]}}]
    }
    missing = put(client, path, {**body, "spec": MTP_SPEC}, **{"If-Match": "*"})
    assert missing.json() == std_error(412, "Precondition Failed", "If-Match: the resource does not exist")
    assert client.get(path).status_code == 404
    assert put(client, path, {**body, "spec": MTP_SPEC}).status_code == 201
    etag = client.get(path).headers["etag"]
    matched = put(client, path, {**body, "spec": deny}, **{"If-Match": etag})
    assert matched.status_code == 200
    assert matched.headers["etag"] != etag
    stale = put(client, path, {**body, "spec": MTP_SPEC}, **{"If-Match": f'"nope", {etag}'})
    assert stale.status_code == 412
    assert stale.json()["title"] == "Precondition Failed"
    assert client.get(path).json()["spec"] == deny  # nothing changed
    assert client.get(path).headers["etag"] == matched.headers["etag"]
    weak = put(client, path, {**body, "spec": MTP_SPEC}, **{"If-Match": "W/" + matched.headers["etag"]})
    assert weak.status_code == 412
    anyone = put(client, path, {**body, "spec": MTP_SPEC}, **{"If-Match": "*"})
    assert anyone.status_code == 200
    garbage = put(client, path, {**body, "spec": MTP_SPEC}, **{"If-Match": "no quotes"})
    assert (garbage.status_code, garbage.json()["title"]) == (400, "Bad Request")


def test_if_match_on_delete(client: TestClient, default_mesh: None) -> None:
    assert put(client, "/meshes/default/dataplanes/dp-1", DP_BODY).status_code == 201
    etag = client.get("/meshes/default/dataplanes/dp-1").headers["etag"]
    assert put(client, "/meshes/default/dataplanes/dp-1", DP_BODY).status_code == 200
    stale = client.delete("/meshes/default/dataplanes/dp-1", headers={"If-Match": etag})
    assert stale.status_code == 412
    assert client.get("/meshes/default/dataplanes/dp-1").status_code == 200
    mesh_etag = client.get("/meshes/default").headers["etag"]
    refused = client.delete("/meshes/default", headers={"If-Match": mesh_etag})
    assert refused.status_code == 400  # still has a Dataplane, and the Mesh was not touched
    assert client.get("/meshes/default").headers["etag"] == mesh_etag
    current = client.get("/meshes/default/dataplanes/dp-1").headers["etag"]
    assert client.delete("/meshes/default/dataplanes/dp-1", headers={"If-Match": current}).status_code == 200
    gone = client.delete("/meshes/default/dataplanes/dp-1", headers={"If-Match": "*"})
    assert gone.status_code == 412


def test_if_match_loses_a_race_with_412() -> None:
    manager = RacedManager(memory())
    manager.store.create(kv.Record(key=kv.Key("Mesh", "", "race")))
    with TestClient(api_app(manager, info=INFO)) as client:
        etag = client.get("/meshes/race").headers["etag"]
        raced = put(client, "/meshes/race", {"type": "Mesh", "name": "race"}, **{"If-Match": etag})
        assert raced.status_code == 412
        assert client.get("/meshes/race").json()["skipCreatingInitialPolicies"] == ["other-writer"]


# --- robustness --------------------------------------------------------------------------------------


class FailingManager(ResourceManager):
    error: BaseException = RuntimeError("password=hunter2 at line 42")

    def get(self, rtype: Any, mesh: str, name: str, *, version: str | None = None) -> kv.Record:
        raise self.error


def test_unexpected_errors_are_500_without_details() -> None:
    with TestClient(api_app(FailingManager(memory()), info=INFO)) as client:
        answer = client.get("/meshes/default")
        assert answer.json() == std_error(500, "Could not retrieve a resource", "Internal Server Error")
        assert "hunter2" not in answer.text


def test_an_unavailable_store_is_503() -> None:
    manager = FailingManager(memory())
    manager.error = kv.Unavailable("connection refused")
    with TestClient(api_app(manager, info=INFO)) as client:
        answer = put(client, "/meshes/default", {"type": "Mesh", "name": "default"})
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["detail"] == "Service unavailable"


class SlowManager(ResourceManager):
    release: threading.Event = threading.Event()

    def get(self, rtype: Any, mesh: str, name: str, *, version: str | None = None) -> kv.Record:
        assert self.release.wait(10)
        return super().get(rtype, mesh, name, version=version)


def test_blocking_store_calls_do_not_block_the_event_loop() -> None:
    manager = SlowManager(memory())
    app = api_app(manager, info=INFO)

    async def scenario() -> tuple[int, int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cp") as client:
            slow = asyncio.create_task(client.get("/meshes/default"))
            await asyncio.sleep(0.05)
            index = await asyncio.wait_for(client.get("/"), 5)  # answered while the slow one blocks
            assert not slow.done()
            SlowManager.release.set()
            return index.status_code, (await slow).status_code

    assert asyncio.run(scenario()) == (200, 404)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
META = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["Dataplane", "MeshTrafficPermission", "Mesh"]) | JSON_VALUES,
        "name": st.sampled_from(["dp-1", "x"]) | JSON_VALUES,
        "mesh": st.sampled_from(["default", "other"]) | JSON_VALUES,
        "labels": st.dictionaries(st.text(max_size=70), st.text(max_size=70), max_size=3) | JSON_VALUES,
        "spec": JSON_VALUES,
        "networking": JSON_VALUES,
    },
)
BODIES = (
    st.binary(max_size=80)
    | JSON_VALUES.map(json.dumps).map(str.encode)
    | META.map(json.dumps).map(str.encode)
)


def test_garbage_never_crashes_the_server(manager: ResourceManager) -> None:
    manager.create(MESH, "", "default", spec={})
    paths = ["/meshes/default/dataplanes/dp-1", "/meshes/default/meshtrafficpermissions/x", "/meshes/x"]

    with TestClient(api_app(manager, info=INFO), raise_server_exceptions=False) as client:

        @settings(suppress_health_check=[HealthCheck.too_slow])
        @given(body=BODIES, path=st.sampled_from(paths))
        def check(body: bytes, path: str) -> None:
            answer = client.put(path, content=body, headers=JSON)
            assert answer.status_code in (200, 201) or 400 <= answer.status_code < 500, answer.text
            if answer.status_code >= 400:
                assert answer.json()["type"] == "/std-errors"
            else:
                assert answer.json() == {}

        check()
        for kind in ("dataplanes", "meshtrafficpermissions"):  # whatever was written reads back whole
            for item in client.get(f"/meshes/default/{kind}").json()["items"]:
                assert client.get(f"/meshes/default/{kind}/{item['name']}").status_code == 200
