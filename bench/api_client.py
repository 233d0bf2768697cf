"""The HTTP load generator, run as its own process so that it does not share a GIL with the server.

    python -m bench.api_client URL PATH --threads 4 --n 2000 --runs 3 < body.json

Each thread keeps one keep-alive connection. Per run it times *n* GETs of ``PATH-0``, then *n* PUTs of the
body read from stdin, thread t to ``PATH-t`` under the name ``<name>-t`` (concurrent writes of one
resource without If-Match are 409, as in Kuma), the order alternating between runs. It prints the samples
as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import httpx

from bench.common import Op, run_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    document = json.load(sys.stdin)
    bodies = [json.dumps(document | {"name": f"{document['name']}-{t}"}) for t in range(args.threads)]
    clients = [httpx.Client(base_url=args.url, timeout=30) for _ in range(args.threads)]
    headers = {"content-type": "application/json"}

    def make(method: str) -> Callable[[int], Op]:
        def build(t: int) -> Op:
            client, get_path, put_path, body = clients[t], f"{args.path}-0", f"{args.path}-{t}", bodies[t]

            def op(i: int) -> None:
                if method == "GET":
                    response = client.get(get_path)
                else:
                    response = client.put(put_path, content=body, headers=headers)
                if response.status_code not in (200, 201):
                    raise RuntimeError(f"{method}: {response.status_code} {response.text[:300]}")

            return op

        return build

    for method in ("GET", "PUT"):  # warm: connections, caches, the interpreter
        run_threads(make(method), args.threads, min(args.n, 100))
    out: dict[str, list[dict[str, object]]] = {"GET": [], "PUT": []}
    for rep in range(args.runs):
        for method in ("GET", "PUT") if rep % 2 == 0 else ("PUT", "GET"):
            sample = run_threads(make(method), args.threads, args.n)
            out[method].append(
                {"ops": sample.ops, "seconds": sample.seconds, "latencies_us": sample.latencies_us}
            )
    for client in clients:
        client.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
