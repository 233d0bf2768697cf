"""Opening the store ``store.type`` names, as ``kuma-cp run`` and ``kuma-cp migrate up`` need it."""

from __future__ import annotations

import logging

import kv
from kuma_cp import resources
from kuma_cp.config import Config
from kuma_cp.pgconfig import PostgresStoreConfig, libpq_params, replica_params

__all__ = ["MEMORY_WARNING", "SetupError", "migrate", "open_store"]

log = logging.getLogger("kuma-cp.run")

MEMORY_WARNING = (
    "kuma-cp runs with an in-memory database and its state isn't preserved between restarts. "
    "Keep in mind that an in-memory database cannot be used with multiple instances of the control plane."
)


class SetupError(Exception):
    """The control plane cannot start; the message says why (never with a password)."""


def _pool_options(pg: PostgresStoreConfig) -> dict[str, float | int]:
    return {
        "max_open_connections": pg.max_open_connections,
        "min_open_connections": pg.min_open_connections,
        "max_idle_connections": pg.max_idle_connections,
        "max_connection_lifetime": pg.max_connection_lifetime.total_seconds(),
        "max_connection_lifetime_jitter": pg.max_connection_lifetime_jitter.total_seconds(),
        "max_connection_idle_time": pg.max_connection_idle_time.total_seconds(),
        "health_check_interval": pg.health_check_interval.total_seconds(),
    }


def _open_postgres(pg: PostgresStoreConfig) -> kv.Store:
    from kuma_cp import migrate as migrations  # imported here: only the postgres store needs it
    from kv.drivers.postgres import PostgresDriver, create_engine

    params = libpq_params(pg)
    gate = create_engine(params, max_open_connections=1)
    try:
        migrations.check_migrated(gate, tolerate_newer=pg.tolerate_newer_db_versions)
    except migrations.MigrationError as exc:
        raise SetupError(str(exc)) from None
    finally:
        gate.dispose()
    try:
        driver = PostgresDriver.from_url(
            params,
            replica_url=replica_params(pg),
            replica_ratio=pg.read_replica.ratio,
            **_pool_options(pg),
        )
    except kv.KVError as exc:
        raise SetupError(f"could not connect to postgres: {exc}") from None
    return kv.Store(driver, catalog=resources.catalog())


def open_store(config: Config) -> kv.Store:
    """Open the store ``store.type`` names; a Postgres database must pass the migration gate first."""
    kind = config.store.type
    if kind == "memory":
        log.warning(MEMORY_WARNING)
        return kv.open("memory://", catalog=resources.catalog())
    if kind == "postgres":
        return _open_postgres(config.store.postgres)
    return _open_kubernetes(config)


def _open_kubernetes(config: Config) -> kv.Store:
    """The Kubernetes store, checked before anything starts: configuration, server, CRDs, namespace."""
    from kuma_cp.crds import kinds  # only for the kubernetes store
    from kv.drivers.k8s import KubernetesDriver

    k8s = config.runtime.kubernetes
    try:
        driver = KubernetesDriver.from_url(
            kinds=kinds(),
            system_namespace=config.store.kubernetes.system_namespace,
            annotation_labels=resources.ANNOTATION_LABELS,
            qps=k8s.client_config.qps,
            burst=k8s.client_config.burst_qps,
            # Kuma's skipMeshOwnerReference: resources of a Mesh are not its dependents, so a garbage
            # collector (or Argo CD) deleting the Mesh leaves them alone.
            skip_owner_references=frozenset({"Mesh"}) if k8s.skip_mesh_owner_reference else frozenset(),
        )
    except (kv.KVError, ValueError) as exc:
        raise SetupError(f"could not configure the Kubernetes client: {_reason(exc)}") from None
    try:
        driver.check()  # reachable, the CRDs installed, the system namespace there: one line if not
    except kv.KVError as exc:
        driver.close()
        raise SetupError(_reason(exc)) from None  # each names the API server, and what is missing
    return kv.Store(driver, catalog=resources.catalog())


def _reason(exc: Exception) -> str:
    """*exc*'s message on one line, without kv's ``invalid:`` prefix (a start-up error is no request's)."""
    text = exc.reason if isinstance(exc, kv.Invalid) else str(exc)
    return " ".join(text.split())


def migrate(config: Config) -> tuple[int, bool]:
    """``kuma-cp migrate up``: migrate the configured Postgres database; (version, already migrated)."""
    kind = config.store.type
    if kind == "memory":
        raise SetupError("migrations are not supported for Memory resource store")
    if kind == "kubernetes":
        raise SetupError("migrations are not supported for Kubernetes resource store")
    from kuma_cp import migrate as migrations  # imported here: only the postgres store needs it
    from kv.drivers.postgres import create_engine

    pg = config.store.postgres
    engine = create_engine(libpq_params(pg), max_open_connections=1)
    try:
        return migrations.migrate_up(engine, tolerate_newer=pg.tolerate_newer_db_versions)
    except migrations.MigrationError as exc:
        raise SetupError(str(exc)) from None
    finally:
        engine.dispose()
