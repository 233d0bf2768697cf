"""Section ``http``: GET and PUT of one Dataplane through a real ``kuma-cp run``, memory and Postgres.

The control plane runs as its own process on free loopback ports (localhost is admin, as by default);
the load comes from another process (`bench.api_client`), a few threads with keep-alive connections.
Every client thread GETs the same Dataplane; each PUTs its own (replacing it without ``If-Match``, 200):
concurrent PUTs of one resource without ``If-Match`` are 409 in Kuma and here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench import floor
from bench.common import ROOT, Sample, dataplane_spec, fmt, spread, summary, table
from tests.kuma_cp.e2e import free_ports, pg_env  # the e2e tests start kuma-cp the same way

PATH = "/meshes/default/dataplanes/bench-dp"
THREADS = 4
SIDES = ("kuma-cp", "floor")


@contextmanager
def control_plane(env: dict[str, str]) -> Iterator[str]:
    """A ready ``kuma-cp run`` with *env*; yields its API's base URL, stops it (SIGTERM) on the way out."""
    api, https, diagnostics = free_ports(3)
    work = tempfile.mkdtemp(prefix="kv-bench-cp-")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KUMA_")} | env
    environ |= {
        "KUMA_API_SERVER_HTTP_INTERFACE": "127.0.0.1",
        "KUMA_API_SERVER_HTTP_PORT": str(api),
        "KUMA_API_SERVER_HTTPS_INTERFACE": "127.0.0.1",
        "KUMA_API_SERVER_HTTPS_PORT": str(https),
        "KUMA_DIAGNOSTICS_SERVER_PORT": str(diagnostics),
        "KUMA_GENERAL_WORK_DIR": work,
    }
    log = open(os.path.join(work, "kuma-cp.log"), "w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "kuma_cp", "run"], env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"kuma-cp did not become ready:\n{log.read()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{diagnostics}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield f"http://127.0.0.1:{api}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def _document(name: str) -> dict[str, Any]:
    """The Dataplane both loads PUT, as kumactl sends it (no ``counter``: a field of kv's own benches)."""
    spec = {k: v for k, v in dataplane_spec().items() if k != "counter"}
    return {"type": "Dataplane", "mesh": "default", "name": name, **spec}


def _load(url: str, *, n: int, runs: int) -> dict[str, list[Sample]]:
    document = _document("bench-dp")
    for t in range(THREADS):  # GETs read bench-dp-0; thread t PUTs bench-dp-t
        body = document | {"name": f"bench-dp-{t}"}
        created = httpx.put(f"{url}{PATH}-{t}", json=body, timeout=10)
        if created.status_code != 201:
            raise RuntimeError(f"PUT {PATH}-{t}: {created.status_code} {created.text[:300]}")
    command = [sys.executable, "-m", "bench.api_client", url, PATH]
    command += ["--threads", str(THREADS), "--n", str(n), "--runs", str(runs)]
    stdin = json.dumps(document).encode()
    done = subprocess.run(command, input=stdin, capture_output=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the HTTP client failed:\n{done.stderr.decode()[-3000:]}")
    out = json.loads(done.stdout)
    return {m: [Sample(s["ops"], s["seconds"], s["latencies_us"]) for s in out[m]] for m in ("GET", "PUT")}


def run(dsn: str | None, *, quick: bool, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Each store's control plane in turn (never two at once: they would share the CPUs)."""
    n = 20 if quick else 2000
    stores: list[tuple[str, dict[str, str]]] = [("memory", {"KUMA_STORE_TYPE": "memory"})]
    if dsn is not None:
        stores.append(("postgres", pg_env(dsn)))
    rows, floors = [], []
    have_wrk = shutil.which("wrk") is not None
    if not have_wrk:
        log("!!! http: wrk is not installed (apt-get install wrk): no floor comparison")
    for name, env in stores:
        with control_plane(env) as url:
            samples = _load(url, n=n, runs=runs)
            if have_wrk:
                floors += _floor(url, name, seconds=1 if quick else 5, runs=runs, dsn=dsn)
        for method in ("GET", "PUT"):
            rows.append(
                {"store": name, "method": method, "client_threads": THREADS, **summary(samples[method])}
            )
        log(f"http: {name} done")
    return {"path": PATH, "rows": rows, "floor": floors if have_wrk else "wrk is not installed"}


def _floor(url: str, store: str, *, seconds: float, runs: int, dsn: str | None) -> list[dict[str, Any]]:
    """Wrk against kuma-cp and the floor, run by run in turn; rows of requests/s and the ratio.

    On Postgres (*dsn*, the database kuma-cp runs on) the floor runs kuma-cp's SQL for each request.
    """
    document = _document("floor-dp")
    path = "/meshes/default/dataplanes/floor-dp"
    answers = floor.capture(url, path, document)
    rates: dict[tuple[str, str], list[float]] = {}
    with floor.floor_server(answers, dsn if store == "postgres" else None) as bare:
        for _ in range(runs):
            for method in floor.CASES:
                for side, base in zip(SIDES, (url, bare), strict=True):
                    rate = floor.wrk(base, method, seconds=seconds, path=path, document=document)
                    rates.setdefault((method, side), []).append(rate)
    return [
        {
            "store": store,
            "method": f"GET page of {floor.PAGE}" if method == "LIST" else method,
            "kuma_cp_rps": spread(rates[method, "kuma-cp"]),
            "floor_rps": spread(rates[method, "floor"]),
            "ratio": spread(k / f for k, f in zip(*(rates[method, side] for side in SIDES), strict=True)),
        }
        for method in floor.CASES
    ]


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    rows = [
        [
            r["store"],
            r["method"],
            fmt(r["ops_per_s"]),
            fmt(r["p50_us"]),
            fmt(r["p99_us"]),
        ]
        for r in result["rows"]
    ]
    header = ["store", "method", "requests/s", "p50 µs", "p99 µs"]
    title = f"HTTP: kuma-cp run, {THREADS} client threads in another process (median [min, max] over runs)"
    out = table(title, header, rows)
    if isinstance(result.get("floor"), list):
        title = f"HTTP floor: wrk, {floor.CONNECTIONS} connections; kuma-cp vs a bare app, same server, bytes"
        header = ["store", "method", "kuma-cp req/s", "floor req/s", "kuma-cp / floor"]
        cells = [
            [r["store"], r["method"], fmt(r["kuma_cp_rps"]), fmt(r["floor_rps"]), fmt(r["ratio"], 2)]
            for r in result["floor"]
        ]
        out += "\n\n" + table(title, header, cells)
    elif result.get("floor"):
        out += f"\n\n!!! HTTP floor not measured: {result['floor']}"
    return out
