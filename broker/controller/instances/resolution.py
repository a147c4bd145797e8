"""Resolving an instance's class, plan and broker, as Service Catalog does: exactly one
match by external name, external id or Kubernetes name; the refs and their lookup
labels recorded in the spec; a class or plan that left the catalog refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.controller.broker_access import CallFailed
from broker.controller.instances.operations import operation_error
from broker.controller.objects.names import label_value
from broker.controller.objects.references import (
    CLASS_STYLES,
    broker_of,
    class_of,
    describe_entry,
    plan_of,
)
from broker.controller.work import Work

__all__ = ["Refs", "references_deleted", "resolve"]


@dataclass(frozen=True)
class Refs:
    cls: dict[str, Any]
    plan: dict[str, Any]
    broker: dict[str, Any]

    @property
    def class_description(self) -> str:
        return describe_entry(self.cls)

    @property
    def broker_name(self) -> str:
        return str(self.broker["metadata"]["name"])

    def http_detail(self, verb: str, failure: CallFailed) -> str:
        """``Error provisioning ServiceInstance of <class> at ClusterServiceBroker "<b>": …``."""
        return (
            f"Error {verb} ServiceInstance of {self.class_description} at ClusterServiceBroker "
            f'"{self.broker_name}": {failure.text}'
        )


def resolve(work: Work) -> Refs | None:
    """Find (and record) the class, plan and broker; sets Ready=False and answers None if not."""
    state = work.state
    spec = work.spec
    class_field, plan_field, attribute = next(style for style in CLASS_STYLES if style[0] in spec)
    class_ref = (spec.get("clusterServiceClassRef") or {}).get("name")
    if class_ref:
        cls = class_of(state, spec)
        candidates = [cls] if cls is not None else []
    else:
        candidates = [
            found
            for found in state.list("ClusterServiceClass")
            if (found["metadata"]["name"] if attribute is None else found["spec"].get(attribute))
            == spec[class_field]
        ]
    given = f'{{{class_field[0].upper()}{class_field[1:]}:"{spec[class_field]}"}}'
    if len(candidates) != 1:
        operation_error(
            work,
            "ReferencesNonexistentServiceClass",
            "The instance references a ClusterServiceClass that does not exist. "
            f"References a non-existent ClusterServiceClass {given} "
            f"or there is more than one (found: {len(candidates)})",
        )
        return None
    cls = candidates[0]
    plan_ref = (spec.get("clusterServicePlanRef") or {}).get("name")
    if plan_ref:
        plan = plan_of(state, spec)
        plans = [plan] if plan is not None else []
    else:
        plans = [
            found
            for found in state.list("ClusterServicePlan")
            if found["spec"]["clusterServiceClassRef"]["name"] == cls["metadata"]["name"]
            and found["spec"].get("clusterServiceBrokerName")
            == cls["spec"].get("clusterServiceBrokerName")
            and (found["metadata"]["name"] if attribute is None else found["spec"].get(attribute))
            == spec.get(plan_field)
        ]
    if len(plans) != 1:
        wanted = f'{{{plan_field[0].upper()}{plan_field[1:]}:"{spec.get(plan_field)}"}}'
        operation_error(
            work,
            "ReferencesNonexistentServicePlan",
            "The instance references a ClusterServicePlan that does not exist. "
            f"References a non-existent ClusterServicePlan {wanted} "
            f"on ClusterServiceClass {cls['metadata']['name']} {given} "
            f"or there is more than one (found: {len(plans)})",
        )
        return None
    plan = plans[0]
    broker = broker_of(state, cls)
    if broker is None:
        operation_error(
            work,
            "ReferencesNonexistentBroker",
            "The instance references a non-existent broker "
            f'"{cls["spec"].get("clusterServiceBrokerName")}"',
        )
        return None
    if not class_ref or not plan_ref:
        _record_refs(work, cls, plan)
    work.status["userSpecifiedClassName"] = f"ClusterServiceClass/{spec[class_field]}"
    work.status["userSpecifiedPlanName"] = str(spec.get(plan_field, ""))
    return Refs(cls, plan, broker)


def _record_refs(work: Work, cls: dict[str, Any], plan: dict[str, Any]) -> None:
    work.set_spec(
        clusterServiceClassRef={"name": cls["metadata"]["name"]},
        clusterServicePlanRef={"name": plan["metadata"]["name"]},
    )
    work.set_label(
        "servicecatalog.k8s.io/spec.clusterServiceClassRef.name",
        label_value(cls["metadata"]["name"]),
    )
    work.set_label(
        "servicecatalog.k8s.io/spec.clusterServicePlanRef.name",
        label_value(plan["metadata"]["name"]),
    )


def references_deleted(work: Work, refs: Refs) -> bool:
    """Retry later (and answer True) if the plan or class has left the broker's catalog."""
    for entry, reason in (
        (refs.plan, "ReferencesDeletedServicePlan"),
        (refs.cls, "ReferencesDeletedServiceClass"),
    ):
        if entry.get("status", {}).get("removedFromBrokerCatalog"):
            operation_error(
                work, reason, f"{describe_entry(entry)} has been deleted; cannot provision."
            )
            return True
    return False
