"""Asynchronous operations: how they progress and what finishing one does.

An operation advances only when someone looks: a ``last_operation`` poll counts
one poll and checks the clock; ``POST /admin/operations/<id>`` finishes a manual
one. There is no background thread, so every process sees the same history and
a test controls time by how it polls.

Finishing applies the operation's effect under the instance lock, which the
caller holds: the credential backend does its work *then* (not when the 202 was
sent), so an operation halted or failed before that leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from broker.osb.context import BrokerContext
from broker.osb.errors import BackendFailure, BadRequest
from broker.storage.base import Change, Delete, Put
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = ["advance", "finish", "finished_operation", "updated_instance"]


def advance(ctx: BrokerContext, operation: OperationRecord) -> OperationRecord:
    """Count one poll of an operation and finish it if its time has come."""
    if operation.finished:
        return operation
    now = ctx.clock()
    polls = operation.polls + 1
    if operation.deadline is not None and now >= operation.deadline:
        limit = operation.deadline - operation.started_at
        return finish(
            ctx,
            operation.evolve(polls=polls),
            "failed",
            f"{operation.type} did not finish within maximum_polling_duration ({limit:g} s)",
        )
    kind, amount = operation.finish_kind, operation.finish_amount
    due = (kind == "polls" and polls > amount) or (
        kind == "seconds" and now - operation.started_at >= amount
    )
    if not due:
        progressed = operation.evolve(polls=polls)
        ctx.store.apply([Put(progressed)])
        return progressed
    return finish(ctx, operation.evolve(polls=polls), operation.result, operation.final_description)


def finish(
    ctx: BrokerContext, operation: OperationRecord, result: str, description: str | None
) -> OperationRecord:
    """End an operation as ``succeeded`` or ``failed`` and apply what that means."""
    if result == "succeeded":
        try:
            changes = _success_effects(ctx, operation)
        except BackendFailure as exc:
            result, description = "failed", exc.description
            changes = _failure_effects(ctx, operation)
    else:
        changes = _failure_effects(ctx, operation)
    finished = finished_operation(ctx, operation, result, description)
    ctx.store.apply([*changes, Put(finished)])
    return finished


def finished_operation(
    ctx: BrokerContext, operation: OperationRecord, result: str, description: str | None
) -> OperationRecord:
    """The record of ``operation`` ended as ``result`` (without applying its effects)."""
    if result == "failed" and description is None:
        description = f"{operation.type} failed (the plan declares result: failed)"
    failed_update_or_delete = result == "failed" and operation.type in ("update", "deprovision")
    return operation.evolve(
        state=result,
        description=description,
        finished_at=ctx.clock(),
        instance_usable=operation.instance_usable if failed_update_or_delete else None,
        update_repeatable=operation.update_repeatable
        if result == "failed" and operation.type == "update"
        else None,
    )


def _success_effects(ctx: BrokerContext, operation: OperationRecord) -> list[Change]:
    instance = ctx.store.get_instance(operation.instance_id)
    if instance is None:
        return []
    service, plan = ctx.plan_of(instance.plan_id)
    now = ctx.clock()
    kind = operation.type
    if kind == "provision":
        state = ctx.backend_provision(instance, service, plan, instance)
        return [
            Put(instance.evolve(state="ready", backend_state=state, operation=None, updated_at=now))
        ]
    if kind == "update":
        return [Put(updated_instance(ctx, instance, operation.payload, now))]
    if kind == "deprovision":
        return ctx.remove_instance(instance, service, plan)
    binding = ctx.store.get_binding(operation.binding_id or "")
    if binding is None:
        return []
    if kind == "bind":
        response, backend_state, expires_at = ctx.backend_bind(
            instance, binding, service, plan, binding
        )
        return [
            Put(
                binding.evolve(
                    state="ready",
                    response=response,
                    backend_state=backend_state,
                    expires_at=expires_at,
                    operation=None,
                    updated_at=now,
                )
            )
        ]
    if kind == "unbind":
        ctx.backend_unbind(instance, binding, service, plan)
        return [Delete("binding", binding.id)]
    raise BadRequest(f"unknown operation type {kind!r}")


def _failure_effects(ctx: BrokerContext, operation: OperationRecord) -> list[Change]:
    record: InstanceRecord | BindingRecord | None
    if operation.binding_id is None:
        record = ctx.store.get_instance(operation.instance_id)
    else:
        record = ctx.store.get_binding(operation.binding_id)
    if record is None:
        return []
    if operation.type in ("provision", "bind"):
        state = "failed"
    else:
        state = operation.payload.get("previous_state", "ready")
    return [Put(record.evolve(state=state, operation=None, updated_at=ctx.clock()))]


def updated_instance(
    ctx: BrokerContext, instance: InstanceRecord, payload: dict[str, Any], now: float
) -> InstanceRecord:
    """``instance`` with an update's ``payload`` applied (raises :class:`BackendFailure`
    when the new dashboard URL cannot be rendered)."""
    service, plan = ctx.plan_of(payload.get("plan_id", instance.plan_id))
    updated = instance.evolve(
        plan_id=plan.id,
        parameters=payload.get("parameters", instance.parameters),
        context=payload.get("context", instance.context),
        maintenance_info=payload.get("maintenance_info", instance.maintenance_info),
        fingerprint=payload.get("fingerprint", instance.fingerprint),
        state="ready",
        operation=None,
        updated_at=now,
    )
    return updated.evolve(dashboard_url=ctx.dashboard_url(updated, service, plan))
