"""How a binding's attempt ends when it does not succeed: retried after a backoff, or
with the operation cleared."""

from __future__ import annotations

from broker.controller.work import Work

__all__ = ["clear_operation", "wait_and_retry"]


def wait_and_retry(work: Work, reason: str, message: str, *, bounded: bool = False) -> None:
    work.condition("Ready", "False", reason, message, "Warning")
    work.failed_once()
    if bounded and work.retries_exhausted():
        work.retry_timeout_condition()
        work.status["reconciledGeneration"] = work.generation
        clear_operation(work)
        work.settle()
    work.save()


def clear_operation(work: Work) -> None:
    for name in ("currentOperation", "operationStartTime", "inProgressProperties"):
        work.status.pop(name, None)
