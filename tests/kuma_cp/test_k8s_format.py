"""``?format=k8s``: a resource as the Kubernetes object Kuma keeps it in (`kuma_cp.portability.k8sform`).

Through the HTTP API over a memory store: each kind of placement (cluster-scoped, namespaced legacy and
new-style, status, native Secrets), ``?namespace=``, key order, timestamps, lists, KRIs and a bad format;
`from_k8s` reading every such object back. Then on a real kube-apiserver: what the API answers is what
kv's Kubernetes store of Kuma's kinds holds, less the store's own bookkeeping.
"""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

import kv
from kuma_cp import crds, resources
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.manager import ResourceManager
from kuma_cp.portability.k8sform import from_k8s, to_k8s
from kuma_cp.portability.yamlout import dump, load_all
from kuma_cp.resources import K8sKind
from tests.conftest import install_crds, k8s_kubeconfig, kube_client

with warnings.catch_warnings():  # starlette warns that its TestClient prefers httpx2 (not installed)
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

INFO = IndexInfo(hostname="cp-1", version="2.9.0", instance_id="cp-1-4f2a", cluster_id="c0ffee")
NOW = datetime(2024, 5, 1, 10, 0, 0, 987654, tzinfo=UTC)
STAMP = "2024-05-01T10:00:00Z"  # NOW in whole seconds: truncated, not rounded
SYSTEM = "kuma-system"
FORMATS = '"format" must be one of ["k8s", "kubernetes", "universal"]'
ZONE = {"kuma.io/env": "universal", "kuma.io/origin": "zone", "kuma.io/zone": "default"}
NETWORKING = {"networking": {"address": "10.0.0.1", "inbound": [{"port": 1234}]}}
MT_SPEC = {
    "targetRef": {"kind": "Mesh"},
    "to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "20s"}}],
}
MS_SPEC = {"ports": [{"port": 80, "targetPort": 8080, "appProtocol": "http"}]}
MS_STATUS = {"vips": [{"ip": "10.0.0.9"}]}
REST_ONLY = ("creationTime", "modificationTime", "kri", "snis")  # the REST form's own, or computed
DP1, DP2 = "/meshes/default/dataplanes/dp-1.ns1", "/meshes/default/dataplanes/dp-2"
MT1, MS1 = "/meshes/default/meshtimeouts/mt-1.ns1", "/meshes/default/meshservices/ms-1.ns1"
S1, GS1 = "/meshes/default/secrets/s-1", "/global-secrets/gs-1"


