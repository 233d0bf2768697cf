"""The ``kuma-cp`` command: ``run``, ``migrate up``, ``install``, ``export``, ``import`` and ``version``."""

from __future__ import annotations

import logging
import os
import sys

import click
import yaml

from kuma_cp import app, stores
from kuma_cp.config import Config, ConfigError, load
from kuma_cp.portability.commands import export_command, import_command

__all__ = ["main"]

LOG_LEVELS = {"off": logging.CRITICAL + 10, "info": logging.INFO, "debug": logging.DEBUG}
log = logging.getLogger("kuma-cp")


class Failure(click.ClickException):
    """A command failed: click prints ``Error: <message>`` to stderr and exits 1, as cobra does."""

    exit_code = 1


def _configure(config_file: str | None, what: str) -> Config:
    try:
        return load(config_file=config_file, environ=os.environ)
    except ConfigError as exc:
        logging.getLogger(f"kuma-cp.{what}").error("could not load the configuration: %s", exc)
        raise Failure(str(exc)) from exc


config_option = click.option(
    "-c", "--config-file", type=click.Path(dir_okay=False), default=None, help="configuration file"
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    type=click.Choice(list(LOG_LEVELS)),
    default="info",
    show_default=True,
    help="log level",
)
def cli(log_level: str) -> None:
    """Universal Control Plane for Envoy-based Service Mesh (the storage layer, in Python)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=LOG_LEVELS[log_level],
        format="%(asctime)s\t%(levelname)s\t%(name)s\t%(message)s",
    )


@cli.command()
@config_option
def run(config_file: str | None) -> None:
    """Launch Control Plane."""
    config = _configure(config_file, "run")
    try:
        app.run(config)
    except app.SetupError as exc:
        raise Failure(str(exc)) from exc


@cli.group()
def migrate() -> None:
    """Migrate database to which Control Plane is connected."""


@migrate.command()
@config_option
def up(config_file: str | None) -> None:
    """Apply pending migrations. Make sure to run "kuma-cp migrate up" before running new version of Kuma."""
    config = _configure(config_file, "migrate")
    try:
        _, already = stores.migrate(config)
    except stores.SetupError as exc:
        raise Failure(str(exc)) from exc
    if already:
        click.echo(f"DB has already been migrated for Kuma {app.version()}")
    else:
        click.echo(f"DB has been migrated for Kuma {app.version()}")


@cli.group()
def install() -> None:
    """Install various Kuma components."""


@install.command()
def crds() -> None:
    """Print Kuma's CustomResourceDefinitions as YAML (pipe them to kubectl apply -f -)."""
    from kuma_cp.crds import crd_documents  # imported here: the Kubernetes client is an optional extra

    click.echo(yaml.safe_dump_all(crd_documents(), sort_keys=False), nl=False)


@install.command("control-plane")
@click.option(
    "--namespace", default="kuma-system", show_default=True, help="namespace to install the control plane to"
)
@click.option(
    "--image",
    default=None,
    help="image of this kuma-cp (its kuma-cp on PATH)  [default: kuma-store:<this version>]",
)
@click.option(
    "--replicas", type=click.IntRange(min=1), default=1, show_default=True, help="control plane replicas"
)
@click.option(
    "--api-read-only",
    type=click.BOOL,
    is_flag=False,
    flag_value=True,
    default=True,
    show_default=True,
    metavar="[=BOOL]",
    help="KUMA_API_SERVER_READ_ONLY, true as Helm sets it on Kubernetes (--api-read-only=false: writable)",
)
@click.option("--with-crds", is_flag=True, help="also print Kuma's CustomResourceDefinitions")
def control_plane(
    namespace: str, image: str | None, replicas: int, api_read_only: bool, with_crds: bool
) -> None:
    """Print the manifests that run this kuma-cp in a cluster as Kuma's Helm chart does (to kubectl apply)."""
    from kuma_cp.install import control_plane_documents  # imported here: as `install crds`

    documents = control_plane_documents(
        namespace=namespace,
        image=image or f"kuma-store:{app.version()}",
        replicas=replicas,
        api_read_only=api_read_only,
        with_crds=with_crds,
    )
    click.echo(yaml.safe_dump_all(documents, sort_keys=False), nl=False)


cli.add_command(export_command(_configure, Failure))
cli.add_command(import_command(_configure, Failure))


@cli.command()
def version() -> None:
    """Print version."""
    click.echo(f"kuma-cp: {app.version()}")


def main() -> None:
    """Entry point of the ``kuma-cp`` console script."""
    cli(prog_name="kuma-cp")
