"""The Postgres store's configuration (``store.postgres``) and the libpq keywords it stands for.

Names, environment variables, defaults and validation messages are Go Kuma's
(``pkg/config/plugins/resources/postgres``). The connection is described as libpq keywords, one value
per key (`libpq_params`), never as a DSN string: the driver quotes each value itself, so a password
holding quotes, backslashes, ``@`` or ``:`` reaches the server exactly as written. The password is a
secret: the `repr` of a config and every validation message leave it out.

This module imports no database library; the Postgres driver and the migration runner turn the keywords
into a connection.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
from attrs import frozen

from kuma_cp.loader import ConfigError, section, setting

__all__ = [
    "DRIVER_NAMES",
    "TLS_MODES",
    "PostgresStoreConfig",
    "PostgresTLSConfig",
    "ReadReplicaConfig",
    "libpq_params",
    "replica_params",
    "validate_postgres",
]

DRIVER_NAMES = ("pgx",)
_MAX_PORT = 65535
TLS_MODES = {
    "disable": "disable",
    "verifyNone": "require",
    "verifyCa": "verify-ca",
    "verifyFull": "verify-full",
}
"""Kuma's TLS mode names and the libpq ``sslmode`` each one means."""


def _redacting_repr(config: Any) -> str:
    """The attrs-style repr of *config*, with every secret field shown as ``*****``."""
    parts = (
        f"{field.name}={'*****' if field.metadata.get('secret') else repr(getattr(config, field.name))}"
        for field in attrs.fields(type(config))
    )
    return f"{type(config).__name__}({', '.join(parts)})"


@frozen
class PostgresTLSConfig:
    """TLS between kuma-cp and Postgres (``store.postgres.tls``)."""

    mode: str = setting("mode", env="KUMA_STORE_POSTGRES_TLS_MODE", default="disable")
    """disable, as Kuma: the default database is on the loopback; use verifyFull across a network."""
    cert_path: str = setting("certPath", env="KUMA_STORE_POSTGRES_TLS_CERT_PATH", default="")
    """None, as Kuma: a client certificate only when the server asks for one (with keyPath)."""
    key_path: str = setting("keyPath", env="KUMA_STORE_POSTGRES_TLS_KEY_PATH", default="")
    """None, as Kuma: the client certificate's key, given together with certPath or not at all."""
    ca_path: str = setting("caPath", env="KUMA_STORE_POSTGRES_TLS_CA_PATH", default="")
    """None, as Kuma: only verifyCa and verifyFull check the server, and they require it."""
    disable_sslsni: bool = setting(
        "disableSSLSNI", env="KUMA_STORE_POSTGRES_TLS_DISABLE_SSLSNI", default=False
    )
    """Off, as libpq: the server name is sent, which proxies routing TLS by name need."""


@frozen
class ReadReplicaConfig:
    """A replica that serves some reads (``store.postgres.readReplica``)."""

    host: str = setting("host", env="KUMA_STORE_POSTGRES_READ_REPLICA_HOST", default="")
    """None, as Kuma: without a replica every query goes to the primary."""
    port: int = setting("port", env="KUMA_STORE_POSTGRES_READ_REPLICA_PORT", default=5432)
    """5432, as Kuma: Postgres's standard port, where a replica usually listens."""
    ratio: int = setting("ratio", env="KUMA_STORE_POSTGRES_READ_REPLICA_RATIO", default=100)
    """100, as Kuma: once a replica is named, every read that may go to it does (0-100)."""


