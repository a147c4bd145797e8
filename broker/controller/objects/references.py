"""Following the references of instances and classes: the fields an instance names its
class and plan with, an instance's class and plan, a class's broker; and how messages
name a class or plan."""

from __future__ import annotations

from typing import Any

from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.store import State

__all__ = [
    "CLASS_FIELDS",
    "CLASS_STYLES",
    "PLAN_FIELDS",
    "PLAN_FOR_CLASS",
    "broker_of",
    "class_of",
    "describe_entry",
    "plan_of",
]

# The three ways a ServiceInstance spec names its class and plan: the class field, the
# plan field that goes with it, and what both match on a class or plan (that field of
# its spec, or its metadata.name for None).
CLASS_STYLES: tuple[tuple[str, str, str | None], ...] = (
    ("clusterServiceClassExternalName", "clusterServicePlanExternalName", "externalName"),
    ("clusterServiceClassExternalID", "clusterServicePlanExternalID", "externalID"),
    ("clusterServiceClassName", "clusterServicePlanName", None),
)
CLASS_FIELDS = tuple(class_field for class_field, _, _ in CLASS_STYLES)
PLAN_FIELDS = tuple(plan_field for _, plan_field, _ in CLASS_STYLES)
PLAN_FOR_CLASS = {class_field: plan_field for class_field, plan_field, _ in CLASS_STYLES}


def class_of(state: State, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The ClusterServiceClass a spec's ``clusterServiceClassRef`` names, if it exists."""
    name = (spec.get("clusterServiceClassRef") or {}).get("name")
    return state.get(ObjectKey("ClusterServiceClass", "", name)) if name else None


def plan_of(state: State, spec: dict[str, Any]) -> dict[str, Any] | None:
    """The ClusterServicePlan a spec's ``clusterServicePlanRef`` names, if it exists."""
    name = (spec.get("clusterServicePlanRef") or {}).get("name")
    return state.get(ObjectKey("ClusterServicePlan", "", name)) if name else None


def broker_of(state: State, cls: dict[str, Any]) -> dict[str, Any] | None:
    """The ClusterServiceBroker that offers a class, if it exists."""
    name = str(cls["spec"].get("clusterServiceBrokerName"))
    return state.get(ObjectKey("ClusterServiceBroker", "", name))


def describe_entry(entry: dict[str, Any]) -> str:
    """A ClusterServiceClass or ClusterServicePlan as messages name it, with both its names."""
    name, external = entry["metadata"]["name"], entry["spec"]["externalName"]
    return f'{entry["kind"]} (K8S: "{name}" ExternalName: "{external}")'
