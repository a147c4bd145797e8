"""``mockbroker ctl``: kubectl/svcat-like commands over the local store and the controller."""

from __future__ import annotations

import base64
import getpass
import json
import re
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml

from broker.controller.admission import Denied
from broker.controller.describe import describe as render_describe
from broker.controller.engine import Controller
from broker.controller.kinds import Kind, ObjectKey, UnknownKind, kind_named
from broker.controller.manifests import ManifestReadError, read_manifests
from broker.controller.objects import ApplyError, apply_manifests, delete_objects
from broker.controller.printing import render_table
from broker.controller.secret_volumes import SecretVolumes, write_folder
from broker.controller.settings import ControllerSettings
from broker.controller.store import Store

__all__ = ["ctl"]

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


def _settings(ctx: click.Context) -> ControllerSettings:
    holder = ctx.find_object(dict)
    assert holder is not None, "ctl options missing"
    found: ControllerSettings = holder["ctl"]
    return found


def _store(ctx: click.Context) -> Store:
    return Store(_settings(ctx).state_dir)


def _fail(message: str) -> None:
    raise click.ClickException(message)


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
      mockbroker ctl apply -f examples/seed/
      mockbroker ctl reconcile --wait
      mockbroker ctl get serviceinstances -n cloud-apps
      mockbroker ctl describe serviceinstance cloud-queue-instance -n cloud-apps
    """
    state = state_dir or data_dir / "ctl"
    ctx.ensure_object(dict)["ctl"] = ControllerSettings(state_dir=state, secrets_dir=secrets_dir)


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


def _controller(ctx: click.Context, knobs: dict[str, Any]) -> Controller:
    # Every option of controller_options is a ControllerSettings field of the same name.
    settings = _settings(ctx).replace(**knobs)
    return Controller(Store(settings.state_dir), settings, progress=_print_event)


def _print_event(key: ObjectKey, event: dict[str, Any]) -> None:
    moment = datetime.now().strftime("%H:%M:%S")
    # Flushed per line: `ctl run` under docker compose or a pipe shows progress as it happens.
    click.echo(f"{moment}  {key.display}  {event['reason']}: {event['message']}")
    sys.stdout.flush()


def _user(name: str | None) -> dict[str, Any]:
    return {"username": name or getpass.getuser(), "uid": "", "groups": ["system:authenticated"]}


# --- apply -------------------------------------------------------------------------------------


@ctl.command()
@click.option(
    "-f",
    "--filename",
    "sources",
    multiple=True,
    required=True,
    help="A manifest file, a folder of them, or - for stdin (repeatable).",
)
@click.option(
    "--as", "as_user", help="The user recorded as spec.userInfo (default: your login name)."
)
@click.pass_context
def apply(ctx: click.Context, sources: tuple[str, ...], as_user: str | None) -> None:
    """Create or update objects from YAML/JSON manifests (multi-document files too).

    Every document is checked first; if one is invalid or refused, nothing is applied.
    """
    try:
        manifests = read_manifests(sources)
    except ManifestReadError as exc:
        _fail(str(exc))
    try:
        applied = apply_manifests(
            _store(ctx), SecretVolumes(_settings(ctx).volumes_dir), manifests, _user(as_user)
        )
    except ApplyError as exc:
        _fail("nothing was applied:\n  " + "\n  ".join(exc.problems))
        return
    for entry in applied:
        click.echo(str(entry))
        if entry.note:
            click.echo(f"  note: {entry.note}", err=True)


# --- get / describe -------------------------------------------------------------------------------


def _kind(text: str) -> Kind:
    try:
        return kind_named(text)
    except UnknownKind as exc:
        _fail(str(exc))
        raise


def _resource_plural(kind: Kind) -> str:
    group = kind.api_version.rpartition("/")[0]
    return f"{kind.plural}.{group}" if group else kind.plural


def _not_found(kind: Kind, name: str) -> None:
    _fail(f'Error from server (NotFound): {_resource_plural(kind)} "{name}" not found')


@ctl.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("name", required=False)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option(
    "-o", "--output", type=click.Choice(["table", "wide", "yaml", "json", "name"]), default="table"
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With one Secret: write its keys as files into this folder (a secret volume's layout).",
)
@click.pass_context
def get(
    ctx: click.Context,
    kind_name: str,
    name: str | None,
    namespace: str,
    all_namespaces: bool,
    output: str,
    output_dir: Path | None,
) -> None:
    """List objects of a kind (serviceinstances, bindings, classes, plans, brokers, secrets …)."""
    kind = _kind(kind_name)
    state = _store(ctx).read()
    scope = None if (all_namespaces or not kind.namespaced) else namespace
    if output_dir is not None and (kind.name != "Secret" or name is None):
        _fail("--output-dir needs one Secret: ctl get secret NAME --output-dir DIR")
    if name is not None:
        found = state.get(ObjectKey(kind.name, namespace if kind.namespaced else "", name))
        if found is None:
            _not_found(kind, name)
        objects = [found] if found is not None else []
    else:
        objects = state.list(kind.name, scope)
    if output_dir is not None:
        data = objects[0].get("data") or {}
        write_folder(output_dir, {key: base64.b64decode(value) for key, value in data.items()})
        click.echo(f"secret/{name}: {len(data)} key(s) written to {output_dir}")
        return
    if output in ("yaml", "json"):
        document: Any = (
            objects[0]
            if name is not None
            else {"apiVersion": "v1", "kind": "List", "items": objects}
        )
        if output == "json":
            click.echo(json.dumps(document, indent=2))
        else:
            click.echo(yaml.safe_dump(document, sort_keys=False, default_flow_style=False).rstrip())
        return
    if not objects:
        where = f" in {namespace} namespace" if scope else ""
        click.echo(f"No resources found{where}.", err=True)
        return
    if output == "name":
        for obj in objects:
            click.echo(f"{kind.resource}/{obj['metadata']['name']}")
        return
    click.echo(
        render_table(
            kind,
            objects,
            wide=output == "wide",
            all_namespaces=all_namespaces,
            now=time.time(),
            volumes=SecretVolumes(_settings(ctx).volumes_dir),
        )
    )


@ctl.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("name")
@click.option("-n", "--namespace", default="default", show_default=True)
@click.pass_context
def describe(ctx: click.Context, kind_name: str, name: str, namespace: str) -> None:
    """Show one object in detail, with its conditions and events."""
    kind = _kind(kind_name)
    state = _store(ctx).read()
    key = ObjectKey(kind.name, namespace if kind.namespaced else "", name)
    found = state.get(key)
    if found is None:
        _not_found(kind, name)
        return
    click.echo(
        render_describe(
            found,
            namespaced=kind.namespaced,
            events=state.events(key),
            now=time.time(),
            volumes=SecretVolumes(_settings(ctx).volumes_dir),
        )
    )


# --- delete -------------------------------------------------------------------------------------


@ctl.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("names", nargs=-1, required=True)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option(
    "--abandon",
    is_flag=True,
    help="Forget the objects without calling the broker (strips the finalizer, like svcat).",
)
@click.option("--wait", is_flag=True, help="Reconcile until the objects are gone.")
@click.option("--timeout", type=SECONDS, default="5m", show_default=True)
@controller_options
@click.pass_context
def delete(
    ctx: click.Context,
    /,
    kind_name: str,
    names: tuple[str, ...],
    namespace: str,
    abandon: bool,
    wait: bool,
    timeout: float,
    **knobs: Any,
) -> None:
    """Delete objects; instances and bindings are deprovisioned/unbound by the next reconcile."""
    kind = _kind(kind_name)
    store = _store(ctx)
    volumes = SecretVolumes(_settings(ctx).volumes_dir)
    keys = [ObjectKey(kind.name, namespace if kind.namespaced else "", name) for name in names]
    try:
        delete_objects(store, volumes, kind, keys, abandon=abandon)
    except LookupError as exc:
        _fail(f"Error from server (NotFound): {exc.args[0]}")
    except Denied as exc:
        _fail(str(exc))
    for key in keys:
        click.echo(f'{kind.resource} "{key.name}" deleted')
    if wait:
        controller = _controller(ctx, knobs)
        try:
            deadline = time.time() + timeout
            while True:
                state = store.read()
                remaining = [key.name for key in keys if state.get(key) is not None]
                if not remaining:
                    break
                if time.time() >= deadline:
                    _fail("timed out waiting for the deletion of: " + ", ".join(remaining))
                controller.reconcile(wait=False)
                time.sleep(0.2)
        finally:
            controller.close()


# --- reconcile / run ------------------------------------------------------------------------------


@ctl.command()
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
    controller = _controller(ctx, knobs)
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


@ctl.command()
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
    controller = _controller(ctx, knobs)
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
