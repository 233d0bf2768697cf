"""The ``kv`` pytest plugin, as a user's test suite meets it (through pytester, in a fresh session)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

BROKEN_DRIVER = """
import kv, pytest
from kv import testing
from kv.drivers.memory import MemoryDriver
from kv.pytest_plugin import ConformanceTests


class ForgetfulDriver(MemoryDriver):
    def update(self, key, **kw):  # ignores the version: last writer wins
        kw["expected"] = self._find(key).version if self._find(key) else kw["expected"]
        return super().update(key, **kw)


class TestForgetful(ConformanceTests):
    @pytest.fixture
    def kv_store_factory(self):
        return lambda: kv.Store(ForgetfulDriver(), catalog=testing.Types().catalog())
"""


def test_kv_store_fixture_gives_a_fresh_memory_store_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import kv

        def test_one(kv_store):
            kv_store.create(kv.Record(key=kv.Key("Widget", "default", "w")))
            assert kv_store.list("Widget").total == 1

        def test_two(kv_store):
            assert kv_store.list("Widget").total == 0
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_conformance_tests_pass_a_correct_driver(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import kv, pytest
        from kv import testing
        from kv.drivers.memory import MemoryDriver
        from kv.pytest_plugin import ConformanceTests

        class TestMine(ConformanceTests):
            @pytest.fixture
            def kv_store_factory(self):
                return lambda: kv.Store(MemoryDriver(), catalog=testing.Types().catalog())
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    from kv.testing import CHECKS

    result.assert_outcomes(passed=len(CHECKS) + 2)


def test_conformance_tests_fail_a_broken_driver(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(BROKEN_DRIVER)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 2, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(
        ["*test_agrees_with_the_model*", "*a_stale_update_is_a_conflict*"], consecutive=False
    )


def test_the_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--trace-config", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*kv*kv/pytest_plugin.py*"])
