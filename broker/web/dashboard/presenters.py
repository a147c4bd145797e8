"""What the dashboard shows, computed from the runtime: display rows, nothing else.

These functions only *describe* state the broker already decided (records from the
store, the loaded catalog, fault rules); no protocol rule is evaluated here. Every
value that could carry a secret goes through :func:`broker.redaction.redact`, binding
credentials are reduced to their key names, and the credential backends' own state
is never shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

from broker.catalog.model import (
    OPERATIONS,
    Catalog,
    Finish,
    FinishKind,
    OperationBehaviour,
    Plan,
    Service,
)
from broker.catalog.source import CatalogSource
from broker.redaction import redact
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord

__all__ = [
    "BindingRow",
    "FaultRow",
    "InstanceRow",
    "OperationRow",
    "PlanRow",
    "ServiceRow",
    "binding_rows",
    "fault_rows",
    "instance_row",
    "operation_rows",
    "service_rows",
    "store_label",
    "timestamp",
]


def timestamp(epoch: float | None) -> str:
    """``2024-05-01 12:00:03Z`` (UTC), or an empty string."""
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def pretty_json(value: Any) -> str:
    """Indented JSON of an already redacted value ('' for nothing)."""
    if value in (None, {}, []):
        return ""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), sort_keys=True, default=str)


def store_label(url: str) -> str:
    """The kind of store, and its location without user or password."""
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return "memory"
    if parts.scheme == "sqlite":
        return f"sqlite {parts.path[1:]}"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme} {host}{port}{parts.path}"


# --- catalog ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    id: str
    name: str
    description: str
    free: bool
    bindable: bool
    plan_updateable: bool
    maximum_polling_duration: int | None
    maintenance_version: str | None
    # (operation, summary) for provision, update, deprovision, bind, unbind.
    behaviours: tuple[tuple[str, str], ...]
    credentials_backend: str
    catalog_faults: int


@dataclass(frozen=True)
class ServiceRow:
    id: str
    name: str
    description: str
    tags: tuple[str, ...]
    plans: tuple[PlanRow, ...]


def behaviour_summary(behaviour: OperationBehaviour) -> str:
    """``sync``, ``async, after 2 poll(s)``, ``async, manual, then failed`` ..."""
    if behaviour.mode == "sync":
        if behaviour.result == "failed":
            return f"sync, answers {behaviour.status}" + (
                f" {behaviour.error}" if behaviour.error else ""
            )
        return "sync"
    summary = f"{behaviour.mode}, {behaviour.finish.describe()}"
    if behaviour.result == "failed":
        summary += ", then failed"
    return summary


def _plan_doc(service: Service, plan: Plan) -> Mapping[str, Any]:
    for doc in service.doc.get("plans", ()):
        if isinstance(doc, Mapping) and doc.get("id") == plan.id:
            return doc
    return {}


def service_rows(services: Iterable[Service]) -> list[ServiceRow]:
    rows = []
    for service in services:
        plans = []
        for plan in service.plans:
            doc = _plan_doc(service, plan)
            plans.append(
                PlanRow(
                    id=plan.id,
                    name=plan.name,
                    description=str(doc.get("description", "")),
                    free=bool(doc.get("free", True)),
                    bindable=plan.bindable,
                    plan_updateable=plan.plan_updateable,
                    maximum_polling_duration=plan.maximum_polling_duration,
                    maintenance_version=plan.maintenance_info_version,
                    behaviours=tuple(
                        (operation, behaviour_summary(plan.knobs.behaviour(operation)))
                        for operation in OPERATIONS
                    ),
                    credentials_backend=plan.knobs.credentials.backend,
                    catalog_faults=len(plan.knobs.faults),
                )
            )
        rows.append(
            ServiceRow(
                id=service.id,
                name=service.name,
                description=str(service.doc.get("description", "")),
                tags=tuple(str(tag) for tag in service.doc.get("tags", ()) or ()),
                plans=tuple(plans),
            )
        )
    return rows


# --- instances, bindings, operations ---------------------------------------------------


def _names(catalogs: CatalogSource, plan_id: str) -> tuple[str, str]:
    """``(service name, plan name)`` of a stored resource, even for a removed plan."""
    resolved = catalogs.resolve(plan_id)
    if resolved is None:
        return "(unknown service)", f"(unknown plan {plan_id})"
    service, plan = resolved
    return service.name, plan.name


@dataclass(frozen=True)
class InstanceRow:
    id: str
    service: str
    plan: str
    service_id: str
    plan_id: str
    state: str
    operation: str | None
    created: str
    updated: str
    organization_guid: str | None
    space_guid: str | None
    dashboard_url: str | None
    parameters: str
    context: str
    maintenance_version: str | None
    bindings: int


def instance_row(catalogs: CatalogSource, instance: InstanceRecord, bindings: int) -> InstanceRow:
    service, plan = _names(catalogs, instance.plan_id)
    return InstanceRow(
        id=instance.id,
        service=service,
        plan=plan,
        service_id=instance.service_id,
        plan_id=instance.plan_id,
        state=instance.state,
        operation=instance.operation,
        created=timestamp(instance.created_at),
        updated=timestamp(instance.updated_at),
        organization_guid=instance.organization_guid,
        space_guid=instance.space_guid,
        dashboard_url=instance.dashboard_url,
        parameters=pretty_json(redact(instance.parameters)),
        context=pretty_json(redact(instance.context)),
        maintenance_version=(instance.maintenance_info or {}).get("version"),
        bindings=bindings,
    )


@dataclass(frozen=True)
class BindingRow:
    id: str
    instance_id: str
    service: str
    plan: str
    state: str
    operation: str | None
    created: str
    expires: str
    app_guid: str | None
    # Only the names of the credential keys; their values never reach the page.
    credential_keys: tuple[str, ...]
    # The rest of the bind response (syslog_drain_url, volume_mounts ...), redacted.
    extras: str
    parameters: str


def binding_rows(catalogs: CatalogSource, bindings: Iterable[BindingRecord]) -> list[BindingRow]:
    rows = []
    for binding in bindings:
        service, plan = _names(catalogs, binding.plan_id)
        credentials = binding.response.get("credentials")
        keys = (
            tuple(sorted(str(key) for key in credentials))
            if isinstance(credentials, Mapping)
            else ()
        )
        extras = {key: value for key, value in binding.response.items() if key != "credentials"}
        rows.append(
            BindingRow(
                id=binding.id,
                instance_id=binding.instance_id,
                service=service,
                plan=plan,
                state=binding.state,
                operation=binding.operation,
                created=timestamp(binding.created_at),
                expires=timestamp(binding.expires_at),
                app_guid=binding.app_guid or binding.bind_resource.get("app_guid"),
                credential_keys=keys,
                extras=pretty_json(redact(extras)),
                parameters=pretty_json(redact(binding.parameters)),
            )
        )
    return rows


@dataclass(frozen=True)
class OperationRow:
    id: str
    type: str
    instance_id: str
    binding_id: str | None
    state: str
    finish: str
    planned_result: str
    polls: int
    started: str
    finished: str
    description: str | None


def operation_rows(operations: Iterable[OperationRecord]) -> list[OperationRow]:
    """Newest first."""
    rows = [
        OperationRow(
            id=operation.id,
            type=operation.type,
            instance_id=operation.instance_id,
            binding_id=operation.binding_id,
            state=operation.state,
            finish=Finish(
                cast(FinishKind, operation.finish_kind), operation.finish_amount
            ).describe(),
            planned_result=operation.result,
            polls=operation.polls,
            started=timestamp(operation.started_at),
            finished=timestamp(operation.finished_at),
            description=operation.description or operation.progress,
        )
        for operation in operations
    ]
    rows.reverse()
    return rows


# --- fault rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRow:
    id: str
    origin: str
    description: str
    match: str
    trigger: str
    action: str
    calls: int
    fired: int


def _match_summary(match: Mapping[str, Any], catalog: Catalog) -> str:
    if not match:
        return "every request"
    parts = []
    for key in ("operation", "service", "plan", "instance_id", "binding_id"):
        if key not in match:
            continue
        value = match[key]
        if key == "operation" and isinstance(value, list):
            value = " | ".join(str(item) for item in value)
        elif key == "service":
            service = catalog.service(str(value))
            value = service.name if service is not None else value
        elif key == "plan":
            plan = catalog.plan(str(value))
            value = plan.name if plan is not None else value
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def _trigger_summary(trigger: Mapping[str, Any]) -> str:
    if "times" in trigger:
        return f"the first {trigger['times']} call(s)"
    if "nth" in trigger:
        return f"call #{trigger['nth']} only"
    if "after" in trigger:
        return f"every call after #{trigger['after']}"
    if "probability" in trigger:
        seed = f", seed {trigger['seed']}" if "seed" in trigger else ""
        return f"probability {trigger['probability']}{seed}"
    return "always"


def fault_rows(rules: Iterable[Mapping[str, Any]], catalog: Catalog) -> list[FaultRow]:
    return [
        FaultRow(
            id=str(rule.get("id", "")),
            origin=str(rule.get("origin", "admin")),
            description=str(rule.get("description", "")),
            match=_match_summary(rule.get("match") or {}, catalog),
            trigger=_trigger_summary(rule.get("trigger") or {}),
            action=compact_json(redact(rule.get("action") or {})),
            calls=int(rule.get("calls", 0)),
            fired=int(rule.get("fired", 0)),
        )
        for rule in rules
    ]
