"""Go net/http's server deadlines and a connection cap, for uvicorn's httptools protocol.

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
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

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


class _DeadlineProtocol(HttpToolsProtocol):
    """The deadlines on httptools' parser callbacks.

    A request's read starts when its first byte arrives (`on_message_begin`; for a new connection, when
    it is accepted); its head ends at `on_headers_complete`, its body at `on_message_complete`, and its
    response at `on_response_complete`. uvicorn parses pipelined requests as they arrive and answers them
    in turn: the write deadline runs for the request being answered, armed again for the next one.
    """

    deadlines = Deadlines()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timers: dict[str, asyncio.TimerHandle] = {}

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
        self._arm("head", self.deadlines.header_s)
        self._arm("read", self.deadlines.read)

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

    def on_message_begin(self) -> None:
        if "head" not in self._timers:  # not the connection's first request, whose clock runs from accept
            self._request_started()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._disarm("head")
        if "write" not in self._timers:  # else a pipelined request, whose turn comes after the current one
            self._arm("write", self.deadlines.write)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm("read")
        super().on_message_complete()

    def on_response_complete(self) -> None:
        queued = bool(self.pipeline)
        self._disarm("write")
        super().on_response_complete()
        if queued and not self.transport.is_closing():  # the next request is being answered now
            self._arm("write", self.deadlines.write)


def protocol(deadlines: Deadlines) -> type[HttpToolsProtocol]:
    """An httptools protocol class for uvicorn's ``http`` option, bound to *deadlines*."""
    return type("KumaHttpToolsProtocol", (_DeadlineProtocol,), {"deadlines": deadlines})
