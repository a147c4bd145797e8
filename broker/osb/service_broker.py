"""The broker: one method per OSB endpoint, no HTTP in sight.

Like the ``ServiceBroker`` interface of brokerapi: the web layer parses a request,
calls the method of its endpoint with plain values and maps the :class:`Outcome`
it gets back to a status. The rules themselves live in :class:`Instances` and
:class:`Bindings`; the two test-control actions (finishing an operation now,
releasing everything before a reset) live here.
"""

from __future__ import annotations

from typing import Any

from broker.osb.bindings import Bindings
from broker.osb.errors import Conflict, NotFound, OSBError
from broker.osb.instances import Instances
from broker.osb.locking import locked
from broker.osb.outcome import Outcome, RequestInfo
from broker.osb.parts import BrokerParts
from broker.osb.versions import NEWEST, Version
from broker.storage.records import OperationRecord

__all__ = ["ServiceBroker"]


class ServiceBroker:
    """Every OSB endpoint's rules, plus the test-control actions."""

    def __init__(self, parts: BrokerParts) -> None:
        self.parts = parts
        self.instances = Instances(parts)
        self.bindings = Bindings(parts)

    # --- the OSB endpoints ------------------------------------------------------------
    def provision(self, instance_id: str, body: dict[str, Any], info: RequestInfo) -> Outcome:
        return self.instances.provision(instance_id, body, info)

    def update(self, instance_id: str, body: dict[str, Any], info: RequestInfo) -> Outcome:
        return self.instances.update(instance_id, body, info)

    def deprovision(self, instance_id: str, query: dict[str, Any], info: RequestInfo) -> Outcome:
        return self.instances.deprovision(instance_id, query, info)

    def fetch_instance(self, instance_id: str) -> Outcome:
        return self.instances.fetch(instance_id)

    def last_operation(
        self, instance_id: str, operation_id: str | None, version: Version = NEWEST
    ) -> Outcome:
        return self.instances.last_operation(instance_id, operation_id, version)

    def bind(
        self, instance_id: str, binding_id: str, body: dict[str, Any], info: RequestInfo
    ) -> Outcome:
        return self.bindings.bind(instance_id, binding_id, body, info)

    def unbind(self, instance_id: str, binding_id: str, info: RequestInfo) -> Outcome:
        return self.bindings.unbind(instance_id, binding_id, info)

    def fetch_binding(self, instance_id: str, binding_id: str) -> Outcome:
        return self.bindings.fetch(instance_id, binding_id)

    def binding_last_operation(
        self,
        instance_id: str,
        binding_id: str,
        operation_id: str | None,
        version: Version = NEWEST,
    ) -> Outcome:
        return self.bindings.last_operation(instance_id, binding_id, operation_id, version)

    # --- test control -----------------------------------------------------------------
    def finish_operation(
        self, operation_id: str, state: str, description: str | None = None
    ) -> OperationRecord:
        """End a running operation now (``manual`` ones, or any other) as told."""
        store = self.parts.store
        operation = store.get_operation(operation_id)
        if operation is None:
            raise NotFound(f"operation {operation_id!r} does not exist")
        with locked(store, operation.instance_id, operation.binding_id or None):
            # Read again under the lock: a poll may have finished it meanwhile.
            operation = store.get_operation(operation_id)
            if operation is None:
                raise NotFound(f"operation {operation_id!r} does not exist")
            if operation.finished:
                raise Conflict(f"operation {operation_id} already finished: {operation.state}")
            return self.parts.operations.finish(
                operation, state, description or operation.final_description
            )

    def release_everything(self) -> list[str]:
        """Undo every instance and binding at its credential backend (before a reset).

        Best effort: a backend that fails is reported, not fatal, so a reset always
        leaves the broker clean even when a database server went away.
        """
        parts = self.parts
        problems: list[str] = []
        for instance in parts.store.list_instances():
            resolved = parts.catalogs.resolve(instance.plan_id)
            if resolved is None:
                continue
            service, plan = resolved
            with locked(parts.store, instance.id):
                for binding in parts.store.bindings_of(instance.id):
                    try:
                        parts.calls.unbind(instance, binding, service, plan)
                    except OSBError as exc:
                        problems.append(f"binding {binding.id}: {exc.description}")
                try:
                    parts.calls.deprovision(instance, service, plan)
                except OSBError as exc:
                    problems.append(f"instance {instance.id}: {exc.description}")
        return problems
