"""The dashboard pages: server-rendered HTML over the runtime, plus their static files.

Pages only read (store, catalog, fault rules, all through
:func:`broker.web.runtime.current_runtime`).
Everything that changes state — finishing an operation, adding or removing a fault
rule — is done by the page's script through the admin JSON API, so the dashboard
can do nothing the API cannot. The same page is fetched again by the script to
refresh its live regions, which keeps the HTML rendered in one place (here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Blueprint, Response, redirect, render_template, request, url_for

from broker.faults.shorthand import FAULT_OPERATIONS
from broker.storage.base import Position
from broker.storage.protocols import Store
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.version import __version__
from broker.web.dashboard import presenters
from broker.web.paging import decode_cursor, encode_cursor, position
from broker.web.runtime import Runtime, current_runtime

__all__ = ["dashboard", "home"]

dashboard = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# "/" is where a browser goes first; the dashboard is the broker's page for people.
# Like every path but the health probes it needs the admin login (broker.web.access).
home = Blueprint("home", __name__)


@home.get("/")
def root() -> Response:
    return redirect(url_for("dashboard.index"))  # type: ignore[return-value]


# How many operations the pages read from the store, and how many finished ones they show.
OPERATIONS_READ = 1000
RECENT_OPERATIONS = 15
# Instances and bindings per page, newest first: the page is fetched again on every
# change, so it stays small however many there are (older pages: ?instances=<cursor>).
TABLE_ROWS = 200
Record = TypeVar("Record", InstanceRecord, BindingRecord)

# The page runs only its own script and stylesheet; nothing inline, nothing from elsewhere.
# Instance ids, parameters and request paths are attacker-controlled strings: the
# templates escape them, and this policy stops anything that slipped through from running.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@dashboard.before_request
def follow_changes() -> None:
    # Catalog pushes and fault rules written by other processes.
    current_runtime().sync()


@dashboard.after_request
def protect(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def _split(
    store: Store,
    recent: list[OperationRecord],
    records: Iterable[InstanceRecord | BindingRecord],
) -> tuple[list[OperationRecord], list[OperationRecord]]:
    """``(running, finished)`` operations, oldest first.

    ``recent`` is the newest operations the store lists; an operation a record still
    points at but that is older than those (a manual one waiting for hours while
    others came and went) is read on its own, so no running operation is left out.
    """
    known = {operation.id for operation in recent}
    running = [operation for operation in recent if not operation.finished]
    for record in records:
        if record.operation and record.operation not in known:
            known.add(record.operation)
            operation = store.get_operation(record.operation)
            if operation is not None and not operation.finished:
                running.append(operation)
    running.sort(key=lambda operation: operation.started_at)
    finished = [operation for operation in recent if operation.finished]
    return running, finished


def _page(rt: Runtime) -> dict[str, Any]:
    """What every page shows in its header."""
    catalog = rt.catalogs.catalog
    return {
        "version": __version__,
        "osb_url": rt.settings.base_url + "/v2",
        "store": presenters.store_label(rt.store.url),
        "started": presenters.timestamp(rt.started_at),
        "uptime": _duration(time.time() - rt.started_at),
        "services_count": len(catalog.services),
        "plans_count": len(catalog.plans),
        "admin_base": request.script_root + "/admin",
    }


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _newest(
    list_page: Callable[[int, Position | None], list[Record]], name: str
) -> tuple[list[Record], str | None]:
    """A page of records, newest first, from ``?<name>=<cursor>``; and the next page's cursor."""
    where = position(decode_cursor(request.args.get(name), name).get("before"), name)
    records = list_page(TABLE_ROWS + 1, where)
    if len(records) <= TABLE_ROWS:
        return records, None
    records = records[:TABLE_ROWS]
    return records, encode_cursor({"before": [records[-1].created_at, records[-1].id]})


@dashboard.get("")
def index() -> Response:
    rt = current_runtime()
    store = rt.store
    catalog = rt.catalogs.catalog
    stored = store.counts()
    instances, older_instances = _newest(
        lambda size, where: store.list_instances(size, where, newest_first=True), "instances"
    )
    bindings, older_bindings = _newest(
        lambda size, where: store.list_bindings(size, where, newest_first=True), "bindings"
    )
    running = store.list_operations(TABLE_ROWS, state="in progress")
    finished = store.list_operations(RECENT_OPERATIONS, state="finished")
    html = render_template(
        "dashboard/index.html",
        page=_page(rt),
        counts={
            "instances": sum(stored.instances.values()),
            "bindings": sum(stored.bindings.values()),
            "running": sum(stored.operations_in_progress.values()),
        },
        instances=[
            presenters.instance_row(rt.catalogs, record, len(store.bindings_of(record.id)))
            for record in instances
        ],
        bindings=presenters.binding_rows(rt.catalogs, bindings),
        paging={
            "instances": older_instances,
            "bindings": older_bindings,
            "paged": bool(request.args.get("instances") or request.args.get("bindings")),
        },
        running=presenters.operation_rows(running),
        finished=presenters.operation_rows(finished),
        faults=presenters.fault_rows(store.fault_list(), catalog),
        services=presenters.service_rows(catalog.services),
        fault_operations=FAULT_OPERATIONS,
        journal_operations=FAULT_OPERATIONS,
        plan_names=sorted({plan.name for plan in catalog.plans}),
    )
    return Response(html, mimetype="text/html")


@dashboard.get("/instances/<instance_id>")
def instance(instance_id: str) -> Response:
    """One instance; 404 (still a page) when it does not exist or no longer does."""
    rt = current_runtime()
    store = rt.store
    record = store.get_instance(instance_id)
    bindings = sorted(
        store.bindings_of(instance_id) if record is not None else [],
        key=lambda binding: binding.created_at,
        reverse=True,
    )
    operations = store.list_operations(OPERATIONS_READ, instance_id=instance_id)
    running, finished = _split(store, operations, [record, *bindings] if record else [])
    html = render_template(
        "dashboard/instance.html",
        page=_page(rt),
        instance_id=instance_id,
        instance=presenters.instance_row(rt.catalogs, record, len(bindings)) if record else None,
        bindings=presenters.binding_rows(rt.catalogs, bindings),
        running=presenters.operation_rows(running),
        finished=presenters.operation_rows(finished),
        journal_operations=FAULT_OPERATIONS,
    )
    return Response(html, status=200 if record is not None else 404, mimetype="text/html")
