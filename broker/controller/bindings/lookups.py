"""What binding and unbinding look up: the instance, its class, plan and broker."""

from __future__ import annotations

from typing import Any

from broker.controller.objects.kinds import ObjectKey
from broker.controller.objects.references import broker_of, class_of, plan_of
from broker.controller.work import Work

__all__ = ["catalog_refs", "instance_name", "instance_of"]


def instance_of(work: Work) -> dict[str, Any] | None:
    return work.state.get(
        ObjectKey("ServiceInstance", work.namespace, work.spec["instanceRef"]["name"])
    )


def instance_name(work: Work) -> str:
    return f"{work.namespace}/{work.spec['instanceRef']['name']}"


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