def put(client: TestClient, path: str, type_name: str, mesh: str, name: str, **fields: Any) -> None:
    body = {"type": type_name, "name": name, **({"mesh": mesh} if mesh else {}), **fields}
    answer = client.put(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert answer.status_code == 201, answer.text


def populate(client: TestClient, store: Any, mesh: str, suffix: str = "") -> dict[str, tuple[str, str, str]]:
    """A Mesh, Dataplane, MeshTimeout, Secret, GlobalSecret and MeshService: their keys by path."""
    keys: dict[str, tuple[tuple[str, str, str], dict[str, Any]]] = {
        f"/meshes/{mesh}": (("Mesh", "", mesh), {"labels": {"team": "a"}}),
        f"/meshes/{mesh}/dataplanes/dp-1.ns1": (("Dataplane", mesh, "dp-1.ns1"), NETWORKING),
        f"/meshes/{mesh}/meshtimeouts/mt-1.ns1": (("MeshTimeout", mesh, "mt-1.ns1"), {"spec": MT_SPEC}),
        f"/meshes/{mesh}/secrets/s-1{suffix}": (("Secret", mesh, f"s-1{suffix}"), {"data": "aGVsbG8="}),
        f"/global-secrets/gs-1{suffix}": (("GlobalSecret", "", f"gs-1{suffix}"), {"data": "d29ybGQ="}),
    }
    for path, (key, fields) in keys.items():
        put(client, path, *key, **fields)
    # Universal names a MeshService with a DNS-1035 label: one in a namespace is written to the store itself
    labels = {"kuma.io/display-name": "ms-1", "kuma.io/mesh": mesh, "kuma.io/origin": "zone"}
    service = kv.Record(
        key=kv.Key("MeshService", mesh, "ms-1.ns1"), spec=MS_SPEC, status=MS_STATUS, labels=labels
    )
    store.create(service, owner=kv.Key("Mesh", "", mesh))
    return {p: k for p, (k, _) in keys.items()} | {
        f"/meshes/{mesh}/meshservices/ms-1.ns1": ("MeshService", mesh, "ms-1.ns1")
    }


@pytest.fixture
def client() -> Iterator[TestClient]:
    manager = ResourceManager(kv.open("memory://", catalog=resources.catalog()), clock=lambda: NOW)
    with TestClient(api_app(manager, info=INFO)) as test_client:
        populate(test_client, manager.store, "default")
        put(test_client, DP2, "Dataplane", "default", "dp-2", **NETWORKING)
        yield test_client


def k8s(client: TestClient, path: str, **params: str) -> Any:
    answer = client.get(path, params={"format": "k8s", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_mesh_is_cluster_scoped(client: TestClient) -> None:
    metadata = {
        "name": "default",
        "creationTimestamp": STAMP,
        "labels": {"kuma.io/origin": "zone", "team": "a"},
    }
    metadata["annotations"] = {"kuma.io/display-name": "default"}  # not a label
    expected = {"kind": "Mesh", "apiVersion": "kuma.io/v1alpha1", "metadata": metadata, "spec": {}}
    assert k8s(client, "/meshes/default") == expected
    assert k8s(client, "/meshes/default", namespace="other") == expected  # no namespace to override


def test_a_dataplane_keeps_its_mesh_field_and_is_named_in_its_namespace(client: TestClient) -> None:
    obj = k8s(client, DP1)
    assert obj == {
        "kind": "Dataplane",
        "apiVersion": "kuma.io/v1alpha1",
        "metadata": {
            "name": "dp-1",
            "namespace": "ns1",
            "creationTimestamp": STAMP,
            "labels": {**ZONE, "kuma.io/mesh": "default"},
            "annotations": {"kuma.io/display-name": "dp-1.ns1"},
        },
        "mesh": "default",
        "spec": NETWORKING,
    }
    assert list(obj) == ["kind", "apiVersion", "metadata", "mesh", "spec"]
    assert list(obj["metadata"]) == ["name", "namespace", "creationTimestamp", "labels", "annotations"]
    assert list(obj["metadata"]["labels"]) == sorted(obj["metadata"]["labels"])


def test_a_name_without_a_dot_is_placed_whole_in_the_system_namespace(client: TestClient) -> None:
    metadata = k8s(client, DP2)["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("dp-2", SYSTEM)
    assert metadata["annotations"] == {"kuma.io/display-name": "dp-2"}


@pytest.mark.parametrize(
    ("path", "name"),
    [(DP1, "dp-1"), (DP2, "dp-2"), (MT1, "mt-1"), (MS1, "ms-1"), (S1, "s-1"), (GS1, "gs-1")],
)
def test_namespace_overrides_where_objects_are_placed(client: TestClient, path: str, name: str) -> None:
    metadata = k8s(client, path, namespace="other")["metadata"]
    assert (metadata["name"], metadata["namespace"]) == (name, "other")


def test_a_new_style_policy_has_the_mesh_label_and_a_spec(client: TestClient) -> None:
    obj = k8s(client, MT1)
    assert list(obj) == ["kind", "apiVersion", "metadata", "spec"]
    assert obj["metadata"]["labels"] == {**ZONE, "kuma.io/mesh": "default"}
    assert (obj["kind"], obj["spec"]) == ("MeshTimeout", MT_SPEC)
    assert (obj["metadata"]["name"], obj["metadata"]["namespace"]) == ("mt-1", "ns1")


def test_a_type_with_a_status_has_one(client: TestClient) -> None:
    obj = k8s(client, MS1)
    assert list(obj) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert (obj["spec"]["ports"], obj["status"]) == (MS_SPEC["ports"], MS_STATUS)
    put(client, "/meshes/default/meshservices/ms-2", "MeshService", "default", "ms-2", spec=MS_SPEC)
    assert k8s(client, "/meshes/default/meshservices/ms-2")["status"] == {}  # as Go's SetStatus of none


def test_secrets_are_native_secrets_in_the_system_namespace(client: TestClient) -> None:
    secret = k8s(client, S1)
    assert secret == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": "s-1",
            "namespace": SYSTEM,
            "creationTimestamp": STAMP,
            "labels": {**ZONE, "kuma.io/mesh": "default"},
            "annotations": {"kuma.io/display-name": "s-1"},
        },
        "data": {"value": "aGVsbG8="},
        "type": "system.kuma.io/secret",
    }
    assert list(secret) == ["kind", "apiVersion", "metadata", "data", "type"]
    glob = k8s(client, GS1)
    assert (glob["kind"], glob["apiVersion"]) == ("Secret", "v1")
    assert glob["type"] == "system.kuma.io/global-secret"
    assert (glob["metadata"]["namespace"], glob["metadata"]["labels"]) == (SYSTEM, ZONE)  # no mesh label
    assert glob["data"] == {"value": "d29ybGQ="}


@pytest.mark.parametrize(
    ("type_name", "mesh_field", "labels"),
    [
        ("Secret", None, {"kuma.io/mesh": "m-1"}),
        ("MeshTimeout", None, {"kuma.io/mesh": "m-1"}),
        ("Dataplane", "m-1", None),
    ],
)
def test_the_mesh_goes_where_kuma_keeps_it(type_name: str, mesh_field: str | None, labels: Any) -> None:
    record = kv.Record(key=kv.Key(type_name, "m-1", "x.ns"))  # no labels of its own
    obj = to_k8s(resources.get(type_name), record, system_namespace=SYSTEM)
    assert (obj.get("mesh"), obj["metadata"].get("labels")) == (mesh_field, labels)


def test_creation_timestamps_are_whole_seconds_in_utc() -> None:
    later = datetime(2024, 5, 1, 12, 30, 59, 999999, tzinfo=timezone(timedelta(hours=2)))
    record = kv.Record(key=kv.Key("Mesh", "", "m"), creation_time=later)
    obj = to_k8s(resources.get("Mesh"), record, system_namespace=SYSTEM)
    assert obj["metadata"]["creationTimestamp"] == "2024-05-01T10:30:59Z"


def test_a_list_answers_its_items_as_objects(client: TestClient) -> None:
    listed = k8s(client, "/meshes/default/dataplanes")
    assert list(listed) == ["total", "items", "next"]
    assert listed == {"total": 2, "items": [k8s(client, DP1), k8s(client, DP2)], "next": None}
    first = k8s(client, "/meshes/default/dataplanes", size="1", namespace="other")
    assert (first["total"], len(first["items"])) == (2, 1)
    assert first["items"][0]["metadata"]["namespace"] == "other"
    assert "format=k8s" in first["next"]
    universal = client.get("/meshes/default/dataplanes", params={"format": "universal"}).json()
    assert universal == client.get("/meshes/default/dataplanes").json()


def test_a_kri_answers_in_the_chosen_format(client: TestClient) -> None:
    kri = client.get(MT1).json()["kri"]
    answer = client.get(f"/_kri/{kri}", params={"format": "kubernetes"})
    assert (answer.status_code, answer.json()) == (200, k8s(client, MT1))
    assert client.get(f"/_kri/{kri}?format=universal").json() == client.get(f"/_kri/{kri}").json()


@pytest.mark.parametrize(
    ("path", "title"),
    [("/meshes/default/dataplanes", "Could not retrieve resources"), (DP2, "Could not retrieve a resource")],
)
def test_an_unknown_format_is_400(client: TestClient, path: str, title: str) -> None:
    answer = client.get(path, params={"format": "yaml"})
    body = answer.json()
    assert (answer.status_code, body["title"], body["detail"]) == (400, title, "Resource is not valid")
    assert body["invalid_parameters"] == [{"field": "", "reason": FORMATS}]


# --- reading objects back ----------------------------------------------------------------------------------


def _rest(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in REST_ONLY}


def _document(obj: Any) -> dict[str, Any]:
    _, document = from_k8s(obj)
    assert document.pop("creationTime") == obj["metadata"]["creationTimestamp"]
    return document


@pytest.mark.parametrize("path", ["/meshes/default", DP1, MT1, MS1, S1, GS1])
def test_from_k8s_reads_an_object_back_as_the_resource(client: TestClient, path: str) -> None:
    obj = k8s(client, path)
    assert _document(obj) == _rest(client.get(path).json())
    assert _document(next(load_all(dump(obj)))) == _document(obj)  # also through kumactl's YAML


def test_from_k8s_names_a_dotless_object_by_where_it_was_placed(client: TestClient) -> None:
    assert from_k8s(k8s(client, DP2))[1]["name"] == f"dp-2.{SYSTEM}"


TYPES = ["Mesh", "Zone", "Dataplane", "DataplaneInsight", "MeshTimeout", "MeshService", "Secret"]
TYPES += ["GlobalSecret", "Config"]
LABEL_KEYS = ["team", "kuma.io/display-name", "kuma.io/zone", "k8s.kuma.io/service-account"]
dns_labels = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
fields = st.text("abcdefgh", min_size=1, max_size=5)  # none a legacy document's own top-level field
objects = st.dictionaries(fields, scalars | st.lists(scalars), max_size=3)


@st.composite
def records(draw: st.DrawFn) -> kv.Record:
    """A record of one of TYPES, labelled as the manager labels it."""
    rtype = resources.get(draw(st.sampled_from(TYPES)))
    mesh = "m-1" if rtype.scope is kv.Scope.MESH else ""
    name = draw(dns_labels) + (f".{draw(dns_labels)}" if rtype.k8s is K8sKind.NAMESPACED else "")
    labels = draw(st.dictionaries(st.sampled_from(LABEL_KEYS), st.text("abcxyz019-_.", max_size=8)))
    spec, status = draw(objects), draw(objects) if rtype.has_status else {}
    spec = {"data": "aGVsbG8="} if rtype.k8s is K8sKind.SECRET else spec
    spec = {"config": json.dumps(spec)} if rtype.k8s is K8sKind.CONFIG_MAP else spec
    labels |= {"kuma.io/mesh": mesh} if mesh else {}
    return kv.Record(
        key=kv.Key(rtype.name, mesh, name), spec=spec, status=status, labels=labels, creation_time=NOW
    )


@settings(max_examples=max(settings().max_examples, 200), deadline=None)  # soak: more
@given(records())
def test_to_k8s_then_from_k8s_gives_the_resource_back(record: kv.Record) -> None:
    rtype = resources.get(record.key.type)
    obj = next(load_all(dump(to_k8s(rtype, record, system_namespace=SYSTEM))))  # as kumactl writes it
    got_type, doc = from_k8s(obj)
    key = kv.Key(doc.pop("type"), doc.pop("mesh", ""), doc.pop("name"))
    assert (got_type, key, doc.pop("creationTime")) == (rtype, record.key, STAMP)
    assert doc.pop("labels", {}) == record.labels
    assert doc.pop("status", {}) == record.status
    assert (doc if rtype.legacy else doc["spec"]) == record.spec


# --- on a real kube-apiserver ------------------------------------------------------------------------------

GROUP = f"f{uuid.uuid4().hex[:8]}.formats.kuma.io"  # this run's own CRDs (native Secrets are shared)
SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "managedFields",
    "ownerReferences",
    "creationTimestamp",
)


def _bare(obj: dict[str, Any]) -> dict[str, Any]:
    """*obj* without what the API server and kv's store add, in Kuma's group, any empty status dropped."""
    obj = copy.deepcopy(obj)
    obj["apiVersion"] = obj["apiVersion"].replace(GROUP, "kuma.io")
    metadata = {k: v for k, v in obj.pop("metadata").items() if k not in SERVER_FIELDS}
    for field in ("labels", "annotations"):
        kept = {k: v for k, v in (metadata.pop(field, None) or {}).items() if not k.startswith("kv.kuma.io/")}
        metadata |= {field: kept} if kept else {}
    if obj.get("status") == {}:  # kv's store writes no empty status, Go's SetStatus gives `status: {}`
        del obj["status"]
    return obj | {"metadata": metadata}


def _seconds(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def kubernetes() -> Iterator[tuple[kv.Store, Any]]:
    """A Kubernetes store of Kuma's kinds (under this run's group) and a kubernetes ``ApiClient``."""
    from kubernetes import client as k8s_client

    from kv.drivers.k8s import KubernetesDriver

    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, crds.crd_documents(group=GROUP))
    with kube_client(kubeconfig) as api:
        for namespace in (SYSTEM, "ns1"):
            with contextlib.suppress(k8s_client.ApiException):  # 409: it exists
                k8s_client.CoreV1Api(api).create_namespace(
                    k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=namespace))
                )
        kinds = [attrs.evolve(kind, group=GROUP) for kind in crds.kinds()]
        driver = KubernetesDriver.from_url(
            kinds=kinds,
            kubeconfig=kubeconfig,
            system_namespace=SYSTEM,
            annotation_labels=resources.ANNOTATION_LABELS,
        )
        yield kv.Store(driver, catalog=resources.catalog()), api
        driver.close()
        documents: list[Any] = crds.crd_documents(group=GROUP)
        for document in documents:  # and with them this run's objects
            k8s_client.ApiextensionsV1Api(api).delete_custom_resource_definition(document["metadata"]["name"])


