"""Checks of what kv promises beyond Kuma's own tests: exact labels, copies, order, names, errors."""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone

import attrs

from kv.errors import AlreadyExists, Conflict, Invalid, NotFound
from kv.model import Key, Op, Record, ResourceChanged
from kv.store import Store
from kv.testing.suite import ITEM_SPEC, MESH, NOW, SECOND, Types, check, item, owner, raises

GOOD_NAMES = ["a", "0", "web-1.kuma-demo", "a.b.c", "x" * 253, "1-2-3"]
BAD_NAMES = [
    "",
    "Web",
    "a_b",
    "-a",
    "a-",
    ".a",
    "a.",
    "a..b",
    "a b",
    "x" * 254,
    "ä",
    "a/b",
    "a\x00",
]


@check()
def labels_round_trip_exactly(store: Store, types: Types) -> None:
    """Labels read back exactly as written (no added or lost keys), on create and on update."""
    labels = {"kuma.io/origin": "zone", "app": "web", "empty": "", "a.b/c_d-e.f": "v.1_2-3"}
    created = item(store, types, "r.demo", labels=labels)
    assert created.labels == labels
    assert store.get(types.item, MESH, "r.demo").labels == labels
    store.update(attrs.evolve(created, labels={"only": "this"}))
    assert store.get(types.item, MESH, "r.demo").labels == {"only": "this"}
    assert store.list(types.item).items[0].labels == {"only": "this"}


@check()
def returned_values_are_copies(store: Store, types: Types) -> None:
    """Mutating what was given to, or returned by, the store never changes what is stored."""
    spec = {"nested": {"list": [1, 2]}}
    labels = {"k": "v"}
    created = store.create(Record(key=Key(types.item, MESH, "r.demo"), spec=spec, labels=labels))
    spec["nested"]["list"].append(3)
    labels["k"] = "changed"
    for got in (created, store.get(types.item, MESH, "r.demo"), store.list(types.item).items[0]):
        got.spec["nested"]["list"].append(4)  # mutating on purpose
        got.labels["k"] = "mutated"  # type: ignore[index]
        got.status["x"] = 1  # type: ignore[index]
    got = store.get(types.item, MESH, "r.demo")
    assert (got.spec, got.labels, got.status) == ({"nested": {"list": [1, 2]}}, {"k": "v"}, {})


@check()
def listings_are_ordered_by_mesh_then_name(store: Store, types: Types) -> None:
    """Listings order records by mesh, then name, byte-wise, whatever the insertion order."""
    keys = [
        ("m-2", "b"),
        ("m-1", "c"),
        ("m-1", "a"),
        ("m", "z"),
        ("m-2", "a.b"),
        ("m-1", "b-1"),
        ("m-1", "b"),
    ]
    for mesh, name in keys:
        item(store, types, name, mesh=mesh)
    listed = [(r.key.mesh, r.key.name) for r in store.list(types.item).items]
    assert listed == sorted(keys)
    paged = []
    offset = ""
    while True:
        page = store.list(types.item, page_size=3, offset=offset)
        paged += [(r.key.mesh, r.key.name) for r in page.items]
        if not (offset := page.next_offset):
            break
    assert paged == sorted(keys)
    assert [r.key.name for r in store.list(types.item, mesh="m-1").items] == ["a", "b", "b-1", "c"]


@check()
def name_grammar_is_enforced_before_any_driver(store: Store, types: Types) -> None:
    """Names outside the RFC 1123 subdomain grammar are Invalid on every backend; good ones store."""
    for name in GOOD_NAMES:
        assert item(store, types, name).key.name == name
    for name in BAD_NAMES:
        with raises(Invalid):
            item(store, types, name)
        with raises(Invalid):
            store.get(types.item, MESH, name)
    assert store.list(types.item).total == len(GOOD_NAMES)


@check()
def scope_is_enforced(store: Store, types: Types) -> None:
    """A mesh-scoped key needs a valid mesh, a global key has none, an unknown type is Invalid."""
    for key in (
        Key(types.item, "", "r"),
        Key(types.item, "Mesh-1", "r"),
        Key(types.item, "m" * 64, "r"),
        Key(types.owner, MESH, "r"),
        Key("NoSuchType", "", "r"),
        Key("lowercase", "", "r"),
    ):
        with raises(Invalid):
            store.create(Record(key=key))
    assert store.list(types.item).total == store.list(types.owner).total == 0


@check()
def bad_documents_are_invalid_and_store_nothing(store: Store, types: Types) -> None:
    """A spec or status that is not a storable JSON object is Invalid, and nothing is stored."""
    key = Key(types.item, MESH, "r")
    for spec, status in (
        ({"s": {1, 2}}, {}),
        ({"nan": math.nan}, {}),
        ({}, {"inf": math.inf}),
        ({"nul": "a\x00b"}, {}),
        ({"big": "x" * (1 << 20)}, {}),
        ({}, {"surrogate": "\ud800"}),
    ):
        with raises(Invalid):
            store.create(Record(key=key, spec=spec, status=status))
    with raises(Invalid):
        store.create(attrs.evolve(Record(key=key), spec=["not", "an", "object"]))  # type: ignore[arg-type]
    assert store.list(types.item).total == 0
    created = store.create(Record(key=key, spec={"ok": "a\\u0000 is text"}))
    with raises(Invalid):
        store.update(attrs.evolve(created, spec={"nan": math.nan}))
    assert store.get(types.item, MESH, "r") == created


