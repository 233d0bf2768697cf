"""``kuma-cp run``: load the config, open the store it names, serve until SIGTERM/SIGINT, stop cleanly."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from importlib import metadata

from kuma_cp.config import Config
from kuma_cp.loader import redacted
from kuma_cp.runtime import Runtime
from kuma_cp.stores import SetupError

__all__ = ["SetupError", "run", "version"]

log = logging.getLogger("kuma-cp.run")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set *stop* on SIGTERM or SIGINT while inside; restore the previous handlers after."""
    previous = {}

    def handle(signum: int, _frame: object) -> None:
        log.info("received signal %s, stopping", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(config: Config, *, stop: threading.Event | None = None) -> None:
    """Run the control plane until *stop* is set or the process gets SIGTERM/SIGINT.

    Raises:
        SetupError: the store could not be opened; nothing was started.
    """
    stop = stop or threading.Event()
    log.info("starting Control Plane (version %s)", version())
    log.info("effective configuration: %s", json.dumps(redacted(config), sort_keys=True))
    runtime = Runtime(config, version=version())
    try:
        runtime.start()
    except SetupError as exc:
        log.error("unable to set up Control Plane runtime: %s", exc)
        raise
    in_main = threading.current_thread() is threading.main_thread()
    with _stop_on_signals(stop) if in_main else nullcontext():
        log.info("starting Control Plane runtime (store %s)", config.store.type)
        stop.wait()
        log.info("stopping without error, waiting for all components to stop")
    runtime.stop()
    log.info("all components have stopped")


def version() -> str:
    """The installed kuma-store version (``unknown`` when not installed)."""
    try:
        return metadata.version("kuma-store")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "unknown"
