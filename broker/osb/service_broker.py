"""The broker: every OSB endpoint's rules behind one object, no HTTP in sight."""

from __future__ import annotations

from broker.osb.bindings import Bindings
from broker.osb.completion import finish
from broker.osb.context import BrokerContext
from broker.osb.errors import Conflict, NotFound, OSBError
from broker.osb.instances import Instances
from broker.storage.records import OperationRecord

__all__ = ["ServiceBroker"]


class ServiceBroker:
    """Facade over :class:`Instances` and :class:`Bindings` plus test-control actions."""

    def __init__(self, ctx: BrokerContext) -> None:
        self.ctx = ctx
        self.instances = Instances(ctx)
        self.bindings = Bindings(ctx)

    def finish_operation(
        self, operation_id: str, state: str, description: str | None = None
    ) -> OperationRecord:
        """End a running operation now (``manual`` ones, or any other) as told."""
        store = self.ctx.store
        operation = store.get_operation(operation_id)
        if operation is None:
            raise NotFound(f"operation {operation_id!r} does not exist")
        with self.ctx.locked(operation.instance_id, operation.binding_id or None):
            return self._finish(operation_id, state, description)

    def release_everything(self) -> list[str]:
        """Undo every instance and binding at its credential backend (before a reset).

        Best effort: a backend that fails is reported, not fatal, so a reset always
        leaves the broker clean even when a database server went away.
        """
        ctx = self.ctx
        problems: list[str] = []
        for instance in ctx.store.list_instances():
            resolved = ctx.catalogs.resolve(instance.plan_id)
            if resolved is None:
                continue
            service, plan = resolved
            with ctx.locked(instance.id):
                for binding in ctx.store.bindings_of(instance.id):
                    try:
                        ctx.backend_unbind(instance, binding, service, plan)
                    except OSBError as exc:
                        problems.append(f"binding {binding.id}: {exc.description}")
                try:
                    ctx.backend_deprovision(instance, service, plan)
                except OSBError as exc:
                    problems.append(f"instance {instance.id}: {exc.description}")
        return problems

    def _finish(self, operation_id: str, state: str, description: str | None) -> OperationRecord:
        operation = self.ctx.store.get_operation(operation_id)
        if operation is None:
            raise NotFound(f"operation {operation_id!r} does not exist")
        if operation.finished:
            raise Conflict(f"operation {operation_id} already finished: {operation.state}")
        return finish(self.ctx, operation, state, description or operation.final_description)
