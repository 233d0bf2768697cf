"""Kuma's own store tests (``pkg/test/store``), cases 1 to 32, as kv checks.

Each check says which case it ports; the numbering follows the semantics reference (§7). Where Kuma
checks "contains" or "is not empty", these check exact values when kv's contract promises them.
"""

from __future__ import annotations

import attrs

from kv.errors import AlreadyExists, Conflict, Invalid, NotFound
from kv.model import Key, Record
from kv.store import Store
from kv.testing.suite import ITEM_SPEC, MESH, NOW, SECOND, Types, check, item, owner, raises


def _with_port(record: Record, port: int) -> Record:
    spec = dict(record.spec)
    spec["match"] = {**spec["match"], "port": port}
    return attrs.evolve(record, spec=spec)


def _status_record(types: Types, name: str, vip: str, port: int = 80) -> Record:
    return Record(
        key=Key(types.with_status, MESH, name),
        spec={
            "selector": {"dataplaneTags": {"a": "b"}},
            "ports": [{"port": port, "targetPort": port}],
        },
        status={"vips": [{"ip": vip}]},
    )


@check(kuma=1)
def create_stores_a_new_record(store: Store, types: Types) -> None:
    """A created record reads back with its name, mesh, a version, ctime == mtime, labels and spec."""
    item(store, types, "resource1.demo", labels={"foo": "bar"})
    got = store.get(types.item, MESH, "resource1.demo")
    assert (got.key.name, got.key.mesh) == ("resource1.demo", MESH)
    assert isinstance(got.version, str)
    assert got.version
    assert got.creation_time == NOW
    assert got.modification_time == got.creation_time
    assert got.labels == {"foo": "bar"}
    assert got.spec == ITEM_SPEC


@check(kuma=2)
def create_refuses_a_duplicate(store: Store, types: Types) -> None:
    """A second create of the same key raises AlreadyExists with Kuma's message."""
    first = item(store, types, "resource1.demo")
    with raises(
        AlreadyExists,
        f'resource already exists: type="{types.item}" name="resource1.demo" mesh="{MESH}"',
    ):
        store.create(attrs.evolve(first, version=""))


@check(kuma=3)
def create_stores_status(store: Store, types: Types) -> None:
    """A record with a status reads back with the same spec and status."""
    record = _status_record(types, "ms-1.demo", "10.0.0.1")
    store.create(record, creation_time=NOW)
    got = store.get(types.with_status, MESH, "ms-1.demo")
    assert (got.spec, got.status) == (record.spec, record.status)


@check(kuma=4)
def update_of_a_deleted_record_is_a_conflict(store: Store, types: Types) -> None:
    """Updating a record that was deleted raises Conflict, not NotFound (Kuma's semantics)."""
    created = item(store, types, "to-be-deleted.demo")
    store.delete(types.item, MESH, "to-be-deleted.demo")
    with raises(Conflict, f'resource conflict: type="{types.item}" name="to-be-deleted.demo" mesh="{MESH}"'):
        store.update(_with_port(created, 81))


@check(kuma=5)
def update_replaces_spec_labels_and_mtime(store: Store, types: Types) -> None:
    """An update gives a new version, the given labels and mtime; reads see the new spec."""
    created = item(store, types, "to-be-updated.demo", labels={"foo": "bar"})
    new_labels = {"foo": "barbar", "newlabel": "newvalue"}
    updated = store.update(_with_port(created, 81), modification_time=NOW + SECOND, labels=new_labels)
    assert updated.version != created.version
    assert updated.labels == new_labels
    assert updated.modification_time == NOW + SECOND
    got = store.get(types.item, MESH, "to-be-updated.demo")
    assert got.spec["match"]["port"] == 81
    assert got.labels == new_labels
    assert got.creation_time == NOW
    assert got.modification_time == NOW + SECOND
    assert got.modification_time != got.creation_time


@check(kuma=6)
def update_preserves_labels_it_carries(store: Store, types: Types) -> None:
    """An update without new labels keeps the labels of the record it was given."""
    created = item(store, types, "to-be-updated.demo", labels={"foo": "bar"})
    store.update(_with_port(created, 81))
    assert store.get(types.item, MESH, "to-be-updated.demo").labels == {"foo": "bar"}


@check(kuma=7)
def update_with_empty_labels_deletes_them(store: Store, types: Types) -> None:
    """An update with labels={} clears every label."""
    created = item(store, types, "to-be-updated.demo", labels={"foo": "bar"})
    store.update(_with_port(created, 81), labels={})
    assert store.get(types.item, MESH, "to-be-updated.demo").labels == {}


@check(kuma=8)
def update_replaces_status(store: Store, types: Types) -> None:
    """One update changes spec and status together."""
    created = store.create(_status_record(types, "ms-2.demo", "10.0.0.1"), creation_time=NOW)
    new = _status_record(types, "ms-2.demo", "10.0.0.2", port=81)
    store.update(attrs.evolve(new, version=created.version))
    got = store.get(types.with_status, MESH, "ms-2.demo")
    assert (got.spec, got.status) == (new.spec, new.status)


