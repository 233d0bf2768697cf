"""Section ``spec``: the cost of Kuma's write pipeline, PUT with validation vs the same PUT without.

A Dataplane (legacy: jsonpb decoding and the networking validator) and a MeshHTTPRoute (new-style:
defaulting, the OpenAPI checks and the route validator) are PUT through the same server
(`bench.spec_server`) twice: with every definition, and with none. The ratio is checked/unchecked
throughput (the target: at least 0.8), taken run by run: each run loads both servers back to back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench.common import ROOT, Sample, dataplane_spec, fmt, ratio, summary, table
from tests.kuma_cp.e2e import free_ports

THREADS = 4
ROUTE = {
    "targetRef": {"kind": "Mesh"},
    "to": [
        {
            "targetRef": {"kind": "MeshService", "labels": {"kuma.io/display-name": "backend"}},
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": f"/v{i}"}, "method": "GET"}],
                    "default": {
                        "backendRefs": [
                            {
                                "kind": "MeshService",
                                "labels": {"kuma.io/display-name": "backend"},
                                "weight": 90,
                            },
                            {
                                "kind": "MeshService",
                                "labels": {"kuma.io/display-name": "canary"},
                                "weight": 10,
                            },
                        ]
                    },
                }
                for i in range(4)
            ],
        }
    ],
}
CASES = {
    "Dataplane": (
        "/meshes/default/dataplanes/bench",
        {"type": "Dataplane", "mesh": "default", "name": "bench"}
        | {k: v for k, v in dataplane_spec().items() if k != "counter"},
    ),
    "MeshHTTPRoute": (
        "/meshes/default/meshhttproutes/bench",
        {"type": "MeshHTTPRoute", "mesh": "default", "name": "bench", "spec": ROUTE},
    ),
}


@contextmanager
def _server(mode: str, port: int) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "bench.spec_server", str(port), mode], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bench.spec_server {mode} did not start")
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def _put(url: str, path: str, document: dict[str, Any], *, n: int, runs: int) -> list[Sample]:
    for t in range(THREADS):
        created = httpx.put(f"{url}{path}-{t}", json=document | {"name": f"bench-{t}"}, timeout=10)
        if created.status_code not in (200, 201):
            raise RuntimeError(f"PUT {path}-{t}: {created.status_code} {created.text[:300]}")
    command = [sys.executable, "-m", "bench.api_client", url, path]
    command += ["--threads", str(THREADS), "--n", str(n), "--runs", str(runs)]
    done = subprocess.run(command, input=json.dumps(document).encode(), capture_output=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the HTTP client failed:\n{done.stderr.decode()[-3000:]}")
    return [Sample(s["ops"], s["seconds"], s["latencies_us"]) for s in json.loads(done.stdout)["PUT"]]


def run(*, quick: bool, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Both servers up (an idle one costs nothing), loaded in turn, run by run, in alternating order.

    Pairing each run's two sides back to back keeps the machine's drift out of the ratio.
    """
    n = 20 if quick else 1500
    samples: dict[str, dict[str, list[Sample]]] = {t: {"checked": [], "unchecked": []} for t in CASES}
    first, second = free_ports(2)  # probed together, so they differ
    with _server("unchecked", first) as unchecked, _server("checked", second) as checked:
        urls = {"unchecked": unchecked, "checked": checked}
        for rep in range(runs):
            for mode in ("unchecked", "checked") if rep % 2 == 0 else ("checked", "unchecked"):
                for type_name, (path, document) in CASES.items():
                    samples[type_name][mode] += _put(urls[mode], path, document, n=n, runs=1)
            log(f"spec: run {rep + 1}/{runs} done")
    rows = []
    for type_name, by_mode in samples.items():
        rows.append(
            {
                "type": type_name,
                "checked_ops_per_s": summary(by_mode["checked"])["ops_per_s"],
                "unchecked_ops_per_s": summary(by_mode["unchecked"])["ops_per_s"],
                "ratio": ratio(by_mode["unchecked"], by_mode["checked"]),  # checked over unchecked ops/s
            }
        )
    return {"rows": rows, "client_threads": THREADS}


def render(result: dict[str, Any]) -> str:
    """The section as a table."""
    rows = [
        [r["type"], fmt(r["checked_ops_per_s"]), fmt(r["unchecked_ops_per_s"]), fmt(r["ratio"], 2)]
        for r in result["rows"]
    ]
    header = ["type", "PUT/s validated", "PUT/s not validated", "ratio (target ≥ 0.8)"]
    return table(f"Spec validation: PUT through one server, {THREADS} client threads", header, rows)
