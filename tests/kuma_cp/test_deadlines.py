"""The API servers' deadlines and connection cap (`kuma_cp.deadlines`), on a real uvicorn over real sockets.

Deadlines here are a few tenths of a second so that each test is quick; the flood test uses Kuma's own
`readHeaderTimeout` (1 s).
"""

from __future__ import annotations

import asyncio
import resource
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from kuma_cp.config import load
from kuma_cp.runtime import api_deadlines
from kuma_cp.servers import Deadlines, Server
from tests.kuma_cp.e2e import free_ports

BODY = b'{"ok":true}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI app: reads the whole body, sleeps ``?sleep=<s>`` if asked, answers `BODY`."""
    while (await receive()).get("more_body"):
        pass
    if scope["query_string"].startswith(b"sleep="):
        await asyncio.sleep(float(scope["query_string"][6:]))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


@contextmanager
def serve(deadlines: Deadlines) -> Iterator[int]:
    port = free_ports(1)[0]
    server = Server("test", app, "127.0.0.1", port, grace=1.0, deadlines=deadlines)
    server.start()
    try:
        yield port
    finally:
        server.stop()


@pytest.fixture
def port() -> Iterator[int]:
    with serve(Deadlines(read_header=0.3, read=0.8, write=1.2, idle=0.6, max_connections=0)) as port:
        yield port


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def closed_after(sock: socket.socket, limit: float = 5.0) -> tuple[float, bytes]:
    """Seconds until the server closes *sock*, and what it sent before."""
    started, received = time.monotonic(), b""
    sock.settimeout(limit)
    while chunk := sock.recv(65536):
        received += chunk
    return time.monotonic() - started, received


def request(sock: socket.socket, path: str = "/") -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    answer = b""
    while not answer.endswith(BODY):
        chunk = sock.recv(65536)
        assert chunk, f"closed after {answer!r}"
        answer += chunk
    return answer


def test_a_connection_that_sends_nothing_is_closed_at_the_header_deadline(port: int) -> None:
    with connect(port) as sock:
        waited, sent = closed_after(sock)
    assert 0.25 <= waited < 0.6
    assert sent == b""


def test_an_unfinished_request_head_is_closed_at_the_header_deadline(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for _ in range(2):  # a header line now and then does not extend it
            time.sleep(0.1)
            sock.sendall(b"X-Slow: 1\r\n")
        waited, sent = closed_after(sock)
    assert waited + 0.2 < 0.6
    assert sent == b""


def test_a_trickled_body_is_closed_at_the_read_deadline(port: int) -> None:
    with connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        try:
            for _ in range(20):  # a byte every 0.1 s: past the head deadline, under the read deadline
                sock.sendall(b"x")
                time.sleep(0.1)
        except OSError:
            pass
        waited, sent = closed_after(sock)
    assert 0.75 <= time.monotonic() - started < 1.5, waited
    assert sent == b""


def test_a_response_later_than_the_write_deadline_closes_the_connection(port: int) -> None:
    with connect(port) as sock:
        assert request(sock, "/?sleep=0.1").startswith(b"HTTP/1.1 200")  # in time
        sock.sendall(b"GET /?sleep=2 HTTP/1.1\r\nHost: x\r\n\r\n")
        waited, sent = closed_after(sock)
    assert 1.1 <= waited < 1.8  # from the end of the head
    assert sent == b""


def test_a_kept_alive_connection_serves_requests_until_it_idles_out(port: int) -> None:
    with connect(port) as sock:
        for _ in range(3):  # pauses longer than the header deadline, shorter than the idle one
            assert request(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.45)
        waited, sent = closed_after(sock)
    assert waited < 0.4  # 0.6 s of idle: 0.45 s were already spent
    assert sent == b""


def test_pipelined_requests_are_all_answered(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        answer = b""
        while answer.count(BODY) < 3:
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
    assert answer.count(b"HTTP/1.1 200") == 3


def test_no_deadlines_at_all_keep_a_connection_open() -> None:
    with serve(Deadlines(read_header=0, read=0, write=0, idle=0)) as port, connect(port) as sock:
        assert request(sock).startswith(b"HTTP/1.1 200")
        time.sleep(0.3)
        assert request(sock).startswith(b"HTTP/1.1 200")  # not closed after the first response


def test_deadlines_of_zero_fall_back_as_in_go() -> None:
    assert Deadlines(read_header=0, read=7, idle=0).header_s == 7
    assert Deadlines(read_header=0, read=7, idle=0).idle_s == 7
    assert Deadlines(read_header=0, read=0, write=0, idle=0).header_s == 0


def test_connections_beyond_the_cap_are_closed_at_once() -> None:
    with serve(Deadlines(read_header=5, read=5, max_connections=4)) as port:
        held = [connect(port) for _ in range(4)]
        try:
            time.sleep(0.1)
            with connect(port) as refused:
                waited, sent = closed_after(refused, 2.0)
            assert waited < 0.5
            assert sent == b""
            assert request(held[0]).startswith(b"HTTP/1.1 200")  # those within it are served
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        with connect(port) as sock:
            assert request(sock).startswith(b"HTTP/1.1 200")  # room again


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_a_flood_of_half_open_connections_is_closed_on_time_while_clients_are_served() -> None:
    flood = 3000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * flood + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * flood + 500), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 2 * flood + 200, "too few file descriptors"
    with serve(Deadlines()) as port:  # Kuma's: readHeaderTimeout 1 s
        rss_before = _rss_kib()
        latencies: list[float] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                started = time.monotonic()
                with connect(port) as sock:
                    request(sock)
                latencies.append(time.monotonic() - started)
                time.sleep(0.02)

        worker = threading.Thread(target=client)
        worker.start()
        socks = []
        try:
            for _ in range(flood):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
                socks.append(sock)
            opened = time.monotonic()
            deadline = opened + 4.0
            open_ones = socks
            while open_ones and time.monotonic() < deadline:
                time.sleep(0.1)
                open_ones = [s for s in open_ones if not _closed_by_peer(s)]
            assert not open_ones, f"{len(open_ones)} of {flood} half-open connections still open after 4 s"
            rss_growth_mib = (_rss_kib() - rss_before) / 1024
        finally:
            stop.set()
            worker.join(10)
            for sock in socks:
                sock.close()
        assert len(latencies) > 10
        assert max(latencies) < 1.0, sorted(latencies)[-5:]
        assert rss_growth_mib < 150, rss_growth_mib


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_the_api_servers_take_kumas_settings() -> None:
    config = load(
        environ={
            "KUMA_API_SERVER_READ_HEADER_TIMEOUT": "2s",
            "KUMA_API_SERVER_READ_TIMEOUT": "0",
            "KUMA_API_SERVER_WRITE_TIMEOUT": "1m",
            "KUMA_API_SERVER_IDLE_TIMEOUT": "500ms",
            "KUMA_API_SERVER_MAX_CONNECTIONS": "7",
        }
    )
    assert api_deadlines(config.api_server) == Deadlines(
        read_header=2.0, read=0.0, write=60.0, idle=0.5, max_connections=7
    )
    assert api_deadlines(load(environ={}).api_server) == Deadlines(1.0, 10.0, 30.0, 120.0, 4096)
