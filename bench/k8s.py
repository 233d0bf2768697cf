"""Section ``k8s``: the Kubernetes driver's watch cache against reading live from the API server.

On a real kube-apiserver (``scripts/kube-apiserver``: 1.20.2 on etcd, loopback), one kind shaped as Kuma's
Dataplane (namespaced, the mesh in a top-level ``mesh`` field) in an API group of the bench's own, the
same ~1.2 KB spec as the other sections. Three ways of doing each operation, one thread:

- **kv** (cached): ``kv.Store`` on the driver as it is: ``get`` and ``list(page_size=100)`` read the watch
  cache; ``create`` and ``update`` go to the API server, their answer applied to the cache.
- **live**: the same through the API server: ``get(consistent=True)``; for a page, what the driver did
  before the cache: a LIST of the kind, every object mapped to a record, sorted, sliced (``kv.Store``
  over that driver, so both sides pay the store's own work). Writes have no live variant.
- **raw**: the bare client, the "raw psycopg" of this section: ``get_namespaced_custom_object``,
  ``create_…``/``replace_…`` with the object the driver would write, and ``list_cluster_custom_object``
  of the kind for a page (the request alone; the client parses the JSON).

Pages of 100 out of 100, 1,000 and 5,000 records; get, create and update (held version, bumping a
counter) with the 5,000 records loaded. The issue's target: a page out of 5,000 costs at most 3x a page
out of 100. The driver runs without a client-side rate limit (kuma-cp's default is 100 requests/s),
so that the live and raw figures measure the server, not the limiter. The API server is a throwaway
one started here (and stopped at the end), or the one ``KUMA_TEST_KUBECONFIG`` names (the bench's
objects are deleted at the end).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, cast

import attrs
import urllib3
from kubernetes import client

import kv
from bench.common import ROOT, Op, Sample, dataplane_spec, fmt, one, ratio, run_threads, summary, table
from kuma_cp import resources
from kuma_cp.crds import kinds
from kv import codec
from kv.driver import Driver, Query, Row, page
from kv.drivers.k8s import KubernetesDriver, crd_manifest
from kv.drivers.k8s.connect import configure
from kv.drivers.k8s.mapping import Mapper

TYPE = "Dataplane"
GROUP = "bench.kv.kuma.io"
MESH = "bench"
PAGE = 100
SYSTEM = "kuma-system"
LABELS = {"team": "payments", "kuma.io/zone": "zone-1"}
LOAD_THREADS = 8
TIMEOUT = (5.0, 60.0)
WAYS = ("kv", "live", "raw")
Log = Callable[[str], None]


def _kind() -> Any:
    dataplane = next(k for k in kinds() if k.type == TYPE)
    return attrs.evolve(dataplane, group=GROUP)


KIND = _kind()


# --- the server -------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(log: Log) -> Iterator[str]:
    """A kubeconfig: ``KUMA_TEST_KUBECONFIG``'s, else a throwaway API server's (stopped on the way out)."""
    if kubeconfig := os.environ.get("KUMA_TEST_KUBECONFIG"):
        yield kubeconfig
        return
    log("k8s: starting a throwaway kube-apiserver with scripts/kube-apiserver")
    work = tempfile.mkdtemp(prefix="kv-bench-k8s-")
    script = str(ROOT / "scripts" / "kube-apiserver")
    try:
        started = subprocess.run(
            [script, "start", work], stdout=subprocess.PIPE, text=True, check=True, timeout=600
        )
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", work], check=False, timeout=60)


def server_info(kubeconfig: str) -> dict[str, str]:
    """The API server's version and the client library's."""
    import kubernetes

    api = client.ApiClient(configure(kubeconfig))
    try:
        version = cast(Any, client.VersionApi(api)).get_code().git_version
    finally:
        api.close()
    return {"server_version": str(version), "client": f"kubernetes (Python) {kubernetes.__version__}"}


def _install(api: client.ApiClient, namespace: str) -> None:
    """The bench kind's CRD (kept if there) and the namespace of its objects."""
    extensions: Any = client.ApiextensionsV1Api(api)
    manifest = crd_manifest(KIND)
    try:
        extensions.create_custom_resource_definition(manifest)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        crd = extensions.read_custom_resource_definition(f"{KIND.plural}.{GROUP}")
        if any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or []):
            break
        time.sleep(0.1)
    core: Any = client.CoreV1Api(api)
    with contextlib.suppress(client.ApiException):
        core.create_namespace({"metadata": {"name": namespace}})
    # the API server accepts objects of a new CRD a moment after it is Established
    deadline = time.monotonic() + 30
    custom: Any = client.CustomObjectsApi(api)
    while True:
        try:
            custom.list_namespaced_custom_object(GROUP, KIND.version, namespace, KIND.plural, limit=1)
            return
        except client.ApiException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- the three ways ---------------------------------------------------------------------------------


