"""ClusterServiceBroker: fetch the catalog, keep ClusterServiceClasses and Plans in step.

Relists when the spec changed (``relistRequests`` bumps included), when not Ready,
and, for ``relistBehavior: Duration``, every ``relistDuration`` (or the controller's
relist interval). Entries that left the catalog are marked
``removedFromBrokerCatalog`` and deleted once no instance uses them.
"""

from __future__ import annotations

import re
from typing import Any

from broker.controller.broker_access import AuthError, CallFailed
from broker.controller.brokers.catalog_sync import SyncError, plan_sync
from broker.controller.machinery import Machinery
from broker.controller.objects.conditions import epoch_of, rfc3339
from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State
from broker.controller.settings import QUEUE_RETRIES
from broker.controller.work import RETRY_TIMEOUT, Work

__all__ = ["reconcile_broker", "relist_seconds"]

FETCH_ERROR = "Error fetching catalog."
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def relist_seconds(text: str) -> float:
    return sum(float(number) * UNITS[unit] for number, unit in DURATION_PART.findall(text))


def reconcile_broker(machinery: Machinery, obj: dict[str, Any]) -> None:
    work = Work(machinery, obj)
    if work.deleting:
        _delete(work)
        return
    if not _needs_relist(work):
        _schedule_relist(work)
        work.save()
        return
    try:
        connection = machinery.connect(work.obj)
    except AuthError as exc:
        detail = f"Error getting broker auth credentials: {exc}"
        work.event("Warning", "ErrorGettingAuthCredentials", detail)
        work.condition("Ready", "False", "ErrorFetchingCatalog", f"{FETCH_ERROR}{detail}")
        _back_off(work)
        work.save()
        return
    try:
        services = connection.catalog()
    except CallFailed as exc:
        _fetch_failed(work, f"Error getting broker catalog: {exc}")
        return
    try:
        write = plan_sync(machinery.state, work.obj, services, work.now)
    except SyncError as exc:
        work.event("Warning", "ErrorSyncingCatalog", str(exc))
        message = f"Error syncing catalog from ClusterServiceBroker.{exc}"
        work.condition("Ready", "False", "ErrorSyncingCatalog", message)
        _back_off(work)
        work.save()
        return
    work.also(write)
    work.condition(
        "Ready",
        "True",
        "FetchedCatalog",
        "Successfully fetched catalog entries from broker.",
        "Normal",
    )
    work.status["reconciledGeneration"] = work.generation
    work.status["lastCatalogRetrievalTime"] = rfc3339(work.now)
    work.status.pop("operationStartTime", None)
    work.settle()
    _schedule_relist(work)
    work.save()


def _needs_relist(work: Work) -> bool:
    status = work.status
    if status.get("reconciledGeneration") != work.generation or not status.get("conditions"):
        return True
    if not work.is_true("Ready"):
        # Service Catalog relists a broker whatever happened before, as long as it is not
        # Ready: a broker back after a long outage recovers.
        return True
    next_relist = _next_relist(work)
    return next_relist is not None and work.now >= next_relist


def _next_relist(work: Work) -> float | None:
    if work.spec.get("relistBehavior", "Duration") != "Duration":
        return None
    period = (
        relist_seconds(work.spec["relistDuration"])
        if work.spec.get("relistDuration")
        else work.machinery.settings.relist_interval
    )
    return epoch_of(work.status.get("lastCatalogRetrievalTime")) + period


def _schedule_relist(work: Work) -> None:
    next_relist = _next_relist(work)
    if next_relist is None:
        work.schedule.pop("due", None)
    else:
        work.schedule["due"] = next_relist


def _back_off(work: Work) -> None:
    """The broker queue's backoff (1 s doubling to 20 min); after 15 retries the queue
    drops the broker and the resync brings it back."""
    if int(work.schedule.get("failures", 0)) >= QUEUE_RETRIES:
        work.schedule.pop("failures", None)
        work.due_in(work.machinery.settings.resync_interval)
        return
    work.failed_once()


def _fetch_failed(work: Work, detail: str) -> None:
    """Not Ready, and retried; past the retry window Service Catalog only says so.

    It means to set ``Failed=True ErrorReconciliationRetryTimeout`` too, but its
    condition update replaces existing conditions only and a broker that failed to
    fetch has a Ready condition alone: the broker stays ``ErrorFetchingCatalog``, its
    window starts again at the next failure, and it recovers when the broker answers.
    """
    work.event("Warning", "ErrorFetchingCatalog", detail)
    work.condition("Ready", "False", "ErrorFetchingCatalog", f"{FETCH_ERROR}{detail}")
    started = work.status.get("operationStartTime")
    if started is None:
        work.status["operationStartTime"] = rfc3339(work.now)
    elif work.now >= epoch_of(started) + work.machinery.settings.retry_duration:
        work.event("Warning", "ErrorReconciliationRetryTimeout", RETRY_TIMEOUT)
        work.status.pop("operationStartTime", None)
        work.status["reconciledGeneration"] = work.generation
        work.settle()
        work.save()
        return
    _back_off(work)
    work.save()


def _delete(work: Work) -> None:
    broker = work.name

    def remove_entries(state: State) -> None:
        for kind in ("ClusterServicePlan", "ClusterServiceClass"):
            for found in state.list(kind):
                if found["spec"].get("clusterServiceBrokerName") == broker:
                    state.remove(ObjectKey(kind, "", found["metadata"]["name"]))

    work.also(remove_entries)
    work.condition(
        "Ready",
        "False",
        "DeletedClusterServiceBrokerSuccessfully",
        "The broker was deleted successfully",
    )
    work.event(
        "Normal",
        "DeletedClusterServiceBrokerSuccessfully",
        f"The broker {broker} was deleted successfully.",
    )
    work.drop_finalizer()
    work.save()
