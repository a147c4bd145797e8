"""Deprovisioning a ServiceInstance, and orphan mitigation (the DELETE owed to a broker
after an ambiguous provision failure). Bindings block a deprovision; 410 counts as done."""

from __future__ import annotations

from typing import Any

from broker.controller.broker_access import AuthError, CallFailed
from broker.controller.instances.operations import ASYNC, clear_operation
from broker.controller.instances.resolution import Refs
from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.references import broker_of, class_of, plan_of
from broker.controller.work import Work

__all__ = [
    "OM_MESSAGE",
    "bindings_of",
    "delete_ids",
    "delete_instance",
    "deprovision_failed",
    "deprovisioned",
    "go_async_delete",
    "start_orphan_mitigation",
]

OM_MESSAGE = (
    "The instance provision call failed with an ambiguous error; attempting to deprovision the "
    "instance in order to mitigate an orphaned resource"
)


def start_orphan_mitigation(work: Work, reason: str, message: str) -> None:
    status = work.status
    work.event("Warning", "StartingInstanceOrphanMitigation", OM_MESSAGE)
    work.condition("OrphanMitigation", "True", reason, message)
    work.condition("Ready", "False", "StartingInstanceOrphanMitigation", OM_MESSAGE)
    status["orphanMitigationInProgress"] = True
    status["asyncOpInProgress"] = False
    status.pop("lastOperation", None)
    status.setdefault("operationStartTime", rfc3339(work.now))
    work.schedule.pop("due", None)
    work.save()
    if not work.gone:
        delete_instance(work)


def bindings_of(work: Work) -> list[dict[str, Any]]:
    return [
        binding
        for binding in work.state.list("ServiceBinding", work.namespace)
        if binding["spec"]["instanceRef"]["name"] == work.name
    ]


def delete_ids(work: Work) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """(class, broker, plan id) for a DELETE, from the properties Service Catalog would use."""
    state, status = work.state, work.status
    cls = class_of(state, work.spec)
    broker = broker_of(state, cls) if cls is not None else None
    if status.get("currentOperation") or status.get("orphanMitigationInProgress"):
        plan_id = (status.get("inProgressProperties") or {}).get("clusterServicePlanExternalID")
    elif status.get("provisionStatus") != "Provisioned":
        plan = plan_of(state, work.spec)
        plan_id = plan["spec"]["externalID"] if plan is not None else None
    else:
        plan_id = (status.get("externalProperties") or {}).get("clusterServicePlanExternalID")
    return cls, broker, plan_id


def delete_instance(work: Work) -> None:
    status = work.status
    if work.deleting and status.get("orphanMitigationInProgress"):
        # The user deleted the instance during orphan mitigation: a normal deprovision takes over.
        status["orphanMitigationInProgress"] = False
        work.drop_condition("OrphanMitigation")
    mitigating = bool(status.get("orphanMitigationInProgress"))
    if work.deleting and not work.has_finalizer:
        return
    if status.get("deprovisionStatus") == "Failed":
        work.settle()
        work.save()
        return
    if not mitigating and status.get("deprovisionStatus") in (None, "", "NotRequired", "Succeeded"):
        work.drop_finalizer()
        work.save()
        return
    if not mitigating and bindings_of(work):
        work.condition(
            "Ready",
            "False",
            "DeprovisionBlockedByExistingCredentials",
            "All associated ServiceBindings must be removed before this ServiceInstance can be "
            "deleted",
            "Warning",
        )
        work.due_in(work.machinery.settings.retry_max)
        work.save()
        return
    cls, broker, plan_id = delete_ids(work)
    if cls is None or broker is None or plan_id is None:
        what = (
            "ClusterServiceClass"
            if cls is None
            else "broker"
            if broker is None
            else "ClusterServicePlan"
        )
        deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Error deprovisioning: the {what} of this instance cannot be found",
            mitigating,
        )
        return
    refs = Refs(cls, {"spec": {"externalID": plan_id}}, broker)
    try:
        connection = work.machinery.connect(broker)
    except AuthError as exc:
        deprovision_failed(
            work,
            "ErrorGettingAuthCredentials",
            f"Error getting broker auth credentials: {exc}",
            mitigating,
        )
        return
    if not mitigating and status.get("currentOperation") != "Deprovision":
        status["currentOperation"] = "Deprovision"
        status["operationStartTime"] = rfc3339(work.now)
        status.setdefault(
            "inProgressProperties",
            status.get("externalProperties") or {"clusterServicePlanExternalID": plan_id},
        )
        work.condition(
            "Ready",
            "False",
            "DeprovisionRequestInFlight",
            "Deprovision request for ServiceInstance in-flight to Broker",
        )
        work.save()
        if work.gone:
            return
    try:
        answer = connection.deprovision(
            work.spec["externalID"],
            cls["spec"]["externalID"],
            plan_id,
            user=work.spec.get("userInfo"),
        )
    except CallFailed as exc:
        if exc.error_status:
            deprovision_failed(
                work,
                "DeprovisionCallFailed",
                f"Deprovision call failed; received error response from broker: {exc.text}",
                mitigating,
            )
            return
        deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Error deprovisioning, {refs.class_description} at "
            f'ClusterServiceBroker "{refs.broker_name}": {exc}',
            mitigating,
        )
        return
    if answer.is_async:
        go_async_delete(work, answer.operation, answer.retry_after)
        return
    deprovisioned(work)


def go_async_delete(work: Work, operation: str | None, retry_after: float | None) -> None:
    status = work.status
    status["asyncOpInProgress"] = True
    if operation:
        status["lastOperation"] = operation
    reason, message = ASYNC["Deprovision"]
    work.condition("Ready", "False", reason, message, "Normal")
    work.schedule["polls"] = 0
    work.due_in(work.machinery.settings.poll_delay(0, retry_after))
    work.save()


def deprovision_failed(work: Work, reason: str, message: str, mitigating: bool) -> None:
    work.condition("Ready", "Unknown", reason, message, "Warning")
    delay = work.failed_once()
    if work.operation_too_old():
        work.status["deprovisionStatus"] = "Failed"
        if mitigating:
            work.condition(
                "Ready",
                "Unknown",
                "OrphanMitigationFailed",
                f"Orphan mitigation failed: {message}",
                "Warning",
            )
        else:
            work.retry_timeout_condition()
        work.settle()
    else:
        work.backoff_event("deprovision", delay)
    work.save()


def deprovisioned(work: Work) -> None:
    status = work.status
    mitigating = bool(status.get("orphanMitigationInProgress"))
    status.pop("externalProperties", None)
    status["provisionStatus"] = "NotProvisioned"
    status["deprovisionStatus"] = "Succeeded"
    clear_operation(work)
    if mitigating:
        status["orphanMitigationInProgress"] = False
        work.drop_condition("OrphanMitigation")
        work.condition(
            "Ready",
            "False",
            "OrphanMitigationSuccessful",
            "Orphan mitigation was completed successfully",
            "Normal",
        )
        if work.is_true("Failed"):
            work.settle()
        else:
            # The provision failed in a retriable way: provision again after the backoff.
            delay = work.machinery.settings.retry_delay(int(work.schedule.get("failures", 1)))
            work.due_in(delay)
            work.backoff_event("provision", delay)
        work.save()
        return
    work.condition(
        "Ready",
        "False",
        "DeprovisionedSuccessfully",
        "The instance was deprovisioned successfully",
        "Normal",
    )
    work.drop_finalizer()
    work.save()
