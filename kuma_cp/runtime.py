"""The control plane's components, started in Kuma's order and stopped in reverse.

The store stack: the backend store (pagination inside) → metrics (`MeteredStore`) → the resource
manager (writes and consistent reads) and the read cache (`CachedReader`, for readers that may be a
moment behind, such as readiness probes). Around it: leader election, the event bus, the default
resources, the HTTP resource API (5681) and the diagnostics server (5680).
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from typing import Any

from prometheus_client import Counter

import kv
from kuma_cp import defaults
from kuma_cp.api import IndexInfo, api_app
from kuma_cp.bus import EventBus, Resync
from kuma_cp.cache import CachedReader
from kuma_cp.config import ApiServerConfig, Config
from kuma_cp.diagnostics import diagnostics_app
from kuma_cp.leader import LeaderElector, MemoryElector, PostgresElector, instance_id
from kuma_cp.manager import ResourceManager
from kuma_cp.metrics import MeteredStore, Metrics, pool_stats
from kuma_cp.security import bootstrap_admin_token, ensure_signing_key
from kuma_cp.security.config import split_list
from kuma_cp.security.middleware import secure_app
from kuma_cp.security.tokens import ADMIN_TOKEN
from kuma_cp.servers import TLS, Deadlines, Server, ServerError
from kuma_cp.stores import SetupError, open_store
from kuma_cp.tls import server_credentials

__all__ = ["LOCALHOST_WARNING", "Runtime"]

log = logging.getLogger("kuma-cp.run")
LOCALHOST_WARNING = (
    "WARNING: you can access Control Plane API as admin by sending requests from the same machine where "
    "Control Plane runs. To increase security, it is recommended to extract admin credentials and set "
    "KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN to false."
)


def api_deadlines(api: ApiServerConfig) -> Deadlines:
    """The API servers' deadlines and connection cap, from ``apiServer``."""
    return Deadlines(
        read_header=api.read_header_timeout.total_seconds(),
        read=api.read_timeout.total_seconds(),
        write=api.write_timeout.total_seconds(),
        idle=api.idle_timeout.total_seconds(),
        max_connections=api.max_connections,
    )


