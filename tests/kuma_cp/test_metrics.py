"""kuma_cp.metrics: the metered store, Kuma's metric names, pool gauges, the text exposition."""

from __future__ import annotations

import attrs
import pytest
from prometheus_client.parser import text_string_to_metric_families

import kv
from kuma_cp.leader import MemoryElector
from kuma_cp.metrics import CONTENT_TYPE, MeteredStore, Metrics, PoolStats, exposition, pool_stats
from kv.drivers.memory import MemoryDriver
from kv.testing import Types

TYPES = Types()


def _item(name: str) -> kv.Record:
    return kv.Record(key=kv.Key(TYPES.item, "m", name), spec={"port": 80})


def _count(metrics: Metrics, operation: str, resource_type: str) -> float:
    value = metrics.registry.get_sample_value(
        "store_count", {"operation": operation, "resource_type": resource_type}
    )
    return 0.0 if value is None else value


def _conflicts(metrics: Metrics, resource_type: str) -> float:
    value = metrics.registry.get_sample_value("store_conflicts_total", {"resource_type": resource_type})
    return 0.0 if value is None else value


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def store(metrics: Metrics) -> MeteredStore:
    return MeteredStore(kv.Store(MemoryDriver(), catalog=TYPES.catalog()), metrics)


def test_every_operation_is_timed_per_operation_and_type(store: MeteredStore, metrics: Metrics) -> None:
    created = store.create(_item("a"))
    store.create(_item("b"))
    store.update(attrs.evolve(created, spec={"port": 81}))
    assert store.get(TYPES.item, "m", "a").spec == {"port": 81}
    assert store.list(TYPES.item, mesh="m", page_size=1).total == 2
    store.delete(TYPES.item, "m", "b")
    store.create(kv.Record(key=kv.Key(TYPES.owner, "", "c1")))
    counts = {
        (op, t): _count(metrics, op, t)
        for op in ("create", "update", "delete", "get", "list")
        for t in (TYPES.item, TYPES.owner)
    }
    assert counts == {
        ("create", TYPES.item): 2,
        ("update", TYPES.item): 1,
        ("delete", TYPES.item): 1,
        ("get", TYPES.item): 1,
        ("list", TYPES.item): 1,
        ("create", TYPES.owner): 1,
        ("update", TYPES.owner): 0,
        ("delete", TYPES.owner): 0,
        ("get", TYPES.owner): 0,
        ("list", TYPES.owner): 0,
    }
    labels = {"operation": "create", "resource_type": TYPES.item}
    total = metrics.registry.get_sample_value("store_sum", labels)
    assert total is not None
    assert 0 < total < 5


def test_conflicts_count_duplicate_creates_and_stale_updates(store: MeteredStore, metrics: Metrics) -> None:
    created = store.create(_item("a"))
    with pytest.raises(kv.AlreadyExists):
        store.create(_item("a"))
    store.update(created)
    with pytest.raises(kv.Conflict):
        store.update(created)  # stale: the version moved on
    with pytest.raises(kv.NotFound):
        store.delete(TYPES.item, "m", "missing")  # an error, but not a conflict
    with pytest.raises(kv.NotFound):
        store.get(TYPES.item, "m", "missing")
    assert _conflicts(metrics, TYPES.item) == 2
    # failed calls are timed too
    assert _count(metrics, "create", TYPES.item) == 2
    assert _count(metrics, "update", TYPES.item) == 2
    assert _count(metrics, "delete", TYPES.item) == 1
    assert _count(metrics, "get", TYPES.item) == 1


def test_metered_store_delegates_everything(store: MeteredStore) -> None:
    assert isinstance(store, kv.Store)
    assert store.driver is store.inner.driver
    assert store.catalog is store.inner.catalog
    with store.subscribe() as subscription:
        store.create(_item("a"))
        event = subscription.get(timeout=5)
    assert event == kv.ResourceChanged(kv.Op.CREATE, TYPES.item, "m", "a")
    with store.transaction():
        store.create(_item("b"))
    assert [r.key.name for r in store.list(TYPES.item, name_contains="b").items] == ["b"]
    store.close()


def test_cache_outcomes_and_their_results(metrics: Metrics) -> None:
    metrics.record_cache("get", "Mesh", "hit")
    metrics.record_cache("get", "Mesh", "hit")
    metrics.record_cache("list", "Mesh", "hit-wait")
    with pytest.raises(ValueError, match="cache result"):
        metrics.record_cache("get", "Mesh", "stale")
    labels = {"operation": "get", "resource_type": "Mesh", "result": "hit"}
    assert metrics.registry.get_sample_value("store_cache_total", labels) == 2
    assert 'store_cache{operation="list",resource_type="Mesh",result="hit-wait"} 1.0' in (
        metrics.render().decode()
    )


