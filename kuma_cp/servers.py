"""HTTP servers in threads: uvicorn serving an ASGI app, started and stopped by the runtime.

Each server runs its own event loop in a thread, so the process's main thread is free to wait for
signals. Stopping asks uvicorn to stop accepting connections and to finish the requests in flight
(up to a grace period), as ``kuma-cp run`` must on SIGTERM.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import time
from typing import Any

import attrs
import uvicorn

from kuma_cp.deadlines import Deadlines, protocol

__all__ = ["TLS", "Deadlines", "Server", "ServerError"]

log = logging.getLogger("kuma-cp.server")


@attrs.frozen
class TLS:
    """A server's TLS: certificate and key files, the minimum version, optionally client certificates."""

    cert_file: str
    key_file: str
    minimum_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    client_ca_file: str = ""

    def uvicorn_options(self) -> dict[str, Any]:
        """The TLS settings for uvicorn."""
        options: dict[str, Any] = {"ssl_certfile": self.cert_file, "ssl_keyfile": self.key_file}
        if self.client_ca_file:
            options |= {"ssl_ca_certs": self.client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
        return options


def _new_loop() -> asyncio.AbstractEventLoop:
    """The event loop: uvloop's where it is installed (as uvicorn's ``loop="auto"`` picks), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ServerError(Exception):
    """A server could not start (e.g. its port is taken)."""


class Server:
    """One uvicorn server on *host*:*port*, run in a daemon thread, its connections bounded by *deadlines*."""

    def __init__(
        self,
        name: str,
        app: Any,
        host: str,
        port: int,
        *,
        grace: float = 3.0,
        tls: TLS | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        deadlines = deadlines or Deadlines()
        self.name = name
        self.address = f"{host}:{port}"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=protocol(deadlines),
            # a float works; no idle limit at all (idle and read both 0, as Go allows) is a very long one
            timeout_keep_alive=deadlines.idle_s or 10**9,  # type: ignore[arg-type]
            timeout_graceful_shutdown=int(grace) or 1,
            **({} if tls is None else tls.uvicorn_options()),
        )
        if tls is not None:
            config.load()  # builds the SSLContext, which then gets the minimum version
            assert config.ssl is not None
            config.ssl.minimum_version = tls.minimum_version
        self._server = uvicorn.Server(config)
        self._handshake_s = deadlines.header_s if tls is not None else 0.0
        self._thread = threading.Thread(target=self._serve, name=f"kuma-cp-{name}", daemon=True)
        self._failed: BaseException | None = None

    def _serve(self) -> None:
        loop = _new_loop()
        if self._handshake_s > 0:  # the TLS handshake counts against the header deadline, as in Go
            loop.create_server = functools.partial(  # type: ignore[method-assign]
                loop.create_server, ssl_handshake_timeout=self._handshake_s
            )
        try:
            loop.run_until_complete(self._server.serve())
            loop.run_until_complete(loop.shutdown_asyncgens())
        except BaseException as exc:  # uvicorn exits with SystemExit when it cannot bind
            self._failed = exc
        finally:
            loop.close()

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; raise `ServerError` if it is not listening within *timeout* seconds."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                raise ServerError(f"{self.name} server could not listen on {self.address}")
            time.sleep(0.01)
        log.info("%s server listening on %s", self.name, self.address)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, finish the requests in flight, and return when the thread has ended."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2)
