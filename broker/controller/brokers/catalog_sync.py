"""A broker's catalog as ClusterServiceClasses and ClusterServicePlans, kept in step.

The whole catalog is checked first (a service without plans, a name taken by another
broker, a changed external id abort the sync); then one write creates the new
entries, updates the changed ones and marks those that left the catalog
``removedFromBrokerCatalog``. Removed entries are deleted once no ServiceInstance
references them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.kinds import CATALOG_VERSION, ObjectKey
from broker.controller.objects.names import k8s_name, label_value
from broker.controller.objects.references import describe_entry
from broker.controller.objects.store import State

__all__ = ["SyncError", "collect_removed_catalog_entries", "plan_sync"]

LABEL = "servicecatalog.k8s.io/spec."


class SyncError(ValueError):
    pass


def plan_sync(
    state: State, broker: dict[str, Any], services: list[dict[str, Any]], now: float
) -> Callable[[State], None]:
    """Check the whole catalog first, then answer the writes that apply it."""
    name = str(broker["metadata"]["name"])
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
                f'Error converting catalog payload for broker "{name}" '
                "to service-catalog API: "
                f'ClusterServiceClass (K8S: "{class_name}") must have at least one plan'
            )
        wanted.append(_class_object(service, class_name, name, owner))
        wanted.extend(_plan_object(plan, class_name, name, owner) for plan in service["plans"])
    for obj in wanted:
        existing = state.get(ObjectKey(obj["kind"], "", obj["metadata"]["name"]))
        if existing is None:
            continue
        description = describe_entry(obj)
        other = existing["spec"].get("clusterServiceBrokerName")
        if other != name:
            raise SyncError(f'{description} already exists for Broker "{other}"')
        if existing["spec"].get("externalID") != obj["spec"]["externalID"]:
            raise SyncError(f"{description} already exists with a different external id")

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

    return apply


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
