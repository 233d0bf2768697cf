"""The manager checks every spec it writes (default resources, imports, any caller), not only the API."""

from __future__ import annotations

import pytest

import kv
from kuma_cp import resources
from kuma_cp.manager import InvalidSpec, ResourceManager

TIMEOUT = resources.get("MeshTimeout")


@pytest.fixture
def manager() -> ResourceManager:
    manager = ResourceManager(kv.open("memory://", catalog=resources.catalog()))
    manager.create(resources.get("Mesh"), "", "default", spec={})
    return manager


def test_a_refused_spec_is_invalid_spec_with_kumas_violations_and_nothing_is_written(
    manager: ResourceManager,
) -> None:
    with pytest.raises(InvalidSpec) as raised:
        manager.create(TIMEOUT, "default", "t1", spec={"targetRef": {"kind": "Bogus"}, "to": "notalist"})
    assert raised.value.violations == [
        ("spec.targetRef.kind", "in body should be one of [Mesh Dataplane]"),
        ("spec.to", 'in body must be of type array: "string"'),
    ]
    assert isinstance(raised.value, kv.Invalid)
    with pytest.raises(kv.NotFound):
        manager.get(TIMEOUT, "default", "t1")


def test_an_update_is_checked_and_stored_as_kuma_stores_it(manager: ResourceManager) -> None:
    spec = {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1s"}, "extra": 1}]}
    created = manager.create(TIMEOUT, "default", "t1", spec=spec)
    assert created.spec == {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "1s"}}]}
    with pytest.raises(InvalidSpec, match="at least one of 'to' or 'rules' has to be defined"):
        manager.update(_with(created, {}))
    with pytest.raises(InvalidSpec, match='unknown unit "x"'):
        manager.update(
            _with(created, {"to": [{"targetRef": {"kind": "Mesh"}, "default": {"idleTimeout": "5x"}}]})
        )
    assert manager.get(TIMEOUT, "default", "t1").spec == created.spec


def _with(record: kv.Record, spec: dict[str, object]) -> kv.Record:
    import attrs

    return attrs.evolve(record, spec=spec)
