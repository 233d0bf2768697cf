"""The one place where the Kubernetes client's errors become kv errors (kopf's ``check_response`` shape).

The API server's Status payload (reason, message) is kept in the kv error's message; no ApiException or
urllib3 error escapes a driver call. An object too large to store (413, or etcd's ``request is too large``
as a 500) is `Invalid`: sending it again can never succeed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kv.drivers.k8s.limits import too_large
from kv.errors import AlreadyExists, Conflict, Invalid, KVError, NotFound, Unavailable
from kv.model import Key

__all__ = ["status_of", "translate_errors"]

# An object over etcd's request limit comes back as a 500 with etcd's words (or, above the 2 MiB the API
# server's gRPC client sends, gRPC's); one over the API server's own 3 MiB body limit as a 413. Neither
# can ever be stored: Invalid, not Unavailable.
_TOO_LARGE = re.compile(r"etcdserver: request is too large|trying to send message larger than max")


def status_of(exc: ApiException) -> dict[str, Any]:
    """The Status object the API server sent with an error (empty when there was none)."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@contextmanager
def translate_errors(key: Key | None = None, *, conflict_when_missing: bool = False) -> Iterator[None]:
    """Translate client errors raised inside into the kv tree, the original chained as the cause.

    *conflict_when_missing*: a 404 means the record vanished under a versioned write (Kuma: Conflict).
    """
    try:
        yield
    except KVError:
        raise
    except ApiException as exc:
        status = status_of(exc)
        reason, message = status.get("reason", exc.reason or ""), status.get("message", "")
        code = exc.status or 0
        if code == 404 and key is not None:
            raise (Conflict.of(key) if conflict_when_missing else NotFound.of(key)) from exc
        if code == 409 and key is not None:
            raise (AlreadyExists.of(key) if reason == "AlreadyExists" else Conflict.of(key)) from exc
        if code == 413 or (code == 500 and _TOO_LARGE.search(message)):
            raise Invalid(too_large(said=f"{code} {message or reason}".strip()), key=key) from exc
        if code == 422:
            raise Invalid(message or reason or "the API server refused the object", key=key) from exc
        if code in (0, 429) or code >= 500:
            raise Unavailable(f"kubernetes unavailable: {code} {reason}: {message}".strip(), key=key) from exc
        raise KVError(f"kubernetes error: {code} {reason}: {message}".strip(), key=key) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unavailable(f"kubernetes unavailable: {type(exc).__name__}: {exc}", key=key) from exc


def expired(exc: BaseException) -> bool:
    """Whether *exc* is the API server's 410 Gone: the resourceVersion asked for was compacted away."""
    return isinstance(exc, ApiException) and exc.status == 410
