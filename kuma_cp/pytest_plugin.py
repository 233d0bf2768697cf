"""kuma-store's second pytest plugin: ``kv_store``'s postgres and kubernetes backends, and ``kuma_store``.

kv's plugin (`kv.pytest_plugin`) chooses the backends; this one provides the two that need more than
kv: Kuma's SQL schema and Kuma's CRDs, both of which live in ``kuma_cp``.

- **postgres**: the server ``--kv-postgres-dsn`` names, else one throwaway server per session (per
  pytest-xdist worker: each worker is a session of its own), started with `kv.testing.pgserver`. A database
  per worker is created on it and migrated (``kuma-cp migrate up``), one pool serves every test, and each
  store starts empty: ``TRUNCATE resources`` before it (1 to 4 ms; a DELETE is faster but fires Kuma's
  NOTIFY per row, whose change events could reach the next test; a new database from a template, with a
  new pool, costs 70 to 220 ms; ``python -m bench --only fixture`` measures them).
- **kubernetes**: the cluster of ``--kv-kubeconfig``. The kinds' CRDs are installed once, under an API
  group of the worker's own (``<worker>.kv-test.kuma.io``), so that workers never meet; each test gets a
  namespace of its own as the store's system namespace (Secrets, ConfigMaps, leases), deleted after it;
  every custom object of the worker's kinds is deleted before each store (so a test never sees another's)
  and once more when the session ends (so a run leaves nothing behind).
- ``kuma_store`` / ``kuma_store_factory``: the same stores on Kuma's resource types (``kuma_cp``'s
  catalog; on Kubernetes, Kuma's kinds and CRDs with their schemas), on the same backends as ``kv_store``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import kv

if TYPE_CHECKING:  # kv.testing is imported by kv's plugin, after it asks pytest to rewrite its asserts
    from kv import testing

__all__ = ["kuma_store", "kuma_store_factory", "kv_kubernetes_factory", "kv_postgres_factory"]

StoreMaker = Callable[[kv.Catalog, str], kv.Store]  # (catalog, which kinds: "generic" or "kuma")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class _Borrowed:
    """A driver shared by the session's stores: a test closing its store does not close the pool."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver
        self.name = driver.name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._driver, attribute)

    def close(self) -> None:
        """Nothing: the session closes the driver."""


@pytest.fixture(scope="session")
def kv_postgres_dsn(request: pytest.FixtureRequest) -> Iterator[str]:
    """The DSN of this worker's migrated database (on ``--kv-postgres-dsn``'s server or a throwaway one)."""
    from kuma_cp import migrate
    from kv.drivers.postgres import create_engine
    from kv.testing import pgserver

    server = None
    root = request.config.getoption("--kv-postgres-dsn")
    if not root:
        try:
            # Not under pytest's temporary root: as root, the server runs as "postgres", which must reach it.
            server = pgserver.start(Path(tempfile.mkdtemp(prefix=f"kv-postgres-{_worker()}-")))
        except pgserver.ServerUnavailable as exc:
            pytest.fail(f"the postgres backend: {exc}", pytrace=False)
        root = server.dsn
    name = f"kv_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(root, max_open_connections=1)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        dsn = admin.url.set(database=name).render_as_string(hide_password=False)
        migrate.migrate_database(dsn)
        yield dsn
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def _kv_postgres(kv_postgres_dsn: str) -> Iterator[tuple[Any, Any]]:
    from kv.drivers.postgres import PostgresDriver, create_engine

    driver = PostgresDriver.from_url(kv_postgres_dsn, max_open_connections=20)
    admin = create_engine(kv_postgres_dsn, max_open_connections=1)
    yield driver, admin
    driver.close()
    admin.dispose()


def _postgres_maker(shared: tuple[Any, Any]) -> StoreMaker:
    driver, admin = shared

    def make(catalog: kv.Catalog, _: str) -> kv.Store:
        with admin.begin() as conn:  # row triggers do not fire: no stale change event reaches the test
            conn.exec_driver_sql("TRUNCATE resources")
        return kv.Store(_Borrowed(driver), catalog=catalog)

    return make


@pytest.fixture
def kv_postgres_factory(_kv_postgres: tuple[Any, Any], kv_catalog: kv.Catalog) -> testing.StoreFactory:
    """Makes empty stores of ``kv_catalog``'s types on this worker's Postgres database."""
    make = _postgres_maker(_kv_postgres)
    return lambda: make(kv_catalog, "generic")


