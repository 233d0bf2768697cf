"""A throwaway PostgreSQL server for tests: ``initdb`` in a directory, started on a free loopback port.

The binaries (``initdb``, ``pg_ctl``) are found on ``PATH``, else in Debian's layout
(``/usr/lib/postgresql/<version>/bin``, the newest), else `ServerUnavailable` says what to install. As root
(``initdb`` refuses root) the server runs as the ``postgres`` user, which Debian's package creates. The
server trusts local connections (it lives in a temporary directory and listens on 127.0.0.1 only) and
runs without fsync: a test cluster that dies with the machine is thrown away anyway.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from attrs import frozen

__all__ = ["DEBIAN_LAYOUT", "Server", "ServerUnavailable", "find_binaries", "start"]

DEBIAN_LAYOUT = "/usr/lib/postgresql/*/bin"
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were found neither on PATH nor in {layout}: install"
    " them (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server; macOS:"
    " brew install postgresql), or name a server with --kv-postgres-dsn"
)


class ServerUnavailable(Exception):
    """No throwaway server can be started here; the message says why and what to do."""


@frozen
class Server:
    """A started server: its DSN (superuser ``postgres``, database ``postgres``) and where it lives."""

    dsn: str
    directory: Path
    bin_dir: Path
    owner: str | None  # the user it runs as, when not the current one

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory."""
        _run(self, "pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def find_binaries(layout: str | None = None) -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``; `ServerUnavailable` when there is none."""
    layout = layout or DEBIAN_LAYOUT
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    versions = sorted(glob.glob(layout), key=lambda p: [int(x) if x.isdigit() else x for x in p.split("/")])
    for candidate in reversed(versions):
        if os.access(os.path.join(candidate, "initdb"), os.X_OK):
            return Path(candidate)
    raise ServerUnavailable(INSTALL_HINT.format(layout=layout))


def _run(server: Server, binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(server.bin_dir / binary), *args]
    if server.owner is not None:
        command = ["runuser", "-u", server.owner, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(directory: Path, *, layout: str | None = None) -> Server:
    """Create a cluster in *directory* (which must not exist yet or be empty) and start it."""
    bin_dir = find_binaries(layout)
    owner = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable("initdb refuses to run as root and there is no 'postgres' user") from None
        owner = "postgres"
    directory.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        shutil.chown(directory, owner)
    port = _free_port()
    server = Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", directory, bin_dir, owner)
    data = str(directory / "data")
    try:
        _run(server, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        options = (
            f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        log = str(directory / "server.log")
        _run(server, "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start", "-o", options)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise ServerUnavailable(f"could not start PostgreSQL: {exc.stderr or exc.stdout}".strip()) from None
    return server
