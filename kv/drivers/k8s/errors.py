"""The one place where the Kubernetes client's errors become kv errors (kopf's ``check_response`` shape).

The API server's Status payload (reason, message) is kept in the kv error's message; no ApiException or
urllib3 error escapes a driver call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kv.errors import AlreadyExists, Conflict, Invalid, KVError, NotFound, Unavailable
from kv.model import Key

__all__ = ["status_of", "translate_errors"]


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
        if code == 422:
            raise Invalid(message or reason or "the API server refused the object", key=key) from exc
        if code in (0, 429) or code >= 500:
            raise Unavailable(f"kubernetes unavailable: {code} {reason}: {message}".strip(), key=key) from exc
        raise KVError(f"kubernetes error: {code} {reason}: {message}".strip(), key=key) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise Unavailable(f"kubernetes unavailable: {type(exc).__name__}: {exc}", key=key) from exc
