"""An in-test TCP proxy in front of a server, to cut the network without touching the server.

`Proxy` forwards every connection to the upstream address until told otherwise:

- `reset`: every open connection is reset (RST) on both sides, and new ones are reset at once;
- `blackhole`: nothing flows any more, in either direction, on open connections or on new ones (which are
  accepted and then left unanswered), as when packets go nowhere: readers wait until their own timeout;
- `restore`: forward again. Connections that were blackholed resume where they stopped, as TCP does after
  a network heals (unless an end gave up meanwhile), or with ``resume=False`` stay blackholed for good, as
  when a failover or a lost NAT entry forgot them without a reset: only timeouts find them out. Those
  accepted during the outage are reset.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading

__all__ = ["Proxy"]


def _reset(sock: socket.socket) -> None:
    """Close *sock* with a TCP RST rather than a FIN (linger on, zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Proxy:
    """A threaded TCP proxy on a free loopback port (`port`) to *upstream*; `close` when done."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.accepted = 0
        self._mode = "forward"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket, threading.Event]] = []  # event set: flowing
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._accept, name="fault-proxy", daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            if not select.select([self._server], [], [], 0.05)[0]:
                continue
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                if self._mode == "reset":
                    _reset(client)
                    continue
                if self._mode == "blackhole":
                    self._held.append(client)
                    continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            flowing = threading.Event()
            flowing.set()
            with self._lock:
                self._pairs.append((client, upstream, flowing))
            for source, target in ((client, upstream), (upstream, client)):
                pump = threading.Thread(target=self._pump, args=(source, target, flowing), daemon=True)
                self._threads.append(pump)
                pump.start()

    def _pump(self, source: socket.socket, target: socket.socket, flowing: threading.Event) -> None:
        try:
            while not self._closed.is_set():
                flowing.wait()  # blackholed: read nothing, so data waits in the kernel's buffers
                if not select.select([source], [], [], 0.05)[0]:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                flowing.wait()  # blackholed while reading: hold what was read
                target.sendall(data)
        except (OSError, ValueError):  # reset, or closed by the other direction
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the other direction's select

    def reset(self) -> None:
        """Reset every connection, and every new one until `restore`."""
        with self._lock:
            self._mode = "reset"
            pairs, self._pairs = self._pairs, []
            held, self._held = self._held, []
        for client, upstream, flowing in pairs:
            _reset(client)
            _reset(upstream)
            flowing.set()  # its pumps wake up to closed sockets, and end
        for sock in held:
            _reset(sock)

    def blackhole(self) -> None:
        """Let nothing through any more, on open connections or new ones, until `restore`."""
        with self._lock:
            self._mode = "blackhole"
            for _, _, flowing in self._pairs:
                flowing.clear()

    def restore(self, *, resume: bool = True) -> None:
        """Forward new connections again, and blackholed ones too if *resume*; reset those held meanwhile."""
        with self._lock:
            self._mode = "forward"
            held, self._held = self._held, []
            for _, _, flowing in self._pairs if resume else ():
                flowing.set()
        for sock in held:
            _reset(sock)

    def close(self) -> None:
        """Stop: reset every connection and stop listening; waits for the proxy's threads."""
        self._closed.set()
        self.reset()
        self._server.close()
        for thread in self._threads:
            thread.join(timeout=5)
