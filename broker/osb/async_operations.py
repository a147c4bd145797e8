"""Asynchronous operations: how one starts, how it progresses, what finishing it does.

An operation advances only when someone looks: a ``last_operation`` poll counts
one poll and checks the clock; ``POST /admin/operations/<id>`` finishes a manual
one. There is no background thread, so every process sees the same history and
a test controls time by how it polls.

Finishing applies the operation's effect under the instance lock, which the
caller holds: the credential backend does its work *then* (not when the 202 was
sent), so an operation halted or failed before that leaves nothing behind.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from broker.catalog.model import OperationBehaviour, Plan
from broker.catalog.source import CatalogSource
from broker.osb.backend_calls import BackendCalls
from broker.osb.checks import stored_plan
from broker.osb.errors import BackendFailure, BadRequest
from broker.osb.outcome import RequestInfo
from broker.osb.rendering import Renderer
from broker.osb.versions import defines_polling_duration
from broker.storage.base import Change, Delete, Put
from broker.storage.protocols import StateStore
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = ["Operations"]


class Operations:
    """New, advanced and finished operation records, with the effects of finishing."""

    def __init__(
        self,
        store: StateStore,
        catalogs: CatalogSource,
        calls: BackendCalls,
        renderer: Renderer,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.catalogs = catalogs
        self.calls = calls
        self.renderer = renderer
        self.clock = clock

    def new(
        self,
        operation: str,
        behaviour: OperationBehaviour,
        plan: Plan,
        info: RequestInfo,
        *,
        instance_id: str,
        binding_id: str | None = None,
        service_id: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> OperationRecord:
        """A running operation as the plan's ``behaviour`` (and a fault rule) declare it."""
        now = self.clock()
        finish_kind, finish_amount = behaviour.finish.kind, behaviour.finish.amount
        result = behaviour.result
        if info.async_result == "never":
            finish_kind, finish_amount = "never", 0
        elif info.async_result == "failed":
            result = "failed"
        deadline = (
            now + plan.maximum_polling_duration
            if plan.maximum_polling_duration and defines_polling_duration(info.version)
            else None
        )
        return OperationRecord(
            id=f"{operation}-{secrets.token_hex(12)}",
            type=operation,
            instance_id=instance_id,
            binding_id=binding_id,
            service_id=service_id or plan.service_id,
            plan_id=plan.id,
            state="in progress",
            started_at=now,
            description=behaviour.progress,
            finish_kind=finish_kind,
            finish_amount=finish_amount,
            result=result,
            final_description=behaviour.description,
            progress=behaviour.progress,
            retry_after=behaviour.retry_after,
            deadline=deadline,
            instance_usable=behaviour.instance_usable,
            update_repeatable=behaviour.update_repeatable,
            payload=payload or {},
            fault=info.fault if info.async_result else None,
        )

    def halted(self, operation_id: str | None, description: str) -> OperationRecord | None:
        """The running operation ``operation_id`` ended as failed by a delete request
        (``None`` when there is no such operation)."""
        running = self.store.get_operation(operation_id or "")
        if running is None:
            return None
        return running.evolve(state="failed", description=description, finished_at=self.clock())

    def advance(self, operation: OperationRecord) -> OperationRecord:
        """Count one poll of an operation and finish it if its time has come."""
        if operation.finished:
            return operation
        now = self.clock()
        polls = operation.polls + 1
        if operation.deadline is not None and now >= operation.deadline:
            limit = operation.deadline - operation.started_at
            return self.finish(
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
            self.store.apply([Put(progressed)])
            return progressed
        return self.finish(
            operation.evolve(polls=polls), operation.result, operation.final_description
        )

    def finish(
        self, operation: OperationRecord, result: str, description: str | None
    ) -> OperationRecord:
        """End an operation as ``succeeded`` or ``failed`` and apply what that means."""
        if result == "succeeded":
            try:
                changes = self._success_effects(operation)
            except BackendFailure as exc:
                result, description = "failed", exc.description
                changes = self._failure_effects(operation)
        else:
            changes = self._failure_effects(operation)
        finished = self.finished(operation, result, description)
        self.store.apply([*changes, Put(finished)])
        return finished

    def finished(
        self, operation: OperationRecord, result: str, description: str | None
    ) -> OperationRecord:
        """The record of ``operation`` ended as ``result`` (without applying its effects)."""
        if result == "failed" and description is None:
            description = f"{operation.type} failed (the plan declares result: failed)"
        failed_update_or_delete = result == "failed" and operation.type in ("update", "deprovision")
        return operation.evolve(
            state=result,
            description=description,
            finished_at=self.clock(),
            instance_usable=operation.instance_usable if failed_update_or_delete else None,
            update_repeatable=operation.update_repeatable
            if result == "failed" and operation.type == "update"
            else None,
        )

    def updated_instance(
        self, instance: InstanceRecord, payload: dict[str, Any], now: float
    ) -> InstanceRecord:
        """``instance`` with an update's ``payload`` applied (raises :class:`BackendFailure`
        when the new dashboard URL cannot be rendered)."""
        service, plan = stored_plan(self.catalogs, payload.get("plan_id", instance.plan_id))
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
        return updated.evolve(dashboard_url=self.renderer.dashboard_url(updated, service, plan))

    def _success_effects(self, operation: OperationRecord) -> list[Change]:
        store, calls = self.store, self.calls
        instance = store.get_instance(operation.instance_id)
        if instance is None:
            return []
        service, plan = stored_plan(self.catalogs, instance.plan_id)
        now = self.clock()
        kind = operation.type
        if kind == "provision":
            state = calls.provision(instance, service, plan, instance)
            return [
                Put(
                    instance.evolve(
                        state="ready", backend_state=state, operation=None, updated_at=now
                    )
                )
            ]
        if kind == "update":
            return [Put(self.updated_instance(instance, operation.payload, now))]
        if kind == "deprovision":
            return calls.remove_instance(instance, service, plan)
        binding = store.get_binding(operation.binding_id or "")
        if binding is None:
            return []
        if kind == "bind":
            response, backend_state, expires_at = calls.bind(
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
            calls.unbind(instance, binding, service, plan)
            return [Delete("binding", binding.id)]
        raise BadRequest(f"unknown operation type {kind!r}")

    def _failure_effects(self, operation: OperationRecord) -> list[Change]:
        record: InstanceRecord | BindingRecord | None
        if operation.binding_id is None:
            record = self.store.get_instance(operation.instance_id)
        else:
            record = self.store.get_binding(operation.binding_id)
        if record is None:
            return []
        if operation.type in ("provision", "bind"):
            state = "failed"
        else:
            state = operation.payload.get("previous_state", "ready")
        return [Put(record.evolve(state=state, operation=None, updated_at=self.clock()))]
