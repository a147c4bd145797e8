"""ClusterServiceBroker: fetch the catalog, keep ClusterServiceClasses and Plans in step.

Relists when the spec changed (``relistRequests`` bumps included), when not Ready,
and, for ``relistBehavior: Duration``, every ``relistDuration`` (or the controller's
relist interval). Entries that left the catalog are marked
``removedFromBrokerCatalog`` and deleted once no instance uses them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from broker.client import OSBClientError
from broker.controller.conditions import epoch_of, rfc3339
from broker.controller.engine import AuthError, Controller
from broker.controller.kinds import CATALOG_VERSION, ObjectKey
from broker.controller.names import k8s_name, label_value
from broker.controller.references import describe_entry
from broker.controller.store import State
from broker.controller.work import Work

__all__ = ["collect_removed_catalog_entries", "reconcile_broker", "relist_seconds"]

LABEL = "servicecatalog.k8s.io/spec."
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


class SyncError(ValueError):
    pass


def relist_seconds(text: str) -> float:
    return sum(float(number) * UNITS[unit] for number, unit in DURATION_PART.findall(text))


def reconcile_broker(controller: Controller, obj: dict[str, Any]) -> None:
    work = Work(controller, obj)
    if work.deleting:
        _delete(work)
        return
    if not _needs_relist(work):
        _schedule_relist(work)
        work.save()
        return
    try:
        client = controller.client_for(work.obj)
    except AuthError as exc:
        _fetch_failed(
            work, f"Error getting broker auth credentials: {exc}", "ErrorGettingAuthCredentials"
        )
        return
    try:
        catalog = client.catalog()
    except OSBClientError as exc:
        _fetch_failed(work, f"Error getting broker catalog: {exc}", "ErrorFetchingCatalog")
        return
    try:
        writes = _plan_sync(controller.state, work, catalog.services)
    except SyncError as exc:
        message = f"Error syncing catalog from ClusterServiceBroker.{exc}"
        work.condition("Ready", "False", "ErrorSyncingCatalog", message, "Warning")
        work.failed_once()
        work.save()
        return
    for write in writes:
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
    if work.is_true("Failed"):
        return False
    if not work.is_true("Ready"):
        return True
    next_relist = _next_relist(work)
    return next_relist is not None and work.now >= next_relist


def _next_relist(work: Work) -> float | None:
    if work.spec.get("relistBehavior", "Duration") != "Duration":
        return None
    period = (
        relist_seconds(work.spec["relistDuration"])
        if work.spec.get("relistDuration")
        else work.controller.settings.relist_interval
    )
    return epoch_of(work.status.get("lastCatalogRetrievalTime")) + period


def _schedule_relist(work: Work) -> None:
    next_relist = _next_relist(work)
    if next_relist is None:
        work.schedule.pop("due", None)
    else:
        work.schedule["due"] = next_relist


def _fetch_failed(work: Work, detail: str, event_reason: str) -> None:
    message = f"Error fetching catalog.{detail}"
    work.condition("Ready", "False", "ErrorFetchingCatalog", message)
    work.event("Warning", event_reason, message)
    work.status.setdefault("operationStartTime", rfc3339(work.now))
    delay = work.failed_once()
    if work.retries_exhausted():
        work.retry_timeout_condition()
        work.status["reconciledGeneration"] = work.generation
        work.settle()
    else:
        work.event("Warning", "RetryBackoff", f"Delaying catalog fetch retry for {delay:g}s")
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


# --- catalog → classes and plans ----------------------------------------------------------


def _plan_sync(state: State, work: Work, services: list[dict[str, Any]]) -> list[Any]:
    """Check the whole catalog first, then answer the writes that apply it."""
    broker = work.obj
    owner = {
        "apiVersion": CATALOG_VERSION,
        "kind": "ClusterServiceBroker",
        "name": broker["metadata"]["name"],
        "uid": broker["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }
    wanted: list[dict[str, Any]] = []
    for service in services:
        class_name = k8s_name(str(service["id"]))
        if not service.get("plans"):
            raise SyncError(
                f'Error converting catalog payload for broker "{work.name}" '
                "to service-catalog API: "
                f'ClusterServiceClass (K8S: "{class_name}") must have at least one plan'
            )
        wanted.append(_class_object(service, class_name, work.name, owner))
        wanted.extend(_plan_object(plan, class_name, work.name, owner) for plan in service["plans"])
    for obj in wanted:
        existing = state.get(ObjectKey(obj["kind"], "", obj["metadata"]["name"]))
        if existing is None:
            continue
        description = describe_entry(obj)
        other = existing["spec"].get("clusterServiceBrokerName")
        if other != work.name:
            raise SyncError(f'{description} already exists for Broker "{other}"')
        if existing["spec"].get("externalID") != obj["spec"]["externalID"]:
            raise SyncError(f"{description} already exists with a different external id")
    now = work.now

    def apply(state: State) -> None:
        names = {(obj["kind"], obj["metadata"]["name"]) for obj in wanted}
        for obj in wanted:
            existing = state.get(ObjectKey(obj["kind"], "", obj["metadata"]["name"]))
            if existing is None:
                created = dict(obj)
                created["metadata"] = {
                    **obj["metadata"],
                    "uid": str(uuid.uuid4()),
                    "creationTimestamp": rfc3339(now),
                    "generation": 1,
                }
                state.put(created)
                continue
            updated = {
                **existing,
                "spec": obj["spec"],
                "status": {"removedFromBrokerCatalog": False},
            }
            updated["metadata"] = {**existing["metadata"], "labels": obj["metadata"]["labels"]}
            if updated != existing:
                if updated["spec"] != existing["spec"]:
                    updated["metadata"]["generation"] = (
                        int(existing["metadata"].get("generation", 1)) + 1
                    )
                state.put(updated)
        for kind in ("ClusterServiceClass", "ClusterServicePlan"):
            for existing in state.list(kind):
                managed = any(
                    ref.get("controller") and ref.get("uid") == owner["uid"]
                    for ref in existing["metadata"].get("ownerReferences") or []
                )
                if managed and (kind, existing["metadata"]["name"]) not in names:
                    if not existing.get("status", {}).get("removedFromBrokerCatalog"):
                        existing["status"] = {"removedFromBrokerCatalog": True}
                        state.put(existing)

    return [apply]


def _labels(**values: str) -> dict[str, str]:
    return {f"{LABEL}{name}": label_value(value) for name, value in values.items()}


def _class_object(
    service: dict[str, Any], name: str, broker: str, owner: dict[str, Any]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "clusterServiceBrokerName": broker,
        "externalName": service["name"],
        "externalID": service["id"],
        "description": service.get("description", ""),
        "bindable": bool(service.get("bindable", False)),
        "planUpdatable": bool(service.get("plan_updateable", False)),
    }
    for source, target in (
        ("metadata", "externalMetadata"),
        ("tags", "tags"),
        ("requires", "requires"),
    ):
        if service.get(source):
            spec[target] = service[source]
    labels = _labels(
        externalID=service["id"], externalName=service["name"], clusterServiceBrokerName=broker
    )
    return {
        "apiVersion": CATALOG_VERSION,
        "kind": "ClusterServiceClass",
        "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
        "spec": spec,
        "status": {"removedFromBrokerCatalog": False},
    }


def _plan_object(
    plan: dict[str, Any], class_name: str, broker: str, owner: dict[str, Any]
) -> dict[str, Any]:
    name = k8s_name(str(plan["id"]))
    spec: dict[str, Any] = {
        "clusterServiceBrokerName": broker,
        "clusterServiceClassRef": {"name": class_name},
        "externalName": plan["name"],
        "externalID": plan["id"],
        "description": plan.get("description", ""),
        # Service Catalog turns a missing "free" into false, although OSB's default is true.
        "free": bool(plan.get("free", False)),
    }
    if "bindable" in plan:
        spec["bindable"] = bool(plan["bindable"])
    if plan.get("metadata"):
        spec["externalMetadata"] = plan["metadata"]
    schemas = plan.get("schemas") or {}
    for path, target in (
        (("service_instance", "create"), "instanceCreateParameterSchema"),
        (("service_instance", "update"), "instanceUpdateParameterSchema"),
        (("service_binding", "create"), "serviceBindingCreateParameterSchema"),
    ):
        found = (schemas.get(path[0]) or {}).get(path[1]) or {}
        if found.get("parameters"):
            spec[target] = found["parameters"]
    labels = _labels(
        externalID=plan["id"], externalName=plan["name"], clusterServiceBrokerName=broker
    )
    labels[f"{LABEL}clusterServiceClassRef.name"] = label_value(class_name)
    return {
        "apiVersion": CATALOG_VERSION,
        "kind": "ClusterServicePlan",
        "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
        "spec": spec,
        "status": {"removedFromBrokerCatalog": False},
    }


def collect_removed_catalog_entries(state: State) -> None:
    """Delete removed classes and plans that no ServiceInstance references any more."""
    instances = state.list("ServiceInstance")
    used_classes = {
        (obj["spec"].get("clusterServiceClassRef") or {}).get("name") for obj in instances
    }
    used_plans = {(obj["spec"].get("clusterServicePlanRef") or {}).get("name") for obj in instances}
    for kind, used in (("ClusterServicePlan", used_plans), ("ClusterServiceClass", used_classes)):
        for found in state.list(kind):
            if (
                found.get("status", {}).get("removedFromBrokerCatalog")
                and found["metadata"]["name"] not in used
            ):
                state.remove(ObjectKey(kind, "", found["metadata"]["name"]))
