"""kuma-cp's configuration: Kuma's names, defaults and validation messages.

Every field names its YAML key (``store.type``) and environment variable (``KUMA_STORE_TYPE``) as Go
Kuma does, so an operator's existing YAML file and environment work unchanged. Each default carries the
reason it is what it is. `load` applies defaults, then the YAML file, then the environment, then
validates; anything wrong is a `ConfigError` and nothing starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from attrs import frozen

from kuma_cp.k8sconfig import RuntimeConfig, validate_kubernetes_runtime
from kuma_cp.loader import ConfigError, section, setting
from kuma_cp.loader import load as _load
from kuma_cp.pgconfig import PostgresStoreConfig, validate_postgres
from kuma_cp.security.config import AccessConfig, AuthnConfig

__all__ = [
    "STORE_TYPES",
    "Config",
    "ConfigError",
    "PostgresStoreConfig",
    "RuntimeConfig",
    "StoreConfig",
    "load",
]

STORE_TYPES = ("postgres", "kubernetes", "memory")
AUTHN_TYPES = ("tokens",)
ACCESS_TYPES = ("static",)


@frozen
class CacheConfig:
    """The read cache in front of the store (``store.cache``)."""

    enabled: bool = setting("enabled", env="KUMA_STORE_CACHE_ENABLED", default=True)
    """On, as Kuma: repeated reads within a second are served from memory."""
    expiration_time: timedelta = setting(
        "expirationTime", env="KUMA_STORE_CACHE_EXPIRATION_TIME", default=timedelta(seconds=1)
    )
    """1s, as Kuma: short enough that readers see writes of other instances quickly."""


@frozen
class UpsertConfig:
    """Retries of read-modify-write upserts that lose a race (``store.upsert``)."""

    conflict_retry_base_backoff: timedelta = setting(
        "conflictRetryBaseBackoff",
        env="KUMA_STORE_UPSERT_CONFLICT_RETRY_BASE_BACKOFF",
        default=timedelta(milliseconds=200),
    )
    """200ms, as Kuma: longer than one store round trip, so the winner has finished."""
    conflict_retry_max_times: int = setting(
        "conflictRetryMaxTimes", env="KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES", default=10
    )
    """10, as Kuma: with exponential backoff, minutes of contention before giving up."""
    conflict_retry_jitter_percent: int = setting(
        "conflictRetryJitterPercent",
        env="KUMA_STORE_UPSERT_CONFLICT_RETRY_JITTER_PERCENT",
        default=30,
    )
    """30%, as Kuma: enough spread that racing instances do not retry in lockstep."""


@frozen
class KubernetesStoreConfig:
    """The Kubernetes store (``store.kubernetes``)."""

    system_namespace: str = setting(
        "systemNamespace", env="KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE", default="kuma-system"
    )
    """kuma-system, as Kuma's Helm chart installs it: where Secrets and the leader lease live."""


@frozen
class StoreConfig:
    """Where resources are kept (``store``)."""

    type: str = setting("type", env="KUMA_STORE_TYPE", default="memory")
    """memory, as Kuma: a first run needs nothing else; production picks postgres or kubernetes."""
    postgres: PostgresStoreConfig = section("postgres", PostgresStoreConfig)
    kubernetes: KubernetesStoreConfig = section("kubernetes", KubernetesStoreConfig)
    cache: CacheConfig = section("cache", CacheConfig)
    upsert: UpsertConfig = section("upsert", UpsertConfig)
    unsafe_delete: bool = setting("unsafeDelete", env="KUMA_STORE_UNSAFE_DELETE", default=False)
    """Off, as Kuma: deleting a Mesh that still has Dataplanes is refused."""


@frozen
class HttpConfig:
    """The plain-HTTP listener of the resource API (``apiServer.http``)."""

    enabled: bool = setting("enabled", env="KUMA_API_SERVER_HTTP_ENABLED", default=True)
    """On, as Kuma: kumactl talks to it."""
    interface: str = setting("interface", env="KUMA_API_SERVER_HTTP_INTERFACE", default="0.0.0.0")
    """0.0.0.0, as Kuma: reachable by kumactl from other hosts; set 127.0.0.1 to keep it local."""
    port: int = setting("port", env="KUMA_API_SERVER_HTTP_PORT", default=5681)
    """5681, Kuma's API port, which kumactl and the GUI expect."""


