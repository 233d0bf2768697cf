"""The Kubernetes driver's own limits: client-go's token bucket, and objects too large for etcd.

The bucket runs on a fake clock (no test sleeps); the size limit is checked before sending and, when an
object is sent anyway, the API server's answers (etcd's 500, gRPC's 500, the 413) are translated on the
real API server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

import kv
from kv.drivers.k8s import Kind, KubernetesDriver, crd_manifest
from kv.drivers.k8s.errors import translate_errors
from kv.drivers.k8s.limits import DEFAULT_BURST, DEFAULT_QPS, MAX_OBJECT_BYTES, RateLimiter, check_size
from tests.conftest import install_crds, k8s_kubeconfig

KEY = kv.Key("Blob", "", "b-1")


class FakeClock:
    """A clock that moves only when slept on (or told to); records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(qps: float, burst: int) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(qps, burst, clock=clock, sleep=clock.sleep), clock


# --- RateLimiter ----------------------------------------------------------------------------------------


def test_a_full_bucket_lets_a_burst_through_then_paces_at_qps() -> None:
    bucket, clock = limiter(10, 3)
    for _ in range(3):
        bucket.acquire()
    assert clock.sleeps == []  # the bucket starts full, as x/time/rate's
    bucket.acquire()
    bucket.acquire()
    assert clock.sleeps == pytest.approx([0.1, 0.1])
    clock.now += 10  # idle: the bucket refills, but never above burst
    for _ in range(3):
        bucket.acquire()
    assert len(clock.sleeps) == 2
    bucket.acquire()
    assert clock.sleeps[-1] == pytest.approx(0.1)


def test_waiters_reserve_in_order_so_a_stream_gets_exactly_qps() -> None:
    bucket, clock = limiter(4, 1)
    bucket.acquire()
    # Several callers asking at once each reserve the next slot: 0.25 s, 0.5 s, 0.75 s away.
    delays = [bucket._reserve(wait=True) for _ in range(3)]
    assert delays == pytest.approx([0.25, 0.5, 0.75])
    assert not bucket.try_acquire()  # in debt: nothing to take without waiting
    clock.now += 1.0
    assert bucket.try_acquire()


def test_zero_means_client_gos_defaults_and_a_negative_rate_no_limit() -> None:
    bucket, _ = limiter(0, 0)
    assert (
        (bucket.qps, bucket.burst, bucket.unlimited)
        == (DEFAULT_QPS, DEFAULT_BURST, False)
        == (5.0, 10, False)
    )
    for qps in (-1, float("inf")):
        free, clock = limiter(qps, 0)
        for _ in range(10_000):
            free.acquire()
        assert free.unlimited
        assert clock.sleeps == []
        assert free.try_acquire()
        assert repr(free) == "RateLimiter(unlimited)"
    assert repr(limiter(100, 100)[0]) == "RateLimiter(qps=100, burst=100)"


def test_a_negative_burst_is_refused_not_a_limiter_that_blocks_forever() -> None:
    with pytest.raises(ValueError, match="burst must be greater than 0"):
        RateLimiter(10, -1)
    with pytest.raises(ValueError, match="qps"):
        RateLimiter(float("nan"), 1)
    assert RateLimiter(-1, -1).unlimited  # no limiter at all: the burst does not matter


def test_a_clock_that_goes_backwards_neither_refills_nor_refunds() -> None:
    bucket, clock = limiter(1, 1)
    bucket.acquire()
    clock.now -= 100
    assert not bucket.try_acquire()
    clock.now += 101  # one second after the first take, by the latest time seen
    assert bucket.try_acquire()


