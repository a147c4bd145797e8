"""Which objects are still changing: what ``ctl reconcile --wait`` waits for."""

from __future__ import annotations

from typing import Any

from broker.controller.objects.conditions import is_true
from broker.controller.objects.store import State

__all__ = ["unsettled"]


def unsettled(state: State) -> list[str]:
    """Objects still changing: in flight, retrying, polling or being deleted."""
    waiting: list[str] = []
    for kind in ("ClusterServiceBroker", "ServiceInstance", "ServiceBinding"):
        for obj in state.list(kind):
            reason = _unsettled_reason(kind, obj)
            if reason:
                name = "/".join(
                    filter(None, [obj["metadata"].get("namespace"), obj["metadata"]["name"]])
                )
                waiting.append(f"{kind} {name}: {reason}")
    return waiting


def _unsettled_reason(kind: str, obj: dict[str, Any]) -> str | None:
    status = obj.get("status") or {}
    if obj["metadata"].get("deletionTimestamp"):
        if status.get("deprovisionStatus") == "Failed" or status.get("unbindStatus") == "Failed":
            return None
        return "being deleted"
    ready, failed = is_true(status, "Ready"), is_true(status, "Failed")
    generation = int(obj["metadata"].get("generation", 1))
    if kind == "ClusterServiceBroker":
        done = (ready or failed) and status.get("reconciledGeneration") == generation
    elif kind == "ServiceInstance":
        done = (
            (ready or failed)
            and status.get("observedGeneration") == generation
            and not status.get("currentOperation")
            and not status.get("orphanMitigationInProgress")
        )
    else:
        done = (
            (ready or failed)
            and status.get("reconciledGeneration") == generation
            and not status.get("orphanMitigationInProgress")
        )
    if done:
        return None
    return str(status.get("lastConditionState") or "not processed yet")
