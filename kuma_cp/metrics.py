"""kuma-cp's Prometheus metrics, with Kuma's names, so Kuma's Grafana dashboards work unchanged.

- ``store{operation, resource_type}``: histogram of store operations, in seconds (failed ones included).
- ``store_conflicts{resource_type}``: creates that found the key taken, updates that lost a race.
- ``store_corrupt_resources{resource_type}``: stored resources found unreadable (spec, status or labels
  not JSON objects), each version of each counted once per process (see `Metrics.record_corrupt`). Not
  Kuma's: Go Kuma fails the whole list instead.
- ``store_cache{operation, resource_type, result}``: read cache outcomes (``hit``, ``miss``, ``hit-wait``).
- ``leader``: 1 while this instance leads. ``events_dropped``: events the event bus discarded.
- ``store_postgres_connections{type=open_connections|in_use|idle, pool}`` and
  ``store_postgres_connections_max{pool}``: the Postgres pool, read at scrape time.

Counters are exposed under their names, without the ``_total`` suffix and ``_created`` samples that the
Python client adds (Go's client, which Kuma uses, adds neither). Each `Metrics` owns its registry, so two
control planes (or tests) in one process never share a metric.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import kv

__all__ = ["CONTENT_TYPE", "MeteredStore", "Metrics", "PoolStats", "pool_stats"]

log = logging.getLogger("kuma-cp.metrics")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CACHE_RESULTS = ("hit", "miss", "hit-wait")


class PoolStats(NamedTuple):
    """A connection pool's state: connections open, in use, idle, and the most it may open (0: no limit)."""

    open: int
    in_use: int
    idle: int
    max: int


def pool_stats(engine: Any, max_open: int) -> Callable[[], PoolStats]:
    """A `PoolStats` source for a SQLAlchemy engine with a ``QueuePool`` bounded by *max_open*.

    The engine's current pool is read at each call (``dispose()`` replaces it). For a Postgres kv store:
    ``pool_stats(engine, config.store.postgres.max_open_connections)``.
    """

    def read() -> PoolStats:
        pool = engine.pool
        idle, in_use = int(pool.checkedin()), int(pool.checkedout())
        return PoolStats(idle + in_use, in_use, idle, max(max_open, 0))

    return read


class _Sampled(Collector):
    """The metrics read at scrape time: Postgres pools and the event bus's drops."""

    def __init__(self) -> None:
        self.pools: dict[str, Callable[[], PoolStats]] = {}
        self.events_dropped: Callable[[], int] | None = None

    def collect(self) -> Iterable[Metric]:
        if self.events_dropped is not None:
            dropped = CounterMetricFamily(
                "events_dropped", "Number of dropped events in event bus due to full channels"
            )
            dropped.add_metric([], self.events_dropped())
            yield dropped
        if not self.pools:
            return
        current = GaugeMetricFamily(
            "store_postgres_connections",
            "Current number of postgres store connections",
            labels=["type", "pool"],
        )
        most = GaugeMetricFamily(
            "store_postgres_connections_max", "Max postgres store open connections", labels=["pool"]
        )
        for name, read in self.pools.items():
            try:
                stats = read()
            except Exception as exc:  # a closed store: report nothing rather than fail the scrape
                log.debug("could not read postgres pool %s: %s", name, exc)
                continue
            current.add_metric(["open_connections", name], stats.open)
            current.add_metric(["in_use", name], stats.in_use)
            current.add_metric(["idle", name], stats.idle)
            most.add_metric([name], stats.max)
        yield current
        yield most


