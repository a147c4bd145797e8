"""Request checks that need nothing but their arguments: no store, no clock, no HTTP.

Each raises the :mod:`broker.osb.errors` exception the spec asks for, or returns.
The rules in :mod:`broker.osb.instances` and :mod:`broker.osb.bindings` run all of
them before they write anything, so a refused request leaves state as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import best_match

from broker.catalog.model import OperationBehaviour, Plan, Service
from broker.credentials.registry import BackendRegistry
from broker.osb.errors import (
    AsyncRequired,
    BadRequest,
    MaintenanceInfoConflict,
    OperationFailed,
    UnprocessableEntity,
)
from broker.osb.outcome import RequestInfo
from broker.osb.versions import async_bindings
from broker.storage.records import InstanceRecord

__all__ = [
    "binding_goes_async",
    "check_backend_parameters",
    "check_context",
    "check_maintenance",
    "check_new_resource",
    "check_update_allowed",
    "fail_sync",
    "goes_async",
    "requested_maintenance_version",
    "validate_parameters",
]


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


def check_maintenance(plan: Plan, requested: str | None) -> None:
    """422 MaintenanceInfoConflict when the requested version is not the plan's."""
    if requested is None or requested == plan.maintenance_info_version:
        return
    offered = plan.maintenance_info_version
    raise MaintenanceInfoConflict(
        f"maintenance_info.version {requested!r} does not match the version of plan "
        f"{plan.name!r}: {offered!r}"
        if offered
        else f"maintenance_info.version {requested!r} was sent but plan {plan.name!r} "
        "declares no maintenance_info"
    )


def validate_parameters(plan: Plan, purpose: str, parameters: Mapping[str, Any]) -> None:
    """400 InvalidParameters when ``parameters`` break the plan's schema for ``purpose``."""
    validator = plan.validators.get(purpose)
    if validator is None:
        return
    errors = sorted(validator.iter_errors(parameters), key=lambda error: list(error.path))
    if not errors:
        return
    problems = []
    for error in errors:
        detail = best_match(error.context) if error.context else error
        path = "$" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
        )
        problems.append(f"{path}: {detail.message}")
    raise BadRequest(
        f"parameters do not match the plan's schema: {'; '.join(problems)}",
        error="InvalidParameters",
    )


def check_backend_parameters(
    backends: BackendRegistry,
    plan: Plan,
    purpose: str,
    parameters: Mapping[str, Any],
    instance_parameters: Mapping[str, Any] | None = None,
) -> None:
    """400 when the plan's credential backend cannot use these parameters."""
    credentials = plan.knobs.credentials
    problems = backends.parameter_problems(
        credentials.backend, credentials.options, purpose, parameters, instance_parameters or {}
    )
    if problems:
        raise BadRequest(
            f"parameters cannot be used by the {credentials.backend} credential backend: "
            + "; ".join(problems),
            error="InvalidParameters",
        )


def check_new_resource(
    backends: BackendRegistry,
    plan: Plan,
    purpose: str,
    parameters: Mapping[str, Any],
    maintenance: str | None = None,
    instance_parameters: Mapping[str, Any] | None = None,
) -> None:
    """Every check of a new instance or binding's plan, maintenance and parameters."""
    check_maintenance(plan, maintenance)
    validate_parameters(plan, purpose, parameters)
    check_backend_parameters(backends, plan, purpose, parameters, instance_parameters)


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
    if async_bindings(info.version):
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


def check_update_allowed(
    instance: InstanceRecord,
    service: Service,
    current: Plan,
    target: Plan,
    context: Mapping[str, Any] | None,
    parameters: Mapping[str, Any] | None,
    maintenance: str | None,
) -> None:
    """422 for a plan change or context-only update the catalog does not allow; then the
    maintenance version and the parameters against the target plan."""
    if target is not current and not current.plan_updateable:
        raise UnprocessableEntity(
            f"plan {current.name!r} does not allow plan changes (plan_updateable is not true)",
            error="PlanChangeNotSupported",
        )
    check_maintenance(target, maintenance)
    if parameters is not None:
        validate_parameters(target, "instance_update", parameters)
    context_only = (
        context is not None
        and dict(context) != instance.context
        and parameters is None
        and target is current
        and (maintenance is None or maintenance == (instance.maintenance_info or {}).get("version"))
    )
    if context_only and not service.allow_context_updates:
        raise UnprocessableEntity(
            f"service {service.name!r} does not accept context-only updates "
            "(allow_context_updates is not true)",
            error="ContextUpdateNotSupported",
        )
