"""Service instances: provision, update, deprovision, fetch and last_operation.

Every rule of OSB 2.17 sections 3-7, decided under the instance's lock so that
concurrent requests for one id are answered as if they came one after another.
Nothing is written before every check has passed: a 4xx leaves state as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.catalog.model import Plan
from broker.osb.backend_calls import leftovers_of
from broker.osb.checks import (
    NewInstance,
    check_context,
    check_provision,
    fingerprint,
    goes_async,
    provision_fingerprint,
    requested_maintenance,
    requested_plan,
    stored_plan,
)
from broker.osb.errors import (
    BadRequest,
    ConcurrencyError,
    Gone,
    NotFound,
    UnprocessableEntity,
)
from broker.osb.locking import INSTANCE_LOCK
from broker.osb.outcome import Outcome, RequestInfo, provision_body, still_running
from broker.osb.parts import Rules
from broker.osb.plan_checks import check_update_allowed
from broker.osb.poll_rules import (
    delete_finished,
    deleted_by,
    gone_after_payload,
    last_operation_outcome,
    missing_resource,
    polled_operation,
)
from broker.osb.versions import NEWEST, Version
from broker.storage.base import Change, Put
from broker.storage.records import InstanceRecord

__all__ = ["Instances", "provision_fingerprint"]


class Instances(Rules):
    """The rules of ``/v2/service_instances/:id`` and its ``last_operation``."""

    # --- PUT /v2/service_instances/:id ------------------------------------------------
    def provision(self, instance_id: str, body: dict[str, Any], info: RequestInfo) -> Outcome:
        with self.store.lock(INSTANCE_LOCK + instance_id):
            existing = self.store.get_instance(instance_id)
            checked = check_provision(
                self.catalogs.catalog, self.backends, instance_id, body, info, existing
            )
            if isinstance(checked, Outcome):
                return checked
            instance = self._new_instance(instance_id, body, info, checked)
            service, plan = checked.service, checked.plan
            variables, dashboard_url = self.renderer.instance(instance, service, plan)
            if not checked.asynchronous:
                state = self.calls.provision(instance, service, plan, existing, variables)
                made = instance.evolve(dashboard_url=dashboard_url, backend_state=state)
                self.store.apply([Put(made)])
                return Outcome("created", provision_body(made))
            operation = self.operations.new(
                "provision", plan.knobs.provision, plan, info, instance_id=instance_id
            )
            pending = instance.evolve(
                dashboard_url=dashboard_url,
                operation=operation.id,
                backend_state=leftovers_of(existing),
            )
            self.store.apply([Put(pending), Put(operation)])
            return Outcome("accepted", {**provision_body(pending), "operation": operation.id})

    def _new_instance(
        self, instance_id: str, body: dict[str, Any], info: RequestInfo, checked: NewInstance
    ) -> InstanceRecord:
        """The record of a provision that passed its checks (no dashboard URL yet)."""
        now = self.clock()
        maintenance, plan = checked.maintenance, checked.plan
        return InstanceRecord(
            id=instance_id,
            service_id=checked.service.id,
            plan_id=plan.id,
            state="provisioning" if checked.asynchronous else "ready",
            fingerprint=checked.fingerprint,
            created_at=now,
            updated_at=now,
            organization_guid=body["organization_guid"],
            space_guid=body["space_guid"],
            context=dict(body.get("context") or {}),
            parameters=dict(body.get("parameters") or {}),
            maintenance_info={"version": maintenance} if maintenance else None,
            metadata=dict(plan.knobs.instance_metadata) or None,
            originating_identity=info.originating_identity,
        )

    # --- PATCH /v2/service_instances/:id ----------------------------------------------
    def update(self, instance_id: str, body: dict[str, Any], info: RequestInfo) -> Outcome:
        with self.store.lock(INSTANCE_LOCK + instance_id):
            instance = self.store.get_instance(instance_id)
            if instance is None:
                raise NotFound(f"instance {instance_id} does not exist")
            if body["service_id"] != instance.service_id:
                raise BadRequest(
                    f"service_id {body['service_id']!r} is not the service of instance "
                    f"{instance_id} ({instance.service_id})"
                )
            service, current = stored_plan(self.catalogs, instance.plan_id)
            target = current
            new_plan_id = body.get("plan_id")
            if new_plan_id is not None and new_plan_id != instance.plan_id:
                _, target = requested_plan(self.catalogs.catalog, instance.service_id, new_plan_id)
            context = body.get("context")
            check_context(context, info)
            maintenance = requested_maintenance(body, info)
            parameters = body.get("parameters")
            request_digest = fingerprint(
                plan_id=target.id, parameters=parameters, context=context, maintenance=maintenance
            )
            if instance.state == "updating":
                running = self.store.get_operation(instance.operation or "")
                if running is not None and running.payload.get("request") == request_digest:
                    return still_running(
                        info, {"operation": running.id}, f"the update of instance {instance_id}"
                    )
                raise ConcurrencyError(f"instance {instance_id} is being updated")
            if instance.state in ("provisioning", "deprovisioning"):
                raise ConcurrencyError(f"instance {instance_id} is being {instance.state[:-3]}ed")
            if instance.state == "failed":
                raise UnprocessableEntity(
                    f"instance {instance_id} failed to provision and cannot be updated; delete it"
                )
            new_parameters = check_update_allowed(
                self.backends, instance, service, current, target, body, maintenance
            )
            payload = update_payload(instance, target, new_parameters, context, maintenance)
            payload["request"] = request_digest
            behaviour = current.knobs.update
            asynchronous = goes_async(behaviour, info, "update", f"instance {instance_id}")
            operation = self.operations.new(
                "update", behaviour, target, info, instance_id=instance_id, payload=payload
            )
            if not asynchronous:
                updated = self.operations.updated_instance(instance, payload, self.clock())
                finished = self.operations.finished(operation, "succeeded", None)
                self.store.apply([Put(updated), Put(finished)])
                url = updated.dashboard_url
                return Outcome("done", {"dashboard_url": url} if url else {})
            updating = instance.evolve(
                state="updating", operation=operation.id, updated_at=self.clock()
            )
            self.store.apply([Put(updating), Put(operation)])
            return Outcome("accepted", {"operation": operation.id})

    # --- DELETE /v2/service_instances/:id ---------------------------------------------
    def deprovision(self, instance_id: str, query: dict[str, Any], info: RequestInfo) -> Outcome:
        with self.store.lock(INSTANCE_LOCK + instance_id):
            instance = self.store.get_instance(instance_id)
            if instance is None:
                raise Gone(f"instance {instance_id} does not exist")
            if instance.state == "deprovisioning":
                return still_running(
                    info,
                    {"operation": instance.operation},
                    f"deprovisioning of instance {instance_id}",
                )
            if instance.state == "updating":
                raise ConcurrencyError(f"instance {instance_id} is being updated")
            service, plan = stored_plan(self.catalogs, instance.plan_id)
            if instance.state == "failed" or instance.abandoned:
                # Nothing was provisioned (or an attempt died before it was acknowledged):
                # the platform's orphan mitigation must succeed, whatever the plan
                # declares for deleting a real instance.
                self.store.apply(self.calls.remove_instance(instance, service, plan))
                return Outcome("done", {})
            behaviour = plan.knobs.deprovision
            asynchronous = goes_async(behaviour, info, "deprovision", f"instance {instance_id}")
            changes: list[Change] = []
            if instance.state == "provisioning":
                # OSB: a DELETE during an in-flight provision halts the creation.
                halted = self.operations.halted(
                    instance.operation, "provisioning was halted by a deprovision request"
                )
                if halted is None:
                    raise ConcurrencyError(f"instance {instance_id} is being provisioned")
                changes.append(Put(halted))
            previous_state = "failed" if instance.state == "provisioning" else "ready"
            if not asynchronous:
                changes.extend(self.calls.remove_instance(instance, service, plan))
                self.store.apply(changes)
                return Outcome("done", {})
            operation = self.operations.new(
                "deprovision",
                behaviour,
                plan,
                info,
                instance_id=instance_id,
                service_id=instance.service_id,
                payload={
                    "previous_state": previous_state,
                    **gone_after_payload(behaviour.gone_after),
                },
            )
            changes += [
                Put(
                    instance.evolve(
                        state="deprovisioning", operation=operation.id, updated_at=self.clock()
                    )
                ),
                Put(operation),
            ]
            self.store.apply(changes)
            return Outcome("accepted", {"operation": operation.id})

    # --- GET /v2/service_instances/:id ------------------------------------------------
    def fetch_instance(self, instance_id: str) -> Outcome:
        instance = self.store.get_instance(instance_id)
        if instance is None or instance.state in ("provisioning", "failed"):
            raise NotFound(f"instance {instance_id} does not exist or is still being provisioned")
        service, _ = stored_plan(self.catalogs, instance.plan_id)
        if not service.instances_retrievable:
            raise BadRequest(
                f"instances of service {service.name!r} cannot be fetched "
                "(instances_retrievable is not true)"
            )
        if instance.state == "updating":
            raise ConcurrencyError(f"instance {instance_id} is being updated")
        body: dict[str, Any] = {
            "service_id": instance.service_id,
            "plan_id": instance.plan_id,
            "parameters": instance.parameters,
        }
        if instance.dashboard_url is not None:
            body["dashboard_url"] = instance.dashboard_url
        if instance.maintenance_info:
            body["maintenance_info"] = instance.maintenance_info
        if instance.metadata:
            body["metadata"] = instance.metadata
        return Outcome("done", body)

    # --- GET /v2/service_instances/:id/last_operation ---------------------------------
    def last_operation(
        self, instance_id: str, operation_id: str | None, version: Version = NEWEST
    ) -> Outcome:
        """The state of the instance's operation ``operation_id`` (or its last one).

        The leniencies and version rules are :mod:`broker.osb.poll_rules`'s.
        """
        what = f"instance {instance_id}"
        with self.store.lock(INSTANCE_LOCK + instance_id):
            exists = self.store.get_instance(instance_id) is not None
            operation = polled_operation(
                self.store,
                self.findings,
                strict=self.strict,
                version=version,
                what=what,
                exists=exists,
                instance_id=instance_id,
                binding_id=None,
                operation_id=operation_id,
            )
            if not exists:
                if not deleted_by(operation, "deprovision"):
                    raise missing_resource(version, what)
                assert operation is not None
                delete_finished(self.store, self.clock, operation, what)
                return Outcome("done", {"state": "succeeded"})
            if operation is None:
                return Outcome("done", {"state": "succeeded"})
            operation = self.operations.advance(operation)
            # (A succeeded deprovision of an instance that exists again is history.)
            if (
                deleted_by(operation, "deprovision")
                and self.store.get_instance(instance_id) is None
            ):
                delete_finished(self.store, self.clock, operation, what)
        return last_operation_outcome(operation)


def update_payload(
    instance: InstanceRecord,
    target: Plan,
    new_parameters: dict[str, Any],
    context: Mapping[str, Any] | None,
    maintenance: str | None,
) -> dict[str, Any]:
    """What an update applies when it succeeds (its operation's payload)."""
    new_maintenance = {"version": maintenance} if maintenance else instance.maintenance_info
    payload: dict[str, Any] = {
        "plan_id": target.id,
        "parameters": new_parameters,
        "context": dict(context) if context is not None else instance.context,
        "maintenance_info": new_maintenance,
        "fingerprint": provision_fingerprint(
            service_id=instance.service_id,
            plan_id=target.id,
            organization_guid=instance.organization_guid,
            space_guid=instance.space_guid,
            parameters=new_parameters,
            maintenance_version=(new_maintenance or {}).get("version"),
        ),
        "previous_state": "ready",
    }
    return payload
