"""Export, import into an empty store, export again: the same documents, across every pair of backends.

Stores are drawn by Hypothesis (Meshes, policies, Dataplanes, services with a status, Secrets and
GlobalSecrets, with labels and times to the microsecond), written into the source backend as Kuma would
store them, exported in both formats, imported into an empty target backend, and exported again. Names
of namespaced kinds carry a namespace (``name.namespace``), so that every store can live on Kubernetes.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kv
from kuma_cp import resources
from kuma_cp.manager import checked_spec, owner_of
from kuma_cp.portability import documents, importer
from kuma_cp.portability.exporter import StoreSource, export
from tests.conftest import install_crds, k8s_kubeconfig, kube_client, kuma_pg_store

SYSTEM = "kuma-system"
NAMESPACES = ("ns-a", "ns-b")
GROUP = f"r{uuid.uuid4().hex[:8]}.roundtrip.kuma.io"  # this run's CRDs, apart from the other tests'
BACKENDS = ("memory", "postgres", "kubernetes")
MARKS = {"postgres": pytest.mark.postgres, "kubernetes": pytest.mark.k8s}
TYPES = ("Mesh", "MeshTimeout", "Dataplane", "MeshService", "Secret", "GlobalSecret")
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

_dns = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
_labels = st.dictionaries(
    st.sampled_from(["team", "app", "example.com/tier"]),
    st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    max_size=3,
)
_times = st.tuples(st.integers(0, 10**14), st.integers(0, 10**12)).map(
    lambda t: (EPOCH + timedelta(microseconds=t[0]), EPOCH + timedelta(microseconds=t[0] + t[1]))
)


def _spec(type_name: str, draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    number = draw(st.integers(1, 60000))
    if type_name == "Mesh":
        return {}, {}
    if type_name == "MeshTimeout":
        timeout = {"connectionTimeout": f"{number}ms"}
        return {
            "targetRef": {"kind": "Mesh"},
            "to": [{"targetRef": {"kind": "Mesh"}, "default": timeout}],
        }, {}
    if type_name == "Dataplane":
        return {"networking": {"address": f"10.0.{number % 250}.1", "inbound": [{"port": number}]}}, {}
    if type_name == "MeshService":
        status = {"addresses": [{"hostname": f"svc-{number}.mesh"}]}
        return {"ports": [{"port": number, "appProtocol": "http"}]}, status
    return {"data": base64.b64encode(draw(st.binary(min_size=1, max_size=24))).decode()}, {}


@st.composite
def contents(draw: Any) -> list[tuple[kv.Record, kv.Key | None]]:
    """A store's records (Meshes first) and their owners."""
    meshes = draw(st.lists(_dns, min_size=1, max_size=2, unique=True))
    wanted = draw(st.lists(st.tuples(st.sampled_from(TYPES[1:]), _dns, st.sampled_from(meshes)), max_size=8))
    out, seen = [], set()
    for type_name, name, mesh in [("Mesh", m, "") for m in meshes] + wanted:
        rtype = resources.get(type_name)
        if rtype.k8s is resources.K8sKind.NAMESPACED:
            name = f"{name}.{draw(st.sampled_from(NAMESPACES))}"
        mesh = mesh if rtype.scope is kv.Scope.MESH else ""
        key = kv.Key(type_name, mesh, name)
        if key in seen:
            continue
        seen.add(key)
        spec, status = _spec(type_name, draw)
        labels = draw(_labels)
        # As Kuma labels what it creates (an annotation on Kubernetes); a MeshService's must be DNS-1035.
        if type_name == "MeshService" or draw(st.booleans()):
            labels["kuma.io/display-name"] = name.split(".")[0]
        created, modified = draw(_times)
        spec = dict(checked_spec(key, spec, labels))
        record = kv.Record(
            key=key,
            spec=spec,
            status=status,
            labels=labels,
            creation_time=created,
            modification_time=modified,
        )
        out.append((record, owner_of(rtype, mesh, name)))
    return out


def _clear(store: kv.Store) -> None:
    for rtype in resources.REGISTRY:
        if rtype.name in ("Mesh", *TYPES):
            for record in store.list(rtype.name).items:
                with contextlib.suppress(kv.NotFound):  # gone with its Mesh
                    store.delete(record.key.type, record.key.mesh, record.key.name)


def _open_kubernetes() -> kv.Store:
    from kubernetes import client

    from kuma_cp import crds
    from kv.drivers.k8s import KubernetesDriver

    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, crds.crd_documents(group=GROUP))
    with kube_client(kubeconfig) as api:
        core = client.CoreV1Api(api)
        for namespace in (SYSTEM, *NAMESPACES):
            with contextlib.suppress(client.ApiException):
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    driver = KubernetesDriver.from_url(
        kinds=[attrs.evolve(kind, group=GROUP) for kind in crds.kinds()],
        kubeconfig=kubeconfig,
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
    )
    return kv.Store(driver, catalog=resources.catalog())


@pytest.fixture(scope="module")
def stores(pg_module_databases: Callable[[], str]) -> Iterator[Callable[[str, int], kv.Store]]:
    """Two stores (0: source, 1: target) per backend, opened once for the module."""
    opened: dict[tuple[str, int], kv.Store] = {}

    def get(backend: str, which: int) -> kv.Store:
        if (backend, which) not in opened:
            if backend == "memory":
                opened[backend, which] = kv.open("memory://", catalog=resources.catalog())
            elif backend == "postgres":
                opened[backend, which] = kuma_pg_store(pg_module_databases())
            else:  # one Kubernetes store: source and target take turns (each is cleared first)
                opened[backend, which] = opened.get((backend, 1 - which)) or _open_kubernetes()
        return opened[backend, which]

    yield get
    for store in {id(s): s for s in opened.values()}.values():
        store.close()


def _export(store: kv.Store, fmt: str) -> str:
    return "".join(export(StoreSource(store), profile="all", fmt=fmt, include_admin=True))


PAIRS = [
    pytest.param(s, t, marks=[MARKS[b] for b in {s, t} if b in MARKS], id=f"{s}-to-{t}")
    for s in BACKENDS
    for t in BACKENDS
]


@pytest.mark.parametrize(("source", "target"), PAIRS)
@pytest.mark.parametrize("fmt", ["universal", "kubernetes"])
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=contents())
def test_export_import_export_gives_the_same_documents(
    stores: Callable[[str, int], kv.Store],
    source: str,
    target: str,
    fmt: str,
    records: list[tuple[kv.Record, kv.Key | None]],
) -> None:
    origin = stores(source, 0)
    _clear(origin)
    for record, owner in records:
        origin.create(
            record,
            owner=owner,
            creation_time=record.creation_time,
            modification_time=record.modification_time,
        )
    exported = _export(origin, fmt)
    if source == target == "kubernetes":  # the one Kubernetes store is the target now
        _clear(origin)
    destination = stores(target, 1)
    _clear(destination)
    docs, problems = documents.read(
        exported, "export.yaml", kubernetes=target == "kubernetes", now=datetime.now(UTC)
    )
    assert problems == []
    outcome = importer.run(destination, docs)
    assert outcome.created == len(records)
    assert _export(destination, fmt) == exported
    again = importer.run(destination, documents.read(exported, "export.yaml", now=datetime.now(UTC))[0])
    assert (again.created, again.updated) == (0, 0)  # importing twice changes nothing
