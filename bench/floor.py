"""The HTTP floor: kuma-cp's API against a bare ASGI app on the same server, loaded by wrk.

The floor runs in its own process on `kuma_cp.servers.Server`: the same uvicorn, protocol, deadlines
and event loop as kuma-cp's API. It answers with the exact bytes kuma-cp answered (status, headers,
body) for a GET of one Dataplane and a PUT of one, so what remains between the two is kuma-cp's own
work: routing, security, validation, the store, rendering. wrk (a C load generator, 8 threads of one
keep-alive connection each) drives both: GETs of one resource, and PUTs of one resource per connection
(concurrent PUTs of one resource without If-Match conflict, as in Kuma).

    python -m bench.floor PORT ANSWERS.json     # the floor server, until SIGTERM
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from bench.common import ROOT
from tests.kuma_cp.e2e import free_ports

CONNECTIONS = 8
# One wrk thread per connection, each PUTting its own resource (its id comes from setup()).
_LUA_PUT = """
local made = 0
setup = function(thread)
  thread:set("id", made)
  made = made + 1
end
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
local request_bytes
request = function()
  if request_bytes == nil then
    local body = ([[%(body)s]]):gsub("__NAME__", "%(name)s-" .. id)
    request_bytes = wrk.format(nil, "%(path)s-" .. id, nil, body)
  end
  return request_bytes
end
"""


def capture(url: str, path: str, document: dict[str, Any]) -> dict[str, Any]:
    """Create the PUT targets on kuma-cp, and record its answers to a GET and a PUT, byte for byte."""
    for t in range(CONNECTIONS):
        named = document | {"name": f"{document['name']}-{t}"}
        answer = httpx.put(f"{url}{path}-{t}", json=named, timeout=10)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"PUT {path}-{t}: {answer.status_code} {answer.text[:300]}")
    answers = {}
    for method, target, body in (
        ("GET", f"{path}-0", None),
        ("PUT", f"{path}-0", json.dumps(document | {"name": f"{document['name']}-0"})),
    ):
        headers = {"content-type": "application/json"} if body else {}
        got = httpx.request(method, url + target, content=body, headers=headers, timeout=10)
        headers = [(k, v) for k, v in got.headers.items() if k.lower() not in ("date", "server")]
        answers[method] = {"status": got.status_code, "headers": headers, "body": got.text}
    return answers


def wrk(url: str, method: str, *, seconds: float, path: str, document: dict[str, Any]) -> float:
    """Requests per second of wrk against *url* (non-2xx answers are an error)."""
    command = ["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    with tempfile.TemporaryDirectory(prefix="kv-bench-wrk-") as work:
        if method == "GET":
            command.append(f"{url}{path}-0")
        else:
            script = os.path.join(work, "put.lua")
            body = json.dumps(document | {"name": "__NAME__"})
            with open(script, "w") as lua:
                lua.write(_LUA_PUT % {"path": path, "body": body, "name": document["name"]})
            command += [url, "-s", script]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    if done.stderr.strip():  # a script wrk cannot load is only a message: it then GETs the URL
        raise RuntimeError(f"wrk {method}: {done.stderr.strip()}")
    out = done.stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk {method} {url}: errors\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    return float(found.group(1))


@contextmanager
def floor_server(answers: dict[str, Any]) -> Iterator[str]:
    """The floor in its own process, answering *answers*; yields its base URL."""
    port = free_ports(1)[0]
    work = tempfile.mkdtemp(prefix="kv-bench-floor-")
    path = os.path.join(work, "answers.json")
    with open(path, "w") as out:
        json.dump(answers, out)
    process = subprocess.Popen([sys.executable, "-m", "bench.floor", str(port), path], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the floor server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
        shutil.rmtree(work, ignore_errors=True)


def _app(answers: dict[str, Any]) -> Any:
    prepared = {
        method: (
            a["status"],
            [(k.encode(), v.encode()) for k, v in a["headers"] if k.lower() != "content-length"]
            + [(b"content-length", str(len(a["body"].encode())).encode())],
            a["body"].encode(),
        )
        for method, a in answers.items()
    }

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        status, headers, body = prepared.get(scope["method"], prepared["GET"])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    from kuma_cp.servers import Server

    port, path = int(sys.argv[1]), sys.argv[2]
    with open(path) as answers:
        server = Server("floor", _app(json.load(answers)), "127.0.0.1", port)
    server.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.1)
    server.stop()


if __name__ == "__main__":
    main()
