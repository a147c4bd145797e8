"""Polling ``last_operation`` of an asynchronous provision, update or deprovision, as
Service Catalog v0.3.1 does.

The broker is asked first: ``succeeded`` wins whatever the operation's age. Only an
operation still in progress (or a poll that fails) past the reconciliation retry
window (7 days) is given up, with ``ErrorReconciliationRetryTimeout``. Polls come
after 1 s, 2 s, 4 s … up to 20 minutes (the broker's ``Retry-After`` is not read unless
asked for); after a failed poll the next one comes from the work queue, 5 ms doubling.
A 400 ends the operation: a provision is mitigated, a deprovision is marked
``deprovisionStatus=Failed`` and the instance stays.
"""

from __future__ import annotations

from broker.controller.broker_access import AuthError, CallFailed
from broker.controller.instances.deprovision import (
    delete_ids,
    deprovision_failed,
    deprovisioned,
    report_missing,
)
from broker.controller.instances.operations import ASYNC, clear_async
from broker.controller.instances.provision import provision_failed, provisioned
from broker.controller.instances.update import update_failed, updated
from broker.controller.objects.references import plan_of
from broker.controller.work import RETRY_TIMEOUT, Work

__all__ = ["poll_instance"]

TIMEOUT = ("ErrorReconciliationRetryTimeout", RETRY_TIMEOUT)


def _operation(work: Work) -> str:
    """``Deprovision`` (also for orphan mitigation), ``Provision`` or ``Update``."""
    status = work.status
    if status.get("currentOperation") == "Deprovision" or status.get("orphanMitigationInProgress"):
        return "Deprovision"
    return "Update" if status.get("currentOperation") == "Update" else "Provision"


def poll_instance(work: Work) -> None:
    status = work.status
    operation = _operation(work)
    cls, broker, _ = delete_ids(work)
    if cls is None or broker is None:
        report_missing(work, cls)
        return
    plan = plan_of(work.state, work.spec)
    plan_id = (
        plan["spec"]["externalID"]
        if plan is not None
        else (status.get("inProgressProperties") or {}).get("clusterServicePlanExternalID")
    )
    try:
        answer = work.machinery.connect(broker).last_operation(
            work.spec["externalID"],
            operation=status.get("lastOperation"),
            service_id=cls["spec"]["externalID"],
            plan_id=plan_id,
            user=work.spec.get("userInfo"),
        )
    except AuthError:
        work.requeue()
        work.save()
        return
    except CallFailed as exc:
        _poll_failed(work, operation, exc)
        return
    if answer.state == "succeeded":
        status["asyncOpInProgress"] = False
        {"Deprovision": deprovisioned, "Update": updated, "Provision": provisioned}[operation](work)
    elif answer.state == "failed":
        _async_failed(work, operation, answer.description or "(no description provided)")
    elif answer.state == "in progress":
        reason, message = ASYNC[operation]
        if answer.description:
            message = f"{message} ({answer.description})"
        if work.operation_too_old():
            _give_up(work, operation, (reason, message))
            return
        if answer.description:
            work.condition("Ready", "False", reason, message, "Normal")
        work.poll_again(answer.retry_after)
        work.save()
    else:
        message = f'Got invalid state in LastOperationResponse: "{answer.state}"'
        if work.operation_too_old():
            _give_up(work, operation, ("ErrorPollingLastOperation", message))
            return
        work.poll_again(answer.retry_after)
        work.save()


def _poll_failed(work: Work, operation: str, failure: CallFailed) -> None:
    if failure.gone and operation == "Deprovision":
        work.status["asyncOpInProgress"] = False
        deprovisioned(work)
        return
    ready = ("ErrorPollingLastOperation", f"Error polling last operation: {failure}")
    if work.operation_too_old():
        _give_up(work, operation, ready)
        return
    if failure.bad_request:
        _end(work, operation, ready, ready)
        return
    # Polled again by the work queue (5 ms doubling), not by the poll backoff.
    work.condition("Ready", "False", *ready, "Warning")
    work.requeue()
    work.save()


def _give_up(work: Work, operation: str, ready: tuple[str, str]) -> None:
    """The retry window has passed while the operation was still going (or failing)."""
    _end(work, operation, ready, TIMEOUT)


def _end(work: Work, operation: str, ready: tuple[str, str], failed: tuple[str, str]) -> None:
    """A terminal end of polling: the deprovision fails, the provision is mitigated."""
    clear_async(work)
    if operation == "Deprovision":
        deprovision_failed(work, ready, failed)
    elif operation == "Provision":
        provision_failed(work, ready, failed, True)
    else:
        update_failed(work, failed[1], failed[0])


def _async_failed(work: Work, operation: str, description: str) -> None:
    if operation == "Deprovision":
        ready = ("DeprovisionCallFailed", f"Deprovision call failed: {description}")
        if work.operation_too_old():
            _give_up(work, operation, ready)
            return
        # A fresh DELETE follows, from the work queue.
        clear_async(work)
        work.condition("Ready", "Unknown", *ready, "Warning")
        work.requeue()
        work.save()
    elif operation == "Update":
        clear_async(work)
        update_failed(work, f"Update call failed: {description}")
    else:
        message = f"Provision call failed: {description}"
        clear_async(work)
        # Failed=True stays: after orphan mitigation the instance is not provisioned again.
        provision_failed(
            work, ("ProvisionCallFailed", message), ("ProvisionCallFailed", message), True
        )