@frozen
class PostgresStoreConfig:
    """The Postgres store (``store.postgres``); its repr never shows the password."""

    host: str = setting("host", env="KUMA_STORE_POSTGRES_HOST", default="127.0.0.1")
    """127.0.0.1, as Kuma: a database beside the control plane, reached without DNS."""
    port: int = setting("port", env="KUMA_STORE_POSTGRES_PORT", default=15432)
    """15432, as Kuma's development database: a default config never writes to a stray 5432 server."""
    user: str = setting("user", env="KUMA_STORE_POSTGRES_USER", default="kuma")
    """kuma, as Kuma's quick start; production sets its own."""
    password: str = setting("password", env="KUMA_STORE_POSTGRES_PASSWORD", default="kuma", secret=True)
    """kuma, as Kuma's quick start; a secret: logs and repr show ``*****``."""
    db_name: str = setting("dbName", env="KUMA_STORE_POSTGRES_DB_NAME", default="kuma")
    """kuma, as Kuma's quick start and Helm chart."""
    driver_name: str = setting("driverName", env="KUMA_STORE_POSTGRES_DRIVER_NAME", default="pgx")
    """pgx, the only driver Kuma still has; kept so Kuma files naming it load unchanged."""
    connection_timeout: int = setting(
        "connectionTimeout", env="KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT", default=5
    )
    """5 seconds, as Kuma (libpq's connect_timeout): an unreachable database fails startup quickly."""
    max_connection_idle_time: timedelta = setting(
        "maxConnectionIdleTime",
        env="KUMA_STORE_POSTGRES_MAX_CONNECTION_IDLE_TIME",
        default=timedelta(minutes=30),
    )
    """30m, pgxpool's default as Kuma: idle connections close before firewalls silently drop them."""
    max_connection_lifetime: timedelta = setting(
        "maxConnectionLifetime", env="KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME", default=timedelta(hours=1)
    )
    """1h, pgxpool's default as Kuma: connections are renewed, so a failover is eventually followed."""
    max_connection_lifetime_jitter: timedelta = setting(
        "maxConnectionLifetimeJitter",
        env="KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME_JITTER",
        default=timedelta(minutes=1),
    )
    """1m, as Kuma: lifetimes end spread out, so the pool is never emptied all at once."""
    health_check_interval: timedelta = setting(
        "healthCheckInterval", env="KUMA_STORE_POSTGRES_HEALTH_CHECK_INTERVAL", default=timedelta(seconds=30)
    )
    """30s, as Kuma: broken idle connections are found before a request picks one up."""
    min_open_connections: int = setting(
        "minOpenConnections", env="KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS", default=0
    )
    """0, as Kuma: an idle control plane holds no connections open."""
    max_open_connections: int = setting(
        "maxOpenConnections", env="KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS", default=50
    )
    """50, as Kuma: well under Postgres's default max_connections of 100; 0 means unlimited."""
    max_idle_connections: int = setting(
        "maxIdleConnections", env="KUMA_STORE_POSTGRES_MAX_IDLE_CONNECTIONS", default=50
    )
    """50, as Kuma, the open-connection cap; only for plain connections (migrations, leader lock)."""
    max_list_query_elements: int = setting(
        "maxListQueryElements", env="KUMA_STORE_POSTGRES_MAX_LIST_QUERY_ELEMENTS", default=0
    )
    """0, as Kuma: a list by keys reads the whole type; n > 0 filters in SQL below n keys."""
    tolerate_newer_db_versions: bool = setting(
        "tolerateNewerDBVersions", env="KUMA_STORE_POSTGRES_TOLERATE_NEWER_DB_VERSIONS", default=False
    )
    """Off, as Kuma: a schema newer than the binary is refused; on only for compatible blue/green upgrades."""
    tls: PostgresTLSConfig = section("tls", PostgresTLSConfig)
    read_replica: ReadReplicaConfig = section("readReplica", ReadReplicaConfig)

    def __repr__(self) -> str:
        return _redacting_repr(self)


def _validate_tls(tls: PostgresTLSConfig) -> str | None:
    if tls.mode not in TLS_MODES:
        return f"invalid mode: {tls.mode}"
    if tls.mode in ("verifyCa", "verifyFull") and not tls.ca_path:
        return "CAPath cannot be empty"
    if tls.cert_path and not tls.key_path:
        return "KeyPath cannot be empty when CertPath is provided"
    if tls.key_path and not tls.cert_path:
        return "CertPath cannot be empty when KeyPath is provided"
    return None


