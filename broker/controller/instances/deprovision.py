"""Deprovisioning a ServiceInstance, and orphan mitigation (the DELETE owed to a broker
after an ambiguous provision failure). Bindings block a deprovision; 410 counts as done."""

from __future__ import annotations

from typing import Any

from broker.controller.broker_access import AuthError, BrokerConnection, CallFailed
from broker.controller.instances.operations import (
    ASYNC,
    clear_operation,
    operation_error,
    start_generation,
)
from broker.controller.instances.resolution import Refs
from broker.controller.objects.conditions import rfc3339
from broker.controller.objects.references import broker_of, class_of, plan_of
from broker.controller.work import RETRY_TIMEOUT, Work

__all__ = [
    "OM_MESSAGE",
    "bindings_of",
    "delete_ids",
    "delete_instance",
    "deprovision_error",
    "deprovision_failed",
    "deprovisioned",
    "report_missing",
    "start_orphan_mitigation",
]

OM_MESSAGE = (
    "The instance provision call failed with an ambiguous error; attempting to deprovision the "
    "instance in order to mitigate an orphaned resource"
)


def start_orphan_mitigation(work: Work, reason: str, message: str) -> None:
    """Owe the broker a DELETE after an ambiguous provision failure, and send it now."""
    work.event("Warning", "StartingInstanceOrphanMitigation", OM_MESSAGE)
    work.condition("OrphanMitigation", "True", reason, message)
    work.condition("Ready", "False", "StartingInstanceOrphanMitigation", OM_MESSAGE)
    work.status["orphanMitigationInProgress"] = True
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
    """Deprovision (the instance is being deleted) or mitigate an orphan (it owes a DELETE)."""
    status = work.status
    if not work.has_finalizer or status.get("deprovisionStatus") == "Failed":
        work.settle()
        work.save()
        return
    mitigating = bool(status.get("orphanMitigationInProgress"))
    if not mitigating and status.get("observedGeneration") != work.generation:
        start_generation(work)
    if status.get("deprovisionStatus") in (None, "", "NotRequired", "Succeeded"):
        work.drop_finalizer()
        work.save()
        return
    if bindings_of(work):
        operation_error(
            work,
            "DeprovisionBlockedByExistingCredentials",
            "All associated ServiceBindings must be removed before this ServiceInstance can be "
            "deleted",
        )
        return
    found = _delete_target(work)
    if found is None:
        return
    connection, refs, plan_id = found
    if mitigating and not work.deleting:
        status.setdefault("operationStartTime", rfc3339(work.now))
    elif status.get("currentOperation") != "Deprovision":
        if mitigating:
            # There is no need in tracking orphan mitigation apart from the deletion.
            status["orphanMitigationInProgress"] = False
            work.drop_condition("OrphanMitigation")
            mitigating = False
        properties = status.get("inProgressProperties") or status.get("externalProperties")
        clear_operation(work)
        status["currentOperation"] = "Deprovision"
        status["operationStartTime"] = rfc3339(work.now)
        status["inProgressProperties"] = properties or {"clusterServicePlanExternalID": plan_id}
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
            refs.cls["spec"]["externalID"],
            plan_id,
            user=work.spec.get("userInfo"),
        )
    except CallFailed as exc:
        if exc.answered:
            message = f"Deprovision call failed; received error response from broker: {exc}"
        else:
            message = (
                f"Error deprovisioning, {refs.class_description} at "
                f'ClusterServiceBroker "{refs.broker_name}": {exc}'
            )
        deprovision_error(work, "DeprovisionCallFailed", message)
        return
    if answer.is_async:
        status["asyncOpInProgress"] = True
        if answer.operation:
            status["lastOperation"] = answer.operation
        reason, message = ASYNC["Deprovision"]
        work.condition("Ready", "False", reason, message, "Normal")
        work.begin_polling(answer.retry_after)
        work.save()
        return
    deprovisioned(work)


def _delete_target(work: Work) -> tuple[BrokerConnection, Refs, str] | None:
    """(connection, refs, plan id) of the DELETE, or None after reporting what is missing."""
    cls, broker, plan_id = delete_ids(work)
    if cls is None or broker is None:
        report_missing(work, cls)
        return None
    if plan_id is None:
        ref = (work.spec.get("clusterServicePlanRef") or {}).get("name", "")
        operation_error(
            work,
            "ReferencesNonexistentServicePlan",
            f'The instance references a non-existent ClusterServicePlan "{ref}"',
        )
        return None
    try:
        connection = work.machinery.connect(broker)
    except AuthError:
        # Service Catalog reports an unusable auth Secret on the broker, and retries.
        work.requeue()
        work.save()
        return None
    return connection, Refs(cls, {"spec": {"externalID": plan_id}}, broker), plan_id


def report_missing(work: Work, cls: dict[str, Any] | None) -> None:
    """The instance's class (``cls`` is None) or its broker is gone: retried by the queue."""
    if cls is None:
        ref = (work.spec.get("clusterServiceClassRef") or {}).get("name", "")
        external = work.spec.get("clusterServiceClassExternalName", "")
        operation_error(
            work,
            "ReferencesNonexistentServiceClass",
            "The instance references a non-existent ClusterServiceClass "
            f'(K8S: "{ref}" ExternalName: "{external}")',
        )
        return
    operation_error(
        work,
        "ReferencesNonexistentBroker",
        "The instance references a non-existent broker "
        f'"{cls["spec"].get("clusterServiceBrokerName")}"',
    )


def deprovision_error(work: Work, reason: str, message: str) -> None:
    """A failed DELETE (or poll of one): retried, until the retry window has passed."""
    if work.operation_too_old():
        deprovision_failed(
            work, (reason, message), ("ErrorReconciliationRetryTimeout", RETRY_TIMEOUT)
        )
        return
    work.condition("Ready", "Unknown", reason, message, "Warning")
    work.requeue()
    work.save()


def deprovision_failed(work: Work, ready: tuple[str, str], failed: tuple[str, str]) -> None:
    """Deprovisioning has failed for good: ``deprovisionStatus=Failed``; the instance stays."""
    if work.status.get("orphanMitigationInProgress"):
        message = f"Orphan mitigation failed: {failed[1]}"
        work.condition("Ready", "Unknown", "OrphanMitigationFailed", message, "Warning")
    else:
        work.condition("Ready", "Unknown", *ready, "Warning")
        work.condition("Failed", "True", *failed, "Warning")
    clear_operation(work)
    work.status["deprovisionStatus"] = "Failed"
    work.settle()
    work.save()


def deprovisioned(work: Work) -> None:
    status = work.status
    mitigating = bool(status.get("orphanMitigationInProgress"))
    reason, message = "DeprovisionedSuccessfully", "The instance was deprovisioned successfully"
    if mitigating:
        work.drop_condition("OrphanMitigation")
        status["orphanMitigationInProgress"] = False
        reason, message = (
            "OrphanMitigationSuccessful",
            "Orphan mitigation was completed successfully",
        )
    work.condition("Ready", "False", reason, message, "Normal")
    clear_operation(work)
    status.pop("externalProperties", None)
    status["provisionStatus"] = "NotProvisioned"
    status["deprovisionStatus"] = "Succeeded"
    if not mitigating:
        work.drop_finalizer()
    elif work.is_true("Failed"):
        work.settle()
    else:
        # The provision failed in a retriable way: it is sent again after the backoff.
        work.forget()
        work.backoff_event("provision", work.failed_once())
    work.save()