class _Raw:
    """The bare client, and the objects the driver would write."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.custom: Any = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.mapper = Mapper(SYSTEM, frozenset(resources.ANNOTATION_LABELS))

    def body(self, name: str, spec: dict[str, Any], version: str = "") -> dict[str, Any]:
        now = datetime.now(UTC)
        row = Row(
            key=kv.Key(TYPE, MESH, f"{name}.{self.namespace}"),
            spec=codec.encode("spec", spec),
            status="{}",
            labels=LABELS,
            creation_time=now,
            modification_time=now,
        )
        return self.mapper.body(KIND, row, version=version or None)

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = self.body(name, spec)
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, KIND.version, self.namespace, KIND.plural, body, _request_timeout=TIMEOUT
        )
        return created

    def get(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, KIND.version, self.namespace, KIND.plural, name, _request_timeout=TIMEOUT
        )
        return found

    def replace(self, obj: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        body = self.body(meta["name"], spec, meta["resourceVersion"])
        replaced: dict[str, Any] = self.custom.replace_namespaced_custom_object(
            GROUP, KIND.version, self.namespace, KIND.plural, meta["name"], body, _request_timeout=TIMEOUT
        )
        return replaced

    def list_all(self) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.list_cluster_custom_object(
            GROUP, KIND.version, KIND.plural, _request_timeout=TIMEOUT
        )
        return found


class _PreCache:
    """The driver as it listed before the watch cache: LIST the kind, map, sort, slice; else the driver."""

    def __init__(self, driver: KubernetesDriver, raw: _Raw) -> None:
        self._driver, self._raw = driver, raw

    def list(self, query: Query) -> tuple[Sequence[Row], int]:
        rows = [self._raw.mapper.row(KIND, obj) for obj in self._raw.list_all().get("items") or []]
        rows.sort(key=lambda r: (r.key.mesh, r.key.name))
        return page(rows, query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver, name)


def _load(raw: _Raw, start: int, end: int) -> None:
    """Create records *start*..*end*-1 with the bare client, a few threads at a time."""
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        for _ in pool.map(lambda i: raw.create(f"dp-{i:06d}", dataplane_spec(i)), range(start, end)):
            pass


def _until_cached(store: kv.Store, count: int) -> None:
    """Wait for the watch to deliver what was loaded behind the driver's back."""
    deadline = time.monotonic() + 60
    while store.list(TYPE, page_size=1).total < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the watch cache did not reach {count} records")
        time.sleep(0.05)


def _measure(
    ops: dict[str, Op], calls: dict[str, int], runs: int, warm: Sequence[str] | None = None
) -> dict[str, list[Sample]]:
    for way in ops if warm is None else warm:
        ops[way](0)  # warm: connections, the cache (live pages of thousands are warm already, and slow)
    samples: dict[str, list[Sample]] = {way: [] for way in ops}
    ways = list(ops)
    for rep in range(runs):
        for way in ways if rep % 2 == 0 else ways[::-1]:
            samples[way].append(run_threads(one(ops[way]), 1, calls[way]))
    return samples


def _row(op: str, records: int, samples: dict[str, list[Sample]]) -> dict[str, Any]:
    row: dict[str, Any] = {"op": op, "records": records}
    row |= {way: summary(s) for way, s in samples.items()}
    if "live" in samples:
        row["ratio_live_over_kv"] = ratio(samples["live"], samples["kv"])
        row["ratio_live_over_raw"] = ratio(samples["live"], samples["raw"])
    row["ratio_kv_over_raw"] = ratio(samples["kv"], samples["raw"])
    return row