@frozen
class HttpsConfig:
    """The HTTPS listener of the resource API (``apiServer.https``), serving the same app as HTTP."""

    enabled: bool = setting("enabled", env="KUMA_API_SERVER_HTTPS_ENABLED", default=True)
    """On, as Kuma: tokens should only ever travel over TLS."""
    interface: str = setting("interface", env="KUMA_API_SERVER_HTTPS_INTERFACE", default="0.0.0.0")
    """0.0.0.0, as Kuma: the port to expose to remote kumactl users."""
    port: int = setting("port", env="KUMA_API_SERVER_HTTPS_PORT", default=5682)
    """5682, Kuma's HTTPS API port."""
    tls_cert_file: str = setting("tlsCertFile", env="KUMA_API_SERVER_HTTPS_TLS_CERT_FILE", default="")
    """None: the general TLS certificate, else one generated once into the work dir."""
    tls_key_file: str = setting("tlsKeyFile", env="KUMA_API_SERVER_HTTPS_TLS_KEY_FILE", default="")
    """None: goes with tlsCertFile."""
    tls_min_version: str = setting(
        "tlsMinVersion", env="KUMA_API_SERVER_HTTPS_TLS_MIN_VERSION", default="TLSv1_2"
    )
    """TLSv1_2, as Kuma: older protocols are broken."""
    require_client_cert: bool = setting(
        "requireClientCert", env="KUMA_API_SERVER_HTTPS_REQUIRE_CLIENT_CERT", default=False
    )
    """Off, as Kuma: tokens authenticate; on, clients also need a certificate signed by tlsCaFile."""
    tls_ca_file: str = setting("tlsCaFile", env="KUMA_API_SERVER_HTTPS_TLS_CA_FILE", default="")
    """None: required with requireClientCert, the CA client certificates must chain to."""


@frozen
class GeneralConfig:
    """General settings (``general``)."""

    work_dir: str = setting("workDir", env="KUMA_GENERAL_WORK_DIR", default="")
    """Empty means ``$HOME/.kuma``, as Kuma: where a generated TLS certificate is kept and reused."""
    tls_cert_file: str = setting("tlsCertFile", env="KUMA_GENERAL_TLS_CERT_FILE", default="")
    """None: a certificate for every TLS server of the control plane, instead of a generated one."""
    tls_key_file: str = setting("tlsKeyFile", env="KUMA_GENERAL_TLS_KEY_FILE", default="")
    """None: goes with tlsCertFile."""


@frozen
class ApiServerConfig:
    """The resource API (``apiServer``)."""

    http: HttpConfig = section("http", HttpConfig)
    https: HttpsConfig = section("https", HttpsConfig)
    authn: AuthnConfig = section("authn", AuthnConfig)
    cors_allowed_domains: str = setting(
        "corsAllowedDomains", env="KUMA_API_SERVER_CORS_ALLOWED_DOMAINS", default=""
    )
    """Empty, as Kuma since CVE-2026-45021: no CORS headers; a comma list of origins (or .*) enables them."""
    read_only: bool = setting("readOnly", env="KUMA_API_SERVER_READ_ONLY", default=False)
    """Off, as Kuma: writes allowed; on, every write answers 405."""
    read_header_timeout: timedelta = setting(
        "readHeaderTimeout", env="KUMA_API_SERVER_READ_HEADER_TIMEOUT", default=timedelta(seconds=1)
    )
    """1s, as Kuma: a connection that has not sent a request's head by then is closed (0: readTimeout)."""
    read_timeout: timedelta = setting(
        "readTimeout", env="KUMA_API_SERVER_READ_TIMEOUT", default=timedelta(seconds=10)
    )
    """10s, as Kuma: the longest a whole request, body included, may take to arrive (0: no limit)."""
    write_timeout: timedelta = setting(
        "writeTimeout", env="KUMA_API_SERVER_WRITE_TIMEOUT", default=timedelta(seconds=30)
    )
    """30s, as Kuma: from the end of a request's head until its response is sent (0: no limit)."""
    idle_timeout: timedelta = setting(
        "idleTimeout", env="KUMA_API_SERVER_IDLE_TIMEOUT", default=timedelta(minutes=2)
    )
    """2m, as Kuma: how long a kept-alive connection waits for its next request (0: readTimeout)."""
    max_connections: int = setting("maxConnections", env="KUMA_API_SERVER_MAX_CONNECTIONS", default=4096)
    """4096 (kuma-store's own; Go has no cap): per listener, a connection beyond it is closed (0: none)."""


@frozen
class DiagnosticsConfig:
    """Health and metrics (``diagnostics``)."""

    server_port: int = setting("serverPort", env="KUMA_DIAGNOSTICS_SERVER_PORT", default=5680)
    """5680, Kuma's diagnostics port, where probes look for /healthy and /ready."""


@frozen
class DefaultsConfig:
    """Resources the control plane creates at start (``defaults``)."""

    skip_mesh_creation: bool = setting(
        "skipMeshCreation", env="KUMA_DEFAULTS_SKIP_MESH_CREATION", default=False
    )
    """Off, as Kuma: a fresh control plane has a "default" Mesh to put Dataplanes in."""


