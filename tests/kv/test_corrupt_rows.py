"""Stored records that cannot be read: left out of lists, a typed error on get, reported once per version.

kv never writes such a record (the memory driver holds only what the store encoded, so there it can only be
planted by calling the driver directly, as here). On Postgres it is a row inserted by hand or by a foreign
writer; on Kubernetes, a custom object whose spec is not an object, under a CRD that keeps unknown fields.
Rows as Go Kuma writes them, unknown fields, older shapes and removed types included, read as stored.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kv
from kv.driver import Row
from kv.drivers.memory import MemoryDriver

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
NOT_JSON = "spec is not valid JSON (Expecting value: line 1 column 1 (char 0))"


def _plant(driver: Any, name: str, spec: str = "{}", status: str = "{}", labels: Any = None) -> Row:
    """A row written past the store, straight into the driver."""
    key = kv.Key("Widget", "m", name)
    row = Row(
        key=key, spec=spec, status=status, labels=labels or {}, creation_time=WHEN, modification_time=WHEN
    )
    return driver.create(row)  # type: ignore[no-any-return]


class Hook:
    def __init__(self) -> None:
        self.calls: list[kv.Corrupt] = []

    def __call__(self, error: kv.Corrupt) -> None:
        self.calls.append(error)


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def memory(hook: Hook) -> Iterator[tuple[kv.Store, MemoryDriver]]:
    driver = MemoryDriver()
    with kv.Store(driver, on_corrupt=hook) as store:
        yield store, driver


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kv.store" and r.levelno == logging.WARNING]


DEEP = '{"a":' * 100_000 + "1" + "}" * 100_000
UNREADABLE = [
    ({"spec": "not json"}, NOT_JSON),
    ({"spec": '{"a": 1'}, "spec is not valid JSON (Expecting ',' delimiter: line 1 column 8 (char 7))"),
    ({"spec": "[1, 2]"}, "spec is not a JSON object (an array)"),
    ({"spec": '"secret-value"'}, "spec is not a JSON object (a string)"),
    ({"spec": "7"}, "spec is not a JSON object (a number)"),
    ({"spec": "true"}, "spec is not a JSON object (a boolean)"),
    ({"spec": DEEP}, "spec is nested too deeply to be read"),
    ({"status": "[]"}, "status is not a JSON object (an array)"),
    ({"labels": ["a"]}, "labels are not a JSON object (an array)"),
    ({"labels": {"app": 1}}, "labels are not a JSON object of strings"),
]


@pytest.mark.parametrize(("planted", "reason"), UNREADABLE, ids=[r for _, r in UNREADABLE])
def test_an_unreadable_record_is_left_out_of_lists_and_a_get_names_the_problem(
    memory: tuple[kv.Store, MemoryDriver], hook: Hook, planted: dict[str, Any], reason: str
) -> None:
    store, driver = memory
    _plant(driver, "a")
    bad = _plant(driver, "b", **planted)
    _plant(driver, "c")
    page = store.list("Widget")
    assert ([r.key.name for r in page.items], page.total) == (["a", "c"], 3)
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "b")
    error = caught.value
    assert (error.key, error.reason, error.version) == (bad.key, reason, bad.version)
    assert str(error) == f'stored resource could not be read: type="Widget" name="b" mesh="m": {reason}'
    assert isinstance(error, kv.KVError)
    assert not isinstance(error, (kv.Invalid, kv.NotFound))
    assert "secret-value" not in str(error)  # what is stored is never quoted
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.key, copy.reason, copy.version) == (kv.Corrupt, bad.key, reason, bad.version)
    assert [(e.key, e.reason) for e in hook.calls] == [(bad.key, reason)]


def test_json_null_reads_as_empty_as_go_kuma_reads_it(memory: tuple[kv.Store, MemoryDriver]) -> None:
    store, driver = memory
    _plant(driver, "a", spec="null", status="null", labels=None)
    record = store.get("Widget", "m", "a")
    assert (record.spec, record.status, record.labels) == ({}, {}, {})


def test_each_version_is_reported_once_however_often_it_is_read(
    memory: tuple[kv.Store, MemoryDriver], hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    store, driver = memory
    bad = _plant(driver, "b", spec="not json")
    for _ in range(3):
        assert store.list("Widget").items == ()
        assert store.list("Widget", page_size=1).items == ()
        with pytest.raises(kv.Corrupt):
            store.get("Widget", "m", "b")
    assert len(hook.calls) == 1
    [message] = _warnings(caplog)
    assert message.startswith(
        f'stored resource could not be read: type="Widget" name="b" mesh="m": {NOT_JSON}'
    )
    assert f"(version {bad.version})" in message
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    driver.update(bad.key, spec="[]", status="{}", labels={}, modification_time=WHEN, expected=bad.version)
    assert store.list("Widget").items == ()  # a new version, unreadable again: reported again
    assert [e.reason for e in hook.calls] == [NOT_JSON, "spec is not a JSON object (an array)"]
    assert len(_warnings(caplog)) == 2


def test_a_hook_that_fails_never_fails_a_read(caplog: pytest.LogCaptureFixture) -> None:
    def failing(error: kv.Corrupt) -> None:
        raise RuntimeError("metrics are down")

    driver = MemoryDriver()
    store = kv.Store(driver, on_corrupt=failing)
    _plant(driver, "a")
    _plant(driver, "b", spec="not json")
    assert [r.key.name for r in store.list("Widget").items] == ["a"]
    assert any("on_corrupt failed" in m and "metrics are down" in m for m in _warnings(caplog))


def test_an_unreadable_record_can_be_deleted_or_replaced_at_its_version(
    memory: tuple[kv.Store, MemoryDriver],
) -> None:
    store, driver = memory
    _plant(driver, "a", spec="not json")
    _plant(driver, "b", spec="not json")
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "a")
    with pytest.raises(kv.Conflict):  # the version still guards it
        store.delete("Widget", "m", "a", version="999")
    store.delete("Widget", "m", "a", version=caught.value.version)
    with pytest.raises(kv.NotFound):
        store.get("Widget", "m", "a")
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "b")
    store.update(kv.Record(key=caught.value.key, spec={"fixed": True}, version=caught.value.version))
    assert store.get("Widget", "m", "b").spec == {"fixed": True}


def walk(store: kv.Store, size: int, **filters: Any) -> list[kv.Page]:
    """Every page of a listing, following ``next_offset``."""
    pages = [store.list("Widget", page_size=size, **filters)]
    while pages[-1].next_offset:
        pages.append(store.list("Widget", page_size=size, offset=pages[-1].next_offset, **filters))
        assert len(pages) < 100
    return pages


def check_pages(pages: list[kv.Page], readable: list[str], stored: int, size: int) -> None:
    """Pages hold every readable record once, in order; each is full while more follow; total counts all."""
    assert [r.key.name for page in pages for r in page.items] == readable
    for number, page in enumerate(pages):
        assert page.total == stored
        shown = sum(len(p.items) for p in pages[: number + 1])
        assert len(page.items) == size or shown == len(readable), (number, page)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.booleans(), max_size=25), st.integers(1, 8))
def test_pages_stay_full_and_next_walks_every_readable_record_once(bad: list[bool], size: int) -> None:
    driver = MemoryDriver()
    store = kv.Store(driver)
    for number, unreadable in enumerate(bad):
        _plant(driver, f"w{number:02}", spec="not json" if unreadable else "{}")
    readable = [f"w{n:02}" for n, unreadable in enumerate(bad) if not unreadable]
    check_pages(walk(store, size), readable, len(bad), size)


# --- Postgres: rows inserted by hand -------------------------------------------------------------------


@pytest.fixture
def pg(pg_database: str) -> Iterator[tuple[kv.Store, str]]:
    """A store on a freshly migrated database, and the database's DSN for hand-made rows."""
    from kuma_cp import migrate
    from kv.drivers.postgres import PostgresDriver, create_engine

    engine = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(engine)
    engine.dispose()
    with kv.Store(PostgresDriver.from_url(pg_database, max_open_connections=2)) as store:
        yield store, pg_database