@check()
def bad_labels_are_invalid(store: Store, types: Types) -> None:
    """Labels Kubernetes would refuse are Invalid on every backend."""
    for labels in (
        {"bad key": "v"},
        {"k": "v" * 64},
        {"k": "bad value"},
        {"k": 1},
        {"": "v"},
        {"UP/k": "v"},
    ):
        with raises(Invalid):
            item(store, types, "r", labels=labels)  # type: ignore[arg-type]  # bad on purpose
    assert item(store, types, "r", labels={"k": "v" * 63}).labels == {"k": "v" * 63}


@check()
def timestamps_are_utc_and_exact(store: Store, types: Types) -> None:
    """Times round-trip to the microsecond as timezone-aware UTC; naive times are Invalid."""
    plus_two = timezone(timedelta(hours=2))
    created = store.create(Record(key=Key(types.item, MESH, "r")), creation_time=NOW.astimezone(plus_two))
    got = store.get(types.item, MESH, "r")
    assert got.creation_time == got.modification_time == NOW
    assert got.creation_time is not None
    assert got.creation_time.utcoffset() == timedelta(0)
    with raises(Invalid):
        store.update(created, modification_time=datetime(2026, 1, 1))
    with raises(Invalid):
        store.create(Record(key=Key(types.item, MESH, "naive")), creation_time=datetime(2026, 1, 1))


@check()
def a_create_may_keep_a_given_modification_time(store: Store, types: Types) -> None:
    """A create given a modification time (a restore) keeps it; by default it is the creation time."""
    later = NOW + 90 * SECOND
    store.create(Record(key=Key(types.item, MESH, "r")), creation_time=NOW, modification_time=later)
    got = store.get(types.item, MESH, "r")
    assert (got.creation_time, got.modification_time) == (NOW, later)
    with raises(Invalid):
        store.create(Record(key=Key(types.item, MESH, "x")), modification_time=datetime(2026, 1, 1))


@check()
def create_with_a_missing_owner_is_not_found(store: Store, types: Types) -> None:
    """A create whose owner does not exist raises NotFound (for the owner) and stores nothing."""
    missing = Key(types.owner, "", "no-such-owner")
    with raises(NotFound, f'resource not found: type="{types.owner}" name="no-such-owner" mesh=""'):
        item(store, types, "r", owner=missing)
    with raises(NotFound):
        store.get(types.item, MESH, "r")
    with raises(NotFound):  # its own owner: it does not exist before it is created
        item(store, types, "self-owned", owner=Key(types.item, MESH, "self-owned"))
    assert store.list(types.item).total == 0


@check()
def a_duplicate_create_changes_nothing(store: Store, types: Types) -> None:
    """AlreadyExists wins over a missing owner, and the stored record keeps its content."""
    created = item(store, types, "r", labels={"a": "1"})
    clash = Record(key=created.key, spec={"other": True}, labels={"b": "2"})
    with raises(AlreadyExists):
        store.create(clash, owner=Key(types.owner, "", "no-such-owner"))
    assert store.get(types.item, MESH, "r") == created


@check()
def versions_are_opaque_and_never_reused(store: Store, types: Types) -> None:
    """Versions are non-empty strings, new on every update, and reads return the written one."""
    record = item(store, types, "r")
    seen = {record.version}
    for port in range(81, 91):
        record = store.update(attrs.evolve(record, spec={"port": port}))
        assert isinstance(record.version, str)
        assert record.version not in seen
        seen.add(record.version)
        assert store.get(types.item, MESH, "r").version == record.version


@check()
def a_stale_update_is_a_conflict_and_changes_nothing(store: Store, types: Types) -> None:
    """An update with an old version, or with none, raises Conflict and the record stays as it was."""
    first = item(store, types, "r")
    second = store.update(attrs.evolve(first, spec={"v": 2}))
    with raises(Conflict):
        store.update(attrs.evolve(first, spec={"v": 3}))
    with raises(Conflict):
        store.update(attrs.evolve(second, spec={"v": 4}, version=""))
    with raises(Conflict):
        store.get(types.item, MESH, "r", version=first.version)
    assert store.get(types.item, MESH, "r") == second


@check()
def update_keeps_creation_time_and_owner(store: Store, types: Types) -> None:
    """An update never changes creation time or owner, whatever the record it is given says."""
    parent = owner(store, types)
    created = item(store, types, "r", owner=parent.key)
    assert created.owner == parent.key
    updated = store.update(
        attrs.evolve(created, creation_time=NOW + 5 * SECOND, owner=None),
        modification_time=NOW + SECOND,
    )
    assert (updated.creation_time, updated.owner) == (NOW, parent.key)
    assert store.get(types.item, MESH, "r") == updated


