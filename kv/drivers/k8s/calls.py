"""The requests the Kubernetes driver makes for its kinds: rate-limited, bounded, errors translated.

Custom objects go through ``CustomObjectsApi``; Kuma's Secrets and ConfigMaps are native objects in the
system namespace, through ``CoreV1Api``. Every answer is plain JSON (what the API server sent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubernetes import client

from kv.drivers.k8s.errors import translate_errors
from kv.drivers.k8s.kinds import Kind
from kv.drivers.k8s.limits import RateLimiter
from kv.errors import AlreadyExists, KVError
from kv.model import Key

__all__ = ["Calls"]

log = logging.getLogger(__name__)


class Calls:
    """Requests through *api*, each after *limiter* lets it go and bounded by *timeout* (connect, read)."""

    def __init__(
        self, api: client.ApiClient, limiter: RateLimiter, timeout: tuple[float, float], system_namespace: str
    ) -> None:
        # The client's own annotations are partial: it is used through Any, behind the driver's boundary.
        self.api: Any = api
        self.custom: Any = client.CustomObjectsApi(api)
        self.core: Any = client.CoreV1Api(api)
        self._limiter = limiter
        self._timeout = timeout
        self._system_namespace = system_namespace
        self._namespaces: set[str] = set()

    def lister(self, kind: Kind, api: client.ApiClient) -> Callable[..., Any]:
        """Lists (``watch=True``: watches) *kind* through *api*; native objects in the system namespace."""
        if not kind.native:
            custom: Any = client.CustomObjectsApi(api)

            def list_objects(**kw: Any) -> Any:
                return custom.list_cluster_custom_object(kind.group, kind.version, kind.plural, **kw)

            return list_objects
        core: Any = client.CoreV1Api(api)
        if kind.scope == "secret":  # only Kuma's Secrets, by their type
            secrets = core.list_namespaced_secret

            def list_secrets(**kw: Any) -> Any:
                return secrets(self._system_namespace, field_selector=f"type={kind.secret_type}", **kw)

            return list_secrets
        config_maps = core.list_namespaced_config_map

        def list_config_maps(**kw: Any) -> Any:
            return config_maps(self._system_namespace, **kw)

        return list_config_maps

    def __call__(
        self, kind: Kind, verb: str, namespace: str | None, key: Key | None = None, **kw: Any
    ) -> Any:
        """One request for an object of *kind*, its errors translated (for *key*), its answer plain JSON."""
        self._limiter.acquire()
        kw["_request_timeout"] = self._timeout
        with translate_errors(key, conflict_when_missing=verb == "replace"):
            if kind.native:
                noun = "secret" if kind.scope == "secret" else "config_map"
                core_verb = "read" if verb == "get" else verb  # CoreV1Api reads, CustomObjectsApi gets
                found = getattr(self.core, f"{core_verb}_namespaced_{noun}")(namespace=namespace, **kw)
                return self.api.sanitize_for_serialization(found)
            common = (kind.group, kind.version)
            if namespace is None:
                return getattr(self.custom, f"{verb}_cluster_custom_object")(*common, kind.plural, **kw)
            return getattr(self.custom, f"{verb}_namespaced_custom_object")(
                *common, namespace, kind.plural, **kw
            )

    def ensure_namespace(self, namespace: str | None) -> None:
        """Create *namespace* once per process if missing (where RBAC allows: else the write says why)."""
        if namespace is None or namespace in self._namespaces:
            return
        try:
            self._limiter.acquire()
            with translate_errors(Key("Namespace", "", namespace)):
                self.core.create_namespace({"metadata": {"name": namespace}}, _request_timeout=self._timeout)
        except AlreadyExists:
            pass
        except KVError as exc:  # not allowed (Kuma's RBAC has no namespace creation): writing tells
            log.debug("could not create namespace %s: %s", namespace, exc)
        self._namespaces.add(namespace)