class _Cluster:
    """This worker's view of the ``--kv-kubeconfig`` cluster: its API groups and installed CRDs."""

    def __init__(self, kubeconfig: str) -> None:
        from kv.drivers.k8s import provision

        self.kubeconfig, self.api = kubeconfig, provision.api_client(kubeconfig)
        self.installed: dict[tuple[str, str], Any] = {}  # (group, type) -> its Kind, CRD installed

    def kinds(self, catalog: kv.Catalog, which: str) -> list[Any]:
        import attrs

        from kv.drivers.k8s import Kind, provision

        if which == "kuma":
            from kuma_cp import crds

            group = f"{_worker()}.kuma-test.kuma.io".lower()
            kinds = [attrs.evolve(kind, group=group) for kind in crds.kinds()]
        else:
            group = f"{_worker()}.kv-test.kuma.io".lower()
            kinds = [
                Kind(
                    type=t.name,
                    plural=t.name.lower() + "s",
                    mesh_scoped=t.scope is kv.Scope.MESH,
                    layout="mesh-namespace",
                    group=group,
                )
                for t in catalog.types.values()
            ]
        missing = [k for k in kinds if (k.group, k.type) not in self.installed]
        if missing:  # free-form CRDs: the store validates what it writes
            provision.install_crds(self.api, missing)
            self.installed |= {(k.group, k.type): k for k in missing}
        return kinds


@pytest.fixture(scope="session")
def _kv_cluster(request: pytest.FixtureRequest) -> Iterator[_Cluster]:
    from kv.drivers.k8s import provision

    kubeconfig = request.config.getoption("--kv-kubeconfig")
    if not kubeconfig:
        pytest.fail("the kubernetes backend needs a cluster: --kv-kubeconfig FILE (or $KV_TEST_KUBECONFIG)",
                    pytrace=False)  # fmt: skip
    cluster = _Cluster(kubeconfig)
    yield cluster
    provision.delete_objects(cluster.api, cluster.installed.values())  # what the last test left
    cluster.api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def _kv_kubernetes(_kv_cluster: _Cluster) -> Iterator[StoreMaker]:
    from kv.drivers.k8s import KubernetesDriver, provision

    namespace = f"kv-test-{uuid.uuid4().hex[:10]}"
    provision.ensure_namespace(_kv_cluster.api, namespace)
    drivers: list[Any] = []

    def make(catalog: kv.Catalog, which: str) -> kv.Store:
        kinds = _kv_cluster.kinds(catalog, which)
        provision.delete_objects(_kv_cluster.api, kinds)
        driver = KubernetesDriver.from_url(
            kinds=kinds, kubeconfig=_kv_cluster.kubeconfig, system_namespace=namespace,
            annotation_labels=catalog.free_label_keys,
        )  # fmt: skip
        drivers.append(driver)
        return kv.Store(driver, catalog=catalog)

    yield make
    for driver in drivers:
        driver.close()
    provision.delete_namespace(_kv_cluster.api, namespace)  # and the native objects in it


@pytest.fixture
def kv_kubernetes_factory(_kv_kubernetes: StoreMaker, kv_catalog: kv.Catalog) -> testing.StoreFactory:
    """Makes empty stores of ``kv_catalog``'s types on the ``--kv-kubeconfig`` cluster."""
    return lambda: _kv_kubernetes(kv_catalog, "generic")


@pytest.fixture
def kuma_store_factory(kv_backend: str, request: pytest.FixtureRequest) -> testing.StoreFactory:
    """Makes empty stores of Kuma's resource types (``kuma_cp``'s catalog) on this test's backend."""
    from kuma_cp import resources

    catalog = resources.catalog()
    if kv_backend == "memory":
        return lambda: kv.open("memory://", catalog=catalog)
    if kv_backend == "postgres":
        make = _postgres_maker(request.getfixturevalue("_kv_postgres"))
    else:
        make = request.getfixturevalue("_kv_kubernetes")
    return lambda: make(catalog, "kuma")


@pytest.fixture
def kuma_store(kuma_store_factory: testing.StoreFactory) -> kv.Store:
    """A fresh, empty store of Kuma's resource types (Mesh, Dataplane, the policies…) for one test."""
    return kuma_store_factory()
