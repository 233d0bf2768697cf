"""The fault tests' own tools catch what they must (no PostgreSQL needed).

Lost or altered writes, stray error types, and a proxy that really resets, blackholes and restores.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import kv
from kv.drivers.memory import MemoryDriver
from tests.faults.harness import MESH, TYPES, Load
from tests.faults.proxy import Proxy


class FlakyStore(kv.Store):
    """A memory store whose every *every*-th update raises *error*, after applying it if *applied*."""

    def __init__(self, error: Exception | None = None, *, every: int = 7, applied: bool = False) -> None:
        super().__init__(MemoryDriver(), catalog=TYPES.catalog())
        self.error, self.every, self.applied, self.calls = error, every, applied, 0

    def update(self, record: kv.Record, **kwargs: Any) -> kv.Record:
        self.calls += 1
        if self.error is not None and self.calls % self.every == 0:
            if self.applied:
                super().update(record, **kwargs)
            raise self.error
        return super().update(record, **kwargs)


def _rows(store: kv.Store) -> dict[str, tuple[str, Any]]:
    return {r.key.name: (r.version, r.spec) for r in store.list(TYPES.item, mesh=MESH).items}


def _loaded(store: kv.Store) -> Load:
    load = Load(store, writers=3)
    load.start()
    time.sleep(0.2)
    load.stop(5)
    return load


@pytest.mark.parametrize("applied", [False, True])
def test_unavailable_writes_applied_or_not_leave_a_consistent_history(applied: bool) -> None:
    store = FlakyStore(kv.Unavailable("postgres unavailable: test"), applied=applied)
    load = _loaded(store)
    load.check_durable(_rows(store))
    assert load.summary()["unavailable"] > 0
    assert not load.unexpected


def test_another_error_type_is_reported() -> None:
    load = _loaded(FlakyStore(kv.Conflict("resource conflict: test")))
    assert any(text.startswith("update: Conflict") for text in load.unexpected)


@pytest.mark.parametrize("tamper", ["delete", "alter"])
def test_a_lost_or_altered_write_is_caught(tamper: str) -> None:
    store = FlakyStore()
    load = _loaded(store)
    rows = _rows(store)
    if tamper == "delete":
        del rows["w1-2"]
    else:
        version, spec = rows["w1-2"]
        rows["w1-2"] = (version, {**spec, "seq": -1})
    with pytest.raises(AssertionError, match="w1-2"):
        load.check_durable(rows)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    """An echo server on a free loopback port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            while data := connection.recv(1024):
                connection.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                threading.Thread(target=serve, args=(server.accept()[0],), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()
    stop.set()
    thread.join(5)
    server.close()


def _client(proxy: Proxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5)


def _echoes(client: socket.socket, data: bytes = b"ping") -> bool:
    try:
        client.sendall(data)
        return client.recv(1024) == data
    except (TimeoutError, OSError):
        return False


def test_the_proxy_forwards_resets_blackholes_and_restores(echo: tuple[str, int]) -> None:
    proxy = Proxy(echo)
    try:
        with _client(proxy) as first:
            assert _echoes(first)
            proxy.reset()
            assert not _echoes(first)
            try:
                refused = _client(proxy)
            except OSError:
                pass  # reset while connecting
            else:
                with refused:
                    assert not _echoes(refused)
        proxy.restore()
        with _client(proxy) as resumed, _client(proxy) as forgotten:
            assert _echoes(resumed)
            assert _echoes(forgotten)
            proxy.blackhole()
            assert not _echoes(resumed)  # timed out: nothing came back
            with _client(proxy) as held:
                assert not _echoes(held)
            proxy.restore()
            assert resumed.recv(1024) == b"ping"  # the answer held up by the blackhole, then it flows
            assert _echoes(resumed)
            proxy.blackhole()
            proxy.restore(resume=False)
            assert not _echoes(forgotten)
            with _client(proxy) as fresh:
                assert _echoes(fresh)
    finally:
        proxy.close()
