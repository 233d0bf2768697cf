"""Change events from PostgreSQL: LISTEN on Kuma's ``resource_events`` channel.

Kuma's trigger (``notify_event``, see ``schema/``) sends ``{"action": "INSERT|UPDATE|DELETE", "data":
{"name", "mesh", "type"}}`` for every row written, cascaded deletes included; PostgreSQL delivers
notifications at commit, in commit order, to every listening session, so events from other kuma-cp
instances on the same database arrive too. A lost connection is re-established with backoff; events sent
while it was down are lost (as in Kuma), so consumers resynchronise by listing.

A LISTEN connection only reads, so a network that silently drops packets would leave it waiting forever:
after a connection timeout (libpq ``connect_timeout``, default 5s) of silence the listener pings the server,
and a ping unanswered within that timeout counts as a lost connection.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from kv.drivers.postgres.errors import translate_errors
from kv.drivers.postgres.pool import TimedConnection
from kv.errors import Unavailable
from kv.model import Op, ResourceChanged

__all__ = ["Listener"]

log = logging.getLogger(__name__)
CHANNEL = "resource_events"
_OPS = {"INSERT": Op.CREATE, "UPDATE": Op.UPDATE, "DELETE": Op.DELETE}


def parse(payload: str) -> ResourceChanged | None:
    """The event in a notification payload, or None (logged) when it is not one of Kuma's."""
    try:
        message = json.loads(payload)
        data = message["data"]
        return ResourceChanged(_OPS[message["action"]], data["type"], data["mesh"], data["name"])
    except (ValueError, KeyError, TypeError):
        log.warning("skipping a malformed %s notification: %.200s", CHANNEL, payload)
        return None


class Listener:
    """A thread that holds one LISTEN connection and hands each event to *deliver*."""

    def __init__(
        self,
        params: Mapping[str, Any],
        deliver: Callable[[ResourceChanged], None],
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._params = dict(params)
        self._timeout = max(2.0, float(self._params.get("connect_timeout") or 5))  # libpq's minimum is 2
        self._deliver = deliver
        self._on_reconnect = on_reconnect
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kv-postgres-listener", daemon=True)

    def start(self, timeout: float) -> None:
        """Start listening; return once LISTEN is in effect, or raise `Unavailable` after *timeout*."""
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise Unavailable(f"postgres unavailable: could not LISTEN {CHANNEL} within {timeout}s")

    def _connect(self) -> TimedConnection:
        with translate_errors():
            connection = TimedConnection.connect(**self._params, autocommit=True)
            connection.answer_timeout = self._timeout
            connection.execute(f"LISTEN {CHANNEL}")
        return connection

    def _run(self) -> None:
        backoff = 0.1
        reconnecting = False
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    self._ready.set()
                    backoff = 0.1
                    if reconnecting and self._on_reconnect is not None:
                        self._on_reconnect()  # LISTEN is back; what was sent while it was down is lost
                    reconnecting = True
                    heard = time.monotonic()
                    while not self._stop.is_set():
                        for notify in connection.notifies(timeout=0.5):
                            heard = time.monotonic()
                            if (event := parse(notify.payload)) is not None:
                                self._deliver(event)
                        if time.monotonic() - heard >= self._timeout:  # silent: is the server still there?
                            with translate_errors():
                                connection.execute("SELECT 1")
                            heard = time.monotonic()
            except Exception as exc:  # reconnect whatever went wrong; the thread must not die
                log.warning("postgres listener lost its connection (%s); reconnecting in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def stop(self) -> None:
        """Stop listening and wait for the thread (at most about a second)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
