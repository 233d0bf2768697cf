"""The reference in docs/ is the definitions' own rendering, and the CRDs carry the same schemas."""

from __future__ import annotations

from pathlib import Path

from kuma_cp import crds, specs
from kuma_cp.specs.docs import render
from kuma_cp.specs.schema import openapi

DOC = Path(__file__).parents[2] / "docs" / "RESOURCES.md"


def test_the_committed_reference_is_current() -> None:
    assert DOC.read_text() == render(), "run: python -m kuma_cp.specs.docs > docs/RESOURCES.md"


def test_every_registered_type_has_a_definition_and_a_section() -> None:
    from kuma_cp import resources

    text = DOC.read_text()
    for rtype in resources.REGISTRY:
        assert specs.lookup(rtype.name) is not None, rtype.name
        assert f"\n## {rtype.name}\n" in text


def test_the_crd_schema_is_the_definitions() -> None:
    documents = {d["spec"]["names"]["kind"]: d for d in crds.crd_documents()}  # type: ignore[index]
    crd = documents["MeshTimeout"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[index]
    assert crd["properties"]["spec"] == {"type": "object", **openapi(specs.DEFINITIONS["MeshTimeout"].spec)}
