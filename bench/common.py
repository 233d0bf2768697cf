"""What every section shares: the payload, the timing loop, the summary statistics and the table."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent

Op = Callable[[int], object]
"""One operation: called with its index within the thread (0, 1, …)."""


def dataplane_spec(index: int = 0) -> dict[str, Any]:
    """A realistic Kuma 3.0 Dataplane spec, about 1.2 KB of JSON, plus a ``counter`` the CAS runs bump.

    Valid as Kuma 3.0 stores it (no inbound tags, outbounds by backendRef), so that the HTTP sections
    store what they send.
    """
    return {
        "networking": {
            "address": f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}",
            "admin": {"port": 9901},
            "inbound": [
                {
                    "port": 8080 + i,
                    "servicePort": 80 + i,
                    "serviceAddress": "127.0.0.1",
                    "name": f"backend-{i}-http",
                    "protocol": "http",
                    "health": {"ready": True},
                }
                for i in range(4)
            ],
            "outbound": [
                {
                    "port": 10000 + i,
                    "backendRef": {
                        "kind": "MeshService",
                        "name": f"redis-{i}",
                        "port": 6379,
                        "labels": {"kuma.io/zone": "zone-1", "k8s.kuma.io/namespace": "kuma-demo"},
                    },
                }
                for i in range(4)
            ],
            "transparentProxying": {"redirectPortInbound": 15006, "redirectPortOutbound": 15001},
        },
        "counter": 0,
    }


def spec_bytes() -> int:
    """The size of the payload as stored (compact JSON)."""
    return len(json.dumps(dataplane_spec(), separators=(",", ":")))


# The baselines parse and write JSON with orjson, kv's own fast path, so that ratios measure kv, not codecs.
JSON_CODEC = f"orjson {orjson.__version__}"
loads: Callable[[str | bytes], Any] = orjson.loads


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return orjson.dumps(value).decode()


LABELS = {"kuma.io/zone": "zone-1", "kuma.io/mesh": "default", "team": "payments"}


@dataclass
class Sample:
    """One timed run: how many operations, how long in all, each operation's latency."""

    ops: int
    seconds: float
    latencies_us: list[float]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else math.inf

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


def one(op: Op) -> Callable[[int], Op]:
    """The maker for a single thread running *op*."""
    return lambda t: op


def run_threads(make: Callable[[int], Op], threads: int, ops: int) -> Sample:
    """Run *ops* operations spread over *threads* threads that start together; time each one.

    ``make(t)`` builds thread t's operation before the clock starts (connections, held versions).
    """
    per_thread = max(1, math.ceil(ops / threads))
    workers = [make(t) for t in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def run(t: int) -> None:
        op, out, clock = workers[t], latencies[t], time.perf_counter_ns
        barrier.wait()
        try:
            for i in range(per_thread):
                start = clock()
                op(i)
                out.append((clock() - start) / 1000)
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return Sample(per_thread * threads, seconds, [x for out in latencies for x in out])


def spread(values: Iterable[float]) -> dict[str, float]:
    """Median, min and max of a figure over the runs."""
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "runs": len(ordered)}


def summary(samples: Sequence[Sample]) -> dict[str, Any]:
    """The figures of one side of one cell over its runs: ops/s, p50 and p99 latency (µs)."""
    return {
        "ops_per_s": spread(s.ops_per_s for s in samples),
        "p50_us": spread(s.percentile(50) for s in samples),
        "p99_us": spread(s.percentile(99) for s in samples),
        "ops_per_run": samples[0].ops,
    }


def ratio(ours: Sequence[Sample], base: Sequence[Sample]) -> dict[str, float]:
    """Time per operation, ours over the baseline's, run by run (pairs of the same repetition)."""
    return spread(b.ops_per_s / o.ops_per_s for o, b in zip(ours, base, strict=True))


def fmt(figure: dict[str, float], digits: int | None = None) -> str:
    """``median [min, max]``; by default with more decimals for small figures (2 ops/s is 1.87 ops/s)."""
    if digits is None:
        digits = 2 if figure["median"] < 10 else 1 if figure["median"] < 100 else 0
    return f"{figure['median']:,.{digits}f} [{figure['min']:,.{digits}f}, {figure['max']:,.{digits}f}]"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    head = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
    return "\n".join([f"## {title}", head, line, *body, ""])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "kv"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() + (" (kv/ has uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, Any]:
    """CPU, cores, OS, Python and library versions, and the commit measured."""
    import sqlalchemy

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlalchemy": sqlalchemy.__version__,
        "commit": _git_commit(),
        "payload_bytes": spec_bytes(),
    }
    try:
        import psycopg

        info["psycopg"] = f"{psycopg.__version__} ({psycopg.pq.__impl__} implementation)"
    except ImportError:
        info["psycopg"] = "not installed"
    return info
