"""Service bindings: bind, unbind, fetch and last_operation (OSB 2.17 sections 8-9).

Binding requests hold the instance lock and then the binding lock
(:func:`broker.osb.locking.locked`).
"""

from __future__ import annotations

from typing import Any

from broker.catalog.model import Plan, Service
from broker.osb.backend_calls import leftovers_of
from broker.osb.catalog_lookups import stored_plan
from broker.osb.checks import (
    binding_goes_async,
    check_context,
    check_new_resource,
)
from broker.osb.errors import (
    BadRequest,
    ConcurrencyError,
    Conflict,
    Gone,
    NotFound,
    RequiresApp,
    UnprocessableEntity,
)
from broker.osb.instances import last_operation_outcome
from broker.osb.locking import locked
from broker.osb.outcome import Outcome, RequestInfo, fingerprint, still_running
from broker.osb.parts import BrokerParts
from broker.osb.poll_rules import (
    delete_finished,
    deleted_by,
    gone_after_payload,
    missing_resource,
    polled_operation,
)
from broker.osb.versions import NEWEST, Version, defines_rotation
from broker.storage.base import Change, Delete, Put
from broker.storage.records import BindingRecord, InstanceRecord

__all__ = ["Bindings"]

RESPONSE_KEYS = (
    "credentials",
    "syslog_drain_url",
    "route_service_url",
    "volume_mounts",
    "endpoints",
    "metadata",
)


class Bindings:
    def __init__(self, parts: BrokerParts) -> None:
        self.catalogs = parts.catalogs
        self.store = parts.store
        self.backends = parts.backends
        self.renderer = parts.renderer
        self.calls = parts.calls
        self.operations = parts.operations
        self.clock = parts.clock
        self.findings = parts.findings
        self.strict = parts.strict

    # --- PUT …/service_bindings/:binding_id -------------------------------------------
    def bind(
        self, instance_id: str, binding_id: str, body: dict[str, Any], info: RequestInfo
    ) -> Outcome:
        context = body.get("context")
        check_context(context, info)
        bind_resource = dict(body.get("bind_resource") or {})
        app_guid = bind_resource.get("app_guid") or body.get("app_guid")
        parameters = body.get("parameters") or {}
        # Rotation is 2.17's; to an older platform the field means nothing.
        predecessor_id = (
            body.get("predecessor_binding_id") if defines_rotation(info.version) else None
        )
        digest = fingerprint(
            service_id=body["service_id"],
            plan_id=body["plan_id"],
            app_guid=app_guid,
            bind_resource=bind_resource,
            parameters=parameters,
            predecessor_binding_id=predecessor_id,
        )
        with locked(self.store, instance_id, binding_id):
            instance = self._bindable_instance(instance_id, body)
            service, plan = stored_plan(self.catalogs, instance.plan_id)
            existing = self.store.get_binding(binding_id)
            if existing is not None and existing.instance_id != instance_id:
                raise Conflict(
                    f"binding {binding_id} already exists for instance {existing.instance_id}"
                )
            if existing is not None and existing.state != "failed" and not existing.abandoned:
                return bind_again(existing, digest, info)
            if not plan.bindable:
                raise BadRequest(f"plan {plan.name!r} is not bindable")
            if plan.knobs.requires_app and not app_guid:
                raise RequiresApp("this plan requires an app: send bind_resource.app_guid")
            check_new_resource(
                self.backends,
                plan,
                "binding_create",
                parameters,
                instance_parameters=instance.parameters,
            )
            if predecessor_id is not None:
                self._check_predecessor(instance, plan, predecessor_id)
            behaviour = plan.knobs.bind
            asynchronous = binding_goes_async(behaviour, info, "bind", f"binding {binding_id}")
            now = self.clock()
            binding = BindingRecord(
                id=binding_id,
                instance_id=instance_id,
                service_id=instance.service_id,
                plan_id=instance.plan_id,
                state="binding" if asynchronous else "ready",
                fingerprint=digest,
                created_at=now,
                updated_at=now,
                parameters=dict(parameters),
                context=dict(context or {}),
                bind_resource=bind_resource,
                app_guid=app_guid,
                predecessor_binding_id=predecessor_id,
                originating_identity=info.originating_identity,
            )
            if not asynchronous:
                response, backend_state, expires_at = self.calls.bind(
                    instance, binding, service, plan, existing
                )
                binding = binding.evolve(
                    response=response, backend_state=backend_state, expires_at=expires_at
                )
                self.store.apply([Put(binding)])
                return Outcome("created", response)
            operation = self.operations.new(
                "bind",
                behaviour,
                plan,
                info,
                instance_id=instance_id,
                binding_id=binding_id,
                service_id=instance.service_id,
            )
            pending = binding.evolve(operation=operation.id, backend_state=leftovers_of(existing))
            self.store.apply([Put(pending), Put(operation)])
            return Outcome("accepted", {"operation": operation.id})

    def _bindable_instance(self, instance_id: str, body: dict[str, Any]) -> InstanceRecord:
        instance = self.store.get_instance(instance_id)
        if instance is None:
            raise NotFound(f"instance {instance_id} does not exist")
        if instance.state in ("provisioning", "updating", "deprovisioning"):
            raise ConcurrencyError(
                f"instance {instance_id} is {instance.state}; bind when it is ready"
            )
        if instance.state == "failed":
            raise UnprocessableEntity(
                f"instance {instance_id} failed to provision and cannot be bound"
            )
        if body["service_id"] != instance.service_id or body["plan_id"] != instance.plan_id:
            raise BadRequest(
                f"service_id {body['service_id']!r} and plan_id {body['plan_id']!r} do not match "
                f"instance {instance_id} (service {instance.service_id}, plan {instance.plan_id})"
            )
        return instance

    def _check_predecessor(self, instance: InstanceRecord, plan: Any, predecessor_id: str) -> None:
        if not plan.binding_rotatable:
            raise BadRequest(
                f"plan {plan.name!r} does not support binding rotation "
                "(binding_rotatable is not true)"
            )
        predecessor = self.store.get_binding(predecessor_id)
        if (
            predecessor is None
            or predecessor.instance_id != instance.id
            or predecessor.state != "ready"
        ):
            raise BadRequest(
                f"predecessor_binding_id {predecessor_id!r} is not a binding of instance "
                f"{instance.id}"
            )
        if predecessor.expires_at is not None and predecessor.expires_at <= self.clock():
            raise BadRequest(f"predecessor binding {predecessor_id} has expired")

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
    def fetch(self, instance_id: str, binding_id: str) -> Outcome:
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
    def last_operation(
        self,
        instance_id: str,
        binding_id: str,
        operation_id: str | None,
        version: Version = NEWEST,
    ) -> Outcome:
        """As :meth:`Instances.last_operation`, for a binding of ``instance_id``."""
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


def bind_again(existing: BindingRecord, digest: str, info: RequestInfo) -> Outcome:
    """The answer to a bind of a binding that exists: the same, or a conflict."""
    if existing.state == "unbinding":
        raise ConcurrencyError(f"binding {existing.id} is being deleted")
    if existing.fingerprint != digest:
        raise Conflict(f"binding {existing.id} already exists with different parameters")
    if existing.state == "binding":
        return still_running(info, {"operation": existing.operation}, f"binding {existing.id}")
    return Outcome("identical", existing.response)
