"""``ctl reconcile`` and ``ctl run``: the controller, once or until stopped."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from broker.controller.ctl.invocation import (
    SECONDS,
    controller_of,
    controller_options,
    global_options,
)

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
@global_options
@click.pass_context
def reconcile(
    ctx: click.Context, /, wait: bool, timeout: float, interval: float, **knobs: Any
) -> None:
    """Reconcile every object against its broker: once, or with --wait until all settle.

    \b
    --wait ends with exit status 1 when --timeout passes, and at once when nothing left
    can settle without you: an instance of a class or plan no broker offers, a broker
    whose catalog fetch failed twice in a row (down, refusing the credentials), a
    binding to a missing instance or whose Secret cannot be written, parameters that
    cannot be built, and what waits on them or on a failed object. Service Catalog
    goes on retrying those; so does the next reconcile.

    \b
    The timings are Service Catalog v0.3.1's: polls after 1s, 2s, 4s … up to 20m, the
    broker's Retry-After ignored (--honor-retry-after reads it); failed provisions and
    updates retried after 1s doubling to 20m, HTTP errors other than 400 without a
    limit; transport errors, async operations and deprovisions give up after the 7-day
    --retry-duration.
    """
    controller = controller_of(ctx, knobs)
    try:
        settled = controller.reconcile(wait=wait, timeout=timeout, interval=interval)
    finally:
        controller.close()
    if settled:
        click.echo("all objects settled")
        return
    stuck = [entry for entry in controller.waiting if entry.stuck]
    rest = [entry for entry in controller.waiting if not entry.stuck]
    if controller.gave_up:
        click.echo("error: waiting will not settle these:", err=True)
        click.echo("".join(f"  {entry}\n" for entry in stuck), err=True, nl=False)
        if rest:
            click.echo("blocked by them:", err=True)
            click.echo("".join(f"  {entry}\n" for entry in rest), err=True, nl=False)
        click.echo(
            "Service Catalog keeps retrying them: fix the cause, then reconcile again.", err=True
        )
    else:
        click.echo("still in progress:", err=True)
        click.echo("".join(f"  {entry}\n" for entry in controller.waiting), err=True, nl=False)
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
@global_options
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
