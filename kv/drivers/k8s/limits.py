"""What the Kubernetes driver holds itself to: the client's request rate, and the size of an object.

`RateLimiter` is client-go's client-side throttle (``flowcontrol.NewTokenBucketRateLimiter``, on
``golang.org/x/time/rate``): a bucket of *burst* tokens, full at the start, refilled at *qps* tokens a
second; each request takes one, waiting for it if the bucket is empty. Waiters reserve their token when
they ask (the bucket may go below zero), so they are served in the order they asked and a steady
stream of callers gets exactly *qps* requests a second. What the two numbers mean at the edges is
client-go's (``rest.RESTClientFor``), which is what Kuma's ``clientConfig`` documents:

- ``qps == 0`` is client-go's default, 5 a second; ``burst == 0`` its default, 10;
- a negative *qps* (or an infinite one) is no limit at all, as client-go builds no limiter when the
  rate is not positive (kuma-cp's configuration refuses a negative rate before it gets here);
- a negative *burst* with a positive rate is a `ValueError`: client-go's limiter would block every
  request forever (x/time/rate grants nothing above its burst).

`check_size` refuses, before anything is sent, an object the API server could never store: etcd's
default ``--max-request-bytes`` is 1.5 MiB, and an object over it comes back as a 500
(``etcdserver: request is too large``) that would otherwise read as a transient failure.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kv.errors import Invalid
from kv.model import Key

__all__ = ["DEFAULT_BURST", "DEFAULT_QPS", "MAX_OBJECT_BYTES", "RateLimiter", "check_size", "too_large"]

DEFAULT_QPS = 5.0
"""client-go's ``rest.DefaultQPS``: the rate a ``qps`` of 0 stands for."""
DEFAULT_BURST = 10
"""client-go's ``rest.DefaultBurst``: the burst a ``burst`` of 0 stands for."""
MAX_OBJECT_BYTES = 1572864
"""etcd's default maximum request size (1.5 MiB), which bounds every object the API server stores."""


class RateLimiter:
    """A thread-safe token bucket with client-go's semantics; `acquire` before every request.

    *clock* and *sleep* (``time.monotonic`` and ``time.sleep``) are for tests.
    """

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if math.isnan(qps):
            raise ValueError("qps must be a number")
        qps = DEFAULT_QPS if qps == 0 else float(qps)
        burst = DEFAULT_BURST if burst == 0 else burst
        self.unlimited = qps < 0 or math.isinf(qps)
        if burst < 0 and not self.unlimited:
            raise ValueError("burst must be greater than 0 when qps is greater than 0")
        self.qps, self.burst = qps, burst
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)  # x/time/rate: a new limiter's bucket is full
        self._at = clock()

    def _reserve(self, *, wait: bool) -> float | None:
        """Take a token (going into debt if *wait*); the seconds until it is due, or None if refused."""
        with self._lock:
            now = self._clock()
            # Time never runs backwards here, even if the clock did: no refill then, no refund.
            self._tokens = min(float(self.burst), self._tokens + max(0.0, now - self._at) * self.qps)
            self._at = max(self._at, now)
            if self._tokens < 1 and not wait:
                return None
            self._tokens -= 1
            return max(0.0, -self._tokens / self.qps)

    def acquire(self) -> None:
        """Block until a request may be made (client-go's ``Accept``)."""
        if self.unlimited:
            return
        delay = self._reserve(wait=True)
        if delay:
            self._sleep(delay)

    def try_acquire(self) -> bool:
        """Take a token if one is there now, without waiting (client-go's ``TryAccept``)."""
        return self.unlimited or self._reserve(wait=False) is not None

    def __repr__(self) -> str:
        limit = "unlimited" if self.unlimited else f"qps={self.qps:g}, burst={self.burst}"
        return f"RateLimiter({limit})"


def too_large(size: int | None = None, said: str = "") -> str:
    """The one wording of "the object is too large": with its encoded *size*, or what the server *said*."""
    what, limit = "the object is too large for the Kubernetes API server", f"{MAX_OBJECT_BYTES} bytes"
    if size is not None:
        return f"{what}: {size} bytes as JSON, over the limit of {limit} (etcd's maximum request size)"
    return f"{what} (the limit is {limit}, etcd's maximum request size): {said}"


def check_size(body: Mapping[str, Any], key: Key | None) -> None:
    """Raise `Invalid` when *body*, encoded as the API server stores it, exceeds `MAX_OBJECT_BYTES`.

    The size is that of compact UTF-8 JSON, which is how the API server keeps a custom object in etcd.
    The server adds some metadata of its own (uid, timestamps, managed fields: a few hundred bytes), so
    an object this lets through by less than that may still be refused; that refusal is translated to
    the same `Invalid` (`kv.drivers.k8s.errors`).
    """
    # Each character is at least one byte: a body whose characters are within the limit is too.
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= MAX_OBJECT_BYTES // 4:
        return
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_OBJECT_BYTES:
        raise Invalid(too_large(size), key=key)
