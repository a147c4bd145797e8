"""The operation an instance is in: starting it, going async, retrying, giving up, ending it.

What provision, update and deprovision share about ``currentOperation``,
``operationStartTime``, ``inProgressProperties`` and the async flags, the generation
bookkeeping that decides whether there is anything to do, and Service Catalog's two
ways of trying again: the work queue (an error before or around a call: 5 ms
doubling) and the provision/update backoff (a failed call: 1 s doubling to 20 min).
"""

from __future__ import annotations

from typing import Any

from broker.controller.objects.conditions import rfc3339
from broker.controller.work import Work

__all__ = [
    "ASYNC",
    "already_processed",
    "begin_operation",
    "clear_async",
    "clear_operation",
    "go_async",
    "operation_error",
    "retry_after_backoff",
    "start_generation",
]

ASYNC = {
    "Provision": ("Provisioning", "The instance is being provisioned asynchronously"),
    "Update": ("UpdatingInstance", "The instance is being updated asynchronously"),
    "Deprovision": ("Deprovisioning", "The instance is being deprovisioned asynchronously"),
}
# What ctl records before a call, to compare with what the next attempt would send.
COMPARED = ("clusterServicePlanExternalID", "clusterServicePlanExternalName", "parameterChecksum")


def already_processed(work: Work) -> bool:
    status = work.status
    return (
        int(status.get("observedGeneration", 0)) >= work.generation
        and (work.is_true("Ready") or work.is_true("Failed"))
        and not status.get("orphanMitigationInProgress")
    )


def start_generation(work: Work) -> None:
    if work.status.get("observedGeneration") != work.generation:
        work.drop_condition("Failed")
    work.status["observedGeneration"] = work.generation


def operation_error(work: Work, reason: str, message: str) -> None:
    """An error the work queue retries (5 ms doubling): Ready not True, a Warning event.

    Ready is Unknown while a deprovision is the current operation, False otherwise.
    """
    value = "Unknown" if work.status.get("currentOperation") == "Deprovision" else "False"
    work.condition("Ready", value, reason, message, "Warning")
    work.requeue()
    work.save()


def retry_after_backoff(work: Work, operation: str) -> None:
    """A provision or update that failed and will be sent again after the backoff.

    Service Catalog's next pass finds the backoff pending and says so in a
    ``RetryBackoff`` event.
    """
    delay = work.failed_once()
    work.backoff_event(operation, delay)
    work.save()


def clear_async(work: Work) -> None:
    """Forget the broker's async operation, keep Service Catalog's operation."""
    work.status["asyncOpInProgress"] = False
    work.status.pop("lastOperation", None)


def clear_operation(work: Work) -> None:
    for name in ("currentOperation", "operationStartTime", "inProgressProperties", "lastOperation"):
        work.status.pop(name, None)
    work.status["asyncOpInProgress"] = False


def begin_operation(
    work: Work, operation: str, properties: dict[str, Any], reason: str, message: str
) -> None:
    """Record the operation before its call: a new one (or new properties) starts the clock."""
    status = work.status
    recorded = status.get("inProgressProperties") or {}
    same = status.get("currentOperation") == operation and all(
        recorded.get(name) == properties.get(name) for name in COMPARED
    )
    if not same:
        clear_operation(work)
        status["currentOperation"] = operation
        status["operationStartTime"] = rfc3339(work.now)
        work.schedule["polls"] = 0
    status["inProgressProperties"] = properties
    work.condition("Ready", "False", reason, message)
    work.save()


def go_async(work: Work, operation: str | None, retry_after: float | None) -> None:
    status = work.status
    status["asyncOpInProgress"] = True
    if operation:
        status["lastOperation"] = operation
    else:
        status.pop("lastOperation", None)
    reason, message = ASYNC[str(status["currentOperation"])]
    work.condition("Ready", "False", reason, message, "Normal")
    work.begin_polling(retry_after)
    work.save()