def test_leader_gauge_follows_the_elector(metrics: Metrics) -> None:
    elector = MemoryElector()
    metrics.watch_leader(elector.is_leader)
    assert "\nleader 0.0\n" in metrics.render().decode()
    elector.start()
    assert "\nleader 1.0\n" in metrics.render().decode()
    elector.stop()
    assert metrics.registry.get_sample_value("leader") == 0


def test_render_uses_kumas_names_in_the_0_0_4_text_format(store: MeteredStore, metrics: Metrics) -> None:
    store.create(_item("a"))
    with pytest.raises(kv.AlreadyExists):
        store.create(_item("a"))
    metrics.watch_events_dropped(lambda: 7)
    metrics.watch_postgres_pool(lambda: PoolStats(open=3, in_use=1, idle=2, max=50))
    text = metrics.render().decode()
    lines = text.splitlines()
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
    for expected in (
        "# TYPE store histogram",
        f'store_count{{operation="create",resource_type="{TYPES.item}"}} 2.0',
        f'store_bucket{{le="+Inf",operation="create",resource_type="{TYPES.item}"}} 2.0',
        "# TYPE store_conflicts counter",
        f'store_conflicts{{resource_type="{TYPES.item}"}} 1.0',
        "# TYPE events_dropped counter",
        "events_dropped 7.0",
        'store_postgres_connections{pool="rw",type="open_connections"} 3.0',
        'store_postgres_connections{pool="rw",type="in_use"} 1.0',
        'store_postgres_connections{pool="rw",type="idle"} 2.0',
        'store_postgres_connections_max{pool="rw"} 50.0',
        "# TYPE leader gauge",
    ):
        assert expected in lines
    assert "_total" not in text  # Go's client, which Kuma uses, adds no suffix to counters
    assert "_created" not in text
    families = {f.name: f for f in text_string_to_metric_families(text)}  # well-formed
    assert families["store"].type == "histogram"
    assert families["store_postgres_connections"].type == "gauge"


def test_two_instances_do_not_share_metrics() -> None:
    first, second = Metrics(), Metrics()
    first.store_conflicts.labels("Mesh").inc()
    assert "store_conflicts{" in first.render().decode()
    assert "store_conflicts{" not in second.render().decode()


def test_exposition_escapes_label_values_and_help() -> None:
    metrics = Metrics()
    metrics.store_conflicts.labels('a"b\\c\nd').inc()
    text = exposition(metrics.registry.collect()).decode()
    assert 'store_conflicts{resource_type="a\\"b\\\\c\\nd"} 1.0' in text.splitlines()


def test_a_failing_pool_source_is_left_out_of_the_scrape(metrics: Metrics) -> None:
    def closed() -> PoolStats:
        raise RuntimeError("engine disposed")

    metrics.watch_postgres_pool(closed)
    metrics.watch_postgres_pool(lambda: PoolStats(1, 0, 1, 2), pool="ro")
    text = metrics.render().decode()
    assert 'store_postgres_connections{pool="ro",type="idle"} 1.0' in text
    assert 'pool="rw"' not in text


@pytest.mark.postgres
def test_pool_gauges_read_a_postgres_store_at_scrape_time(pg_database: str, metrics: Metrics) -> None:
    from kuma_cp import migrate
    from kv.drivers.postgres import PostgresDriver, create_engine

    admin = create_engine(pg_database, max_open_connections=1)
    migrate.migrate_up(admin)
    admin.dispose()
    driver = PostgresDriver.from_url(pg_database, max_open_connections=7)
    with kv.Store(driver, catalog=TYPES.catalog()) as store:
        metrics.watch_postgres_pool(pool_stats(driver._engine, 7))

        def gauge(kind: str) -> float | None:
            labels = {"type": kind, "pool": "rw"}
            return metrics.registry.get_sample_value("store_postgres_connections", labels)

        assert metrics.registry.get_sample_value("store_postgres_connections_max", {"pool": "rw"}) == 7
        assert gauge("open_connections") == 0
        store.create(_item("a"))
        assert (gauge("open_connections"), gauge("in_use"), gauge("idle")) == (1, 0, 1)
        with store.transaction():  # holds one connection until the block ends
            store.get(TYPES.item, "m", "a")
            assert (gauge("open_connections"), gauge("in_use"), gauge("idle")) == (1, 1, 0)
        assert gauge("in_use") == 0
    driver._engine.dispose()
    assert gauge("open_connections") == 0  # the disposed engine's new, empty pool
