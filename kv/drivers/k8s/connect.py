"""Connecting to the API server: where its configuration comes from, and whether the cluster is ready.

`configure` finds the client configuration as Kuma does (controller-runtime's ``GetConfig``): an explicit
kubeconfig, else ``KUBECONFIG``, else the in-cluster configuration of a pod (``KUBERNETES_SERVICE_HOST``
and ``_PORT`` with its service account), else ``~/.kube/config``. Finding none is `Invalid` (replaying
cannot help) naming all four places.

`preflight` says, in one line, what stands between the driver and a working store, with the fewest
calls: one discovery call per API group and version of the kinds (which also finds a dead server or
refused credentials), and one read of the system namespace. Its errors never carry a token: the server
is named by its URL without any user information.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3.exceptions
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from kv.drivers.k8s.errors import status_of
from kv.drivers.k8s.kinds import Kind
from kv.errors import Invalid, KVError, Unavailable

__all__ = ["INSTALL_CRDS", "configure", "preflight", "server_url"]

INSTALL_CRDS = "kuma-cp install crds | kubectl apply -f -"
"""How an operator installs the CRDs kuma-cp needs."""
_SHOWN_CRDS = 10  # missing CRDs named in a message; the rest are counted
_loader: Any = config  # the client's loaders are untyped


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _load_file(configuration: client.Configuration, path: str, origin: str) -> None:
    try:
        _loader.load_kube_config(config_file=path, client_configuration=configuration)
    except _loader.ConfigException as exc:
        raise Invalid(f"{origin} {path}: {_one_line(str(exc))}") from None
    except Exception as exc:  # YAML, base64, a bad certificate... name it, never show the file's content
        raise Invalid(f"{origin} {path} cannot be used: {type(exc).__name__}") from None


def configure(kubeconfig: str | None = None) -> client.Configuration:
    """The client configuration: *kubeconfig*, ``KUBECONFIG``, in-cluster, then ``~/.kube/config``.

    The order is controller-runtime's, which Kuma uses: a kubeconfig named explicitly or by ``KUBECONFIG``
    wins over the pod's own service account, and ``~/.kube/config`` is the last resort.
    """
    configuration = client.Configuration()
    if kubeconfig:
        if not Path(kubeconfig).expanduser().is_file():
            raise Invalid(f"kubeconfig {kubeconfig} does not exist")
        _load_file(configuration, kubeconfig, "kubeconfig")
        return configuration
    if environ := os.environ.get("KUBECONFIG"):
        paths = [p for p in environ.split(os.pathsep) if p]
        if not any(Path(p).expanduser().is_file() for p in paths):
            raise Invalid(f"KUBECONFIG={environ}: no such file")
        _load_file(configuration, environ, "KUBECONFIG")
        return configuration
    in_cluster = None
    if os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT"):
        try:
            _loader.load_incluster_config(client_configuration=configuration)
            return configuration
        except _loader.ConfigException as exc:  # a pod without a service account token: try the home file
            in_cluster = _one_line(str(exc))
    home = Path("~/.kube/config").expanduser()
    if home.is_file():
        _load_file(configuration, str(home), "kubeconfig")
        return configuration
    pod = (
        f"in-cluster configuration failed ({in_cluster})"
        if in_cluster
        else "no in-cluster configuration (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)"
    )
    raise Invalid(
        f"no Kubernetes configuration found: {pod}, KUBECONFIG unset, and no {home} (~/.kube/config)"
    )


def server_url(configuration: client.Configuration) -> str:
    """The API server's URL without any user information (``https://user:pass@h`` shows ``https://h``)."""
    parts = urlsplit(str(configuration.host))
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _unreachable(url: str, exc: BaseException) -> Unavailable:
    reason: BaseException | None = exc
    while isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = str(reason)
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # "<connection object>: Failed to ..."
        text = text.rpartition(": ")[2] or text
    return Unavailable(f"the Kubernetes API server at {url} cannot be reached: {_one_line(text)}")


def _refused(url: str, exc: ApiException) -> KVError:
    code = exc.status or 0
    status = status_of(exc)
    said = _one_line(f"{code} {status.get('reason') or exc.reason or ''}: {status.get('message', '')}")
    if code in (401, 403):
        return KVError(f"the Kubernetes API server at {url} refused the credentials: {said}")
    if code in (0, 429) or code >= 500:
        return Unavailable(f"the Kubernetes API server at {url} is unavailable: {said}")
    return KVError(f"the Kubernetes API server at {url} answered {said}")


def preflight(
    api: client.ApiClient,
    kinds: Iterable[Kind],
    system_namespace: str,
    before_call: Callable[[], None] | None = None,
    *,
    timeout: tuple[float, float] = (5.0, 30.0),
) -> None:
    """Raise a one-line kv error if the server is dead, a CRD is missing or the system namespace is.

    `Unavailable` for a server that cannot be reached (it may come up), `KVError` for refused
    credentials, missing CRDs (naming them, and how to install them) and a missing system namespace
    (naming it). *before_call* runs before every request (the driver's rate limiter).
    """
    kinds = list(kinds)
    url = server_url(api.configuration)
    custom: Any = client.CustomObjectsApi(api)
    groups: dict[tuple[str, str], list[Kind]] = {}
    for kind in kinds:
        if not kind.native:
            groups.setdefault((kind.group, kind.version), []).append(kind)
    missing: list[str] = []
    wrong_scope: list[str] = []
    for (group, version), wanted in sorted(groups.items()):
        if before_call is not None:
            before_call()
        try:
            served = custom.get_api_resources(group, version, _request_timeout=timeout)
        except ApiException as exc:
            if exc.status != 404:  # 404: not one CRD of the group and version is installed
                raise _refused(url, exc) from None
            served = None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _unreachable(url, exc) from None
        resources = {r.name: r for r in (served.resources if served is not None else None) or []}
        for kind in wanted:
            crd = f"{kind.plural}.{group}"
            if kind.plural not in resources:
                missing.append(crd)
            elif bool(resources[kind.plural].namespaced) != kind.namespaced:
                wrong_scope.append(f"{crd} ({'Namespaced' if kind.namespaced else 'Cluster'} expected)")
    if missing:
        shown = ", ".join(missing[:_SHOWN_CRDS])
        more = f" and {len(missing) - _SHOWN_CRDS} more" if len(missing) > _SHOWN_CRDS else ""
        raise KVError(
            f"CustomResourceDefinitions not installed on the Kubernetes API server at {url}: {shown}{more} "
            f"(install them: {INSTALL_CRDS})"
        )
    if wrong_scope:
        raise KVError(
            f"CustomResourceDefinitions installed with the wrong scope on {url}: {', '.join(wrong_scope)} "
            f"(delete them, then install them: {INSTALL_CRDS})"
        )
    _check_namespace(api, url, system_namespace, before_call, timeout)


def _check_namespace(
    api: client.ApiClient,
    url: str,
    namespace: str,
    before_call: Callable[[], None] | None,
    timeout: tuple[float, float],
) -> None:
    core: Any = client.CoreV1Api(api)
    if before_call is not None:
        before_call()
    try:
        core.read_namespace(namespace, _request_timeout=timeout)
    except ApiException as exc:
        if exc.status == 404:
            raise KVError(
                f"the system namespace {namespace!r} does not exist on the Kubernetes API server at {url} "
                f"(create it: kubectl create namespace {namespace})"
            ) from None
        if exc.status == 403:  # not allowed to read namespaces: the writes will say if it is missing
            return
        raise _refused(url, exc) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _unreachable(url, exc) from None
