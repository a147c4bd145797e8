"""The broker: one method per OSB endpoint, no HTTP in sight.

Like the ``ServiceBroker`` interface of brokerapi: the web layer parses a request,
calls the method of its endpoint with plain values and maps the :class:`Outcome`
it gets back to a status. The endpoints' rules are those of :class:`Instances`
(``provision``, ``update``, ``deprovision``, ``fetch_instance``, ``last_operation``)
and :class:`Bindings` (``bind``, ``unbind``, ``fetch_binding``,
``binding_last_operation``); the two test-control actions (finishing an operation
now, releasing everything before a reset) live here.
"""

from __future__ import annotations

from broker.osb.bindings import Bindings
from broker.osb.errors import Conflict, NotFound, OSBError
from broker.osb.instances import Instances
from broker.osb.locking import locked
from broker.storage.records import OperationRecord

__all__ = ["ServiceBroker"]


class ServiceBroker(Instances, Bindings):
    """Every OSB endpoint's rules, plus the test-control actions."""

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
