"""Calls to credential backends, made crash-safe.

A backend that leaves objects on a server (a database, a role) is called only
after the attempt is recorded durably (:meth:`BackendCalls._recorded_attempt`),
so a process that dies during the call leaves a record saying what may exist.
Whoever next finds that record under the instance lock removes what it may have
made before going on (:attr:`broker.storage.records.InstanceRecord.interrupted`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from broker.catalog.model import Plan, Service
from broker.credentials.base import BackendError, BindingRequest, BindResult, InstanceRequest
from broker.credentials.registry import BackendRegistry
from broker.osb.binding_response import binding_response
from broker.osb.errors import BackendFailure
from broker.osb.rendering import Renderer
from broker.storage.base import Change, Delete, Put
from broker.storage.protocols import StateStore
from broker.storage.records import BindingRecord, InstanceRecord

__all__ = ["BackendCalls", "leftovers_of"]

T = TypeVar("T")
Attempted = TypeVar("Attempted", InstanceRecord, BindingRecord)


class BackendCalls:
    """Provision, deprovision, bind and unbind at the plan's credential backend.

    Every method expects the caller to hold the instance lock (and, for a binding,
    the binding lock: :func:`broker.osb.locking.locked`).
    """

    def __init__(
        self,
        backends: BackendRegistry,
        store: StateStore,
        renderer: Renderer,
        clock: Callable[[], float],
    ) -> None:
        self.backends = backends
        self.store = store
        self.renderer = renderer
        self.clock = clock

    # --- requests ---------------------------------------------------------------------
    def instance_request(
        self,
        instance: InstanceRecord,
        service: Service,
        plan: Plan,
        state: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
    ) -> InstanceRequest:
        """What the backend is told about ``instance``; ``state`` replaces the backend
        state it holds (``{}`` for a call that makes the instance anew), ``variables``
        are its template variables when the caller has already worked them out."""
        return InstanceRequest(
            instance_id=instance.id,
            service_id=service.id,
            service_name=service.name,
            plan_id=plan.id,
            plan_name=plan.name,
            options=plan.knobs.credentials.options,
            parameters=instance.parameters,
            context=instance.context,
            state=(instance.backend_state if state is None else state) or {},
            variables=variables
            if variables is not None
            else self.renderer.instance_variables(instance, service, plan),
        )

    def binding_request(
        self,
        instance: InstanceRecord,
        binding: BindingRecord,
        service: Service,
        plan: Plan,
        state: dict[str, Any] | None = None,
    ) -> BindingRequest:
        """As :meth:`instance_request`, for ``binding`` of ``instance``."""
        instance_request = self.instance_request(instance, service, plan)
        return BindingRequest(
            instance=instance_request,
            binding_id=binding.id,
            parameters=binding.parameters,
            context=binding.context,
            bind_resource=binding.bind_resource,
            state=(binding.backend_state if state is None else state) or {},
            variables={
                **instance_request.variables,
                "binding_id": binding.id,
                "app_guid": binding.app_guid,
                "route": binding.bind_resource.get("route"),
            },
        )

    # --- instances --------------------------------------------------------------------
    def provision(
        self,
        instance: InstanceRecord,
        service: Service,
        plan: Plan,
        stored: InstanceRecord | None,
        variables: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Provision ``instance`` at its plan's backend and return the backend's state.

        ``stored`` is what the store holds for the instance's id (``None``: nothing);
        ``variables``, the instance's template variables if the caller has them.
        For a backend that leaves objects on a server the attempt is recorded first.
        """
        backend, leaves_objects = self.backends.resolve(plan.knobs.credentials.backend)
        request = self.instance_request(instance, service, plan, state={}, variables=variables)
        if not leaves_objects:
            return _call(backend.name, "provision", lambda: backend.provision(request))
        if stored is not None and stored.interrupted:
            _call(
                backend.name,
                "clean up after an interrupted provision",
                lambda: backend.deprovision(request),
            )
        with self._recorded_attempt(
            instance.evolve(state="provisioning", backend_state={}), stored
        ):
            return _call(backend.name, "provision", lambda: backend.provision(request))

    def deprovision(self, instance: InstanceRecord, service: Service, plan: Plan) -> None:
        if instance.backend_state is None:
            return
        backend = self.backends.get(plan.knobs.credentials.backend)
        request = self.instance_request(instance, service, plan)
        _call(backend.name, "deprovision", lambda: backend.deprovision(request))

    def remove_instance(
        self, instance: InstanceRecord, service: Service, plan: Plan
    ) -> list[Change]:
        """Unbind every binding and deprovision at the backend; the changes that drop
        the records. If a backend call fails, the bindings already removed at the
        backend are removed from the state too before the failure goes on."""
        removed: list[Change] = []
        try:
            for binding in self.store.bindings_of(instance.id):
                self.unbind(instance, binding, service, plan)
                removed.append(Delete("binding", binding.id))
            self.deprovision(instance, service, plan)
        except Exception:
            if removed:
                self.store.apply(removed)
            raise
        return [*removed, Delete("instance", instance.id)]

    # --- bindings ---------------------------------------------------------------------
    def bind(
        self,
        instance: InstanceRecord,
        binding: BindingRecord,
        service: Service,
        plan: Plan,
        stored: BindingRecord | None,
    ) -> tuple[dict[str, Any], dict[str, Any], float | None]:
        """Credentials from the backend, then the binding's full OSB response: the
        response, the backend's state and the expiry time.

        ``stored`` is what the store holds for the binding's id. As :meth:`provision`,
        for bindings.
        """
        backend, leaves_objects = self.backends.resolve(plan.knobs.credentials.backend)
        request = self.binding_request(instance, binding, service, plan, state={})
        if not leaves_objects:
            result = _call(backend.name, "bind", lambda: backend.bind(request))
            return self._bound(instance, binding, service, plan, request, result)
        if stored is not None and stored.interrupted:
            _call(
                backend.name, "clean up after an interrupted bind", lambda: backend.unbind(request)
            )
        with self._recorded_attempt(binding.evolve(state="binding", backend_state={}), stored):
            result = _call(backend.name, "bind", lambda: backend.bind(request))
            return self._bound(instance, binding, service, plan, request, result)

    def _bound(
        self,
        instance: InstanceRecord,
        binding: BindingRecord,
        service: Service,
        plan: Plan,
        request: BindingRequest,
        result: BindResult,
    ) -> tuple[dict[str, Any], dict[str, Any], float | None]:
        try:
            response, expires_at = binding_response(
                self.renderer,
                self.clock(),
                request.instance.variables,
                binding,
                plan,
                result.credentials,
            )
        except BackendFailure:
            self.unbind(instance, binding.evolve(backend_state=result.state), service, plan)
            raise
        return response, result.state, expires_at

    def unbind(
        self, instance: InstanceRecord, binding: BindingRecord, service: Service, plan: Plan
    ) -> None:
        if binding.backend_state is None:
            return
        backend = self.backends.get(plan.knobs.credentials.backend)
        request = self.binding_request(instance, binding, service, plan)
        _call(backend.name, "unbind", lambda: backend.unbind(request))

    # --- crash safety -----------------------------------------------------------------
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


def _call(backend: str, what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except BackendError as exc:
        raise BackendFailure(f"{backend} backend could not {what}: {exc}") from None


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
