"""Service bindings: bind, unbind, fetch and last_operation (OSB 2.17 sections 8-9).

Binding requests hold the instance lock and then the binding lock
(:func:`broker.osb.locking.locked`).
"""

from __future__ import annotations

from typing import Any

from broker.catalog.model import Plan, Service
from broker.osb.backend_calls import leftovers_of
from broker.osb.checks import NewBinding, binding_goes_async, check_bind, stored_plan
from broker.osb.errors import BadRequest, Gone, NotFound
from broker.osb.locking import locked
from broker.osb.outcome import Outcome, RequestInfo, still_running
from broker.osb.parts import Rules
from broker.osb.poll_rules import (
    delete_finished,
    deleted_by,
    gone_after_payload,
    last_operation_outcome,
    missing_resource,
    polled_operation,
)
from broker.osb.versions import NEWEST, Version
from broker.storage.base import Change, Delete, Put
from broker.storage.records import BindingRecord

__all__ = ["Bindings"]

RESPONSE_KEYS = (
    "credentials",
    "syslog_drain_url",
    "route_service_url",
    "volume_mounts",
    "endpoints",
    "metadata",
)


class Bindings(Rules):
    """The rules of ``…/service_bindings/:binding_id`` and its ``last_operation``."""

    # --- PUT …/service_bindings/:binding_id -------------------------------------------
    def bind(
        self, instance_id: str, binding_id: str, body: dict[str, Any], info: RequestInfo
    ) -> Outcome:
        with locked(self.store, instance_id, binding_id):
            store = self.store
            instance = store.get_instance(instance_id)
            existing = store.get_binding(binding_id)
            predecessor_id = body.get("predecessor_binding_id")
            predecessor = store.get_binding(predecessor_id) if predecessor_id else None
            now = self.clock()
            checked = check_bind(
                self.catalogs,
                self.backends,
                (instance_id, binding_id),
                body,
                info,
                (instance, existing, predecessor),
                now,
            )
            if isinstance(checked, Outcome):
                return checked
            assert instance is not None  # check_bind refuses a bind to no instance
            binding = self._new_binding(instance_id, binding_id, body, info, checked, now)
            service, plan = checked.service, checked.plan
            if not checked.asynchronous:
                response, backend_state, expires_at = self.calls.bind(
                    instance, binding, service, plan, existing
                )
                made = binding.evolve(
                    response=response, backend_state=backend_state, expires_at=expires_at
                )
                store.apply([Put(made)])
                return Outcome("created", response)
            operation = self.operations.new(
                "bind",
                plan.knobs.bind,
                plan,
                info,
                instance_id=instance_id,
                binding_id=binding_id,
                service_id=instance.service_id,
            )
            pending = binding.evolve(operation=operation.id, backend_state=leftovers_of(existing))
            store.apply([Put(pending), Put(operation)])
            return Outcome("accepted", {"operation": operation.id})

    def _new_binding(
        self,
        instance_id: str,
        binding_id: str,
        body: dict[str, Any],
        info: RequestInfo,
        checked: NewBinding,
        now: float,
    ) -> BindingRecord:
        """The record of a bind that passed its checks (no credentials yet)."""
        return BindingRecord(
            id=binding_id,
            instance_id=instance_id,
            service_id=checked.service.id,
            plan_id=checked.plan.id,
            state="binding" if checked.asynchronous else "ready",
            fingerprint=checked.fingerprint,
            created_at=now,
            updated_at=now,
            parameters=dict(body.get("parameters") or {}),
            context=dict(body.get("context") or {}),
            bind_resource=checked.bind_resource,
            app_guid=checked.app_guid,
            predecessor_binding_id=checked.predecessor_id,
            originating_identity=info.originating_identity,
        )

    # --- DELETE …/service_bindings/:binding_id ----------------------------------------
    def unbind(self, instance_id: str, binding_id: str, info: RequestInfo) -> Outcome:
        with locked(self.store, instance_id, binding_id):
            binding = self.store.get_binding(binding_id)
            if binding is None or binding.instance_id != instance_id:
                raise Gone(f"binding {binding_id} of instance {instance_id} does not exist")
            if binding.state == "unbinding":
                return still_running(
                    info, {"operation": binding.operation}, f"the unbind of binding {binding_id}"
                )
            service, plan = stored_plan(self.catalogs, binding.plan_id)
            if binding.state == "failed" or binding.abandoned:
                # Nothing was bound (or an attempt died before it was acknowledged): the
                # platform's orphan mitigation must succeed, whatever the plan declares
                # for deleting a real binding. Only an interrupted attempt has anything
                # at the backend to remove.
                return self._unbind_now(binding, service, plan, [])
            behaviour = plan.knobs.unbind
            asynchronous = binding_goes_async(behaviour, info, "unbind", f"binding {binding_id}")
            changes: list[Change] = []
            if binding.state == "binding":
                # OSB: an unbind during an in-flight bind halts the creation.
                halted = self.operations.halted(
                    binding.operation, "binding was halted by an unbind request"
                )
                if halted is not None:
                    changes.append(Put(halted))
            previous_state = "failed" if binding.state == "binding" else "ready"
            if not asynchronous:
                return self._unbind_now(binding, service, plan, changes)
            operation = self.operations.new(
                "unbind",
                behaviour,
                plan,
                info,
                instance_id=instance_id,
                binding_id=binding_id,
                service_id=binding.service_id,
                payload={
                    "previous_state": previous_state,
                    **gone_after_payload(behaviour.gone_after),
                },
            )
            changes += [
                Put(
                    binding.evolve(
                        state="unbinding", operation=operation.id, updated_at=self.clock()
                    )
                ),
                Put(operation),
            ]
            self.store.apply(changes)
            return Outcome("accepted", {"operation": operation.id})

    def _unbind_now(
        self, binding: BindingRecord, service: Service, plan: Plan, changes: list[Change]
    ) -> Outcome:
        """Unbind at the backend and drop the binding, together with ``changes``."""
        instance = self.store.get_instance(binding.instance_id)
        if instance is not None:
            self.calls.unbind(instance, binding, service, plan)
        self.store.apply([*changes, Delete("binding", binding.id)])
        return Outcome("done", {})

    # --- GET …/service_bindings/:binding_id -------------------------------------------
    def fetch_binding(self, instance_id: str, binding_id: str) -> Outcome:
        binding = self.store.get_binding(binding_id)
        if (
            binding is None
            or binding.instance_id != instance_id
            or binding.state in ("binding", "failed")
        ):
            raise NotFound(f"binding {binding_id} does not exist or is still being created")
        service, _ = stored_plan(self.catalogs, binding.plan_id)
        if not service.bindings_retrievable:
            raise BadRequest(
                f"bindings of service {service.name!r} cannot be fetched "
                "(bindings_retrievable is not true)"
            )
        body = {key: binding.response[key] for key in RESPONSE_KEYS if key in binding.response}
        body["parameters"] = binding.parameters
        return Outcome("done", body)

    # --- GET …/service_bindings/:binding_id/last_operation ----------------------------
    def binding_last_operation(
        self,
        instance_id: str,
        binding_id: str,
        operation_id: str | None,
        version: Version = NEWEST,
    ) -> Outcome:
        """As :meth:`~broker.osb.instances.Instances.last_operation`, for a binding."""
        what = f"binding {binding_id}"
        with locked(self.store, instance_id, binding_id):
            binding = self.store.get_binding(binding_id)
            exists = binding is not None and binding.instance_id == instance_id
            operation = polled_operation(
                self.store,
                self.findings,
                strict=self.strict,
                version=version,
                what=what,
                exists=exists,
                instance_id=instance_id,
                binding_id=binding_id,
                operation_id=operation_id,
            )
            if not exists:
                if not deleted_by(operation, "unbind"):
                    raise missing_resource(version, what)
                assert operation is not None
                delete_finished(self.store, self.clock, operation, what)
                return Outcome("done", {"state": "succeeded"})
            if operation is None:
                return Outcome("done", {"state": "succeeded"})
            operation = self.operations.advance(operation)
            if deleted_by(operation, "unbind") and self.store.get_binding(binding_id) is None:
                delete_finished(self.store, self.clock, operation, what)
        return last_operation_outcome(operation)
