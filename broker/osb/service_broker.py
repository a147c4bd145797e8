"""The broker: every OSB endpoint's rules behind one object, no HTTP in sight."""

from __future__ import annotations

from broker.osb.bindings import Bindings
from broker.osb.completion import finish
from broker.osb.context import BrokerContext
from broker.osb.errors import Conflict, NotFound
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
        locks = [f"instance:{operation.instance_id}"]
        if operation.binding_id:
            locks.append(f"binding:{operation.binding_id}")
        with store.lock(locks[0]):
            if len(locks) > 1:
                with store.lock(locks[1]):
                    return self._finish(operation_id, state, description)
            return self._finish(operation_id, state, description)

    def _finish(self, operation_id: str, state: str, description: str | None) -> OperationRecord:
        operation = self.ctx.store.get_operation(operation_id)
        if operation is None:
            raise NotFound(f"operation {operation_id!r} does not exist")
        if operation.finished:
            raise Conflict(f"operation {operation_id} already finished: {operation.state}")
        return finish(self.ctx, operation, state, description or operation.final_description)
