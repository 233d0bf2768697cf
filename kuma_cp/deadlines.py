"""Go net/http's server deadlines and a connection cap, for uvicorn's h11 protocol.

uvicorn arms one timer only: the keep-alive wait after a response. A connection that never finishes its
request head (slowloris), or sends its body a byte a minute, stays open for ever and holds a file
descriptor. Kuma's API server (Go's `http.Server`) bounds every phase, and so does this protocol:

- ``read_header``: from the start of a request (a new connection, or the first byte after a keep-alive
  wait) until its head is complete; on TLS the handshake is bounded by it too (`kuma_cp.servers`);
- ``read``: from the same start until the whole request, body included, is read;
- ``write``: from the end of the head until the response is complete;
- ``idle``: the keep-alive wait between requests (uvicorn's ``timeout_keep_alive``).

A deadline that passes closes the connection, as Go does. Zero turns one off; as in Go, a zero
``read_header`` falls back to ``read``, and a zero ``idle`` to ``read``.

``max_connections`` caps the open connections of one server: one accepted beyond it is closed at once,
before it is read, so no client holds more than the cap of file descriptors. Zero means no cap.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["Deadlines", "protocol"]


@attrs.frozen
class Deadlines:
    """The deadlines of one server, in seconds (0: none), and its connection cap (0: none)."""

    read_header: float = 1.0
    read: float = 10.0
    write: float = 30.0
    idle: float = 120.0
    max_connections: int = 0

    @property
    def header_s(self) -> float:
        """The head's deadline in effect: ``read`` when ``read_header`` is zero, as in Go."""
        return self.read_header or self.read

    @property
    def idle_s(self) -> float:
        """The keep-alive wait in effect: ``read`` when ``idle`` is zero, as in Go."""
        return self.idle or self.read


class _DeadlineProtocol(H11Protocol):
    deadlines = Deadlines()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._phase = "idle"  # idle -> head -> body -> respond -> idle

    # Timers.
    def _arm(self, name: str, seconds: float) -> None:
        self._disarm(name)
        if seconds > 0:
            self._timers[name] = self.loop.call_later(seconds, self._expired)

    def _disarm(self, *names: str) -> None:
        for name in names or tuple(self._timers):
            timer = self._timers.pop(name, None)
            if timer is not None:
                timer.cancel()

    def _expired(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.close()

    def _request_started(self) -> None:
        self._phase = "head"
        self._arm("head", self.deadlines.header_s)
        self._arm("read", self.deadlines.read)

    def _track(self) -> None:
        """Move through the phases as h11 reads the client's side."""
        theirs = self.conn.their_state
        if self._phase in ("idle", "head") and theirs is not h11.IDLE:  # the head is complete
            if self._phase == "idle":  # a pipelined request, read from the buffer
                self._arm("read", self.deadlines.read)
            self._disarm("head")
            self._arm("write", self.deadlines.write)
            self._phase = "body"
        if self._phase == "body" and theirs is not h11.SEND_BODY:  # the request is read
            self._disarm("read")
            self._phase = "respond"

    # uvicorn's hooks.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cap = self.deadlines.max_connections
        if cap and len(self.connections) > cap:
            transport.abort()
            return
        self._request_started()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "idle" and self.conn.their_state is h11.IDLE:
            self._request_started()
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        self._track()

    def on_response_complete(self) -> None:
        self._disarm("write", "read", "head")
        self._phase = "idle"
        super().on_response_complete()


def protocol(deadlines: Deadlines) -> type[H11Protocol]:
    """An h11 protocol class for uvicorn's ``http`` option, bound to *deadlines*."""
    return type("KumaH11Protocol", (_DeadlineProtocol,), {"deadlines": deadlines})