def validate_postgres(pg: PostgresStoreConfig) -> str | None:
    """Kuma's first complaint about *pg* (without the ``Postgres validation failed`` prefix), or None.

    Kuma's checks, in Kuma's order, with one difference: ``minOpenConnections`` may exceed
    ``maxOpenConnections`` when the latter is 0, which means unlimited. Beyond Kuma, values no
    connection can use are refused too (a port above 65535, a negative timeout, idle time or
    connection count, a replica port out of range), with messages in Kuma's style. The driver name,
    which Kuma checks only when it opens the store, is checked here too, and last. No message
    carries a value of the password.
    """
    checks: list[tuple[bool, str]] = [
        (not pg.host, "Host should not be empty"),
        (pg.port < 0, "Port cannot be negative"),
        (pg.port > _MAX_PORT, f"Port cannot be greater than {_MAX_PORT}"),
        (not pg.user, "User should not be empty"),
        (not pg.password, "Password should not be empty"),
        (not pg.db_name, "DbName should not be empty"),
    ]
    for failed, message in checks:
        if failed:
            return message
    if (tls_problem := _validate_tls(pg.tls)) is not None:
        return f"TLS validation failed: {tls_problem}"
    zero = timedelta(0)
    lifetime, jitter = pg.max_connection_lifetime, pg.max_connection_lifetime_jitter
    checks = [
        (pg.min_open_connections < 0, "MinOpenConnections should be greater than 0"),
        (
            0 < pg.max_open_connections < pg.min_open_connections,
            "MinOpenConnections should be less than MaxOpenConnections",
        ),
        (lifetime < zero, "MaxConnectionLifetime should be greater than 0"),
        (jitter < zero, "MaxConnectionLifetimeJitter should be greater than 0"),
        (jitter > lifetime, "MaxConnectionLifetimeJitter should be less than MaxConnectionLifetime"),
        (pg.health_check_interval < zero, "HealthCheckInterval should be greater than 0"),
        (pg.max_connection_idle_time < zero, "MaxConnectionIdleTime should be greater than 0"),
        (pg.connection_timeout < 0, "ConnectionTimeout cannot be negative"),
        (pg.max_open_connections < 0, "MaxOpenConnections cannot be negative"),
        (pg.max_idle_connections < 0, "MaxIdleConnections cannot be negative"),
        (pg.max_list_query_elements < 0, "MaxListQueryElements cannot be negative"),
        (
            not 0 <= pg.read_replica.ratio <= 100,
            "ReadReplica validation failed: .Ratio out of [0-100] range",
        ),
        (
            not 0 <= pg.read_replica.port <= _MAX_PORT,
            f"ReadReplica validation failed: .Port must be in the range [0, {_MAX_PORT}]",
        ),
        (pg.driver_name not in DRIVER_NAMES, f"unknown driver name {pg.driver_name}"),
    ]
    return next((message for failed, message in checks if failed), None)


def libpq_params(pg: PostgresStoreConfig) -> dict[str, str]:
    """The libpq connection keywords for the primary, each value exactly as configured.

    Pass them as keywords (``psycopg.connect(**params)``, ``make_conninfo(**params)``); the driver
    quotes them. The TLS files are included only when set, ``sslsni=0`` only when SNI is disabled.
    """
    try:
        sslmode = TLS_MODES[pg.tls.mode]
    except KeyError:
        raise ConfigError(f'could not translate mode "{pg.tls.mode}" to postgres mode') from None
    params = {
        "host": pg.host,
        "port": str(pg.port),
        "user": pg.user,
        "password": pg.password,
        "dbname": pg.db_name,
        "connect_timeout": str(pg.connection_timeout),
        "sslmode": sslmode,
    }
    for key, value in (
        ("sslcert", pg.tls.cert_path),
        ("sslkey", pg.tls.key_path),
        ("sslrootcert", pg.tls.ca_path),
    ):
        if value:
            params[key] = value
    if pg.tls.disable_sslsni:
        params["sslsni"] = "0"
    return params


def replica_params(pg: PostgresStoreConfig) -> dict[str, str] | None:
    """The libpq keywords for the read replica (the primary's, at the replica's host and port), or None."""
    if not pg.read_replica.host:
        return None
    return libpq_params(attrs.evolve(pg, host=pg.read_replica.host, port=pg.read_replica.port))
