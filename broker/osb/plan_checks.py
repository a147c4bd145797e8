"""What a plan accepts: a maintenance version, parameters (its schemas and its
credential backend's own rules), plan changes and context-only updates.

Pure checks, called by :mod:`broker.osb.checks` and the update rule; each raises the
:mod:`broker.osb.errors` exception the spec asks for, or returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker.catalog.model import Plan, Service
from broker.credentials.registry import BackendRegistry
from broker.osb.errors import BadRequest, MaintenanceInfoConflict, UnprocessableEntity
from broker.storage.records import InstanceRecord

__all__ = [
    "check_backend_parameters",
    "check_maintenance",
    "check_new_resource",
    "check_update_allowed",
    "validate_parameters",
]


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
    from jsonschema.exceptions import best_match  # only when the parameters are wrong

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


def check_update_allowed(
    backends: BackendRegistry,
    instance: InstanceRecord,
    service: Service,
    current: Plan,
    target: Plan,
    body: Mapping[str, Any],
    maintenance: str | None,
) -> dict[str, Any]:
    """Every check of an update of ``instance`` from plan ``current`` to ``target`` (the
    same plan when it does not change one): 422 for a plan change or context-only
    update the catalog does not allow; then the maintenance version and the parameters
    against the target plan and its backend. Returns the instance's parameters after
    the update (the plan's ``parameters_on_update`` says whether they replace or merge).
    """
    context: Mapping[str, Any] | None = body.get("context")
    parameters: Mapping[str, Any] | None = body.get("parameters")
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
    if parameters is None:
        return instance.parameters
    replace = current.knobs.parameters_on_update == "replace"
    new_parameters = dict(parameters) if replace else {**instance.parameters, **parameters}
    check_backend_parameters(backends, target, "instance_update", new_parameters)
    return new_parameters
