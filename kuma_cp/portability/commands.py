"""The ``kuma-cp export`` and ``kuma-cp import`` commands, which `kuma_cp.cli` adds to ``kuma-cp``."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

import click

import kv
from kuma_cp import stores
from kuma_cp.config import Config
from kuma_cp.portability import documents, exporter, importer
from kuma_cp.portability.apisource import ApiSource

__all__ = ["export_command", "import_command"]

Configure = Callable[[str | None, str], Config]
ADMIN_HELP = "include admin resource types (like secrets); implied by the federation profiles"
NAMESPACE_HELP = (
    "namespace the control plane is installed in  [default: KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE]"
)
API_HELP = "read a running control plane's API at URL, not the store"
TOKEN_HELP = "file holding a user token for --api (none: a caller on localhost is an admin)"
FILE_HELP = "YAML documents to import (as kuma-cp export or kumactl export writes them); - is stdin"
PLACE_HELP = "on Kubernetes, the namespace of namespaced resources (their name becomes name.namespace)"
MEMORY_IMPORT = "WARNING: the store is in memory: what was imported is gone when this command ends"
MEMORY_EXPORT = "the memory store of a new process is empty: export a running control plane with --api URL"


def _quiet() -> None:
    """Logs at warning and above only (stdout is the data; ``--log-level debug`` still shows all)."""
    root = logging.getLogger()
    if root.level == logging.INFO:
        root.setLevel(logging.WARNING)


def _open(config: Config, failure: type[click.ClickException]) -> kv.Store:
    try:
        return stores.open_store(config)
    except stores.SetupError as exc:
        raise failure(str(exc)) from exc


def _write_atomically(path: str, pieces: Iterable[str]) -> None:
    """Write *pieces* to *path* through a temporary file: a failed export never leaves half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".kuma-export-", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.writelines(pieces)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def export_command(configure: Configure, failure: type[click.ClickException]) -> click.Command:
    """``kuma-cp export``, loading its configuration with *configure*, failing with *failure*."""

    @click.command("export")
    @click.option("-c", "--config-file", type=click.Path(dir_okay=False), help="configuration file")
    @click.option("-p", "--profile", default="federation", show_default=True,
                  help=f"profile: {', '.join(exporter.PROFILES)}")  # fmt: skip
    @click.option("-f", "--format", "fmt", default="universal", show_default=True,
                  help="policy format output: universal or kubernetes")  # fmt: skip
    @click.option("-a", "--include-admin", is_flag=True, help=ADMIN_HELP)
    @click.option("-n", "--system-namespace", default=None, help=NAMESPACE_HELP)
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="write to FILE, not stdout")
    @click.option("--api", "api_url", default=None, help=API_HELP)
    @click.option("--token", "token_file", type=click.File("r"), default=None, help=TOKEN_HELP)
    def export(
        config_file: str | None,
        profile: str,
        fmt: str,
        include_admin: bool,
        system_namespace: str | None,
        output: str | None,
        api_url: str | None,
        token_file: IO[str] | None,
    ) -> None:
        """Export Kuma resources (as kumactl export does) from the configured store or a running API."""
        _quiet()
        config = configure(config_file, "export")
        namespace = system_namespace or config.store.kubernetes.system_namespace
        store: kv.Store | None = None
        api: ApiSource | None = None
        if api_url:
            token = token_file.read().strip() if token_file is not None else None
            api = ApiSource(api_url, token)
            source: exporter.Source = api
        else:
            if config.store.type == "memory":
                click.echo(f"WARNING: {MEMORY_EXPORT}", err=True)
            store = _open(config, failure)
            source = exporter.StoreSource(store)
        try:
            pieces = exporter.export(
                source, profile=profile, fmt=fmt, include_admin=include_admin, system_namespace=namespace
            )
            header = api.header() if api is not None else None
            text = _chain(header, pieces)
            if output:
                _write_atomically(output, text)
            else:
                for piece in text:
                    sys.stdout.write(piece)
        except (exporter.ExportError, kv.KVError) as exc:
            raise failure(str(exc)) from exc
        finally:
            if store is not None:
                store.close()

    return export


def _chain(header: str | None, pieces: Iterator[str]) -> Iterator[str]:
    if header:
        yield header
    yield from pieces


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (shown once an import lasts half a second), nothing otherwise."""
    from tqdm import tqdm

    with tqdm(
        total=total, unit="resource", file=sys.stderr, disable=not sys.stderr.isatty(), delay=0.5
    ) as bar:

        def advance(done: int) -> None:
            bar.update(done)

        yield advance


def import_command(configure: Configure, failure: type[click.ClickException]) -> click.Command:
    """``kuma-cp import``, loading its configuration with *configure*, failing with *failure*."""

    @click.command("import")
    @click.option("-c", "--config-file", type=click.Path(dir_okay=False), help="configuration file")
    @click.option("-f", "--file", "files", multiple=True, required=True,
                  type=click.Path(dir_okay=False, allow_dash=True),
                  help=FILE_HELP)  # fmt: skip
    @click.option("--mode", type=click.Choice(importer.MODES), default="upsert", show_default=True,
                  help="create: every resource must be new; upsert: existing ones are updated")  # fmt: skip
    @click.option("--dry-run", is_flag=True, help="validate and count, change nothing")
    @click.option("--namespace", default="", help=PLACE_HELP)
    def import_(
        config_file: str | None, files: tuple[str, ...], mode: str, dry_run: bool, namespace: str
    ) -> None:
        """Import resources into the configured store: validated first, then written all or nothing."""
        _quiet()
        config = configure(config_file, "import")
        kubernetes, now = config.store.type == "kubernetes", datetime.now(UTC)
        found: list[documents.Document] = []
        problems: list[documents.Problem] = []
        for name in files:
            try:
                text = click.open_file(name, encoding="utf-8").read()
            except (OSError, UnicodeDecodeError) as exc:
                raise failure(f"{name}: {exc}") from exc
            docs, bad = documents.read(
                text, "stdin" if name == "-" else name, kubernetes=kubernetes, namespace=namespace, now=now
            )
            found += docs
            problems += bad
        if problems:
            raise failure("\n".join([*map(str, problems), "nothing was imported"]))
        store = _open(config, failure)
        try:
            with _progress(len(found)) as advance:
                outcome = importer.run(store, found, mode=mode, dry_run=dry_run, progress=advance)
        except importer.ImportFailed as exc:
            raise failure(str(exc)) from exc
        finally:
            store.close()
        click.echo(str(outcome))
        if config.store.type == "memory" and not dry_run:
            click.echo(MEMORY_IMPORT, err=True)

    return import_
