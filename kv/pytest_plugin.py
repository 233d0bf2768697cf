"""The ``kv`` pytest plugin (registered through the ``pytest11`` entry point).

Installing kuma-store gives every test suite:

- a ``kv_store`` fixture: a fresh, empty `kv.Store` per test, on the backends chosen with
  ``--kv-backend=memory|postgres|kubernetes`` (repeatable, or ``all``) or ``KV_TEST_BACKENDS``
  (comma-separated); memory by default. A test using it runs once per backend, its id naming the backend
  (``test_x[postgres]``). Postgres is the server ``--kv-postgres-dsn`` names, else a throwaway server this
  session starts; Kubernetes is the cluster of ``--kv-kubeconfig``. Those two backends are provided by
  kuma-store's second plugin, ``kuma_cp.pytest_plugin`` (they need Kuma's schema and CRDs), which also
  gives ``kuma_store``: the same, on Kuma's resource types. Override ``kv_catalog`` to give ``kv_store``
  your application's record types;
- `ConformanceTests`: subclass it and override ``kv_store_factory`` to run the whole conformance kit
  (every check, the state machine, concurrent CAS) against your own driver::

      class TestMyDriver(ConformanceTests):
          @pytest.fixture
          def kv_store_factory(self):
              return lambda: kv.Store(MyDriver(), catalog=kv.testing.Types().catalog())
"""

from __future__ import annotations

import os

import pytest

pytest.register_assert_rewrite("kv.testing")

from kv import testing  # noqa: E402 - after register_assert_rewrite, so its asserts explain themselves
from kv.drivers.memory import MemoryDriver  # noqa: E402
from kv.model import Catalog  # noqa: E402
from kv.store import Store  # noqa: E402

__all__ = ["BACKENDS", "ConformanceTests", "chosen_backends", "kv_catalog", "kv_store", "kv_store_factory"]

BACKENDS = ("memory", "postgres", "kubernetes")
ENVIRONMENT = "KV_TEST_BACKENDS"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--kv-backend``, ``--kv-postgres-dsn`` and ``--kv-kubeconfig``."""
    group = parser.getgroup("kv", "kv stores (kuma-store)")
    group.addoption(
        "--kv-backend",
        action="append",
        default=[],
        choices=[*BACKENDS, "all"],
        help=f"backend of kv_store (repeatable; all = every one); default: ${ENVIRONMENT} or memory",
    )
    group.addoption(
        "--kv-postgres-dsn",
        default=os.environ.get("KV_TEST_POSTGRES_DSN"),
        help="PostgreSQL server for the postgres backend (a database per xdist worker is made on it);"
        " default: $KV_TEST_POSTGRES_DSN, else a throwaway server per session",
    )
    group.addoption(
        "--kv-kubeconfig",
        default=os.environ.get("KV_TEST_KUBECONFIG"),
        help="kubeconfig of the cluster for the kubernetes backend; default: $KV_TEST_KUBECONFIG",
    )


def chosen_backends(config: pytest.Config) -> list[str]:
    """The backends chosen by ``--kv-backend``, else ``KV_TEST_BACKENDS``, else memory; in a stable order."""
    wanted = list(config.getoption("--kv-backend")) or [
        part.strip() for part in os.environ.get(ENVIRONMENT, "").split(",") if part.strip()
    ]
    if not wanted:
        return ["memory"]
    if unknown := set(wanted) - {*BACKENDS, "all"}:
        raise pytest.UsageError(f"{ENVIRONMENT}: unknown backends {sorted(unknown)}; choose from {BACKENDS}")
    return [b for b in BACKENDS if b in wanted or "all" in wanted]


_CHOSEN = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Choose the backends once, refusing an unknown one in ``KV_TEST_BACKENDS`` before anything runs."""
    config.stash[_CHOSEN] = chosen_backends(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses a kv store once per chosen backend."""
    if "kv_backend" in metafunc.fixturenames:
        backends = metafunc.config.stash[_CHOSEN]
        metafunc.parametrize("kv_backend", backends, ids=backends, indirect=True)


@pytest.fixture
def kv_backend(request: pytest.FixtureRequest) -> str:
    """The backend this test runs on (``memory``, ``postgres`` or ``kubernetes``)."""
    return getattr(request, "param", "memory")


@pytest.fixture
def kv_store_types() -> testing.Types:
    """The record types of ``kv_store``'s catalog (those the conformance kit uses); override at will."""
    return testing.Types()


@pytest.fixture
def kv_catalog(kv_store_types: testing.Types) -> Catalog:
    """The catalog of ``kv_store``; override it with your application's.

    On Kubernetes each of its types becomes a CRD, installed once per session.
    """
    return kv_store_types.catalog()


@pytest.fixture
def kv_store_factory(
    kv_backend: str, kv_catalog: Catalog, request: pytest.FixtureRequest
) -> testing.StoreFactory:
    """Makes fresh, empty stores on this test's backend; override it to test another driver."""
    if kv_backend == "memory":
        return lambda: Store(MemoryDriver(), catalog=kv_catalog)
    factory: testing.StoreFactory = request.getfixturevalue(f"kv_{kv_backend}_factory")
    return factory


@pytest.fixture
def kv_store(kv_store_factory: testing.StoreFactory) -> Store:
    """A fresh, empty store for one test."""
    return kv_store_factory()


class ConformanceTests:
    """The conformance kit as pytest tests, for the store ``kv_store_factory`` makes."""

    @pytest.mark.parametrize("check", testing.CHECKS, ids=lambda c: c.name)
    def test_check(
        self,
        check: testing.Check,
        kv_store_factory: testing.StoreFactory,
        kv_store_types: testing.Types,
    ) -> None:
        """One obligation of the driver contract."""
        testing.run_check(check, kv_store_factory, kv_store_types)

    def test_agrees_with_the_model(
        self, kv_store_factory: testing.StoreFactory, kv_store_types: testing.Types
    ) -> None:
        """Random operations give the same results as a dict model."""
        testing.run_state_machine(kv_store_factory, kv_store_types)

    def test_concurrent_cas_loses_no_update(
        self, kv_store_factory: testing.StoreFactory, kv_store_types: testing.Types
    ) -> None:
        """Threads racing compare-and-set on one record lose no increment."""
        testing.check_concurrent_cas(kv_store_factory, kv_store_types)
