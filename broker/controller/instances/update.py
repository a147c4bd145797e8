"""Updating a provisioned ServiceInstance: a PATCH with previous_values, the plan only if
it changed, the parameters only if their checksum did. Updates never mitigate orphans;
only a 400 is terminal, and the retry window ends transport errors only."""

from __future__ import annotations

from broker.controller.broker_access import CallFailed
from broker.controller.instances.operations import (
    already_processed,
    begin_operation,
    clear_async,
    clear_operation,
    go_async,
    retry_after_backoff,
    start_generation,
)
from broker.controller.instances.request_content import (
    broker_connection,
    context_of,
    in_progress_properties,
)
from broker.controller.instances.resolution import references_deleted, resolve
from broker.controller.work import RETRY_TIMEOUT, Work

__all__ = ["update_failed", "update_instance", "updated"]


def update_instance(work: Work) -> None:
    if already_processed(work):
        work.settle()
        work.save()
        return
    start_generation(work)
    refs = resolve(work)
    if refs is None:
        return
    external = work.status.get("externalProperties") or {}
    plan_changes = refs.plan["spec"]["externalID"] != external.get("clusterServicePlanExternalID")
    if plan_changes and references_deleted(work, refs):
        return
    connection = broker_connection(work, refs)
    prepared = in_progress_properties(work, refs) if connection is not None else None
    if connection is None or prepared is None:
        return
    properties, parameters = prepared
    begin_operation(
        work,
        "Update",
        properties,
        "UpdateInstanceRequestInFlight",
        "Update request for ServiceInstance in-flight to Broker",
    )
    if work.gone:
        return
    changed_parameters = properties.get("parameterChecksum") != external.get("parameterChecksum")
    try:
        answer = connection.update(
            work.spec["externalID"],
            refs.cls["spec"]["externalID"],
            plan_id=refs.plan["spec"]["externalID"] if plan_changes else None,
            parameters=(parameters or {}) if changed_parameters else None,
            context=context_of(work),
            previous_values={
                "plan_id": external.get("clusterServicePlanExternalID"),
                "service_id": refs.cls["spec"]["externalID"],
            },
            user=work.spec.get("userInfo"),
        )
    except CallFailed as exc:
        _call_failed(work, exc)
        return
    if answer.is_async:
        go_async(work, answer.operation, answer.retry_after)
        return
    updated(work)


def _call_failed(work: Work, failure: CallFailed) -> None:
    """Service Catalog's update error table: only a 400 (or the window, for transport
    errors) is terminal; everything else is sent again after the backoff."""
    if failure.bad_request:
        update_failed(
            work,
            "ServiceBroker returned a failure for update call; update will not be retried: "
            f"{failure}",
        )
        return
    if failure.answered:
        reason = "UpdateInstanceCallFailed"
        message = (
            f"ServiceBroker returned a failure for update call; update will be retried: {failure}"
        )
    elif failure.timed_out:
        reason = "ErrorCallingUpdateInstance"
        message = (
            f"Communication with the ServiceBroker timed out; update will be retried: {failure}"
        )
    else:
        reason = "ErrorCallingUpdateInstance"
        message = (
            "The update call failed and will be retried: Error communicating with broker "
            f"for updating: {failure}"
        )
        if work.operation_too_old():
            work.event("Warning", reason, message)
            update_failed(work, RETRY_TIMEOUT, "ErrorReconciliationRetryTimeout")
            return
    work.condition("Ready", "False", reason, message, "Warning")
    clear_async(work)
    retry_after_backoff(work, "update")


def update_failed(work: Work, message: str, reason: str = "UpdateInstanceCallFailed") -> None:
    """A terminal update failure (Failed=True); the instance keeps what it had."""
    work.condition("Ready", "False", reason, message, "Warning")
    work.condition("Failed", "True", reason, message)
    clear_operation(work)
    work.settle()
    work.save()


def updated(work: Work) -> None:
    status = work.status
    status["externalProperties"] = status.get("inProgressProperties")
    status["reconciledGeneration"] = status.get("observedGeneration", work.generation)
    clear_operation(work)
    work.condition(
        "Ready",
        "True",
        "InstanceUpdatedSuccessfully",
        "The instance was updated successfully",
        "Normal",
    )
    work.settle()
    work.save()
