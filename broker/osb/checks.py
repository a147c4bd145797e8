"""Request checks that need nothing but their arguments: no store, no clock, no HTTP.

Each raises the :mod:`broker.osb.errors` exception the spec asks for, or returns.
:func:`check_provision` and :func:`check_bind` run every check of a new instance or
binding at once, in the spec's order, given what the store holds for its ids: the
rules call them under the lock and before they write anything, so a refused
request leaves state as it was. The other checks here are their parts and those
of the other requests; what a plan accepts (maintenance version, parameters, plan
changes) is :mod:`broker.osb.plan_checks`'s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker.catalog.model import Catalog, OperationBehaviour, Plan, Service
from broker.catalog.source import CatalogSource
from broker.credentials.registry import BackendRegistry
from broker.osb.errors import (
    AsyncRequired,
    BadRequest,
    ConcurrencyError,
    Conflict,
    NotFound,
    OperationFailed,
    RequiresApp,
    UnprocessableEntity,
)
from broker.osb.outcome import Outcome, RequestInfo, provision_body, still_running
from broker.osb.plan_checks import check_new_resource
from broker.osb.versions import ASYNC_BINDINGS, MAINTENANCE_INFO, ROTATION
from broker.storage.records import BindingRecord, InstanceRecord

__all__ = [
    "NewBinding",
    "NewInstance",
    "binding_goes_async",
    "check_bind",
    "check_context",
    "check_provision",
    "fail_sync",
    "fingerprint",
    "goes_async",
    "provision_fingerprint",
    "requested_maintenance",
    "requested_maintenance_version",
    "requested_plan",
    "stored_plan",
]


# --- every check of a new instance or binding ---------------------------------------


@dataclass(frozen=True, slots=True)
class NewInstance:
    """A provision that passed every check: its offering and plan, and how to make it."""

    service: Service
    plan: Plan
    fingerprint: str
    maintenance: str | None
    asynchronous: bool


def check_provision(
    catalog: Catalog,
    backends: BackendRegistry,
    instance_id: str,
    body: Mapping[str, Any],
    info: RequestInfo,
    existing: InstanceRecord | None,
) -> NewInstance | Outcome:
    """Every check of a provision of ``instance_id`` (``existing``: what the store holds).

    The answer itself when the instance exists already (200 or 202 for the same
    request, else 409 or 422); a :class:`NewInstance` when it may be made.
    """
    service, plan = requested_plan(catalog, body["service_id"], body["plan_id"])
    check_context(body.get("context"), info)
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
    if existing is not None and existing.state != "failed" and not existing.abandoned:
        return provision_again(existing, digest, info)
    check_new_resource(backends, plan, "instance_create", parameters, maintenance)
    asynchronous = goes_async(plan.knobs.provision, info, "provision", f"instance {instance_id}")
    return NewInstance(service, plan, digest, maintenance, asynchronous)


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


@dataclass(frozen=True, slots=True)
class NewBinding:
    """A bind that passed every check: what the binding is made of, and how."""

    service: Service
    plan: Plan
    fingerprint: str
    app_guid: str | None
    bind_resource: dict[str, Any]
    predecessor_id: str | None
    asynchronous: bool


def check_bind(
    catalogs: CatalogSource,
    backends: BackendRegistry,
    ids: tuple[str, str],
    body: Mapping[str, Any],
    info: RequestInfo,
    stored: tuple[InstanceRecord | None, BindingRecord | None, BindingRecord | None],
    now: float,
) -> NewBinding | Outcome:
    """Every check of a bind of binding ``ids[1]`` to instance ``ids[0]``.

    ``stored`` is what the store holds: the instance, the binding's id and the
    ``predecessor_binding_id`` the body names (``None`` for what it lacks); ``now`` the
    time a predecessor's expiry is checked against. The answer itself when the binding
    exists already; a :class:`NewBinding` when it may be made.
    """
    instance_id, binding_id = ids
    instance, existing, predecessor = stored
    check_context(body.get("context"), info)
    bind_resource = dict(body.get("bind_resource") or {})
    app_guid = bind_resource.get("app_guid") or body.get("app_guid")
    parameters = body.get("parameters") or {}
    # Rotation is 2.17's; to an older platform the field means nothing.
    predecessor_id = body.get("predecessor_binding_id") if info.version >= ROTATION else None
    digest = fingerprint(
        service_id=body["service_id"],
        plan_id=body["plan_id"],
        app_guid=app_guid,
        bind_resource=bind_resource,
        parameters=parameters,
        predecessor_binding_id=predecessor_id,
    )
    instance = bindable_instance(instance_id, instance, body)
    service, plan = stored_plan(catalogs, instance.plan_id)
    if existing is not None and existing.instance_id != instance_id:
        raise Conflict(f"binding {binding_id} already exists for instance {existing.instance_id}")
    if existing is not None and existing.state != "failed" and not existing.abandoned:
        return bind_again(existing, digest, info)
    if not plan.bindable:
        raise BadRequest(f"plan {plan.name!r} is not bindable")
    if plan.knobs.requires_app and not app_guid:
        raise RequiresApp("this plan requires an app: send bind_resource.app_guid")
    check_new_resource(
        backends, plan, "binding_create", parameters, instance_parameters=instance.parameters
    )
    if predecessor_id is not None:
        check_predecessor(instance, plan, predecessor_id, predecessor, now)
    asynchronous = binding_goes_async(plan.knobs.bind, info, "bind", f"binding {binding_id}")
    return NewBinding(service, plan, digest, app_guid, bind_resource, predecessor_id, asynchronous)


def bindable_instance(
    instance_id: str, instance: InstanceRecord | None, body: Mapping[str, Any]
) -> InstanceRecord:
    """The instance a bind names, when it can be bound: 404, 422 or 400 otherwise."""
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist")
    if instance.state in ("provisioning", "updating", "deprovisioning"):
        raise ConcurrencyError(f"instance {instance_id} is {instance.state}; bind when it is ready")
    if instance.state == "failed":
        raise UnprocessableEntity(f"instance {instance_id} failed to provision and cannot be bound")
    if body["service_id"] != instance.service_id or body["plan_id"] != instance.plan_id:
        raise BadRequest(
            f"service_id {body['service_id']!r} and plan_id {body['plan_id']!r} do not match "
            f"instance {instance_id} (service {instance.service_id}, plan {instance.plan_id})"
        )
    return instance


def check_predecessor(
    instance: InstanceRecord,
    plan: Plan,
    predecessor_id: str,
    predecessor: BindingRecord | None,
    now: float,
) -> None:
    """400 unless ``predecessor`` is a live, unexpired binding of ``instance`` on a
    plan whose bindings rotate."""
    if not plan.binding_rotatable:
        raise BadRequest(
            f"plan {plan.name!r} does not support binding rotation (binding_rotatable is not true)"
        )
    if (
        predecessor is None
        or predecessor.instance_id != instance.id
        or predecessor.state != "ready"
    ):
        raise BadRequest(
            f"predecessor_binding_id {predecessor_id!r} is not a binding of instance {instance.id}"
        )
    if predecessor.expires_at is not None and predecessor.expires_at <= now:
        raise BadRequest(f"predecessor binding {predecessor_id} has expired")


def bind_again(existing: BindingRecord, digest: str, info: RequestInfo) -> Outcome:
    """The answer to a bind of a binding that exists: the same, or a conflict."""
    if existing.state == "unbinding":
        raise ConcurrencyError(f"binding {existing.id} is being deleted")
    if existing.fingerprint != digest:
        raise Conflict(f"binding {existing.id} already exists with different parameters")
    if existing.state == "binding":
        return still_running(info, {"operation": existing.operation}, f"binding {existing.id}")
    return Outcome("identical", existing.response)


# --- what a request names ------------------------------------------------------------


def requested_plan(catalog: Catalog, service_id: str, plan_id: str) -> tuple[Service, Plan]:
    """The offering and plan a request names, or 400 naming what is unknown."""
    service = catalog.service(service_id)
    if service is None:
        raise BadRequest(f"service_id {service_id!r} is not in the catalog")
    plan = catalog.plan(plan_id)
    if plan is None or plan.service_id != service.id:
        raise BadRequest(
            f"plan_id {plan_id!r} is not a plan of service {service.name!r} ({service.id})"
        )
    return service, plan


def stored_plan(catalogs: CatalogSource, plan_id: str) -> tuple[Service, Plan]:
    """Service and plan of a stored resource (plans removed since included)."""
    resolved = catalogs.resolve(plan_id)
    if resolved is None:
        raise BadRequest(f"plan {plan_id!r} of this resource is no longer known to the broker")
    return resolved


def fingerprint(**attributes: Any) -> str:
    """A stable digest of request attributes, for "identical or different?"."""
    canonical = json.dumps(attributes, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def provision_fingerprint(
    *,
    service_id: str,
    plan_id: str,
    organization_guid: str | None,
    space_guid: str | None,
    parameters: Mapping[str, Any],
    maintenance_version: str | None,
) -> str:
    """The digest a repeated provision must match to be "the same instance"."""
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
    if info.version < MAINTENANCE_INFO:
        return None
    return requested_maintenance_version(body)


# --- the parts ------------------------------------------------------------------------


def check_context(context: Mapping[str, Any] | None, info: RequestInfo) -> None:
    """400 when a sent ``context`` lacks its platform or contradicts the identity header."""
    if context is None:
        return
    platform = context.get("platform")
    if not isinstance(platform, str) or not platform:
        raise BadRequest("context.platform is required when context is sent")
    identity = info.originating_identity
    if identity is not None and identity["platform"] != platform:
        raise BadRequest(
            f"context.platform {platform!r} differs from the originating identity platform "
            f"{identity['platform']!r}"
        )


def requested_maintenance_version(body: Mapping[str, Any]) -> str | None:
    """``maintenance_info.version`` of a request body, ``None`` when absent or empty."""
    maintenance = body.get("maintenance_info")
    if not maintenance:
        return None
    version = maintenance.get("version")
    return version if version else None


def goes_async(behaviour: OperationBehaviour, info: RequestInfo, operation: str, what: str) -> bool:
    """Whether ``operation`` of ``what`` runs asynchronously.

    422 AsyncRequired when it must but the caller cannot take a 202; when it runs
    now, the failure the plan declares for it (:func:`fail_sync`), if any.
    """
    if behaviour.mode != "sync":
        if behaviour.mode == "async-required" and not info.accepts_incomplete:
            raise AsyncRequired(
                f"this plan can only {operation} asynchronously: "
                "send the request with accepts_incomplete=true"
            )
        if info.accepts_incomplete:
            return True
    fail_sync(behaviour, operation, what)
    return False


def binding_goes_async(
    behaviour: OperationBehaviour, info: RequestInfo, operation: str, what: str
) -> bool:
    """As :func:`goes_async`, for a bind or unbind. Bindings have an asynchronous
    form only from OSB 2.14: for an older platform they run now, whatever the plan."""
    if info.version >= ASYNC_BINDINGS:
        return goes_async(behaviour, info, operation, what)
    fail_sync(behaviour, operation, what)
    return False


def fail_sync(behaviour: OperationBehaviour, operation: str, what: str) -> None:
    """Raise the declared failure of a synchronous operation, if it is declared."""
    if behaviour.result != "failed":
        return
    raise OperationFailed(
        behaviour.description or f"{operation} of {what} failed (the plan declares result: failed)",
        status=behaviour.status,
        error=behaviour.error or "OperationFailed",
        instance_usable=behaviour.instance_usable
        if operation in ("update", "deprovision")
        else None,
        update_repeatable=behaviour.update_repeatable if operation == "update" else None,
    )