@check(kuma=9)
def delete_of_a_missing_record_is_not_found(store: Store, types: Types) -> None:
    """Deleting a missing record raises NotFound with Kuma's message."""
    with raises(
        NotFound,
        f'resource not found: type="{types.item}" name="non-existent-name.demo" mesh="{MESH}"',
    ):
        store.delete(types.item, MESH, "non-existent-name.demo")


@check(kuma=10)
def delete_does_not_cross_meshes(store: Store, types: Types) -> None:
    """Deleting with another mesh raises NotFound and leaves the record alone."""
    item(store, types, "to-be-deleted.demo")
    with raises(NotFound):
        store.delete(types.item, "different-mesh", "to-be-deleted.demo")
    assert store.get(types.item, MESH, "to-be-deleted.demo").key.name == "to-be-deleted.demo"


@check(kuma=11)
def delete_removes_the_record(store: Store, types: Types) -> None:
    """After a delete, a get raises NotFound."""
    item(store, types, "to-be-deleted.demo")
    store.delete(types.item, MESH, "to-be-deleted.demo")
    with raises(NotFound, f'resource not found: type="{types.item}" name="to-be-deleted.demo" mesh="{MESH}"'):
        store.get(types.item, MESH, "to-be-deleted.demo")


@check(kuma=12)
def get_of_a_missing_record_is_not_found(store: Store, types: Types) -> None:
    """Getting a missing record raises NotFound."""
    with raises(NotFound):
        store.get(types.item, MESH, "non-existing-resource.demo")


@check(kuma=13)
def get_does_not_cross_meshes(store: Store, types: Types) -> None:
    """A get in another mesh raises NotFound naming the mesh asked for."""
    item(store, types, "existing-resource.demo")
    with raises(
        NotFound,
        f'resource not found: type="{types.item}" name="existing-resource.demo" mesh="different-mesh"',
    ):
        store.get(types.item, "different-mesh", "existing-resource.demo")


@check(kuma=14)
def get_returns_the_record(store: Store, types: Types) -> None:
    """A get returns name, a version and the spec; the version is the one create returned."""
    created = item(store, types, "get-existing-resource.demo")
    got = store.get(types.item, MESH, "get-existing-resource.demo")
    assert got.key.name == "get-existing-resource.demo"
    assert got.version == created.version != ""
    assert got.spec == ITEM_SPEC


@check(kuma=15)
def get_by_version(store: Store, types: Types) -> None:
    """A get with the current version succeeds; with another it raises Conflict."""
    created = item(store, types, "existing-resource.demo")
    assert store.get(types.item, MESH, "existing-resource.demo", version=created.version) == created
    with raises(
        Conflict,
        f'resource conflict: type="{types.item}" name="existing-resource.demo" mesh="{MESH}"',
    ):
        store.get(types.item, MESH, "existing-resource.demo", version="9999999")


@check(kuma=16)
def list_of_nothing_is_empty(store: Store, types: Types) -> None:
    """Listing a mesh with nothing in it gives total 0 and no items."""
    page = store.list(types.item, mesh=MESH)
    assert (page.total, page.items, page.next_offset) == (0, (), "")


@check(kuma=17)
def list_returns_every_record(store: Store, types: Types) -> None:
    """Listing returns every record of the type, with mesh and spec."""
    item(store, types, "res-1.demo")
    item(store, types, "res-2.demo")
    page = store.list(types.item)
    assert page.total == 2
    assert [r.key.name for r in page.items] == ["res-1.demo", "res-2.demo"]
    assert all(r.key.mesh == MESH and r.spec == ITEM_SPEC for r in page.items)


@check(kuma=18)
def list_by_another_mesh_is_empty(store: Store, types: Types) -> None:
    """Listing by a mesh that holds nothing gives total 0."""
    item(store, types, "res-1.demo")
    item(store, types, "res-2.demo")
    page = store.list(types.item, mesh="different-mesh")
    assert (page.total, page.items) == (0, ())


def _three_for_name_filter(store: Store, types: Types) -> None:
    for name in ("list-res-1.demo", "list-res-2.demo", "list-mes-1.demo"):
        item(store, types, name)


@check(kuma=19)
def list_by_name_contains_across_meshes(store: Store, types: Types) -> None:
    """A name filter matches substrings across meshes, in name order."""
    _three_for_name_filter(store, types)
    page = store.list(types.item, name_contains="list-res")
    assert page.total == 2
    assert [r.key.name for r in page.items] == ["list-res-1.demo", "list-res-2.demo"]


@check(kuma=20)
def list_by_name_contains_and_mesh(store: Store, types: Types) -> None:
    """A name filter combines with a mesh filter."""
    _three_for_name_filter(store, types)
    page = store.list(types.item, mesh=MESH, name_contains="list-res")
    assert page.total == 2
    assert [r.key.name for r in page.items] == ["list-res-1.demo", "list-res-2.demo"]


