"""No lost update through the HTTP API: two ``kuma-cp run`` instances on one Postgres, many clients.

Clients of both instances increment a counter in a policy's spec by GET (``ETag``) then PUT with
``If-Match``, retrying on 412; the counter ends equal to the number of acknowledged PUTs, and the history
(ETag read, ETag written) passes the chain check of `kv.testing.linearizability`. Clients of both also
upsert distinct policies (PUT without ``If-Match``, retried on 5xx): every acknowledged one is there.
``KUMA_TEST_SOAK=<n>`` multiplies the increments and upserts by n.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from kv.errors import Conflict, NotFound, Unavailable
from kv.testing.history import History, Operation, Outcome
from kv.testing.linearizability import check_chain
from tests.kuma_cp.e2e import ControlPlane, migrated_pg_env

pytestmark = pytest.mark.postgres

SOAK = int(os.environ.get("KUMA_TEST_SOAK", "0") or 0) or 1
POLICIES = "/meshes/demo/meshtrafficpermissions"
COUNTER = f"{POLICIES}/counter"
RULES = [{"default": {"allow": [{"spiffeID": {"type": "Prefix", "value": "spiffe://demo"}}]}}]


def policy(name: str, value: dict[str, Any]) -> dict[str, Any]:
    """A valid Kuma 3.0 MeshTrafficPermission carrying *value* in its targetRef's labels (kept as stored)."""
    labels = {k: json.dumps(v) for k, v in value.items()}
    spec = {"targetRef": {"kind": "Dataplane", "labels": labels}, "rules": RULES}
    return {"type": "MeshTrafficPermission", "mesh": "demo", "name": name, "spec": spec}


def value_of(spec: dict[str, Any]) -> dict[str, Any]:
    """The value `policy` put in *spec*."""
    return {k: json.loads(v) for k, v in spec["targetRef"]["labels"].items()}


@pytest.fixture
def planes(pg_database: str) -> Iterator[list[ControlPlane]]:
    env = migrated_pg_env(pg_database)
    started = [ControlPlane(env), ControlPlane(env)]
    try:
        for plane in started:
            plane.wait_ready(timeout=60)
        yield started
    finally:
        for plane in started:  # both stop at once: each waits out its grace period
            if plane.process.poll() is None:
                plane.process.send_signal(signal.SIGTERM)
        for plane in started:
            plane.stop()


def clients(planes: list[ControlPlane], per_plane: int) -> list[httpx.Client]:
    return [
        httpx.Client(base_url=str(plane.api.base_url), timeout=30)
        for plane in planes
        for _ in range(per_plane)
    ]


def run_threads(work: Callable[[int, httpx.Client], None], every: list[httpx.Client]) -> None:
    failures: list[BaseException] = []

    def guarded(number: int, client: httpx.Client) -> None:
        try:
            with client:
                work(number, client)
        except BaseException as exc:  # reported below: a thread must not die silently
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(i, c), name=f"c{i}") for i, c in enumerate(every)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise AssertionError(f"{len(failures)} client(s) failed; first: {failures[0]!r}") from failures[0]


def send(history: History, op: Operation, request: Callable[[], httpx.Response]) -> httpx.Response | None:
    """Make the request and record how it ended; None when the outcome is unknown (5xx, no answer)."""
    try:
        response = request()
    except httpx.TransportError as exc:
        history.failed(op, Unavailable(str(exc)))
        return None
    if response.status_code in (200, 201):
        spec = value_of(response.json()["spec"]) if op.kind == "get" else op.value_in
        history.ok(op, version=response.headers["etag"].strip('"'), value=spec)
        return response
    if response.status_code in (404, 409, 412):
        history.failed(
            op, NotFound("404") if response.status_code == 404 else Conflict(str(response.status_code))
        )
        return response
    assert response.status_code >= 500, response.text  # anything else is the test's or the API's bug
    history.failed(op, Unavailable(str(response.status_code)))
    return None


def test_two_instances_on_one_database_lose_no_update(planes: list[ControlPlane]) -> None:
    """One test, two phases, to start the two instances once (about 10 s on a busy machine)."""
    assert planes[0].put("/meshes/demo", {"type": "Mesh", "name": "demo"}).status_code == 201
    if_match_increments_lose_nothing(planes)
    upserts_all_land(planes)


def if_match_increments_lose_nothing(planes: list[ControlPlane]) -> None:
    first = planes[0]
    history, ids = History(), itertools.count(1)
    create = history.invoke("create", COUNTER, value={"n": 0, "w": "w0", "prev": None})
    assert send(history, create, lambda: first.put(COUNTER, policy("counter", dict(create.value_in or {}))))
    increments = 10 * SOAK

    def increment(number: int, client: httpx.Client) -> None:
        done = 0
        while done < increments:
            read = history.invoke("get", COUNTER)
            got = send(history, read, lambda: client.get(COUNTER))
            if got is None or read.outcome is not Outcome.OK:
                continue
            spec, etag = value_of(got.json()["spec"]), got.headers["etag"]
            value = {"n": spec["n"] + 1, "w": f"c{number}.{next(ids)}", "prev": spec["w"]}
            write = history.invoke("update", COUNTER, version=etag.strip('"'), value=value)
            put = functools.partial(
                client.put, COUNTER, json=policy("counter", value), headers={"If-Match": etag}
            )
            send(history, write, put)
            done += write.outcome is Outcome.OK

    run_threads(increment, clients(planes, per_plane=3))
    counts = history.counts()
    final = value_of(planes[1].api.get(COUNTER).json()["spec"])["n"]
    unknown = counts.get("update unknown", 0)
    assert counts["update ok"] == 6 * increments
    assert counts["update ok"] <= final <= counts["update ok"] + unknown, (
        counts
    )  # no lost (or phantom) update
    assert counts.get("update fail", 0) > 0, f"the clients never raced: the test proved nothing: {counts}"
    report = check_chain(history)
    assert report.ok, report
    print(f"6 clients x {increments} increments over HTTP: {counts}")


def upserts_all_land(planes: list[ControlPlane]) -> None:
    acknowledged: list[str] = []

    def upsert(number: int, client: httpx.Client) -> None:
        for i in range(10 * SOAK):
            name = f"u{number}-{i}"
            for _ in range(20):  # retried on 5xx and on no answer: without If-Match a PUT is idempotent
                try:
                    response = client.put(f"{POLICIES}/{name}", json=policy(name, {"i": i}))
                except httpx.TransportError:
                    continue
                if response.status_code < 500:
                    break
            assert response.status_code in (200, 201), response.text
            acknowledged.append(name)

    run_threads(upsert, clients(planes, per_plane=2))
    for plane in planes:
        listed = plane.api.get(POLICIES, params={"size": 1000}).json()
        assert sorted(item["name"] for item in listed["items"] if item["name"] != "counter") == sorted(
            acknowledged
        )
    assert len(acknowledged) == 4 * 10 * SOAK
