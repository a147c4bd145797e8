"""What binding and unbinding share: the instance, its class, plan and broker, retries."""

from __future__ import annotations

from typing import Any

from broker.controller.kinds import ObjectKey
from broker.controller.references import broker_of, class_of, plan_of
from broker.controller.work import Work

__all__ = [
    "catalog_refs",
    "clear_operation",
    "instance_name",
    "instance_of",
    "wait_and_retry",
]


def instance_of(work: Work) -> dict[str, Any] | None:
    return work.state.get(
        ObjectKey("ServiceInstance", work.namespace, work.spec["instanceRef"]["name"])
    )


def instance_name(work: Work) -> str:
    return f"{work.namespace}/{work.spec['instanceRef']['name']}"


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


def catalog_refs(
    work: Work, instance: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    cls, plan = class_of(work.state, instance["spec"]), plan_of(work.state, instance["spec"])
    if cls is None or plan is None:
        return None
    broker = broker_of(work.state, cls)
    if broker is None:
        return None
    return cls, plan, broker