def test_the_bucket_is_thread_safe_on_the_real_clock() -> None:
    bucket = RateLimiter(200, 20)
    started = time.monotonic()

    def take_ten() -> None:
        for _ in range(10):
            bucket.acquire()

    threads = [threading.Thread(target=take_ten) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # 80 tokens: 20 at once, then 60 at 200 a second = 0.3 s; a lost update would make it faster.
    assert 0.27 < elapsed < 2.0


# --- check_size -----------------------------------------------------------------------------------------


def _body(spec_bytes: int) -> dict[str, Any]:
    return {
        "apiVersion": "kv.test/v1",
        "kind": "Blob",
        "metadata": {"name": "b-1"},
        "spec": {"x": "a" * spec_bytes},
    }


def test_check_size_measures_compact_utf8_json_against_etcds_limit() -> None:
    overhead = len(json.dumps(_body(0), separators=(",", ":")).encode())
    check_size(_body(MAX_OBJECT_BYTES - overhead), KEY)  # exactly at the limit
    with pytest.raises(kv.Invalid) as refused:
        check_size(_body(MAX_OBJECT_BYTES - overhead + 1), KEY)
    assert refused.value.key == KEY
    assert str(refused.value) == (
        "invalid: the object is too large for the Kubernetes API server: "
        f"{MAX_OBJECT_BYTES + 1} bytes as JSON, over the limit of 1572864 bytes (etcd's maximum request size)"
    )
    # Characters are not bytes: 600k three-byte characters are 1.8 MB.
    with pytest.raises(kv.Invalid, match="1800"):
        check_size({"spec": {"x": "€" * 600_000}}, None)
    check_size({"spec": {"x": "€" * 500_000}}, None)


# --- the API server's answers ---------------------------------------------------------------------------


def _api_exception(status: int, message: str) -> ApiException:
    exc = ApiException(status=status, reason="Internal Server Error")
    exc.body = json.dumps({"kind": "Status", "status": "Failure", "message": message, "code": status})
    return exc


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "etcdserver: request is too large"),
        (
            500,
            "rpc error: code = ResourceExhausted desc = "
            "trying to send message larger than max (2500305 vs. 2097152)",
        ),
        (413, "Request entity too large: limit is 3145728"),
    ],
)
def test_too_large_answers_are_invalid_not_unavailable(status: int, message: str) -> None:
    with pytest.raises(kv.Invalid) as refused, translate_errors(KEY):
        raise _api_exception(status, message)
    assert str(refused.value) == (
        "invalid: the object is too large for the Kubernetes API server "
        f"(the limit is 1572864 bytes, etcd's maximum request size): {status} {message}"
    )
    assert refused.value.key == KEY
    assert not refused.value.retryable
    with pytest.raises(kv.Unavailable), translate_errors(KEY):  # any other 500 stays transient
        raise _api_exception(500, "etcdserver: leader changed")


BLOB = Kind(type="Blob", plural="blobs", scope="cluster", mesh_scoped=False, group="limits.kv.kuma.io")


@pytest.fixture(scope="module")
def blob_api() -> Iterator[Any]:
    kubeconfig = k8s_kubeconfig()
    install_crds(kubeconfig, [crd_manifest(BLOB)])
    api = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    yield client.CustomObjectsApi(api)
    api.close()


@pytest.mark.k8s
@pytest.mark.parametrize(
    ("size", "said"), [(1_600_000, "etcdserver: request is too large"), (3_200_000, "413")]
)
def test_the_real_api_server_refusing_a_large_object_is_invalid(blob_api: Any, size: int, said: str) -> None:
    body = _body(size) | {"apiVersion": BLOB.api_version}
    with pytest.raises(kv.Invalid, match="the object is too large") as refused, translate_errors(KEY):
        blob_api.create_cluster_custom_object(BLOB.group, BLOB.version, BLOB.plural, body)  # no check_size
    assert said in str(refused.value)


@pytest.mark.k8s
def test_the_driver_refuses_a_large_record_before_sending_it(blob_api: Any) -> None:
    driver = KubernetesDriver.from_url(kinds=[BLOB], kubeconfig=k8s_kubeconfig(), system_namespace="default")
    try:
        store = kv.Store(driver)
        with pytest.raises(kv.Invalid, match=r"the object is too large .*: \d+ bytes as JSON"):
            # spec and status are each within kv's 1 MiB, together over etcd's 1.5 MiB
            store.create(kv.Record(key=KEY, spec={"x": "a" * 900_000}, status={"y": "b" * 900_000}))
        with pytest.raises(ApiException) as missing:  # nothing was sent
            blob_api.get_cluster_custom_object(BLOB.group, BLOB.version, BLOB.plural, KEY.name)
        assert missing.value.status == 404
    finally:
        driver.close()


@pytest.mark.k8s
def test_the_driver_translates_the_servers_refusal_when_the_check_lets_one_through(
    blob_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kv.drivers.k8s import driver as driver_module

    monkeypatch.setattr(driver_module, "check_size", lambda body, key: None)  # as if the check missed it
    driver = KubernetesDriver.from_url(kinds=[BLOB], kubeconfig=k8s_kubeconfig(), system_namespace="default")
    try:
        with pytest.raises(
            kv.Invalid, match=r"too large .*: 500 etcdserver: request is too large"
        ) as refused:
            kv.Store(driver).create(
                kv.Record(key=KEY, spec={"x": "a" * 800_000}, status={"y": "b" * 800_000})
            )
        assert refused.value.key == KEY
    finally:
        driver.close()
