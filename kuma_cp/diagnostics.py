"""The diagnostics server's routes (Kuma's ``pkg/diagnostics``, port 5680): probes and metrics.

- ``GET /healthy``: 200 while the process serves at all (the liveness probe); empty body.
- ``GET /ready``: 200 when the control plane is ready, else 503 (the readiness probe); empty body.
- ``GET /metrics``: the Prometheus text format.

This module builds the ASGI app only; whoever runs kuma-cp serves it (uvicorn on
``diagnostics.serverPort``). The handlers are plain functions, run on Starlette's thread pool, so a slow
readiness check or scrape never blocks the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kuma_cp.metrics import CONTENT_TYPE, Metrics

__all__ = ["diagnostics_app"]

log = logging.getLogger("kuma-cp.diagnostics")


def diagnostics_app(metrics: Metrics, ready: Callable[[], bool]) -> Starlette:
    """The diagnostics app: ``/healthy``, ``/ready`` (from *ready*) and ``/metrics`` (from *metrics*).

    Args:
        metrics: what ``/metrics`` renders.
        ready: whether every component is ready; called on each ``/ready`` (an exception counts as not
            ready, and is logged).
    """

    def healthy(request: Request) -> Response:
        return Response(status_code=200)

    def readiness(request: Request) -> Response:
        try:
            is_ready = bool(ready())
        except Exception:
            log.exception("readiness check failed")
            is_ready = False
        return Response(status_code=200 if is_ready else 503)

    def scrape(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/healthy", healthy, methods=["GET"]),
            Route("/ready", readiness, methods=["GET"]),
            Route("/metrics", scrape, methods=["GET"]),
        ]
    )
