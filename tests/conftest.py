"""Shared fixtures: Hypothesis profiles and the backends every conformance test runs on.

A backend joins the suite by adding an entry to ``BACKENDS`` (a factory of fresh, empty stores);
nothing else changes. The summary at the end of the run names every backend and whether it ran.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

import kv
from kv.drivers.memory import MemoryDriver
from kv.testing import StoreFactory, Types

if TYPE_CHECKING:
    pass

settings.register_profile(
    "ci",
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=50, stateful_step_count=20, deadline=None)
# By hand (scripts/soak): ten times CI's examples, longer state-machine runs.
settings.register_profile(
    "soak", parent=settings.get_profile("ci"), max_examples=2000, stateful_step_count=50
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

GENERIC = Types()


def _memory(types: Types) -> StoreFactory:
    def memory() -> kv.Store:
        return kv.Store(MemoryDriver(), catalog=types.catalog())

    return memory


_SHARED: dict[str, Any] = {}  # one driver per backend for the whole session, closed at its end


def pg_dsn() -> str:
    """The test server's DSN (scripts/test starts one), or skip."""
    dsn = os.environ.get("KUMA_TEST_PG_DSN")
    if not dsn:
        pytest.skip("no PostgreSQL server: set KUMA_TEST_PG_DSN (scripts/test starts one)")
    return dsn


def _postgres(types: Types) -> StoreFactory:
    if "postgres" not in _SHARED:
        from kuma_cp import migrate
        from kv.drivers.postgres import PostgresDriver, create_engine

        dsn = pg_dsn()
        admin = create_engine(dsn, max_open_connections=2)
        migrate.migrate_up(admin)
        _SHARED["postgres"] = (PostgresDriver.from_url(dsn, max_open_connections=20), admin)
    driver, admin = _SHARED["postgres"]

    def postgres() -> kv.Store:
        with admin.connect() as connection:
            connection.exec_driver_sql("DELETE FROM resources")
        return kv.Store(driver, catalog=types.catalog())

    return postgres


TEST_GROUP = "test.kv.kuma.io"


def until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll *condition* every 10 ms for up to *timeout* seconds; whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def k8s_kubeconfig() -> str:
    """The test API server's kubeconfig (scripts/test starts one), or skip."""
    kubeconfig = os.environ.get("KUMA_TEST_KUBECONFIG")
    if not kubeconfig:
        pytest.skip("no Kubernetes API server: set KUMA_TEST_KUBECONFIG (scripts/test starts one)")
    return kubeconfig


@contextmanager
def kube_client(kubeconfig: str) -> Iterator[Any]:
    """A kubernetes ``ApiClient`` for *kubeconfig*, closed on the way out."""
    from kubernetes import config

    api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    try:
        yield api
    finally:
        api.close()


def install_crds(kubeconfig: str, manifests: list[dict[str, Any]]) -> None:
    """Create CustomResourceDefinitions (existing ones are kept) and wait until they are served."""
    import time

    from kubernetes import client, utils

    with kube_client(kubeconfig) as api:
        for manifest in manifests:
            try:
                utils.create_from_dict(api, manifest)  # type: ignore[no-untyped-call]
            except utils.FailToCreateError as exc:
                if any(e.status != 409 for e in exc.api_exceptions):
                    raise
        extensions = client.ApiextensionsV1Api(api)
        for manifest in manifests:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                crd = extensions.read_custom_resource_definition(manifest["metadata"]["name"])
                conditions = (crd.status.conditions if crd.status else None) or []
                if any(c.type == "Established" and c.status == "True" for c in conditions):
                    break
                time.sleep(0.1)


def _kubernetes(types: Types) -> StoreFactory:
    from kv.drivers.k8s import Kind, KubernetesDriver, crd_manifest, provision

    kubeconfig = k8s_kubeconfig()
    if "kubernetes" not in _SHARED:
        scopes = {types.owner: False, types.item: True, types.with_status: True, types.secret: True}
        kinds = [
            Kind(type=t, plural=t.lower() + "s", mesh_scoped=m, layout="mesh-namespace", group=TEST_GROUP)
            for t, m in scopes.items()
        ]
        install_crds(kubeconfig, [crd_manifest(kind) for kind in kinds])
        driver = KubernetesDriver.from_url(kinds=kinds, kubeconfig=kubeconfig, system_namespace="kv-system")
        _SHARED["kubernetes"] = (driver, kinds)
    driver, kinds = _SHARED["kubernetes"]

    def kubernetes() -> kv.Store:
        provision.delete_objects(driver._call.api, kinds)  # a clean slate
        driver.refresh()  # deleted behind the driver's back: its cache learns of it now
        return kv.Store(driver, catalog=types.catalog())

    return kubernetes


# name -> (make a store factory for the given types, or raise pytest.skip.Exception with the reason)
BACKENDS: dict[str, Callable[[Types], StoreFactory]] = {
    "memory": _memory,
    "postgres": _postgres,
    "kubernetes": _kubernetes,
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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Any skipped test marked for a backend counts as that backend not tested."""
    if report.skipped:
        for name, mark in MARKS.items():
            if mark.name in report.keywords:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
                _SKIPPED.setdefault(name, reason)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if "postgres" in _SHARED:
        driver, admin = _SHARED.pop("postgres")
        driver.close()
        admin.dispose()
    if "kubernetes" in _SHARED:
        _SHARED.pop("kubernetes")[0].close()
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


def _pg_databases() -> Iterator[Callable[[], str]]:
    """Makes new, empty databases on the test server (their DSNs); all are dropped afterwards."""
    import psycopg  # only for Postgres tests
    from sqlalchemy.engine import make_url

    dsn = pg_dsn()
    made: list[str] = []

    def make() -> str:
        name = f"kv_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(dsn).set(database=name).render_as_string(hide_password=False)

    yield make
    with psycopg.connect(dsn, autocommit=True) as admin:
        for name in made:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


pg_databases = pytest.fixture(_pg_databases)
pg_module_databases = pytest.fixture(_pg_databases, scope="module", name="pg_module_databases")


@pytest.fixture
def pg_database(pg_databases: Callable[[], str]) -> str:
    """The DSN of a new, empty database on the test server, dropped afterwards."""
    return pg_databases()


def kuma_pg_store(dsn: str) -> kv.Store:
    """A store of Kuma's types on the database *dsn* names, migrated first (as ``kuma-cp migrate up``)."""
    from kuma_cp import migrate, resources
    from kv.drivers.postgres import PostgresDriver

    migrate.migrate_database(dsn)
    return kv.Store(PostgresDriver.from_url(dsn, max_open_connections=4), catalog=resources.catalog())
