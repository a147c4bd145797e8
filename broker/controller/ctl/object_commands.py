"""``ctl apply``, ``get``, ``describe`` and ``delete``: objects in and out of the store."""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml

from broker.controller.ctl.describing import describe as render_describe
from broker.controller.ctl.invocation import (
    SECONDS,
    controller_of,
    controller_options,
    fail,
    global_options,
    settings_of,
    store_of,
    user_named,
)
from broker.controller.ctl.tables import render_table
from broker.controller.objects.admission import Denied
from broker.controller.objects.changes import ApplyError, apply_manifests, delete_objects
from broker.controller.objects.kinds import Kind, ObjectKey, UnknownKind, kind_named
from broker.controller.objects.manifests import Manifest, ManifestReadError, read_manifests
from broker.controller.objects.secret_volumes import SecretVolumes, write_folder

__all__ = ["apply", "delete", "describe", "get"]


@click.command()
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
@click.option(
    "--broker-url",
    metavar="URL",
    help="Register the ClusterServiceBrokers of the manifests at URL instead of their "
    "spec.url (what `svcat register --url` sets), without editing the files.",
)
@global_options
@click.pass_context
def apply(
    ctx: click.Context, sources: tuple[str, ...], as_user: str | None, broker_url: str | None
) -> None:
    """Create or update objects from YAML/JSON manifests (multi-document files too).

    Every document is checked first; if one is invalid or refused, nothing is applied.

    \b
      mockbroker ctl apply -f examples/seed/
      mockbroker ctl apply -f examples/seed/ --broker-url http://127.0.0.1:9090
    """
    try:
        manifests = read_manifests(sources)
    except ManifestReadError as exc:
        fail(str(exc))
    if broker_url is not None:
        manifests = _pointed_at(manifests, broker_url)
    try:
        applied = apply_manifests(
            store_of(ctx),
            SecretVolumes(settings_of(ctx).volumes_dir),
            manifests,
            user_named(as_user),
        )
    except ApplyError as exc:
        fail("nothing was applied:\n  " + "\n  ".join(exc.problems))
        return
    for entry in applied:
        click.echo(str(entry))
        if entry.note:
            click.echo(f"  note: {entry.note}", err=True)


def _pointed_at(manifests: list[Manifest], url: str) -> list[Manifest]:
    """The manifests with every ClusterServiceBroker's ``spec.url`` set to ``url``."""
    pointed: list[Manifest] = []
    brokers = 0
    for manifest in manifests:
        document = manifest.document
        if isinstance(document, dict) and document.get("kind") == "ClusterServiceBroker":
            document = copy.deepcopy(document)
            spec = document.get("spec")
            document["spec"] = {**(spec if isinstance(spec, dict) else {}), "url": url}
            brokers += 1
        pointed.append(Manifest(manifest.source, manifest.index, document))
    if not brokers:
        fail("--broker-url was given, but the manifests hold no ClusterServiceBroker")
    return pointed


# --- get / describe -------------------------------------------------------------------------------


def _kind(text: str) -> Kind:
    try:
        return kind_named(text)
    except UnknownKind as exc:
        fail(str(exc))


def _kind_and_names(text: str, names: tuple[str, ...]) -> tuple[Kind, tuple[str, ...]]:
    """``KIND NAME…`` or kubectl's ``KIND/NAME`` form."""
    if "/" not in text:
        return _kind(text), names
    kind_text, _, name = text.partition("/")
    if names:
        fail(
            "there is no need to specify a resource type as a separate argument when "
            "passing arguments in resource/name form"
        )
    if not name:
        fail(f"arguments in resource/name form must have a single resource and name: {text}")
    return _kind(kind_text), (name,)


def _resource_plural(kind: Kind) -> str:
    group = kind.api_version.rpartition("/")[0]
    return f"{kind.plural}.{group}" if group else kind.plural


def _not_found(kind: Kind, name: str) -> NoReturn:
    fail(f'Error from server (NotFound): {_resource_plural(kind)} "{name}" not found')


