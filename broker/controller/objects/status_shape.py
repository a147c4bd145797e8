"""The status of an object as Service Catalog writes it: every field its Go type always
serialises, in the Go type's order, with the printer columns recalculated.

Service Catalog never omits ``reconciledGeneration``, ``provisionStatus`` or the
``*InProgress`` flags (they are written as ``0``, ``""`` and ``false``), so scripts
reading a status with ``jq`` find the same shape here. An empty status (an object the
controller has not looked at yet) stays empty, as it does there.
"""

from __future__ import annotations

from typing import Any

from broker.controller.objects.conditions import last_condition_state
from broker.controller.objects.references import CLASS_FIELDS, PLAN_FOR_CLASS

__all__ = ["shape_status"]

# (field, value written when unset or None when the field is left out), in Go's order.
FIELDS: dict[str, tuple[tuple[str, Any], ...]] = {
    "ServiceInstance": (
        ("conditions", []),
        ("asyncOpInProgress", False),
        ("orphanMitigationInProgress", False),
        ("lastOperation", None),
        ("dashboardURL", None),
        ("currentOperation", None),
        ("reconciledGeneration", 0),
        ("observedGeneration", 0),
        ("operationStartTime", None),
        ("inProgressProperties", None),
        ("externalProperties", None),
        ("provisionStatus", ""),
        ("deprovisionStatus", ""),
        ("defaultProvisionParameters", None),
        ("lastConditionState", ""),
        ("userSpecifiedPlanName", ""),
        ("userSpecifiedClassName", ""),
    ),
    "ServiceBinding": (
        ("conditions", []),
        ("asyncOpInProgress", False),
        ("lastOperation", None),
        ("currentOperation", None),
        ("reconciledGeneration", 0),
        ("operationStartTime", None),
        ("inProgressProperties", None),
        ("externalProperties", None),
        ("orphanMitigationInProgress", False),
        ("unbindStatus", ""),
        ("lastConditionState", ""),
    ),
    "ClusterServiceBroker": (
        ("conditions", []),
        ("reconciledGeneration", 0),
        ("operationStartTime", None),
        ("lastCatalogRetrievalTime", None),
        ("lastConditionState", ""),
    ),
}


def shape_status(obj: dict[str, Any]) -> None:
    """Give ``obj["status"]`` Service Catalog's shape, in place."""
    fields = FIELDS.get(str(obj.get("kind")))
    status: dict[str, Any] | None = obj.get("status")
    if fields is None or not status:
        return
    status["lastConditionState"] = last_condition_state(status)
    if obj["kind"] == "ServiceInstance":
        _printer_columns(obj["spec"], status)
    shaped: dict[str, Any] = {}
    for name, default in fields:
        value = status.get(name)
        if value is None or value == "" and default is None:
            if default is not None:
                shaped[name] = default
            continue
        shaped[name] = value
    shaped.update({name: value for name, value in status.items() if name not in shaped})
    for name in [name for name in shaped if shaped[name] is None]:
        del shaped[name]
    status.clear()
    status.update(shaped)


def _printer_columns(spec: dict[str, Any], status: dict[str, Any]) -> None:
    """``userSpecifiedClassName`` and ``userSpecifiedPlanName`` from the spec, as kubectl shows."""
    class_field = next((field for field in CLASS_FIELDS if spec.get(field)), None)
    if class_field is None or not spec.get(PLAN_FOR_CLASS[class_field]):
        return
    status["userSpecifiedClassName"] = f"ClusterServiceClass/{spec[class_field]}"
    status["userSpecifiedPlanName"] = str(spec[PLAN_FOR_CLASS[class_field]])