def run(kubeconfig: str, *, quick: bool, runs: int, log: Log) -> dict[str, Any]:
    """Load the records, time the pages at each size, then get, create and update; *runs* times each."""
    sizes = (5, 10, 20) if quick else (100, 1000, 5000)
    n_ops = 5 if quick else 100
    n_cached = 20 if quick else 3000
    namespace = f"kv-bench-{os.getpid()}"
    api = client.ApiClient(configure(kubeconfig))
    _install(api, namespace)
    raw = _Raw(api, namespace)
    driver = KubernetesDriver.from_url(
        kinds=[KIND],
        kubeconfig=kubeconfig,
        system_namespace=SYSTEM,
        annotation_labels=resources.ANNOTATION_LABELS,
        qps=-1,
        timeout=TIMEOUT,
    )
    store = kv.Store(driver, catalog=resources.catalog())
    live = kv.Store(cast(Driver, _PreCache(driver, raw)), catalog=resources.catalog())
    rows: list[dict[str, Any]] = []
    loaded, load_seconds = 0, 0.0
    try:
        for size in sizes:
            started = time.monotonic()
            _load(raw, loaded, size)
            load_seconds += time.monotonic() - started
            loaded = size
            _until_cached(store, size)
            few = 1 if quick else max(1, min(10, 1000 // size))  # live pages: 10 of 100, 1 of 1,000 and 5,000
            ops: dict[str, Op] = {
                "kv": lambda i: store.list(TYPE, page_size=PAGE),
                "live": lambda i: live.list(TYPE, page_size=PAGE),
                "raw": lambda i: raw.list_all(),
            }
            calls = {"kv": 20 if quick else 300, "live": few, "raw": few}
            samples = _measure(ops, calls, runs, warm=("kv", "live", "raw") if size <= 100 else ("kv",))
            rows.append(_row(f"page of {PAGE}", size, samples))
            log(f"k8s: page out of {size} records done ({size / load_seconds:,.0f} creates/s loading)")
        names = [f"dp-{i:06d}.{namespace}" for i in range(loaded)]
        plain = [n.rsplit(".", 1)[0] for n in names]
        ops = {
            "kv": lambda i: store.get(TYPE, MESH, names[i * 7919 % len(names)]),
            "live": lambda i: store.get(TYPE, MESH, names[i * 7919 % len(names)], consistent=True),
            "raw": lambda i: raw.get(plain[i * 7919 % len(plain)]),
        }
        rows.append(_row("get", loaded, _measure(ops, {"kv": n_cached, "live": n_ops, "raw": n_ops}, runs)))
        tags = iter(range(1 << 30))  # fresh names for every timed run of create
        writes: dict[str, Callable[[], Op]] = {
            "kv": lambda: _kv_create(store, namespace, next(tags)),
            "raw": lambda: _raw_create(raw, next(tags)),
        }
        rows.append(_row("create", loaded, _measure_fresh(writes, n_ops, runs)))
        hot = {
            "kv": store.create(
                kv.Record(key=kv.Key(TYPE, MESH, f"hot-kv.{namespace}"), spec=dataplane_spec(), labels=LABELS)
            ),
            "raw": raw.create("hot-raw", dataplane_spec()),
        }
        ops = {"kv": _kv_update(store, hot["kv"]), "raw": _raw_update(raw, hot["raw"])}
        rows.append(_row("update", loaded, _measure(ops, {"kv": n_ops, "raw": n_ops}, runs)))
        log("k8s: get, create and update done")
    finally:
        driver.close()
        if os.environ.get("KUMA_TEST_KUBECONFIG") == kubeconfig:  # shared; a throwaway one just goes
            _clean(raw)
        api.close()
    pages = {r["records"]: r for r in rows if r["op"].startswith("page")}
    small, large = pages[sizes[0]], pages[sizes[-1]]
    growth = {way: large[way]["p50_us"]["median"] / small[way]["p50_us"]["median"] for way in ("kv", "live")}
    return {
        "page_size": PAGE,
        "sizes": list(sizes),
        "kind": f"{KIND.type} ({KIND.api_version}, {KIND.plural})",
        "client_rate_limit": "none (qps=-1)",
        "load_creates_per_s": round(loaded / load_seconds, 1),
        "rows": rows,
        "page_growth_small_to_large": growth,
        "target_page_growth": 3.0,
    }


def _clean(raw: _Raw) -> None:
    """Delete the bench's objects from a shared API server.

    The API server deletes a collection for at most its request timeout (60 s), so thousands may take
    a few calls. The namespace stays: a bare API server runs no namespace controller to finalize it.
    """
    args = (GROUP, KIND.version, raw.namespace, KIND.plural)
    for _ in range(10):
        with contextlib.suppress(client.ApiException, urllib3.exceptions.HTTPError):
            raw.custom.delete_collection_namespaced_custom_object(*args, _request_timeout=(5.0, 90.0))
        with contextlib.suppress(client.ApiException, urllib3.exceptions.HTTPError):
            if not raw.custom.list_namespaced_custom_object(*args, limit=1, _request_timeout=TIMEOUT)[
                "items"
            ]:
                return


def _kv_create(store: kv.Store, namespace: str, tag: int) -> Op:
    spec = dataplane_spec()
    return lambda i: store.create(
        kv.Record(key=kv.Key(TYPE, MESH, f"new-kv-{tag}-{i}.{namespace}"), spec=spec, labels=LABELS)
    )


def _raw_create(raw: _Raw, tag: int) -> Op:
    spec = dataplane_spec()
    return lambda i: raw.create(f"new-raw-{tag}-{i}", spec)


def _measure_fresh(makers: dict[str, Callable[[], Op]], calls: int, runs: int) -> dict[str, list[Sample]]:
    """As `_measure`, with a new operation (fresh names) for every timed run."""
    for make in makers.values():
        make()(0)
    samples: dict[str, list[Sample]] = {way: [] for way in makers}
    ways = list(makers)
    for rep in range(runs):
        for way in ways if rep % 2 == 0 else ways[::-1]:
            samples[way].append(run_threads(one(makers[way]()), 1, calls))
    return samples


def _kv_update(store: kv.Store, record: kv.Record) -> Op:
    held = {"r": record}

    def op(i: int) -> None:
        current = held["r"]
        spec = {**current.spec, "counter": current.spec["counter"] + 1}
        held["r"] = store.update(attrs.evolve(current, spec=spec))

    return op


def _raw_update(raw: _Raw, obj: dict[str, Any]) -> Op:
    held = {"o": obj}

    def op(i: int) -> None:
        current = held["o"]
        spec = {**current["spec"], "counter": current["spec"]["counter"] + 1}
        held["o"] = raw.replace(current, spec)

    return op


def _time(figures: dict[str, Any]) -> str:
    """p50 in µs or ms, whichever reads better."""
    us = figures["p50_us"]["median"]
    return f"{us / 1000:,.2f} ms" if us >= 1000 else f"{us:,.0f} µs"


def render(result: dict[str, Any]) -> str:
    """The section as a table, and the page growth against the target."""
    rows = []
    for r in result["rows"]:
        has_live = "live" in r
        rows.append(
            [
                r["op"],
                f"{r['records']:,}",
                fmt(r["kv"]["ops_per_s"]),
                fmt(r["live"]["ops_per_s"]) if has_live else "-",
                fmt(r["raw"]["ops_per_s"]),
                f"{_time(r['kv'])} / {_time(r['live']) if has_live else '-'} / {_time(r['raw'])}",
                fmt(r["ratio_live_over_kv"], 1) if has_live else "-",
                fmt(r["ratio_kv_over_raw"], 3 if has_live else 2),
                fmt(r["ratio_live_over_raw"], 2) if has_live else "-",
            ]
        )
    header = [
        "op",
        "records",
        "kv ops/s",
        "live ops/s",
        "raw ops/s",
        "p50 kv / live / raw",
        "live/kv",
        "kv/raw",
        "live/raw",
    ]
    title = (
        "Kubernetes: the driver's watch cache (kv) vs live through the API server vs the bare client (raw), "
        "1 thread (median [min, max] over runs)"
    )
    growth, sizes = result["page_growth_small_to_large"], result["sizes"]
    met = "met" if growth["kv"] <= result["target_page_growth"] else "NOT met"
    note = (
        f"page of {result['page_size']}, {sizes[-1]:,} vs {sizes[0]:,} records: "
        f"kv {growth['kv']:.2f}x the time "
        f"(target <= {result['target_page_growth']:g}x: {met}), live {growth['live']:.1f}x\n"
        f"kind {result['kind']}; client rate limit {result['client_rate_limit']}; "
        f"loaded at {result['load_creates_per_s']:,.0f} creates/s ({LOAD_THREADS} threads)\n"
    )
    return table(title, header, rows) + note