def _held(api: Any, type_name: str, name: str) -> Any:
    """The object the API server holds for the Kuma resource *name* of *type_name*, as JSON."""
    from kubernetes import client as k8s_client

    rtype = resources.get(type_name)
    if rtype.k8s is K8sKind.SECRET:
        answer: Any = k8s_client.CoreV1Api(api).read_namespaced_secret(name, SYSTEM, _preload_content=False)
        return json.loads(answer.data)
    custom = k8s_client.CustomObjectsApi(api)
    if rtype.k8s is K8sKind.CLUSTER:
        return custom.get_cluster_custom_object(GROUP, "v1alpha1", rtype.k8s_plural, name)
    base, _, namespace = name.rpartition(".")
    return custom.get_namespaced_custom_object(GROUP, "v1alpha1", namespace, rtype.k8s_plural, base)


@pytest.mark.k8s
def test_the_objects_are_those_kumas_kubernetes_store_holds(kubernetes: tuple[kv.Store, Any]) -> None:
    store, api = kubernetes
    suffix = f"-{uuid.uuid4().hex[:6]}"  # Secrets are shared by every run
    mesh = f"m{suffix}"
    with TestClient(api_app(ResourceManager(store), info=INFO)) as test_client:
        try:
            for path, (type_name, in_mesh, name) in populate(test_client, store, mesh, suffix).items():
                served, held = k8s(test_client, path), _held(api, type_name, name)
                assert _bare(served) == _bare(held), path
                created = store.get(type_name, in_mesh, name, consistent=True).creation_time
                assert created is not None
                stamp = served["metadata"]["creationTimestamp"]
                assert stamp == created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), path
                drift = _seconds(held["metadata"]["creationTimestamp"]) - _seconds(stamp)
                assert abs(drift) <= timedelta(seconds=2), path  # the API server's clock, not the store's
                assert _document(served) == _rest(test_client.get(path).json()), path
        finally:
            with contextlib.suppress(kv.NotFound):
                store.delete("Dataplane", mesh, "dp-1.ns1")  # a Mesh with Dataplanes is not deleted
            test_client.delete(f"/meshes/{mesh}")  # and what is in it
            test_client.delete(f"/global-secrets/gs-1{suffix}")
