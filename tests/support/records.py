"""Store records with plausible values; a test names only the fields it cares about."""

from __future__ import annotations

from typing import Any

from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord


def _common(created_at: float, fields: dict[str, Any]) -> dict[str, Any]:
    """What instances and bindings both hold, with ``fields`` laid over it."""
    return {
        "service_id": "svc-1",
        "plan_id": "plan-1",
        "state": "ready",
        "fingerprint": "fp",
        "created_at": created_at,
        "updated_at": created_at,
        **fields,
    }


def instance(
    instance_id: str = "inst-1", *, created_at: float = 1000.0, **fields: Any
) -> InstanceRecord:
    return InstanceRecord(id=instance_id, **_common(created_at, fields))


def binding(
    binding_id: str = "bind-1",
    instance_id: str = "inst-1",
    *,
    created_at: float = 1000.0,
    **fields: Any,
) -> BindingRecord:
    return BindingRecord(id=binding_id, instance_id=instance_id, **_common(created_at, fields))


def operation(
    operation_id: str,
    instance_id: str = "inst-1",
    binding_id: str | None = None,
    *,
    type: str = "provision",
    state: str = "in progress",
    **fields: Any,
) -> OperationRecord:
    return OperationRecord(
        id=operation_id,
        type=type,
        instance_id=instance_id,
        binding_id=binding_id,
        state=state,
        started_at=1000.0,
        **fields,
    )  # type: ignore[arg-type]
