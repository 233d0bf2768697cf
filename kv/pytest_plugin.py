"""The ``kv`` pytest plugin (registered through the ``pytest11`` entry point).

Installing kuma-store gives every test suite:

- a ``kv_store`` fixture: a fresh in-memory `kv.Store` per test;
- `ConformanceTests`: subclass it and override ``kv_store_factory`` to run the whole conformance kit
  (every check, the state machine, concurrent CAS) against your own driver::

      class TestMyDriver(ConformanceTests):
          @pytest.fixture
          def kv_store_factory(self):
              return lambda: kv.Store(MyDriver(), catalog=kv.testing.Types().catalog())
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("kv.testing")

from kv import testing  # noqa: E402 - after register_assert_rewrite, so its asserts explain themselves
from kv.drivers.memory import MemoryDriver  # noqa: E402
from kv.store import Store  # noqa: E402

__all__ = ["ConformanceTests", "kv_store", "kv_store_factory"]


def _memory_store() -> Store:
    return Store(MemoryDriver(), catalog=testing.Types().catalog())


@pytest.fixture
def kv_store_factory() -> testing.StoreFactory:
    """Makes fresh, empty stores: memory by default; override it to test another driver."""
    return _memory_store


@pytest.fixture
def kv_store_types() -> testing.Types:
    """The record types the conformance kit uses; override it for a driver with fixed types."""
    return testing.Types()


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
