"""One command for every benchmark: kv against a bare baseline, in the same run, on the same server.

    python -m bench [--dsn DSN] [--no-fsync] [--quick] [--runs N] [--json out.json]
                    [--only pg,notify,memory,page,http,spec,import,fixture,k8s]

Sections: ``pg`` (kv on Postgres vs raw psycopg 3 running the same SQL, 1/2/8 threads), ``notify`` (kv's
creates and updates with and without Kuma's NOTIFY trigger, 1 and 8 threads), ``memory`` (the
memory driver vs a bare dict + json), ``page`` (a page out of 10k and 100k records, kv vs Kuma's
load-all-then-page), ``http`` (GET and PUT through a real ``kuma-cp run``, memory and Postgres), ``spec``
(PUT of a Dataplane and a MeshHTTPRoute with Kuma's write pipeline vs without it, on one server),
``import`` (``kuma-cp import`` of 10k resources vs raw psycopg writing the same rows), ``fixture`` (the
pytest plugin's Postgres ``kv_store``: resets compared, cost per test), ``k8s``
(the Kubernetes driver's watch cache vs live reads through the API server vs the bare client; only when
named in ``--only``: it starts a throwaway kube-apiserver, or uses ``KUMA_TEST_KUBECONFIG``'s).

Postgres: a fresh database is created (and dropped at the end) on the server *DSN* names, and migrated
with Kuma's migrations; without ``--dsn``, a throwaway server is started with ``scripts/postgres``,
durable as in production (``fsync=on``, ``full_page_writes=on``, ``synchronous_commit=on``) unless
``--no-fsync`` asks for the quick, unsafe setting. Every
figure is the median of ``--runs`` repetitions (default 3) with min and max; ratios are taken within a
repetition, the two sides run back to back. ``--quick``: tiny sizes and one run, to check it works.
Prints the machine, then one table per section; ``--json`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from contextlib import ExitStack
from typing import Any

from bench import api, fixture, importing, k8s, memory, notify, page, pg, specs
from bench.common import machine
from bench.pgsetup import server, server_info

SECTIONS = ("pg", "notify", "memory", "page", "http", "spec", "import", "fixture", "k8s")
DEFAULT = (
    "pg",
    "notify",
    "memory",
    "page",
    "http",
    "spec",
    "import",
    "fixture",
)  # k8s only when asked for: it needs a kube-apiserver


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", help="a PostgreSQL server (a scratch database is created on it)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run: a smoke test")
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="the throwaway server without fsync (quick, unlike production)",
    )
    parser.add_argument("--runs", type=int, help="repetitions per figure (default 3; 1 with --quick)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON to FILE")
    parser.add_argument(
        "--only", default=",".join(DEFAULT), help=f"comma-separated sections (default: {','.join(DEFAULT)})"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (databases, servers) on SIGTERM too
    only = [s for s in args.only.split(",") if s]
    if unknown := set(only) - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    runs = args.runs or (1 if args.quick else 3)
    started = time.monotonic()
    report: dict[str, Any] = {
        "command": _command(argv if argv is not None else sys.argv[1:], args.dsn),
        "machine": machine(),
        "config": {"quick": args.quick, "runs": runs, "sections": only, "fsync": not args.no_fsync},
        "sections": {},
    }
    with ExitStack() as stack:
        dsn = None
        if {"pg", "notify", "page", "http", "import", "fixture"} & set(only):
            if args.dsn is None:
                _log("no --dsn: starting a throwaway PostgreSQL server with scripts/postgres")
            dsn = stack.enter_context(server(args.dsn, fsync=not args.no_fsync))
            report["machine"]["postgres"] = server_info(dsn)
        kubeconfig = None
        if "k8s" in only:
            kubeconfig = stack.enter_context(k8s.server(_log))
            report["machine"]["kubernetes"] = k8s.server_info(kubeconfig)
        print(_machine_text(report["machine"], report["config"]), flush=True)
        sections = report["sections"]
        if "pg" in only:
            sections["pg"] = pg.run(dsn, quick=args.quick, runs=runs, log=_log)  # type: ignore[arg-type]
            print(pg.render(sections["pg"]), flush=True)
        if "notify" in only:
            sections["notify"] = notify.run(dsn, quick=args.quick, runs=runs, log=_log)  # type: ignore[arg-type]
            print(notify.render(sections["notify"]), flush=True)
        if "memory" in only:
            sections["memory"] = memory.run(quick=args.quick, runs=runs)
            _log("memory done")
            print(memory.render(sections["memory"]), flush=True)
        if "page" in only:
            sections["page"] = page.run(dsn, quick=args.quick, runs=runs, log=_log)  # type: ignore[arg-type]
            print(page.render(sections["page"]), flush=True)
        if "http" in only:
            sections["http"] = api.run(dsn, quick=args.quick, runs=runs, log=_log)
            print(api.render(sections["http"]), flush=True)
        if "spec" in only:
            sections["spec"] = specs.run(quick=args.quick, runs=runs, log=_log)
            print(specs.render(sections["spec"]), flush=True)
        if "import" in only:
            sections["import"] = importing.run(dsn, quick=args.quick, runs=runs, log=_log)  # type: ignore[arg-type]
            print(importing.render(sections["import"]), flush=True)
        if "fixture" in only:
            sections["fixture"] = fixture.run(dsn, quick=args.quick, runs=runs, log=_log)  # type: ignore[arg-type]
            print(fixture.render(sections["fixture"]), flush=True)
        if "k8s" in only:
            sections["k8s"] = k8s.run(kubeconfig, quick=args.quick, runs=runs, log=_log)  # type: ignore[arg-type]
            print(k8s.render(sections["k8s"]), flush=True)
    report["seconds"] = round(time.monotonic() - started, 1)
    _log(f"done in {report['seconds']} s")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
            out.write("\n")


def _command(argv: list[str], dsn: str | None) -> str:
    """The command line, with the password in the DSN masked."""
    if dsn is not None:
        from sqlalchemy.engine import make_url

        masked = make_url(dsn).render_as_string(hide_password=True)
        argv = [masked if a == dsn else a.replace(dsn, masked) for a in argv]
    return " ".join(["python -m bench", *argv])


def _machine_text(info: dict[str, Any], config: dict[str, Any]) -> str:
    lines = [
        "# kv benchmark",
        f"cpu: {info['cpu']} x {info['cores']} cores; {info['os']}",
        f"python: {info['python']}; psycopg {info['psycopg']}; SQLAlchemy {info['sqlalchemy']}",
        f"commit: {info['commit']}; payload: {info['payload_bytes']} B Dataplane spec",
        f"runs per figure: {config['runs']}{' (quick)' if config['quick'] else ''}",
    ]
    if "postgres" in info:
        pg_info = info["postgres"]
        lines.append(
            f"postgres: {pg_info['server_version']} (fsync={pg_info['fsync']}, "
            f"full_page_writes={pg_info.get('full_page_writes', '?')}, "
            f"synchronous_commit={pg_info['synchronous_commit']}, "
            f"shared_buffers={pg_info['shared_buffers']}, prepare_threshold={pg_info['prepare_threshold']})"
        )
    if "kubernetes" in info:
        k8s_info = info["kubernetes"]
        lines.append(f"kubernetes: kube-apiserver {k8s_info['server_version']} (etcd); {k8s_info['client']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