def _escape(value: str, quote: bool) -> str:
    value = value.replace("\\", r"\\").replace("\n", r"\n")
    return value.replace('"', r"\"") if quote else value


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def exposition(metrics: Iterable[Metric]) -> bytes:
    """Prometheus text format 0.0.4 as Go's client writes it (counters without ``_total``/``_created``)."""
    lines = []
    for metric in metrics:
        kind = {"unknown": "untyped", "info": "gauge", "stateset": "gauge"}.get(metric.type, metric.type)
        lines.append(f"# HELP {metric.name} {_escape(metric.documentation, quote=False)}")
        lines.append(f"# TYPE {metric.name} {kind}")
        for sample in metric.samples:
            if sample.name == f"{metric.name}_created":
                continue
            name = metric.name if sample.name == f"{metric.name}_total" else sample.name
            labels = ",".join(f'{k}="{_escape(v, quote=True)}"' for k, v in sorted(sample.labels.items()))
            series = f"{name}{{{labels}}}" if labels else name
            lines.append(f"{series} {_number(sample.value)}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


class Metrics:
    """The control plane's metrics, in a registry of their own.

    Attributes:
        registry: where they are registered; add more collectors here.
        store: the ``store`` histogram (see `MeteredStore`).
        store_conflicts: the ``store_conflicts`` counter.
        store_corrupt_resources: the ``store_corrupt_resources`` counter (see `record_corrupt`).
        store_cache: the ``store_cache`` counter (see `record_cache`).
        leader: the ``leader`` gauge (see `watch_leader`).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.store = Histogram(
            "store", "Summary of Store operations", ["operation", "resource_type"], registry=self.registry
        )
        self.store_conflicts = Counter(
            "store_conflicts",
            "Counter of store conflicts while update",
            ["resource_type"],
            registry=self.registry,
        )
        self.store_corrupt_resources = Counter(
            "store_corrupt_resources",
            "Counter of stored resources that could not be read, once per resource version",
            ["resource_type"],
            registry=self.registry,
        )
        self.store_cache = Counter(
            "store_cache",
            "Summary of Store Cache",
            ["operation", "resource_type", "result"],
            registry=self.registry,
        )
        self.leader = Gauge("leader", "1 indicates that this instance is leader", registry=self.registry)
        self._sampled = _Sampled()
        self.registry.register(self._sampled)

    def record_cache(self, operation: str, resource_type: str, result: str) -> None:
        """Count one read cache outcome: *result* is ``hit``, ``miss`` or ``hit-wait``."""
        if result not in CACHE_RESULTS:
            raise ValueError(f"cache result must be one of {CACHE_RESULTS}, not {result!r}")
        self.store_cache.labels(operation=operation, resource_type=resource_type, result=result).inc()

    def record_corrupt(self, error: kv.Corrupt) -> None:
        """Count an unreadable resource: a `kv.Store`'s ``on_corrupt`` (called once per version of each)."""
        self.store_corrupt_resources.labels(resource_type=error.key.type).inc()

    def watch_leader(self, is_leader: Callable[[], bool]) -> None:
        """Read the ``leader`` gauge from *is_leader* (e.g. a `LeaderElector`'s) at each scrape."""
        self.leader.set_function(lambda: 1.0 if is_leader() else 0.0)

    def watch_postgres_pool(self, stats: Callable[[], PoolStats], *, pool: str = "rw") -> None:
        """Report a Postgres pool at each scrape (*pool*: ``rw`` for the primary, ``ro`` for a replica)."""
        self._sampled.pools[pool] = stats

    def watch_events_dropped(self, dropped: Callable[[], int]) -> None:
        """Report *dropped* (e.g. an `EventBus`'s ``dropped``) as ``events_dropped`` at each scrape."""
        self._sampled.events_dropped = dropped

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (`CONTENT_TYPE`)."""
        return exposition(self.registry.collect())


def _type_of(record: object) -> str:
    key = getattr(record, "key", None)
    return str(getattr(key, "type", "")) if key is not None else ""


class MeteredStore(kv.Store):
    """A `kv.Store` that times every operation into ``store`` and counts ``store_conflicts``.

    Everything is delegated to *store* (which may itself be a wrapper); errors pass through unchanged.
    """

    def __init__(self, store: kv.Store, metrics: Metrics) -> None:
        super().__init__(store.driver, catalog=store.catalog)
        self.inner = store
        self._histogram = metrics.store
        self._conflicts = metrics.store_conflicts

    @contextmanager
    def _timed(self, operation: str, resource_type: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._histogram.labels(operation, resource_type).observe(time.perf_counter() - start)

    def create(  # noqa: D102 - kv.Store documents it
        self,
        record: kv.Record,
        *,
        owner: kv.Key | None = None,
        creation_time: datetime | None = None,
        modification_time: datetime | None = None,
    ) -> kv.Record:
        resource_type = _type_of(record)
        with self._timed("create", resource_type):
            try:
                return self.inner.create(
                    record, owner=owner, creation_time=creation_time, modification_time=modification_time
                )
            except kv.AlreadyExists:
                self._conflicts.labels(resource_type).inc()
                raise

    def update(  # noqa: D102
        self,
        record: kv.Record,
        *,
        modification_time: datetime | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> kv.Record:
        resource_type = _type_of(record)
        with self._timed("update", resource_type):
            try:
                return self.inner.update(record, modification_time=modification_time, labels=labels)
            except kv.Conflict:
                self._conflicts.labels(resource_type).inc()
                raise

    def delete(self, type: str, mesh: str, name: str, *, version: str | None = None) -> None:  # noqa: D102
        with self._timed("delete", str(type)):
            self.inner.delete(type, mesh, name, version=version)

    def get(  # noqa: D102
        self, type: str, mesh: str, name: str, *, version: str | None = None, consistent: bool = False
    ) -> kv.Record:
        with self._timed("get", str(type)):
            return self.inner.get(type, mesh, name, version=version, consistent=consistent)

    def list(self, type: str, **query: Any) -> kv.Page:  # noqa: D102 - filters as kv.Store.list's
        with self._timed("list", str(type)):
            return self.inner.list(type, **query)

    def transaction(self) -> AbstractContextManager[None]:  # noqa: D102
        return self.inner.transaction()

    def subscribe(self, *, buffer: int = 100) -> kv.Subscription:  # noqa: D102
        return self.inner.subscribe(buffer=buffer)

    def close(self) -> None:  # noqa: D102
        self.inner.close()
