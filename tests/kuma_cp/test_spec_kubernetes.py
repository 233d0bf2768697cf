"""The definitions' CRD schemas on a real kube-apiserver, through kv's Kubernetes driver.

``kuma-cp install crds`` gives every new-style kind the structural schema of its definition, so the API
server validates and prunes what kubectl writes, as Kuma's CRDs make it do. Here those CRDs are installed
under their own API group (the store tests use free-form CRDs of Kuma's group on the same server), and:

- every valid corpus spec, and every spec drawn from a definition that the definition accepts, is
  stored by the API server unchanged (nothing pruned, nothing refused) and read back equal;
- a spec with a value out of its enum or of the wrong JSON type is refused by the API server itself.

One finding: the kube-apiserver CI builds (v1.20.2, from Debian's source) reads an empty string in a
field its schema types as a string as ``null``, and refuses it (``must be of type string: "null"``); a
free-form field keeps it. A valid spec may be refused only so, and only when it holds an empty string.
The API server also drops a ``null`` (a JSON patch's ``value: null``), as it would with Kuma's CRDs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

import kv
from kuma_cp import crds, resources, specs
from kv.drivers.k8s import KubernetesDriver
from tests.conftest import install_crds, k8s_kubeconfig
from tests.kuma_cp import spec_strategies as strategies
from tests.kuma_cp.corpus import CASES, Case

pytestmark = pytest.mark.k8s
GROUP = f"s{uuid.uuid4().hex[:8]}.schemas.kuma.io"  # CRDs of this run's definitions, never an older run's
SYSTEM = "kuma-system"
REGISTERED = {t.name for t in resources.REGISTRY}
NEW_STYLE = sorted(n for n, d in specs.DEFINITIONS.items() if not d.legacy and n in REGISTERED)
VALID = [c for c in CASES if c.kind == "valid" and c.type in NEW_STYLE]
REFUSED_BY_SCHEMA = [
    c
    for c in CASES
    if c.kind == "invalid"
    and c.type in NEW_STYLE
    and all(
        f.startswith("spec.") and ("should be one of" in r or "must be of type" in r) and '"null"' not in r
        for f, r in c.expected
    )
]  # the API server drops a null (structural pruning), where Kuma's kube-openapi refuses it
EXAMPLES = int(os.environ.get("KUMA_TEST_SPEC_EXAMPLES", "25"))
_names = itertools.count()


@pytest.fixture(scope="module")
def store() -> Iterator[kv.Store]:
    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, crds.crd_documents(group=GROUP))
    driver = KubernetesDriver.from_url(
        kinds=[attrs.evolve(kind, group=GROUP) for kind in crds.kinds()],
        kubeconfig=kubeconfig,
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
    )
    store = kv.Store(driver, catalog=resources.catalog())
    with contextlib.suppress(kv.AlreadyExists):
        store.create(kv.Record(key=kv.Key("Mesh", "", "default"), spec={}))
    yield store
    driver.close()


def _key(type_name: str) -> kv.Key:
    rtype = resources.get(type_name)
    name = f"s-{next(_names)}.{SYSTEM}"
    return kv.Key(type_name, "default" if rtype.scope is kv.Scope.MESH else "", name)


def _round_trip(store: kv.Store, type_name: str, spec: dict[str, Any]) -> dict[str, Any]:
    key = _key(type_name)
    owner = kv.Key("Mesh", "", "default") if key.mesh else None
    store.create(kv.Record(key=key, spec=spec), owner=owner)
    try:
        return dict(store.get(key.type, key.mesh, key.name, consistent=True).spec)
    finally:
        store.delete(key.type, key.mesh, key.name)


def test_every_new_style_kind_has_its_definitions_schema() -> None:
    documents: dict[str, Any] = {d["spec"]["names"]["kind"]: d for d in crds.crd_documents()}  # type: ignore[index]

    def spec_schema(kind: str) -> dict[str, Any]:
        schema: dict[str, Any] = documents[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        return schema["properties"]["spec"]  # type: ignore[no-any-return]

    for name in NEW_STYLE:
        assert "x-kubernetes-preserve-unknown-fields" not in spec_schema(name)
        assert spec_schema(name)["type"] == "object"
        assert "x-kuma-" not in repr(spec_schema(name))
    free = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    assert spec_schema("Dataplane") == spec_schema("Mesh") == free  # legacy kinds, as Kuma's CRDs


def _without_nulls(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: _without_nulls(v) for k, v in document.items() if v is not None}
    return [_without_nulls(v) for v in document] if isinstance(document, list) else document


def _empty_string(document: Any) -> bool:
    if isinstance(document, dict):
        return any(_empty_string(v) for v in document.values())
    if isinstance(document, list):
        return any(_empty_string(v) for v in document)
    return bool(document == "")


@pytest.mark.parametrize("case", VALID, ids=[c.id for c in VALID])
def test_valid_specs_are_stored_unchanged_by_the_api_server(store: kv.Store, case: Case) -> None:
    if not _empty_string(case.expected):
        assert _round_trip(store, case.type, case.expected) == _without_nulls(case.expected)
        return
    try:
        stored = _round_trip(store, case.type, case.expected)
    except kv.Invalid as exc:  # only this API server's reading of "" (see the module's docstring)
        refused = str(exc)
    else:
        assert stored == case.expected
        return
    assert 'must be of type string: "null"' in refused


@pytest.mark.parametrize("case", REFUSED_BY_SCHEMA, ids=[c.id for c in REFUSED_BY_SCHEMA])
def test_the_api_server_refuses_what_the_schema_refuses(store: kv.Store, case: Case) -> None:
    key = _key(case.type)
    with pytest.raises(kv.Invalid):
        store.create(
            kv.Record(key=key, spec=case.spec), owner=kv.Key("Mesh", "", "default") if key.mesh else None
        )


@pytest.mark.parametrize("type_name", NEW_STYLE)
def test_accepted_specs_drawn_from_the_schema_round_trip(store: kv.Store, type_name: str) -> None:
    definition = specs.DEFINITIONS[type_name]

    @settings(
        max_examples=max(5, EXAMPLES // 3),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(spec=strategies.specs_of(definition))
    def check(spec: dict[str, Any]) -> None:
        try:
            stored = definition.check(spec, specs.Meta(mesh="default"))
        except specs.SpecInvalid:
            return
        if _empty_string(stored):  # this API server's reading of "" (see the module's docstring)
            return
        assert _round_trip(store, type_name, stored) == _without_nulls(stored)

    check()
