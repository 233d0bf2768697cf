"""Shared fixtures: Hypothesis profiles and the backends every conformance test runs on.

A backend joins the suite by adding an entry to ``BACKENDS`` (a factory of fresh, empty stores);
nothing else changes. The summary at the end of the run names every backend and whether it ran.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings

import kv
from kv.drivers.memory import MemoryDriver
from kv.testing import StoreFactory, Types

settings.register_profile(
    "ci",
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=50, stateful_step_count=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

GENERIC = Types()


def _memory(types: Types) -> StoreFactory:
    def memory() -> kv.Store:
        return kv.Store(MemoryDriver(), catalog=types.catalog())

    return memory


def _not_yet(issue: str) -> Callable[[Types], StoreFactory]:
    def unavailable(types: Types) -> StoreFactory:
        pytest.skip(f"driver not implemented yet ({issue})")

    return unavailable


# name -> (make a store factory for the given types, or raise pytest.skip.Exception with the reason)
BACKENDS: dict[str, Callable[[Types], StoreFactory]] = {
    "memory": _memory,
    "postgres": _not_yet("issue 4"),
    "kubernetes": _not_yet("issue 6"),
}
MARKS = {"postgres": pytest.mark.postgres, "kubernetes": pytest.mark.k8s}
# Backends that must run: a skip of one of these fails the session (scripts/test sets it).
REQUIRED = {name for name in os.environ.get("KUMA_TEST_REQUIRE_BACKENDS", "").split(",") if name}
_RAN: dict[str, int] = {}
_SKIPPED: dict[str, str] = {}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def store_factory(backend: str) -> StoreFactory:
    """Makes fresh, empty stores of the backend under test, with the generic test types."""
    try:
        factory = BACKENDS[backend](GENERIC)
    except pytest.skip.Exception as exc:
        _SKIPPED[backend] = str(exc)
        raise
    _RAN[backend] = _RAN.get(backend, 0) + 1
    return factory


def pytest_report_header(config: pytest.Config) -> str:
    return f"kv backends: {', '.join(BACKENDS)}; hypothesis profile: {settings._current_profile}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRED & _SKIPPED.keys() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RAN and not _SKIPPED:
        return  # no backend test was selected
    terminalreporter.section("kv backends")
    for name in BACKENDS:
        if name in _SKIPPED:
            required = " (REQUIRED: this fails the run)" if name in REQUIRED else ""
            line = f"!!! {name}: SKIPPED, NOT TESTED{required}: {_SKIPPED[name]}"
            terminalreporter.write_line(line, red=True, bold=True)
        else:
            terminalreporter.write_line(f"{name}: {_RAN.get(name, 0)} backend tests ran on it", green=True)
