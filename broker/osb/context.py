"""What every OSB operation needs: catalog, store, backends, clock, and shared rules."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from jsonschema.exceptions import best_match

from broker.catalog.model import OperationBehaviour, Plan, Service
from broker.catalog.source import CatalogSource
from broker.config import Settings
from broker.credentials.base import (
    BackendError,
    BindingRequest,
    BindResult,
    InstanceRequest,
    leaves_objects,
)
from broker.credentials.randomness import rng_for
from broker.credentials.registry import BackendRegistry
from broker.osb.errors import (
    AsyncRequired,
    BackendFailure,
    BadRequest,
    MaintenanceInfoConflict,
    OperationFailed,
)
from broker.osb.finding_hook import FindingRecorder, NoFindings
from broker.osb.versions import NEWEST, Version, defines_polling_duration
from broker.storage.base import Change, Delete, Put, Store
from broker.storage.records import BindingRecord, InstanceRecord, OperationRecord
from broker.templating import TemplateError, render

__all__ = [
    "BrokerContext",
    "Outcome",
    "RequestInfo",
    "fingerprint",
    "iso_time",
    "leftovers_of",
    "still_running",
]

OutcomeKind = Literal["created", "identical", "accepted", "done"]
T = TypeVar("T")
Attempted = TypeVar("Attempted", InstanceRecord, BindingRecord)


@dataclass(frozen=True)
class RequestInfo:
    """Facts about the HTTP request the protocol rules need (not the body)."""

    accepts_incomplete: bool = False
    originating_identity: dict[str, Any] | None = None
    # Set by a fault rule: how an operation that goes async must end.
    async_result: str | None = None
    fault: str | None = None
    # The OSB version the broker answers as (broker.osb.versions).
    version: Version = NEWEST


@dataclass(frozen=True)
class Outcome:
    """What happened; the web layer maps ``kind`` to 201/200/202/200."""

    kind: OutcomeKind
    body: dict[str, Any] = field(default_factory=dict)
    retry_after: int | None = None


def still_running(info: RequestInfo, body: dict[str, Any], what: str) -> Outcome:
    """The answer to a repeat of a request whose asynchronous operation still runs.

    OSB: 202 with the same operation, but a 202 only ever goes to a caller that
    sent ``accepts_incomplete=true``; any other caller learns it must poll.
    """
    if not info.accepts_incomplete:
        raise AsyncRequired(
            f"{what} is still in progress asynchronously: "
            "repeat the request with accepts_incomplete=true, or poll last_operation"
        )
    return Outcome("accepted", body)


def fingerprint(**attributes: Any) -> str:
    """A stable digest of request attributes, for "identical or different?"."""
    canonical = json.dumps(attributes, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def iso_time(epoch: float) -> str:
    """OSB timestamps: ISO 8601 ``yyyy-mm-ddThh:mm:ss.sZ``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 100000}Z"


