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
from broker.osb.catalog_lookups import requested_plan, stored_plan
from broker.osb.checks import (
    check_backend_parameters,
    check_context,
    check_new_resource,
    check_update_allowed,
    goes_async,
    requested_maintenance_version,
)
from broker.osb.errors import (
    BadRequest,
    ConcurrencyError,
    Conflict,
    Gone,
    NotFound,
    UnprocessableEntity,
)
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
from broker.osb.versions import NEWEST, Version, defines_maintenance_info
from broker.storage.base import Change, Put
from broker.storage.records import InstanceRecord, OperationRecord

__all__ = ["Instances", "provision_fingerprint"]


def provision_fingerprint(
    *,
    service_id: str,
    plan_id: str,
    organization_guid: str | None,
    space_guid: str | None,
    parameters: Mapping[str, Any],
    maintenance_version: str | None,
) -> str:
    # The context is left out on purpose: platforms re-send it with cosmetic
    # changes (renamed namespace annotations) and that is not a different instance.
    return fingerprint(
        service_id=service_id,
        plan_id=plan_id,
        organization_guid=organization_guid,
        space_guid=space_guid,
        parameters=dict(parameters),
        maintenance_version=maintenance_version,
    )


def requested_maintenance(body: Mapping[str, Any], info: RequestInfo) -> str | None:
    """The ``maintenance_info.version`` a request asks for; before 2.15 the field is
    not part of the protocol and is read as absent."""
    if not defines_maintenance_info(info.version):
        return None
    return requested_maintenance_version(body)


class Instances:
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

    # --- PUT /v2/service_instances/:id ------------------------------------------------
    def provision(self, instance_id: str, body: dict[str, Any], info: RequestInfo) -> Outcome:
        service, plan = requested_plan(self.catalogs.catalog, body["service_id"], body["plan_id"])
        context = body.get("context")
        check_context(context, info)
        maintenance = requested_maintenance(body, info)
        parameters = body.get("parameters") or {}
        digest = provision_fingerprint(
            service_id=service.id,
            plan_id=plan.id,
            organization_guid=body["organization_guid"],
            space_guid=body["space_guid"],
            parameters=parameters,
            maintenance_version=maintenance,
        )
        with locked(self.store, instance_id):
            existing = self.store.get_instance(instance_id)
            if existing is not None and existing.state != "failed" and not existing.abandoned:
                return provision_again(existing, digest, info)
            check_new_resource(self.backends, plan, "instance_create", parameters, maintenance)
            behaviour = plan.knobs.provision
            asynchronous = goes_async(behaviour, info, "provision", f"instance {instance_id}")
            now = self.clock()
            instance = InstanceRecord(
                id=instance_id,
                service_id=service.id,
                plan_id=plan.id,
                state="provisioning" if asynchronous else "ready",
                fingerprint=digest,
                created_at=now,
                updated_at=now,
                organization_guid=body["organization_guid"],
                space_guid=body["space_guid"],
                context=dict(context or {}),
                parameters=dict(parameters),
                maintenance_info={"version": maintenance} if maintenance else None,
                metadata=dict(plan.knobs.instance_metadata) or None,
                originating_identity=info.originating_identity,
            )
            instance = instance.evolve(
                dashboard_url=self.renderer.dashboard_url(instance, service, plan)
            )
            if not asynchronous:
                state = self.calls.provision(instance, service, plan, existing)
                self.store.apply([Put(instance.evolve(backend_state=state))])
                return Outcome("created", provision_body(instance))
            operation = self.operations.new(
                "provision", behaviour, plan, info, instance_id=instance_id
            )
            pending = instance.evolve(operation=operation.id, backend_state=leftovers_of(existing))
            self.store.apply([Put(pending), Put(operation)])
            return Outcome("accepted", {**provision_body(instance), "operation": operation.id})

    # --- PATCH /v2/service_instances/:id ----------------------------------------------
    def update(self, instance_id: str, body: dict[str, Any], info: RequestInfo) -> Outcome:
        with locked(self.store, instance_id):
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
            check_update_allowed(
                instance, service, current, target, context, parameters, maintenance
            )
            new_parameters = instance.parameters
            if parameters is not None:
                replace = current.knobs.parameters_on_update == "replace"
                new_parameters = (
                    dict(parameters) if replace else {**instance.parameters, **parameters}
                )
                check_backend_parameters(self.backends, target, "instance_update", new_parameters)
            payload = update_payload(instance, target, new_parameters, context, maintenance)
            payload["request"] = request_digest
            behaviour = current.knobs.update
            if not goes_async(behaviour, info, "update", f"instance {instance_id}"):
                operation = self.operations.new(
                    "update", behaviour, target, info, instance_id=instance_id, payload=payload
                )
                updated = self.operations.updated_instance(instance, payload, self.clock())
                finished = self.operations.finished(operation, "succeeded", None)
                self.store.apply([Put(updated), Put(finished)])
                url = updated.dashboard_url
                return Outcome("done", {"dashboard_url": url} if url else {})
            operation = self.operations.new(
                "update", behaviour, target, info, instance_id=instance_id, payload=payload
            )
            self.store.apply(
                [
                    Put(
                        instance.evolve(
                            state="updating", operation=operation.id, updated_at=self.clock()
                        )
                    ),
                    Put(operation),
                ]
            )
            return Outcome("accepted", {"operation": operation.id})

    # --- DELETE /v2/service_instances/:id ---------------------------------------------
    def deprovision(self, instance_id: str, query: dict[str, Any], info: RequestInfo) -> Outcome:
        with locked(self.store, instance_id):
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
    def fetch(self, instance_id: str) -> Outcome:
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
        with locked(self.store, instance_id):
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


def last_operation_outcome(operation: OperationRecord) -> Outcome:
    body: dict[str, Any] = {"state": operation.state}
    if operation.description:
        body["description"] = operation.description
    if operation.instance_usable is not None:
        body["instance_usable"] = operation.instance_usable
    if operation.update_repeatable is not None:
        body["update_repeatable"] = operation.update_repeatable
    retry_after = operation.retry_after if operation.state == "in progress" else None
    return Outcome("done", body, retry_after=retry_after)


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


def provision_again(existing: InstanceRecord, digest: str, info: RequestInfo) -> Outcome:
    """The answer to a provision of an instance that exists: the same, or a conflict."""
    if existing.state == "deprovisioning":
        raise ConcurrencyError(f"instance {existing.id} is being deprovisioned")
    if existing.fingerprint != digest:
        raise Conflict(
            f"instance {existing.id} already exists with different attributes "
            "(service_id, plan_id, organization_guid, space_guid, parameters or "
            "maintenance_info)"
        )
    body = provision_body(existing)
    if existing.state == "provisioning":
        return still_running(
            info,
            {**body, "operation": existing.operation},
            f"provisioning of instance {existing.id}",
        )
    return Outcome("identical", body)


def provision_body(instance: InstanceRecord) -> dict[str, Any]:
    """The body of a provision answer: dashboard URL and metadata, when there are any."""
    body: dict[str, Any] = {}
    if instance.dashboard_url is not None:
        body["dashboard_url"] = instance.dashboard_url
    if instance.metadata:
        body["metadata"] = instance.metadata
    return body
