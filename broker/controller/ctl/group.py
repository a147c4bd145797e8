"""The ``mockbroker ctl`` command group: where the state lives, and its commands."""

from __future__ import annotations

from pathlib import Path

import click

from broker.controller.ctl.object_commands import apply, delete, describe, get
from broker.controller.ctl.reconcile_commands import reconcile, run

__all__ = ["ctl"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    envvar="BROKER_DATA_DIR",
    default=".mockbroker",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="mockbroker's data folder.",
)
@click.option(
    "--state-dir",
    envvar="BROKER_CTL_STATE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the objects live (default DATA_DIR/ctl).",
)
@click.option(
    "--secrets-dir",
    envvar="BROKER_CTL_SECRETS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where Secrets are written, one folder per Secret (default STATE_DIR/secrets).",
)
@click.pass_context
def ctl(
    ctx: click.Context, data_dir: Path, state_dir: Path | None, secrets_dir: Path | None
) -> None:
    """A thin Kubernetes Service Catalog: apply, get, describe, delete and reconcile
    ClusterServiceBroker, ClusterServiceClass, ClusterServicePlan, ServiceInstance,
    ServiceBinding and Secret objects against a broker, over real HTTP.

    \b
    Secrets are written as folders with one file per key (the layout of a mounted
    secret volume): STATE_DIR/secrets/<namespace>/<name>/<key>.

    \b
    The controller behaves as Kubernetes Service Catalog v0.3.1 by default (see
    `mockbroker ctl reconcile --help` for its timings). Kinds have kubectl's names:
    serviceinstances (si), servicebindings (sb), clusterservicebrokers (csb),
    clusterserviceclasses (csc), clusterserviceplans (csp), secrets, namespaces (ns),
    pods (po), singular or plural. --data-dir, --state-dir and --secrets-dir may
    also follow the subcommand.

    \b
      mockbroker ctl apply -f examples/seed/
      mockbroker ctl reconcile --wait
      mockbroker ctl get serviceinstances -n cloud-apps
      mockbroker ctl describe serviceinstance cloud-queue-instance -n cloud-apps
    """
    ctx.ensure_object(dict).update(data_dir=data_dir, state_dir=state_dir, secrets_dir=secrets_dir)


for command in (apply, get, describe, delete, reconcile, run):
    ctl.add_command(command)
