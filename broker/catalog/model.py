"""The loaded catalog: services, plans and the broker-only knobs attached to them.

Everything here is immutable and built once per catalog version by
:mod:`broker.catalog.loader`. The OSB view of a service (``doc``) is kept as the
exact mapping the author wrote, ids filled in and schema ``$ref``s inlined, so
``GET /v2/catalog`` returns every field unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from broker.catalog.parameter_schemas import ParameterValidator

__all__ = [
    "OPERATIONS",
    "BindingExtras",
    "Catalog",
    "CredentialsConfig",
    "Finish",
    "Knobs",
    "OperationBehaviour",
    "Plan",
    "Service",
]

# The mutating operations whose behaviour a plan declares.
OPERATIONS = ("provision", "update", "deprovision", "bind", "unbind")

Mode = Literal["sync", "async", "async-required"]
FinishKind = Literal["polls", "seconds", "manual", "never"]
Result = Literal["succeeded", "failed"]


@dataclass(frozen=True)
class Finish:
    """When an asynchronous operation reaches its final state."""

    kind: FinishKind = "polls"
    amount: float = 1

    def describe(self) -> str:
        if self.kind == "polls":
            return f"after {int(self.amount)} poll(s)"
        if self.kind == "seconds":
            return f"after {self.amount:g} s"
        return self.kind


@dataclass(frozen=True)
class OperationBehaviour:
    """How one operation (provision, update, ...) behaves for a plan."""

    mode: Mode = "sync"
    finish: Finish = Finish()
    result: Result = "succeeded"
    description: str | None = None
    progress: str | None = None
    retry_after: int | None = None
    # For a synchronous operation whose result is "failed": the HTTP answer.
    status: int = 500
    error: str | None = None
    instance_usable: bool | None = None
    update_repeatable: bool | None = None
    # Deprovision and unbind only: once the asynchronous delete finished, how long
    # last_operation answers "succeeded" before 410 Gone (polls 0: 410 at once).
    gone_after: Finish = Finish("polls", 1)


@dataclass(frozen=True)
class CredentialsConfig:
    backend: str = "fake"
    options: Mapping[str, Any] = field(default_factory=dict)
    # Extra credential keys, rendered from templates after the backend answered.
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BindingExtras:
    """Binding response fields beyond ``credentials`` (templated strings allowed)."""

    syslog_drain_url: str | None = None
    route_service_url: str | None = None
    volume_mounts: tuple[Mapping[str, Any], ...] = ()
    endpoints: tuple[Mapping[str, Any], ...] = ()
    # Seconds until a binding expires (metadata.expires_at) and how long before
    # expiry the platform should renew it (metadata.renew_before).
    expires_in: int | None = None
    renew_before: int | None = None


@dataclass(frozen=True)
class Knobs:
    """The broker-only settings of a plan (file defaults < service < plan)."""

    provision: OperationBehaviour = OperationBehaviour()
    update: OperationBehaviour = OperationBehaviour()
    deprovision: OperationBehaviour = OperationBehaviour()
    bind: OperationBehaviour = OperationBehaviour()
    unbind: OperationBehaviour = OperationBehaviour()
    dashboard_url: str | None = None
    credentials: CredentialsConfig = CredentialsConfig()
    binding: BindingExtras = BindingExtras()
    requires_app: bool = False
    parameters_on_update: Literal["merge", "replace"] = "merge"
    instance_metadata: Mapping[str, Any] = field(default_factory=dict)
    faults: tuple[Mapping[str, Any], ...] = ()

    def behaviour(self, operation: str) -> OperationBehaviour:
        behaviour: OperationBehaviour = getattr(self, operation)
        return behaviour


@dataclass(frozen=True, eq=False)
class Plan:
    id: str
    name: str
    service_id: str
    service_name: str
    knobs: Knobs
    bindable: bool
    plan_updateable: bool
    binding_rotatable: bool
    maximum_polling_duration: int | None
    maintenance_info_version: str | None
    # Compiled parameter validators by purpose: instance_create, instance_update, binding_create.
    validators: Mapping[str, ParameterValidator] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Service:
    id: str
    name: str
    doc: Mapping[str, Any]
    plans: tuple[Plan, ...]
    instances_retrievable: bool
    bindings_retrievable: bool
    allow_context_updates: bool
    requires: tuple[str, ...]


class Catalog:
    """An immutable catalog with O(1) lookups and its ``GET /v2/catalog`` body."""

    def __init__(self, services: tuple[Service, ...], sources: tuple[str, ...] = ()) -> None:
        self.services = services
        self.sources = sources
        self._services_by_id = {service.id: service for service in services}
        self._services_by_name = {service.name: service for service in services}
        self._plans_by_id = {plan.id: plan for service in services for plan in service.plans}
        # The lookups every OSB request makes are the dicts' own get: no call of ours.
        self.service: Callable[[str], Service | None] = self._services_by_id.get
        self.plan: Callable[[str], Plan | None] = self._plans_by_id.get
        body = {"services": [service.doc for service in services]}
        self.body: bytes = json.dumps(body, separators=(",", ":")).encode()
        self.etag = hashlib.sha256(self.body).hexdigest()[:32]

    def service_named(self, name: str) -> Service | None:
        return self._services_by_name.get(name)

    def find_plan(self, service: Service, id_or_name: str) -> Plan | None:
        for plan in service.plans:
            if id_or_name in (plan.id, plan.name):
                return plan
        return None

    @property
    def plans(self) -> tuple[Plan, ...]:
        return tuple(self._plans_by_id.values())

    def __len__(self) -> int:
        return len(self.services)