@dataclass
class BrokerContext:
    catalogs: CatalogSource
    store: Store
    backends: BackendRegistry
    settings: Settings
    clock: Callable[[], float] = time.time
    # Where deviations the broker lets through are reported (broker.osb.finding_hook).
    findings: FindingRecorder = field(default_factory=NoFindings)

    # --- catalog lookups --------------------------------------------------------------
    def service_and_plan(self, service_id: str, plan_id: str) -> tuple[Service, Plan]:
        """The offering and plan a request names, or 400 naming what is unknown."""
        catalog = self.catalogs.catalog
        service = catalog.service(service_id)
        if service is None:
            raise BadRequest(f"service_id {service_id!r} is not in the catalog")
        plan = catalog.plan(plan_id)
        if plan is None or plan.service_id != service.id:
            raise BadRequest(
                f"plan_id {plan_id!r} is not a plan of service {service.name!r} ({service.id})"
            )
        return service, plan

    def plan_of(self, plan_id: str) -> tuple[Service, Plan]:
        """Service and plan of a stored resource (removed plans included)."""
        resolved = self.catalogs.resolve(plan_id)
        if resolved is None:
            raise BadRequest(f"plan {plan_id!r} of this resource is no longer known to the broker")
        return resolved

    # --- shared request rules ---------------------------------------------------------
    @staticmethod
    def check_context(context: Mapping[str, Any] | None, info: RequestInfo) -> None:
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

    @staticmethod
    def requested_maintenance_version(body: Mapping[str, Any]) -> str | None:
        maintenance = body.get("maintenance_info")
        if not maintenance:
            return None
        version = maintenance.get("version")
        return version if version else None

    @staticmethod
    def check_maintenance(plan: Plan, requested: str | None) -> None:
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

    @staticmethod
    def validate_parameters(plan: Plan, purpose: str, parameters: Mapping[str, Any]) -> None:
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
        self,
        plan: Plan,
        purpose: str,
        parameters: Mapping[str, Any],
        instance_parameters: Mapping[str, Any] | None = None,
    ) -> None:
        """400 when the plan's credential backend cannot use these parameters."""
        credentials = plan.knobs.credentials
        problems = self.backends.parameter_problems(
            credentials.backend, credentials.options, purpose, parameters, instance_parameters or {}
        )
        if problems:
            raise BadRequest(
                f"parameters cannot be used by the {credentials.backend} credential backend: "
                + "; ".join(problems),
                error="InvalidParameters",
            )

    def goes_async(self, behaviour: OperationBehaviour, info: RequestInfo, operation: str) -> bool:
        if behaviour.mode == "sync":
            return False
        if behaviour.mode == "async-required" and not info.accepts_incomplete:
            raise AsyncRequired(
                f"this plan can only {operation} asynchronously: "
                "send the request with accepts_incomplete=true"
            )
        return info.accepts_incomplete

    @staticmethod
    def fail_sync(behaviour: OperationBehaviour, operation: str, what: str) -> None:
        """Raise the declared failure of a synchronous operation, if it is declared."""
        if behaviour.result != "failed":
            return
        raise OperationFailed(
            behaviour.description
            or f"{operation} of {what} failed (the plan declares result: failed)",
            status=behaviour.status,
            error=behaviour.error or "OperationFailed",
            instance_usable=behaviour.instance_usable
            if operation in ("update", "deprovision")
            else None,
            update_repeatable=behaviour.update_repeatable if operation == "update" else None,
        )

    # --- operations -------------------------------------------------------------------
    def new_operation(
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

    # --- templates and backends -------------------------------------------------------
    def instance_variables(
        self, instance: InstanceRecord, service: Service, plan: Plan
    ) -> dict[str, Any]:
        return {
            "instance_id": instance.id,
            "service_id": service.id,
            "plan_id": plan.id,
            "service": service.name,
            "plan": plan.name,
            "organization_guid": instance.organization_guid,
            "space_guid": instance.space_guid,
            "namespace": instance.context.get("namespace"),
            "base_url": self.settings.base_url,
        }

    def render(self, value: Any, variables: Mapping[str, Any], *seed_parts: str) -> Any:
        try:
            return render(value, variables, rng_for(self.settings.credential_seed, *seed_parts))
        except TemplateError as exc:
            raise BackendFailure(f"cannot render a catalog template: {exc}") from None

    def dashboard_url(self, instance: InstanceRecord, service: Service, plan: Plan) -> str | None:
        template = plan.knobs.dashboard_url
        if not template:
            return None
        variables = self.instance_variables(instance, service, plan)
        rendered: str = self.render(template, variables, instance.id, "dashboard")
        return rendered

    def instance_request(
        self, instance: InstanceRecord, service: Service, plan: Plan
    ) -> InstanceRequest:
        return InstanceRequest(
            instance_id=instance.id,
            service_id=service.id,
            service_name=service.name,
            plan_id=plan.id,
            plan_name=plan.name,
            options=plan.knobs.credentials.options,
            parameters=instance.parameters,
            context=instance.context,
            state=instance.backend_state or {},
            variables=self.instance_variables(instance, service, plan),
        )

    def binding_request(
        self, instance: InstanceRecord, binding: BindingRecord, service: Service, plan: Plan
    ) -> BindingRequest:
        instance_request = self.instance_request(instance, service, plan)
        return BindingRequest(
            instance=instance_request,
            binding_id=binding.id,
            parameters=binding.parameters,
            context=binding.context,
            bind_resource=binding.bind_resource,
            state=binding.backend_state or {},
            variables={
                **instance_request.variables,
                "binding_id": binding.id,
                "app_guid": binding.app_guid,
                "route": binding.bind_resource.get("route"),
            },
        )

    def backend_provision(
        self,
        instance: InstanceRecord,
        service: Service,
        plan: Plan,
        stored: InstanceRecord | None,
    ) -> dict[str, Any]:
        """Provision ``instance`` at its plan's backend and return the backend's state.

        ``stored`` is what the store holds for the instance's id (``None``: nothing).
        The caller holds the instance lock. For a backend that leaves objects on a
        server the attempt is recorded first (see :meth:`_recorded_attempt`).
        """
        backend = self.backends.get(plan.knobs.credentials.backend)
        request = self.instance_request(instance.evolve(backend_state=None), service, plan)
        if not leaves_objects(backend):
            return self._call(backend.name, "provision", lambda: backend.provision(request))
        if stored is not None and stored.interrupted:
            self._call(
                backend.name,
                "clean up after an interrupted provision",
                lambda: backend.deprovision(request),
            )
        with self._recorded_attempt(
            instance.evolve(state="provisioning", backend_state={}), stored
        ):
            return self._call(backend.name, "provision", lambda: backend.provision(request))

    def backend_deprovision(self, instance: InstanceRecord, service: Service, plan: Plan) -> None:
        if instance.backend_state is None:
            return
        backend = self.backends.get(plan.knobs.credentials.backend)
        request = self.instance_request(instance, service, plan)
        self._call(backend.name, "deprovision", lambda: backend.deprovision(request))

    @contextmanager
    def locked(self, instance_id: str, binding_id: str | None = None) -> Iterator[None]:
        """Hold the instance's lock and then, for a binding, the binding's.

        Always in that order: the instance lock serialises everything that reads the
        instance's state, the binding lock keeps one binding id from being created
        under two instances at once.
        """
        with self.store.lock(f"instance:{instance_id}"):
            if binding_id is None:
                yield
            else:
                with self.store.lock(f"binding:{binding_id}"):
                    yield

    def halted(self, operation_id: str | None, description: str) -> OperationRecord | None:
        """The running operation ``operation_id`` ended as failed by a delete request
        (``None`` when there is no such operation)."""
        running = self.store.get_operation(operation_id or "")
        if running is None:
            return None
        return running.evolve(state="failed", description=description, finished_at=self.clock())

    def remove_instance(
        self, instance: InstanceRecord, service: Service, plan: Plan
    ) -> list[Change]:
        """Unbind every binding and deprovision at the backend; the changes that drop
        the records. If a backend call fails, the bindings already removed at the
        backend are removed from the state too before the failure goes on."""
        removed: list[Change] = []
        try:
            for binding in self.store.bindings_of(instance.id):
                self.backend_unbind(instance, binding, service, plan)
                removed.append(Delete("binding", binding.id))
            self.backend_deprovision(instance, service, plan)
        except Exception:
            if removed:
                self.store.apply(removed)
            raise
        return [*removed, Delete("instance", instance.id)]

    def backend_bind(
        self,
        instance: InstanceRecord,
        binding: BindingRecord,
        service: Service,
        plan: Plan,
        stored: BindingRecord | None,
    ) -> tuple[dict[str, Any], dict[str, Any], float | None]:
        """Credentials from the backend, then the binding's full OSB response.

        ``stored`` is what the store holds for the binding's id; the caller holds the
        instance and binding locks. As :meth:`backend_provision`, for bindings.
        """
        backend = self.backends.get(plan.knobs.credentials.backend)
        request = self.binding_request(instance, binding.evolve(backend_state=None), service, plan)
        if not leaves_objects(backend):
            result = self._call(backend.name, "bind", lambda: backend.bind(request))
            return self._bound(instance, binding, service, plan, result)
        if stored is not None and stored.interrupted:
            self._call(
                backend.name, "clean up after an interrupted bind", lambda: backend.unbind(request)
            )
        with self._recorded_attempt(binding.evolve(state="binding", backend_state={}), stored):
            result = self._call(backend.name, "bind", lambda: backend.bind(request))
            return self._bound(instance, binding, service, plan, result)

    def _bound(
        self,
        instance: InstanceRecord,
        binding: BindingRecord,
        service: Service,
        plan: Plan,
        result: BindResult,
    ) -> tuple[dict[str, Any], dict[str, Any], float | None]:
        try:
            response, expires_at = self.binding_response(
                instance, binding, service, plan, result.credentials
            )
        except BackendFailure:
            self.backend_unbind(instance, binding.evolve(backend_state=result.state), service, plan)
            raise
        return response, result.state, expires_at

    def backend_unbind(
        self, instance: InstanceRecord, binding: BindingRecord, service: Service, plan: Plan
    ) -> None:
        if binding.backend_state is None:
            return
        backend = self.backends.get(plan.knobs.credentials.backend)
        request = self.binding_request(instance, binding, service, plan)
        self._call(backend.name, "unbind", lambda: backend.unbind(request))

    @staticmethod
    def _call(backend: str, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except BackendError as exc:
            raise BackendFailure(f"{backend} backend could not {what}: {exc}") from None

    @contextmanager
    def _recorded_attempt(self, attempt: Attempted, stored: Attempted | None) -> Iterator[None]:
        """Record ``attempt`` durably before a backend call that leaves objects on a
        server, and take it back if the call fails.

        ``attempt`` is the instance or binding, ``provisioning``/``binding``, with
        ``backend_state`` ``{}``: "the backend may have made something, named after the
        ids". A failed call undoes its own work, so the store goes back to ``stored``.
        If the process dies during the call the attempt stays; whoever next finds it
        under the lock (a retry, a poll, a delete) knows it is dead and removes what it
        may have made (:attr:`InstanceRecord.interrupted`) before going on.
        """
        self.store.apply([Put(attempt)])
        try:
            yield
        except BackendFailure:
            self.store.apply([_restored(attempt, stored)])
            raise

    def binding_response(
        self,
        instance: InstanceRecord,
        binding: BindingRecord,
        service: Service,
        plan: Plan,
        credentials: dict[str, Any],
    ) -> tuple[dict[str, Any], float | None]:
        variables = {
            **self.instance_variables(instance, service, plan),
            "binding_id": binding.id,
            "app_guid": binding.app_guid,
            **{
                key: credentials.get(key)
                for key in ("username", "password", "host", "port", "database", "uri")
            },
            "scheme": credentials.get("type"),
        }
        extra = plan.knobs.credentials.extra
        if extra:
            credentials = {
                **credentials,
                **self.render(extra, variables, instance.id, binding.id, "extra"),
            }
        response: dict[str, Any] = {"credentials": credentials}
        extras = plan.knobs.binding
        if extras.syslog_drain_url:
            response["syslog_drain_url"] = self.render(
                extras.syslog_drain_url, variables, instance.id, binding.id, "syslog"
            )
        # A route service URL only answers a route binding (bind_resource.route).
        route = binding.bind_resource.get("route")
        if extras.route_service_url and route:
            response["route_service_url"] = self.render(
                extras.route_service_url,
                {**variables, "route": route},
                instance.id,
                binding.id,
                "route",
            )
        if extras.volume_mounts:
            response["volume_mounts"] = [dict(mount) for mount in extras.volume_mounts]
        if extras.endpoints:
            response["endpoints"] = [dict(endpoint) for endpoint in extras.endpoints]
        expires_at = None
        if extras.expires_in:
            expires_at = self.clock() + extras.expires_in
            metadata = {"expires_at": iso_time(expires_at)}
            if extras.renew_before is not None:
                metadata["renew_before"] = iso_time(expires_at - extras.renew_before)
            response["metadata"] = metadata
        return response, expires_at


def leftovers_of(stored: InstanceRecord | BindingRecord | None) -> dict[str, Any] | None:
    """The ``backend_state`` of an asynchronous operation replacing ``stored``: ``{}``
    when ``stored`` is an interrupted attempt, so that what it may have made is removed
    when the operation finishes (or by a delete before that); ``None`` otherwise."""
    return {} if stored is not None and stored.interrupted else None


def _restored(attempt: Attempted, stored: Attempted | None) -> Change:
    """What the store holds again after a failed backend call, which undid its own work
    (and any interrupted attempt before it was cleaned up)."""
    if stored is None or stored.abandoned:
        return Delete(attempt.kind, attempt.id)
    return Put(stored.evolve(backend_state=None) if stored.interrupted else stored)