@check()
def name_filter_is_literal(store: Store, types: Types) -> None:
    """``name_contains`` matches a literal substring: SQL wildcards match nothing special."""
    for name in ("ab", "a-b", "a.b", "xyz"):
        item(store, types, name)
    assert [r.key.name for r in store.list(types.item, name_contains=".").items] == ["a.b"]
    for pattern in ("%", "_", "a%b", "a_b", "\\", "[a]", "*", "a\0", "\0"):  # NUL: no name holds one
        assert store.list(types.item, name_contains=pattern).total == 0, pattern
    assert store.list(types.item, name_contains="").total == 4


@check()
def list_arguments_are_checked(store: Store, types: Types) -> None:
    """Negative or overflowing offsets, negative page sizes, foreign keys and bad meshes are Invalid."""
    item(store, types, "r")
    for offset, reason in (
        ("-1", "must be non-negative"),
        ("99999999999", "exceeds maximum value"),
    ):
        with raises(Invalid, f"invalid: invalid offset: {reason}"):
            store.list(types.item, page_size=1, offset=offset)
    for kwargs in ({"page_size": -1}, {"keys": [Key(types.owner, "", "r")]}, {"mesh": "Bad Mesh"}):
        with raises(Invalid):
            store.list(types.item, **kwargs)
    past = store.list(types.item, page_size=5, offset="10")
    assert (past.total, past.items, past.next_offset) == (1, (), "")
    assert store.list(types.item, mesh="").total == 1


@check()
def events_arrive_in_commit_order(store: Store, types: Types) -> None:
    """Subscribers see every change, cascaded deletes included, in commit order; none after close."""
    with store.subscribe() as events:
        parent = owner(store, types)
        child = item(store, types, "child", owner=parent.key)
        grandchild = item(store, types, "grandchild", owner=child.key)
        store.update(attrs.evolve(parent, spec={"v": 2}))
        store.delete(types.owner, "", MESH)
        deadline = time.monotonic() + 5  # Postgres delivers through NOTIFY: allow for the round trip
        got = [events.get(timeout=max(0.0, deadline - time.monotonic())) for _ in range(7)]
    want = [
        ResourceChanged(Op.CREATE, *_k(parent.key)),
        ResourceChanged(Op.CREATE, *_k(child.key)),
        ResourceChanged(Op.CREATE, *_k(grandchild.key)),
        ResourceChanged(Op.UPDATE, *_k(parent.key)),
    ]
    assert got[:4] == want
    deleted = {ResourceChanged(Op.DELETE, *_k(k)) for k in (parent.key, child.key, grandchild.key)}
    assert len(got[4:]) == len(set(got[4:])) == 3
    assert set(got[4:]) == deleted  # cascade order is the backend's; each record once
    item(store, types, "after-close")
    assert events.get(timeout=0.2) is None


def _k(key: Key) -> tuple[str, str, str]:
    return key.type, key.mesh, key.name


@check()
def records_equal_what_was_written(store: Store, types: Types) -> None:
    """create, get and list return the same record: key, spec, status, labels, times, owner, version."""
    parent = owner(store, types)
    created = store.create(
        Record(key=Key(types.with_status, MESH, "r"), spec=ITEM_SPEC, status={"s": [1.5, None, True]}),
        owner=parent.key,
        creation_time=NOW,
    )
    assert created == store.get(types.with_status, MESH, "r")
    assert (created.key, created.spec, created.status, created.owner) == (
        Key(types.with_status, MESH, "r"),
        ITEM_SPEC,
        {"s": [1.5, None, True]},
        parent.key,
    )
    assert store.list(types.with_status).items == (created,)


@check()
def list_by_labels(store: Store, types: Types) -> None:
    """A label filter keeps records that carry every given label with that value, before paging."""
    for name, labels in (
        ("a", {"app": "web", "tier": "1"}),
        ("b", {"app": "web"}),
        ("c", {"app": "db"}),
        ("d", {}),
    ):
        item(store, types, name, labels=labels)
    assert [r.key.name for r in store.list(types.item, labels={"app": "web"}).items] == ["a", "b"]
    assert [r.key.name for r in store.list(types.item, labels={"app": "web", "tier": "1"}).items] == ["a"]
    assert store.list(types.item, labels={"app": ""}).total == 0
    page = store.list(types.item, labels={"app": "web"}, page_size=1)
    assert (page.total, [r.key.name for r in page.items], page.next_offset) == (2, ["a"], "1")


@check()
def delete_at_a_version(store: Store, types: Types) -> None:
    """A delete with a version removes the record only at that version; else Conflict, nothing gone."""
    parent = owner(store, types)
    child = item(store, types, "child", owner=parent.key)
    updated = store.update(attrs.evolve(parent, spec={"v": 2}))
    with raises(Conflict):
        store.delete(types.owner, "", MESH, version=parent.version)
    assert store.get(types.item, MESH, "child") == child
    with raises(NotFound):
        store.delete(types.item, MESH, "missing", version="1")
    store.delete(types.owner, "", MESH, version=updated.version)
    with raises(NotFound):
        store.get(types.item, MESH, "child")
