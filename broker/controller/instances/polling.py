"""Polling last_operation of an asynchronous provision, update or deprovision, with
backoff (or the broker's Retry-After) until it succeeds, fails or takes too long."""

from __future__ import annotations

from broker.controller.broker_access import AuthError, CallFailed
from broker.controller.instances.deprovision import (
    delete_ids,
    deprovision_failed,
    deprovisioned,
    start_orphan_mitigation,
)
from broker.controller.instances.operations import ASYNC, clear_operation, retry_timeout
from broker.controller.instances.provision import provisioned
from broker.controller.instances.update import update_failed, updated
from broker.controller.objects.references import plan_of
from broker.controller.work import RETRY_TIMEOUT, Work

__all__ = [
    "async_failed",
    "poll_instance",
    "poll_later",
    "poll_terminal",
]


def poll_instance(work: Work) -> None:
    status = work.status
    deleting_op = status.get("currentOperation") == "Deprovision" or bool(
        status.get("orphanMitigationInProgress")
    )
    operation = "Deprovision" if deleting_op else str(status.get("currentOperation") or "Provision")
    cls, broker, _ = delete_ids(work)
    plan = plan_of(work.state, work.spec)
    plan_id = (
        plan["spec"]["externalID"]
        if plan is not None
        else (status.get("inProgressProperties") or {}).get("clusterServicePlanExternalID")
    )
    if cls is None or broker is None:
        poll_later(
            work,
            "ErrorPollingLastOperation",
            "Error polling last operation: the class or broker of this instance cannot be found",
        )
        return
    if work.operation_too_old():
        status["asyncOpInProgress"] = False
        if deleting_op:
            deprovision_failed(
                work,
                "DeprovisionCallFailed",
                "The asynchronous deprovision did not finish in time",
                bool(status.get("orphanMitigationInProgress")),
            )
        elif operation == "Provision":
            # An async provision that never finished may have left something behind.
            work.retry_timeout_condition()
            start_orphan_mitigation(work, "ErrorReconciliationRetryTimeout", RETRY_TIMEOUT)
        else:
            retry_timeout(work)
        return
    try:
        answer = work.machinery.connect(broker).last_operation(
            work.spec["externalID"],
            operation=status.get("lastOperation"),
            service_id=cls["spec"]["externalID"],
            plan_id=plan_id,
            user=work.spec.get("userInfo"),
        )
    except AuthError as exc:
        poll_later(work, "ErrorPollingLastOperation", f"Error polling last operation: {exc}")
        return
    except CallFailed as exc:
        if exc.gone and deleting_op:
            deprovisioned(work)
        elif exc.bad_request:
            poll_terminal(work, operation, deleting_op, f"Error polling last operation: {exc}")
        else:
            poll_later(work, "ErrorPollingLastOperation", f"Error polling last operation: {exc}")
        return
    if answer.state == "succeeded":
        status["asyncOpInProgress"] = False
        if deleting_op:
            deprovisioned(work)
        elif operation == "Update":
            updated(work)
        else:
            provisioned(work)
    elif answer.state == "failed":
        async_failed(
            work, operation, deleting_op, answer.description or "(no description provided)"
        )
    else:
        if answer.description and answer.state == "in progress":
            reason, message = ASYNC[operation]
            work.condition("Ready", "False", reason, f"{message} ({answer.description})", "Normal")
        polls = int(work.schedule.get("polls", 0)) + 1
        work.schedule["polls"] = polls
        work.due_in(work.machinery.settings.poll_delay(polls, answer.retry_after))
        work.save()


def poll_later(work: Work, reason: str, message: str) -> None:
    work.condition("Ready", "False", reason, message, "Warning")
    polls = int(work.schedule.get("polls", 0)) + 1
    work.schedule["polls"] = polls
    work.due_in(work.machinery.settings.poll_delay(polls, None))
    work.save()


def poll_terminal(work: Work, operation: str, deleting_op: bool, message: str) -> None:
    status = work.status
    status["asyncOpInProgress"] = False
    if deleting_op:
        deprovision_failed(
            work, "DeprovisionCallFailed", message, bool(status.get("orphanMitigationInProgress"))
        )
        return
    work.condition("Ready", "False", "ErrorPollingLastOperation", message, "Warning")
    work.condition("Failed", "True", "ErrorPollingLastOperation", message)
    if operation == "Provision":
        start_orphan_mitigation(work, "ErrorPollingLastOperation", message)
        return
    clear_operation(work)
    work.settle()
    work.save()


def async_failed(work: Work, operation: str, deleting_op: bool, description: str) -> None:
    status = work.status
    status["asyncOpInProgress"] = False
    status.pop("lastOperation", None)
    if deleting_op:
        deprovision_failed(
            work,
            "DeprovisionCallFailed",
            f"Deprovision call failed: {description}",
            bool(status.get("orphanMitigationInProgress")),
        )
        return
    if operation == "Update":
        update_failed(work, f"Update call failed: {description}")
        return
    message = f"Provision call failed: {description}"
    work.condition("Ready", "False", "ProvisionCallFailed", message, "Warning")
    work.condition("Failed", "True", "ProvisionCallFailed", message)
    # Failed=True stays: after orphan mitigation the instance is not provisioned again.
    if work.machinery.settings.orphan_mitigation:
        start_orphan_mitigation(work, "ProvisionCallFailed", message)
    else:
        clear_operation(work)
        work.settle()
        work.save()
