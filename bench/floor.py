"""The HTTP floor: kuma-cp's API against a bare ASGI app on the same server, loaded by wrk.

The floor runs in its own process on `kuma_cp.servers.Server`: the same uvicorn, protocol, deadlines
and event loop as kuma-cp's API. It answers with the exact bytes kuma-cp answered (status, headers,
body) for a GET of one Dataplane and a PUT of one, so what remains between the two is kuma-cp's own
work: routing, security, validation, the store, rendering. On Postgres the floor also runs the SQL
kuma-cp runs for each request, with bare psycopg (`bench.sides`' statements and decoding), in worker
threads of one connection each as kv does: a GET reads the Mesh and the Dataplane, a PUT reads both
and then updates the Dataplane at the version it read. wrk (a C load generator, 8 threads of one
keep-alive connection each) drives both: GETs of one resource, and PUTs of one resource per connection
(concurrent PUTs of one resource without If-Match conflict, as in Kuma).

    python -m bench.floor PORT ANSWERS.json [DSN]     # the floor server, until SIGTERM
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg

from bench import sides
from bench.common import ROOT, dumps, loads
from bench.pgsetup import SQL
from kv.driver import Query
from kv.drivers.postgres.sql import list_sql
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


PAGE = 100
CASES = ("GET", "PUT", "LIST")  # LIST: a GET of a page of PAGE records


def page_path(path: str) -> str:
    """The page of the list *path*'s resources are in."""
    return f"{path.rsplit('/', 1)[0]}?size={PAGE}"


def capture(url: str, path: str, document: dict[str, Any]) -> dict[str, Any]:
    """Create the PUT targets (and a page's worth) on kuma-cp, and record its answers, byte for byte."""
    for i in range(PAGE):
        named = document | {"name": f"page-{i:03d}"}
        answer = httpx.put(f"{url}{path.rsplit('/', 1)[0]}/page-{i:03d}", json=named, timeout=10)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"PUT page-{i:03d}: {answer.status_code} {answer.text[:300]}")
    for t in range(CONNECTIONS):
        named = document | {"name": f"{document['name']}-{t}"}
        answer = httpx.put(f"{url}{path}-{t}", json=named, timeout=10)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"PUT {path}-{t}: {answer.status_code} {answer.text[:300]}")
    answers = {}
    for case, target, body in (
        ("GET", f"{path}-0", None),
        ("PUT", f"{path}-0", json.dumps(document | {"name": f"{document['name']}-0"})),
        ("LIST", page_path(path), None),
    ):
        headers = {"content-type": "application/json"} if body else {}
        method = "PUT" if case == "PUT" else "GET"
        got = httpx.request(method, url + target, content=body, headers=headers, timeout=10)
        headers = [(k, v) for k, v in got.headers.items() if k.lower() not in ("date", "server")]
        answers[case] = {"status": got.status_code, "headers": headers, "body": got.text}
    return answers


def wrk(url: str, method: str, *, seconds: float, path: str, document: dict[str, Any]) -> float:
    """Requests per second of wrk against *url* (non-2xx answers are an error)."""
    command = ["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    with tempfile.TemporaryDirectory(prefix="kv-bench-wrk-") as work:
        if method == "GET":
            command.append(f"{url}{path}-0")
        elif method == "LIST":
            command.append(f"{url}{page_path(path)}")
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
def floor_server(answers: dict[str, Any], dsn: str | None = None) -> Iterator[str]:
    """The floor in its own process, answering *answers* (after kuma-cp's SQL on *dsn*); yields its URL."""
    port = free_ports(1)[0]
    work = tempfile.mkdtemp(prefix="kv-bench-floor-")
    path = os.path.join(work, "answers.json")
    with open(path, "w") as out:
        json.dump(answers, out)
    command = [sys.executable, "-m", "bench.floor", str(port), path, *([dsn] if dsn else [])]
    process = subprocess.Popen(command, cwd=ROOT)
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


class _Sql:
    """The statements kuma-cp runs per request, on bare psycopg: one autocommit connection per thread."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._local = threading.local()

    def _conn(self) -> psycopg.Connection[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = psycopg.connect(self._dsn, autocommit=True)
        return conn

    def _get(self, type_name: str, mesh: str, name: str) -> dict[str, Any]:
        params = {"k_name": name, "k_mesh": mesh, "k_type": type_name}
        row = self._conn().execute(SQL["get"], params).fetchone()
        if row is None:
            raise RuntimeError(f"floor: no {type_name} {mesh}/{name}")
        return sides.decode(row)

    def get(self, path: str) -> None:
        self._get("Mesh", "", "default")
        self._get("Dataplane", "default", path.rsplit("/", 1)[1])

    def list(self) -> None:
        self._get("Mesh", "", "default")
        text, params = list_sql(Query(type="Dataplane", mesh="default", limit=PAGE, offset=0))
        rows = self._conn().execute(text, params).fetchall()
        for row in rows:  # the total first, then the row's columns
            sides.decode(row, 1)

    def put(self, path: str, body: bytes) -> None:
        name = path.rsplit("/", 1)[1]
        spec = {k: v for k, v in loads(body).items() if k not in ("type", "mesh", "name")}
        self._get("Mesh", "", "default")
        while True:
            record = self._get("Dataplane", "default", name)
            params = {
                "k_name": name,
                "k_mesh": "default",
                "k_type": "Dataplane",
                "expected": record["version"],
                "expected_ctime": record["creation_time"],
                "spec": dumps(spec),
                "status": dumps(record["status"]),
                "labels": dumps(record["labels"]),
                "mtime": sides.now(),
            }
            if self._conn().execute(SQL["update"], params).fetchone() is not None:
                return


def _app(answers: dict[str, Any], dsn: str | None = None) -> Any:
    prepared = {
        method: (
            a["status"],
            [(k.encode(), v.encode()) for k, v in a["headers"] if k.lower() != "content-length"]
            + [(b"content-length", str(len(a["body"].encode())).encode())],
            a["body"].encode(),
        )
        for method, a in answers.items()
    }
    sql = None if dsn is None else _Sql(dsn)
    threads = ThreadPoolExecutor(CONNECTIONS, thread_name_prefix="floor-sql")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        case = "LIST" if scope["query_string"] else method
        if sql is not None and path.startswith("/meshes/"):
            loop = asyncio.get_running_loop()
            if case == "PUT":
                await loop.run_in_executor(threads, sql.put, path, b"".join(chunks))
            elif case == "LIST":
                await loop.run_in_executor(threads, sql.list)
            else:
                await loop.run_in_executor(threads, sql.get, path)
        status, headers, body = prepared.get(case, prepared["GET"])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    from kuma_cp.servers import Server

    port, path = int(sys.argv[1]), sys.argv[2]
    dsn = sys.argv[3] if len(sys.argv) > 3 else None
    with open(path) as answers:
        server = Server("floor", _app(json.load(answers), dsn), "127.0.0.1", port)
    server.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.1)
    server.stop()


if __name__ == "__main__":
    main()