@check(kuma=21)
def list_by_keys(store: Store, types: Types) -> None:
    """A key filter returns exactly those records, ordered by name."""
    for name in ("list-res-1.demo", "list-res-2.demo", "list-mes-1.demo", "list-mes-1.default"):
        item(store, types, name)
    wanted = [Key(types.item, MESH, "list-mes-1.demo"), Key(types.item, MESH, "list-mes-1.default")]
    page = store.list(types.item, keys=wanted)
    assert page.total == 2
    assert [r.key.name for r in page.items] == ["list-mes-1.default", "list-mes-1.demo"]


@check(kuma=22)
def list_pages_through_five(store: Store, types: Types) -> None:
    """Five records in pages of two: 2, 2, 1, the last with no next offset, total 5 on each."""
    for i in range(1, 6):
        item(store, types, f"res-{i}.demo")
    seen, offset, sizes = [], "", []
    for _ in range(3):
        page = store.list(types.item, mesh=MESH, page_size=2, offset=offset)
        assert page.total == 5
        sizes.append(len(page.items))
        seen += [r.key.name for r in page.items]
        offset = page.next_offset
        assert (offset != "") == (len(seen) < 5)
    assert sizes == [2, 2, 1]
    assert seen == [f"res-{i}.demo" for i in range(1, 6)]


@check(kuma=23)
def list_page_larger_than_total(store: Store, types: Types) -> None:
    """One record, page size 5: one item, total 1, no next offset."""
    item(store, types, "res-1.demo")
    page = store.list(types.item, mesh=MESH, page_size=5)
    assert (page.total, len(page.items), page.next_offset) == (1, 1, "")


@check(kuma=24)
def list_page_exactly_full(store: Store, types: Types) -> None:
    """One record, page size 1: one item and no next offset."""
    item(store, types, "res-1.demo")
    page = store.list(types.item, mesh=MESH, page_size=1)
    assert (page.total, len(page.items), page.next_offset) == (1, 1, "")


@check(kuma=25)
def list_page_of_nothing(store: Store, types: Types) -> None:
    """An empty mesh with page size 2: total 0, no items, no next offset."""
    page = store.list(types.item, mesh=MESH, page_size=2)
    assert (page.total, page.items, page.next_offset) == (0, (), "")


@check(kuma=26)
def list_with_a_bad_offset_is_invalid(store: Store, types: Types) -> None:
    """A malformed offset token raises Invalid."""
    with raises(Invalid, 'invalid: invalid offset: strconv.Atoi: parsing "123invalidOffset": invalid syntax'):
        store.list(types.item, mesh=MESH, page_size=2, offset="123invalidOffset")


def _owned_is_deleted_with_owner(store: Store, types: Types, child_type: str) -> None:
    mesh = owner(store, types)
    child = Record(key=Key(child_type, MESH, "child-1"), spec={"value": "c2VjcmV0"})
    store.create(child, owner=mesh.key, creation_time=NOW)
    store.delete(types.owner, "", MESH)
    with raises(NotFound):
        store.get(child_type, MESH, "child-1")


@check(kuma=27)
def owner_delete_removes_an_owned_secret(store: Store, types: Types) -> None:
    """Deleting an owner deletes a secret it owns."""
    _owned_is_deleted_with_owner(store, types, types.secret)


@check(kuma=28)
def owner_delete_removes_an_owned_record(store: Store, types: Types) -> None:
    """Deleting an owner deletes a record it owns."""
    _owned_is_deleted_with_owner(store, types, types.item)


@check(kuma=29)
def owner_link_survives_owner_update(store: Store, types: Types) -> None:
    """Ownership does not depend on the owner's version: update the owner, delete it, the child goes."""
    mesh = owner(store, types)
    item(store, types, "resource-1", owner=mesh.key)
    store.update(attrs.evolve(mesh, spec={"skipCreatingInitialPolicies": ["*"]}))
    store.delete(types.owner, "", MESH)
    with raises(NotFound):
        store.get(types.item, MESH, "resource-1")


@check(kuma=30)
def owner_delete_removes_many(store: Store, types: Types) -> None:
    """Deleting an owner deletes all ten records it owns."""
    mesh = owner(store, types)
    for i in range(10):
        item(store, types, f"resource-{i}", owner=mesh.key)
    assert store.list(types.item, mesh=MESH).total == 10
    store.delete(types.owner, "", MESH)
    assert store.list(types.item, mesh=MESH).total == 0


@check(kuma=31)
def owner_delete_follows_chains(store: Store, types: Types) -> None:
    """Deleting the head of an ownership chain deletes the whole chain."""
    parent = owner(store, types).key
    for i in range(10):
        parent = item(store, types, f"resource-{i}", owner=parent).key
    store.delete(types.owner, "", MESH)
    page = store.list(types.item, mesh=MESH)
    assert (page.total, page.items) == (0, ())


@check(kuma=32)
def owner_can_go_after_its_child(store: Store, types: Types) -> None:
    """Deleting a child and then its owner both succeed (no dangling link)."""
    mesh = owner(store, types)
    item(store, types, "resource-1", owner=mesh.key)
    store.delete(types.item, MESH, "resource-1")
    store.delete(types.owner, "", MESH)
    with raises(NotFound):
        store.get(types.owner, "", MESH)