@click.command()
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
@global_options
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
    """List objects of a kind (serviceinstances/si, servicebindings/sb, clusterserviceclasses/csc,
    clusterserviceplans/csp, clusterservicebrokers/csb, secrets …), or get one: KIND NAME
    or KIND/NAME."""
    kind, given = _kind_and_names(kind_name, (name,) if name else ())
    name = given[0] if given else None
    state = store_of(ctx).read()
    scope = None if (all_namespaces or not kind.namespaced) else namespace
    if output_dir is not None and (kind.name != "Secret" or name is None):
        fail("--output-dir needs one Secret: ctl get secret NAME --output-dir DIR")
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
            volumes=SecretVolumes(settings_of(ctx).volumes_dir),
        )
    )


@click.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("name", required=False)
@click.option("-n", "--namespace", default="default", show_default=True)
@global_options
@click.pass_context
def describe(ctx: click.Context, kind_name: str, name: str | None, namespace: str) -> None:
    """Show one object in detail, with its conditions and events (KIND NAME or KIND/NAME)."""
    kind, given = _kind_and_names(kind_name, (name,) if name else ())
    if not given:
        fail("you must specify the name of the resource to describe")
    name = given[0]
    state = store_of(ctx).read()
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
            volumes=SecretVolumes(settings_of(ctx).volumes_dir),
        )
    )


# --- delete -------------------------------------------------------------------------------------


@click.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("names", nargs=-1)
@click.option("-n", "--namespace", default="default", show_default=True)
@click.option(
    "--abandon",
    is_flag=True,
    help="Forget the objects without calling the broker (strips the finalizer, like svcat).",
)
@click.option("--wait", is_flag=True, help="Reconcile until the objects are gone.")
@click.option("--timeout", type=SECONDS, default="5m", show_default=True)
@controller_options
@global_options
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
    """Delete objects (KIND NAME… or KIND/NAME); instances and bindings are deprovisioned and
    unbound by the next reconcile."""
    kind, names = _kind_and_names(kind_name, names)
    if not names:
        fail("resource(s) were provided, but no name was specified")
    store = store_of(ctx)
    volumes = SecretVolumes(settings_of(ctx).volumes_dir)
    keys = [ObjectKey(kind.name, namespace if kind.namespaced else "", name) for name in names]
    try:
        delete_objects(store, volumes, kind, keys, abandon=abandon)
    except LookupError as exc:
        fail(f"Error from server (NotFound): {exc.args[0]}")
    except Denied as exc:
        fail(str(exc))
    for key in keys:
        click.echo(f'{kind.resource} "{key.name}" deleted')
    if wait:
        _wait_until_gone(ctx, knobs, keys, timeout)


def _wait_until_gone(
    ctx: click.Context, knobs: dict[str, Any], keys: list[ObjectKey], timeout: float
) -> None:
    """Reconcile until the objects are gone; stop early on one that will stay for good."""
    controller = controller_of(ctx, knobs)
    try:
        deadline = time.time() + timeout
        wake = True
        while True:
            state = controller.store.read()
            remaining = [found for key in keys if (found := state.get(key)) is not None]
            if not remaining:
                return
            stuck = [
                found["metadata"]["name"]
                for found in remaining
                if "Failed"
                in (
                    (found.get("status") or {}).get("deprovisionStatus"),
                    (found.get("status") or {}).get("unbindStatus"),
                )
            ]
            if stuck:
                fail(
                    "the deletion failed for good (Service Catalog will not try again): "
                    + ", ".join(stuck)
                    + "; `ctl describe` says why, `ctl delete --abandon` forgets them"
                )
            if time.time() >= deadline:
                names = ", ".join(found["metadata"]["name"] for found in remaining)
                fail(f"timed out waiting for the deletion of: {names}")
            controller.reconcile(wait=False, wake=wake)
            wake = False
            time.sleep(max(0.05, min(controller.next_due() - time.time(), 1.0)))
    finally:
        controller.close()