@frozen
class Config:
    """The whole kuma-cp configuration."""

    store: StoreConfig = section("store", StoreConfig)
    runtime: RuntimeConfig = section("runtime", RuntimeConfig)
    api_server: ApiServerConfig = section("apiServer", ApiServerConfig)
    diagnostics: DiagnosticsConfig = section("diagnostics", DiagnosticsConfig)
    defaults: DefaultsConfig = section("defaults", DefaultsConfig)
    general: GeneralConfig = section("general", GeneralConfig)
    access: AccessConfig = section("access", AccessConfig)


def _validate_store(store: StoreConfig) -> list[str]:
    if store.type not in STORE_TYPES:
        return ["Type should be either postgres, kubernetes or memory"]
    problems = []
    if store.type == "postgres" and (problem := validate_postgres(store.postgres)) is not None:
        problems.append(f"Postgres validation failed: {problem}")
    if store.type == "kubernetes" and not store.kubernetes.system_namespace:
        problems.append("Kubernetes validation failed: SystemNamespace should not be empty")
    if store.upsert.conflict_retry_base_backoff < timedelta(0):
        problems.append("RetryBaseBackoff cannot be lower than 0")
    for name, value in (
        ("ConflictRetryMaxTimes", store.upsert.conflict_retry_max_times),
        ("ConflictRetryJitterPercent", store.upsert.conflict_retry_jitter_percent),
    ):
        if value < 0:
            problems.append(f"{name} cannot be negative")
    if store.cache.expiration_time < timedelta(0):
        problems.append("Cache validation failed: ExpirationTime cannot be negative")
    return problems


def _validate_deadlines(api: ApiServerConfig) -> list[str]:
    problems = [
        f"ApiServer validation failed: .{name} must be greater or equal 0s"
        for name, value in (
            ("ReadHeaderTimeout", api.read_header_timeout),
            ("ReadTimeout", api.read_timeout),
            ("WriteTimeout", api.write_timeout),
            ("IdleTimeout", api.idle_timeout),
        )
        if value < timedelta(0)
    ]
    if api.max_connections < 0:
        problems.append("ApiServer validation failed: .MaxConnections cannot be negative")
    return problems


def validate(config: Config) -> Config:
    """Return *config* if usable, else raise `ConfigError` with Kuma's message chain."""
    problems = []
    if config.store.type == "kubernetes":  # Kuma validates runtime.kubernetes only where it is used
        problems += [
            f"Runtime validation failed: Kubernetes validation failed: {p}"
            for p in validate_kubernetes_runtime(config.runtime.kubernetes)
        ]
    problems += [f"Store validation failed: {p}" for p in _validate_store(config.store)]
    https = config.api_server.https
    if https.tls_min_version not in ("TLSv1_2", "TLSv1_3"):
        problems.append(
            "ApiServer validation failed: .Https is not valid: .TlsMinVersion must be TLSv1_2 or TLSv1_3"
        )
    if bool(https.tls_cert_file) != bool(https.tls_key_file):
        problems.append(
            "ApiServer validation failed: .Https is not valid: both TlsCertFile and TlsKeyFile or neither"
        )
    if https.require_client_cert and not https.tls_ca_file:
        problems.append(
            "ApiServer validation failed: .Https is not valid: "
            "TlsCaFile cannot be empty with RequireClientCert"
        )
    for what, port in (
        ("ApiServer validation failed: .Https is not valid: .Port", https.port),
        ("ApiServer validation failed: .Http is not valid: .Port", config.api_server.http.port),
        ("Diagnostics validation failed: .ServerPort", config.diagnostics.server_port),
    ):
        if not 0 <= port <= 65535:
            problems.append(f"{what} must be in the range [0, 65535]")
    problems += _validate_deadlines(config.api_server)
    authn, access = config.api_server.authn, config.access
    if authn.type not in AUTHN_TYPES:  # Kuma finds this when it starts, with this message
        problems.append(f"there is not implementation of authn named {authn.type}")
    if not access.type:
        problems.append("Access validation failed: Type has to be defined")
    elif access.type not in ACCESS_TYPES:  # Kuma ignores it; refused rather than silently taken as static
        problems.append(f"Access validation failed: unknown access type {access.type} (available: static)")
    if problems:
        raise ConfigError("configuration validation failed: " + "; ".join(problems))
    return config


def load(*, config_file: str | None = None, environ: Mapping[str, str]) -> Config:
    """Load kuma-cp's configuration: defaults, then *config_file*, then *environ*, then validation."""
    config = _load(Config, config_file=config_file, environ=environ)
    if config_file:
        try:
            return validate(config)
        except ConfigError as exc:
            raise ConfigError(f"parsing configuration from file '{config_file}' failed: {exc}") from None
    return validate(config)
