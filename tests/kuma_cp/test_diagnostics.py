"""kuma_cp.diagnostics: Kuma's /healthy, /ready and /metrics, served in-process through ASGI.

httpx's ASGI transport rather than Starlette's TestClient, which warns that its httpx support is deprecated
(and the test run turns warnings into errors).
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from starlette.applications import Starlette

from kuma_cp.diagnostics import diagnostics_app
from kuma_cp.metrics import Metrics


def _get(app: Starlette, *paths: str, method: str = "GET") -> list[httpx.Response]:
    async def fetch() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://diagnostics") as client:
            return [await client.request(method, path) for path in paths]

    return asyncio.run(fetch())


def test_healthy_is_always_200_with_an_empty_body() -> None:
    app = diagnostics_app(Metrics(), lambda: False)
    (response,) = _get(app, "/healthy")
    assert response.status_code == 200
    assert response.content == b""


def test_ready_follows_the_readiness_check() -> None:
    ready = threading.Event()
    app = diagnostics_app(Metrics(), ready.is_set)
    (before,) = _get(app, "/ready")
    ready.set()
    (after,) = _get(app, "/ready")
    assert (before.status_code, before.content) == (503, b"")
    assert (after.status_code, after.content) == (200, b"")


def test_a_failing_readiness_check_is_not_ready() -> None:
    def broken() -> bool:
        raise RuntimeError("component registry gone")

    (response,) = _get(diagnostics_app(Metrics(), broken), "/ready")
    assert response.status_code == 503


def test_metrics_are_the_prometheus_text() -> None:
    metrics = Metrics()
    metrics.store_conflicts.labels("Mesh").inc()
    metrics.watch_leader(lambda: True)
    (response,) = _get(diagnostics_app(metrics, lambda: True), "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = response.text.splitlines()
    assert 'store_conflicts{resource_type="Mesh"} 1.0' in lines
    assert "leader 1.0" in lines
    assert response.content == metrics.render()


def test_only_get_on_known_paths() -> None:
    app = diagnostics_app(Metrics(), lambda: True)
    (missing,) = _get(app, "/nope")
    (posted,) = _get(app, "/healthy", method="POST")
    (head,) = _get(app, "/ready", method="HEAD")
    assert missing.status_code == 404
    assert posted.status_code == 405
    assert head.status_code == 200