class Runtime:
    """Everything ``kuma-cp run`` runs; `start` then `stop`."""

    def __init__(self, config: Config, *, version: str) -> None:
        self.config = config
        self.version = version
        self.instance_id = instance_id()
        self.metrics = Metrics()
        self._stops: list[Any] = []  # what to stop, in start order
        self.store: kv.Store | None = None
        self.reader: Any = None

    def _elector(self) -> LeaderElector:
        if self.config.store.type == "kubernetes":
            return self._kubernetes_elector()
        if self.config.store.type != "postgres":
            return MemoryElector()
        from kuma_cp.pgconfig import libpq_params  # only for the postgres store
        from kv.drivers.postgres import create_engine

        engine = create_engine(libpq_params(self.config.store.postgres), max_open_connections=2)
        self._stops.append(engine.dispose)  # after the elector has stopped (stops run in reverse)
        return PostgresElector(engine, instance_id=self.instance_id)

    def _kubernetes_elector(self) -> LeaderElector:
        """Kuma's controller-runtime election: the Lease ``cp-leader-lease`` in the system namespace."""
        from kuma_cp.k8sconfig import LEADER_ELECTION_RETRY_PERIOD  # only for the kubernetes store
        from kuma_cp.leader_kubernetes import LEASE_NAME, KubernetesElector

        assert self.store is not None  # opened before the elector
        election = self.config.runtime.kubernetes.leader_election
        return KubernetesElector(
            self.store.driver.lease(LEASE_NAME),  # type: ignore[attr-defined]
            instance_id=self.instance_id,
            lease_duration=election.lease_duration.total_seconds(),
            renew_deadline=election.renew_deadline.total_seconds(),
            retry_period=LEADER_ELECTION_RETRY_PERIOD.total_seconds(),
        )

    def start(self) -> None:
        """Start every component; raise `SetupError` (after stopping what started) if one cannot."""
        try:
            self._start()
        except (SetupError, ServerError, kv.KVError) as exc:
            self.stop()
            raise SetupError(str(exc)) from exc

    def _start(self) -> None:
        config = self.config
        self.store = store = open_store(config)
        self._stops.append(store.close)
        store.on_corrupt = self.metrics.record_corrupt
        metered = MeteredStore(store, self.metrics)
        manager = ResourceManager(metered, config=config.store)
        ttl = config.store.cache.expiration_time.total_seconds()
        self.reader = metered
        if config.store.cache.enabled:
            self.reader = CachedReader(metered, ttl, record=self.metrics.record_cache)
        if config.store.type == "postgres":
            engine = store.driver._engine  # type: ignore[attr-defined]
            self.metrics.watch_postgres_pool(pool_stats(engine, config.store.postgres.max_open_connections))

        elector = self._elector()
        elector.add_callbacks(
            on_started_leading=lambda: log.info("instance %s became the leader", self.instance_id),
            on_stopped_leading=lambda: log.info("instance %s is no longer the leader", self.instance_id),
        )
        self.metrics.watch_leader(elector.is_leader)
        elector.start()
        self._stops.append(elector.stop)

        bus = EventBus()
        bus.feed(store)
        self._stops.append(bus.close)
        self.metrics.watch_events_dropped(lambda: bus.dropped)
        self._count_events(bus)

        if not config.defaults.skip_mesh_creation:
            component = defaults.default_mesh_task(manager, elector.is_leader)
            component.start()
            self._stops.append(component.stop)

        http = config.api_server.http
        info = IndexInfo(
            hostname=socket.gethostname(), version=self.version, instance_id=self.instance_id, cluster_id=""
        )
        self._secure(store, elector)
        app = secure_app(
            api_app(
                manager,
                info=info,
                read_only=config.api_server.read_only,
                inline=config.store.type == "memory",
                system_namespace=config.store.kubernetes.system_namespace,
            ),
            store=store,
            authn=config.api_server.authn,
            access=config.access,
            cors_allowed_domains=split_list(config.api_server.cors_allowed_domains),
        )
        deadlines = api_deadlines(config.api_server)
        if http.enabled:
            api = Server("api", app, http.interface, http.port, deadlines=deadlines)
            api.start()
            self._stops.append(api.stop)
        https = config.api_server.https
        if https.enabled:
            cert, key = server_credentials(config)
            tls = TLS(
                cert,
                key,
                ssl.TLSVersion[https.tls_min_version],
                https.tls_ca_file if https.require_client_cert else "",
            )
            secure = Server("api-https", app, https.interface, https.port, tls=tls, deadlines=deadlines)
            secure.start()
            self._stops.append(secure.stop)
        probes = diagnostics_app(self.metrics, self.ready)
        diagnostics = Server("diagnostics", probes, "0.0.0.0", config.diagnostics.server_port)
        diagnostics.start()
        self._stops.append(diagnostics.stop)

    def _secure(self, store: kv.Store, elector: LeaderElector) -> None:
        """Token signing key (every instance may create it; one wins), then the leader's admin token."""
        authn = self.config.api_server.authn
        ensure_signing_key(store)
        if authn.tokens.bootstrap_admin_token:
            component = defaults.LeaderTask(
                "admin user token",
                lambda: bootstrap_admin_token(store),
                lambda: store.get("GlobalSecret", "", ADMIN_TOKEN),
                elector.is_leader,
                interval=1.0,
            )
            component.start()
            self._stops.append(component.stop)
        if authn.localhost_is_admin:
            log.warning(LOCALHOST_WARNING)

    def _count_events(self, bus: EventBus) -> None:
        counter = Counter(
            "store_events",
            "Change events received on the event bus",
            ["operation", "resource_type"],
            registry=self.metrics.registry,
        )
        subscription = bus.subscribe()

        def count() -> None:
            for event in subscription:
                if not isinstance(event, Resync):
                    counter.labels(operation=event.op.value, resource_type=event.type).inc()

        threading.Thread(target=count, name="kuma-cp-event-metrics", daemon=True).start()
        self._stops.append(subscription.close)

    def ready(self) -> bool:
        """Ready when the store is open and, unless skipped, the default Mesh exists."""
        if self.store is None or self.reader is None:
            return False
        if self.config.defaults.skip_mesh_creation:
            return True
        try:
            self.reader.get("Mesh", "", defaults.DEFAULT_MESH)
        except kv.KVError:
            return False
        return True

    def stop(self) -> None:
        """Stop every started component, the last started first; never raises."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception:
                log.exception("error while stopping %r", stop)
