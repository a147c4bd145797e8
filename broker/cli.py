"""The ``mockbroker`` command (also ``python -m broker``)."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from broker import __version__
from broker.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from broker.serving.gunicorn_app import BrokerServer

__all__ = ["main"]

SERVE_HELP = """Serve the OSB API with gunicorn.

Settings come from (lowest first) built-in defaults, the YAML file given by
--config or BROKER_CONFIG, BROKER_* environment variables, and these flags.
Invalid catalogs stop the server before it listens, with every problem listed.
"""


class _Commands(click.Group):
    """Adds ``ctl`` (the controller) and ``findings`` on first use: ``serve`` must start fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "ctl", "findings"})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "ctl":
            from broker.controller.ctl import ctl

            return ctl
        if name == "findings":
            from broker.platform_checks.cli import findings

            return findings
        return super().get_command(ctx, name)


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="mockbroker")
def main() -> None:
    """mockbroker: a mock Open Service Broker API server for testing platforms and apps.

    \b
    Quick start:
      mockbroker serve                      # http://127.0.0.1:8080, user broker / broker
      mockbroker check-catalog catalogs/    # validate catalog files
      mockbroker ctl apply -f examples/seed # drive it like Service Catalog
    """


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(2)


@main.command(help=SERVE_HELP)
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="YAML settings file."
)
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8080; 0 picks a free one).")
@click.option("--workers", type=int, help="gunicorn worker processes.")
@click.option(
    "--threads",
    type=int,
    help="OSB API threads per worker (default 8; health and admin have their own).",
)
@click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    type=click.Path(exists=False),
    help="Catalog file or folder (repeatable; default: the bundled catalogs).",
)
@click.option("--store", help="memory://, sqlite:///PATH (default) or postgresql://...")
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="Where the default SQLite store lives."
)
@click.option("--username", help="OSB basic-auth user (default broker).")
@click.option("--password", help="OSB basic-auth password (default broker; required off loopback).")
@click.option("--log-format", type=click.Choice(["json", "text"]), help="Log line format.")
@click.option(
    "--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
)
@click.option(
    "--osb-version",
    help="Answer as this OSB version (2.11 to 2.17) whatever the platform announces.",
)
@click.option(
    "--strict/--lenient",
    default=None,
    help="Refuse what the lenient default accepts and records as a finding.",
)
def serve(config_file: str | None, catalogs: tuple[str, ...], **flags: Any) -> None:
    with _collector_paused():
        server = _server(config_file, catalogs, flags)
        # What the master built is never garbage: no collection, in the master or
        # the workers, need look at it again, nor touch (and so copy) its pages.
        gc.freeze()
    server.run()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the broker is built.

    Building it (imports, the application) makes many long-lived objects and little
    garbage; the collections they would start are a twentieth of the time to the
    first answer.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _server(
    config_file: str | None, catalogs: tuple[str, ...], flags: dict[str, Any]
) -> BrokerServer:
    """The gunicorn server of ``mockbroker serve``, its catalogs checked and its store
    ready; exits with the problem when the settings, catalogs or store are unusable."""
    from broker.app import create_app
    from broker.catalog.problems import CatalogError
    from broker.logs import configure_logging
    from broker.serving.gunicorn_app import BrokerServer, bind_socket
    from broker.storage import StoreUnavailable, redacted_url

    try:
        settings = load_settings(config_file, catalogs=catalogs or None, **flags)
        settings.check_serving()
    except SettingsError as exc:
        _fail(str(exc))
    # Before anything imports prometheus_client: the workers share this folder.
    _prepare_metrics_dir()
    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as exc:
        _fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
    settings = settings.replace(port=sock.getsockname()[1])
    try:
        # Built once here and inherited by every worker (gunicorn preload): the
        # catalogs are checked and the store schema is created or migrated before
        # anything listens, and workers start in milliseconds. Each worker opens its
        # own store connections after the fork.
        app = create_app(settings)
    except CatalogError as exc:
        click.secho("error: the catalogs are invalid:", fg="red", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    except StoreUnavailable as exc:
        _fail(f"cannot use the state store: {exc}")
    configure_logging(settings.log_format, settings.log_level)
    password = settings.password if settings.password_is_default else "(as configured)"
    if settings.admin_username is None and settings.admin_password is None:
        admin = "same user and password"
    else:
        admin = f"user {settings.admin_credentials[0].username!r}, password (as configured)"
    from broker.web.runtime import runtime_of  # after the metrics folder is set

    catalog = runtime_of(app).catalogs.catalog
    plans = sum(len(service.plans) for service in catalog.services)
    hint = _path_hint()
    click.echo(
        f"mockbroker {__version__} listening on {settings.base_url}\n"
        f"  OSB API:    {settings.base_url}/v2  user {settings.username!r}, password {password}\n"
        f"  dashboard:  {settings.base_url}/dashboard  {admin}\n"
        f"  catalog:    {len(catalog.services)} services, {plans} plans\n"
        f"  store:      {redacted_url(settings.store_url)}\n"
        f"  workers:    {settings.effective_workers} x {settings.threads} threads\n"
        f"  protocol:   {_protocol_line(settings)}" + (f"\n  note:       {hint}" if hint else ""),
        err=True,
    )
    return BrokerServer(settings, sock, app)


def _protocol_line(settings: Settings) -> str:
    """Which OSB version the broker answers as, and whether it is strict."""
    from broker.osb.versions import NEWEST, OLDEST, shown

    if settings.osb_version is not None:
        version = f"OSB {shown(settings.osb_version)} whatever the platform announces"
    else:
        version = f"OSB {shown(OLDEST)} to {shown(NEWEST)}, as the platform announces"
    return version + (", strict" if settings.strict else ", lenient")


def _path_hint() -> str | None:
    """How to put ``mockbroker`` on PATH when it is not there (e.g. after ``make run``)."""
    import shutil

    folder = Path(sys.executable).parent
    if shutil.which("mockbroker") or not (folder / "mockbroker").exists():
        return None
    activate = folder / "activate"
    if not activate.exists():
        return f"mockbroker is not on PATH; add {folder} to PATH to use it"
    try:
        shown = str(activate.relative_to(Path.cwd()))
    except ValueError:
        shown = str(activate)
    return f"mockbroker is not on PATH; `. {shown}` puts it there"


def _prepare_metrics_dir() -> None:
    """Give the workers a shared, empty folder for Prometheus' per-process files."""
    import atexit
    import os
    import shutil
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = tempfile.mkdtemp(prefix="mockbroker-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    master = os.getpid()

    def remove() -> None:
        if os.getpid() == master:  # not in forked workers
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)


@main.command("check-catalog")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def check_catalog(paths: tuple[Path, ...]) -> None:
    """Validate catalog files or folders; exit 1 listing every problem."""
    from broker.catalog.loader import load_catalog
    from broker.catalog.problems import CatalogError
    from broker.credentials.registry import BackendRegistry
    from broker.faults.schemas import fault_rule_problems

    registry = BackendRegistry(load_settings(env={}))
    try:
        catalog = load_catalog(
            paths,
            backend_problems=registry.option_problems,
            fault_problems=fault_rule_problems,
            backend_names=registry.names,
        )
    except CatalogError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        click.secho(f"{len(exc.problems)} problem(s) found", fg="red", err=True)
        sys.exit(1)
    plans = sum(len(service.plans) for service in catalog.services)
    click.echo(
        f"ok: {len(catalog.services)} services, {plans} plans in {len(catalog.sources)} file(s)"
    )


@main.command()
@click.option(
    "--output", "-o", type=click.File("w"), default="-", help="Write here (default stdout)."
)
def openapi(output: Any) -> None:
    """Print the OpenAPI document of the HTTP API."""
    from broker.web.openapi import build_openapi

    json.dump(build_openapi(), output, indent=2)
    output.write("\n")


if __name__ == "__main__":
    main()
