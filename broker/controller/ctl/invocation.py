"""What the ``ctl`` commands share: durations, the state folders (given before or after
the subcommand, as kubectl takes its global flags), the controller's knobs as
options, the controller itself, and how errors and progress are printed."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any, NoReturn

import click

from broker.controller.manager import Controller
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import Store
from broker.controller.settings import ControllerSettings

__all__ = [
    "SECONDS",
    "CtlError",
    "controller_of",
    "controller_options",
    "fail",
    "global_options",
    "settings_of",
    "store_of",
    "user_named",
]

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
FOLDERS = ("data_dir", "state_dir", "secrets_dir")


class Seconds(click.ParamType):  # type: ignore[type-arg]
    """``30``, ``30s``, ``5m``, ``1h``, ``7d``, ``500ms``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        match = DURATION.match(str(value).strip())
        if not match:
            self.fail(f"{value!r} is not a duration (e.g. 30s, 5m, 1h, 7d)", param, ctx)
        return float(match.group(1)) * SCALE[match.group(2)]


SECONDS = Seconds()


class CtlError(click.ClickException):
    """An error printed as kubectl prints them: ``error: …`` or ``Error from server …``."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True)


def fail(message: str) -> NoReturn:
    """Stop with exit status 1 and ``message`` in kubectl's words."""
    if not message.startswith(("Error from server", "error: ")):
        message = f"error: {message}"
    raise CtlError(message)


def _remember_folder(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A state folder flag given after the subcommand overrides the one given before."""
    if value is not None and param.name is not None:
        ctx.ensure_object(dict)[param.name] = value


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The group's folder flags, also accepted after the subcommand (hidden from its help)."""
    for name, help_text in (
        ("--secrets-dir", "Where Secrets are written (see `mockbroker ctl --help`)."),
        ("--state-dir", "Where the objects live (see `mockbroker ctl --help`)."),
        ("--data-dir", "mockbroker's data folder (see `mockbroker ctl --help`)."),
    ):
        command = click.option(
            name,
            type=click.Path(file_okay=False, path_type=Path),
            expose_value=False,
            is_eager=True,
            callback=_remember_folder,
            help=help_text,
            hidden=True,
        )(command)
    return command


def settings_of(ctx: click.Context) -> ControllerSettings:
    holder = ctx.find_object(dict)
    assert holder is not None, "ctl options missing"
    data_dir = holder.get("data_dir") or Path(".mockbroker")
    return ControllerSettings(
        state_dir=holder.get("state_dir") or Path(data_dir) / "ctl",
        secrets_dir=holder.get("secrets_dir"),
    )


def store_of(ctx: click.Context) -> Store:
    return Store(settings_of(ctx).state_dir)


def controller_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The controller's knobs, for the commands that reconcile (Service Catalog's defaults)."""
    options = [
        click.option(
            "--api-version",
            envvar="BROKER_CTL_API_VERSION",
            default="2.14",
            show_default=True,
            help="X-Broker-API-Version sent to brokers.",
        ),
        click.option(
            "--poll-max",
            envvar="BROKER_CTL_POLL_MAX",
            type=SECONDS,
            default="20m",
            show_default=True,
            help="Longest wait between two last_operation polls (they start at 1s and double).",
        ),
        click.option(
            "--honor-retry-after/--ignore-retry-after",
            envvar="BROKER_CTL_HONOR_RETRY_AFTER",
            default=False,
            show_default=True,
            help="Poll when the broker's Retry-After says (capped at --poll-max). "
            "Service Catalog ignores it.",
        ),
        click.option(
            "--retry-start",
            envvar="BROKER_CTL_RETRY_START",
            type=SECONDS,
            default="1s",
            show_default=True,
            help="First backoff after a failed provision, update or catalog fetch.",
        ),
        click.option(
            "--retry-max",
            envvar="BROKER_CTL_RETRY_MAX",
            type=SECONDS,
            default="20m",
            show_default=True,
            help="Longest backoff between those retries.",
        ),
        click.option(
            "--retry-duration",
            envvar="BROKER_CTL_RETRY_DURATION",
            type=SECONDS,
            default="7d",
            show_default=True,
            help="Reconciliation retry window: transport errors, async operations and "
            "deprovisions give up after it (HTTP errors are retried without a limit).",
        ),
        click.option(
            "--resync-interval",
            envvar="BROKER_CTL_RESYNC_INTERVAL",
            type=SECONDS,
            default="5m",
            show_default=True,
            help="When the work queue gives up on an object (15 fast retries), it comes back "
            "after this.",
        ),
        click.option(
            "--relist-interval",
            envvar="BROKER_CTL_RELIST_INTERVAL",
            type=SECONDS,
            default="24h",
            show_default=True,
            help="Catalog relist period of brokers without relistDuration.",
        ),
        click.option(
            "--request-timeout",
            envvar="BROKER_CTL_REQUEST_TIMEOUT",
            type=SECONDS,
            default="60s",
            show_default=True,
            help="Timeout of one request to a broker.",
        ),
        click.option(
            "--orphan-mitigation/--no-orphan-mitigation",
            envvar="BROKER_CTL_ORPHAN_MITIGATION",
            default=True,
            show_default=True,
            help="Deprovision after an ambiguous provision failure, as Service Catalog does.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def controller_of(ctx: click.Context, knobs: dict[str, Any]) -> Controller:
    # Every option of controller_options is a ControllerSettings field of the same name.
    settings = settings_of(ctx).replace(**knobs)
    return Controller(Store(settings.state_dir), settings, progress=EventPrinter())


class EventPrinter:
    """Prints each event as it happens (``time  object  Reason: message``), once per change:
    an event repeated for the same object (a retry failing the same way) is not printed
    again until something else happened to it."""

    def __init__(self) -> None:
        self._last: dict[ObjectKey, tuple[str, str]] = {}

    def __call__(self, key: ObjectKey, event: dict[str, Any]) -> None:
        said = (str(event["reason"]), str(event["message"]))
        if self._last.get(key) == said:
            return
        self._last[key] = said
        moment = datetime.now().strftime("%H:%M:%S")
        # Flushed per line: `ctl run` under docker compose or a pipe shows progress as it happens.
        click.echo(f"{moment}  {key.display}  {said[0]}: {said[1]}")
        sys.stdout.flush()


def user_named(name: str | None) -> dict[str, Any]:
    return {"username": name or getpass.getuser(), "uid": "", "groups": ["system:authenticated"]}