def insert(
    dsn: str, name: str, spec: str | None = "{}", status: str = "{}", labels: str | None = "{}"
) -> None:
    """A Widget row in mesh m, inserted with SQL as an operator or a foreign writer would."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO resources (name, mesh, type, version, spec, creation_time, modification_time,"
            " labels, status) VALUES (%s, 'm', 'Widget', 0, %s, now(), now(), %s, %s)",
            (name, spec, labels, status),
        )


PG_UNREADABLE = [
    ({"spec": "not json"}, NOT_JSON),
    ({"spec": "[1]"}, "spec is not a JSON object (an array)"),
    ({"status": '"x"'}, "status is not a JSON object (a string)"),
    ({"labels": "[]"}, "labels are not a JSON object (an array)"),
    ({"labels": '{"app": 1}'}, "labels are not a JSON object of strings"),
]


@pytest.mark.postgres
def test_postgres_unreadable_rows_are_left_out_and_named(
    pg: tuple[kv.Store, str], caplog: pytest.LogCaptureFixture
) -> None:
    store, dsn = pg
    hook = Hook()
    store.on_corrupt = hook
    insert(dsn, "a-null", spec=None, labels="null")  # SQL NULL and JSON null read as empty
    for number, (planted, _) in enumerate(PG_UNREADABLE):
        insert(dsn, f"b{number}", **planted)
        insert(dsn, f"c{number}")
    readable = ["a-null"] + [f"c{number}" for number in range(len(PG_UNREADABLE))]
    stored = 1 + 2 * len(PG_UNREADABLE)
    for _ in range(2):
        assert [r.key.name for r in store.list("Widget").items] == readable
        assert [r.key.name for r in store.list("Widget", mesh="m").items] == readable
        keys = [kv.Key("Widget", "m", f"{p}{n}") for p in "bc" for n in range(len(PG_UNREADABLE))]
        assert [r.key.name for r in store.list("Widget", keys=keys).items] == readable[1:]
        for size in (1, 2, 3, 20):
            check_pages(walk(store, size), readable, stored, size)
    for number, (_, reason) in enumerate(PG_UNREADABLE):
        with pytest.raises(kv.Corrupt) as caught:
            store.get("Widget", "m", f"b{number}")
        assert caught.value.reason == reason
        assert caught.value.version.startswith("0-")  # Kuma's version 0, as inserted
    assert sorted((e.key.name, e.reason) for e in hook.calls) == [
        (f"b{n}", reason) for n, (_, reason) in enumerate(PG_UNREADABLE)
    ]
    assert len(_warnings(caplog)) == len(PG_UNREADABLE)
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.postgres
def test_postgres_an_unreadable_row_can_be_deleted_or_replaced(pg: tuple[kv.Store, str]) -> None:
    store, dsn = pg
    insert(dsn, "a", spec="not json")
    insert(dsn, "b", status="[]")
    store.delete("Widget", "m", "a")
    with pytest.raises(kv.NotFound):
        store.get("Widget", "m", "a")
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "b")
    with pytest.raises(kv.Conflict):
        store.update(kv.Record(key=caught.value.key, spec={}, version="7-1"))
    fixed = store.update(kv.Record(key=caught.value.key, spec={"ok": 1}, version=caught.value.version))
    assert store.get("Widget", "m", "b") == fixed
    assert fixed.version != caught.value.version


# --- Kubernetes: custom objects under a CRD that keeps whatever it is given ---------------------------

GROUP = "corrupt.kv.kuma.io"


@pytest.fixture
def k8s() -> Iterator[tuple[kv.Store, Callable[..., None]]]:
    """A store on a kind whose CRD keeps unknown fields at the top level (so spec may be anything).

    With it, a function creating an object of that kind straight through the API server.
    """
    from kv.drivers.k8s import Kind, KubernetesDriver, crd_manifest
    from tests.conftest import install_crds, k8s_kubeconfig

    kubeconfig = k8s_kubeconfig()
    kind = Kind(type="Widget", plural="widgets", mesh_scoped=True, layout="mesh-namespace", group=GROUP)
    manifest: Any = crd_manifest(kind)
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    manifest["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = schema
    install_crds(kubeconfig, [manifest])
    driver = KubernetesDriver.from_url(kinds=[kind], kubeconfig=kubeconfig, system_namespace="kv-system")
    custom, where = driver._call.custom, (GROUP, kind.version)

    def plant(name: str, **fields: Any) -> None:
        body = {"apiVersion": "/".join(where), "kind": "Widget", "metadata": {"name": name}, **fields}
        custom.create_namespaced_custom_object(*where, "m", kind.plural, body)
        driver.refresh()  # written behind the driver's back: its cache learns of it now

    def clean() -> None:
        for obj in custom.list_cluster_custom_object(*where, kind.plural).get("items") or []:
            meta = obj["metadata"]
            custom.delete_namespaced_custom_object(*where, meta["namespace"], kind.plural, meta["name"])
        driver.refresh()

    clean()
    with kv.Store(driver) as store:
        try:
            yield store, plant
        finally:
            clean()


K8S_UNREADABLE: list[tuple[dict[str, Any], str]] = [
    ({"spec": "not an object"}, "spec is not a JSON object (a string)"),
    ({"spec": [1, 2]}, "spec is not a JSON object (an array)"),
    ({"spec": {}, "status": 5}, "status is not a JSON object (a number)"),
]


@pytest.mark.k8s
def test_kubernetes_objects_that_are_not_objects_are_left_out_and_named(
    k8s: tuple[kv.Store, Callable[..., None]],
) -> None:
    store, plant = k8s
    hook = Hook()
    store.on_corrupt = hook
    store.create(kv.Record(key=kv.Key("Widget", "m", "a"), spec={"port": 80}))  # also makes the namespace
    plant("a-go", spec={"port": 81, "unknownField": True})  # as Go Kuma writes it: no kv annotations
    from kv.drivers.k8s.kinds import ANNOTATION_PREFIX

    edited = {f"{ANNOTATION_PREFIX}{a}": "not json" for a in ("labels", "owner", "creation-time")}
    plant("a-edited", metadata={"name": "a-edited", "labels": {"app": "web"}, "annotations": edited})
    for number, (fields, _) in enumerate(K8S_UNREADABLE):
        plant(f"b{number}", **fields)
    for size in (0, 1, 2):
        pages = walk(store, size) if size else [store.list("Widget")]
        assert [r.key.name for page in pages for r in page.items] == ["a", "a-edited", "a-go"]
        assert pages[0].total == 3 + len(K8S_UNREADABLE)
    assert store.get("Widget", "m", "a-go").spec == {"port": 81, "unknownField": True}
    edited_record = store.get(
        "Widget", "m", "a-edited"
    )  # kv's annotations, edited by hand: as Go Kuma reads it
    assert (edited_record.labels, edited_record.owner) == ({"app": "web"}, None)
    for number, (_, reason) in enumerate(K8S_UNREADABLE):
        with pytest.raises(kv.Corrupt) as caught:
            store.get("Widget", "m", f"b{number}")
        assert caught.value.reason == reason
    assert sorted(e.reason for e in hook.calls) == sorted(reason for _, reason in K8S_UNREADABLE)
    store.delete("Widget", "m", "b0")
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "b1")
    store.update(kv.Record(key=caught.value.key, spec={"fixed": True}, version=caught.value.version))
    assert [r.key.name for r in store.list("Widget").items] == ["a", "a-edited", "a-go", "b1"]
