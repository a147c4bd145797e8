"""What the ``ctl`` commands share: durations, the settings and store the group set up,
the controller's knobs as options, the controller itself, and how errors and
progress are printed."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

import click

from broker.controller.manager import Controller
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import Store
from broker.controller.settings import ControllerSettings

__all__ = [
    "SECONDS",
    "controller_of",
    "controller_options",
    "fail",
    "settings_of",
    "store_of",
    "user_named",
]

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Seconds(click.ParamType):  # type: ignore[type-arg]
    """``30``, ``30s``, ``5m``, ``1h``, ``500ms``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        match = DURATION.match(str(value).strip())
        if not match:
            self.fail(f"{value!r} is not a duration (e.g. 30s, 5m, 1h)", param, ctx)
        return float(match.group(1)) * SCALE[match.group(2)]


SECONDS = Seconds()


def settings_of(ctx: click.Context) -> ControllerSettings:
    holder = ctx.find_object(dict)
    assert holder is not None, "ctl options missing"
    found: ControllerSettings = holder["ctl"]
    return found


def store_of(ctx: click.Context) -> Store:
    return Store(settings_of(ctx).state_dir)


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def controller_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The controller's knobs, for the commands that reconcile."""
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
            default="10s",
            show_default=True,
            help="Longest wait between two last_operation polls (they start at 1s and double).",
        ),
        click.option(
            "--retry-start",
            envvar="BROKER_CTL_RETRY_START",
            type=SECONDS,
            default="1s",
            show_default=True,
            help="First backoff after a failed call.",
        ),
        click.option(
            "--retry-max",
            envvar="BROKER_CTL_RETRY_MAX",
            type=SECONDS,
            default="30s",
            show_default=True,
            help="Longest backoff between retries.",
        ),
        click.option(
            "--retry-duration",
            envvar="BROKER_CTL_RETRY_DURATION",
            type=SECONDS,
            default="10m",
            show_default=True,
            help="Give up retrying an operation after this long (7 days in Service Catalog).",
        ),
        click.option(
            "--relist-interval",
            envvar="BROKER_CTL_RELIST_INTERVAL",
            type=SECONDS,
            default="15m",
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
    return Controller(Store(settings.state_dir), settings, progress=_print_event)


def _print_event(key: ObjectKey, event: dict[str, Any]) -> None:
    moment = datetime.now().strftime("%H:%M:%S")
    # Flushed per line: `ctl run` under docker compose or a pipe shows progress as it happens.
    click.echo(f"{moment}  {key.display}  {event['reason']}: {event['message']}")
    sys.stdout.flush()


def user_named(name: str | None) -> dict[str, Any]:
    return {"username": name or getpass.getuser(), "uid": "", "groups": ["system:authenticated"]}
