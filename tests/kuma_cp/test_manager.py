"""The resource manager (Kuma's rules above the store) and the read cache."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import attrs
import pytest

import kv
from kuma_cp import resources
from kuma_cp.cache import CachedReader
from kuma_cp.config import StoreConfig, UpsertConfig
from kuma_cp.manager import MeshHasDataplanes, MeshNotFound, ResourceManager, SkipUpsert

MESH, DATAPLANE, MTP, CONFIG = (
    resources.get("Mesh"),
    resources.get("Dataplane"),
    resources.get("MeshTrafficPermission"),
    resources.get("Config"),  # a global type with a free-text spec: a counter Kuma's model accepts
)
MTP_SPEC = {
    "targetRef": {"kind": "Mesh"},
    "rules": [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://demo"}}]}}],
}


def counter(record: kv.Record | None) -> int:
    return 0 if record is None else int(record.spec["config"])


NOW = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def manager() -> ResourceManager:
    return ResourceManager(kv.open("memory://", catalog=resources.catalog()), clock=lambda: NOW)


def test_mesh_scoped_resources_need_their_mesh_and_are_owned_by_it(manager: ResourceManager) -> None:
    with pytest.raises(MeshNotFound, match=r"^mesh of name demo is not found$"):
        manager.create(MTP, "demo", "mtp-1", spec=MTP_SPEC)
    manager.create(MESH, "", "demo", spec={})
    created = manager.create(MTP, "demo", "mtp-1", spec=MTP_SPEC)
    assert (created.owner, created.creation_time) == (kv.Key("Mesh", "", "demo"), NOW)
    manager.delete(MESH, "", "demo")
    with pytest.raises(kv.NotFound):
        manager.get(MTP, "demo", "mtp-1")


def test_updates_take_the_managers_clock(manager: ResourceManager) -> None:
    created = manager.create(MESH, "", "demo", spec={})
    manager.clock = lambda: NOW + timedelta(seconds=5)
    updated = manager.update(attrs.evolve(created, spec={"skipCreatingInitialPolicies": ["*"]}))
    assert (updated.creation_time, updated.modification_time) == (NOW, NOW + timedelta(seconds=5))


def test_a_mesh_with_dataplanes_is_not_deleted_unless_unsafe(manager: ResourceManager) -> None:
    manager.create(MESH, "", "demo", spec={})
    manager.create(DATAPLANE, "demo", "dp-1", spec={"networking": {"address": "10.0.0.1"}})
    with pytest.raises(MeshHasDataplanes, match="there are still some dataplanes attached"):
        manager.delete(MESH, "", "demo")
    assert manager.get(MESH, "", "demo").key.name == "demo"
    unsafe = ResourceManager(manager.store, config=StoreConfig(unsafe_delete=True))
    unsafe.delete(MESH, "", "demo")
    assert manager.list(DATAPLANE).total == 0


def test_upsert_creates_updates_and_skips(manager: ResourceManager) -> None:
    def bump(current: kv.Record | None) -> kv.Record:
        spec = {"config": str(counter(current) + 1)}
        return kv.Record(key=kv.Key("Config", "", "x"), spec=spec, labels={"k": "v"})

    assert manager.upsert(CONFIG, "", "demo", bump) is not None
    second = manager.upsert(CONFIG, "", "demo", bump)
    assert second is not None
    assert (second.spec, second.labels) == ({"config": "2"}, {"k": "v"})

    def skip(current: kv.Record | None) -> kv.Record:
        raise SkipUpsert

    assert manager.upsert(CONFIG, "", "demo", skip) is None
    assert manager.get(CONFIG, "", "demo").spec == {"config": "2"}


def test_concurrent_upserts_retry_lost_races_and_lose_nothing() -> None:
    store = kv.open("memory://", catalog=resources.catalog())
    config = StoreConfig(
        upsert=UpsertConfig(
            conflict_retry_base_backoff=timedelta(milliseconds=1), conflict_retry_max_times=200
        )
    )
    manager = ResourceManager(store, config=config)

    def bump(current: kv.Record | None) -> kv.Record:
        count = counter(current)
        threading.Event().wait(0.0005)  # widen the read-modify-write window
        return kv.Record(key=kv.Key("Config", "", "x"), spec={"config": str(count + 1)})

    def work() -> None:
        for _ in range(20):
            manager.upsert(CONFIG, "", "counter", bump)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert manager.get(CONFIG, "", "counter").spec == {"config": "120"}


def test_upsert_gives_up_after_the_configured_retries() -> None:
    class AlwaysConflicts:
        def get(self, *args: object, **kwargs: object) -> kv.Record:
            raise kv.NotFound("none")

        def create(self, *args: object, **kwargs: object) -> kv.Record:
            raise kv.AlreadyExists("raced")

        def list(self, *args: object, **kwargs: object) -> kv.Page:
            return kv.Page((), 0)

    sleeps: list[float] = []
    config = StoreConfig(upsert=UpsertConfig(conflict_retry_max_times=3, conflict_retry_jitter_percent=0))
    manager = ResourceManager(AlwaysConflicts(), config=config, sleep=sleeps.append)
    with pytest.raises(kv.AlreadyExists):
        manager.upsert(MESH, "", "demo", lambda current: kv.Record(key=kv.Key("Mesh", "", "demo")))
    assert sleeps == pytest.approx([0.2, 0.4, 0.8])  # exponential from 200ms, three retries


class CountingStore:
    def __init__(self, store: kv.Store) -> None:
        self.store = store
        self.reads = 0

    def get(self, *args: object, **kwargs: object) -> kv.Record:
        self.reads += 1
        threading.Event().wait(0.05)  # a slow read, so concurrent readers overlap
        return self.store.get(*args, **kwargs)  # type: ignore[arg-type]

    def list(self, *args: object, **kwargs: object) -> kv.Page:
        self.reads += 1
        return self.store.list(*args, **kwargs)  # type: ignore[arg-type]


def test_the_cache_serves_a_burst_with_one_read_and_hands_out_copies() -> None:
    store = kv.open("memory://", catalog=resources.catalog())
    store.create(kv.Record(key=kv.Key("Mesh", "", "demo"), spec={"a": [1]}))
    counting = CountingStore(store)
    outcomes: list[str] = []
    now = [0.0]
    cache = CachedReader(counting, 1.0, record=lambda op, t, r: outcomes.append(r), clock=lambda: now[0])
    got: list[kv.Record] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("Mesh", "", "demo"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counting.reads == 1
    assert sorted(set(outcomes)) == ["hit-wait", "miss"] or sorted(set(outcomes)) == [
        "hit",
        "hit-wait",
        "miss",
    ]
    got[0].spec["a"].append(2)
    assert cache.get("Mesh", "", "demo").spec == {"a": [1]}
    now[0] = 1.5  # expired: the next read goes to the store
    cache.get("Mesh", "", "demo")
    assert counting.reads == 2
    page = cache.list("Mesh", page_size=1)
    assert (page.total, page.next_offset) == (1, "")
    cache.list("Mesh", page_size=1)
    assert counting.reads == 3


def test_a_versioned_get_bypasses_the_cache() -> None:
    store = kv.open("memory://", catalog=resources.catalog())
    created = store.create(kv.Record(key=kv.Key("Mesh", "", "demo")))
    counting = CountingStore(store)
    cache = CachedReader(counting, 60.0)
    cache.get("Mesh", "", "demo")
    store.update(created)
    with pytest.raises(kv.Conflict):
        cache.get("Mesh", "", "demo", version=created.version)
    assert counting.reads == 2
