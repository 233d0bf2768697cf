"""Configuration: Kuma's names, defaults, precedence and messages."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from kuma_cp.config import ConfigError, PostgresStoreConfig, load
from kuma_cp.loader import parse_duration, redacted
from kuma_cp.pgconfig import PostgresTLSConfig, ReadReplicaConfig, libpq_params, replica_params


def test_defaults_are_kumas() -> None:
    config = load(environ={})
    assert config.store.type == "memory"
    assert config.store.kubernetes.system_namespace == "kuma-system"
    assert (config.store.cache.enabled, config.store.cache.expiration_time) == (True, timedelta(seconds=1))
    upsert = config.store.upsert
    assert (upsert.conflict_retry_base_backoff, upsert.conflict_retry_max_times) == (
        timedelta(milliseconds=200),
        10,
    )
    assert upsert.conflict_retry_jitter_percent == 30
    assert config.store.unsafe_delete is False


def test_yaml_then_environment_win_over_defaults(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text("store:\n  type: kubernetes\n  cache:\n    expirationTime: 5s\n  unknownKey: ignored\n")
    config = load(config_file=str(path), environ={})
    assert (config.store.type, config.store.cache.expiration_time) == ("kubernetes", timedelta(seconds=5))
    config = load(
        config_file=str(path), environ={"KUMA_STORE_TYPE": "memory", "KUMA_STORE_CACHE_ENABLED": "false"}
    )
    assert (config.store.type, config.store.cache.enabled) == ("memory", False)


def test_a_bad_store_type_gets_kumas_message() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ={"KUMA_STORE_TYPE": "mysql"})
    assert str(caught.value) == (
        "configuration validation failed: Store validation failed: "
        "Type should be either postgres, kubernetes or memory"
    )


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"KUMA_STORE_CACHE_ENABLED": "yes"}, "KUMA_STORE_CACHE_ENABLED: want true or false"),
        ({"KUMA_STORE_CACHE_EXPIRATION_TIME": "soon"}, 'time: invalid duration "soon"'),
        ({"KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES": "ten"}, "KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES"),
        ({"KUMA_STORE_UPSERT_CONFLICT_RETRY_BASE_BACKOFF": "-1s"}, "RetryBaseBackoff cannot be lower than 0"),
        ({"KUMA_STORE_TYPE": "kubernetes", "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE": ""}, "SystemNamespace"),
    ],
)
def test_bad_environment_values_are_named(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        load(environ=env)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("store: [unclosed", "parsing configuration from file"),
        ("- a list", "not a YAML mapping"),
        ("store: 3", "want a mapping"),
        ("store:\n  cache:\n    enabled: maybe\n", "store.cache.enabled: want true or false"),
        (
            "store:\n  type: mysql\n",
            "parsing configuration from file '.*' failed: configuration validation failed",
        ),
    ],
)
def test_bad_yaml_is_a_clear_error(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        load(config_file=str(path), environ={})


def test_a_missing_file_is_named() -> None:
    with pytest.raises(ConfigError, match=r"unable to access configuration file '/no/such\.yaml'"):
        load(config_file="/no/such.yaml", environ={})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("200ms", 0.2), ("1h30m", 5400), ("1.5m", 90), ("0", 0), ("-2s", -2), ("10us", 1e-5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "1", "s", "1d", "1 s", "1s2"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_redacted_config_is_yaml_shaped() -> None:
    shown = redacted(load(environ={}))
    assert shown["store"]["type"] == "memory"
    assert shown["store"]["cache"] == {"enabled": True, "expirationTime": "1s"}
    assert shown["store"]["upsert"]["conflictRetryBaseBackoff"] == "200ms"


# --- runtime.kubernetes -----------------------------------------------------------------------------------

K8S = {"KUMA_STORE_TYPE": "kubernetes"}
K8S_CHAIN = "configuration validation failed: Runtime validation failed: Kubernetes validation failed: "


def test_kubernetes_runtime_defaults_are_kumas() -> None:
    k8s = load(environ={}).runtime.kubernetes
    election = k8s.leader_election
    assert (election.lease_duration, election.renew_deadline) == (
        timedelta(seconds=15),
        timedelta(seconds=10),
    )
    assert (k8s.client_config.qps, k8s.client_config.burst_qps) == (100, 100)
    assert k8s.skip_mesh_owner_reference is False


def test_kubernetes_runtime_yaml_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text(  # the keys of Kuma's own loader test (pkg/config/loader_test.go)
        "runtime:\n  kubernetes:\n    clientConfig:\n      qps: 50\n      burstQps: 60\n"
        "    leaderElection:\n      leaseDuration: 199s\n      renewDeadline: 99s\n"
        "    skipMeshOwnerReference: true\n"
    )
    k8s = load(config_file=str(path), environ=K8S).runtime.kubernetes
    assert (k8s.client_config.qps, k8s.client_config.burst_qps) == (50, 60)
    assert k8s.leader_election.lease_duration == timedelta(seconds=199)
    assert k8s.leader_election.renew_deadline == timedelta(seconds=99)
    assert k8s.skip_mesh_owner_reference is True
    env = K8S | {
        "KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_LEASE_DURATION": "1m",
        "KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE": "30s",
        "KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_QPS": "0",
        "KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_BURST_QPS": "0",
        "KUMA_RUNTIME_KUBERNETES_SKIP_MESH_OWNER_REFERENCE": "false",
    }
    k8s = load(config_file=str(path), environ=env).runtime.kubernetes
    assert (k8s.leader_election.lease_duration, k8s.leader_election.renew_deadline) == (
        timedelta(minutes=1),
        timedelta(seconds=30),
    )
    assert (k8s.client_config.qps, k8s.client_config.burst_qps, k8s.skip_mesh_owner_reference) == (
        0,
        0,
        False,
    )
    assert redacted(load(environ=env))["runtime"]["kubernetes"]["leaderElection"]["leaseDuration"] == "1m0s"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_LEASE_DURATION": "10s"},
            ".LeaderElection is not valid: leaseDuration must be greater than renewDeadline",
        ),
        (
            {"KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_LEASE_DURATION": "0"},
            ".LeaderElection is not valid: leaseDuration must be greater than renewDeadline",
        ),
        (
            {"KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE": "2400ms"},
            ".LeaderElection is not valid: "
            "renewDeadline must be greater than retryPeriod*JitterFactor (2.4s)",
        ),
        (
            {"KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_QPS": "-1"},
            ".ClientConfig is not valid: .Qps cannot be negative",
        ),
        (
            {"KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_BURST_QPS": "-5"},
            ".ClientConfig is not valid: .BurstQps cannot be negative",
        ),
    ],
)
def test_kubernetes_runtime_validation(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ=K8S | env)
    assert str(caught.value) == K8S_CHAIN + message


def test_kubernetes_runtime_is_validated_only_for_the_kubernetes_store() -> None:
    env = {
        "KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_QPS": "-1",
        "KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE": "1s",
    }
    assert load(environ=env).runtime.kubernetes.client_config.qps == -1
    renew = {"KUMA_RUNTIME_KUBERNETES_LEADER_ELECTION_RENEW_DEADLINE": "2401ms"}
    election = load(environ=K8S | renew).runtime.kubernetes.leader_election
    assert election.renew_deadline == timedelta(milliseconds=2401)
    with pytest.raises(ConfigError, match="Runtime validation failed"):
        load(environ=K8S | env)


# --- store.postgres ---------------------------------------------------------------------------------------

PASSWORD = "p@ss:w/o'rd\\%"
POSTGRES = {"KUMA_STORE_TYPE": "postgres"}
CHAIN = "configuration validation failed: Store validation failed: Postgres validation failed: "


def test_postgres_defaults_are_kumas() -> None:
    pg = load(environ={}).store.postgres
    assert (pg.host, pg.port, pg.user, pg.password, pg.db_name) == (
        "127.0.0.1",
        15432,
        "kuma",
        "kuma",
        "kuma",
    )
    assert (pg.driver_name, pg.connection_timeout) == ("pgx", 5)
    assert pg.max_connection_idle_time == timedelta(minutes=30)
    assert pg.max_connection_lifetime == timedelta(hours=1)
    assert pg.max_connection_lifetime_jitter == timedelta(minutes=1)
    assert pg.health_check_interval == timedelta(seconds=30)
    assert (pg.min_open_connections, pg.max_open_connections, pg.max_idle_connections) == (0, 50, 50)
    assert (pg.max_list_query_elements, pg.tolerate_newer_db_versions) == (0, False)
    assert pg.tls == PostgresTLSConfig(
        mode="disable", cert_path="", key_path="", ca_path="", disable_sslsni=False
    )
    assert pg.read_replica == ReadReplicaConfig(host="", port=5432, ratio=100)
    assert load(environ=POSTGRES).store.postgres == pg  # the defaults pass validation


def test_postgres_yaml_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text(
        "store:\n"
        "  type: postgres\n"
        "  postgres:\n"
        "    host: db.example\n"
        "    port: 5433\n"
        "    user: cp\n"
        "    password: from-yaml\n"
        "    dbName: mesh\n"
        "    connectionTimeout: 9\n"
        "    maxConnectionIdleTime: 5m\n"
        "    maxConnectionLifetime: 2h\n"
        "    maxConnectionLifetimeJitter: 30s\n"
        "    healthCheckInterval: 10s\n"
        "    minOpenConnections: 2\n"
        "    maxOpenConnections: 20\n"
        "    maxIdleConnections: 7\n"
        "    maxListQueryElements: 4\n"
        "    tolerateNewerDBVersions: true\n"
        "    tls:\n"
        "      mode: verifyFull\n"
        "      certPath: /c.pem\n"
        "      keyPath: /k.pem\n"
        "      caPath: /ca.pem\n"
        "      disableSSLSNI: true\n"
        "    readReplica:\n"
        "      host: replica.example\n"
        "      port: 5434\n"
        "      ratio: 30\n"
    )
    pg = load(config_file=str(path), environ={}).store.postgres
    assert (pg.host, pg.port, pg.user, pg.password, pg.db_name) == (
        "db.example",
        5433,
        "cp",
        "from-yaml",
        "mesh",
    )
    assert (pg.connection_timeout, pg.max_connection_idle_time) == (9, timedelta(minutes=5))
    assert (pg.max_connection_lifetime, pg.max_connection_lifetime_jitter) == (
        timedelta(hours=2),
        timedelta(seconds=30),
    )
    assert pg.health_check_interval == timedelta(seconds=10)
    assert (pg.min_open_connections, pg.max_open_connections, pg.max_idle_connections) == (2, 20, 7)
    assert (pg.max_list_query_elements, pg.tolerate_newer_db_versions) == (4, True)
    assert pg.tls == PostgresTLSConfig("verifyFull", "/c.pem", "/k.pem", "/ca.pem", disable_sslsni=True)
    assert pg.read_replica == ReadReplicaConfig("replica.example", 5434, 30)

    environ = {
        "KUMA_STORE_POSTGRES_HOST": "env.example",
        "KUMA_STORE_POSTGRES_PORT": "6000",
        "KUMA_STORE_POSTGRES_USER": "env-user",
        "KUMA_STORE_POSTGRES_PASSWORD": PASSWORD,
        "KUMA_STORE_POSTGRES_DB_NAME": "env-db",
        "KUMA_STORE_POSTGRES_DRIVER_NAME": "pgx",
        "KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT": "1",
        "KUMA_STORE_POSTGRES_MAX_CONNECTION_IDLE_TIME": "1m",
        "KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME": "3h",
        "KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME_JITTER": "0",
        "KUMA_STORE_POSTGRES_HEALTH_CHECK_INTERVAL": "1s",
        "KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS": "3",
        "KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS": "0",
        "KUMA_STORE_POSTGRES_MAX_IDLE_CONNECTIONS": "1",
        "KUMA_STORE_POSTGRES_MAX_LIST_QUERY_ELEMENTS": "8",
        "KUMA_STORE_POSTGRES_TOLERATE_NEWER_DB_VERSIONS": "f",
        "KUMA_STORE_POSTGRES_TLS_MODE": "verifyCa",
        "KUMA_STORE_POSTGRES_TLS_CERT_PATH": "",
        "KUMA_STORE_POSTGRES_TLS_KEY_PATH": "",
        "KUMA_STORE_POSTGRES_TLS_CA_PATH": "/env-ca.pem",
        "KUMA_STORE_POSTGRES_TLS_DISABLE_SSLSNI": "false",
        "KUMA_STORE_POSTGRES_READ_REPLICA_HOST": "",
        "KUMA_STORE_POSTGRES_READ_REPLICA_PORT": "7000",
        "KUMA_STORE_POSTGRES_READ_REPLICA_RATIO": "0",
    }
    pg = load(config_file=str(path), environ=environ).store.postgres
    assert (pg.host, pg.port, pg.user, pg.password, pg.db_name) == (
        "env.example",
        6000,
        "env-user",
        PASSWORD,
        "env-db",
    )
    assert (pg.connection_timeout, pg.max_connection_idle_time) == (1, timedelta(minutes=1))
    assert (pg.max_connection_lifetime, pg.max_connection_lifetime_jitter) == (
        timedelta(hours=3),
        timedelta(0),
    )
    assert pg.health_check_interval == timedelta(seconds=1)
    assert (pg.min_open_connections, pg.max_open_connections, pg.max_idle_connections) == (3, 0, 1)
    assert (pg.max_list_query_elements, pg.tolerate_newer_db_versions) == (8, False)
    assert pg.tls == PostgresTLSConfig("verifyCa", "", "", "/env-ca.pem", disable_sslsni=False)
    assert pg.read_replica == ReadReplicaConfig("", 7000, 0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KUMA_STORE_POSTGRES_HOST": ""}, "Host should not be empty"),
        ({"KUMA_STORE_POSTGRES_PORT": "-1"}, "Port cannot be negative"),
        ({"KUMA_STORE_POSTGRES_USER": ""}, "User should not be empty"),
        ({"KUMA_STORE_POSTGRES_PASSWORD": ""}, "Password should not be empty"),
        ({"KUMA_STORE_POSTGRES_DB_NAME": ""}, "DbName should not be empty"),
        ({"KUMA_STORE_POSTGRES_TLS_MODE": "strict"}, "TLS validation failed: invalid mode: strict"),
        ({"KUMA_STORE_POSTGRES_TLS_MODE": "verifyCa"}, "TLS validation failed: CAPath cannot be empty"),
        ({"KUMA_STORE_POSTGRES_TLS_MODE": "verifyFull"}, "TLS validation failed: CAPath cannot be empty"),
        (
            {"KUMA_STORE_POSTGRES_TLS_CERT_PATH": "/c.pem"},
            "TLS validation failed: KeyPath cannot be empty when CertPath is provided",
        ),
        (
            {"KUMA_STORE_POSTGRES_TLS_KEY_PATH": "/k.pem"},
            "TLS validation failed: CertPath cannot be empty when KeyPath is provided",
        ),
        ({"KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS": "-1"}, "MinOpenConnections should be greater than 0"),
        (
            {"KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS": "51"},
            "MinOpenConnections should be less than MaxOpenConnections",
        ),
        (
            {"KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME": "-1s"},
            "MaxConnectionLifetime should be greater than 0",
        ),
        (
            {"KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME_JITTER": "-1s"},
            "MaxConnectionLifetimeJitter should be greater than 0",
        ),
        (
            {"KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME_JITTER": "61m"},
            "MaxConnectionLifetimeJitter should be less than MaxConnectionLifetime",
        ),
        (
            {"KUMA_STORE_POSTGRES_HEALTH_CHECK_INTERVAL": "-1s"},
            "HealthCheckInterval should be greater than 0",
        ),
        (
            {"KUMA_STORE_POSTGRES_READ_REPLICA_RATIO": "101"},
            "ReadReplica validation failed: .Ratio out of [0-100] range",
        ),
        (
            {"KUMA_STORE_POSTGRES_READ_REPLICA_RATIO": "-1"},
            "ReadReplica validation failed: .Ratio out of [0-100] range",
        ),
        ({"KUMA_STORE_POSTGRES_DRIVER_NAME": "postgres"}, "unknown driver name postgres"),
    ],
)
def test_postgres_validation_has_kumas_messages(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ=POSTGRES | env)
    assert str(caught.value) == CHAIN + message


def test_postgres_validation_reports_the_first_problem_as_kuma_does() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ=POSTGRES | {"KUMA_STORE_POSTGRES_HOST": "", "KUMA_STORE_POSTGRES_USER": ""})
    assert str(caught.value) == CHAIN + "Host should not be empty"


def test_postgres_store_validates_the_cache_too() -> None:
    with pytest.raises(ConfigError) as caught:
        load(environ=POSTGRES | {"KUMA_STORE_CACHE_EXPIRATION_TIME": "-1s"})
    assert str(caught.value) == (
        "configuration validation failed: Store validation failed: "
        "Cache validation failed: ExpirationTime cannot be negative"
    )


def test_zero_max_open_connections_means_unlimited_not_fewer_than_min() -> None:
    env = {"KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS": "5", "KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS": "0"}
    assert load(environ=POSTGRES | env).store.postgres.min_open_connections == 5


def test_postgres_validation_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text("store:\n  type: postgres\n  postgres:\n    dbName: ''\n")
    with pytest.raises(ConfigError) as caught:
        load(config_file=str(path), environ={})
    assert (
        str(caught.value)
        == f"parsing configuration from file '{path}' failed: {CHAIN}DbName should not be empty"
    )


@pytest.mark.parametrize(
    "env",
    [
        {"KUMA_STORE_TYPE": "memory", "KUMA_STORE_POSTGRES_HOST": ""},
        {
            "KUMA_STORE_TYPE": "memory",
            "KUMA_STORE_POSTGRES_TLS_MODE": "bogus",
            "KUMA_STORE_POSTGRES_PASSWORD": "",
        },
        {"KUMA_STORE_TYPE": "kubernetes", "KUMA_STORE_POSTGRES_READ_REPLICA_RATIO": "500"},
    ],
)
def test_postgres_is_not_validated_for_other_stores(env: dict[str, str]) -> None:
    load(environ=env)


@pytest.mark.parametrize(
    ("mode", "sslmode"),
    [
        ("disable", "disable"),
        ("verifyNone", "require"),
        ("verifyCa", "verify-ca"),
        ("verifyFull", "verify-full"),
    ],
)
def test_tls_modes_map_to_libpq_sslmode(mode: str, sslmode: str) -> None:
    pg = PostgresStoreConfig(tls=PostgresTLSConfig(mode=mode, ca_path="/ca.pem"))
    assert libpq_params(pg)["sslmode"] == sslmode


def test_an_unknown_tls_mode_cannot_become_libpq_params() -> None:
    with pytest.raises(ConfigError, match='could not translate mode "strict" to postgres mode'):
        libpq_params(PostgresStoreConfig(tls=PostgresTLSConfig(mode="strict")))


def test_libpq_params_default_and_full() -> None:
    assert libpq_params(PostgresStoreConfig()) == {
        "host": "127.0.0.1",
        "port": "15432",
        "user": "kuma",
        "password": "kuma",
        "dbname": "kuma",
        "connect_timeout": "5",
        "sslmode": "disable",
    }
    tls = PostgresTLSConfig("verifyFull", "/c.pem", "/k.pem", "/ca.pem", disable_sslsni=True)
    params = libpq_params(PostgresStoreConfig(tls=tls))
    assert {k: params[k] for k in ("sslmode", "sslcert", "sslkey", "sslrootcert", "sslsni")} == {
        "sslmode": "verify-full",
        "sslcert": "/c.pem",
        "sslkey": "/k.pem",
        "sslrootcert": "/ca.pem",
        "sslsni": "0",
    }


def test_replica_params_follow_the_primary_at_the_replica_address() -> None:
    assert replica_params(PostgresStoreConfig()) is None
    pg = PostgresStoreConfig(
        password=PASSWORD,
        tls=PostgresTLSConfig(mode="verifyNone"),
        read_replica=ReadReplicaConfig(host="replica.example", port=5434),
    )
    assert replica_params(pg) == libpq_params(pg) | {"host": "replica.example", "port": "5434"}


def test_a_password_with_special_characters_survives_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text('store:\n  type: postgres\n  postgres:\n    password: "p@ss:w/o\'rd\\\\%"\n')
    for config in (
        load(config_file=str(path), environ={}),
        load(environ=POSTGRES | {"KUMA_STORE_POSTGRES_PASSWORD": PASSWORD}),
    ):
        pg = config.store.postgres
        assert pg.password == PASSWORD
        assert libpq_params(pg)["password"] == PASSWORD
        pg = attrs.evolve(pg, read_replica=ReadReplicaConfig(host="r"))
        assert replica_params(pg) == libpq_params(pg) | {"host": "r", "port": "5432"}
    # What a driver builds from the keywords parses back to the same password.
    conninfo = pytest.importorskip("psycopg.conninfo")
    assert conninfo.conninfo_to_dict(conninfo.make_conninfo(**libpq_params(pg)))["password"] == PASSWORD


def test_the_password_is_never_shown() -> None:
    config = load(environ=POSTGRES | {"KUMA_STORE_POSTGRES_PASSWORD": PASSWORD})
    pg = config.store.postgres
    for shown in (repr(config), str(config), repr(pg), str(pg), str(redacted(config))):
        assert PASSWORD not in shown
        assert "*****" in shown
    assert redacted(config)["store"]["postgres"]["password"] == "*****"
    # Every validation failure leaves the password out too.
    for env in (
        {"KUMA_STORE_POSTGRES_HOST": ""},
        {"KUMA_STORE_POSTGRES_TLS_MODE": "verifyCa"},
        {"KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS": "-1"},
        {"KUMA_STORE_POSTGRES_DRIVER_NAME": "nope"},
        {"KUMA_STORE_POSTGRES_READ_REPLICA_RATIO": "101"},
    ):
        with pytest.raises(ConfigError) as caught:
            load(environ=POSTGRES | {"KUMA_STORE_POSTGRES_PASSWORD": PASSWORD} | env)
        assert "Postgres validation failed" in str(caught.value)
        assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        "store:\n  postgres:\n    password: [hunter2-secret]\n",
        'store:\n  postgres:\n    password: "hunter2-secret\n    user: x\n',
        "store:\n  postgres:\n    password: 'hunter2-secret\n",
    ],
)
def test_a_bad_password_in_yaml_is_never_echoed(tmp_path: Path, content: str) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load(config_file=str(path), environ={"KUMA_STORE_TYPE": "postgres"})
    assert "hunter2-secret" not in str(caught.value)


def test_unquoted_yaml_numbers_are_not_silently_turned_into_strings(tmp_path: Path) -> None:
    path = tmp_path / "kuma-cp.yaml"
    path.write_text("store:\n  postgres:\n    password: 0777\n")
    with pytest.raises(ConfigError, match=r"store\.postgres\.password: want a string \(quote the value"):
        load(config_file=str(path), environ={})
