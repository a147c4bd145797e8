"""The operation an instance is in: starting it, going async, retrying, giving up, ending it.

What provision, update and deprovision share about ``currentOperation``,
``operationStartTime``, ``inProgressProperties`` and the async flags, and the
generation bookkeeping that decides whether there is anything to do.
"""

from __future__ import annotations

from typing import Any

from broker.controller.objects.conditions import rfc3339
from broker.controller.work import Work

__all__ = [
    "ASYNC",
    "already_processed",
    "begin_operation",
    "clear_operation",
    "go_async",
    "retry_later",
    "retry_timeout",
    "start_generation",
]

ASYNC = {
    "Provision": ("Provisioning", "The instance is being provisioned asynchronously"),
    "Update": ("UpdatingInstance", "The instance is being updated asynchronously"),
    "Deprovision": ("Deprovisioning", "The instance is being deprovisioned asynchronously"),
}


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


def retry_later(
    work: Work, reason: str, message: str, operation: str = "provision", *, bounded: bool = True
) -> None:
    """A failure tried again after a backoff; ``bounded`` ones end with the retry window."""
    work.condition("Ready", "False", reason, message, "Warning")
    delay = work.failed_once()
    if bounded and work.retries_exhausted():
        retry_timeout(work)
        return
    work.backoff_event(operation, delay)
    work.save()


def retry_timeout(work: Work) -> None:
    """The retry window has passed: a terminal Failed=True, the operation abandoned."""
    work.retry_timeout_condition()
    if work.status.get("currentOperation") == "Deprovision":
        work.status["deprovisionStatus"] = "Failed"
    clear_operation(work)
    work.settle()
    work.save()


def clear_operation(work: Work) -> None:
    for name in ("currentOperation", "operationStartTime", "inProgressProperties", "lastOperation"):
        work.status.pop(name, None)
    work.status["asyncOpInProgress"] = False


def begin_operation(
    work: Work, operation: str, properties: dict[str, Any], reason: str, message: str
) -> None:
    status = work.status
    if status.get("currentOperation") != operation:
        status["currentOperation"] = operation
        status["operationStartTime"] = rfc3339(work.now)
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
    work.schedule["polls"] = 0
    work.due_in(work.machinery.settings.poll_delay(0, retry_after))
    work.save()
