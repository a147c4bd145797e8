"""How a binding's attempt ends when it does not succeed: back to the work queue (5 ms
doubling), or, past the reconciliation retry window, a terminal failure."""

from __future__ import annotations

from broker.controller.work import Work

__all__ = ["BINDING_RETRY_TIMEOUT", "clear_operation", "wait_and_retry"]

# Service Catalog's binding controller words its give-up differently from the instance's.
BINDING_RETRY_TIMEOUT = "Stopping reconciliation retries, too much time has elapsed"


def wait_and_retry(work: Work, reason: str, message: str, *, bounded: bool = False) -> None:
    """Ready=False and a retry from the work queue; ``bounded`` ones end with the window."""
    work.condition("Ready", "False", reason, message, "Warning")
    if bounded and work.operation_too_old():
        work.retry_timeout_condition(BINDING_RETRY_TIMEOUT)
        clear_operation(work)
        work.settle()
    else:
        work.requeue()
    work.save()


def clear_operation(work: Work) -> None:
    """No operation in progress any more; the generation counts as reconciled."""
    for name in ("currentOperation", "operationStartTime", "inProgressProperties"):
        work.status.pop(name, None)
    work.status["asyncOpInProgress"] = False
    work.status["orphanMitigationInProgress"] = False
    work.status["reconciledGeneration"] = work.generation
