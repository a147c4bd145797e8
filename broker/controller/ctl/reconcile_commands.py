"""``ctl reconcile`` and ``ctl run``: the controller, once or until stopped."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from broker.controller.ctl.invocation import SECONDS, controller_of, controller_options

__all__ = ["reconcile", "run"]


@click.command()
@click.option(
    "--wait", is_flag=True, help="Keep going until every object is Ready or Failed (or gone)."
)
@click.option(
    "--timeout", type=SECONDS, default="5m", show_default=True, help="How long --wait waits."
)
@click.option(
    "--interval",
    type=SECONDS,
    default="1s",
    show_default=True,
    help="Longest sleep between passes while waiting.",
)
@controller_options
@click.pass_context
def reconcile(
    ctx: click.Context, /, wait: bool, timeout: float, interval: float, **knobs: Any
) -> None:
    """Reconcile every object against its broker: once, or with --wait until all settle."""
    controller = controller_of(ctx, knobs)
    try:
        settled = controller.reconcile(wait=wait, timeout=timeout, interval=interval)
    finally:
        controller.close()
    if settled:
        click.echo("all objects settled")
        return
    click.echo("still in progress:\n  " + "\n  ".join(controller.waiting), err=True)
    if wait:
        sys.exit(1)


@click.command()
@click.option(
    "--interval",
    type=SECONDS,
    default="2s",
    show_default=True,
    help="Longest sleep between passes (changes made by `ctl apply` are seen after it).",
)
@controller_options
@click.pass_context
def run(ctx: click.Context, /, interval: float, **knobs: Any) -> None:
    """Reconcile continuously, like a controller manager (stop with Ctrl-C or SIGTERM)."""
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    controller = controller_of(ctx, knobs)
    click.echo(
        f"reconciling {controller.settings.state_dir} "
        f"(secrets in {controller.settings.volumes_dir})"
    )
    try:
        controller.run(interval=interval, should_stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    finally:
        controller.close()
